/* tests/http/test_http_trace.c — the trace buffer and the sampled latency
 * over HTTP (troupe/probe.h, http/trace.c): arm, records, the limit of 16
 * armed actors, the token rules, bad input; latency in /api/actors/NAME
 * and the per-type histograms in /metrics. A real server on an ephemeral
 * port of 127.0.0.1; waits are hang guards (wait_until), never timings. */
#include "../support.h"
#include "client.h"

#include <troupe/http.h>

#define TOKEN "trace-t0ken"
#define AUTH "Authorization: Bearer " TOKEN "\r\n"

static int probe_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    (void)ctx, (void)st;
    return msg->type == 7 ? TROUPE_EINVAL : 0; /* type 7 fails the handler */
}

static const troupe_behaviour probe_beh = {.name = "probed", .handle = probe_handle};

typedef struct env {
    troupe_system *sys;
    troupe_http *srv;
    int port;
    troupe_ref a[TROUPE_TRACE_ACTORS + 1]; /* "p0" .. "p16" */
} env;

static void start_env(env *e, const char *token)
{
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 2;
    cr_assert_eq(troupe_system_create(&e->sys, &cfg), 0);
    for (unsigned i = 0; i <= TROUPE_TRACE_ACTORS; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%u", i);
        cr_assert_eq(troupe_spawn(e->sys, &probe_beh, NULL, NULL, &e->a[i]), 0);
        cr_assert_eq(troupe_register(e->sys, name, e->a[i]), 0);
    }
    troupe_http_config hc;
    troupe_http_config_defaults(&hc);
    hc.token = token;
    cr_assert_eq(troupe_http_start(e->sys, &hc, &e->srv), 0);
    e->port = troupe_http_port(e->srv);
}

static void stop_env(env *e)
{
    troupe_http_stop(e->srv);
    troupe_system_destroy(e->sys);
}

/* A request with a body (and the token when auth is set). */
static hc_resp call(env *e, const char *method, const char *path, const char *body, int auth)
{
    char req[4096];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, auth ? AUTH : "", body ? strlen(body) : 0, body ? body : "");
    return hc_raw(e->port, req, (size_t)n);
}

static void expect_status(hc_resp r, int status, const char *what)
{
    cr_expect_eq(r.status, status, "%s: %d, want %d: %s", what, r.status, status, r.raw);
    cr_expect(json_valid(r.body), "%s: not JSON: %s", what, r.body);
    hc_free(&r);
}

static void tell_n(env *e, troupe_ref to, uint32_t type, int n)
{
    for (int i = 0; i < n; i++)
        cr_assert_eq(troupe_tell(e->sys, to, type, "x", 1), 0);
}

/* The trace's "count" (records so far), or -1. */
static long long records_of(env *e, const char *name, long long *left)
{
    char path[64];
    snprintf(path, sizeof path, "/api/actors/%s/trace", name);
    hc_resp r = hc_get(e->port, path);
    long long n = r.status == 200 ? hc_num(r.body, "count") : -1;
    if (left)
        *left = r.status == 200 ? hc_num(r.body, "left") : -1;
    hc_free(&r);
    return n;
}

Test(http_trace, arm_records_disarm)
{
    env e;
    start_env(&e, TOKEN);
    expect_status(hc_get(e.port, "/api/actors/p0/trace"), 404, "never traced");
    expect_status(call(&e, "POST", "/api/actors/p0/trace", "{\"count\": 10}", 1), 200, "arm");
    /* the owner sets its flag when it serves the arming signal: messages
     * queued before pass untraced (or unstamped), so send until one is
     * recorded; from then on every message sent is stamped */
    long long left = -1, r0 = -1;
    for (int round = 0; round < 1000 && (r0 = records_of(&e, "p0", &left)) < 1; round++)
        tell_n(&e, e.a[0], 3, 1);
    cr_assert_geq(r0, 1);
    if (r0 <= 7) {
        tell_n(&e, e.a[0], 3, 3);
        wait_until(records_of(&e, "p0", NULL) >= r0 + 3);
        hc_resp s3 = hc_get(e.port, "/api/actors/p0/trace");
        const char *last = strrchr(s3.body, '{');
        cr_expect(last && strstr(last, "\"wait_ns\":") && !strstr(last, "\"wait_ns\":null"),
                  "sent after the trace was on, stamped: %s", s3.body);
        hc_free(&s3);
    }
    for (int round = 0; round < 1000 && records_of(&e, "p0", &left) < 10; round++)
        tell_n(&e, e.a[0], 3, 1);
    wait_until(records_of(&e, "p0", &left) == 10);
    cr_expect_eq(left, 0);
    tell_n(&e, e.a[0], 3, 10); /* the trace is over: nothing more is kept */
    hc_resp r = hc_get(e.port, "/api/actors/p0/trace");
    cr_assert_eq(r.status, 200, "%s", r.raw);
    cr_expect(json_valid(r.body), "%s", r.body);
    cr_expect_eq(hc_num(r.body, "count"), 10);
    cr_expect(strstr(r.body, "\"type\":3"), "%s", r.body);
    cr_expect(strstr(r.body, "\"outcome\":\"ok\""), "%s", r.body);
    cr_expect(strstr(r.body, "\"sender\":null"), "a plain thread's tell: %s", r.body);
    hc_free(&r);
    expect_status(call(&e, "DELETE", "/api/actors/p0/trace", NULL, 1), 200, "disarm");
    expect_status(hc_get(e.port, "/api/actors/p0/trace"), 404, "disarmed");
    expect_status(call(&e, "DELETE", "/api/actors/p0/trace", NULL, 1), 404, "disarm twice");
    stop_env(&e);
}

/* The record of the failing type-7 message among rec[0..n), or NULL. */
static const troupe_trace_record *type7(const troupe_trace_record *rec, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (rec[i].type == 7u)
            return &rec[i];
    return NULL;
}

Test(http_trace, failure_outcome)
{
    env e;
    start_env(&e, TOKEN);
    expect_status(call(&e, "POST", "/api/actors/p1/trace", "{\"count\":16}", 1), 200, "arm");
    /* type 3 until the trace is on (one record), then the failing type 7.
     * More than one 3 may be queued before the first record shows (each
     * round tells before it polls): the 7's record is looked for by type,
     * not at a fixed index (it was rec[1], which failed in CI when a second
     * 3 took that place). */
    for (int round = 0; round < 1000 && records_of(&e, "p1", NULL) < 1; round++)
        tell_n(&e, e.a[1], 3, 1);
    wait_until(records_of(&e, "p1", NULL) >= 1);
    tell_n(&e, e.a[1], 7, 1);
    /* the failed actor ends; its records stay readable until then */
    troupe_trace_record rec[16];
    size_t n = 0;
    wait_until(troupe_trace_read(e.sys, e.a[1], rec, 16, &n, NULL) != 0 || type7(rec, n) ||
               n == 16);
    const troupe_trace_record *r = type7(rec, n);
    if (r) {
        cr_expect_eq(r->ok, 0);
        cr_expect_eq(r->kind, TROUPE_EXIT_ERROR);
    } else {
        cr_log_info("the actor ended before its records were read: not checked");
    }
    stop_env(&e);
}

Test(http_trace, at_most_16_armed)
{
    env e;
    start_env(&e, TOKEN);
    for (unsigned i = 0; i < TROUPE_TRACE_ACTORS; i++) {
        char path[64];
        snprintf(path, sizeof path, "/api/actors/p%u/trace", i);
        expect_status(call(&e, "POST", path, "{\"count\":1000}", 1), 200, path);
    }
    expect_status(call(&e, "POST", "/api/actors/p16/trace", "{\"count\":1}", 1), 409, "17th");
    /* re-arming one already armed takes no new place */
    expect_status(call(&e, "POST", "/api/actors/p3/trace", "{\"count\":10}", 1), 200, "re-arm");
    expect_status(call(&e, "DELETE", "/api/actors/p0/trace", NULL, 1), 200, "disarm one");
    expect_status(call(&e, "POST", "/api/actors/p16/trace", "{\"count\":1}", 1), 200, "then 17th");
    stop_env(&e);
}

Test(http_trace, token_rules)
{
    env e;
    start_env(&e, TOKEN);
    hc_resp r = call(&e, "POST", "/api/actors/p0/trace", "{\"count\":1}", 0);
    cr_expect_eq(r.status, 401, "%s", r.raw);
    hc_free(&r);
    expect_status(call(&e, "DELETE", "/api/actors/p0/trace", NULL, 0), 401, "delete, no token");
    r = hc_raw(e.port,
               "POST /api/actors/p0/trace HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
               "Authorization: Bearer nope\r\nContent-Length: 11\r\n\r\n{\"count\":1}",
               strlen("POST /api/actors/p0/trace HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: "
                      "close\r\nAuthorization: Bearer nope\r\nContent-Length: 11\r\n\r\n"
                      "{\"count\":1}"));
    cr_expect_eq(r.status, 401, "%s", r.raw);
    hc_free(&r);
    expect_status(hc_request(e.port, "PUT", "/api/actors/p0/trace", NULL), 405, "PUT");
    stop_env(&e);
    start_env(&e, NULL); /* no token: mutating endpoints are off */
    expect_status(call(&e, "POST", "/api/actors/p0/trace", "{\"count\":1}", 1), 403, "no token");
    expect_status(hc_get(e.port, "/api/actors/p0/trace"), 404, "GET needs no token");
    stop_env(&e);
}

Test(http_trace, bad_input)
{
    env e;
    start_env(&e, TOKEN);
    const char *bad[] = {"{\"count\":0}", "{\"count\":1001}", "not json", "", "{\"count\":\"5\"}",
                         "{\"count\":5", "{\"count\":5} x", "{\"count\":-1}",
                         "{\"count\":99999999999}", "{\"n\":5}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_status(call(&e, "POST", "/api/actors/p0/trace", bad[i], 1), 400, bad[i]);
    expect_status(call(&e, "POST", "/api/actors/nobody/trace", "{\"count\":1}", 1), 404, "nobody");
    expect_status(hc_get(e.port, "/api/actors/nobody/trace"), 404, "GET nobody");
    stop_env(&e);
}

Test(http_trace, public_calls_check_input)
{
    env e;
    start_env(&e, TOKEN);
    troupe_latency_info li;
    size_t n;
    cr_expect_eq(troupe_trace_arm(NULL, e.a[0], 1), TROUPE_EINVAL);
    cr_expect_eq(troupe_trace_arm(e.sys, e.a[0], 0), TROUPE_EINVAL);
    cr_expect_eq(troupe_trace_arm(e.sys, e.a[0], TROUPE_TRACE_MAX + 1), TROUPE_EINVAL);
    cr_expect_eq(troupe_trace_arm(e.sys, (troupe_ref){12345}, 1), TROUPE_ENOACTOR);
    cr_expect_eq(troupe_trace_read(e.sys, e.a[0], NULL, 1, &n, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_trace_read(e.sys, e.a[0], NULL, 0, NULL, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_trace_disarm(NULL, e.a[0]), TROUPE_EINVAL);
    cr_expect_eq(troupe_actor_latency_get(e.sys, e.a[0], NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_actor_latency_get(NULL, e.a[0], &li), TROUPE_EINVAL);
    cr_expect_eq(troupe_actor_latency_get(e.sys, (troupe_ref){12345}, &li), TROUPE_ENOACTOR);
    stop_env(&e);
}

/* One message in 256 is stamped: 2000 tells give several samples. */
Test(http_trace, latency_and_metrics)
{
    env e;
    start_env(&e, TOKEN);
    tell_n(&e, e.a[2], 3, 2000);
    troupe_latency_info li;
    wait_until(troupe_actor_latency_get(e.sys, e.a[2], &li) == 0 && li.samples >= 7);
    cr_expect_geq(li.handle_p99_ns, li.handle_p50_ns);
    cr_expect_geq(li.wait_p99_ns, li.wait_p50_ns);
    cr_expect_gt(li.handle_p50_ns, 0u);
    hc_resp r = hc_get(e.port, "/api/actors/p2");
    cr_assert_eq(r.status, 200);
    cr_expect(strstr(r.body, "\"latency\":{\"samples\":"), "%s", r.body);
    cr_expect(strstr(r.body, "\"handle_p99_ns\":"), "%s", r.body);
    hc_free(&r);
    r = hc_get(e.port, "/api/actors/p5");
    cr_expect(strstr(r.body, "\"latency\":null"), "no message, no sample: %s", r.body);
    hc_free(&r);
    r = hc_get(e.port, "/metrics");
    cr_assert_eq(r.status, 200);
    cr_expect(strstr(r.body, "# TYPE troupe_mailbox_wait_seconds histogram"), "%.300s", r.body);
    cr_expect(strstr(r.body, "# TYPE troupe_handle_seconds histogram"));
    cr_expect(strstr(r.body, "troupe_handle_seconds_bucket{type=\"probed\",le=\"+Inf\"}"));
    cr_expect(strstr(r.body, "troupe_mailbox_wait_seconds_count{type=\"probed\"}"));
    hc_free(&r);
    stop_env(&e);
}
