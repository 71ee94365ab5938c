/*
 * provider.c - provider names normalised to the values of the GenAI
 * conventions' gen_ai.provider.name. The name is lower-cased (ASCII) and
 * looked up in a table of the spellings services use (product names,
 * vendors, SDK names); a match gives the conventions' value, anything else
 * passes through lower-cased. Only valid UTF-8 of at most LLM_PROVIDER_MAX
 * bytes is accepted, so a normalised name is always a valid label value.
 */
#include <string.h>

#include "llm_internal.h"

static const struct {
    const char *alias, *name;
} aliases[] = {
    {"openai", "openai"},
    {"azure", "azure.ai.openai"},
    {"azure_openai", "azure.ai.openai"},
    {"azure-openai", "azure.ai.openai"},
    {"azureopenai", "azure.ai.openai"},
    {"azure.ai.openai", "azure.ai.openai"},
    {"azure.ai.inference", "azure.ai.inference"},
    {"azure_ai_inference", "azure.ai.inference"},
    {"anthropic", "anthropic"},
    {"claude", "anthropic"},
    {"aws", "aws.bedrock"},
    {"bedrock", "aws.bedrock"},
    {"aws_bedrock", "aws.bedrock"},
    {"aws-bedrock", "aws.bedrock"},
    {"aws.bedrock", "aws.bedrock"},
    {"google", "gcp.gemini"},
    {"gemini", "gcp.gemini"},
    {"gcp.gemini", "gcp.gemini"},
    {"vertex", "gcp.vertex_ai"},
    {"vertexai", "gcp.vertex_ai"},
    {"vertex_ai", "gcp.vertex_ai"},
    {"vertex-ai", "gcp.vertex_ai"},
    {"gcp.vertex_ai", "gcp.vertex_ai"},
    {"gcp.gen_ai", "gcp.gen_ai"},
    {"cohere", "cohere"},
    {"mistral", "mistral_ai"},
    {"mistralai", "mistral_ai"},
    {"mistral_ai", "mistral_ai"},
    {"mistral-ai", "mistral_ai"},
    {"groq", "groq"},
    {"deepseek", "deepseek"},
    {"perplexity", "perplexity"},
    {"xai", "x_ai"},
    {"x.ai", "x_ai"},
    {"x_ai", "x_ai"},
    {"x-ai", "x_ai"},
    {"ibm", "ibm.watsonx.ai"},
    {"watsonx", "ibm.watsonx.ai"},
    {"watsonx.ai", "ibm.watsonx.ai"},
    {"ibm.watsonx.ai", "ibm.watsonx.ai"},
};

int sonde_llm_provider_normalize(const char *name, char *out, size_t cap)
{
    if (!name || !*name || !out)
        return SONDE_EINVAL;
    size_t len = strlen(name);
    if (len > LLM_PROVIDER_MAX)
        return SONDE_EINVAL;
    if (!sonde_valid_utf8(name, len))
        return SONDE_EUTF8;
    char low[LLM_PROVIDER_MAX + 1];
    for (size_t i = 0; i <= len; i++) {
        char c = name[i];
        low[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    const char *result = low;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(low, aliases[i].alias) == 0) {
            result = aliases[i].name;
            break;
        }
    size_t n = strlen(result);
    if (n + 1 > cap)
        return SONDE_ETRUNC;
    memcpy(out, result, n + 1);
    return SONDE_OK;
}
