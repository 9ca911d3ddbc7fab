/* tests/http/test_http.c — the HTTP API against a real server: a real
 * system, troupe_http_start on an ephemeral port of 127.0.0.1, and a plain
 * socket client (client.h). Each test checks statuses and the JSON it gets
 * back; changes made through the API (restart, stop) are waited for with
 * wait_until, a hang guard, never a timing assertion. */
#include "../support.h"
#include "client.h"

#include <poll.h>
#include <troupe/http.h>

#define TOKEN "t0ken-for-tests"

static int echo_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    (void)ctx, (void)st, (void)msg;
    return 0;
}

static const troupe_behaviour echo_beh = {.name = "echo", .handle = echo_handle};

typedef struct env {
    troupe_system *sys;
    troupe_http *srv;
    int port;
    troupe_sup group;  /* "svc", under the root */
    troupe_ref worker; /* "worker-1", supervised by svc */
    troupe_ref loner;  /* "loner", unsupervised */
} env;

static void start_env(env *e, const char *token)
{
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 2;
    cr_assert_eq(troupe_system_create(&e->sys, &cfg), 0);
    troupe_sup root;
    troupe_sup_spec ss;
    troupe_sup_spec_defaults(&ss);
    ss.name = "svc";
    cr_assert_eq(troupe_sup_root(e->sys, &root), 0);
    cr_assert_eq(troupe_sup_start_supervisor(e->sys, root, &ss, &e->group), 0);
    troupe_child_spec cs;
    troupe_child_spec_defaults(&cs);
    cs.beh = &echo_beh;
    cs.name = "worker-1";
    cs.policy.kind = TROUPE_RESTART_ALWAYS; /* no backoff to wait out */
    cr_assert_eq(troupe_sup_start_child(e->sys, e->group, &cs, &e->worker), 0);
    cr_assert_eq(troupe_spawn(e->sys, &echo_beh, NULL, NULL, &e->loner), 0);
    cr_assert_eq(troupe_register(e->sys, "loner", e->loner), 0);
    troupe_http_config hc;
    troupe_http_config_defaults(&hc);
    hc.token = token;
    cr_assert_eq(troupe_http_start(e->sys, &hc, &e->srv), 0);
    e->port = troupe_http_port(e->srv);
    cr_assert_gt(e->port, 0);
}

static void stop_env(env *e)
{
    troupe_http_stop(e->srv);
    troupe_system_destroy(e->sys);
}

/* GET path: asserts the status and that the body is valid JSON. */
static hc_resp get_json(env *e, const char *path, int status)
{
    hc_resp r = hc_get(e->port, path);
    cr_assert_eq(r.status, status, "GET %s: %d, want %d\n%s", path, r.status, status, r.raw);
    cr_assert(json_valid(r.body), "GET %s: not JSON: %s", path, r.body);
    return r;
}

static void expect_error(hc_resp *r, int status)
{
    char want[64];
    cr_expect_eq(r->status, status, "status %d, want %d: %s", r->status, status, r->raw);
    cr_expect(json_valid(r->body), "error body not JSON: %s", r->body);
    snprintf(want, sizeof want, "\"status\":%d}", status);
    cr_expect(strstr(r->body, "{\"error\":\"") == r->body && strstr(r->body, want),
              "not a JSON error: %s", r->body);
    hc_free(r);
}

static long long restarts_of(env *e, const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "/api/actors/%s", name);
    hc_resp r = get_json(e, path, 200);
    long long n = hc_num(r.body, "restarts");
    hc_free(&r);
    return n;
}

static int count_of(const char *s, const char *pat)
{
    int n = 0;
    for (const char *p = strstr(s, pat); p; p = strstr(p + 1, pat))
        n++;
    return n;
}

/* ---- start: input checks ------------------------------------------------------- */

Test(http, start_rejects_bad_input)
{
    troupe_system *sys;
    troupe_http *srv = (troupe_http *)&srv;
    cr_assert_eq(troupe_system_create(&sys, NULL), 0);
    troupe_http_config c;
    cr_expect_eq(troupe_http_start(NULL, NULL, &srv), TROUPE_EINVAL);
    cr_expect_eq(troupe_http_start(sys, NULL, NULL), TROUPE_EINVAL);
    const char *bad_addrs[] = {"localhost", "127.0.0.1:80", "", "300.1.1.1", "::1::"};
    for (size_t i = 0; i < sizeof bad_addrs / sizeof *bad_addrs; i++) {
        troupe_http_config_defaults(&c);
        c.bind_addr = bad_addrs[i];
        cr_expect_eq(troupe_http_start(sys, &c, &srv), TROUPE_EINVAL, "%s", bad_addrs[i]);
        cr_expect_null(srv);
    }
    troupe_http_config_defaults(&c);
    c.bind_addr = "192.0.2.1"; /* TEST-NET-1: not an address of this machine */
    cr_expect_eq(troupe_http_start(sys, &c, &srv), TROUPE_EINVAL);
    const char *bad_tokens[] = {"", "has space", "tab\there", "caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad_tokens / sizeof *bad_tokens; i++) {
        troupe_http_config_defaults(&c);
        c.token = bad_tokens[i];
        cr_expect_eq(troupe_http_start(sys, &c, &srv), TROUPE_EINVAL, "token %zu", i);
    }
    troupe_http_config_defaults(&c);
    c.max_connections = 0;
    cr_expect_eq(troupe_http_start(sys, &c, &srv), TROUPE_EINVAL);
    troupe_http_config_defaults(&c);
    c.max_request_bytes = 0;
    cr_expect_eq(troupe_http_start(sys, &c, &srv), TROUPE_EINVAL);
    troupe_http_config_defaults(&c);
    c.timeout_s = 0;
    cr_expect_eq(troupe_http_start(sys, &c, &srv), TROUPE_EINVAL);
    cr_expect_eq(troupe_http_port(NULL), TROUPE_EINVAL);
    troupe_http_stop(NULL);
    troupe_http_config_defaults(NULL);
    troupe_system_destroy(sys);
}

Test(http, taken_port_is_busy_and_ipv6_works)
{
    troupe_system *sys;
    troupe_http *a, *b = NULL;
    cr_assert_eq(troupe_system_create(&sys, NULL), 0);
    cr_assert_eq(troupe_http_start(sys, NULL, &a), 0);
    troupe_http_config c;
    troupe_http_config_defaults(&c);
    c.port = (uint16_t)troupe_http_port(a);
    cr_expect_eq(troupe_http_start(sys, &c, &b), TROUPE_EBUSY);
    cr_expect_null(b);
    troupe_http_config_defaults(&c);
    c.bind_addr = "::1";
    int rc = troupe_http_start(sys, &c, &b);
    /* a machine without IPv6 on loopback refuses the address itself */
    cr_expect(rc == 0 || rc == TROUPE_EINVAL, "%s", troupe_errname(rc));
    if (rc == 0)
        cr_expect_gt(troupe_http_port(b), 0);
    troupe_http_stop(b);
    troupe_http_stop(a);
    troupe_system_destroy(sys);
}

/* ---- the read-only endpoints ------------------------------------------------------ */

Test(http, page_and_metrics)
{
    env e;
    start_env(&e, NULL);
    char ct[128];
    hc_resp r = hc_get(e.port, "/");
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(hc_header(&r, "Content-Type", ct, sizeof ct), "text/html; charset=utf-8");
    cr_expect(strstr(r.body, "<html") && strstr(r.body, "/api/tree"));
    /* nothing loaded from elsewhere: no external scripts, styles or imports */
    cr_expect_null(strstr(r.body, "<script src"));
    cr_expect_null(strstr(r.body, "<link"));
    cr_expect_null(strstr(r.body, "@import"));
    cr_expect_null(strstr(r.body, "https://"));
    char csp[256];
    cr_expect(hc_header(&r, "Content-Security-Policy", csp, sizeof csp) &&
              strstr(csp, "default-src 'none'") && strstr(csp, "connect-src 'self'"));
    hc_free(&r);
    r = hc_request(e.port, "HEAD", "/", NULL);
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(r.body, "");
    hc_free(&r);
    r = hc_get(e.port, "/metrics");
    cr_expect_eq(r.status, 200);
    cr_expect_str_eq(hc_header(&r, "Content-Type", ct, sizeof ct),
                     "text/plain; version=0.0.4; charset=utf-8");
    cr_expect(strstr(r.body, "\ntroupe_actors_live "), "%s", r.body);
    cr_expect(strstr(r.body, "troupe_actors{type=\"echo\"} 2"), "%s", r.body);
    hc_free(&r);
    stop_env(&e);
}

Test(http, system)
{
    env e;
    start_env(&e, NULL);
    /* one breaker with one open circuit (key 42) */
    troupe_breaker *b;
    troupe_breaker_config bc;
    troupe_breaker_config_defaults(&bc);
    bc.failure_threshold = 1;
    cr_assert_eq(troupe_breaker_create(e.sys, "db \"main\"", &bc, &b), 0);
    troupe_breaker_permit p;
    cr_assert_eq(troupe_breaker_acquire(b, 42, &p), 0);
    cr_assert_eq(troupe_breaker_record(b, &p, 0), 0);
    hc_resp r = get_json(&e, "/api/system", 200);
    cr_expect_eq(hc_num(r.body, "breakers_total"), 1);
    cr_expect(strstr(r.body, "\"breakers\":[{\"name\":\"db \\\"main\\\"\",\"key\":\"0x2a\","
                             "\"state\":\"open\""), "%s", r.body);
    cr_expect_eq(hc_num(r.body, "workers"), 2);
    cr_expect_geq(hc_num(r.body, "actors_live"), 2);
    cr_expect_eq(hc_num(r.body, "registry_size"), 2);
    cr_expect(strstr(r.body, "\"mutations_enabled\":false"));
    cr_expect(strstr(r.body, "\"worker_info\":[{\"index\":0,"));
    cr_expect(strstr(r.body, "{\"index\":1,"));
    hc_free(&r);
    stop_env(&e);
}

/* A system that has not joined a cluster (or a library without one): the
 * nodes view is a JSON 404, and a POST to it a 405. The listing itself is
 * tested with real servers (tests/cluster/test_nodes.c). */
Test(http, cluster_nodes_without_a_cluster)
{
    env e;
    start_env(&e, NULL);
    hc_resp r = hc_get(e.port, "/api/cluster/nodes");
    expect_error(&r, 404);
    r = hc_request(e.port, "POST", "/api/cluster/nodes", NULL);
    expect_error(&r, 405);
    r = hc_get(e.port, "/api/cluster/actors?limit=5");
    expect_error(&r, 404);
    r = hc_get(e.port, "/api/cluster/actors?limit=0"); /* the query is checked first */
    expect_error(&r, 400);
    r = hc_request(e.port, "POST", "/api/cluster/actors", NULL);
    expect_error(&r, 405);
    stop_env(&e);
}

Test(http, tree_shows_supervisors_and_named_actors)
{
    env e;
    start_env(&e, NULL);
    hc_resp r = get_json(&e, "/api/tree", 200);
    const char *svc = strstr(r.body, "\"kind\":\"supervisor\",\"id\":");
    cr_assert(svc, "%s", r.body);
    svc = strstr(r.body, "\"name\":\"svc\"");
    cr_assert(svc, "%s", r.body);
    const char *w = strstr(svc, "\"name\":\"worker-1\"");
    cr_assert(w, "worker-1 under svc: %s", r.body);
    cr_expect(strstr(w, "\"type\":\"echo\""));
    cr_expect(strstr(w, "\"supervised\":true"));
    cr_expect(strstr(w, "\"state\":\"running\""), "its child state: %s", w);
    cr_expect_eq(hc_num(w, "restarts"), 0);
    cr_expect_null(strstr(r.body, "\"name\":\"loner\""), "unsupervised actors are not in the tree");
    hc_free(&r);
    stop_env(&e);
}

Test(http, actor_by_name)
{
    env e;
    start_env(&e, NULL);
    hc_resp r = get_json(&e, "/api/actors/worker-1", 200);
    char ref[32];
    snprintf(ref, sizeof ref, "\"ref\":\"0x%llx\"", (unsigned long long)e.worker.id);
    cr_expect(strstr(r.body, ref), "%s in %s", ref, r.body);
    cr_expect(strstr(r.body, "\"name\":\"worker-1\",\"type\":\"echo\""), "%s", r.body);
    cr_expect(strstr(r.body, "\"mailbox\":{\"depth\":0,"));
    cr_expect(strstr(r.body, "\"health\":{\"status\":"));
    hc_free(&r);
    r = get_json(&e, "/api/actors/loner", 200);
    cr_expect(strstr(r.body, "\"supervised\":false,\"parent\":null"), "%s", r.body);
    hc_free(&r);
    r = hc_get(e.port, "/api/actors/nobody");
    cr_expect(strstr(r.body, "no actor named \\\"nobody\\\""), "%s", r.body);
    expect_error(&r, 404);
    stop_env(&e);
}

Test(http, actor_list_and_its_parameters)
{
    env e;
    start_env(&e, NULL);
    hc_resp r = get_json(&e, "/api/actors?type=echo", 200);
    cr_expect_eq(hc_num(r.body, "total"), 2);
    cr_expect_eq(hc_num(r.body, "limit"), 100);
    cr_expect(strstr(r.body, "\"name\":\"worker-1\"") && strstr(r.body, "\"name\":\"loner\""));
    hc_free(&r);
    r = get_json(&e, "/api/actors?type=echo&limit=1", 200);
    cr_expect_eq(hc_num(r.body, "total"), 2);
    cr_expect_eq(count_of(r.body, "\"ref\":"), 1, "limit=1 gives one actor: %s", r.body);
    hc_free(&r);
    r = get_json(&e, "/api/actors?type=no%20such%20type", 200);
    cr_expect_eq(hc_num(r.body, "total"), 0);
    cr_expect(strstr(r.body, "\"actors\":[]"));
    hc_free(&r);
    const char *bad[] = {"limit=0", "limit=-1", "limit=abc", "limit=10001", "limit=1x",
                         "limit=", "limit=%2B5", "limit=99999999999999999999", "type=%zz"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char path[128];
        snprintf(path, sizeof path, "/api/actors?%s", bad[i]);
        r = hc_get(e.port, path);
        expect_error(&r, 400);
    }
    stop_env(&e);
}

Test(http, names_are_decoded_checked_and_escaped)
{
    env e;
    start_env(&e, NULL);
    /* quote, backslash, newline, a stray 0xff byte, é in UTF-8, a slash */
    const char weird[] = "a\"b\\c\nd\xff\xc3\xa9/e";
    troupe_ref ref;
    cr_assert_eq(troupe_spawn(e.sys, &echo_beh, NULL, NULL, &ref), 0);
    cr_assert_eq(troupe_register(e.sys, weird, ref), 0);
    hc_resp r = get_json(&e, "/api/actors/a%22b%5Cc%0Ad%FF%C3%A9%2Fe", 200);
    cr_expect(strstr(r.body, "\"name\":\"a\\\"b\\\\c\\nd\\ufffd\xc3\xa9/e\""), "%s", r.body);
    hc_free(&r);
    char long_name[200] = "/api/actors/";
    memset(long_name + strlen(long_name), 'x', 65);
    const char *bad[] = {"/api/actors/a%00b", "/api/actors/a%zz", "/api/actors/a%4", long_name};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        r = hc_get(e.port, bad[i]);
        expect_error(&r, 400);
    }
    stop_env(&e);
}

/* ---- routing errors and limits ---------------------------------------------------------- */

Test(http, unknown_paths_and_wrong_methods)
{
    env e;
    start_env(&e, TOKEN);
    const char *unknown[] = {"/nope", "/api", "/api/system/", "/api/actors/worker-1/nope",
                             "/api/actors//restart", "/metrics/x"};
    for (size_t i = 0; i < sizeof unknown / sizeof *unknown; i++) {
        hc_resp r = hc_get(e.port, unknown[i]);
        expect_error(&r, 404);
    }
    char allow[64];
    hc_resp r = hc_request(e.port, "POST", "/api/system", "Content-Length: 0\r\n");
    cr_expect_str_eq(hc_header(&r, "Allow", allow, sizeof allow), "GET, HEAD");
    expect_error(&r, 405);
    r = hc_request(e.port, "DELETE", "/api/actors/worker-1", NULL);
    expect_error(&r, 405);
    r = hc_get(e.port, "/api/actors/worker-1/restart");
    cr_expect_str_eq(hc_header(&r, "Allow", allow, sizeof allow), "POST");
    expect_error(&r, 405);
    stop_env(&e);
}

Test(http, oversized_requests_get_413)
{
    env e;
    start_env(&e, TOKEN);
    /* declared too big: refused before any of the body is read */
    hc_resp r = hc_request(e.port, "POST", "/api/actors/worker-1/restart",
                           "Authorization: Bearer " TOKEN "\r\nContent-Length: 100000\r\n");
    expect_error(&r, 413);
    /* headers past the per-connection memory: libmicrohttpd's own 4xx */
    size_t big = 64 * 1024;
    char *req = malloc(big + 256);
    cr_assert_not_null(req);
    int n = sprintf(req, "GET /api/system HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Big: ");
    memset(req + n, 'a', big);
    strcpy(req + n + big, "\r\n\r\n");
    r = hc_raw(e.port, req, strlen(req));
    cr_expect(r.status == 413 || r.status == 431, "status %d", r.status);
    hc_free(&r);
    free(req);
    /* a small body is read and ignored */
    r = hc_request(e.port, "POST", "/api/actors/worker-1/restart",
                   "Authorization: Bearer " TOKEN "\r\nContent-Length: 2\r\n\r\n{}");
    cr_expect_eq(r.status, 200, "%s", r.raw);
    hc_free(&r);
    stop_env(&e);
}

/* 1 when fd has something to read (or was closed) within ms. */
static int readable_within(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) > 0;
}

/* 1 when the server has closed fd (end of file or reset) within ms. */
static int closed_within(int fd, int ms)
{
    char c[64];
    if (!readable_within(fd, ms))
        return 0;
    ssize_t k = recv(fd, c, sizeof c, MSG_DONTWAIT);
    return k == 0 || (k < 0 && errno != EAGAIN);
}

/* max_connections are served at once; one more is accepted so that a new
 * client takes the place of the oldest connection still waiting for its
 * request (a slow client, or an idle keep-alive one): the newcomer is
 * served, the oldest waiting connection is closed, the younger one stays. */
Test(http, connection_limit_makes_room_for_a_new_request)
{
    troupe_system *sys;
    troupe_http *srv;
    cr_assert_eq(troupe_system_create(&sys, NULL), 0);
    troupe_http_config c;
    troupe_http_config_defaults(&c);
    c.max_connections = 2;
    c.timeout_s = 3600; /* no idle timeout makes the room */
    cr_assert_eq(troupe_http_start(sys, &c, &srv), 0);
    int port = troupe_http_port(srv);
    int idle[2] = {hc_connect(port), hc_connect(port)};
    cr_assert(idle[0] >= 0 && idle[1] >= 0);
    hc_resp r = hc_get(port, "/api/system"); /* the client's read timeout is the hang guard */
    cr_expect_eq(r.status, 200, "%s", r.raw);
    hc_free(&r);
    cr_expect(closed_within(idle[0], (int)HANG_LIMIT_S * 1000), "the oldest idle connection stays");
    /* a correct server never closes the younger one here, so this cannot
     * fail spuriously; one that closed every idle connection would */
    cr_expect_not(closed_within(idle[1], 300), "the younger idle connection was closed too");
    close(idle[0]);
    close(idle[1]);
    troupe_http_stop(srv);
    troupe_system_destroy(sys);
}

/* ---- the mutating endpoints -------------------------------------------------------------- */

Test(http, mutations_are_off_without_a_token)
{
    env e;
    start_env(&e, NULL);
    const char *paths[] = {"/api/actors/worker-1/restart", "/api/actors/worker-1/stop"};
    for (int i = 0; i < 2; i++) {
        hc_resp r = hc_request(e.port, "POST", paths[i], "Authorization: Bearer x\r\n");
        expect_error(&r, 403);
    }
    cr_expect_eq(restarts_of(&e, "worker-1"), 0);
    cr_expect(troupe_alive(e.sys, e.worker));
    stop_env(&e);
}

Test(http, wrong_or_missing_token_is_401)
{
    env e;
    start_env(&e, TOKEN);
    const char *hdrs[] = {NULL, "Authorization: Bearer wrong\r\n",
                          "Authorization: Bearer " TOKEN "x\r\n",
                          "Authorization: Basic " TOKEN "\r\n", "Authorization: Bearer \r\n"};
    for (size_t i = 0; i < sizeof hdrs / sizeof *hdrs; i++) {
        char www[64];
        hc_resp r = hc_request(e.port, "POST", "/api/actors/worker-1/restart", hdrs[i]);
        cr_expect_str_eq(hc_header(&r, "WWW-Authenticate", www, sizeof www),
                         "Bearer realm=\"troupe\"");
        expect_error(&r, 401);
    }
    hc_resp r = get_json(&e, "/api/system", 200);
    cr_expect(strstr(r.body, "\"mutations_enabled\":true"));
    hc_free(&r);
    cr_expect_eq(restarts_of(&e, "worker-1"), 0);
    stop_env(&e);
}

Test(http, restart_with_the_token)
{
    env e;
    start_env(&e, TOKEN);
    hc_resp r = hc_request(e.port, "POST", "/api/actors/worker-1/restart",
                           "Authorization: Bearer " TOKEN "\r\n");
    cr_expect_eq(r.status, 200, "%s", r.raw);
    cr_expect(json_valid(r.body));
    cr_expect(strstr(r.body, "\"ok\":true,\"action\":\"restart\",\"name\":\"worker-1\""));
    hc_free(&r);
    wait_until(restarts_of(&e, "worker-1") == 1);
    cr_expect(troupe_alive(e.sys, e.worker), "the same ref lives on");
    r = get_json(&e, "/api/actors/worker-1", 200);
    cr_expect(strstr(r.body, "\"last_exit\":\"error\""), "%s", r.body);
    hc_free(&r);
    /* not supervised: nothing to restart it */
    r = hc_request(e.port, "POST", "/api/actors/loner/restart", "Authorization: Bearer " TOKEN "\r\n");
    expect_error(&r, 409);
    r = hc_request(e.port, "POST", "/api/actors/nobody/restart", "Authorization: Bearer " TOKEN "\r\n");
    expect_error(&r, 404);
    stop_env(&e);
}

/* Eleven operator restarts in a minute, one more than svc's intensity (10
 * in 60 s): none counts toward it, so nothing escalates and svc lives on. */
Test(http, operator_restarts_do_not_escalate)
{
    env e;
    start_env(&e, TOKEN);
    for (int i = 1; i <= 11; i++) {
        hc_resp r = hc_request(e.port, "POST", "/api/actors/worker-1/restart",
                               "Authorization: Bearer " TOKEN "\r\n");
        cr_assert_eq(r.status, 200, "restart %d: %s", i, r.raw);
        hc_free(&r);
        wait_until(restarts_of(&e, "worker-1") == i);
    }
    troupe_sup_info si;
    cr_assert_eq(troupe_sup_info_get(e.sys, e.group, &si), 0);
    cr_expect_eq(si.escalations, 0);
    cr_expect_eq(si.operator_restarts, 11);
    cr_expect_eq(si.restart_decisions, 0);
    cr_expect(troupe_alive(e.sys, e.worker));
    cr_expect(troupe_alive(e.sys, e.loner), "the system was not shut down");
    hc_resp r = hc_get(e.port, "/metrics");
    cr_expect(strstr(r.body, "troupe_restarts_total{reason=\"operator\"} 11\n"), "%s", r.body);
    hc_free(&r);
    stop_env(&e);
}

Test(http, stop_with_the_token)
{
    env e;
    start_env(&e, TOKEN);
    const char *auth = "Authorization: Bearer " TOKEN "\r\n";
    hc_resp r = hc_request(e.port, "POST", "/api/actors/worker-1/stop", auth);
    cr_expect_eq(r.status, 200, "%s", r.raw);
    cr_expect(strstr(r.body, "\"action\":\"stop\""));
    hc_free(&r);
    /* stopped for good: not restarted, gone from its supervisor */
    wait_until(!troupe_alive(e.sys, e.worker));
    size_t kids = 1;
    wait_until(troupe_sup_children(e.sys, e.group, NULL, 0, &kids) == 0 && kids == 0);
    r = hc_get(e.port, "/api/actors/worker-1");
    expect_error(&r, 404);
    r = hc_request(e.port, "POST", "/api/actors/loner/stop", auth);
    cr_expect_eq(r.status, 200, "%s", r.raw);
    hc_free(&r);
    wait_until(!troupe_alive(e.sys, e.loner));
    stop_env(&e);
}
