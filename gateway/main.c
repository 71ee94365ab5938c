/*
 * main.c - sonde-gateway's command line: defaults, then the config file,
 * then environment variables, then flags (each overrides the one before);
 * build the telemetry (tracer, access log, OTLP export: telemetry.c), create
 * the gateway object on the default registry and start it; probe the
 * upstreams for /ready (and the shared limit backend) every few seconds (and
 * hand freed memory back to the system); stop cleanly on SIGINT or SIGTERM,
 * flushing spans and log records after the gateway has ended every request.
 * Signals are blocked in every thread and taken synchronously by
 * the main thread with sigtimedwait(), so no handler races the service.
 */
#include <errno.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"
#include "sonde/push.h"
#include "service.h"
#include "sonde/otlp.h"

static void usage(FILE *f)
{
    fprintf(f,
"Usage: sonde-gateway [options]\n"
"An OpenAI-compatible gateway that meters every call with libsonde.\n"
"Routes: POST /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/responses;\n"
"        GET, DELETE /v1/responses/{id}; GET /v1/models;\n"
"        GET /metrics, /health, /ready and the console /console/ (on --metrics-port\n"
"        when given).\n"
"\n"
"Options (environment variable in brackets; flags override it, it overrides the file):\n"
"  -p, --port N              API port, 0 = any free one (default 8080) [SONDE_GATEWAY_PORT]\n"
"  -m, --metrics-port N      serve /metrics /health /ready on this port instead of the\n"
"                            API port (default: the API port) [SONDE_GATEWAY_METRICS_PORT]\n"
"      --no-console          no console under /console/ (on by default: pages and JSON API\n"
"                            with the in-process history, same auth as /metrics;\n"
"                            docs/console.md); --console turns it back on\n"
"  -a, --address ADDR        bind address, IPv4 or IPv6 literal (default: loopback only,\n"
"                            127.0.0.1 and ::1; 0.0.0.0 or :: for every interface)\n"
"                            [SONDE_GATEWAY_ADDRESS]\n"
"      --allow-unauthenticated  listen beyond loopback without client keys even though\n"
"                            an upstream has an API key (anyone reaching the gateway\n"
"                            spends it); refused without this flag\n"
"  -c, --config FILE         JSON configuration file (see docs/gateway.md)\n"
"                            [SONDE_GATEWAY_CONFIG]\n"
"  -u, --upstream URL        send models not listed in the config to this OpenAI-compatible\n"
"                            base URL, e.g. http://127.0.0.1:8000/v1, labelled _other\n"
"                            (default: none; they are refused with 404)\n"
"                            [SONDE_GATEWAY_UPSTREAM]; its bearer token is read from\n"
"                            SONDE_GATEWAY_UPSTREAM_KEY (never a flag, to stay out of ps)\n"
"  -t, --threads N           HTTP worker threads (default 4) [SONDE_GATEWAY_THREADS]\n"
"      --max-body BYTES      largest request body, larger ones get 413 as soon as their\n"
"                            Content-Length (or chunked total) says so (default 1048576)\n"
"      --max-connections N   concurrent connections (default 4096)\n"
"      --probe-interval S    seconds between upstream reachability probes (default 5)\n"
"  Timeouts (ms; the upstream ones apply to every OpenAI upstream, --upstream included):\n"
"      --connect-timeout-ms MS      connecting to an upstream (default 2000)\n"
"      --first-byte-timeout-ms MS   from the request sent to the first byte of the answer\n"
"                                   (default 60000)\n"
"      --idle-timeout-ms MS         longest upstream silence mid-answer; time paused for a\n"
"                                   slow client does not count (default 30000)\n"
"      --client-idle-timeout-ms MS  drop a client that takes nothing of its pending answer\n"
"                                   this long, recorded cancelled (default 30000)\n"
"  Simulated upstream \"sim\" (model sonde-sim, and every model the config puts on it):\n"
"      --sim-ttft-ms MS          time to first token (default 200)\n"
"      --sim-inter-token-ms MS   delay between tokens (default 20)\n"
"      --sim-jitter-ms MS        +- random variation of each wait (default 5)\n"
"      --sim-output-tokens N     tokens per answer (default 64, capped by max_tokens)\n"
"      --sim-error-rate R        share of calls failing with 502 (default 0)\n"
"      --sim-timeout-rate R      share of calls stalling until 504 (default 0)\n"
"      --sim-timeout-ms MS       how long a stalled sim call waits (default 60000)\n"
"  OTLP metrics (also started by OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT; see docs/export.md):\n"
"      --otlp-metrics-endpoint URL  push the metrics to this OTLP/HTTP URL (the full\n"
"                            /v1/metrics one) [OTEL_EXPORTER_OTLP_METRICS_ENDPOINT]\n"
"      --otlp-metrics-interval-ms MS  between exports (default 60000)\n"
"                            [OTEL_METRIC_EXPORT_INTERVAL]\n"
"  Limits and budgets shared by several gateways (keys and budgets: the config file):\n"
"      --redis URL           keep the keys' limits and daily budgets in this Redis,\n"
"                            redis://[[user]:password@]host[:port][/db] (default: none,\n"
"                            each gateway limits alone) [SONDE_GATEWAY_REDIS_URL]; a\n"
"                            password may come from SONDE_GATEWAY_REDIS_PASSWORD\n"
"      --redis-fail-mode M   when Redis cannot be reached: open = use this gateway's own\n"
"                            limits, closed = refuse with 503 (default open)\n"
"      --redis-connect-timeout-ms MS  connecting to Redis (default 100)\n"
"      --redis-command-timeout-ms MS  one limit check or charge (default 50)\n"
"  Traces and logs (see docs/gateway.md, Tracing; the OTEL_* variables apply):\n"
"      --otlp-endpoint URL   export spans and access-log records over OTLP/HTTP to this\n"
"                            base URL (/v1/traces, /v1/logs appended); without it (and\n"
"                            without OTEL_EXPORTER_OTLP_[TRACES_|LOGS_]ENDPOINT) nothing\n"
"                            is exported\n"
"      --trace-profile P     production (parentbased_traceidratio 0.1, the default) or\n"
"                            demo (ratio 1.0); OTEL_TRACES_SAMPLER(_ARG) override it\n"
"      --trace-ratio R       the sampler ratio in [0, 1], over OTEL_TRACES_SAMPLER_ARG\n"
"      --access-log PATH     one JSON line per request appended to PATH (- stderr, the\n"
"                            default, or SONDE_LOG_FILE; off: none)\n"
"      --list-metrics        print every metric family (type, labels, buckets, help) in\n"
"                            Markdown and exit; docs/metrics.md is this output\n"
"  Push exporters (docs/export.md; the SONDE_REMOTE_WRITE_* / SONDE_PUSHGATEWAY_* / SONDE_PUSH_*\n"
"  variables configure the rest: auth, TLS, external labels, backlog):\n"
"      --remote-write-url URL       send the metrics to this remote-write receiver\n"
"                                   [SONDE_REMOTE_WRITE_URL]\n"
"      --remote-write-interval S    seconds between snapshots (default 15)\n"
"                                   [SONDE_REMOTE_WRITE_INTERVAL]\n"
"      --pushgateway-url URL        push the metrics there when shutting down\n"
"                                   [SONDE_PUSHGATEWAY_URL]\n"
"      --pushgateway-job JOB        its job (default sonde-gateway) [SONDE_PUSHGATEWAY_JOB]\n"
"  Alerts of the console (docs/console.md):\n"
"      --alert-rules FILE           the rules (JSON; default: deploy/rules' thresholds)\n"
"      --alert-webhook URL          POST firing and resolved alerts there (Alertmanager's\n"
"                                   webhook payload)\n"
"      --alertmanager-url URL       link the Alerts page to this Alertmanager\n"
"  -h, --help                this text\n"
"  -V, --version             the version\n"
"\n"
"libsonde's own variables apply too: SONDE_SERVICE_NAME, SONDE_SERVICE_VERSION,\n"
"SONDE_ENVIRONMENT, SONDE_GLOBAL_LABELS (k=v,k=v), SONDE_METRICS_ENABLED.\n"
"Auth is off until the config file lists keys; then every API request (and /metrics on the\n"
"API port) needs 'Authorization: Bearer <key>' (or x-api-key), and metrics name the key,\n"
"never its secret. Models not in the config are refused (404) unless its default_upstream\n"
"(or --upstream) passes them on; they are then labelled _other in the metrics.\n");
}

enum { O_MAXBODY = 256, O_MAXCONN, O_PROBE, O_TTFT, O_ITL, O_JITTER, O_TOKENS, O_ERR, O_TO, O_TOMS,
       O_LIST, O_ALLOW, O_CONNTO, O_FBTO, O_IDLETO, O_CLIENTTO, O_OTLPM, O_OTLPM_IV,
       O_REDIS, O_REDIS_FAIL, O_REDIS_CONNTO, O_REDIS_CMDTO, O_OTLP, O_PROFILE, O_RATIO, O_ACCESS,
       O_RWURL, O_RWINT, O_PGURL, O_PGJOB, O_CONSOLE, O_NO_CONSOLE, O_ALRULES, O_ALHOOK,
       O_AMURL };

static int num(const char *flag, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) { /* NaN fails both */
        fprintf(stderr, "sonde-gateway: %s wants a number in [%g, %g], got '%s'\n", flag, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int env_num(const char *var, double lo, double hi, double *out)
{
    const char *v = getenv(var);
    return v && *v ? num(var, v, lo, hi, out) : 0;
}

int main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"port", required_argument, NULL, 'p'},
        {"metrics-port", required_argument, NULL, 'm'},
        {"address", required_argument, NULL, 'a'},
        {"config", required_argument, NULL, 'c'},
        {"upstream", required_argument, NULL, 'u'},
        {"threads", required_argument, NULL, 't'},
        {"max-body", required_argument, NULL, O_MAXBODY},
        {"max-connections", required_argument, NULL, O_MAXCONN},
        {"probe-interval", required_argument, NULL, O_PROBE},
        {"sim-ttft-ms", required_argument, NULL, O_TTFT},
        {"sim-inter-token-ms", required_argument, NULL, O_ITL},
        {"sim-jitter-ms", required_argument, NULL, O_JITTER},
        {"sim-output-tokens", required_argument, NULL, O_TOKENS},
        {"sim-error-rate", required_argument, NULL, O_ERR},
        {"sim-timeout-rate", required_argument, NULL, O_TO},
        {"sim-timeout-ms", required_argument, NULL, O_TOMS},
        {"list-metrics", no_argument, NULL, O_LIST},
        {"allow-unauthenticated", no_argument, NULL, O_ALLOW},
        {"connect-timeout-ms", required_argument, NULL, O_CONNTO},
        {"first-byte-timeout-ms", required_argument, NULL, O_FBTO},
        {"idle-timeout-ms", required_argument, NULL, O_IDLETO},
        {"client-idle-timeout-ms", required_argument, NULL, O_CLIENTTO},
        {"otlp-metrics-endpoint", required_argument, NULL, O_OTLPM},
        {"otlp-metrics-interval-ms", required_argument, NULL, O_OTLPM_IV},
        {"redis", required_argument, NULL, O_REDIS},
        {"redis-fail-mode", required_argument, NULL, O_REDIS_FAIL},
        {"redis-connect-timeout-ms", required_argument, NULL, O_REDIS_CONNTO},
        {"redis-command-timeout-ms", required_argument, NULL, O_REDIS_CMDTO},
        {"otlp-endpoint", required_argument, NULL, O_OTLP},
        {"trace-profile", required_argument, NULL, O_PROFILE},
        {"trace-ratio", required_argument, NULL, O_RATIO},
        {"access-log", required_argument, NULL, O_ACCESS},
        {"remote-write-url", required_argument, NULL, O_RWURL},
        {"remote-write-interval", required_argument, NULL, O_RWINT},
        {"pushgateway-url", required_argument, NULL, O_PGURL},
        {"pushgateway-job", required_argument, NULL, O_PGJOB},
        {"console", no_argument, NULL, O_CONSOLE},
        {"no-console", no_argument, NULL, O_NO_CONSOLE},
        {"alert-rules", required_argument, NULL, O_ALRULES},
        {"alert-webhook", required_argument, NULL, O_ALHOOK},
        {"alertmanager-url", required_argument, NULL, O_AMURL},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    /* first pass: only --config, --help, --version (the file comes before flags) */
    const char *config = getenv("SONDE_GATEWAY_CONFIG");
    int o;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "p:m:a:c:u:t:hV", longs, NULL)) != -1) {
        if (o == 'c') config = optarg;
        if (o == 'h') {
            usage(stdout);
            return 0;
        }
        if (o == 'V') {
            printf("sonde-gateway %s\n", SONDE_VERSION_STRING);
            return 0;
        }
        if (o == '?') {
            fprintf(stderr, "sonde-gateway: unknown or incomplete option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sonde-gateway: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    static gw_config cfg;
    char err[512];
    if (gw_config_defaults(&cfg) != 0) return 1;
    if (config && gw_config_load(&cfg, config, err, sizeof err) != 0) {
        fprintf(stderr, "sonde-gateway: config: %s\n", err);
        return 2;
    }
    double d;
    gw_upstream *sim = cfg.ups[0];
    d = cfg.port;
    if (env_num("SONDE_GATEWAY_PORT", 0, 65535, &d)) return 2;
    cfg.port = (int)d;
    d = cfg.metrics_port;
    if (env_num("SONDE_GATEWAY_METRICS_PORT", 0, 65535, &d)) return 2;
    cfg.metrics_port = (int)d;
    d = cfg.threads;
    if (env_num("SONDE_GATEWAY_THREADS", 1, 256, &d)) return 2;
    cfg.threads = (int)d;
    if (getenv("SONDE_GATEWAY_ADDRESS") && *getenv("SONDE_GATEWAY_ADDRESS")) {
        free(cfg.address);
        cfg.address = strdup(getenv("SONDE_GATEWAY_ADDRESS"));
    }
    const char *upstream = getenv("SONDE_GATEWAY_UPSTREAM");
    gw_telemetry_cfg *tel = &cfg.telemetry;
    const char *redis_url = getenv("SONDE_GATEWAY_REDIS_URL");
    if (redis_url && !*redis_url) redis_url = NULL;
    double probe = 5;
    int list_metrics = 0, allow_unauthenticated = 0;
    double connect_to = -1, first_byte_to = -1, idle_to = -1; /* -1: not given */
    optind = 1;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "p:m:a:c:u:t:hV", longs, NULL)) != -1) {
        int bad = 0;
        switch (o) {
        case 'p': bad = num("--port", optarg, 0, 65535, &d); cfg.port = (int)d; break;
        case 'm': bad = num("--metrics-port", optarg, 0, 65535, &d); cfg.metrics_port = (int)d; break;
        case O_CONSOLE: cfg.console = 1; break;
        case O_NO_CONSOLE: cfg.console = 0; break;
        case 'a': free(cfg.address); cfg.address = strdup(optarg); break;
        case 'u': upstream = optarg; break;
        case 't': bad = num("--threads", optarg, 1, 256, &d); cfg.threads = (int)d; break;
        case O_MAXBODY: bad = num("--max-body", optarg, 64, 1 << 30, &d); cfg.max_body = (size_t)d; break;
        case O_MAXCONN: bad = num("--max-connections", optarg, 1, 1e6, &d); cfg.max_connections = (unsigned)d; break;
        case O_PROBE: bad = num("--probe-interval", optarg, 0.1, 3600, &probe); break;
        case O_TTFT: bad = num("--sim-ttft-ms", optarg, 0, 3.6e6, &sim->sim.ttft_ms); break;
        case O_ITL: bad = num("--sim-inter-token-ms", optarg, 0, 3.6e6, &sim->sim.itl_ms); break;
        case O_JITTER: bad = num("--sim-jitter-ms", optarg, 0, 3.6e6, &sim->sim.jitter_ms); break;
        case O_TOKENS: bad = num("--sim-output-tokens", optarg, 1, 1e6, &d); sim->sim.output_tokens = (int)d; break;
        case O_ERR: bad = num("--sim-error-rate", optarg, 0, 1, &sim->sim.error_rate); break;
        case O_TO: bad = num("--sim-timeout-rate", optarg, 0, 1, &sim->sim.timeout_rate); break;
        case O_TOMS: bad = num("--sim-timeout-ms", optarg, 1, 3.6e6, &d); sim->timeout_ms = (long)d; break;
        case O_LIST: list_metrics = 1; break;
        case O_ALLOW: allow_unauthenticated = 1; break;
        case O_CONNTO: bad = num("--connect-timeout-ms", optarg, 1, 3.6e6, &connect_to); break;
        case O_FBTO: bad = num("--first-byte-timeout-ms", optarg, 1, 3.6e6, &first_byte_to); break;
        case O_IDLETO: bad = num("--idle-timeout-ms", optarg, 1, 3.6e6, &idle_to); break;
        case O_RWURL: free(cfg.remote_write_url); cfg.remote_write_url = strdup(optarg); break;
        case O_RWINT: bad = num("--remote-write-interval", optarg, 0.001, 86400, &cfg.remote_write_interval); break;
        case O_PGURL: free(cfg.pushgateway_url); cfg.pushgateway_url = strdup(optarg); break;
        case O_PGJOB: free(cfg.pushgateway_job); cfg.pushgateway_job = strdup(optarg); break;
        case O_ALRULES: free(cfg.alert_rules); cfg.alert_rules = strdup(optarg); break;
        case O_ALHOOK:
            bad = gw_otlp_endpoint_check(optarg) != 0;
            if (bad) fprintf(stderr, "sonde-gateway: --alert-webhook must be an http(s):// URL\n");
            free(cfg.alert_webhook);
            cfg.alert_webhook = strdup(optarg);
            break;
        case O_AMURL:
            bad = gw_otlp_endpoint_check(optarg) != 0;
            if (bad) fprintf(stderr, "sonde-gateway: --alertmanager-url must be an http(s):// URL\n");
            free(cfg.alertmanager_url);
            cfg.alertmanager_url = strdup(optarg);
            break;
        case O_CLIENTTO: bad = num("--client-idle-timeout-ms", optarg, 1, 3.6e6, &d);
                         cfg.client_idle_timeout_ms = (long)d; break;
        case O_OTLPM: free(cfg.otlp_metrics_endpoint); cfg.otlp_metrics_endpoint = strdup(optarg); break;
        case O_OTLPM_IV: bad = num("--otlp-metrics-interval-ms", optarg, 1, 3.6e6, &d);
                         cfg.otlp_metrics_interval_ms = (long)d; break;
        case O_REDIS: redis_url = optarg; break;
        case O_REDIS_FAIL:
            if ((bad = gw_config_set_fail_mode(&cfg, optarg) != 0))
                fprintf(stderr, "sonde-gateway: --redis-fail-mode wants open or closed\n");
            break;
        case O_REDIS_CONNTO: bad = num("--redis-connect-timeout-ms", optarg, 1, 60000, &d);
                             cfg.redis.connect_timeout_ms = (long)d; break;
        case O_REDIS_CMDTO: bad = num("--redis-command-timeout-ms", optarg, 1, 60000, &d);
                            cfg.redis.command_timeout_ms = (long)d; break;
        case O_OTLP:
            if ((bad = gw_otlp_endpoint_check(optarg) != 0))
                fprintf(stderr, "sonde-gateway: --otlp-endpoint wants an http:// or https:// URL\n");
            free(tel->otlp_endpoint);
            tel->otlp_endpoint = strdup(optarg);
            tel->endpoint_from_flag = 1;
            break;
        case O_PROFILE:
            if ((bad = gw_trace_profile_parse(optarg, &tel->profile) != 0))
                fprintf(stderr, "sonde-gateway: --trace-profile is production or demo\n");
            break;
        case O_RATIO: bad = num("--trace-ratio", optarg, 0, 1, &tel->sampler_ratio);
                      tel->ratio_from_flag = 1; break;
        case O_ACCESS: free(tel->access_log); tel->access_log = strdup(optarg); break;
        default: break;
        }
        if (bad) return 2;
    }
    if (upstream && gw_config_set_fallback_url(&cfg, upstream, getenv("SONDE_GATEWAY_UPSTREAM_KEY"),
                                               err, sizeof err) != 0) {
        fprintf(stderr, "sonde-gateway: --upstream: %s\n", err);
        return 2;
    }
    if (redis_url) {
        free(cfg.redis.url);
        cfg.redis.url = strdup(redis_url);
    }
    const char *redis_password = getenv("SONDE_GATEWAY_REDIS_PASSWORD");
    if (redis_password && *redis_password) {
        free(cfg.redis.password);
        cfg.redis.password = strdup(redis_password);
    }
    for (size_t i = 0; i < cfg.nups; i++) {
        gw_upstream *u = cfg.ups[i];
        if (u->kind != GW_UP_OPENAI) continue;
        if (connect_to > 0) u->connect_timeout_ms = (long)connect_to;
        if (first_byte_to > 0) u->first_byte_timeout_ms = (long)first_byte_to;
        if (idle_to > 0) u->idle_timeout_ms = (long)idle_to;
    }

    if (list_metrics) {
        int rc = gw_list_metrics(&cfg, stdout);
        gw_config_free(&cfg);
        return rc ? 1 : 0;
    }
    const gw_upstream *exposed = gw_config_exposed_key(&cfg);
    if (exposed && !allow_unauthenticated) {
        fprintf(stderr, "sonde-gateway: refusing to listen on %s without client keys: upstream '%s' "
                "has an API key that anyone reaching the gateway would spend. Add \"keys\" to the "
                "config, bind a loopback address, or pass --allow-unauthenticated.\n",
                cfg.address, exposed->name);
        gw_config_free(&cfg);
        return 2;
    }
    if (exposed)
        fprintf(stderr, "sonde-gateway: WARNING: --allow-unauthenticated: listening on %s with no "
                "client keys; anyone reaching it spends upstream '%s''s API key\n", cfg.address,
                exposed->name);

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* the push exporters: flags and the JSON file win over the SONDE_* variables, which
     * configure the rest (auth, TLS, external labels) */
    char num_text[32];
    if (cfg.remote_write_url) setenv("SONDE_REMOTE_WRITE_URL", cfg.remote_write_url, 1);
    if (cfg.remote_write_interval > 0) {
        snprintf(num_text, sizeof num_text, "%.3f", cfg.remote_write_interval);
        for (char *c = num_text; *c; c++) if (*c == ',') *c = '.'; /* whatever the locale */
        setenv("SONDE_REMOTE_WRITE_INTERVAL", num_text, 1);
    }
    if (cfg.pushgateway_url) setenv("SONDE_PUSHGATEWAY_URL", cfg.pushgateway_url, 1);
    if (cfg.pushgateway_job) setenv("SONDE_PUSHGATEWAY_JOB", cfg.pushgateway_job, 1);
    else if (!getenv("SONDE_PUSHGATEWAY_JOB")) setenv("SONDE_PUSHGATEWAY_JOB", "sonde-gateway", 1);
    /* OTLP metrics: the flag or JSON over the OTEL_* environment, started with the others */
    if (cfg.otlp_metrics_endpoint) setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", cfg.otlp_metrics_endpoint, 1);
    if (cfg.otlp_metrics_interval_ms > 0) {
        snprintf(num_text, sizeof num_text, "%ld", cfg.otlp_metrics_interval_ms);
        setenv("OTEL_METRIC_EXPORT_INTERVAL", num_text, 1);
    }

    gw_telemetry telemetry;
    if (gw_telemetry_new(&cfg, sonde_default_registry(), &telemetry) != 0)
        return 1;
    /* remote write, Pushgateway, OTLP metrics; diagnostics as JSON lines on stderr, through
     * the telemetry's diagnostic logger */
    sonde_exporters *exporters = NULL;
    char xerr[256] = "";
    if (sonde_exporters_from_env(sonde_default_registry(), telemetry.diag, &exporters, xerr,
                                 sizeof xerr) != SONDE_OK) {
        fprintf(stderr, "sonde-gateway: %s\n", xerr);
        gw_telemetry_free(&telemetry);
        return 2;
    }
    gateway *gw;
    if (gw_new(&cfg, sonde_default_registry(), &telemetry, &gw) != 0) {
        fprintf(stderr, "sonde-gateway: cannot start (metrics, limits or worker threads)\n");
        sonde_exporters_free(exporters, 0, 0, 0); /* before the logger it uses */
        gw_telemetry_free(&telemetry);
        return 1;
    }
    if (gw_start(gw) != 0) {
        fprintf(stderr, "sonde-gateway: cannot listen on port %d (in use, or a bad address?)\n",
                cfg.port);
        gw_free(gw);
        sonde_exporters_free(exporters, 0, 0, 0); /* before the logger it uses */
        gw_telemetry_free(&telemetry);
        return 1;
    }
    /* the addresses really bound, e.g. "http://127.0.0.1:8080 http://[::1]:8080" */
    char urls[256] = "?";
    gw_service_urls(gw, urls, sizeof urls);
    int mport = gw_service_metrics_port(gw);
    if (mport == gw_service_port(gw)) {
        printf("sonde-gateway %s listening on %s (API /v1, /metrics on the same port)\n",
               SONDE_VERSION_STRING, urls);
    } else {
        const char *mhost = cfg.address && *cfg.address ? cfg.address : "127.0.0.1";
        int v6 = strchr(mhost, ':') != NULL;
        printf("sonde-gateway %s listening on %s (API /v1; metrics http://%s%s%s:%d/metrics)\n",
               SONDE_VERSION_STRING, urls, v6 ? "[" : "", mhost, v6 ? "]" : "", mport);
    }
    fflush(stdout);
    /* every 5 s (or the probe interval, when shorter): probe when due, and hand
     * glibc's free pages back. Answers are built on one thread (timer, curl) and freed on
     * another (MHD), so freed pages pile up in glibc's per-thread arenas: the soak
     * (bench/soak.sh) showed RSS growing ~1 MB a minute while the heap in use stayed flat;
     * malloc_trim() returns them. */
    const double housekeeping_s = probe < 5 ? probe : 5;
    struct timespec ts = {(time_t)housekeeping_s,
                          (long)((housekeeping_s - (double)(time_t)housekeeping_s) * 1e9)};
    double since_probe = 0;
    for (;;) {
        int s = sigtimedwait(&sigs, NULL, &ts);
        if (s == SIGINT || s == SIGTERM) break;
        since_probe += housekeeping_s;
        if (since_probe >= probe) {
            since_probe = 0;
            gw_probe_all(gw);
            gw_limits_probe(gw->limits);
        }
#ifdef __GLIBC__
        malloc_trim(0);
#endif
    }
    fprintf(stderr, "sonde-gateway: shutting down\n");
    /* the last remote-write snapshot and OTLP metrics export (5 s each to drain); a push to
     * the Pushgateway, if set */
    sonde_exporters_free(exporters, 1, 1, 5000);
    gw_free(gw);
    gw_telemetry_free(&telemetry); /* flushes the spans and log records still queued */
    gw_config_free(&cfg);
    return 0;
}
