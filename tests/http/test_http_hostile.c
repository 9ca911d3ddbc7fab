/* tests/http/test_http_hostile.c — the HTTP API against hostile use: Host
 * names from a DNS-rebinding page, clients that trickle their request a
 * byte at a time, URLs past what libmicrohttpd can hold, names that are not
 * UTF-8 in the Prometheus page, a supervision tree deeper than the JSON
 * writer nests, and actor names that a browser would resolve as "." and
 * "..". Waits are hang guards (wait_until, the client's read timeout); no
 * assertion depends on how long something took. */
#include "../support.h"
#include "client.h"
#include "promtool.h"
#include "http/internal.h" /* the JSON writer, for the depth-error mapping */

#include <poll.h>
#include <sys/wait.h>
#include <troupe/http.h>

#define TOKEN "t0ken-for-tests"

static int echo_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    (void)ctx, (void)st, (void)msg;
    return 0;
}

static const troupe_behaviour echo_beh = {.name = "echo", .handle = echo_handle};

typedef struct srv_env {
    troupe_system *sys;
    troupe_http *srv;
    int port;
} srv_env;

static void start_with(srv_env *e, const troupe_http_config *hc)
{
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 2;
    cr_assert_eq(troupe_system_create(&e->sys, &cfg), 0);
    cr_assert_eq(troupe_http_start(e->sys, hc, &e->srv), 0);
    e->port = troupe_http_port(e->srv);
    cr_assert_gt(e->port, 0);
}

static void stop_env(srv_env *e)
{
    troupe_http_stop(e->srv);
    troupe_system_destroy(e->sys);
}

/* GET path with the given Host header line (NULL: none, as HTTP/1.0). */
static hc_resp get_host(int port, const char *path, const char *host)
{
    char req[1024];
    int n = host ? snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                            path, host)
                 : snprintf(req, sizeof req, "GET %s HTTP/1.0\r\n\r\n", path);
    return hc_raw(port, req, (size_t)n);
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

static void expect_ok(hc_resp *r, const char *what)
{
    cr_expect_eq(r->status, 200, "%s: %d\n%s", what, r->status, r->raw);
    hc_free(r);
}

/* ---- 13: the Host check -------------------------------------------------------------- */

Test(http_hostile, foreign_host_names_are_refused)
{
    srv_env e;
    start_with(&e, NULL);
    char host[64];
    const char *bad[] = {"evil.example", "evil.example:%d", "127.0.0.1.evil.example",
                         "localhost.evil.example", "10.1.2.3", "[::2]:%d", "", "[::1",
                         "localhost:x", "127.0.0.1:%d:1", "local host"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(host, sizeof host, bad[i], e.port);
        hc_resp r = get_host(e.port, "/api/tree", host);
        cr_expect(strstr(r.body, "host") != NULL, "Host %s: %s", host, r.body);
        expect_error(&r, 421);
    }
    hc_resp r = get_host(e.port, "/", "evil.example");
    expect_error(&r, 421); /* the page too: a rebinding page reads everything */
    const char *good[] = {"localhost", "LocalHost:%d", "127.0.0.1", "127.0.0.1:%d", "[::1]",
                          "[::1]:%d", "localhost:1"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        snprintf(host, sizeof host, good[i], e.port);
        r = get_host(e.port, "/api/tree", host);
        expect_ok(&r, host);
    }
    r = get_host(e.port, "/api/system", NULL); /* HTTP/1.0 without a Host */
    expect_ok(&r, "no Host");
    stop_env(&e);
}

Test(http_hostile, allowed_hosts_extend_the_list)
{
    troupe_http_config hc;
    troupe_http_config_defaults(&hc);
    hc.allowed_hosts = "dash.example.org,10.0.0.5,[fe80::1]";
    srv_env e;
    start_with(&e, &hc);
    const char *good[] = {"dash.example.org", "DASH.example.ORG:8080", "10.0.0.5:80",
                          "[fe80::1]:1", "localhost"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        hc_resp r = get_host(e.port, "/api/system", good[i]);
        expect_ok(&r, good[i]);
    }
    const char *bad[] = {"evil.example", "example.org", "sub.dash.example.org", "10.0.0.6"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        hc_resp r = get_host(e.port, "/api/system", bad[i]);
        expect_error(&r, 421);
    }
    stop_env(&e);
}

Test(http_hostile, bad_allowed_hosts_are_refused)
{
    troupe_system *sys;
    troupe_http *srv = NULL;
    cr_assert_eq(troupe_system_create(&sys, NULL), 0);
    const char *bad[] = {"", ",", "a,,b", "a,", "has space", "a/b", "a\nb", "caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        troupe_http_config hc;
        troupe_http_config_defaults(&hc);
        hc.allowed_hosts = bad[i];
        cr_expect_eq(troupe_http_start(sys, &hc, &srv), TROUPE_EINVAL, "%zu", i);
        cr_expect_null(srv);
    }
    char *huge = malloc(TROUPE_HTTP_HOSTS_MAX + 2);
    memset(huge, 'a', TROUPE_HTTP_HOSTS_MAX + 1);
    huge[TROUPE_HTTP_HOSTS_MAX + 1] = '\0';
    troupe_http_config hc;
    troupe_http_config_defaults(&hc);
    hc.allowed_hosts = huge;
    cr_expect_eq(troupe_http_start(sys, &hc, &srv), TROUPE_EINVAL);
    free(huge);
    troupe_http_config_defaults(&hc);
    hc.request_timeout_s = 3601;
    cr_expect_eq(troupe_http_start(sys, &hc, &srv), TROUPE_EINVAL);
    troupe_system_destroy(sys);
}

/* Bound to every address, the server is reached by any of the machine's
 * addresses: an IP literal is accepted (a rebinding page always sends a
 * DNS name), a name only when listed. */
Test(http_hostile, wildcard_bind_accepts_ip_literals)
{
    troupe_http_config hc;
    troupe_http_config_defaults(&hc);
    hc.bind_addr = "0.0.0.0";
    srv_env e;
    start_with(&e, &hc);
    hc_resp r = get_host(e.port, "/api/system", "192.0.2.7:8080");
    expect_ok(&r, "an IP literal");
    r = get_host(e.port, "/api/system", "[2001:db8::1]");
    expect_ok(&r, "an IPv6 literal");
    r = get_host(e.port, "/api/system", "evil.example");
    expect_error(&r, 421);
    stop_env(&e);
}

/* ---- 14: slow clients ---------------------------------------------------------------- */

/* 1 when the server has closed fd (EOF or reset), waiting up to ms. */
static int closed_within(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) <= 0)
        return 0;
    char c[256];
    ssize_t k = recv(fd, c, sizeof c, MSG_DONTWAIT);
    return k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* A client that has sent the start of a request and nothing more. */
static int slow_client(int port)
{
    int fd = hc_connect(port);
    cr_assert(fd >= 0);
    const char start[] = "GET /api/system HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    cr_assert_eq(hc_send_all(fd, start, sizeof start - 1), 0);
    return fd;
}

Test(http_hostile, a_request_trickled_past_the_deadline_is_cut)
{
    troupe_http_config hc;
    troupe_http_config_defaults(&hc);
    hc.timeout_s = 3600;        /* the idle timeout never fires here */
    hc.request_timeout_s = 1;   /* the whole-request deadline does */
    srv_env e;
    start_with(&e, &hc);
    int fd = slow_client(e.port);
    /* One byte every 50 ms keeps the connection busy: only a deadline on
     * the whole request closes it (a hang guard bounds the wait). */
    uint64_t start = tt_now_ns();
    int closed = 0;
    while (!closed && tt_now_ns() - start < HANG_LIMIT_NS) {
        if (send(fd, "a", 1, MSG_NOSIGNAL) != 1)
            closed = 1;
        else
            closed = closed_within(fd, 50);
    }
    cr_expect(closed, "a request trickled for %u s was never cut", HANG_LIMIT_S);
    close(fd);
    hc_resp r = hc_get(e.port, "/api/system");
    expect_ok(&r, "after the cut");
    stop_env(&e);
}

Test(http_hostile, slow_clients_leave_room_for_new_requests)
{
    troupe_http_config hc;
    troupe_http_config_defaults(&hc);
    hc.max_connections = 4;
    hc.timeout_s = 3600;
    hc.request_timeout_s = 3600; /* neither timeout helps: only the room does */
    srv_env e;
    start_with(&e, &hc);
    int slow[6];
    for (int i = 0; i < 6; i++)
        slow[i] = slow_client(e.port);
    for (int round = 0; round < 3; round++) {
        hc_resp r = hc_get(e.port, "/api/system"); /* the client's read timeout is the guard */
        expect_ok(&r, "a GET while slow clients hold every slot");
    }
    /* The oldest unfinished request made room for the newcomers. */
    cr_expect(closed_within(slow[0], (int)HANG_LIMIT_S * 1000), "the oldest slow client stays");
    for (int i = 0; i < 6; i++)
        close(slow[i]);
    stop_env(&e);
}

/* ---- 15: URLs past the connection's memory ---------------------------------------------- */

static char *query_url(int params, const char *fmt)
{
    size_t cap = 32 + (size_t)params * 16;
    char *u = malloc(cap);
    size_t n = (size_t)snprintf(u, cap, "/api/actors?");
    for (int i = 0; i < params; i++)
        n += (size_t)snprintf(u + n, cap - n, fmt, i ? "&" : "", i);
    return u;
}

static hc_resp get_url(int port, const char *url)
{
    size_t cap = strlen(url) + 128;
    char *req = malloc(cap);
    int n = snprintf(req, cap, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", url);
    hc_resp r = hc_raw(port, req, (size_t)n);
    free(req);
    return r;
}

Test(http_hostile, oversized_urls_get_a_json_414)
{
    srv_env e;
    start_with(&e, NULL);
    char *urls[4];
    urls[0] = query_url(400, "%sp%d=1");
    urls[1] = query_url(3000, "%s");         /* "&&&...": one empty parameter each */
    urls[2] = query_url(1200, "%sq%d");
    urls[3] = malloc(6100);                  /* a long path, no query */
    strcpy(urls[3], "/api/actors/");
    memset(urls[3] + 12, 'x', 6000);
    urls[3][6012] = '\0';
    for (int i = 0; i < 4; i++) {
        hc_resp r = get_url(e.port, urls[i]);
        cr_expect(r.status, "URL %d: no answer at all", i);
        expect_error(&r, 414);
        free(urls[i]);
    }
    /* thousands of small headers: libmicrohttpd's own 431 (it answers this
     * one; its body is its own, not JSON) */
    char *req = malloc(40000);
    size_t n = (size_t)sprintf(req, "GET /api/system HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (int i = 0; i < 3000; i++)
        n += (size_t)sprintf(req + n, "X%d: y\r\n", i % 10);
    n += (size_t)sprintf(req + n, "Connection: close\r\n\r\n");
    hc_resp h = hc_raw(e.port, req, n);
    cr_expect(h.status == 431 || h.status == 413, "many headers: %d", h.status);
    hc_free(&h);
    free(req);
    /* a dozen parameters are fine (unknown ones are ignored) */
    char *fine = query_url(12, "%sz%d=1");
    hc_resp r = get_url(e.port, fine);
    expect_ok(&r, "12 parameters");
    free(fine);
    stop_env(&e);
}

/* ---- 16: names that are not UTF-8 in /metrics ------------------------------------------ */

/* Strict RFC 3629 check, written apart from the library's. */
static int utf8_strict(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i], len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        unsigned cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
        if ((c >= 0x80 && c < 0xC2) || c > 0xF4 || i + len > n)
            return 0;
        for (unsigned k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

static const troupe_behaviour bad_beh = {.name = "beh\xc3(\xff", .handle = echo_handle};

Test(http_hostile, metrics_stay_valid_with_names_that_are_not_utf8)
{
    troupe_http_config hc;
    troupe_http_config_defaults(&hc);
    hc.metrics_per_name = 1;
    srv_env e;
    start_with(&e, &hc);
    troupe_ref a, b;
    cr_assert_eq(troupe_spawn(e.sys, &echo_beh, NULL, NULL, &a), 0);
    cr_assert_eq(troupe_register(e.sys, "bad\xff\xfename\xc0\xaf", a), 0);
    cr_assert_eq(troupe_spawn(e.sys, &bad_beh, NULL, NULL, &b), 0);
    cr_assert_eq(troupe_register(e.sys, "sur\xed\xa0\x80x\"q\\", b), 0);
    troupe_breaker *br;
    cr_assert_eq(troupe_breaker_create(e.sys, "br\xf4\x90\x80\x80k\xe2\x82", NULL, &br), 0);
    troupe_breaker_permit pm; /* a circuit shows once a key is used */
    cr_assert_eq(troupe_breaker_acquire(br, 7, &pm), 0);
    cr_assert_eq(troupe_breaker_record(br, &pm, 0), 0);
    hc_resp r = hc_get(e.port, "/metrics");
    cr_assert_eq(r.status, 200, "%s", r.raw);
    size_t len = strlen(r.body);
    cr_expect(utf8_strict((const unsigned char *)r.body, len), "the page is not UTF-8");
    cr_expect(strstr(r.body, "name=\"bad\xef\xbf\xbd\xef\xbf\xbdname"), "%s", r.body);
    cr_expect(strstr(r.body, "type=\"beh\xef\xbf\xbd(\xef\xbf\xbd\""), "%s", r.body);
    cr_expect(strstr(r.body, "x\\\"q\\\\\""), "quotes and backslashes still escaped: %s", r.body);
    cr_expect(strstr(r.body, "breaker=\"br\xef\xbf\xbd"), "%s", r.body);
    int ok = tt_promtool_ok(r.body, len);
    cr_expect(ok != 0, "promtool check metrics refuses the page:\n%s", r.body);
    if (ok < 0)
        cr_log_info("promtool not installed: checked strict UTF-8 only");
    hc_free(&r);
    stop_env(&e);
}

/* ---- 17: a deep supervision tree -------------------------------------------------------- */

static void nest(troupe_system *sys, int depth)
{
    troupe_sup sup;
    cr_assert_eq(troupe_sup_root(sys, &sup), 0);
    for (int i = 0; i < depth; i++) {
        troupe_sup_spec ss;
        troupe_sup_spec_defaults(&ss);
        cr_assert_eq(troupe_sup_start_supervisor(sys, sup, &ss, &sup), 0, "level %d", i);
    }
    troupe_child_spec cs;
    troupe_child_spec_defaults(&cs);
    cs.beh = &echo_beh;
    cs.name = "deepest";
    troupe_ref ref;
    cr_assert_eq(troupe_sup_start_child(sys, sup, &cs, &ref), 0);
}

static void deep_tree(int depth)
{
    srv_env e;
    start_with(&e, NULL);
    nest(e.sys, depth);
    hc_resp r = get_host(e.port, "/api/tree", "127.0.0.1");
    cr_assert_eq(r.status, 200, "%d deep: %s", depth, r.raw);
    cr_expect(json_valid(r.body), "%s", r.body);
    cr_expect(strstr(r.body, "},\"truncated\":true,\"max_depth\":"), "%s", r.body);
    cr_expect(strstr(r.body, "\"kind\":\"supervisor\"") && strstr(r.body, ",\"truncated\":true"),
              "the cut node says so: %s", r.body);
    hc_free(&r);
    stop_env(&e);
}

Test(http_hostile, tree_30_deep) { deep_tree(30); }
Test(http_hostile, tree_100_deep) { deep_tree(100); }

Test(http_hostile, shallow_tree_is_not_truncated)
{
    srv_env e;
    start_with(&e, NULL);
    nest(e.sys, 3);
    hc_resp r = get_host(e.port, "/api/tree", "127.0.0.1");
    cr_assert_eq(r.status, 200, "%s", r.raw);
    cr_expect(strstr(r.body, "},\"truncated\":false,") && strstr(r.body, "\"name\":\"deepest\""),
              "%s", r.body);
    hc_free(&r);
    stop_env(&e);
}

/* A reply nested past the writer's limit is an internal error of its own,
 * not "out of memory". */
Test(http_hostile, a_depth_error_is_not_out_of_memory)
{
    jw w = {0};
    for (int i = 0; i <= JW_DEPTH; i++)
        jw_arr(&w);
    cr_expect(w.too_deep, "the writer notes the depth");
    cr_expect_not(w.b.oom, "and does not call it out of memory");
    const char *msg = http_reply_error(&w);
    cr_expect(msg && strstr(msg, "deep") && !strstr(msg, "memory"), "%s", msg ? msg : "(none)");
    hbuf_free(&w.b);
    jw ok = {0};
    jw_arr(&ok), jw_arr_end(&ok);
    cr_expect_null(http_reply_error(&ok));
    hbuf_free(&ok.b);
}

/* ---- 18: actors named "." and ".." ------------------------------------------------------ */

static long long restarts_of(int port, const char *path)
{
    hc_resp r = get_host(port, path, "127.0.0.1");
    cr_assert_eq(r.status, 200, "%s: %s", path, r.raw);
    long long n = hc_num(r.body, "restarts");
    hc_free(&r);
    return n;
}

/* The page names actors in the query (a browser would resolve a ".." path
 * segment, %2E%2E included); a client that sends the path as it is (curl
 * --path-as-is) may use the path form with dots escaped or not. */
Test(http_hostile, dot_names_reach_their_actor)
{
    troupe_http_config hc;
    troupe_http_config_defaults(&hc);
    hc.token = TOKEN;
    srv_env e;
    start_with(&e, &hc);
    troupe_sup root;
    cr_assert_eq(troupe_sup_root(e.sys, &root), 0);
    const char *names[] = {".", ".."};
    for (int i = 0; i < 2; i++) {
        troupe_child_spec cs;
        troupe_child_spec_defaults(&cs);
        cs.beh = &echo_beh;
        cs.name = names[i];
        cs.policy.kind = TROUPE_RESTART_ALWAYS;
        troupe_ref ref;
        cr_assert_eq(troupe_sup_start_child(e.sys, root, &cs, &ref), 0);
    }
    const char *auth = "Authorization: Bearer " TOKEN "\r\n";
    hc_resp r = hc_request(e.port, "POST", "/api/actor/restart?name=..", auth);
    cr_expect_eq(r.status, 200, "%s", r.raw);
    cr_expect(strstr(r.body, "\"action\":\"restart\",\"name\":\"..\""), "%s", r.body);
    hc_free(&r);
    wait_until(restarts_of(e.port, "/api/actor?name=%2E%2E") == 1);
    r = hc_request(e.port, "POST", "/api/actors/%2E%2E/restart", auth);
    cr_expect_eq(r.status, 200, "%s", r.raw);
    hc_free(&r);
    wait_until(restarts_of(e.port, "/api/actors/..") == 2);
    cr_expect_eq(restarts_of(e.port, "/api/actor?name=."), 0, "only '..' was restarted");
    r = get_host(e.port, "/api/actor?name=%2e", "127.0.0.1");
    cr_expect(strstr(r.body, "\"name\":\".\""), "%s", r.body);
    hc_free(&r);
    const char *bad[] = {"/api/actor", "/api/actor?name=", "/api/actor?name", "/api/actor?name=a%00"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        r = get_host(e.port, bad[i], "127.0.0.1");
        expect_error(&r, 400);
    }
    r = hc_request(e.port, "POST", "/api/actor/stop?name=.", NULL);
    expect_error(&r, 401); /* the query form is as guarded as the path form */
    stop_env(&e);
}
