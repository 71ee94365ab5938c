/*
 * test_gateway_mcp.c - the MCP client's pure parts: the answers of the
 * streamable HTTP transport (JSON, JSON batches, event streams with
 * interleaved notifications, a data field split over lines, an unended last
 * event, JSON-RPC errors, garbage, answers to another id, a result that is
 * no object), the text of a tool result (text parts joined, other parts as
 * JSON, the bound), the "mcp" configuration (servers, headers, limits and
 * its mistakes), the request validation of {"type":"mcp"} tools, and the
 * copy the agent loop hands to each model call and the dump of every answer
 * (gw_json_clone, gw_json_dumps: byte for byte what jansson writes).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "gateway.h"
#include "mcp_client.h"

static int parse(const char *ctype, const char *body, long id, json_t **res, char *err)
{
    return gw_mcp_parse_answer(ctype, body, strlen(body), id, res, err, 256);
}

TEST(json_answers)
{
    json_t *res;
    char err[256];
    CHECK_EQ_INT(parse("application/json", "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"x\":1}}", 3,
                       &res, err), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(res, "x")), 1);
    json_decref(res);
    /* a batch with a notification first */
    CHECK_EQ_INT(parse("application/json; charset=utf-8",
                       "[{\"jsonrpc\":\"2.0\",\"method\":\"n\"},{\"jsonrpc\":\"2.0\",\"id\":4,"
                       "\"result\":{\"tools\":[]}}]", 4, &res, err), 0);
    CHECK(json_is_array(json_object_get(res, "tools")));
    json_decref(res);
    /* an error answer */
    CHECK_EQ_INT(parse("application/json", "{\"jsonrpc\":\"2.0\",\"id\":5,\"error\":{\"code\":-32601,"
                       "\"message\":\"Method not found\"}}", 5, &res, err), -1);
    CHECK(res == NULL);
    CHECK_CONTAINS(err, "MCP error -32601: Method not found");
    /* the answer to another request */
    CHECK_EQ_INT(parse("application/json", "{\"jsonrpc\":\"2.0\",\"id\":6,\"result\":{}}", 7, &res,
                       err), -1);
    CHECK_CONTAINS(err, "no answer to request 7");
    /* garbage, a result that is not an object, an id that is a string */
    CHECK_EQ_INT(parse("application/json", "<html>", 1, &res, err), -1);
    CHECK_CONTAINS(err, "not JSON");
    CHECK_EQ_INT(parse("application/json", "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":7}", 1, &res,
                       err), -1);
    CHECK_CONTAINS(err, "neither result nor error");
    CHECK_EQ_INT(parse(NULL, "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":{}}", 1, &res, err), -1);
    CHECK(res == NULL);
}

TEST(sse_answers)
{
    json_t *res;
    char err[256];
    const char *two = "event: message\n"
                      "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n"
                      ": a comment\r\n"
                      "id: 9\r\n"
                      "data: {\"jsonrpc\":\"2.0\",\"id\":2,\r\n"
                      "data: \"result\":{\"content\":[{\"type\":\"text\",\"text\":\"a\"}]}}\r\n\r\n";
    CHECK_EQ_INT(parse("text/event-stream", two, 2, &res, err), 0);
    CHECK(json_is_array(json_object_get(res, "content")));
    json_decref(res);
    /* the stream ends without the blank line: the event still counts */
    CHECK_EQ_INT(parse("Text/Event-Stream", "data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", 1,
                       &res, err), 0);
    json_decref(res);
    /* events of another type are not messages */
    CHECK_EQ_INT(parse("text/event-stream", "event: other\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,"
                       "\"result\":{}}\n\n", 1, &res, err), -1);
    CHECK_CONTAINS(err, "no answer");
    /* JSON garbage inside an event, then nothing */
    CHECK_EQ_INT(parse("text/event-stream", "data: {nope\n\n", 1, &res, err), -1);
    CHECK(res == NULL);
}

TEST(result_text)
{
    json_t *r = json_loads("{\"content\":[{\"type\":\"text\",\"text\":\"one\"},{\"type\":\"image\","
                           "\"data\":\"AA==\",\"mimeType\":\"image/png\"},{\"type\":\"text\","
                           "\"text\":\"two\"}]}", 0, NULL);
    char *t = gw_mcp_result_text(r, 1000);
    CHECK_EQ_STR(t, "one\n{\"type\":\"image\",\"data\":\"AA==\",\"mimeType\":\"image/png\"}\ntwo");
    free(t);
    t = gw_mcp_result_text(r, 6); /* at most 5 bytes and the NUL */
    CHECK(t && strlen(t) <= 5);
    CHECK_EQ_STR(t, "one\n{");
    free(t);
    json_decref(r);
    t = gw_mcp_result_text(NULL, 10);
    CHECK_EQ_STR(t, "");
    free(t);
}

static int load(gw_config *c, const char *text, char *err, size_t len)
{
    char path[] = "/tmp/gwmcpXXXXXX";
    gw_config_defaults(c);
    int fd = mkstemp(path);
    if (fd < 0) return -99;
    ssize_t n = write(fd, text, strlen(text));
    (void)n;
    close(fd);
    int rc = gw_config_load(c, path, err, len);
    unlink(path);
    return rc;
}

TEST(config)
{
    gw_config c;
    char err[256] = "";
    CHECK_EQ_INT(load(&c, "{\"mcp\": {\"max_iterations\": 3, \"allow_request_urls\": true, "
                          "\"servers\": [{\"name\": \"t\", \"url\": \"http://127.0.0.1:1/mcp\", "
                          "\"headers\": {\"X-A\": \"b\"}, \"allowed_tools\": [\"add\"], "
                          "\"timeout_ms\": 1500, \"connect_timeout_ms\": 100, "
                          "\"max_answer_bytes\": 4096}]}}", err, sizeof err), 0);
    CHECK_EQ_STR(err, "");
    CHECK_EQ_INT(c.mcp.max_iterations, 3);
    CHECK_EQ_INT(c.mcp.allow_request_urls, 1);
    CHECK_EQ_INT(c.mcp.nservers, 1);
    if (c.mcp.nservers == 1) {
        gw_mcp_server *s = c.mcp.servers[0];
        CHECK_EQ_STR(s->name, "t");
        CHECK_EQ_INT(s->timeout_ms, 1500);
        CHECK_EQ_INT(s->connect_timeout_ms, 100);
        CHECK_EQ_INT((long)s->max_answer, 4096);
        CHECK_EQ_STR(json_string_value(json_object_get(s->headers, "X-A")), "b");
    }
    gw_config_free(&c);
    CHECK_EQ_INT(gw_config_defaults(&c), 0);
    CHECK_EQ_INT(c.mcp.max_iterations, GW_AGENT_MAX_ITERATIONS);
    CHECK_EQ_INT(c.mcp.nservers, 0);
    gw_config_free(&c);
    static const char *const bad[][2] = {
        {"{\"mcp\": {\"servers\": [{\"name\": \"t\", \"url\": \"ftp://x\"}]}}", "http://"},
        {"{\"mcp\": {\"servers\": [{\"url\": \"http://x\"}]}}", "needs a 'name'"},
        {"{\"mcp\": {\"servers\": [{\"name\": \"t\", \"url\": \"http://x\", \"headers\": "
         "{\"A\": \"b\\r\\nEvil: 1\"}}]}}", "'headers'"},
        {"{\"mcp\": {\"servers\": [{\"name\": \"t\", \"url\": \"http://x\"}, {\"name\": \"t\", "
         "\"url\": \"http://y\"}]}}", "taken"},
        {"{\"mcp\": {\"max_iterations\": 0}}", "max_iterations"},
        {"{\"mcp\": {\"servers\": [{\"name\": \"t\", \"url\": \"http://x\", \"timeout\": 1}]}}",
         "unknown key 'timeout'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = 0;
        CHECK_EQ_INT(load(&c, bad[i][0], err, sizeof err), -1);
        CHECK_CONTAINS(err, bad[i][1]);
        gw_config_free(&c);
    }
}

TEST(validation)
{
    gw_fields f;
    gw_invalid e;
    json_t *b = json_loads("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                           "\"tools\":[{\"type\":\"mcp\",\"server_label\":\"t\",\"require_approval\":"
                           "\"never\",\"allowed_tools\":[\"add\"],\"headers\":{\"A\":\"b\"}}]}",
                           0, NULL);
    CHECK_EQ_INT(gw_validate(b, GW_OP_CHAT, &f, &e), 0);
    json_object_set_new(json_array_get(json_object_get(b, "tools"), 0), "require_approval",
                        json_string("always"));
    CHECK_EQ_INT(gw_validate(b, GW_OP_CHAT, &f, &e), -1);
    CHECK_EQ_STR(e.param, "tools.[0].require_approval");
    json_object_del(json_array_get(json_object_get(b, "tools"), 0), "require_approval");
    json_object_del(json_array_get(json_object_get(b, "tools"), 0), "server_label");
    CHECK_EQ_INT(gw_validate(b, GW_OP_CHAT, &f, &e), -1);
    CHECK_EQ_STR(e.param, "tools.[0].server_label");
    json_decref(b);
}

/* A copy equal to the original, in the same key order, with values of its own. */
TEST(json_clone)
{
    const char *text = "{\"model\":\"m\",\"n\":3,\"t\":0.5,\"ok\":true,\"no\":false,\"z\":null,"
                       "\"s\":\"a\\u0000b\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
                       "\"text\",\"text\":\"hi\"}]}],\"tools\":[],\"o\":{}}";
    json_t *v = json_loads(text, JSON_ALLOW_NUL, NULL);
    CHECK(v != NULL);
    json_t *c = gw_json_clone(v);
    CHECK(c != NULL && c != v);
    CHECK(json_equal(v, c));
    char *a = json_dumps(v, JSON_COMPACT), *b = json_dumps(c, JSON_COMPACT);
    CHECK_EQ_STR(a, b); /* the key order too */
    CHECK_EQ_INT((long)json_string_length(json_object_get(c, "s")), 3); /* the NUL kept */
    json_t *m = json_object_get(c, "messages"), *vm = json_object_get(v, "messages");
    CHECK(m != vm && json_array_get(m, 0) != json_array_get(vm, 0));
    json_array_append_new(m, json_string("more")); /* the copy changes alone */
    json_object_set_new(json_array_get(m, 0), "role", json_string("assistant"));
    CHECK_EQ_INT((long)json_array_size(vm), 1);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(vm, 0), "role")), "user");
    CHECK(!json_equal(v, c));
    CHECK(gw_json_clone(NULL) == NULL);
    free(a);
    free(b);
    json_decref(c);
    json_decref(v);
}

/* gw_json_dumps writes what json_dumps(v, JSON_COMPACT) writes. */
static void same_dump(json_t *v)
{
    char *want = json_dumps(v, JSON_COMPACT), *got = gw_json_dumps(v);
    CHECK(want != NULL && got != NULL);
    if (want && got) CHECK_EQ_STR(got, want);
    free(want);
    free(got);
    json_decref(v);
}

TEST(compact_dump)
{
    same_dump(json_loads("{\"id\":\"resp_1\",\"object\":\"response\",\"created_at\":1796091357,"
                         "\"n\":-9223372036854775808,\"m\":9223372036854775807,\"zero\":0,\"t\":1.0,"
                         "\"p\":0.7,\"big\":1e300,\"small\":-2.5e-7,\"ok\":true,\"no\":false,\"z\":null,"
                         "\"output\":[{\"type\":\"message\",\"content\":[{\"text\":\"h\\u00e9llo \\u2603 "
                         "\\ud83d\\ude00 / <tag> & \\\\ \\\"q\\\"\"}],\"annotations\":[]}],\"metadata\":{},"
                         "\"nested\":[[],[{}],[[1,2],{\"a\":[null]}]]}", 0, NULL));
    /* every control character, DEL and a NUL in a string and in a key's neighbour */
    char ctl[40];
    for (int i = 0; i < 32; i++) ctl[i] = (char)(i + 1 == 32 ? 0x7f : i + 1);
    json_t *o = json_object();
    json_object_set_new(o, "ctl", json_stringn(ctl, 32));
    json_object_set_new(o, "nul", json_stringn("a\0b", 3));
    json_object_set_new(o, "key \"with\" \\ and \n", json_string("v"));
    same_dump(o);
    same_dump(json_array());
    same_dump(json_object());
    json_t *s = json_string("x");
    CHECK(gw_json_dumps(s) == NULL); /* not a container: as json_dumps() without ENCODE_ANY */
    json_decref(s);
}

int main(void)
{
    RUN(json_answers);
    RUN(sse_answers);
    RUN(result_text);
    RUN(config);
    RUN(validation);
    RUN(json_clone);
    RUN(compact_dump);
    return check_report();
}
