/*
 * fuzz_names.c - name and label validation against independent references:
 * metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*,
 * neither starting with "__", and UTF-8 by the well-formed byte sequences
 * of Unicode Table 3-7. Then registration agrees: a family registers only
 * with valid names, a series only with a valid UTF-8 value, and the
 * exposition of what was accepted stays valid UTF-8.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "internal.h"
#include "sonde/sonde.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ref_name(const char *s, int colon)
{
    if (!s[0] || (s[0] == '_' && s[1] == '_'))
        return 0;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

/* Unicode 15, Table 3-7: the well-formed UTF-8 byte sequences. */
static int ref_utf8(const unsigned char *s, size_t n)
{
    static const struct {
        unsigned char lo[4], hi[4];
        int len;
    } forms[] = {
        {{0x00}, {0x7F}, 1},
        {{0xC2, 0x80}, {0xDF, 0xBF}, 2},
        {{0xE0, 0xA0, 0x80}, {0xE0, 0xBF, 0xBF}, 3},
        {{0xE1, 0x80, 0x80}, {0xEC, 0xBF, 0xBF}, 3},
        {{0xED, 0x80, 0x80}, {0xED, 0x9F, 0xBF}, 3},
        {{0xEE, 0x80, 0x80}, {0xEF, 0xBF, 0xBF}, 3},
        {{0xF0, 0x90, 0x80, 0x80}, {0xF0, 0xBF, 0xBF, 0xBF}, 4},
        {{0xF1, 0x80, 0x80, 0x80}, {0xF3, 0xBF, 0xBF, 0xBF}, 4},
        {{0xF4, 0x80, 0x80, 0x80}, {0xF4, 0x8F, 0xBF, 0xBF}, 4},
    };
    size_t i = 0;
    while (i < n) {
        int matched = 0;
        for (size_t f = 0; f < sizeof forms / sizeof forms[0] && !matched; f++) {
            int len = forms[f].len, ok = i + (size_t)len <= n;
            for (int b = 0; ok && b < len; b++)
                ok = s[i + b] >= forms[f].lo[b] && s[i + b] <= forms[f].hi[b];
            if (ok) {
                i += (size_t)len;
                matched = 1;
            }
        }
        if (!matched)
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sonde_registry *reg;
    if (!reg) {
        sonde_config cfg;
        sonde_config_init(&cfg);
        cfg.process_metrics = 0;
        if (sonde_registry_new(&cfg, &reg))
            return 0;
    }
    /* the whole input as text: the validators against their references */
    if (sonde_valid_utf8((const char *)data, size) != ref_utf8(data, size))
        abort();
    fuzz_input in = {data, size};
    char name[64], label[64], value[256];
    if (fuzz_byte(&in) & 1)
        fuzz_name(&in, name, sizeof name);
    else
        fuzz_string(&in, name, sizeof name);
    fuzz_name(&in, label, sizeof label);
    size_t vlen = fuzz_string(&in, value, sizeof value);
    if (sonde_valid_metric_name(name) != ref_name(name, 1) ||
        sonde_valid_label_name(label) != ref_name(label, 0) ||
        sonde_valid_label_name(name) != ref_name(name, 0))
        abort();

    const char *const labels[] = {label};
    sonde_metric_opts o = {.type = SONDE_GAUGE, .name = name, .help = value,
                           .label_names = labels, .label_count = 1};
    sonde_metric *m = NULL;
    int rc = sonde_register(reg, &o, &m);
    int names_ok = ref_name(name, 1) && ref_name(label, 0);
    if (rc == SONDE_OK && (!names_ok || !ref_utf8((const unsigned char *)value, vlen)))
        abort();
    if (rc != SONDE_OK)
        return 0;
    const char *const values[] = {value};
    void *child = NULL;
    int crc = sonde_metric_child(m, values, &child);
    if (crc == SONDE_OK && !ref_utf8((const unsigned char *)value, vlen))
        abort();
    if (crc != SONDE_OK && ref_utf8((const unsigned char *)value, vlen) && vlen < 64)
        abort();
    size_t len = 0;
    char *text = sonde_expose_alloc(reg, SONDE_FORMAT_OPENMETRICS, &len);
    if (!text || !ref_utf8((const unsigned char *)text, len))
        abort();
    free(text);
    if (sonde_unregister(m) != SONDE_OK)
        abort();
    return 0;
}
