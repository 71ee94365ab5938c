/*
 * test_gateway_telemetry.c - the gateway's "telemetry" section and the rules
 * of telemetry.c: the file's keys and mistakes, the sampling profiles and the
 * precedence of file, OTEL_* variables and flags (observed through the
 * sampling decision of root spans at ratio 0 and 1), when an OTLP exporter
 * exists and where it sends, OTEL_SDK_DISABLED and OTEL_*_EXPORTER=none.
 * No receiver is needed: nothing is exported (spans end unsampled, or are
 * dropped at shutdown with an endpoint nobody listens on, within the flush
 * deadline).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "gateway.h"

static int load(gw_config *c, const char *text, char *err, size_t len)
{
    char path[] = "/tmp/gwtelXXXXXX";
    gw_config_defaults(c);
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    ssize_t n = write(fd, text, strlen(text));
    (void)n;
    close(fd);
    int rc = gw_config_load(c, path, err, len);
    unlink(path);
    return rc;
}

static const char *const vars[] = {"OTEL_SDK_DISABLED", "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "OTEL_TRACES_EXPORTER", "OTEL_LOGS_EXPORTER",
    "OTEL_SERVICE_NAME", NULL};

static void clear_env(void)
{
    for (const char *const *v = vars; *v; v++) unsetenv(*v);
}

/* Whether a new root span of the telemetry's tracer is sampled (-1: no tracer). */
static int root_sampled(const gw_telemetry *t)
{
    if (!t->tracer) return -1;
    sonde_span *s = sonde_span_start(t->tracer, "probe", SONDE_SPAN_INTERNAL, NULL);
    sonde_span_context ctx;
    sonde_span_get_context(s, &ctx);
    sonde_span_end(s);
    return (ctx.flags & SONDE_TRACE_FLAG_SAMPLED) != 0;
}

/* Build the telemetry of c, read the sampling of a root and the traces endpoint. */
static int probe(const gw_config *c, char *endpoint, size_t len)
{
    gw_telemetry t;
    if (gw_telemetry_new(c, NULL, &t) != 0) return -2;
    int sampled = root_sampled(&t);
    endpoint[0] = 0;
    if (t.otlp) strncat(endpoint, sonde_otlp_endpoint(t.otlp, SONDE_OTLP_TRACES), len - 1);
    gw_telemetry_free(&t);
    return sampled;
}

TEST(section)
{
    gw_config c;
    char err[256] = "";
    gw_config_defaults(&c);
    CHECK_EQ_INT(c.telemetry.profile, GW_PROFILE_PRODUCTION);
    CHECK_EQ_DBL(gw_telemetry_ratio(&c.telemetry), 0.1);
    c.telemetry.profile = GW_PROFILE_DEMO;
    CHECK_EQ_DBL(gw_telemetry_ratio(&c.telemetry), 1.0);
    gw_config_free(&c);
    CHECK_EQ_INT(load(&c, "{\"telemetry\": {\"profile\": \"demo\", \"sampler_ratio\": 0.25, "
                          "\"service_name\": \"gw-eu\", \"otlp_endpoint\": \"https://otel:4318\", "
                          "\"access_log\": \"off\"}}", err, sizeof err), 0);
    CHECK_EQ_STR(err, "");
    CHECK_EQ_INT(c.telemetry.profile, GW_PROFILE_DEMO);
    CHECK_EQ_DBL(gw_telemetry_ratio(&c.telemetry), 0.25); /* the file's ratio over the profile */
    CHECK_EQ_STR(c.telemetry.service_name, "gw-eu");
    CHECK_EQ_STR(c.telemetry.otlp_endpoint, "https://otel:4318");
    CHECK_EQ_STR(c.telemetry.access_log, "off");
    gw_config_free(&c);
    static const char *const bad[][2] = {
        {"{\"telemetry\": []}", "telemetry must be an object"},
        {"{\"telemetry\": {\"sampler\": \"always_on\"}}", "unknown key 'sampler'"},
        {"{\"telemetry\": {\"profile\": \"staging\"}}", "'profile' must be"},
        {"{\"telemetry\": {\"sampler_ratio\": 1.5}}", "'sampler_ratio' must be a number in [0, 1]"},
        {"{\"telemetry\": {\"sampler_ratio\": \"0.1\"}}", "'sampler_ratio' must be a number"},
        {"{\"telemetry\": {\"otlp_endpoint\": \"ftp://otel\"}}", "http:// or https://"},
        {"{\"telemetry\": {\"access_log\": \"\"}}", "'access_log' must be a non-empty string"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        CHECK_EQ_INT(load(&c, bad[i][0], err, sizeof err), -1);
        CHECK(strstr(err, bad[i][1]) != NULL);
        gw_config_free(&c);
    }
    char name[400];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = 0;
    char text[512];
    snprintf(text, sizeof text, "{\"telemetry\": {\"service_name\": \"%s\"}}", name);
    CHECK_EQ_INT(load(&c, text, err, sizeof err), -1);
    CHECK(strstr(err, "at most 256 bytes") != NULL);
    gw_config_free(&c);
    CHECK_EQ_INT(gw_trace_profile_parse("production", &c.telemetry.profile), 0);
    CHECK_EQ_INT(gw_trace_profile_parse("Demo", &c.telemetry.profile), -1);
}

TEST(sampling_precedence)
{
    clear_env();
    gw_config c;
    char ep[256];
    gw_config_defaults(&c);
    c.telemetry.access_log = strdup("off");
    c.telemetry.sampler_ratio = 0; /* the file says 0 */
    CHECK_EQ_INT(probe(&c, ep, sizeof ep), 0);
    CHECK_EQ_STR(ep, ""); /* no endpoint anywhere: no exporter */
    setenv("OTEL_TRACES_SAMPLER_ARG", "1", 1); /* the environment over the file */
    CHECK_EQ_INT(probe(&c, ep, sizeof ep), 1);
    c.telemetry.ratio_from_flag = 1; /* a flag over the environment */
    CHECK_EQ_INT(probe(&c, ep, sizeof ep), 0);
    setenv("OTEL_TRACES_SAMPLER", "always_on", 1); /* the sampler itself from the environment */
    CHECK_EQ_INT(probe(&c, ep, sizeof ep), 1);
    clear_env();
    c.telemetry.sampler_ratio = -1;
    c.telemetry.ratio_from_flag = 0;
    c.telemetry.profile = GW_PROFILE_DEMO; /* ratio 1 */
    CHECK_EQ_INT(probe(&c, ep, sizeof ep), 1);
    setenv("OTEL_TRACES_SAMPLER_ARG", "0", 1); /* overrides the profile */
    CHECK_EQ_INT(probe(&c, ep, sizeof ep), 0);
    clear_env();
    setenv("OTEL_SDK_DISABLED", "true", 1);
    c.telemetry.otlp_endpoint = strdup("http://127.0.0.1:9");
    CHECK_EQ_INT(probe(&c, ep, sizeof ep), -1); /* no tracer */
    CHECK_EQ_STR(ep, "");                        /* and no export */
    clear_env();
    gw_config_free(&c);
}

TEST(export_endpoints)
{
    clear_env();
    gw_config c;
    char ep[256];
    gw_config_defaults(&c);
    c.telemetry.access_log = strdup("off");
    c.telemetry.sampler_ratio = 0; /* nothing sampled, nothing sent */
    c.telemetry.otlp_endpoint = strdup("http://127.0.0.1:9");
    probe(&c, ep, sizeof ep);
    CHECK_EQ_STR(ep, "http://127.0.0.1:9/v1/traces"); /* the file's */
    setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:7", 1);
    probe(&c, ep, sizeof ep);
    CHECK_EQ_STR(ep, "http://127.0.0.1:7/v1/traces"); /* the environment over the file */
    c.telemetry.endpoint_from_flag = 1;
    probe(&c, ep, sizeof ep);
    CHECK_EQ_STR(ep, "http://127.0.0.1:9/v1/traces"); /* a flag over the environment */
    setenv("OTEL_TRACES_EXPORTER", "none", 1);
    probe(&c, ep, sizeof ep);
    CHECK_EQ_STR(ep, "http://127.0.0.1:9/v1/traces"); /* logs still go out */
    setenv("OTEL_LOGS_EXPORTER", "none", 1);
    probe(&c, ep, sizeof ep);
    CHECK_EQ_STR(ep, ""); /* neither signal: no transport */
    clear_env();
    free(c.telemetry.otlp_endpoint);
    c.telemetry.otlp_endpoint = NULL;
    setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:5/traces", 1);
    probe(&c, ep, sizeof ep);
    CHECK_EQ_STR(ep, "http://127.0.0.1:5/traces"); /* a signal's endpoint alone is enough */
    clear_env();
    gw_config_free(&c);
}

int main(void)
{
    RUN(section);
    RUN(sampling_precedence);
    RUN(export_endpoints);
    return check_report();
}
