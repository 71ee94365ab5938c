/*
 * upstream_ratelimit.c - the rate-limit state an upstream reports in its
 * answers' headers, as OpenAI writes them:
 *
 *   x-ratelimit-limit-requests: 60          x-ratelimit-limit-tokens: 150000
 *   x-ratelimit-remaining-requests: 59      x-ratelimit-remaining-tokens: 149984
 *   x-ratelimit-reset-requests: 1s          x-ratelimit-reset-tokens: 6m0s
 *
 * The parser is strict, bounded and locale-free because an upstream's
 * headers are outside input: names match case-insensitively, the value may
 * carry optional whitespace around it (and the line's CR LF), limit and
 * remaining are plain decimal integers of at most 15 digits, and a reset is
 * a Go-style duration: one to eight <decimal><unit> parts with units h, m, s,
 * ms, us, ns (e.g. "6m0s", "1.5s", "20ms"), at most GW_RL_RESET_MAX seconds
 * in all. Digits are read by hand, never by strtod(), so the host's locale
 * cannot change what "1.5s" means. A value that breaks any rule is ignored
 * (the header does not count as seen), never stored half-read.
 *
 * The same duration parser gives the proxy its Retry-After hint for 429s
 * (upstream_proxy.c); the sim writes the headers with gw_format_duration().
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "gateway.h"

#define MAX_INT_DIGITS 15  /* < 1e15: more than any real limit, exact in a double */
#define MAX_PARTS 8
#define MAX_FRACTION_DIGITS 9

static const char *const kind_names[GW_RL_KINDS] = {"requests", "tokens"};

const char *gw_ratelimit_kind_name(int kind)
{
    return kind >= 0 && kind < GW_RL_KINDS ? kind_names[kind] : NULL;
}

static int is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* [s, s + n) without surrounding whitespace and a trailing CR LF. */
static void trim(const char **s, size_t *n)
{
    while (*n && (is_space(**s))) (*s)++, (*n)--;
    while (*n && (is_space((*s)[*n - 1]) || (*s)[*n - 1] == '\r' || (*s)[*n - 1] == '\n')) (*n)--;
}

static int parse_count(const char *s, size_t n, double *out)
{
    if (n == 0 || n > MAX_INT_DIGITS) return -1;
    double v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i])) return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

double gw_parse_duration(const char *s, size_t n)
{
    trim(&s, &n);
    if (n == 0) return -1;
    double total = 0;
    size_t i = 0;
    for (int parts = 0; i < n; parts++) {
        if (parts == MAX_PARTS) return -1;
        double whole = 0, frac = 0, scale = 1;
        size_t int_digits = 0, frac_digits = 0;
        while (i < n && is_digit(s[i])) {
            if (++int_digits > MAX_INT_DIGITS) return -1;
            whole = whole * 10 + (s[i++] - '0');
        }
        if (i < n && s[i] == '.') {
            i++;
            while (i < n && is_digit(s[i])) {
                if (++frac_digits > MAX_FRACTION_DIGITS) return -1;
                frac = frac * 10 + (s[i++] - '0');
                scale *= 10;
            }
            if (frac_digits == 0) return -1;
        }
        if (int_digits == 0 && frac_digits == 0) return -1;
        double v = whole + frac / scale, unit;
        size_t left = n - i;
        if (left >= 2 && s[i] == 'm' && s[i + 1] == 's') unit = 1e-3, i += 2;
        else if (left >= 2 && s[i] == 'u' && s[i + 1] == 's') unit = 1e-6, i += 2;
        else if (left >= 2 && s[i] == 'n' && s[i + 1] == 's') unit = 1e-9, i += 2;
        else if (left >= 1 && s[i] == 'h') unit = 3600, i++;
        else if (left >= 1 && s[i] == 'm') unit = 60, i++;
        else if (left >= 1 && s[i] == 's') unit = 1, i++;
        else return -1;
        total += v * unit;
        if (total > GW_RL_RESET_MAX) return -1;
    }
    return total;
}

int gw_format_duration(double seconds, char *buf, size_t len)
{
    if (!(seconds >= 0) || seconds > GW_RL_RESET_MAX) return -1;
    long long ms = (long long)(seconds * 1000 + 0.5);
    int n;
    if (ms < 1000) {
        n = snprintf(buf, len, "%lldms", ms);
    } else {
        long long h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, frac = ms % 1000;
        char hm[48] = "";
        if (h) snprintf(hm, sizeof hm, "%lldh%lldm", h, m);
        else if (m) snprintf(hm, sizeof hm, "%lldm", m);
        if (frac) {
            char f[8];
            snprintf(f, sizeof f, "%03lld", frac);
            for (int k = 2; k > 0 && f[k] == '0'; k--) f[k] = 0; /* "1.5s", not "1.500s" */
            n = snprintf(buf, len, "%s%lld.%ss", hm, s, f);
        } else {
            n = snprintf(buf, len, "%s%llds", hm, s);
        }
    }
    return n > 0 && (size_t)n < len ? 0 : -1;
}

int gw_ratelimit_header(gw_ratelimit *rl, const char *line, size_t len)
{
    static const char prefix[] = "x-ratelimit-";
    static const char *const fields[GW_RL_FIELDS] = {"limit-", "remaining-", "reset-"};
    const char *colon = memchr(line, ':', len);
    if (!colon) return 0;
    const char *name = line, *value = colon + 1;
    size_t nlen = (size_t)(colon - line), vlen = len - nlen - 1;
    if (nlen <= sizeof prefix - 1 || strncasecmp(name, prefix, sizeof prefix - 1) != 0) return 0;
    name += sizeof prefix - 1;
    nlen -= sizeof prefix - 1;
    for (int f = 0; f < GW_RL_FIELDS; f++) {
        size_t flen = strlen(fields[f]);
        if (nlen <= flen || strncasecmp(name, fields[f], flen) != 0) continue;
        for (int k = 0; k < GW_RL_KINDS; k++) {
            size_t klen = strlen(kind_names[k]);
            if (nlen - flen != klen || strncasecmp(name + flen, kind_names[k], klen) != 0) continue;
            trim(&value, &vlen);
            double v;
            if (f == GW_RL_RESET) v = gw_parse_duration(value, vlen);
            else if (parse_count(value, vlen, &v) != 0) v = -1;
            if (v < 0) return -1;
            rl->value[k][f] = v;
            rl->seen |= 1u << (k * GW_RL_FIELDS + f);
            return 1;
        }
    }
    return 0;
}

int gw_ratelimit_has(const gw_ratelimit *rl, int kind, int field)
{
    return (rl->seen >> (kind * GW_RL_FIELDS + field)) & 1u;
}
