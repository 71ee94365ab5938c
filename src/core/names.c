/*
 * names.c - validation of metric names, label names and UTF-8 text, after
 * the Prometheus data model: metric [a-zA-Z_:][a-zA-Z0-9_:]*, label
 * [a-zA-Z_][a-zA-Z0-9_]*, and names starting with "__" reserved. The UTF-8
 * check refuses overlong forms, surrogates and code points past U+10FFFF;
 * it is the one validator of the project (sonde_utf8_valid_prefix, public in
 * sonde/util.h, also cuts text on a character boundary).
 */
#include "internal.h"

static int is_alpha_(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int sonde_valid_metric_name(const char *s)
{
    if (!s || !*s || (s[0] == '_' && s[1] == '_'))
        return 0;
    if (!is_alpha_(s[0]) && s[0] != ':')
        return 0;
    for (const char *p = s + 1; *p; p++)
        if (!is_alpha_(*p) && !is_digit(*p) && *p != ':')
            return 0;
    return 1;
}

int sonde_valid_label_name(const char *s)
{
    if (!s || !*s || (s[0] == '_' && s[1] == '_'))
        return 0;
    if (!is_alpha_(s[0]))
        return 0;
    for (const char *p = s + 1; *p; p++)
        if (!is_alpha_(*p) && !is_digit(*p))
            return 0;
    return 1;
}

int sonde_valid_utf8(const char *str, size_t len)
{
    return sonde_utf8_valid_prefix(str, len) == len;
}

size_t sonde_utf8_valid_prefix(const char *str, size_t len)
{
    if (!str)
        return 0;
    const unsigned char *start = (const unsigned char *)str, *s = start, *end = s + len;
    while (s < end) {
        unsigned c = *s;
        if (c < 0x80) {
            s++;
            continue;
        }
        size_t n;
        unsigned cp;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            break;
        }
        if ((size_t)(end - s) <= n)
            break;
        size_t i = 1;
        for (; i <= n && (s[i] & 0xC0) == 0x80; i++)
            cp = (cp << 6) | (s[i] & 0x3F);
        if (i <= n || (n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            break;
        s += n + 1;
    }
    return (size_t)(s - start);
}
