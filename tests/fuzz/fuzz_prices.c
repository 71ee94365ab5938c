/*
 * fuzz_prices.c - the LLM price-table parser (sonde_llm_prices_parse) on
 * arbitrary text, twice into the same table. Checks: all or nothing (an
 * error adds no model), the error message fits its buffer, prices read back
 * are finite and >= 0, and a second parse of a text that added models fails
 * with SONDE_EEXIST and adds nothing.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sonde/sonde.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The first field of the first line that is not blank or a comment: a model the text prices. */
static int first_model(const char *text, char *model, size_t cap)
{
    for (const char *line = text; line && *line;) {
        const char *p = line + strspn(line, " \t\r");
        size_t n = strcspn(p, " \t\r\n");
        if (n && *p != '#') {
            if (n >= cap)
                return 0;
            memcpy(model, p, n);
            model[n] = '\0';
            return 1;
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    sonde_llm_prices *p = NULL;
    if (sonde_llm_prices_new(&p)) {
        free(text);
        return 0;
    }
    char err[32];
    size_t errlen = 1 + size % sizeof err;
    memset(err, 'X', sizeof err);
    int rc = sonde_llm_prices_parse(p, text, err, errlen);
    size_t count = sonde_llm_prices_count(p);
    if (rc != SONDE_OK && (count != 0 || !memchr(err, '\0', errlen)))
        abort();
    char *model = malloc(size + 1);
    if (rc == SONDE_OK && count > 0 && model) {
        double in = -1, out = -1;
        const char *currency = NULL;
        if (!first_model(text, model, size + 1) ||
            sonde_llm_prices_find(p, model, &in, &out, &currency) != SONDE_OK)
            abort();
        if (!(in >= 0 && out >= 0 && isfinite(in) && isfinite(out)) || !currency || !*currency)
            abort();
        if (sonde_llm_prices_parse(p, text, err, errlen) != SONDE_EEXIST ||
            sonde_llm_prices_count(p) != count)
            abort();
    }
    sonde_llm_prices_free(p);
    free(model);
    free(text);
    return 0;
}
