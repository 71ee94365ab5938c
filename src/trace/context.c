/*
 * context.c - W3C Trace Context (Level 1): the traceparent and tracestate
 * headers, parsed and written exactly as the recommendation says.
 *
 * traceparent is "vv-<32 hex>-<16 hex>-ff": lowercase hex only, version ff
 * and all-zero ids invalid; version 00 is exactly 55 characters; a later
 * version is read by the version-00 layout of its first 55 characters and
 * must be followed by nothing or by "-" (its extra fields are ignored).
 * Optional whitespace around the value (HTTP's OWS) is ignored.
 *
 * tracestate is a comma-separated list of key=value members (OWS around
 * each, empty members skipped), at most 32 members, no duplicate key, keys
 * and values after the grammar; anything else drops the whole tracestate but
 * not the traceparent. Longer than SONDE_TRACESTATE_MAX bytes, members over
 * 128 bytes go first, then members from the end, as the recommendation asks.
 */
#include <stddef.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "trace_internal.h"

/* Lowercase hex digits to their value plus one; everything else (uppercase too) to 0. */
static const unsigned char hex_table[256] = {
    ['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

static inline int hexval(char c) { return (int)hex_table[(unsigned char)c] - 1; }

#ifdef __SSE2__
/* Sixteen lowercase hex digits to their values (0..15), and in *ok whether all were digits:
 * '0'..'9' are c & 15, 'a'..'f' are (c & 15) + 9. The compares are signed, so a byte of
 * 0x80 or more is in neither range. */
static inline __m128i hex_nibbles(__m128i c, int *ok)
{
    __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(c, _mm_set1_epi8('0' - 1)),
                                  _mm_cmpgt_epi8(_mm_set1_epi8('9' + 1), c));
    __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(c, _mm_set1_epi8('a' - 1)),
                                   _mm_cmpgt_epi8(_mm_set1_epi8('f' + 1), c));
    *ok &= _mm_movemask_epi8(_mm_or_si128(digit, letter)) == 0xffff;
    return _mm_add_epi8(_mm_and_si128(c, _mm_set1_epi8(15)), _mm_and_si128(letter, _mm_set1_epi8(9)));
}

/* Pairs of nibbles (first one high) to bytes, in the low byte of each 16-bit lane. */
static inline __m128i nibble_pairs(__m128i n)
{
    return _mm_or_si128(_mm_slli_epi16(_mm_and_si128(n, _mm_set1_epi16(0x00ff)), 4), _mm_srli_epi16(n, 8));
}
#endif

/* bytes (8 or 16) from 2 * bytes lowercase hex digits at s; -1 when a character is not one
 * or the id is all zeros. */
static int parse_hex(const char *s, uint8_t *out, size_t bytes)
{
#ifdef __SSE2__
    int ok = 1;
    __m128i a = nibble_pairs(hex_nibbles(_mm_loadu_si128((const __m128i *)s), &ok)), id;
    if (bytes == 16) {
        __m128i b = nibble_pairs(hex_nibbles(_mm_loadu_si128((const __m128i *)(s + 16)), &ok));
        id = _mm_packus_epi16(a, b);
        _mm_storeu_si128((__m128i *)out, id);
    } else {
        id = _mm_packus_epi16(a, a);
        _mm_storel_epi64((__m128i *)out, id);
    }
    int zero = _mm_movemask_epi8(_mm_cmpeq_epi8(id, _mm_setzero_si128())) == 0xffff;
    return ok && !zero ? 0 : -1;
#else
    uint8_t any = 0;
    for (size_t i = 0; i < bytes; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
        any |= out[i];
    }
    return any ? 0 : -1;
#endif
}


int sonde_span_context_valid(const sonde_span_context *ctx)
{
    if (!ctx)
        return 0;
    uint8_t t = 0, s = 0;
    for (int i = 0; i < 16; i++)
        t |= ctx->trace_id[i];
    for (int i = 0; i < 8; i++)
        s |= ctx->span_id[i];
    return t && s;
}

static int is_ows(char c) { return c == ' ' || c == '\t'; }

static int parse_traceparent(const char *h, sonde_span_context *out)
{
    while (is_ows(*h))
        h++;
    size_t n = strlen(h);
    while (n && is_ows(h[n - 1]))
        n--;
    if (n < SONDE_TRACEPARENT_LEN)
        return -1;
    int v1 = hexval(h[0]), v0 = hexval(h[1]);
    if (v1 < 0 || v0 < 0)
        return -1;
    int version = v1 << 4 | v0;
    if (version == 0xff)
        return -1;
    if (version == 0 && n != SONDE_TRACEPARENT_LEN)
        return -1;
    if (n > SONDE_TRACEPARENT_LEN && h[SONDE_TRACEPARENT_LEN] != '-')
        return -1;
    if (h[2] != '-' || h[35] != '-' || h[52] != '-')
        return -1;
    uint8_t flags;
    if (parse_hex(h + 3, out->trace_id, 16) || parse_hex(h + 36, out->span_id, 8))
        return -1;
    int f1 = hexval(h[53]), f0 = hexval(h[54]);
    if (f1 < 0 || f0 < 0)
        return -1;
    flags = (uint8_t)(f1 << 4 | f0);
    out->flags = flags & SONDE_TRACE_FLAG_SAMPLED; /* other bits are not defined by 00 */
    return 0;
}

/* key: simple-key or tenant@system (W3C tracestate grammar). */
static int key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '*' || c == '/';
}

static int valid_key(const char *k, size_t n)
{
    const char *at = memchr(k, '@', n);
    if (!at) {
        if (n < 1 || n > 256 || !(k[0] >= 'a' && k[0] <= 'z'))
            return 0;
        for (size_t i = 1; i < n; i++)
            if (!key_char(k[i]))
                return 0;
        return 1;
    }
    size_t tn = (size_t)(at - k), sn = n - tn - 1;
    if (tn < 1 || tn > 241 || sn < 1 || sn > 14)
        return 0;
    if (!((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= '0' && k[0] <= '9')))
        return 0;
    for (size_t i = 1; i < tn; i++)
        if (!key_char(k[i]))
            return 0;
    if (!(at[1] >= 'a' && at[1] <= 'z'))
        return 0;
    for (size_t i = 2; i <= sn; i++)
        if (!key_char(at[i]))
            return 0;
    return 1;
}

static int valid_value(const char *v, size_t n)
{
    if (n < 1 || n > 256 || v[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=')
            return 0;
    }
    return 1;
}

typedef struct member {
    const char *p;
    size_t n;
    size_t eq; /* offset of '=' */
} member;

/* Parse and normalise tracestate into out (SONDE_TRACESTATE_MAX + 1 bytes); "" when invalid. */
static void parse_tracestate(const char *h, char *out)
{
    member m[SONDE_TRACESTATE_MAX_MEMBERS];
    size_t count = 0;
    out[0] = '\0';
    const char *p = h;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        size_t n = len;
        while (n && is_ows(*s))
            s++, n--;
        while (n && is_ows(s[n - 1]))
            n--;
        if (n) {
            if (count == SONDE_TRACESTATE_MAX_MEMBERS)
                return; /* more than 32 members: invalid */
            const char *eq = memchr(s, '=', n);
            if (!eq || !valid_key(s, (size_t)(eq - s)) ||
                !valid_value(eq + 1, n - (size_t)(eq - s) - 1))
                return;
            size_t kn = (size_t)(eq - s);
            for (size_t i = 0; i < count; i++)
                if (m[i].eq == kn && memcmp(m[i].p, s, kn) == 0)
                    return; /* duplicate key */
            m[count++] = (member){s, n, kn};
        }
        if (!end)
            break;
        p = end + 1;
    }
    size_t total = 0;
    for (size_t i = 0; i < count; i++)
        total += m[i].n + (i > 0);
    int drop_long = total > SONDE_TRACESTATE_MAX;
    size_t len = 0;
    for (size_t i = 0; i < count; i++) {
        if (drop_long && m[i].n > 128)
            continue;
        size_t need = m[i].n + (len > 0);
        if (len + need > SONDE_TRACESTATE_MAX)
            break; /* the rest, from the end, is dropped */
        if (len)
            out[len++] = ',';
        memcpy(out + len, m[i].p, m[i].n);
        len += m[i].n;
    }
    out[len] = '\0';
}

int sonde_traceparent_parse(const char *traceparent, const char *tracestate,
                            sonde_span_context *out)
{
    if (!out)
        return SONDE_EINVAL;
    /* The ids, flags and an empty tracestate: the rest of its buffer is never read. */
    memset(out, 0, offsetof(sonde_span_context, tracestate) + 1);
    if (!traceparent || parse_traceparent(traceparent, out) != 0) {
        memset(out, 0, offsetof(sonde_span_context, tracestate) + 1);
        return SONDE_EINVAL;
    }
    out->remote = 1;
    if (tracestate)
        parse_tracestate(tracestate, out->tracestate);
    return SONDE_OK;
}

/* Two lowercase hex digits per byte value, for writing ids a byte at a time. */
static const char hex_pairs[513] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

#ifdef __SSE2__
/* Nibble values (0..15) to lowercase hex digits: '0' + n, and 39 more from 10 on. */
static inline __m128i hex_digits(__m128i n)
{
    __m128i past9 = _mm_and_si128(_mm_cmpgt_epi8(n, _mm_set1_epi8(9)), _mm_set1_epi8('a' - '0' - 10));
    return _mm_add_epi8(_mm_add_epi8(n, _mm_set1_epi8('0')), past9);
}
#endif

/* Write bytes (8 or 16) as hex into out (2 * bytes chars, no NUL); returns non-zero unless
 * all the bytes are zero. */
static int write_pairs(const uint8_t *id, size_t bytes, char *out)
{
#ifdef __SSE2__
    if (bytes == 8 || bytes == 16) {
        __m128i x = bytes == 16 ? _mm_loadu_si128((const __m128i *)id) : _mm_loadl_epi64((const __m128i *)id);
        __m128i lo = _mm_and_si128(x, _mm_set1_epi8(15));
        __m128i hi = _mm_and_si128(_mm_srli_epi16(x, 4), _mm_set1_epi8(15));
        _mm_storeu_si128((__m128i *)out, hex_digits(_mm_unpacklo_epi8(hi, lo)));
        if (bytes == 16)
            _mm_storeu_si128((__m128i *)(out + 16), hex_digits(_mm_unpackhi_epi8(hi, lo)));
        return _mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_setzero_si128())) != 0xffff;
    }
#endif
    uint8_t any = 0;
    for (size_t i = 0; i < bytes; i++) {
        memcpy(out + 2 * i, hex_pairs + 2 * id[i], 2);
        any |= id[i];
    }
    return any != 0;
}

int sonde_traceparent_format(const sonde_span_context *ctx, char *buf)
{
    if (!buf)
        return SONDE_EINVAL;
    buf[0] = '\0';
    if (!ctx)
        return SONDE_EINVAL;
    int trace = write_pairs(ctx->trace_id, 16, buf + 3);
    int span = write_pairs(ctx->span_id, 8, buf + 36);
    if (!trace || !span) { /* an invalid context writes no header */
        buf[0] = '\0';
        return SONDE_EINVAL;
    }
    buf[0] = '0', buf[1] = '0', buf[2] = '-';
    buf[35] = '-';
    buf[52] = '-';
    buf[53] = '0';
    buf[54] = (ctx->flags & SONDE_TRACE_FLAG_SAMPLED) ? '1' : '0';
    buf[55] = '\0';
    return SONDE_OK;
}

void sonde_trace_id_hex(const uint8_t id[16], char *out)
{
    if (id && out) {
        write_pairs(id, 16, out);
        out[32] = '\0';
    }
}

void sonde_span_id_hex(const uint8_t id[8], char *out)
{
    if (id && out) {
        write_pairs(id, 8, out);
        out[16] = '\0';
    }
}
