/*
 * console.c - the console object: options, creation, the sampler thread and
 * its stop. The sampler wakes every interval_ms (a condition variable with a
 * deadline, so sonde_console_free() stops it at once) and samples the
 * history; the first sample is taken at start, so the overview has a point
 * before the first interval has passed.
 *
 * The overview's families (api_overview.c) and the host's are watched from
 * creation on: a family registered later (the LLM module often is) is
 * watched by the sampler the first time it finds it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console_internal.h"
#include "console_obs.h"
#include "history.h"

void sonde_console_opts_init(sonde_console_opts *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->interval_ms = 5000;
    o->retention_s = 3600;
    o->max_bytes = (size_t)32 << 20;
}

static int config_error(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return SONDE_ECONFIG;
}

static int check_opts(const sonde_console_opts *o, char *err, size_t errlen)
{
    if (o->interval_ms < 100 || o->interval_ms > 3600000)
        return config_error(err, errlen, "console interval_ms must be in [100, 3600000]");
    if (o->retention_s < 1 || o->retention_s > 31 * 86400)
        return config_error(err, errlen, "console retention_s must be in [1, 2678400]");
    if ((double)o->retention_s * 1000.0 / (double)o->interval_ms > 1e6)
        return config_error(err, errlen, "console retention_s / interval covers over 1e6 points");
    if (o->max_bytes < ((size_t)64 << 10))
        return config_error(err, errlen, "console max_bytes must be at least 65536");
    double points = (double)o->retention_s * 1000.0 / (double)o->interval_ms;
    if ((double)o->max_bytes < points * 8.0 * 32.0)
        return config_error(err, errlen, "console max_bytes must hold at least 32 series "
                                         "(retention_s * 1000 / interval_ms samples of 8 bytes)");
    if (o->family_count > 256 || (o->family_count && !o->families))
        return config_error(err, errlen, "console families: at most 256, array required");
    for (size_t i = 0; i < o->family_count; i++)
        if (!o->families[i] || !o->families[i][0] || strlen(o->families[i]) > 255)
            return config_error(err, errlen, "console families: a name is empty or too long");
    return SONDE_OK;
}

static int64_t wall_ms(void) { return (int64_t)(sonde_wall_seconds() * 1000.0); }

static void sample_now(sonde_console *c)
{
    console_watch_pinned(c);
    int64_t now = wall_ms();
    console_history_sample(c->history, now);
    console_alerts_tick(c, now);
}

static void *sampler_main(void *arg)
{
    sonde_console *c = arg;
    pthread_mutex_lock(&c->lock);
    while (!c->stop) {
        pthread_mutex_unlock(&c->lock);
        sample_now(c);
        pthread_mutex_lock(&c->lock);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        long long ns = (long long)until.tv_nsec + (long long)c->interval_ms * 1000000LL;
        until.tv_sec += (time_t)(ns / 1000000000LL);
        until.tv_nsec = (long)(ns % 1000000000LL);
        while (!c->stop && pthread_cond_timedwait(&c->cond, &c->lock, &until) != ETIMEDOUT) {
        }
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

int sonde_console_new(const sonde_console_opts *o, sonde_console **out, char *err, size_t errlen)
{
    if (out)
        *out = NULL;
    if (!o || !out)
        return SONDE_EINVAL;
    int rc = check_opts(o, err, errlen);
    if (rc)
        return rc;
    sonde_console *c = calloc(1, sizeof *c);
    if (!c)
        return SONDE_ENOMEM;
    c->reg = o->registry ? o->registry : sonde_default_registry();
    c->tracer = o->tracer;
    c->logger = o->logger;
    c->interval_ms = o->interval_ms;
    c->retention_s = o->retention_s;
    c->max_bytes = o->max_bytes;
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    rc = SONDE_ENOMEM;
    if (o->alertmanager_url && !(c->alertmanager_url = strdup(o->alertmanager_url)))
        goto fail;
    if (o->family_count && !(c->families = calloc(o->family_count, sizeof *c->families)))
        goto fail;
    for (; c->family_count < o->family_count; c->family_count++)
        if (!(c->families[c->family_count] = strdup(o->families[c->family_count])))
            goto fail;
    sonde_metric_opts mo = {0};
    mo.name = "sonde_console_history_evicted";
    mo.help = "Series dropped from the console's history to stay within its memory bound.";
    mo.type = SONDE_COUNTER;
    sonde_metric *m = NULL;
    int mrc = sonde_register(c->reg, &mo, &m);
    if (mrc == SONDE_EEXIST)
        m = sonde_registry_find(c->reg, "sonde_console_history_evicted");
    else if (mrc == SONDE_ENOMEM)
        goto fail;
    c->evicted_metric = m && mrc == SONDE_OK ? m : NULL;
    rc = console_history_new(c->reg, c->interval_ms, c->retention_s, c->max_bytes,
                             sonde_counter_of(m), &c->history);
    if (rc)
        goto fail;
    if ((rc = console_alerts_new(c, o, err, errlen)) != SONDE_OK)
        goto fail;
    console_watch_pinned(c);
    *out = c;
    return SONDE_OK;
fail:
    sonde_console_free(c);
    return rc;
}

int sonde_console_start(sonde_console *c)
{
    if (!c)
        return SONDE_EINVAL;
    pthread_mutex_lock(&c->lock);
    int rc = SONDE_OK;
    if (c->running)
        rc = SONDE_EBUSY;
    else if (pthread_create(&c->thread, NULL, sampler_main, c) != 0)
        rc = SONDE_EIO;
    else
        c->running = 1;
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void sonde_console_free(sonde_console *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    int running = c->running;
    c->stop = 1;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    if (running)
        pthread_join(c->thread, NULL);
    console_alerts_free(c);
    console_history_free(c->history);
    if (c->evicted_metric)
        sonde_unregister(c->evicted_metric);
    for (size_t i = 0; i < c->family_count; i++)
        free(c->families[i]);
    free(c->families);
    free(c->alertmanager_url);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    free(c);
}
