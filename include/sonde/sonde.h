/*
 * sonde/sonde.h - the umbrella header of libsonde. Include this one.
 *
 * libsonde is observability for C services in front of large language models:
 * counters, gauges, histograms, summaries, info and statesets with labels, a
 * registry with process metrics and global labels, and exposition in the
 * Prometheus text and OpenMetrics formats. See README.md for a tour.
 *
 * Two libraries install these headers. libsonde (pkg-config sonde, CMake
 * sonde::sonde; libc, libm and pthreads only): error.h, config.h, metrics.h,
 * expose.h, llm.h, store.h, trace.h, log.h. libsonde-http (pkg-config sonde-http, CMake sonde::http;
 * libmicrohttpd and zlib, on top of libsonde): server.h, http.h and
 * http_mhd.h (not included here: it needs <microhttpd.h>). A program that
 * calls only libsonde's functions links only libsonde.
 *
 * Conventions of every header:
 *
 * Errors. A function that can fail returns SONDE_OK (0) or a negative
 * SONDE_E* code (error.h). Updates on the hot path return nothing.
 *
 * Constructors share one shape, int sonde_x_new(..., sonde_x **out): the
 * code is returned and the object stored in *out, which is NULL after any
 * error; a NULL out is SONDE_EINVAL. sonde_register(), sonde_register_func()
 * and sonde_http_mhd_start() have the same shape; sonde_collector_add()
 * too, with an optional out. Lookups that return a pointer
 * (sonde_counter_with() & co., sonde_counter_of() & co.,
 * sonde_registry_find(), sonde_rpc_method_get()) are conveniences: NULL on
 * any error, which is itself a valid no-op handle; sonde_metric_child() is
 * the full form with the code.
 *
 * NULL instruments are no-ops. The handles a disabled registry hands out
 * are NULL (families, series, collectors), and a service turns a module off
 * by not creating it (sonde_http, sonde_http_mhd, sonde_rpc,
 * sonde_rpc_method, sonde_ws, sonde_llm, sonde_store and its handles
 * sonde_db_query, sonde_cache, sonde_queue). So a NULL one of these is never
 * an error: every call on it does nothing and
 *   - returns SONDE_OK where the function returns a code,
 *   - reads as zero: 0, 0.0, NULL, SONDE_UNTYPED, empty buckets, NaN for a
 *     quantile,
 *   - returns an inert token, timer or call whose end does nothing,
 *   - returns NULL from a lookup (again a no-op handle),
 * and freeing it does nothing. An out argument that receives a result, and
 * the call tracker of sonde_llm_*_begin(), must still be non-NULL.
 *
 * Any other NULL pointer where a function needs one (a registry, server,
 * price table, emitter, config, request, a name or string the call is about,
 * an out argument) is a caller error: the call does nothing and returns
 * SONDE_EINVAL, or, for functions without a code, 0 / NULL / "" (documented
 * per function). Free, stop and cleanup functions accept NULL. Options
 * structs documented as optional (NULL = defaults) are not errors.
 */
#ifndef SONDE_SONDE_H
#define SONDE_SONDE_H

#define SONDE_VERSION_MAJOR 0
#define SONDE_VERSION_MINOR 1
#define SONDE_VERSION_PATCH 0
#define SONDE_VERSION_STRING "0.1.0"

#include "export.h"
#include "error.h"
#include "config.h"
#include "metrics.h"
#include "expose.h"
#include "server.h"
#include "console.h"
#include "http.h"
#include "llm.h"
#include "store.h"
#include "util.h"
#include "trace.h"
#include "log.h"
#include "metric_reader.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version string, e.g. "0.1.0". */
SONDE_API const char *sonde_version(void);

#ifdef __cplusplus
}
#endif
#endif
