/*
 * core_iface.h - what the modules built on the core may use of it beyond the
 * public API: src/llm (inside libsonde) and src/http, src/server (in
 * libsonde-http, a separate shared library). They include this header and
 * never internal.h, so the core's data model (families, children, cells)
 * stays free to change behind it.
 *
 * Most of it is inline or private to libsonde. A function that libsonde-http
 * calls must cross the shared-library boundary, so it is exported, under a
 * sonde_internal_ name and marked SONDE_INTERNAL: such a symbol is not API,
 * is declared in no installed header, and is only promised to the
 * libsonde-http of the same release (sonde-http.pc and the CMake package
 * require exactly that version of libsonde). Everything else of the core
 * stays hidden.
 */
#ifndef SONDE_CORE_IFACE_H
#define SONDE_CORE_IFACE_H

#include <stddef.h>

#include "hash.h"
#include "sonde/sonde.h"

/* Exported from libsonde for libsonde-http only; not API (see above). */
#if defined(__GNUC__) || defined(__clang__)
#define SONDE_INTERNAL __attribute__((visibility("default")))
#else
#define SONDE_INTERNAL
#endif

/* Format a message into errbuf[0..errlen) (either may be NULL/0); returns rc. */
SONDE_INTERNAL int sonde_internal_errorf(char *errbuf, size_t errlen, int rc, const char *fmt,
                                         ...) __attribute__((format(printf, 4, 5)));

/* Numbers and protocol tokens whatever the host's locale (c_locale.c, negotiate.c): an
 * HTTP qvalue (RFC 9110: "0", "0.5", "1.000") of len bytes, 1 if valid; strncasecmp
 * folding ASCII letters only (SIZE_MAX: whole strings); strtod in the C locale. */
SONDE_INTERNAL int sonde_internal_parse_qvalue(const char *s, size_t len, double *q);
SONDE_INTERNAL int sonde_internal_ascii_ncasecmp(const char *a, const char *b, size_t n);
double sonde_strtod(const char *s, char **end);

/* src/trace/env.c, for libsonde-otlp's OTEL_EXPORTER_OTLP_HEADERS: parse "k=v,k=v" with
 * percent-decoded keys and values into an attribute list (appended to, later keys replace)
 * or leave it unchanged and return SONDE_EINVAL; free such a list. */
typedef struct sonde_attr sonde_attr;
SONDE_INTERNAL int sonde_internal_kv_parse(const char *s, sonde_attr **attrs, size_t *count);
SONDE_INTERNAL void sonde_internal_attrs_free(sonde_attr *attrs, size_t count);

/* names.c: whether s is a valid metric name, label name; whether s[0..len) is UTF-8. */
int sonde_valid_metric_name(const char *s);
int sonde_valid_label_name(const char *s);
int sonde_valid_utf8(const char *s, size_t len);

#endif
