/*
 * json_out.c - JSON answers of the console API, written into the core's
 * growable buffer with the log lines' string escaping (every label value,
 * span attribute and log field is hostile input: control characters are
 * escaped, invalid UTF-8 replaced; "<", ">" and "&" are harmless inside a
 * JSON string served as application/json with nosniff) and the library's
 * locale-free number formatting. JSON has no NaN or infinities: they are
 * written as null.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_internal.h"

static void put(console_json *j, const char *s, size_t n)
{
    if (sonde_internal_buf_reserve(j, n + 1))
        return;
    memcpy(j->p + j->len, s, n);
    j->len += n;
    j->p[j->len] = '\0';
}

void cj_raw(console_json *j, const char *s) { put(j, s, strlen(s)); }

void cj_str(console_json *j, const char *s)
{
    if (!s)
        cj_raw(j, "null");
    else
        sonde_internal_json_string(j, s);
}

void cj_num(console_json *j, double v)
{
    if (!isfinite(v)) {
        cj_raw(j, "null");
        return;
    }
    char num[40];
    put(j, num, sonde_format_double(v, num));
}

void cj_u64(console_json *j, uint64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%llu", (unsigned long long)v); /* %llu: no locale */
    put(j, num, (size_t)n);
}

void cj_i64(console_json *j, int64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%lld", (long long)v); /* %lld: no locale */
    put(j, num, (size_t)n);
}

void cj_bool(console_json *j, int v) { cj_raw(j, v ? "true" : "false"); }

void cj_key(console_json *j, const char *key)
{
    if (j->len && j->p[j->len - 1] != '{' && j->p[j->len - 1] != '[')
        put(j, ",", 1);
    sonde_internal_json_string(j, key);
    put(j, ":", 1);
}

void console_header(sonde_server_response *resp, const char *name, const char *value)
{
    if (resp->header_count < SONDE_SERVER_MAX_HEADERS) {
        resp->headers[resp->header_count].name = name;
        resp->headers[resp->header_count].value = value;
        resp->header_count++;
    }
}

int console_respond_json(sonde_server_response *resp, int status, console_json *j)
{
    put(j, "\n", 1);
    if (j->failed) {
        free(j->p);
        *j = (console_json){0};
        return SONDE_ENOMEM;
    }
    resp->status = status;
    resp->body = j->p;
    resp->body_len = j->len;
    *j = (console_json){0};
    console_header(resp, "Content-Type", "application/json");
    console_header(resp, "Cache-Control", "no-store");
    console_header(resp, "X-Content-Type-Options", "nosniff");
    return SONDE_OK;
}

int console_respond_error(sonde_server_response *resp, int status, const char *msg)
{
    console_json j = {0};
    cj_raw(&j, "{\"error\":{\"message\":");
    cj_str(&j, msg);
    cj_raw(&j, "}}");
    return console_respond_json(resp, status, &j);
}
