/* tests/core/test_oom.c — out of memory, at every allocation in turn.
 *
 * The libuv way: run a whole scenario (create a system, spawn, call, tell inline,
 * heap-copied and pointer payloads, ask, arm a timer, destroy) with the
 * runtime's allocator set to fail after n allocations, for n = 0, 1, 2, ...
 * until a run completes without reaching the failure. Every call must
 * return 0 or TROUPE_ENOMEM — never crash, never another error — and after
 * destroy every pointer payload has been destroyed exactly once (by the
 * runtime, or by us when the send failed). ASan's leak check, which runs
 * this suite in `make test`, proves that no failure path leaks.
 *
 * White-box: it uses the fault-injection knob of core/alloc.h.
 */
#include "../support.h"

#include "core/alloc.h"

enum { M_ADD = 1, M_GET = 2 };

typedef struct echo_state {
    int64_t seen;
    char pad[56]; /* > the inline state: the state is allocated */
} echo_state;

static int echo_handle(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    echo_state *s = st;
    if (m->type == M_GET)
        return troupe_reply(ctx, M_GET, &s->seen, sizeof s->seen);
    s->seen++;
    return 0;
}

static const troupe_behaviour echo_beh = {
    .name = "oom.echo", .state_size = sizeof(echo_state), .handle = echo_handle};

static atomic_int payloads_live;

static void payload_free(void *p)
{
    atomic_fetch_sub(&payloads_live, 1);
    free(p);
}

/* The scenario; returns the first error, 0 if everything succeeded. */
static int scenario(int64_t *seen)
{
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 2;
    troupe_system *sys = NULL;
    int rc = troupe_system_create(&sys, &cfg);
    if (rc)
        return rc;
    troupe_ref r;
    char big[200];
    memset(big, 7, sizeof big);
    int64_t one = 1;
    rc = troupe_spawn(sys, &echo_beh, NULL, NULL, &r);
    int64_t none = -1;
    if (!rc) /* an idle actor: this thread runs it (core/call.c), heap-copied request */
        rc = troupe_call(sys, r, M_GET, big, sizeof big, ASK_FOREVER_NS, NULL, &none, sizeof none,
                         NULL);
    if (!rc)
        rc = troupe_tell(sys, r, M_ADD, &one, sizeof one);
    if (!rc)
        rc = troupe_tell(sys, r, M_ADD, big, sizeof big);
    if (!rc) {
        void *p = malloc(32);
        atomic_fetch_add(&payloads_live, 1);
        rc = troupe_tell_ptr(sys, r, M_ADD, p, payload_free);
        if (rc) /* the caller keeps it on error */
            payload_free(p);
    }
    if (!rc)
        rc = troupe_ask(sys, r, M_GET, NULL, 0, ASK_FOREVER_NS, NULL, seen, sizeof *seen, NULL);
    if (!rc)
        rc = troupe_send_after(sys, r, M_ADD, NULL, 0, 3600 * S_NS, NULL);
    troupe_system_destroy(sys);
    return rc;
}

Test(oom, every_allocation_failure_is_enomem_and_leaks_nothing)
{
    long n;
    int failures = 0;
    for (n = 0; n < 5000; n++) {
        int64_t seen = -1;
        troupei_alloc_fail_after(n);
        int rc = scenario(&seen);
        long left = troupei_alloc_fail_remaining();
        troupei_alloc_fail_after(-1);
        cr_assert(rc == 0 || rc == TROUPE_ENOMEM, "n=%ld: %s", n, troupe_errname(rc));
        cr_assert_eq(atomic_load(&payloads_live), 0, "n=%ld: a payload was not destroyed", n);
        if (rc == TROUPE_ENOMEM) {
            failures++;
            continue;
        }
        cr_assert_eq(seen, 3, "n=%ld: the actor saw %lld messages", n, (long long)seen);
        if (left > 0)
            break; /* a whole run without reaching the failure point */
    }
    cr_assert_lt(n, 5000, "the scenario never completed");
    /* the early failure points (system creation, spawn, the ring, the heap
     * copy, the ask record) must all have been hit */
    cr_expect_geq(failures, 8, "only %d failure points", failures);
}

Test(oom, a_failed_spawn_leaves_the_system_usable)
{
    troupe_system *sys = tt_system(2);
    troupe_ref r;
    troupei_alloc_fail_after(0);
    int rc = troupe_spawn(sys, &echo_beh, NULL, NULL, &r);
    troupei_alloc_fail_after(-1);
    cr_expect_eq(rc, TROUPE_ENOMEM);
    cr_expect(troupe_ref_is_none(r));
    cr_assert_eq(troupe_spawn(sys, &echo_beh, NULL, NULL, &r), 0);
    int64_t one = 1, seen = 0;
    cr_assert_eq(troupe_tell(sys, r, M_ADD, &one, sizeof one), 0);
    cr_assert_eq(troupe_ask(sys, r, M_GET, NULL, 0, ASK_FOREVER_NS, NULL, &seen, sizeof seen,
                            NULL),
                 0);
    cr_expect_eq(seen, 1);
    troupe_system_destroy(sys);
}

/* ---- the feature folders' allocations ------------------------------------------
 *
 * The same walk over supervision, persistence, breakers, flags, adapters
 * and the HTTP server: each scenario builds what it needs with the
 * injection off, arms it (fail the n-th allocation from here on, and every
 * one after it), runs the feature's operations, disarms, and destroys.
 * Synchronous calls must answer 0 or TROUPE_ENOMEM; work that fails on
 * another thread (a restart, a journal write, a request) must end cleanly:
 * no crash, and ASan's leak check at exit finds nothing. */

#include "troupe_config.h" /* a feature built out (-Dhttp, -Dmigrate) has no walk */
#if TROUPE_HAVE_HTTP
#include "../http/client.h"
#endif
#if TROUPE_HAVE_MIGRATE
#include "../migrate/store.h"
#endif
#include "../persistence/pers_support.h"

/* Each walk stops at the first n whose run never reached the failure: a
 * bound far above any of them keeps a broken walk from running forever. */
#define WALK_MAX 3000

typedef int (*oom_run)(long n, long *left);

static void ok_or_enomem(int rc, long n, const char *what)
{
    cr_assert(rc == 0 || rc == TROUPE_ENOMEM, "n=%ld: %s: %s", n, what, troupe_errname(rc));
}

/* Returns how many runs failed (reached an injected failure). */
static int walk(const char *name, oom_run run)
{
    int failures = 0;
    long n;
    for (n = 0; n < WALK_MAX; n++) {
        long left = -1;
        int rc = run(n, &left);
        troupei_alloc_fail_after(-1);
        ok_or_enomem(rc, n, name);
        if (rc == 0 && left > 0)
            break;
        failures++;
    }
    cr_assert_lt(n, WALK_MAX, "%s: the scenario never completed", name);
    return failures;
}

/* Arm, or read how many allocations were left and disarm. */
static void arm(long n) { troupei_alloc_fail_after(n); }
static long disarm(void)
{
    long left = troupei_alloc_fail_remaining();
    troupei_alloc_fail_after(-1);
    return left;
}

static troupe_system *quiet_system(troupe_journal *j)
{
    troupe_config cfg = tt_config(2, NULL);
    cfg.journal = j;
    troupe_system *sys = NULL;
    cr_assert_eq(troupe_system_create(&sys, &cfg), 0);
    return sys;
}

/* -- supervision: a supervisor, two named children with arguments, a
 *    failure that restarts both (ONE_FOR_ALL) -- */

enum { M_FAIL = 3 };

static int crashy_handle(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    return m->type == M_FAIL ? TROUPE_EFAILED : echo_handle(ctx, st, m);
}

static const troupe_behaviour crashy_beh = {
    .name = "oom.crashy", .state_size = sizeof(echo_state), .handle = crashy_handle};

static int start_kid(troupe_system *sys, troupe_sup sup, const char *name, troupe_ref *out)
{
    troupe_child_spec cs;
    troupe_child_spec_defaults(&cs);
    cs.beh = &crashy_beh;
    int64_t arg = 42;
    cs.arg = &arg;
    cs.arg_size = sizeof arg;
    cs.name = name;
    cs.policy.kind = TROUPE_RESTART_ALWAYS;
    return troupe_sup_start_child(sys, sup, &cs, out);
}

/* Both children restarted, or the failure point reached (the restart may
 * then have failed: the supervisor escalates, destroy cleans up). */
static bool group_restarted(troupe_system *sys, troupe_ref b)
{
    troupe_child_info ci;
    if (troupei_alloc_fail_remaining() == 0)
        return true;
    return troupe_child_info_get(sys, b, &ci) == 0 && ci.restarts >= 1;
}

static int sup_run(long n, long *left)
{
    troupe_system *sys = quiet_system(NULL);
    troupe_sup root, sub;
    troupe_sup_spec ss;
    troupe_sup_spec_defaults(&ss);
    ss.strategy = TROUPE_ONE_FOR_ALL;
    ss.name = "oom.sup";
    troupe_ref a, b;
    arm(n);
    int rc = troupe_sup_root(sys, &root);
    if (!rc)
        rc = troupe_sup_start_supervisor(sys, root, &ss, &sub);
    if (!rc)
        rc = start_kid(sys, sub, "oom.a", &a);
    if (!rc)
        rc = start_kid(sys, sub, "oom.b", &b);
    if (!rc && (rc = troupe_tell(sys, a, M_FAIL, NULL, 0)) == 0)
        wait_until(group_restarted(sys, b));
    *left = disarm();
    troupe_system_destroy(sys);
    return rc;
}

Test(oom, supervision_failures_are_enomem_and_leak_nothing, .timeout = 120)
{
    cr_expect_geq(walk("supervision", sup_run), 6);
}

/* -- persistence: a memory journal, a persistent actor that persists,
 *    snapshots, and recovers on its next spawn -- */

static const troupe_persistence oom_persist = {.apply = ledger_apply,
                                               .snapshot = ledger_snapshot,
                                               .restore = ledger_restore,
                                               .schema = 1,
                                               .snapshot_every = 2,
                                               .retention = 1};

static const troupe_behaviour oom_ledger = {.name = "oom.ledger",
                                            .state_size = sizeof(ledger),
                                            .handle = ledger_handle,
                                            .persist = &oom_persist};

static int ledger_start(troupe_system *sys, troupe_ref *r)
{
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.persistence_id = "oom-ledger";
    return troupe_spawn(sys, &oom_ledger, NULL, &o, r);
}

/* An ask of the ledger. Its reply (or the journal write it waits for)
 * may be what failed: the actor then never answers, or has failed, and
 * the ask times out; short asks, repeated, tell that from a slow machine
 * (the failure point was reached, or not yet). A repeated ADD persists one
 * more event: the walk checks no values. */
static int ledger_call(troupe_system *sys, troupe_ref r, uint32_t type, uint64_t v)
{
    uint64_t start = tt_now_ns();
    for (;;) {
        ledger out;
        int rc = troupe_ask(sys, r, type, &v, sizeof v, 50 * MS_NS, NULL, &out, sizeof out, NULL);
        if (rc == 0)
            return 0;
        if (troupei_alloc_fail_remaining() == 0)
            return TROUPE_ENOMEM;
        if (rc != TROUPE_ETIMEDOUT)
            return rc;
        cr_assert_lt(tt_now_ns() - start, HANG_LIMIT_NS, "hang guard: the ledger never answers");
    }
}

/* Three persisted events (a snapshot after two), each answered once
 * durable. */
static int ledger_feed(troupe_system *sys, troupe_ref r)
{
    int rc = 0;
    for (uint64_t v = 1; rc == 0 && v <= 3; v++)
        rc = ledger_call(sys, r, P_ADD, v);
    return rc;
}

static int pers_run(long n, long *left)
{
    troupe_journal *j = NULL;
    arm(n);
    int rc = troupe_journal_open_memory(&j);
    *left = disarm();
    if (rc)
        return rc;
    troupe_system *sys = quiet_system(j);
    troupe_ref r;
    arm(*left);
    if (!(rc = ledger_start(sys, &r)))
        rc = ledger_feed(sys, r);
    if (!rc && (rc = troupe_stop(sys, r)) == 0) {
        wait_until(!troupe_alive(sys, r));
        rc = ledger_start(sys, &r); /* recovers: the snapshot, then the event after it */
        if (!rc)
            rc = ledger_call(sys, r, P_GET, 0);
    }
    *left = disarm();
    troupe_system_destroy(sys);
    troupe_journal_close(j);
    return rc;
}

Test(oom, persistence_failures_are_enomem_and_leak_nothing, .timeout = 120)
{
    cr_expect_geq(walk("persistence", pers_run), 6);
}

/* -- breakers: create, three circuits, outcomes, the list -- */

static int brk_ops(troupe_system *sys, troupe_breaker **b)
{
    int rc = troupe_breaker_create(sys, "oom", NULL, b);
    for (uint64_t k = 1; rc == 0 && k <= 3; k++) {
        troupe_breaker_permit p;
        if ((rc = troupe_breaker_acquire(*b, k, &p)) == 0)
            rc = troupe_breaker_record(*b, &p, k == 2 ? TROUPE_EFAILED : 0);
    }
    troupe_breaker_info v[4];
    size_t total = 0;
    if (!rc)
        rc = troupe_breaker_list(sys, v, 4, &total);
    return rc;
}

static int brk_run(long n, long *left)
{
    troupe_system *sys = quiet_system(NULL);
    troupe_breaker *b = NULL;
    arm(n);
    int rc = brk_ops(sys, &b);
    *left = disarm();
    troupe_breaker_destroy(b);
    troupe_system_destroy(sys);
    return rc;
}

/* -- process groups: the keeper, joins, a monitor, publish, a leave, a
 *    member's stop -- */

static int grp_ops(troupe_system *sys, troupe_ref a, troupe_ref b)
{
    uint64_t id;
    size_t got;
    int rc = troupe_group_monitor(sys, "oom.g", a, &id);
    if (!rc)
        rc = troupe_group_join(sys, "oom.g", a);
    if (!rc)
        rc = troupe_group_join(sys, "oom.g", b);
    if (!rc)
        rc = troupe_group_join(sys, "oom.h", b);
    if (!rc)
        rc = troupe_group_publish(sys, "oom.g", M_ADD, NULL, 0, &got);
    if (!rc)
        rc = troupe_group_leave(sys, "oom.g", a);
    if (!rc)
        rc = troupe_stop(sys, b);
    return rc;
}

static int grp_run(long n, long *left)
{
    troupe_system *sys = quiet_system(NULL);
    troupe_ref a = tt_spawn(sys, &echo_beh, NULL, NULL), b = tt_spawn(sys, &echo_beh, NULL, NULL);
    arm(n);
    int rc = grp_ops(sys, a, b);
    *left = disarm();
    troupe_system_destroy(sys);
    return rc;
}

Test(oom, group_failures_are_enomem_and_leak_nothing, .timeout = 120)
{
    cr_expect_geq(walk("group", grp_run), 4);
}

Test(oom, breaker_failures_are_enomem_and_leak_nothing, .timeout = 120)
{
    cr_expect_geq(walk("breaker", brk_run), 2);
}

#if TROUPE_HAVE_MIGRATE
/* -- migration: flags from a file, a runtime flag, an adapter over the
 *    store with calls in shadow mode, a recorded trace replayed -- */

static char flags_path[64];

static void write_flags_file(void)
{
    snprintf(flags_path, sizeof flags_path, "/tmp/troupe-oom-flags-%d", (int)getpid());
    FILE *f = fopen(flags_path, "w");
    cr_assert(f);
    fputs("# oom walk\noom.one = on\noom.two = 25%\n", f);
    fclose(f);
}

static int flags_ops(troupe_system *sys)
{
    troupe_flags_config fc;
    troupe_flags_config_defaults(&fc);
    fc.path = flags_path;
    fc.poll_ns = 0;
    fc.env_prefix = "";
    int rc = troupe_flags_load(sys, &fc);
    if (!rc)
        rc = troupe_flags_set(sys, "oom.three", "on");
    if (!rc)
        rc = troupe_flags_reload(sys);
    return rc;
}

static int adapter_ops(troupe_system *sys, store *obj, pthread_rwlock_t *lock, troupe_ref actor)
{
    troupe_adapter_config ac;
    troupe_adapter_config_defaults(&ac);
    ac.obj = obj, ac.lock = lock, ac.actor = actor;
    /* a shadow call whose actor reply could not be allocated waits for
     * this, then answers the legacy result: short, so the walk is quick */
    ac.timeout_ns = 100 * MS_NS;
    troupe_adapter h;
    int rc = troupe_adapter_create(sys, &store_def, &ac, &h);
    if (!rc)
        rc = troupe_adapter_set_mode(sys, "store", TROUPE_MODE_SHADOW, 0);
    add_arg a = {3, 5};
    int64_t res;
    size_t len;
    for (int i = 0; rc == 0 && i < 2; i++)
        rc = troupe_adapter_call(sys, h, OP_ADD, 7, &a, sizeof a, &res, sizeof res, &len);
    return rc;
}

static int mig_run(long n, long *left)
{
    troupe_system *sys = quiet_system(NULL);
    store obj = {{0}};
    pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
    troupe_ref actor = tt_spawn(sys, &store_beh, NULL, NULL);
    arm(n);
    int rc = flags_ops(sys);
    if (!rc)
        rc = adapter_ops(sys, &obj, &lock, actor);
    *left = disarm();
    troupe_system_destroy(sys);
    return rc;
}

Test(oom, migration_failures_are_enomem_and_leak_nothing, .timeout = 120)
{
    write_flags_file();
    int failures = walk("migrate", mig_run);
    unlink(flags_path);
    cr_expect_geq(failures, 4);
}
#endif

#if TROUPE_HAVE_HTTP
/* -- the HTTP server: start, then requests that walk the supervision tree,
 *    the flags and the metrics. A request whose allocation failed is
 *    answered 500 or closed; the server stays up and stops cleanly. -- */

static int http_request(int port, const char *path)
{
    hc_resp r = hc_get(port, path);
    int st = r.status;
    hc_free(&r);
    if (st == 200)
        return 0;
    cr_assert(st == 500 || st == 503 || st == 0, "%s answered %d", path, st);
    return TROUPE_ENOMEM;
}

static int http_run(long n, long *left)
{
    troupe_system *sys = quiet_system(NULL);
    troupe_http_config hc;
    troupe_http_config_defaults(&hc);
    hc.port = 0;
    hc.token = "oom-token";
    hc.allowed_hosts = "127.0.0.1,localhost";
    troupe_http *h = NULL;
    arm(n);
    int rc = troupe_http_start(sys, &hc, &h);
    const char *paths[] = {"/api/system", "/api/actors", "/metrics",
#if TROUPE_HAVE_MIGRATE
                           "/api/flags",
#endif
    };
    for (size_t i = 0; rc == 0 && i < sizeof paths / sizeof *paths; i++)
        rc = http_request(troupe_http_port(h), paths[i]);
    *left = disarm();
    troupe_http_stop(h);
    troupe_system_destroy(sys);
    return rc;
}

Test(oom, http_failures_are_enomem_and_leak_nothing, .timeout = 120)
{
    cr_expect_geq(walk("http", http_run), 4);
}
#endif

/* -- asynchronous calls, deferred replies, views (troupe/async.h): a call
 *    queue with its fd, a call with a heap-copied payload answered through
 *    a deferred token, a callback, a view published and read -- */

enum { A_ECHO = 1, A_PUB = 2 };

static void oom_view_free(void *p) { free(p); }

static int async_handle(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    (void)st;
    if (m->type == A_PUB) { /* answers the publish's own result */
        int32_t rc = 0;
        int64_t *v = malloc(sizeof *v);
        if (!v || (rc = troupe_view_publish(ctx, v, oom_view_free)))
            free(v);
        return troupe_reply(ctx, A_PUB, &rc, sizeof rc) == TROUPE_ESTATE ? -1 : 0;
    }
    troupe_reply_token t;
    if (troupe_reply_defer(ctx, &t)) /* no memory for the ext: answer now */
        return troupe_reply(ctx, A_ECHO, NULL, 0) == TROUPE_ESTATE ? -1 : 0;
    troupe_system *sys = troupe_ctx_system(ctx);
    if (troupe_reply_to(sys, t, A_ECHO, m->data, m->size)) /* the copy failed */
        return troupe_reply_to(sys, t, A_ECHO, NULL, 0) ? -1 : 0;
    return 0;
}

static const troupe_behaviour async_beh = {.name = "oom.async", .handle = async_handle};

static void oom_cb(void *ud, int rc, uint32_t type, const void *data, size_t len)
{
    (void)type, (void)data, (void)len;
    if (rc)
        tt_die("callback outcome %s", troupe_errname(rc));
    atomic_fetch_add((atomic_int *)ud, 1);
}

static void oom_read(const void *view, void *ud) { *(int64_t *)ud = *(const int64_t *)view; }

static int async_ops(troupe_system *sys, troupe_callq *q, troupe_ref r, atomic_int *cbs)
{
    char big[100];
    memset(big, 3, sizeof big);
    troupe_call_id c;
    int rc = troupe_ask_start(q, r, A_ECHO, big, sizeof big, HANG_LIMIT_NS, NULL, &c);
    if (rc)
        return rc;
    cr_assert_eq(troupe_call_wait(q, c, HANG_LIMIT_NS), 0);
    cr_assert_eq(troupe_call_result(q, c, NULL, big, sizeof big, NULL), 0);
    troupe_call_id listed;
    while ((rc = troupe_callq_next(q, &listed, NULL)) == 0)
        cr_assert_eq(listed.id, c.id);
    cr_assert_eq(rc, TROUPE_EBUSY);
    cr_assert_eq(troupe_call_release(q, c), 0);
    if ((rc = troupe_ask_cb(sys, r, A_ECHO, NULL, 0, HANG_LIMIT_NS, oom_cb, cbs)))
        return rc;
    wait_until(atomic_load(cbs) == 1);
    int32_t pub = -1;
    if ((rc = troupe_ask(sys, r, A_PUB, NULL, 0, HANG_LIMIT_NS, NULL, &pub, sizeof pub, NULL)))
        return rc;
    int64_t seen = -1;
    if (pub == 0)
        cr_assert_eq(troupe_view_read(sys, r, oom_read, &seen), 0);
    return pub;
}

static int async_run(long n, long *left)
{
    troupe_system *sys = quiet_system(NULL);
    troupe_ref r;
    troupe_callq *q = NULL;
    atomic_int cbs = 0;
    arm(n);
    int rc = troupe_spawn(sys, &async_beh, NULL, NULL, &r);
    if (!rc)
        rc = troupe_callq_create(sys, TROUPE_CALLQ_FD, &q);
    if (!rc)
        rc = async_ops(sys, q, r, &cbs);
    *left = disarm();
    troupe_callq_destroy(q);
    troupe_system_destroy(sys);
    return rc;
}

Test(oom, async_calls_and_views_are_enomem_and_leak_nothing, .timeout = 120)
{
    cr_expect_geq(walk("async", async_run), 6);
}

#if TROUPE_HAVE_TRACE
#include "troupe/probe.h"
#include "troupe/trace.h"
/* -- tracing: the tracer enabled (its queue, names, exporter), a probe
 *    armed on an actor, traced tells and asks under a root span, a flush
 *    (the exporter's batch and OTLP body; nothing listens, so the spans are
 *    counted as dropped). Every call answers 0 or TROUPE_ENOMEM; after the
 *    walk's failure the tracer can still be enabled; no message is lost:
 *    the echo counted exactly the tells that were accepted, and an
 *    untraced tell after it all is delivered. -- */

static troupe_trace_config trace_cfg(void)
{
    troupe_trace_config c;
    troupe_trace_config_defaults(&c);
    c.endpoint = "http://127.0.0.1:9/v1/traces"; /* discard: nothing listens */
    c.max_retries = 0;
    c.timeout_ms = 1000;
    c.batch_ms = 5;
    c.queue = 16;
    c.seed = 7;
    return c;
}

static int64_t echo_seen(troupe_system *sys, troupe_ref r)
{
    int64_t v = -1;
    uint32_t rt = 0;
    size_t n = 0;
    cr_assert_eq(troupe_ask(sys, r, M_GET, NULL, 0, ASK_FOREVER_NS, &rt, &v, sizeof v, &n), 0);
    return v;
}

/* The traced part; *sent counts the tells accepted. */
static int trace_ops(troupe_system *sys, troupe_ref r, int64_t *sent)
{
    troupe_trace_config c = trace_cfg();
    int rc = troupe_trace_enable(sys, &c);
    if (rc == 0)
        rc = troupe_trace_arm(sys, r, 8);
    if (rc == 0)
        rc = troupe_trace_start(sys, "oom.root");
    for (int i = 0; rc == 0 && i < 20; i++) { /* more spans than the queue holds */
        int64_t v = i;
        rc = troupe_tell(sys, r, M_ADD, &v, sizeof v);
        *sent += rc == 0;
    }
    int64_t got = -1;
    uint32_t rt = 0;
    size_t n = 0;
    if (rc == 0)
        rc = troupe_ask(sys, r, M_GET, NULL, 0, ASK_FOREVER_NS, &rt, &got, sizeof got, &n);
    if (troupe_trace_end(sys) == 0 && rc == 0)
        rc = troupe_trace_flush(sys, 5000);
    return rc == TROUPE_ETIMEDOUT ? 0 : rc; /* a flush that could not finish in time */
}

static int trace_run(long n, long *left)
{
    troupe_system *sys = quiet_system(NULL);
    troupe_ref r;
    cr_assert_eq(troupe_spawn(sys, &echo_beh, NULL, NULL, &r), 0);
    int64_t sent = 0;
    arm(n);
    int rc = trace_ops(sys, r, &sent);
    *left = disarm();
    ok_or_enomem(rc, n, "trace");
    troupe_trace_config c = trace_cfg();
    int again = troupe_trace_enable(sys, &c); /* what the failure left is usable */
    cr_assert(again == 0 || again == TROUPE_EEXIST, "n=%ld: enable after: %s", n,
              troupe_errname(again));
    int64_t v = 1000;
    cr_assert_eq(troupe_tell(sys, r, M_ADD, &v, sizeof v), 0);
    cr_assert_eq(echo_seen(sys, r), sent + 1, "n=%ld: a tell was lost", n);
    troupe_trace_stats st;
    cr_assert_eq(troupe_trace_stats_get(sys, &st), 0);
    troupe_system_destroy(sys);
    return rc;
}

Test(oom, trace_failures_are_enomem_and_leak_nothing, .timeout = 240)
{
    cr_expect_geq(walk("trace", trace_run), 4);
}
#endif

#if TROUPE_HAVE_CLUSTER
#include "cluster/frame.h"
/* -- the cluster's wire frames (no NATS needed): an encoder fed envelopes
 *    of every kind, some traced, payloads growing past each doubling of
 *    its buffer, then the frame decoded. An add that fails leaves the frame
 *    as it was (frame.h): the decoder hands back exactly the envelopes
 *    whose add answered 0, in order, byte for byte. -- */

enum { FR_N = 24, FR_MAX = 1 << 16 };

typedef struct fr_seen {
    uint32_t n;
    uint32_t types[FR_N];
    bool traced[FR_N], bytes_ok[FR_N];
} fr_seen;

static uint8_t fr_payload[FR_MAX];

static void fr_sink(void *arg, const frame_env *env)
{
    fr_seen *s = arg;
    cr_assert_lt(s->n, FR_N);
    s->types[s->n] = env->type;
    s->traced[s->n] = env->trace != NULL;
    s->bytes_ok[s->n] = env->len == (env->type * 97u) % 5000u &&
                        (env->len == 0 || memcmp(env->payload, fr_payload, env->len) == 0);
    s->n++;
}

static int frame_run(long n, long *left)
{
    for (size_t i = 0; i < sizeof fr_payload; i++)
        fr_payload[i] = (uint8_t)(i * 31 + 7);
    static const uint8_t trace[FRAME_TRACE_LEN] = {1, 2, 3};
    frame_buf fb;
    frame_init(&fb, 42);
    uint32_t added[FR_N], na = 0;
    bool traced[FR_N];
    int first = 0;
    arm(n);
    for (uint32_t i = 1; i <= FR_N; i++) {
        uint8_t kind = (uint8_t)(FRAME_TELL + i % FRAME_KIND_MAX);
        bool tr = kind == FRAME_TELL || kind == FRAME_ASK || kind == FRAME_CSEND;
        frame_env e = {.kind = kind, .type = i, .from = i, .to = i + 1, .ask_id = i,
                       .len = (i * 97u) % 5000u, .payload = fr_payload,
                       .trace = tr && i % 2 ? trace : NULL};
        int rc = frame_add(&fb, &e, FR_MAX);
        ok_or_enomem(rc, n, "frame_add");
        if (rc == 0) {
            traced[na] = e.trace != NULL;
            added[na++] = i;
        } else if (!first)
            first = rc;
    }
    *left = disarm();
    fr_seen s = {0};
    frame_stats st = {0};
    uint64_t inc = 0;
    size_t got = na ? frame_decode(fb.data, fb.len, FR_MAX, fr_sink, &s, &inc, &st) : 0;
    cr_assert_eq(got, na, "n=%ld: %zu decoded, %u added", n, got, na);
    cr_assert_eq(st.bad_header + st.truncated + st.bad_envelope + st.trailing, 0, "n=%ld", n);
    for (uint32_t k = 0; k < na; k++) {
        cr_assert_eq(s.types[k], added[k], "n=%ld: envelope %u", n, k);
        cr_assert_eq(s.traced[k], traced[k], "n=%ld: envelope %u's trace", n, k);
        cr_assert(s.bytes_ok[k], "n=%ld: envelope %u's payload", n, k);
    }
    frame_free(&fb);
    return first;
}

Test(oom, cluster_frame_failures_are_enomem_and_lose_nothing)
{
    cr_expect_geq(walk("frame", frame_run), 3);
}
#endif
