/*
 * fuzz_responses.c - libFuzzer target for the Responses API's request parser
 * and chunk translation (gateway/responses_translate.c, responses_output.c).
 *
 * The first byte picks the path. Even: the rest is a /v1/responses body: when
 * jansson takes it as an object, gw_resp_parse() must either accept it (then
 * the chat request and the Response object are built, and the chat request
 * must hold a messages array) or reject it naming a non-empty param. Odd: the
 * rest is upstream chunks, one JSON per line, fed to a streaming accumulator;
 * the events it emits must carry sequence numbers 0, 1, 2, ... in order and
 * the output must stay within its bounds. Seeds: tests/fuzz/corpus/responses/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "responses.h"

typedef struct seen {
    long next;
} seen;

static int on_event(void *ud, json_t *ev)
{
    seen *s = ud;
    json_int_t n = json_integer_value(json_object_get(ev, "sequence_number"));
    if (n != s->next++ || !json_string_value(json_object_get(ev, "type"))) abort();
    return 0;
}

static void request(const char *data, size_t len)
{
    json_t *b = json_loadb(data, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(b)) {
        json_decref(b);
        return;
    }
    gw_resp_request q;
    gw_invalid inv;
    if (gw_resp_parse(b, &q, &inv) == 0) {
        json_t *chat = gw_resp_chat_request(b, &q, q.input);
        json_t *obj = gw_resp_object(b, &q, "resp_fuzz", 1);
        if (!chat || !json_is_array(json_object_get(chat, "messages")) || !obj) abort();
        json_decref(chat);
        json_decref(obj);
        gw_resp_request_clear(&q);
    } else if (!inv.param[0] || !inv.msg[0]) {
        abort();
    }
    json_decref(b);
}

static void chunks(const char *data, size_t len)
{
    seen s = {0};
    gw_resp_acc a;
    gw_resp_acc_init(&a, on_event, &s);
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && data[i] != '\n') continue;
        json_t *j = json_loadb(data + start, i - start, 0, NULL);
        const char *why = NULL;
        int rc = j ? gw_resp_acc_chunk(&a, j, &why) : 0;
        json_decref(j);
        start = i + 1;
        if (rc != 0) {
            if (!why) abort();
            break;
        }
    }
    gw_resp_acc_finish(&a);
    json_t *resp = json_object();
    gw_resp_acc_result(&a, resp, 2);
    if (json_array_size(json_object_get(resp, "output")) > GW_RESP_MAX_CALLS + 1) abort();
    json_decref(resp);
    gw_resp_acc_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    if (data[0] & 1) chunks((const char *)data + 1, size - 1);
    else request((const char *)data + 1, size - 1);
    return 0;
}
