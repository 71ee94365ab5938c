/*
 * obs_json.c - the JSON pieces the traces and logs answers add to
 * json_out.c's: ns times as strings, span and log attribute values.
 */
#include <stdio.h>

#include "console_obs.h"

void console_json_u64_string(console_json *j, uint64_t v)
{
    char num[24];
    snprintf(num, sizeof num, "\"%llu\"", (unsigned long long)v); /* %llu: no locale */
    cj_raw(j, num);
}

void console_json_attr_value(console_json *j, const sonde_attr *a)
{
    char num[24];
    switch (a->type) {
    case SONDE_ATTR_STRING:
        cj_str(j, a->v.s ? a->v.s : "");
        break;
    case SONDE_ATTR_INT:
        snprintf(num, sizeof num, "%lld", (long long)a->v.i);
        cj_raw(j, num);
        break;
    case SONDE_ATTR_DOUBLE:
        cj_num(j, a->v.d);
        break;
    default:
        cj_bool(j, a->v.b);
        break;
    }
}
