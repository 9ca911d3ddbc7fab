/* tests/http/test_http_pools.c — worker pools on the Prometheus page and in
 * /api/system (docs/METRICS.md "Worker pools", docs/POOLS.md): each pool's
 * workers, CPU set and kind, and — with a handler held in a gate in the
 * blocking pool — the blocked count and the run queue behind it, read
 * while it is held and again once it is let go. The page must stay valid
 * for the real promtool. Waits are hang guards (wait_until, the gate, the
 * client's read timeout); no assertion depends on how long something took. */
#include "../support.h"
#include "client.h"
#include "promtool.h"
#include "observe/cpuset.h"

#include <sys/wait.h>
#include <troupe/http.h>

enum { M_BLOCK = 1, M_NOTE };

typedef struct held {
    tt_gate gate;
    atomic_int handled;
} held;

typedef struct hst {
    held *h;
} hst;

static int i_held(troupe_ctx *ctx, void *st, const void *arg)
{
    (void)ctx;
    ((hst *)st)->h = (held *)arg;
    return 0;
}

static int h_held(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    (void)ctx;
    held *h = ((hst *)st)->h;
    if (m->type == M_BLOCK)
        tt_gate_wait(&h->gate);
    atomic_fetch_add(&h->handled, 1);
    return 0;
}

static const troupe_behaviour held_beh = {
    .name = "pools.held", .state_size = sizeof(hst), .init = i_held, .handle = h_held};

typedef struct env {
    troupe_system *sys;
    troupe_http *srv;
    int port;
} env;

static void pool_cfg(troupe_pool_config *p, const char *name, uint32_t workers, int blocking,
                     uint32_t max)
{
    troupe_pool_config_defaults(p);
    p->name = name;
    p->workers = workers;
    p->pin = 0;
    p->blocking = blocking;
    p->max_workers = max;
}

/* default: 1 worker; io: 2 workers on CPU 0 (every machine has it); blk:
 * a blocking pool of 1 worker that may not grow, so that what queues
 * behind its held handler stays queued while the test reads it. */
static void start(env *e)
{
    static const int cpu0[] = {0};
    troupe_pool_config p[3];
    pool_cfg(&p[0], "default", 1, 0, 0);
    pool_cfg(&p[1], "io", 2, 0, 0);
    p[1].cpus = cpu0;
    p[1].ncpus = 1;
    pool_cfg(&p[2], "blk", 1, 1, 1);
    troupe_config c;
    troupe_config_defaults(&c);
    c.pin = 0;
    c.pools = p;
    c.npools = 3;
    cr_assert_eq(troupe_system_create(&e->sys, &c), 0);
    cr_assert_eq(troupe_http_start(e->sys, NULL, &e->srv), 0);
    e->port = troupe_http_port(e->srv);
    cr_assert_gt(e->port, 0);
}

static void stop(env *e)
{
    troupe_http_stop(e->srv);
    troupe_system_destroy(e->sys);
}

static troupe_ref spawn_in(env *e, held *h, const char *pool)
{
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.pool = pool;
    troupe_ref ref;
    cr_assert_eq(troupe_spawn(e->sys, &held_beh, h, &o, &ref), 0);
    return ref;
}

/* GET /metrics: 200, accepted by promtool (when installed). */
static hc_resp get_metrics(int port)
{
    hc_resp r = hc_get(port, "/metrics");
    cr_assert_eq(r.status, 200, "%s", r.raw);
    int ok = tt_promtool_ok(r.body, strlen(r.body));
    cr_expect(ok != 0, "promtool check metrics refuses the page:\n%s", r.body);
    if (ok < 0)
        cr_log_info("promtool not installed: the page's lines checked only");
    return r;
}

/* The value of the sample `name{pool="pool"}` on the page; -1 when absent. */
static long long sample(const char *page, const char *name, const char *pool)
{
    char pat[160];
    snprintf(pat, sizeof pat, "\n%s{pool=\"%s\"} ", name, pool);
    const char *p = strstr(page, pat);
    return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/* The pool `name`'s object in /api/system's "pools" (its first key). */
static const char *pool_json(const char *body, const char *name)
{
    char pat[96];
    snprintf(pat, sizeof pat, "{\"name\":\"%s\",", name);
    const char *pools = strstr(body, "\"pools\":[");
    return pools ? strstr(pools, pat) : NULL;
}

Test(http_pools, cpu_sets_are_written_as_linux_lists)
{
    char buf[64];
    const int mixed[] = {3, 1, 2, 0, 8, -1, 2, 10, 11};
    cpuset_format(mixed, 9, buf, sizeof buf);
    cr_expect_str_eq(buf, "0-3,8,10-11");
    const int one[] = {5, 5};
    cpuset_format(one, 2, buf, sizeof buf);
    cr_expect_str_eq(buf, "5");
    const int unknown[] = {-1, -1};
    cpuset_format(unknown, 2, buf, sizeof buf);
    cr_expect_str_eq(buf, "", "no CPU known: an empty set");
    char small[4];
    cpuset_format(mixed, 9, small, sizeof small);
    cr_expect_eq(strlen(small), 3, "cut to the buffer, terminated: %s", small);
}

Test(http_pools, metrics_and_api_show_each_pool)
{
    env e;
    start(&e);
    hc_resp r = get_metrics(e.port);
    cr_expect_eq(sample(r.body, "troupe_pool_workers", "io"), 2, "%s", r.body);
    cr_expect_eq(sample(r.body, "troupe_pool_workers_configured", "io"), 2);
    cr_expect_eq(sample(r.body, "troupe_pool_workers_max", "io"), 2);
    cr_expect_eq(sample(r.body, "troupe_pool_workers", "default"), 1);
    cr_expect_eq(sample(r.body, "troupe_pool_workers", "blk"), 1);
    cr_expect_eq(sample(r.body, "troupe_pool_workers_max", "blk"), 1);
    cr_expect_eq(sample(r.body, "troupe_pool_workers_blocked", "blk"), 0, "nothing runs");
    cr_expect_eq(sample(r.body, "troupe_pool_runq_length", "io"), 0);
    cr_expect(strstr(r.body, "\ntroupe_pool_info{pool=\"io\",cpus=\"0\",blocking=\"0\"} 1\n"),
              "%s", r.body);
    cr_expect(strstr(r.body, "\ntroupe_pool_info{pool=\"blk\",cpus=\""), "%s", r.body);
    cr_expect(strstr(r.body, "\",blocking=\"1\"} 1\n"), "blk is a blocking pool: %s", r.body);
    cr_expect(strstr(r.body, "# TYPE troupe_pool_workers_parked gauge\n"));
    cr_expect(strstr(r.body, "# TYPE troupe_pool_workers_spinning gauge\n"));
    hc_free(&r);
    r = hc_get(e.port, "/api/system");
    cr_assert_eq(r.status, 200, "%s", r.raw);
    cr_expect(json_valid(r.body), "%s", r.body);
    const char *io = pool_json(r.body, "io");
    cr_assert(io, "no pool io in %s", r.body);
    cr_expect_eq(hc_num(io, "workers"), 2);
    cr_expect_eq(hc_num(io, "configured"), 2);
    cr_expect(strncmp(strstr(io, "\"cpu_set\":"), "\"cpu_set\":\"0\"", 13) == 0, "%s", io);
    cr_expect(strstr(io, "\"blocking\":false"), "%s", io);
    const char *dflt = pool_json(r.body, "default");
    cr_expect(dflt && dflt < io, "the default pool first: %s", r.body);
    const char *blk = pool_json(r.body, "blk");
    cr_assert(blk, "%s", r.body);
    cr_expect(strncmp(blk, "{\"name\":\"blk\",\"blocking\":true", 29) == 0, "%s", blk);
    hc_free(&r);
    stop(&e);
}

/* pool "blk" from the HTTP side, with the handler held: blocked 1, and the
 * second actor queued behind it (the pool may not grow). */
static void expect_held(env *e)
{
    hc_resp r = get_metrics(e->port);
    cr_expect_eq(sample(r.body, "troupe_pool_workers_blocked", "blk"), 1, "%s", r.body);
    cr_expect_eq(sample(r.body, "troupe_pool_runq_length", "blk"), 1, "%s", r.body);
    cr_expect_eq(sample(r.body, "troupe_pool_workers_blocked", "io"), 0);
    hc_free(&r);
    r = hc_get(e->port, "/api/system");
    cr_assert_eq(r.status, 200, "%s", r.raw);
    const char *blk = pool_json(r.body, "blk");
    cr_assert(blk, "%s", r.body);
    cr_expect_eq(hc_num(blk, "blocked"), 1, "%s", blk);
    cr_expect_eq(hc_num(blk, "runq_length"), 1, "%s", blk);
    hc_free(&r);
}

Test(http_pools, a_held_handler_shows_as_blocked_until_it_returns)
{
    env e;
    start(&e);
    held h;
    tt_gate_init(&h.gate);
    atomic_init(&h.handled, 0);
    troupe_ref a = spawn_in(&e, &h, "blk"), b = spawn_in(&e, &h, "blk");
    cr_assert_eq(troupe_tell(e.sys, a, M_BLOCK, NULL, 0), 0);
    wait_until(tt_gate_waiting(&h.gate) == 1);
    cr_assert_eq(troupe_tell(e.sys, b, M_NOTE, NULL, 0), 0); /* queued: blk's worker is held */
    expect_held(&e);
    tt_gate_open(&h.gate);
    wait_until(atomic_load(&h.handled) == 2);
    troupe_pool_info pi; /* the worker clears its mark after the handler returns */
    wait_until(troupe_pool_info_get(e.sys, "blk", &pi) == 0 && pi.blocked == 0 &&
               pi.runq_length == 0);
    hc_resp r = get_metrics(e.port);
    cr_expect_eq(sample(r.body, "troupe_pool_workers_blocked", "blk"), 0, "%s", r.body);
    cr_expect_eq(sample(r.body, "troupe_pool_runq_length", "blk"), 0, "%s", r.body);
    hc_free(&r);
    stop(&e);
    tt_gate_destroy(&h.gate);
}
