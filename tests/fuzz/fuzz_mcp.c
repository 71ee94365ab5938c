/*
 * fuzz_mcp.c - libFuzzer target for the gateway's MCP answer parser
 * (gw_mcp_parse_answer, gateway/mcp_client.c) and the tool-result text
 * extraction (gw_mcp_result_text).
 *
 * The input is an MCP server's answer body. The first byte picks the
 * Content-Type (bit 0: an event stream, else JSON) and the JSON-RPC id looked
 * for (the next bits). Checks: a success gives an object result and no error
 * text, a failure gives no result and an error text that ends inside its
 * buffer; the text of a result never passes the bound asked for. Seeds:
 * tests/fuzz/corpus/mcp/.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mcp_client.h"

#define TEXT_MAX 300

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *ctype = data[0] & 1 ? "text/event-stream" : "application/json; charset=utf-8";
    long id = (long)(data[0] >> 1) % 8;
    char err[256];
    memset(err, 'x', sizeof err);
    json_t *res = (json_t *)1;
    int rc = gw_mcp_parse_answer(ctype, (const char *)data + 1, size - 1, id, &res, err, sizeof err);
    if (memchr(err, 0, sizeof err) == NULL) abort();
    if (rc == 0) {
        if (!json_is_object(res)) abort();
        char *t = gw_mcp_result_text(res, TEXT_MAX);
        if (t && strlen(t) >= TEXT_MAX) abort();
        free(t);
        json_decref(res);
    } else if (rc != -1 || res != NULL || err[0] == 0) {
        abort();
    }
    return 0;
}
