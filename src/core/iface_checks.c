/*
 * iface_checks.c - the core's name, UTF-8 and number checks, exported under
 * sonde_internal_ names for libsonde-otlp (the Pushgateway grouping key, the
 * SONDE_* push variables), so the exporter library validates exactly as the
 * core does instead of carrying copies; and the growable buffer for the
 * console (libsonde-http). Not API: see core_iface.h.
 */
#include "internal.h"

int sonde_internal_valid_label_name(const char *s) { return s && sonde_valid_label_name(s); }

int sonde_internal_valid_utf8(const char *s, size_t len) { return s && sonde_valid_utf8(s, len); }

double sonde_internal_strtod(const char *s, char **end) { return sonde_strtod(s, end); }

int sonde_internal_buf_reserve(sonde_buf *b, size_t more) { return sonde_buf_reserve(b, more); }
