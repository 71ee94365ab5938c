/*
 * test_gateway_validate.c - request validation without a network: valid
 * bodies of every accepted shape pass and yield max_tokens and n; wrong types
 * and values name the right field (param, OpenAI style), also at the end of
 * long arrays where the param is longest; gw_validate_messages checks the
 * messages appended to a validated body (the agent loop's), and only those.
 * Runs under ASan with the unit tests.
 */
#include <string.h>

#include "check.h"
#include "gateway.h"

/* 0 when valid; else -1 and the param in inv. */
static int run(const char *text, gw_op op, gw_fields *f, gw_invalid *inv)
{
    json_error_t je;
    json_t *b = json_loads(text, 0, &je);
    if (!b) return -2;
    int rc = gw_validate(b, op, f, inv);
    json_decref(b);
    return rc;
}

static int param_is(const char *text, gw_op op, const char *param)
{
    gw_fields f;
    gw_invalid inv;
    if (run(text, op, &f, &inv) != -1) return 0;
    if (strcmp(inv.param, param) != 0 || inv.msg[0] == '\0') {
        fprintf(stderr, "%s: param %s (%s), want %s\n", text, inv.param, inv.msg, param);
        return 0;
    }
    return 1;
}

TEST(valid_bodies)
{
    gw_fields f;
    gw_invalid inv;
    CHECK_EQ_INT(run("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                     GW_OP_CHAT, &f, &inv), 0);
    CHECK_EQ_INT(f.max_tokens, 0);
    CHECK_EQ_INT(f.n, 1);
    CHECK_EQ_INT(run("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":null,"
                     "\"tool_calls\":[]},{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}],"
                     "\"n\":128,\"max_completion_tokens\":7,\"temperature\":2,\"top_p\":0,"
                     "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],"
                     "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"f\"}}}",
                     GW_OP_CHAT, &f, &inv), 0);
    CHECK_EQ_INT(f.max_tokens, 7);
    CHECK_EQ_INT(f.n, 128);
    CHECK_EQ_INT(run("{\"model\":\"m\",\"prompt\":[[1,2],[3]],\"max_tokens\":2}", GW_OP_COMPLETION,
                     &f, &inv), 0);
    CHECK_EQ_INT(f.max_tokens, 2);
    CHECK_EQ_INT(run("{\"model\":\"m\",\"input\":[\"a\",\"b\"],\"encoding_format\":\"base64\"}",
                     GW_OP_EMBEDDINGS, &f, &inv), 0);
}

TEST(wrong_fields_named)
{
    CHECK(param_is("{\"messages\":[]}", GW_OP_CHAT, "model"));
    CHECK(param_is("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":{}}]}", GW_OP_CHAT,
                   "messages.[0].content"));
    CHECK(param_is("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"t\"},{}]}]}",
                   GW_OP_CHAT, "messages.[0].content.[1].type"));
    CHECK(param_is("{\"model\":\"m\",\"messages\":[{\"role\":\"bot\",\"content\":\"x\"}]}", GW_OP_CHAT,
                   "messages.[0].role"));
    CHECK(param_is("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":129}",
                   GW_OP_CHAT, "n"));
    CHECK(param_is("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                   "\"stream_options\":{\"include_usage\":1}}", GW_OP_CHAT, "stream_options.include_usage"));
    CHECK(param_is("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                   "\"stream_options\":{\"include_usage\":true}}", GW_OP_CHAT, "stream_options"));
    CHECK(param_is("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                   "\"tool_choice\":\"auto\"}", GW_OP_CHAT, "tool_choice"));
    CHECK(param_is("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                   "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":1}}]}", GW_OP_CHAT,
                   "tools.[0].function.name"));
    CHECK(param_is("{\"model\":\"m\",\"prompt\":\"x\",\"top_p\":1.01}", GW_OP_COMPLETION, "top_p"));
    CHECK(param_is("{\"model\":\"m\",\"input\":[[1],[2,-3]]}", GW_OP_EMBEDDINGS, "input.[1]"));
    CHECK(param_is("{\"model\":\"m\",\"input\":\"x\",\"max_tokens\":0}", GW_OP_EMBEDDINGS, "max_tokens"));
}

/* the longest params: an index of 20 digits cannot be sent, but a deep one can */
TEST(long_params)
{
    char body[200000];
    size_t n = (size_t)snprintf(body, sizeof body, "{\"model\":\"m\",\"messages\":[");
    for (int i = 0; i < 3000; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, "{\"role\":\"user\",\"content\":\"x\"},");
    snprintf(body + n, sizeof body - n, "{\"role\":\"user\",\"content\":[{\"type\":\"t\"},{\"type\":2}]}]}");
    CHECK(param_is(body, GW_OP_CHAT, "messages.[3000].content.[1].type"));
}

/* the agent loop's way: the whole body once, then what it appended */
TEST(appended_messages)
{
    json_t *b = json_loads("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
                           "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[]}]}", 0, NULL);
    CHECK(b != NULL);
    gw_invalid inv;
    json_t *msgs = json_object_get(b, "messages");
    CHECK_EQ_INT(gw_validate_messages(b, 2, &inv), 0); /* nothing appended yet */
    json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "tool", "content", "3"));
    CHECK_EQ_INT(gw_validate_messages(b, 2, &inv), 0);
    json_array_append_new(msgs, json_pack("{s:s, s:i}", "role", "assistant", "content", 7));
    CHECK_EQ_INT(gw_validate_messages(b, 3, &inv), -1);
    CHECK_EQ_STR(inv.param, "messages.[3].content");
    json_array_append_new(msgs, json_pack("{s:s}", "content", "no role"));
    CHECK_EQ_INT(gw_validate_messages(b, 4, &inv), -1);
    CHECK_EQ_STR(inv.param, "messages.[4].role");
    /* the ones before first are taken as checked: only from first on */
    json_array_remove(msgs, 4);
    CHECK_EQ_INT(gw_validate_messages(b, 4, &inv), 0);
    json_object_set_new(b, "messages", json_array());
    CHECK_EQ_INT(gw_validate_messages(b, 0, &inv), -1); /* still no empty conversation */
    CHECK_EQ_STR(inv.param, "messages");
    json_decref(b);
}

int main(void)
{
    RUN(valid_bodies);
    RUN(wrong_fields_named);
    RUN(long_params);
    RUN(appended_messages);
    return check_report();
}
