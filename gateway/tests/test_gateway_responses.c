/*
 * test_gateway_responses.c - the Responses API's pure parts without a network:
 * the request parser (normalised items, defaults, every refusal naming its
 * field), the translation of conversation items into a chat request, the
 * accumulator turning chat chunks into output items and numbered typed events,
 * and the SQLite response store (:memory:): put, get, replace, delete, the
 * count and age retention limits, and holds (a get waits for a held id). Runs under ASan with the unit tests.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "response_store.h"
#include "responses.h"

static json_t *J(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    if (!j) fprintf(stderr, "bad test JSON: %s\n", text);
    return j;
}

/* The param a body is refused with ("" when accepted). */
static const char *refused(const char *text, gw_invalid *inv)
{
    json_t *b = J(text);
    gw_resp_request q;
    int rc = gw_resp_parse(b, &q, inv);
    if (rc == 0) {
        inv->param[0] = 0;
        gw_resp_request_clear(&q);
    }
    json_decref(b);
    return inv->param;
}

TEST(parse_string_input)
{
    json_t *b = J("{\"model\":\"m\",\"input\":\"hi\",\"instructions\":\"sys\",\"max_output_tokens\":7}");
    gw_resp_request q;
    gw_invalid inv;
    CHECK_EQ_INT(gw_resp_parse(b, &q, &inv), 0);
    CHECK_EQ_STR(q.model, "m");
    CHECK_EQ_STR(q.instructions, "sys");
    CHECK_EQ_INT(q.max_output_tokens, 7);
    CHECK_EQ_INT(q.store, 1); /* the API's default */
    CHECK_EQ_INT(q.stream, 0);
    json_t *it = json_array_get(q.input, 0);
    CHECK_EQ_INT(json_array_size(q.input), 1);
    CHECK_EQ_STR(json_string_value(json_object_get(it, "role")), "user");
    CHECK(strncmp(json_string_value(json_object_get(it, "id")), "msg_", 4) == 0);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(json_object_get(it, "content"), 0),
                                                   "text")), "hi");
    json_t *obj = gw_resp_object(b, &q, "resp_1", 5);
    CHECK_EQ_STR(json_string_value(json_object_get(obj, "status")), "in_progress");
    CHECK_EQ_INT(json_integer_value(json_object_get(obj, "max_output_tokens")), 7);
    CHECK(json_is_null(json_object_get(obj, "completed_at")));
    CHECK(json_is_true(json_object_get(obj, "store")));
    json_decref(obj);
    gw_resp_request_clear(&q);
    json_decref(b);
}

TEST(parse_refusals_name_the_field)
{
    gw_invalid inv;
    CHECK_EQ_STR(refused("{\"input\":\"x\"}", &inv), "model");
    CHECK_EQ_STR(refused("{\"model\":\"m\"}", &inv), "input");
    CHECK_EQ_STR(refused("{\"model\":\"m\",\"input\":[]}", &inv), "input");
    CHECK_EQ_STR(refused("{\"model\":\"m\",\"input\":[{\"role\":\"robot\",\"content\":\"x\"}]}", &inv),
                 "input[0].role");
    CHECK_EQ_STR(refused("{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":\"x\"},"
                         "{\"type\":\"function_call_output\",\"output\":\"x\"}]}", &inv),
                 "input[1].call_id");
    CHECK_EQ_STR(refused("{\"model\":\"m\",\"input\":[{\"type\":\"function_call\",\"call_id\":\"c\","
                         "\"name\":\"f\",\"arguments\":{}}]}", &inv), "input[0].arguments");
    CHECK_EQ_STR(refused("{\"model\":\"m\",\"input\":[{\"type\":\"reasoning\"}]}", &inv),
                 "input[0].type");
    CHECK_EQ_STR(refused("{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":[{\"type\":"
                         "\"input_file\"}]}]}", &inv), "input[0].content[0].type");
    CHECK_EQ_STR(refused("{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":[]}]}", &inv),
                 "input[0].content");
    CHECK_EQ_STR(refused("{\"model\":\"m\",\"input\":\"x\",\"tools\":[{\"type\":\"file_search\"}]}",
                         &inv), "tools[0].type");
    CHECK_EQ_STR(refused("{\"model\":\"m\",\"input\":\"x\",\"tools\":[{\"type\":\"function\"}]}", &inv),
                 "tools[0].name");
    CHECK_EQ_STR(refused("{\"model\":\"m\",\"input\":\"x\",\"tool_choice\":\"maybe\"}", &inv),
                 "tool_choice");
    CHECK_EQ_STR(refused("{\"model\":\"m\",\"input\":\"x\",\"temperature\":3}", &inv), "temperature");
    CHECK_EQ_STR(refused("{\"model\":\"m\",\"input\":\"x\",\"max_output_tokens\":1.5}", &inv),
                 "max_output_tokens");
    CHECK_EQ_STR(refused("{\"model\":\"m\",\"input\":\"x\",\"store\":\"yes\"}", &inv), "store");
    CHECK_EQ_STR(refused("{\"model\":\"m\",\"input\":\"x\",\"metadata\":{\"k\":1}}", &inv), "metadata");
    CHECK_EQ_STR(refused("{\"model\":\"m\",\"input\":\"x\",\"background\":true}", &inv), "background");
    /* a long array: the param of the last item, the longest */
    static char big[16384] = "{\"model\":\"m\",\"input\":[";
    for (int i = 0; i < 300; i++) strcat(big, "{\"role\":\"user\",\"content\":\"x\"},");
    strcat(big, "{\"role\":\"bot\",\"content\":\"x\"}]}");
    CHECK_EQ_STR(refused(big, &inv), "input[300].role");
    CHECK_EQ_STR(refused("{\"model\":\"m\",\"input\":[\"x\"]}", &inv), "input[0]");
    CHECK_EQ_STR(refused("{\"model\":\"m\",\"input\":\"x\",\"tools\":[{\"type\":\"function\","
                         "\"name\":\"f\",\"parameters\":{}}]}", &inv), "");
}

TEST(items_to_chat)
{
    json_t *b = J("{\"model\":\"m\",\"instructions\":\"be brief\",\"temperature\":0.5,"
                  "\"max_output_tokens\":9,\"parallel_tool_calls\":false,"
                  "\"tools\":[{\"type\":\"function\",\"name\":\"f\",\"parameters\":{\"type\":\"object\"}}],"
                  "\"tool_choice\":{\"type\":\"function\",\"name\":\"f\"},"
                  "\"input\":[{\"role\":\"developer\",\"content\":\"dev\"},"
                  "{\"role\":\"user\",\"content\":[{\"type\":\"input_text\",\"text\":\"a\"},"
                  "{\"type\":\"input_text\",\"text\":\"b\"}]},"
                  "{\"type\":\"message\",\"role\":\"assistant\",\"content\":\"let me see\"},"
                  "{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"f\",\"arguments\":\"{}\"},"
                  "{\"type\":\"function_call\",\"call_id\":\"c2\",\"name\":\"f\",\"arguments\":\"[]\"},"
                  "{\"type\":\"function_call_output\",\"call_id\":\"c1\",\"output\":\"1\"},"
                  "{\"role\":\"user\",\"content\":[{\"type\":\"input_image\",\"image_url\":\"data:x\"}]}]}");
    gw_resp_request q;
    gw_invalid inv;
    CHECK_EQ_INT(gw_resp_parse(b, &q, &inv), 0);
    json_t *chat = gw_resp_chat_request(b, &q, q.input);
    char *s = json_dumps(chat, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK_CONTAINS(s, "\"messages\":[{\"content\":\"be brief\",\"role\":\"system\"},"
                      "{\"content\":\"dev\",\"role\":\"system\"},{\"content\":\"ab\",\"role\":\"user\"},"
                      "{\"content\":\"let me see\",\"role\":\"assistant\",\"tool_calls\":["
                      "{\"function\":{\"arguments\":\"{}\",\"name\":\"f\"},\"id\":\"c1\",\"type\":\"function\"},"
                      "{\"function\":{\"arguments\":\"[]\",\"name\":\"f\"},\"id\":\"c2\",\"type\":\"function\"}]},"
                      "{\"content\":\"1\",\"role\":\"tool\",\"tool_call_id\":\"c1\"},"
                      "{\"content\":[{\"image_url\":{\"detail\":\"auto\",\"url\":\"data:x\"},\"type\":\"image_url\"}],"
                      "\"role\":\"user\"}]");
    CHECK_CONTAINS(s, "\"max_tokens\":9");
    CHECK_CONTAINS(s, "\"parallel_tool_calls\":false");
    CHECK_CONTAINS(s, "\"stream\":false"); /* a whole response: a whole chat answer */
    CHECK(strstr(s, "stream_options") == NULL);
    CHECK_CONTAINS(s, "\"temperature\":0.5");
    CHECK_CONTAINS(s, "\"tool_choice\":{\"function\":{\"name\":\"f\"},\"type\":\"function\"}");
    CHECK_CONTAINS(s, "\"tools\":[{\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\"}},"
                      "\"type\":\"function\"}]");
    free(s);
    json_decref(chat);
    q.stream = 1; /* a streamed response streams the chat call, with usage */
    chat = gw_resp_chat_request(b, &q, q.input);
    s = json_dumps(chat, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK_CONTAINS(s, "\"stream\":true,\"stream_options\":{\"include_usage\":true}");
    free(s);
    json_decref(chat);
    gw_resp_request_clear(&q);
    json_decref(b);
}

/* The gateway's own mcp_call items (a stored run continued) become the loop's call and the
 * tool's answer; mcp_list_tools items become nothing. */
TEST(mcp_items_to_chat)
{
    json_t *b = J("{\"model\":\"m\",\"input\":\"x\"}");
    gw_resp_request q;
    gw_invalid inv;
    CHECK_EQ_INT(gw_resp_parse(b, &q, &inv), 0);
    json_t *items = J("[{\"type\":\"mcp_list_tools\",\"id\":\"mcpl_1\",\"server_label\":\"s\",\"tools\":[]},"
                      "{\"type\":\"mcp_call\",\"id\":\"mcp_1\",\"server_label\":\"s\",\"name\":\"add\","
                      "\"arguments\":\"{\\\"a\\\":1}\",\"output\":\"sum=1\"},"
                      "{\"type\":\"mcp_call\",\"id\":\"mcp_2\",\"server_label\":\"s\",\"name\":\"get\","
                      "\"arguments\":\"{}\",\"output\":null,\"error\":\"no such key\"},"
                      "{\"type\":\"message\",\"role\":\"user\",\"content\":"
                      "[{\"type\":\"input_text\",\"text\":\"next\"}]}]");
    json_t *chat = gw_resp_chat_request(b, &q, items);
    char *s = json_dumps(json_object_get(chat, "messages"), JSON_COMPACT | JSON_SORT_KEYS);
    CHECK_EQ_STR(s, "[{\"content\":null,\"role\":\"assistant\",\"tool_calls\":[{\"function\":"
                    "{\"arguments\":\"{\\\"a\\\":1}\",\"name\":\"add\"},\"id\":\"mcp_1\",\"type\":\"function\"}]},"
                    "{\"content\":\"sum=1\",\"role\":\"tool\",\"tool_call_id\":\"mcp_1\"},"
                    "{\"content\":null,\"role\":\"assistant\",\"tool_calls\":[{\"function\":"
                    "{\"arguments\":\"{}\",\"name\":\"get\"},\"id\":\"mcp_2\",\"type\":\"function\"}]},"
                    "{\"content\":\"error: no such key\",\"role\":\"tool\",\"tool_call_id\":\"mcp_2\"},"
                    "{\"content\":\"next\",\"role\":\"user\"}]");
    free(s);
    json_decref(chat);
    json_decref(items);
    gw_resp_request_clear(&q);
    json_decref(b);
}

typedef struct events {
    char types[64][48];
    long seq[64];
    int n;
} events;

static int record(void *ud, json_t *ev)
{
    events *e = ud;
    if (e->n < 64) {
        snprintf(e->types[e->n], sizeof e->types[0], "%s",
                 json_string_value(json_object_get(ev, "type")));
        e->seq[e->n++] = (long)json_integer_value(json_object_get(ev, "sequence_number"));
    }
    return 0;
}

static int feed(gw_resp_acc *a, const char *chunk)
{
    json_t *j = J(chunk);
    const char *why = NULL;
    int rc = gw_resp_acc_chunk(a, j, &why);
    json_decref(j);
    return rc;
}

TEST(chunks_to_items_and_events)
{
    events e = {0};
    gw_resp_acc a;
    gw_resp_acc_init(&a, record, &e);
    CHECK_EQ_INT(feed(&a, "{\"model\":\"up\",\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}"), 0);
    CHECK_EQ_INT(feed(&a, "{\"choices\":[{\"delta\":{\"content\":\"hel\"}}]}"), 0);
    CHECK_EQ_INT(feed(&a, "{\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}"), 0);
    CHECK_EQ_INT(feed(&a, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\","
                          "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\"}}]}}]}"), 0);
    CHECK_EQ_INT(feed(&a, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,"
                          "\"function\":{\"arguments\":\"\\\":1}\"}}]}}]}"), 0);
    CHECK_EQ_INT(feed(&a, "{\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}"), 0);
    CHECK_EQ_INT(feed(&a, "{\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":5}}"), 0);
    CHECK_EQ_INT(gw_resp_acc_finish(&a), 0);
    const char *want[] = {"response.output_item.added", "response.content_part.added",
        "response.output_text.delta", "response.output_text.delta", "response.output_text.done",
        "response.content_part.done", "response.output_item.done", "response.output_item.added",
        "response.function_call_arguments.delta", "response.function_call_arguments.delta",
        "response.function_call_arguments.done", "response.output_item.done"};
    CHECK_EQ_INT(e.n, 12);
    for (int i = 0; i < 12 && i < e.n; i++) {
        CHECK_EQ_STR(e.types[i], want[i]);
        CHECK_EQ_INT(e.seq[i], i);
    }
    json_t *resp = json_object();
    gw_resp_acc_result(&a, resp, 9);
    char *s = json_dumps(resp, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK_CONTAINS(s, "\"status\":\"completed\"");
    CHECK_CONTAINS(s, "\"completed_at\":9");
    CHECK_CONTAINS(s, "\"text\":\"hello\"");
    CHECK_CONTAINS(s, "\"arguments\":\"{\\\"a\\\":1}\",\"call_id\":\"call_1\"");
    CHECK_CONTAINS(s, "\"input_tokens\":4");
    CHECK_CONTAINS(s, "\"total_tokens\":9");
    CHECK_EQ_INT(json_array_size(json_object_get(resp, "output")), 2);
    free(s);
    json_decref(resp);
    gw_resp_acc_free(&a);
}

TEST(chunks_length_and_bad_index)
{
    gw_resp_acc a;
    gw_resp_acc_init(&a, NULL, NULL); /* a whole answer: items only */
    CHECK_EQ_INT(feed(&a, "{\"choices\":[{\"delta\":{\"content\":\"x\"},\"finish_reason\":\"length\"}]}"), 0);
    CHECK_EQ_INT(a.seq, 0);
    gw_resp_acc_finish(&a);
    json_t *resp = json_object();
    gw_resp_acc_result(&a, resp, 9);
    CHECK_EQ_STR(json_string_value(json_object_get(resp, "status")), "incomplete");
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(resp, "incomplete_details"),
                                                   "reason")), "max_output_tokens");
    CHECK(json_is_null(json_object_get(resp, "completed_at")));
    json_decref(resp);
    /* a tool_calls index that skips ahead is refused */
    CHECK_EQ_INT(feed(&a, "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":3,\"id\":\"c\","
                          "\"function\":{\"name\":\"f\"}}]}}]}"), -1);
    CHECK_EQ_INT(feed(&a, "[1]"), -1);
    gw_resp_acc_free(&a);
}

typedef struct getter {
    gw_response_store *s;
    int rc;
} getter;

static void *get_held(void *ud)
{
    getter *g = ud;
    gw_stored_response got;
    g->rc = gw_response_store_get(g->s, "held", &got);
    if (g->rc == 1) gw_stored_response_clear(&got);
    return NULL;
}

TEST(store_hold)
{
    char err[128];
    gw_response_store *s = gw_response_store_open(":memory:", 10, 0, err, sizeof err);
    CHECK(s != NULL);
    if (!s) return;
    const char *r = "{\"id\":\"held\"}"; /* a response is stored as the text answered */
    json_t *in = J("[]"), *ctx = J("[]");
    /* a get of a held id waits for the put and the release, so it finds the response */
    gw_response_hold h;
    gw_response_store_hold(s, &h, "held");
    getter g = {s, -2};
    pthread_t t;
    CHECK_EQ_INT(pthread_create(&t, NULL, get_held, &g), 0);
    usleep(20000); /* let the getter reach the store first (the check holds either way) */
    CHECK_EQ_INT(gw_response_store_put(s, "held", (int64_t)time(NULL), r, in, ctx), 0);
    gw_response_store_release(s, &h);
    pthread_join(t, NULL);
    CHECK_EQ_INT(g.rc, 1);
    /* other ids never wait: a hold of one does not block a get of another */
    gw_response_store_hold(s, &h, "other");
    gw_stored_response got;
    CHECK_EQ_INT(gw_response_store_get(s, "held", &got), 1);
    gw_stored_response_clear(&got);
    gw_response_store_release(s, &h);
    gw_response_store_close(s);
    json_decref(in);
    json_decref(ctx);
}

TEST(store_memory)
{
    char err[128];
    gw_response_store *s = gw_response_store_open(":memory:", 2, 0, err, sizeof err);
    CHECK(s != NULL);
    if (!s) return;
    const char *r = "{\"id\":\"a\",\"status\":\"completed\"}"; /* the text answered */
    json_t *resp = J(r), *in = J("[{\"type\":\"message\"}]");
    json_t *ctx = J("[1,2,3]");
    CHECK_EQ_INT(gw_response_store_put(s, "a", 100, r, in, ctx), 0);
    gw_stored_response got;
    CHECK_EQ_INT(gw_response_store_get(s, "a", &got), 1);
    CHECK(json_equal(got.response, resp) && json_equal(got.input_items, in) &&
          json_equal(got.context, ctx));
    gw_stored_response_clear(&got);
    /* no text (the dump failed): nothing is stored */
    CHECK_EQ_INT(gw_response_store_put(s, "none", 100, NULL, in, ctx), -1);
    CHECK_EQ_INT(gw_response_store_get(s, "none", &got), 0);
    gw_stored_response_clear(&got);
    CHECK_EQ_INT(gw_response_store_get(s, "nope", &got), 0);
    /* the count limit drops the oldest */
    CHECK_EQ_INT(gw_response_store_put(s, "b", 101, r, in, ctx), 0);
    CHECK_EQ_INT(gw_response_store_put(s, "c", 102, r, in, ctx), 0);
    CHECK_EQ_INT(gw_response_store_get(s, "a", &got), 0);
    CHECK_EQ_INT(gw_response_store_get(s, "b", &got), 1);
    gw_stored_response_clear(&got);
    /* replacing a response keeps one row: nothing older is dropped for it */
    CHECK_EQ_INT(gw_response_store_put(s, "c", 103, r, in, ctx), 0);
    CHECK_EQ_INT(gw_response_store_get(s, "b", &got), 1);
    gw_stored_response_clear(&got);
    CHECK_EQ_INT(gw_response_store_delete(s, "b"), 1);
    CHECK_EQ_INT(gw_response_store_delete(s, "b"), 0);
    CHECK_EQ_INT(gw_response_store_get(s, "b", &got), 0);
    /* a deleted row frees its place: one more fits beside c */
    CHECK_EQ_INT(gw_response_store_put(s, "d", 104, r, in, ctx), 0);
    CHECK_EQ_INT(gw_response_store_get(s, "c", &got), 1);
    gw_stored_response_clear(&got);
    gw_response_store_close(s);
    /* a file store counts the rows it finds at open */
    char path[64];
    snprintf(path, sizeof path, "/tmp/sonde-store-test-%ld.db", (long)getpid());
    remove(path);
    s = gw_response_store_open(path, 2, 0, err, sizeof err);
    CHECK(s != NULL);
    if (s) {
        CHECK_EQ_INT(gw_response_store_put(s, "x", 100, r, in, ctx), 0);
        CHECK_EQ_INT(gw_response_store_put(s, "y", 101, r, in, ctx), 0);
        gw_response_store_close(s);
    }
    s = gw_response_store_open(path, 2, 0, err, sizeof err);
    CHECK(s != NULL);
    if (s) {
        CHECK_EQ_INT(gw_response_store_put(s, "z", 102, r, in, ctx), 0);
        CHECK_EQ_INT(gw_response_store_get(s, "x", &got), 0);
        CHECK_EQ_INT(gw_response_store_get(s, "y", &got), 1);
        gw_stored_response_clear(&got);
        gw_response_store_close(s);
    }
    remove(path);
    /* the age limit: a response created long ago is gone (get and put both honour it) */
    s = gw_response_store_open(":memory:", 0, 60, err, sizeof err);
    CHECK(s != NULL);
    if (s) {
        CHECK_EQ_INT(gw_response_store_put(s, "old", 1000, r, in, ctx), 0);
        CHECK_EQ_INT(gw_response_store_get(s, "old", &got), 0);
        CHECK_EQ_INT(gw_response_store_put(s, "new", (int64_t)time(NULL), r, in, ctx), 0);
        CHECK_EQ_INT(gw_response_store_get(s, "new", &got), 1);
        gw_stored_response_clear(&got);
        gw_response_store_close(s);
    }
    CHECK(gw_response_store_open("/nonexistent-dir/x.db", 1, 1, err, sizeof err) == NULL);
    CHECK(err[0] != 0);
    json_decref(resp);
    json_decref(in);
    json_decref(ctx);
}

int main(void)
{
    RUN(parse_string_input);
    RUN(parse_refusals_name_the_field);
    RUN(items_to_chat);
    RUN(chunks_to_items_and_events);
    RUN(chunks_length_and_bad_index);
    RUN(mcp_items_to_chat);
    RUN(store_memory);
    RUN(store_hold);
    return check_report();
}
