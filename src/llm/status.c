/*
 * status.c - the names of call statuses: the value of the status label of
 * the service families, and the error_type a failed call gets when the
 * caller gives none ("_OTHER" is the conventions' fallback).
 */
#include "llm_internal.h"

const char *llm_status_name(int status)
{
    switch (status) {
    case SONDE_LLM_OK: return "ok";
    case SONDE_LLM_CANCELLED: return "cancelled";
    case SONDE_LLM_TIMEOUT: return "timeout";
    case SONDE_LLM_RATE_LIMITED: return "rate_limited";
    case SONDE_LLM_TERMINATED: return "terminated";
    default: return "error";
    }
}

const char *llm_status_error_type(int status)
{
    switch (status) {
    case SONDE_LLM_OK: return "";
    case SONDE_LLM_CANCELLED: return "cancelled";
    case SONDE_LLM_TIMEOUT: return "timeout";
    case SONDE_LLM_RATE_LIMITED: return "rate_limited";
    case SONDE_LLM_TERMINATED: return "terminated";
    default: return "_OTHER";
    }
}
