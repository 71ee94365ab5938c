/*
 * sonde/sonde.h - the umbrella header of libsonde. Include this one.
 *
 * libsonde is observability for C services in front of large language models:
 * counters, gauges, histograms, summaries, info and statesets with labels, a
 * registry with process metrics and global labels, and exposition in the
 * Prometheus text and OpenMetrics formats. See README.md for a tour.
 */
#ifndef SONDE_SONDE_H
#define SONDE_SONDE_H

#define SONDE_VERSION_MAJOR 0
#define SONDE_VERSION_MINOR 1
#define SONDE_VERSION_PATCH 0
#define SONDE_VERSION_STRING "0.1.0"

#include "error.h"
#include "config.h"
#include "metrics.h"
#include "expose.h"
#include "server.h"
#include "http.h"
#include "llm.h"
#include "util.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version string, e.g. "0.1.0". */
const char *sonde_version(void);

#ifdef __cplusplus
}
#endif
#endif
