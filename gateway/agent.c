/*
 * agent.c - the agentic tool loop of agent.h.
 *
 * A run owns a copy of the conversation (the chat request's messages) and a
 * table of the MCP tools it offers (function name -> server, tool). Each
 * iteration makes one model call: a gw_call as openai_api.c builds it,
 * answered through a tapped request (gw_req_tap) whose reply lands in a
 * waiter the run sleeps on; a call that ends without a reply settles it with
 * a 502 when its request is released, and upstream timeouts bound the wait. Its answer decides:
 * no tool calls, or a call of a function the client defined (the client runs
 * those), ends the run with that answer; MCP calls are executed, up to
 * GW_AGENT_PARALLEL_MAX at once on threads of their own, each bounded by its
 * server's timeouts; their results (the content's text, or "error: ..." for a
 * tool error, an unreachable server or garbage) are appended as tool
 * messages, and the loop goes on. The sums of the model calls' tokens replace
 * the last answer's usage. A client that hangs up ends the run at the next
 * step (its model calls in flight end as cancelled by themselves).
 *
 * With a tracer, the run's invoke_agent span is a child of the client
 * request's SERVER span, and its model calls (through their tapped request,
 * gw_req_set_trace) and execute_tool spans are children of the run's.
 *
 * A run goes to the idle worker that went idle last (agent_worker, under
 * agents_mu), else waits in the gateway's queue for a worker started for it:
 * a thread that takes runs one after another (runs are bounded by
 * GW_AGENT_MAX_RUNS, so workers are too), kept while fewer than
 * GW_AGENT_IDLE_WORKERS others are idle, so a run costs no thread start and
 * its MCP requests reuse the worker's libcurl handle. gw_free() waits for
 * the last run, then for the workers to exit, before the workers they use go
 * away; tool calls in flight are aborted (libcurl's progress callback) once
 * the client is gone or the gateway stops (agents_stop), so neither waits
 * for a server's timeout.
 */
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "mcp_client.h"

typedef struct offered {
    char *fn;                /* the function name the model sees */
    gw_mcp_server *server;
    const char *tool;        /* the server's name for it (in server->tools) */
} offered;

typedef struct gw_agent_run {
    struct gw_agent_run *next; /* in the gateway's queue */
    gateway *gw;
    CURL *curl;              /* its worker's handle for MCP requests */
    gw_req *req;
    const gw_key *key;
    json_t *body;            /* the chat request sent upstream (messages grow) */
    gw_mcp_server **servers; /* the MCP servers of this run */
    int *owned;              /* 1: made from a request URL, freed with the run */
    size_t nservers;
    offered *tools;
    size_t ntools;
    long max_tool_calls;
    gw_agent_done_fn done;
    void *done_arg;
    sonde_span_context span;  /* the run's invoke_agent span (invalid without tracing) */
} run;

static void run_main(run *r);

/* One model call's answer, shared by the run (waiting) and the tapped request the call
 * answers (gw_req_tap): freed by the last of the two. */
typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_int refs;
    int answered;
    unsigned status;
    char *body;              /* the answer as text (from another thread) */
    json_t *value;           /* or as a value (made on the run's thread, gw_reply_value) */
} waiter;

/* ---- the workers ----------------------------------------------------------- */

/* An idle worker: it sleeps on its own semaphore until submit() hands it a run (or
 * gw_agents_drain() none: it exits). Idle workers form a stack, so a run goes to the
 * worker that went idle last: its stack, heap arena and libcurl handle are the warmest,
 * and one client's runs one after another keep to one thread. */
typedef struct gw_agent_worker {
    struct gw_agent_worker *next; /* the next idle one (gw->agents_idle_top) */
    sem_t wake;
    run *given;                   /* handed over before wake is posted; NULL: exit */
} agent_worker;

int gw_agents_init(gateway *gw)
{
    pthread_mutex_init(&gw->agents_mu, NULL);
    pthread_cond_init(&gw->agents_cv, NULL);
    gw->agents_idle_top = NULL;
    atomic_init(&gw->agents_stop, 0);
    return 0;
}

void gw_agents_drain(gateway *gw)
{
    atomic_store(&gw->agents_stop, 1);
    pthread_mutex_lock(&gw->agents_mu);
    while (gw->agents_running > 0) pthread_cond_wait(&gw->agents_cv, &gw->agents_mu);
    gw->agents_quit = 1;
    for (agent_worker *w = gw->agents_idle_top, *next; w; w = next) {
        next = w->next; /* w may be gone once posted */
        w->given = NULL;
        sem_post(&w->wake);
    }
    gw->agents_idle_top = NULL;
    gw->agents_idle = 0;
    while (gw->agents_workers > 0) pthread_cond_wait(&gw->agents_cv, &gw->agents_mu);
    pthread_mutex_unlock(&gw->agents_mu);
    pthread_cond_destroy(&gw->agents_cv);
    pthread_mutex_destroy(&gw->agents_mu);
}

/* The next run of worker self (called with agents_mu held): a queued one, else, once
 * idle, the one submit() hands it; with a run agents_mu is released, without one (the
 * worker exits: the gateway stops, or GW_AGENT_IDLE_WORKERS others wait already) it
 * is held. */
static run *next_run(gateway *gw, agent_worker *self)
{
    run *r = gw->agents_head;
    if (r) {
        gw->agents_head = r->next;
        if (!gw->agents_head) gw->agents_tail = NULL;
        gw->agents_queued--;
        pthread_mutex_unlock(&gw->agents_mu);
        return r;
    }
    if (gw->agents_quit || gw->agents_idle >= GW_AGENT_IDLE_WORKERS) return NULL;
    self->next = gw->agents_idle_top;
    gw->agents_idle_top = self;
    gw->agents_idle++;
    pthread_mutex_unlock(&gw->agents_mu);
    while (sem_wait(&self->wake) != 0) continue; /* interrupted by a signal */
    r = self->given; /* off the stack: submit() or gw_agents_drain() took it */
    if (!r) pthread_mutex_lock(&gw->agents_mu);
    return r;
}

/* A worker: runs runs one after another with one libcurl handle (its kept connections
 * and its multi handle serve every MCP request of its runs). */
static void *worker(void *arg)
{
    gateway *gw = arg;
    agent_worker self = {0};
    sem_init(&self.wake, 0, 0);
    CURL *curl = curl_easy_init(); /* NULL: each request makes its own */
    pthread_mutex_lock(&gw->agents_mu);
    run *r;
    while ((r = next_run(gw, &self))) {
        r->curl = curl;
        run_main(r);
        pthread_mutex_lock(&gw->agents_mu);
        gw->agents_running--;
        pthread_cond_broadcast(&gw->agents_cv);
    }
    pthread_mutex_unlock(&gw->agents_mu);
    if (curl) curl_easy_cleanup(curl);
    sem_destroy(&self.wake);
    pthread_mutex_lock(&gw->agents_mu);
    gw->agents_workers--;
    pthread_cond_broadcast(&gw->agents_cv);
    pthread_mutex_unlock(&gw->agents_mu);
    return NULL;
}

/* Hand r to the worker that went idle last, else queue it for a new worker: 0, or the
 * HTTP status to refuse with (503: GW_AGENT_MAX_RUNS runs already, or no worker at all). */
static unsigned submit(gateway *gw, run *r)
{
    unsigned refuse = 0;
    pthread_mutex_lock(&gw->agents_mu);
    if (gw->agents_running >= GW_AGENT_MAX_RUNS) {
        pthread_mutex_unlock(&gw->agents_mu);
        return 503;
    }
    gw->agents_running++;
    agent_worker *w = gw->agents_idle_top;
    if (w) {
        gw->agents_idle_top = w->next;
        gw->agents_idle--;
        w->given = r;
        pthread_mutex_unlock(&gw->agents_mu);
        sem_post(&w->wake); /* after the unlock: the worker runs r without agents_mu */
        return 0;
    }
    gw->agents_queued++;
    r->next = NULL;
    if (gw->agents_tail) gw->agents_tail->next = r;
    else gw->agents_head = r;
    gw->agents_tail = r;
    pthread_t th;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &at, worker, gw) == 0) gw->agents_workers++;
    else if (gw->agents_workers == 0) refuse = 503; /* else a busy worker takes it later */
    pthread_attr_destroy(&at);
    if (refuse) { /* nobody will take it: out of the queue (it is the only one) */
        gw->agents_head = gw->agents_tail = NULL;
        gw->agents_queued--;
        gw->agents_running--;
        pthread_cond_broadcast(&gw->agents_cv);
    }
    pthread_mutex_unlock(&gw->agents_mu);
    return refuse;
}

/* ---- set-up -------------------------------------------------------------- */

static int is_mcp(const json_t *t)
{
    const char *type = json_string_value(json_object_get(t, "type"));
    return type && strcmp(type, "mcp") == 0;
}

int gw_agent_wanted(const json_t *body)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(body, "tools"), i, t) if (is_mcp(t)) return 1;
    return 0;
}

static void run_free(run *r)
{
    for (size_t i = 0; i < r->nservers; i++)
        if (r->owned[i]) gw_mcp_server_free(r->servers[i]);
    for (size_t i = 0; i < r->ntools; i++) free(r->tools[i].fn);
    free(r->tools);
    free(r->servers);
    free(r->owned);
    json_decref(r->body);
    if (r->req) gw_req_unref(r->req);
    free(r);
}

/* The server of one MCP tool entry: a configured one by label, or (when allowed) one made
 * from its server_url. 0, or -1 and err. */
static int resolve(run *r, const gw_config *cfg, const json_t *t, size_t i, char *err,
                   size_t errlen)
{
    const char *label = json_string_value(json_object_get(t, "server_label"));
    const char *url = json_string_value(json_object_get(t, "server_url"));
    json_t *allowed = json_object_get(t, "allowed_tools");
    for (size_t k = 0; k < cfg->mcp.nservers; k++)
        if (label && strcmp(cfg->mcp.servers[k]->name, label) == 0 &&
            (!url || strcmp(url, cfg->mcp.servers[k]->url) == 0)) {
            r->servers[r->nservers++] = cfg->mcp.servers[k];
            return 0;
        }
    if (!url || !cfg->mcp.allow_request_urls) {
        snprintf(err, errlen, "tools.[%zu]: the MCP server '%.64s' is not configured on this "
                 "gateway%s", i, label ? label : "", url ? " (request URLs are not allowed)" : "");
        return -1;
    }
    json_t *headers = json_object_get(t, "headers");
    gw_mcp_server *s = gw_mcp_server_new(label ? label : "request", url,
                                         json_is_object(headers) ? headers : NULL,
                                         json_is_array(allowed) ? allowed : NULL);
    if (!s) {
        snprintf(err, errlen, "tools.[%zu].server_url must be an http:// or https:// URL", i);
        return -1;
    }
    r->owned[r->nservers] = 1;
    r->servers[r->nservers++] = s;
    return 0;
}

/* ---- one model call ------------------------------------------------------- */

/* The OpenAI error shape (code NULL: null). */
static json_t *error_body(const char *type, const char *code, const char *msg)
{
    return json_pack("{s:{s:s, s:s, s:s?, s:n}}", "error", "message", msg, "type", type, "code",
                     code, "param");
}

static void waiter_unref(waiter *w)
{
    if (atomic_fetch_sub(&w->refs, 1) != 1) return;
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->body);
    json_decref(w->value);
    free(w);
}

/* The answer (the first one counts: text or value), or the call's end without one (502). */
static void settle(waiter *w, unsigned status, char *body, json_t *value)
{
    pthread_mutex_lock(&w->mu);
    if (!w->answered) {
        w->status = status;
        w->body = body;
        w->value = value;
        body = NULL;
        value = NULL;
        w->answered = 1;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    free(body);
    json_decref(value);
}

static void tap_reply(void *ud, unsigned status, char *body, int retry_after)
{
    (void)retry_after;
    settle(ud, status, body, NULL);
}

static void tap_reply_value(void *ud, unsigned status, json_t *body)
{
    settle(ud, status, NULL, body);
}

/* The loop's calls are never streamed: an upstream streaming all the same is refused. */
static void tap_stream_start(void *ud)
{
    (void)ud;
}

static int tap_stream_data(void *ud, const char *data, size_t len)
{
    (void)ud, (void)data, (void)len;
    return -1;
}

static void tap_stream_end(void *ud)
{
    (void)ud;
}

static void tap_release(void *ud)
{
    settle(ud, 502, NULL, NULL);
    waiter_unref(ud);
}

static const gw_tap model_tap = {.reply = tap_reply, .reply_value = tap_reply_value,
                                 .stream_start = tap_stream_start, .stream_data = tap_stream_data,
                                 .stream_end = tap_stream_end, .release = tap_release,
                                 .caller_waits = 1};

/* Call the model with r->body through the gateway's chat path (gw_call_start: model,
 * admission, metering, charges, sim or proxy); the answer's status and body (NULL when
 * it is not JSON) come back. */
static unsigned call_model(run *r, json_t **body)
{
    *body = NULL;
    gw_fields f;
    gw_invalid inv;
    json_t *b = gw_json_clone(r->body);
    if (!b) return 500;
    if (gw_validate(b, GW_OP_CHAT, &f, &inv) != 0) { /* what the loop appended is at fault */
        json_decref(b);
        *body = error_body("server_error", NULL, "the agent loop built an invalid model request");
        return 500;
    }
    waiter *w = calloc(1, sizeof *w);
    gw_req *tap = NULL;
    if (w) {
        pthread_mutex_init(&w->mu, NULL);
        pthread_cond_init(&w->cv, NULL);
        atomic_init(&w->refs, 2); /* the run's and the tapped request's */
        if (!(tap = gw_req_tap(r->req, &model_tap, w))) {
            waiter_unref(w);
            waiter_unref(w);
            w = NULL;
        } else if (sonde_span_context_valid(&r->span)) {
            gw_req_set_trace(tap, &r->span); /* model calls are children of the run's span */
        }
    }
    if (!w) {
        json_decref(b);
        return 500;
    }
    gw_call_start(r->gw, tap, r->key, b, GW_OP_CHAT, &f); /* takes b; answers tap itself */
    gw_req_unref(tap); /* the call holds its own reference while it runs */
    pthread_mutex_lock(&w->mu);
    while (!w->answered) pthread_cond_wait(&w->cv, &w->mu);
    unsigned status = w->status;
    if (w->value) *body = w->value;
    else if (w->body) *body = json_loads(w->body, 0, NULL);
    w->value = NULL;
    pthread_mutex_unlock(&w->mu);
    waiter_unref(w);
    return status;
}

/* ---- tool execution ----------------------------------------------------- */

typedef struct exec {
    run *r;
    CURL *curl;              /* the worker's handle, or NULL (a thread of its own) */
    const offered *o;        /* NULL: not an MCP tool of this run */
    const char *id;
    const char *arguments;
    json_t *item;            /* the mcp_call item made */
    char *content;           /* the tool message's content */
} exec;

/* A run stops when its client is gone or the gateway stops. */
static int run_cancelled(void *arg)
{
    run *r = arg;
    return gw_req_gone(r->req) || atomic_load(&r->gw->agents_stop);
}

static void *execute(void *arg)
{
    exec *x = arg;
    gateway *gw = x->r->gw;
    char err[512] = "";
    json_t *res = NULL;
    json_t *args = json_loads(x->arguments ? x->arguments : "{}", 0, NULL);
    sonde_llm_call track;
    const char *label = gw_label_tool(&gw->meter, gw->cfg, x->o->tool);
    sonde_llm_tool_request tq = {.name = label, .provider = "mcp", .call_id = x->id,
                                 .type = "extension", .arguments = x->arguments,
                                 .parent = sonde_span_context_valid(&x->r->span) ? &x->r->span
                                                                                 : NULL};
    int tracked = sonde_llm_tool_begin_ex(gw->meter.llm, &track, &tq) == SONDE_OK;
    int rc = -1;
    const char *error_type = "tool_error";
    if (!json_is_object(args)) {
        snprintf(err, sizeof err, "the arguments are not a JSON object");
        error_type = "invalid_arguments";
    } else {
        rc = gw_mcp_call_tool(x->o->server, x->o->tool, args, x->curl, run_cancelled, x->r,
                              &res, err, sizeof err);
        if (rc != 0) error_type = "mcp_error";
    }
    char *text = rc == 0 ? gw_mcp_result_text(res, GW_AGENT_TOOL_OUTPUT_MAX) : NULL;
    if (text) gw_utf8_fix(text); /* a cut may split a character */
    int tool_error = rc == 0 && json_is_true(json_object_get(res, "isError"));
    if (rc == 0 && !text) snprintf(err, sizeof err, "out of memory"), rc = -1;
    x->item = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "mcp_call", "id", x->id ? x->id : "",
                        "server_label", x->o->server->name, "name", x->o->tool, "arguments",
                        x->arguments ? x->arguments : "{}");
    if (rc != 0 || tool_error) {
        const char *why = rc != 0 ? err : text;
        gw_utf8_fix(err);
        size_t n = strlen(why) + 8;
        if ((x->content = malloc(n))) snprintf(x->content, n, "error: %s", why);
        json_object_set_new(x->item, "error", json_string(why));
        json_object_set_new(x->item, "output", json_null());
    } else {
        x->content = strdup(text);
        json_object_set_new(x->item, "output", json_string(text));
    }
    if (tracked) {
        sonde_llm_result out = {.status = rc == 0 && !tool_error ? SONDE_LLM_OK : SONDE_LLM_ERROR,
                                .error_type = rc == 0 && !tool_error ? NULL : error_type,
                                .input_tokens = -1, .output_tokens = -1};
        sonde_llm_call_end(&track, &out);
    }
    free(text);
    json_decref(res);
    json_decref(args);
    return NULL;
}

static const offered *find_offered(const run *r, const char *fn)
{
    for (size_t i = 0; fn && i < r->ntools; i++)
        if (strcmp(r->tools[i].fn, fn) == 0) return &r->tools[i];
    return NULL;
}

/* Execute the calls (all MCP ones) concurrently, in waves; append the tool messages. */
static void execute_all(run *r, json_t *calls, json_t *items)
{
    size_t n = json_array_size(calls);
    exec *xs = calloc(n, sizeof *xs);
    pthread_t *th = calloc(n, sizeof *th);
    int *started = calloc(n, sizeof *started);
    json_t *msgs = json_object_get(r->body, "messages");
    for (size_t w = 0; xs && th && started && w < n; w += GW_AGENT_PARALLEL_MAX) {
        size_t end = w + GW_AGENT_PARALLEL_MAX < n ? w + GW_AGENT_PARALLEL_MAX : n;
        for (size_t i = w; i < end; i++) {
            json_t *call = json_array_get(calls, i), *fn = json_object_get(call, "function");
            xs[i] = (exec){.r = r, .id = json_string_value(json_object_get(call, "id")),
                           .arguments = json_string_value(json_object_get(fn, "arguments")),
                           .o = find_offered(r, json_string_value(json_object_get(fn, "name")))};
            started[i] = end - w > 1 && pthread_create(&th[i], NULL, execute, &xs[i]) == 0;
            if (!started[i]) {
                xs[i].curl = r->curl;
                execute(&xs[i]);
            }
        }
        for (size_t i = w; i < end; i++) {
            if (started[i]) pthread_join(th[i], NULL);
            if (xs[i].item) json_array_append_new(items, xs[i].item);
            json_array_append_new(msgs, json_pack("{s:s, s:s, s:s}", "role", "tool",
                                                  "tool_call_id", xs[i].id ? xs[i].id : "",
                                                  "content", xs[i].content ? xs[i].content : "error"));
            free(xs[i].content);
        }
    }
    free(xs);
    free(th);
    free(started);
}

/* ---- the loop ------------------------------------------------------------- */

/* Offer every MCP tool of the run's servers as a function tool, each server's list noted
 * in listed; 0, or -1 and err. */
static int offer_tools(run *r, json_t *listed, char *err, size_t errlen)
{
    json_t *tools = json_object_get(r->body, "tools");
    for (size_t i = 0; i < r->nservers; i++) {
        json_t *list;
        char why[400];
        if (gw_mcp_list_tools(r->servers[i], &list, why, sizeof why) != 0) {
            snprintf(err, errlen, "Error retrieving tool list from MCP server '%s': %s",
                     r->servers[i]->name, why);
            return -1;
        }
        json_array_append_new(listed, json_pack("{s:s, s:o}", "server_label", r->servers[i]->name,
                                                "tools", gw_json_clone(list)));
        size_t k;
        json_t *t;
        json_array_foreach(list, k, t) {
            const char *name = json_string_value(json_object_get(t, "name"));
            if (find_offered(r, name)) continue; /* the first server offering a name wins */
            offered *g = realloc(r->tools, (r->ntools + 1) * sizeof *g);
            if (!g) return -1;
            r->tools = g;
            g[r->ntools] = (offered){.fn = strdup(name), .server = r->servers[i], .tool = name};
            if (!g[r->ntools].fn) return -1;
            r->ntools++;
            json_t *schema = json_object_get(t, "inputSchema");
            /* a copy: the cache is shared by concurrent runs, and jansson's reference
             * counts are no place to meet (its incref reads the count unsynchronised) */
            json_t *params = json_is_object(schema) ? gw_json_clone(schema)
                                                    : json_pack("{s:s}", "type", "object");
            json_t *fn = json_pack("{s:s, s:o}", "name", name, "parameters", params);
            const char *desc = json_string_value(json_object_get(t, "description"));
            if (desc) json_object_set_new(fn, "description", json_string(desc));
            json_array_append_new(tools, json_pack("{s:s, s:o}", "type", "function", "function", fn));
        }
    }
    return 0;
}

static void add_usage(gw_agent_result *res, const json_t *answer)
{
    json_t *u = json_object_get(answer, "usage");
    res->input_tokens += (long)json_integer_value(json_object_get(u, "prompt_tokens"));
    res->output_tokens += (long)json_integer_value(json_object_get(u, "completion_tokens"));
}

static void loop(run *r, gw_agent_result *res)
{
    char err[512];
    if (offer_tools(r, res->listed, err, sizeof err) != 0) {
        res->status = 424;
        res->answer = error_body("external_connector_error", "mcp_list_tools_failed", err);
        res->stop = "error";
        return;
    }
    long calls_made = 0;
    int max_iter = r->gw->cfg->mcp.max_iterations;
    for (;;) {
        if (run_cancelled(r)) {
            res->status = 499;
            res->stop = "cancelled";
            return;
        }
        json_t *answer;
        unsigned status = call_model(r, &answer);
        res->iterations++;
        json_decref(res->answer);
        res->answer = answer;
        if (status != 200 || !json_is_object(answer)) {
            res->status = status == 200 ? 502 : status;
            if (!json_is_object(answer)) {
                json_decref(answer);
                res->answer = error_body("upstream_error", "upstream_error",
                                         "The model call of the agent loop failed");
            }
            res->stop = "error";
            return;
        }
        add_usage(res, answer);
        res->status = 200;
        json_t *msg = json_object_get(json_array_get(json_object_get(answer, "choices"), 0),
                                      "message");
        json_t *calls = json_object_get(msg, "tool_calls");
        size_t n = json_array_size(calls), i;
        json_t *call;
        int all_mcp = n > 0;
        json_array_foreach(calls, i, call)
            if (!find_offered(r, json_string_value(json_object_get(json_object_get(call, "function"),
                                                                   "name")))) all_mcp = 0;
        if (!all_mcp) { /* an answer, or calls the client executes */
            res->stop = "answered";
            return;
        }
        if (calls_made + (long)n > r->max_tool_calls) {
            res->stop = "max_tool_calls";
            return;
        }
        if (res->iterations >= max_iter) {
            res->stop = "max_iterations";
            return;
        }
        calls_made += (long)n;
        json_array_append(json_object_get(r->body, "messages"), msg);
        execute_all(r, calls, res->items);
    }
}

static void run_main(run *r)
{
    gateway *gw = r->gw;
    gw_agent_result res = {.items = json_array(), .listed = json_array()};
    sonde_llm_call track;
    gw_model tmp;
    const gw_model *m = gw_config_model(gw->cfg, json_string_value(json_object_get(r->body, "model")), &tmp);
    sonde_span_context server; /* the client request's SERVER span */
    gw_req_trace_context(r->req, &server);
    sonde_llm_agent_request aq = {.name = "gateway", .provider = m ? m->up->provider : NULL,
                                  .model = m ? m->name : NULL,
                                  .description = "the gateway's MCP tool loop",
                                  .parent = sonde_span_context_valid(&server) ? &server : NULL};
    int tracked = sonde_llm_agent_begin_ex(gw->meter.llm, &track, &aq) == SONDE_OK;
    const sonde_span *span = tracked ? sonde_llm_call_span(&track) : NULL;
    if (span) sonde_span_get_context(span, &r->span); /* the parent of the tool spans */
    loop(r, &res);
    if (res.status == 200 && res.answer) { /* the loop's usage replaces the last call's */
        json_object_set_new(res.answer, "usage",
                            json_pack("{s:I, s:I, s:I}", "prompt_tokens", (json_int_t)res.input_tokens,
                                      "completion_tokens", (json_int_t)res.output_tokens,
                                      "total_tokens",
                                      (json_int_t)(res.input_tokens + res.output_tokens)));
    }
    if (tracked) {
        int ok = res.status == 200;
        sonde_llm_result out = {.status = ok ? SONDE_LLM_OK
                                         : res.status == 499 ? SONDE_LLM_CANCELLED : SONDE_LLM_ERROR,
                                .error_type = ok || res.status == 499 ? NULL : res.stop,
                                .input_tokens = -1, .output_tokens = -1};
        sonde_llm_call_end(&track, &out);
    }
    r->done(r->done_arg, &res);
    json_decref(res.answer);
    json_decref(res.items);
    json_decref(res.listed);
    run_free(r);
}

unsigned gw_agent_start(gateway *gw, gw_req *req, const gw_key *key, json_t *body,
                        gw_agent_done_fn done, void *arg, char *err, size_t errlen)
{
    const gw_config *cfg = gw->cfg;
    json_t *tools = json_object_get(body, "tools");
    run *r = calloc(1, sizeof *r);
    size_t n = json_array_size(tools);
    if (!r || !(r->servers = calloc(n + 1, sizeof *r->servers)) ||
        !(r->owned = calloc(n + 1, sizeof *r->owned))) {
        if (r) free(r->servers);
        free(r);
        json_decref(body);
        snprintf(err, errlen, "out of memory");
        return 503;
    }
    r->gw = gw;
    r->key = key;
    r->body = body;
    r->done = done;
    r->done_arg = arg;
    json_t *mtc = json_object_get(body, "max_tool_calls");
    r->max_tool_calls = json_is_integer(mtc) && json_integer_value(mtc) >= 0
                            ? (long)json_integer_value(mtc) : GW_AGENT_MAX_TOOL_CALLS;
    json_object_del(body, "max_tool_calls");
    json_object_del(body, "stream");
    json_object_del(body, "stream_options");
    json_t *keep = json_array();
    size_t i;
    json_t *t;
    unsigned refuse = 0;
    json_array_foreach(tools, i, t) {
        if (!is_mcp(t)) json_array_append(keep, t);
        else if (resolve(r, cfg, t, i, err, errlen) != 0) refuse = 400;
        if (refuse) break;
    }
    json_object_set_new(body, "tools", keep);
    if (refuse) {
        run_free(r);
        return refuse;
    }
    gw_req_ref(req);
    r->req = req;
    if (submit(gw, r) != 0) {
        run_free(r);
        snprintf(err, errlen, "The gateway runs too many agent loops; retry later");
        return 503;
    }
    return 0;
}

/* ---- the chat completions front end -------------------------------------- */

static void chat_done(void *arg, gw_agent_result *res)
{
    gw_req *r = arg;
    if (res->status == 200) {
        json_object_set(res->answer, "mcp_calls", res->items);
        json_object_set_new(res->answer, "mcp_stop", json_string(res->stop));
    }
    if (res->status != 499 && res->answer)
        gw_reply_json(r, res->status, gw_json_dumps(res->answer), -1);
    else
        gw_reply_error(r, 499, "invalid_request_error", "cancelled", -1, "the client is gone");
    gw_req_unref(r);
}

void gw_agent_chat(gateway *gw, gw_req *r, const gw_key *key, json_t *body)
{
    char err[512];
    if (json_is_true(json_object_get(body, "stream"))) {
        json_decref(body);
        gw_reply_invalid(r, "stream", "Streaming is not supported with MCP tools on "
                                      "/v1/chat/completions; send \"stream\": false");
        return;
    }
    gw_req_ref(r);
    unsigned st = gw_agent_start(gw, r, key, body, chat_done, r, err, sizeof err);
    if (st == 400) gw_reply_invalid(r, "tools", "%s", err);
    else if (st) gw_reply_error(r, st, "server_error", "agent_unavailable", 1, "%s", err);
    if (st) gw_req_unref(r);
}
