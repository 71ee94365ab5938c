/*
 * sonde/expose.h - rendering a registry in the exposition formats.
 *
 * The output goes to a caller's write callback (in chunks of up to 64 KiB),
 * into a caller's buffer, or into a fresh malloc'd buffer. Order is
 * deterministic: families sorted by name, children in creation order,
 * collector families last. A scrape takes no lock that an update takes: it
 * adds up the cell arenas of every series as they are, so counters, buckets,
 * _count and _sum never read lower than in a previous scrape, and always
 * renders a histogram whose cumulative buckets never decrease and whose +Inf
 * bucket equals its _count. Nor does it hold any lock while it formats or
 * calls the write callback: registration, series creation and removal,
 * threads starting and exiting and other scrapes proceed meanwhile. It
 * renders the families registered when it began and, in each, the children
 * the family had when the scrape reached it, in creation order (those removed
 * meanwhile included; where some were removed before the scrape got to them,
 * it may show as many created meanwhile instead).
 *
 * Counters: a counter registered as "foo" or "foo_total" is the family "foo";
 * text 0.0.4 writes "foo_total" (HELP and TYPE included), OpenMetrics writes
 * the family "foo" with the sample "foo_total" and "foo_created", protobuf a
 * COUNTER family "foo_total" with its created timestamp.
 *
 * Native histograms (sonde_native_opts) travel in the protobuf format only:
 * schema, zero bucket, spans and delta-encoded counts per side. The text
 * formats show a native-only histogram as its +Inf bucket, _sum and _count.
 */
#ifndef SONDE_EXPOSE_H
#define SONDE_EXPOSE_H

#include <stddef.h>

#include "export.h"
#include "metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sonde_format {
    SONDE_FORMAT_TEXT = 0,    /* Prometheus text 0.0.4 */
    SONDE_FORMAT_OPENMETRICS, /* OpenMetrics 1.0.0 text */
    SONDE_FORMAT_PROTOBUF     /* delimited io.prometheus.client.MetricFamily messages: every
                                 type, native histogram buckets, created timestamps */
} sonde_format;

/*
 * Choose a format from an HTTP Accept header value (NULL or "" = text 0.0.4),
 * honouring q-values, as Prometheus 2.x and 3.x send them. The protobuf format is
 * chosen only for the media range application/vnd.google.protobuf with
 * proto=io.prometheus.client.MetricFamily and encoding=delimited (what Prometheus sends
 * first with its native-histograms feature on), when its q-value is the highest.
 */
SONDE_API sonde_format sonde_format_negotiate(const char *accept);

/* The Content-Type header value of a format. */
SONDE_API const char *sonde_format_content_type(sonde_format format);

/* Receives output; return 0 to go on, non-zero to stop the render (SONDE_EWRITE). */
typedef int (*sonde_write_fn)(void *ud, const char *data, size_t len);

/*
 * Render every family of reg in format (when metrics are disabled, nothing
 * but OpenMetrics' "# EOF"), handing the output to write in chunks. SONDE_EINVAL
 * (NULL reg or write, unknown format), SONDE_EWRITE when write stopped it,
 * SONDE_ENOMEM.
 */
SONDE_API int sonde_expose(sonde_registry *reg, sonde_format format, sonde_write_fn write, void *ud);

/*
 * Render into buf[0..cap). On success *len is the length written (a NUL
 * follows when room is left). SONDE_ETRUNC when cap is too small, with *len
 * set to the size needed.
 */
SONDE_API int sonde_expose_buffer(sonde_registry *reg, sonde_format format, char *buf, size_t cap,
                                  size_t *len);

/* Render into a malloc'd NUL-terminated string (free() it); NULL on error. */
SONDE_API char *sonde_expose_alloc(sonde_registry *reg, sonde_format format, size_t *len);

/*
 * Write v the way the exposition does: shortest text that parses back to the
 * same double, "+Inf", "-Inf", "NaN", with a '.' whatever the host's locale
 * (LC_NUMERIC) is. Returns the length (at most 24); buf needs room for 32
 * bytes (a NULL buf: nothing is written, 0 is returned).
 */
SONDE_API size_t sonde_format_double(double v, char *buf);

#ifdef __cplusplus
}
#endif
#endif
