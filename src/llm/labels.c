/*
 * labels.c - label values of the GenAI families for one route and response
 * model, in the order families.c registers the names: operation, provider,
 * (gen_ai_system = provider, with the legacy option), request model,
 * response model, server address, server port, then the family's last label
 * (error_type or gen_ai_token_type) when it has one. Unknown values are ""
 * and so absent in the exposition, as the conventions want for optional
 * attributes.
 */
#include "llm_internal.h"

size_t llm_genai_values(const struct sonde_llm *llm, const llm_route *r, const char *resp_model,
                        const char *last, const char **out)
{
    size_t n = 0;
    out[n++] = r->op;
    out[n++] = r->norm;
    if (llm->legacy)
        out[n++] = r->norm;
    out[n++] = r->model;
    out[n++] = resp_model ? resp_model : "";
    out[n++] = r->addr;
    out[n++] = r->port_text;
    if (last)
        out[n++] = last;
    return n;
}
