/*
 * labels.c - bounded labels. No label value comes straight from a request
 * or an upstream answer: each maps to something the configuration lists or
 * to a closed set, and anything else to "_other", so hostile or merely
 * varied input can never grow the number of series (nor their size).
 *
 *   model, response model  a configured model name (an upstream's reported
 *                          name maps to the model it is the upstream name of,
 *                          also with a "-<version>" suffix: "gpt-4o-mini" for
 *                          "gpt-4o-mini-2024-07-18"); models passed through by
 *                          default_upstream are "_other"
 *   tool                   the configuration's "tools" list
 *   finish reason          OpenAI's: stop, length, tool_calls, content_filter,
 *                          function_call
 *   key, provider, upstream, error type: the configuration's or the
 *                          gateway's own constants already
 *
 * Each value sent to "_other" is counted in
 * gateway_unlisted_values_total{label}, so an operator sees what is lumped.
 */
#include <string.h>

#include "gateway.h"

/* How well upstream name `reported` matches model m, higher is better: its name, its
 * upstream name, "<upstream name>-<suffix>" (the longer the upstream name the better), none 0. */
static size_t match(const gw_model *m, const char *reported)
{
    if (strcmp(m->name, reported) == 0) return (size_t)-1;
    if (strcmp(m->upstream_model, reported) == 0) return (size_t)-2;
    size_t n = strlen(m->upstream_model);
    return strncmp(m->upstream_model, reported, n) == 0 && reported[n] == '-' ? n : 0;
}

const char *gw_label_model(gw_meter *mt, const gw_config *cfg, const gw_model *called,
                           const char *reported)
{
    if (!reported || !*reported) return called->name;
    const gw_model *best = NULL;
    size_t best_score = 0;
    if (called && strcmp(called->name, GW_OTHER) != 0) { /* the called model wins ties */
        best_score = match(called, reported);
        if (best_score) best = called;
    }
    for (size_t i = 0; i < cfg->nmodels; i++) {
        size_t s = match(&cfg->models[i], reported);
        if (s > best_score) {
            best = &cfg->models[i];
            best_score = s;
        }
    }
    if (best) return best->name;
    gw_meter_unlisted(mt, "response_model");
    return GW_OTHER;
}

const char *gw_label_tool(gw_meter *mt, const gw_config *cfg, const char *tool)
{
    for (size_t i = 0; tool && i < cfg->ntools; i++)
        if (strcmp(cfg->tools[i], tool) == 0) return cfg->tools[i];
    gw_meter_unlisted(mt, "tool");
    return GW_OTHER;
}

const char *gw_label_finish(gw_meter *mt, const char *reason)
{
    static const char *const known[] = {"stop", "length", "tool_calls", "content_filter",
                                        "function_call"};
    if (!reason || !*reason) return NULL;
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (strcmp(known[i], reason) == 0) return known[i];
    gw_meter_unlisted(mt, "finish_reason");
    return GW_OTHER;
}
