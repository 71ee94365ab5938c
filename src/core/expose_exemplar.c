/*
 * expose_exemplar.c - the OpenMetrics exemplar of a sample line:
 *
 *   foo_total 17 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736",span_id="00f067aa0ba902b7"} 1 1700000000.123456789
 *
 * expose.c asks for it on counter _total and histogram _bucket lines only,
 * and only in OpenMetrics. The label set is always these two names with 32
 * and 16 lowercase hex digits: 63 characters, within the 128 that
 * OpenMetrics allows, and nothing to escape. The timestamp is the wall time
 * of the recording in seconds, written exactly from its nanoseconds (a
 * double would round them), trailing zeros of the fraction dropped. (The
 * core sits below src/trace, so it writes the hex ids itself.)
 */
#include "exemplar.h"
#include "render.h"

/* n bytes as 2n lowercase hex digits (no NUL). */
static void hex(const uint8_t *id, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[id[i] >> 4];
        out[2 * i + 1] = digits[id[i] & 15];
    }
}

/* Seconds.fraction of unix_ns into buf (at least 32 bytes); returns the length. */
static size_t format_timestamp(uint64_t unix_ns, char *buf)
{
    uint64_t sec = unix_ns / 1000000000u;
    uint32_t frac = (uint32_t)(unix_ns % 1000000000u);
    char digits[24];
    size_t n = 0, len = 0;
    do {
        digits[n++] = (char)('0' + sec % 10);
        sec /= 10;
    } while (sec);
    while (n)
        buf[len++] = digits[--n];
    if (frac) {
        int width = 9;
        while (frac % 10 == 0) {
            frac /= 10;
            width--;
        }
        buf[len++] = '.';
        for (int i = width - 1; i >= 0; i--, frac /= 10)
            buf[len + (size_t)i] = (char)('0' + frac % 10);
        len += (size_t)width;
    }
    return len;
}

void sonde_render_exemplar(sonde_render *r, uint32_t cell)
{
    sonde_exemplar ex;
    if (!sonde_exemplar_load(cell, &ex))
        return;
    char trace_hex[32], span_hex[16], ts[32];
    hex(ex.trace_id, 16, trace_hex);
    hex(ex.span_id, 8, span_hex);
    sonde_out *o = &r->out;
    sonde_out_mem(o, " # {trace_id=\"", 14);
    sonde_out_mem(o, trace_hex, 32);
    sonde_out_mem(o, "\",span_id=\"", 11);
    sonde_out_mem(o, span_hex, 16);
    sonde_out_mem(o, "\"} ", 3);
    sonde_out_double(o, ex.value);
    sonde_out_char(o, ' ');
    sonde_out_mem(o, ts, format_timestamp(ex.unix_ns, ts));
}
