/*
 * console_obs.h - the console's traces, logs and alerts (api_traces.c,
 * api_logs.c, api_alerts.c; the rules and the engine are alerts.h): the API
 * handlers that handle.c dispatches and the alert engine's place in the
 * console's life (created with it, evaluated on each sampler tick).
 */
#ifndef SONDE_CONSOLE_OBS_H
#define SONDE_CONSOLE_OBS_H

#include <stdint.h>

#include "console_internal.h"

#define RECENT_ATTRS_MAX 16 /* attributes of a span or an event the tracer keeps whole */

/* A number as a JSON string ("1764543..."): ns times exceed what JS numbers hold exactly. */
void console_json_u64_string(console_json *j, uint64_t v);
/* An attribute's value: string, integer, number (NaN and infinities: null) or boolean. */
void console_json_attr_value(console_json *j, const sonde_attr *a);
/* 32 hex digits, not all zero: 1 with id filled. */
int console_trace_id_parse(const char *s, uint8_t id[16]);

int console_api_traces(sonde_console *c, const char *sub, const console_params *p,
                       sonde_server_response *resp);
/* logs and logs/stream; last_event_id: the request's Last-Event-ID (may be NULL). */
int console_api_logs(sonde_console *c, const char *sub, const console_params *p,
                     const char *last_event_id, sonde_server_response *resp);
int console_api_alerts(sonde_console *c, const char *sub, const console_params *p,
                       sonde_server_response *resp);

/* The alert engine of c from o (rules_path, or the defaults): SONDE_OK, SONDE_ECONFIG /
 * SONDE_EIO with a message in err, SONDE_ENOMEM. */
int console_alerts_new(sonde_console *c, const sonde_console_opts *o, char *err, size_t errlen);
/* Evaluate the rules at now_ms (the sampler thread, after its sample). */
void console_alerts_tick(sonde_console *c, int64_t now_ms);
void console_alerts_free(sonde_console *c);

#endif
