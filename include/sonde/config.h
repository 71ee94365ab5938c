/*
 * sonde/config.h - one configuration struct for the whole library.
 *
 * Fill it with sonde_config_init() (the documented defaults), change what you
 * need in code, and/or overlay the environment with sonde_config_from_env().
 * Strings are borrowed: the struct points at the caller's memory, except the
 * strings sonde_config_from_env() parsed, which the struct owns until
 * sonde_config_cleanup(). A malformed environment value is reported with
 * SONDE_ECONFIG and a message naming the variable; it is never guessed and
 * leaves the struct unchanged.
 */
#ifndef SONDE_CONFIG_H
#define SONDE_CONFIG_H

#include <stddef.h>

#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A label name and value, used for global labels and by-name lookups. */
typedef struct sonde_label {
    const char *name;
    const char *value;
} sonde_label;

/* A list of histogram bucket upper bounds, strictly increasing, +Inf implied. */
typedef struct sonde_buckets {
    const double *bounds;
    size_t count;
} sonde_buckets;

#define SONDE_DEFAULT_PORT 9464
#define SONDE_DEFAULT_CARDINALITY_LIMIT 10000
#define SONDE_LABEL_VALUE_MAX 256 /* default longest label value, in bytes */
#define SONDE_MAX_GLOBAL_LABELS 32

typedef struct sonde_config {
    int enabled;                /* 0 makes every metric call a near-free no-op. Default 1.
                                   Env SONDE_METRICS_ENABLED (true/false/1/0/yes/no/on/off). */
    const char *metrics_path;   /* path served by the embedded server. Default "/metrics".
                                   Env SONDE_METRICS_PATH (must start with '/'). */
    const char *listen_addr;    /* bind address; NULL or "" = all interfaces. Default NULL.
                                   Env SONDE_METRICS_ADDR (IPv4 or IPv6 literal). */
    int port;                   /* server port. Default 9464. Env SONDE_METRICS_PORT (1..65535). */
    int process_metrics;        /* register process_* metrics. Default 1. */
    const sonde_label *global_labels; /* constant labels added to every series. Default none.
                                   The names le, quantile and metric are reserved.
                                   Env SONDE_GLOBAL_LABELS "k=v,k=v", plus SONDE_SERVICE_NAME
                                   (label service), SONDE_SERVICE_VERSION (label version) and
                                   SONDE_ENVIRONMENT (label environment). */
    size_t global_label_count;
    sonde_buckets latency_buckets; /* default buckets for durations (seconds). Default the
                                   Prometheus defaults 0.005 .. 10. */
    sonde_buckets size_buckets;  /* default buckets for sizes (bytes). Default 100, 1000, ...,
                                   1e9 (exponential, factor 10). */
    size_t cardinality_limit;   /* children per family. Default 10000. */
    size_t label_value_max;     /* longest label value in bytes; a longer one is refused
                                   (SONDE_ETOOLONG), stores nothing and is counted in
                                   sonde_label_rejections_total{metric,reason="too_long"}.
                                   Default (and 0) SONDE_LABEL_VALUE_MAX; SIZE_MAX: none. */

    void *owned_;               /* private: memory owned after sonde_config_from_env() */
} sonde_config;

/* Fill *cfg with the defaults listed above. */
SONDE_API void sonde_config_init(sonde_config *cfg);

/*
 * Overlay the SONDE_* environment variables onto *cfg. Returns SONDE_OK or
 * SONDE_ECONFIG with a message in errbuf (may be NULL) naming the variable and
 * the problem; on error *cfg is unchanged. Call sonde_config_cleanup() when the
 * config is no longer needed.
 */
SONDE_API int sonde_config_from_env(sonde_config *cfg, char *errbuf, size_t errlen);

/* Check a config for consistency (names, buckets, port, path); message as above.
 * SONDE_EINVAL for a NULL cfg. */
SONDE_API int sonde_config_validate(const sonde_config *cfg, char *errbuf, size_t errlen);

/* Release the memory sonde_config_from_env() allocated; the struct keeps its defaults. */
SONDE_API void sonde_config_cleanup(sonde_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
