/* tests/core/test_pool.c — worker pools (include/troupe/pool.h): pools and
 * their CPU sets, actors that run only on their pool's workers, pinned
 * actors never run by another worker, a blocking pool that cannot delay
 * the default one and grows to its bound, supervised children in their
 * spec's pool, and the errors of bad input. */
#include "../support.h"

enum { M_WHERE = 1, M_BLOCK, M_PING, M_PONG };

#define NREC 4096

typedef struct rec {
    atomic_int n;
    atomic_int wrong; /* ran on a worker that is not its own */
    atomic_int last_seq;
    atomic_int out_of_order;
    const char *want_pool;
    int want_worker; /* -1: any */
    tt_gate *gate;
} rec;

typedef struct ast {
    rec *r;
} ast;

static int i_rec(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx;
    ((ast *)state)->r = (rec *)arg;
    return 0;
}

static int h_rec(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    rec *r = ((ast *)state)->r;
    const char *p = troupe_current_pool();
    bool bad = !p || strcmp(p, r->want_pool) != 0;
    if (r->want_worker >= 0 && troupe_ctx_worker(ctx) != (uint32_t)r->want_worker)
        bad = true;
    if (bad)
        atomic_fetch_add(&r->wrong, 1);
    if (m->type == M_BLOCK)
        tt_gate_wait(r->gate);
    atomic_fetch_add(&r->n, 1); /* before the reply: the asker counts it */
    if (m->type == M_PING) { /* a ping-pong's number: in order */
        int seq;
        memcpy(&seq, m->data, sizeof seq);
        if (seq != atomic_load(&r->last_seq) + 1)
            atomic_fetch_add(&r->out_of_order, 1);
        atomic_store(&r->last_seq, seq);
        troupe_reply(ctx, M_PONG, &seq, sizeof seq);
    }
    return 0;
}

static const troupe_behaviour rec_beh = {
    .name = "pool.rec", .state_size = sizeof(ast), .init = i_rec, .handle = h_rec};

static void rec_init(rec *r, const char *pool, int worker)
{
    memset(r, 0, sizeof *r);
    r->want_pool = pool;
    r->want_worker = worker;
}

static troupe_system *make_sys(const troupe_pool_config *pools, size_t n, uint32_t dworkers)
{
    troupe_config c;
    troupe_config_defaults(&c);
    c.workers = dworkers;
    c.pin = 0;
    c.pools = pools;
    c.npools = n;
    troupe_system *sys = NULL;
    cr_assert_eq(troupe_system_create(&sys, &c), 0);
    return sys;
}

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

static troupe_ref spawn_in(troupe_system *sys, rec *r, const char *pool, int pin, uint32_t w)
{
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.pool = pool;
    o.pin = pin;
    o.pin_worker = w;
    troupe_ref ref;
    cr_assert_eq(troupe_spawn(sys, &rec_beh, r, &o, &ref), 0);
    return ref;
}

Test(pool, pools_and_cpu_sets)
{
    static const int cpu0[] = {0};
    troupe_pool_config p[3];
    pool_cfg(&p[0], "side", 2, 0, 0);
    p[0].cpus = cpu0;
    p[0].ncpus = 1;
    pool_cfg(&p[1], "default", 1, 0, 0);
    pool_cfg(&p[2], "io", 1, 1, 3);
    troupe_system *sys = make_sys(p, 3, 0);
    const char *names[4];
    cr_assert_eq(troupe_system_pools(sys, names, 4), 3);
    cr_assert_str_eq(names[0], "default"); /* the default first */
    cr_assert_str_eq(names[1], "side");
    cr_assert_str_eq(names[2], "io");
    troupe_pool_info info;
    cr_assert_eq(troupe_pool_info_get(sys, "side", &info), 0);
    cr_assert_eq(info.workers, 2);
    cr_assert_eq(info.ncpus, 2);
    cr_assert_eq(info.cpus[0], 0);
    cr_assert_eq(info.cpus[1], 0); /* the set wraps */
    cr_assert_eq(info.first_worker, 1);
    cr_assert_eq(troupe_pool_info_get(sys, "io", &info), 0);
    cr_assert_eq(info.workers, 1);
    cr_assert_eq(info.max_workers, 3);
    cr_assert(info.blocking);
    cr_assert_eq(troupe_pool_info_get(sys, NULL, &info), 0);
    cr_assert_str_eq(info.name, "default");
    cr_assert_eq(troupe_pool_info_get(sys, "nope", &info), TROUPE_ENOTFOUND);
    troupe_system_destroy(sys);
}

/* Tells from a plain thread and from a default-pool actor's handler: the
 * pool actor runs only on "side"'s workers. */
Test(pool, actor_runs_only_in_its_pool)
{
    troupe_pool_config p[2];
    pool_cfg(&p[0], "default", 2, 0, 0);
    pool_cfg(&p[1], "side", 2, 0, 0);
    troupe_system *sys = make_sys(p, 2, 0);
    rec in_side, in_def;
    rec_init(&in_side, "side", -1);
    rec_init(&in_def, "default", -1);
    troupe_ref a = spawn_in(sys, &in_side, "side", 0, 0);
    troupe_ref d = spawn_in(sys, &in_def, NULL, 0, 0);
    int n = (int)tt_scaled(2000, 200);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(troupe_tell(sys, a, M_WHERE, NULL, 0), 0);
        cr_assert_eq(troupe_tell(sys, d, M_WHERE, NULL, 0), 0);
        int seq = i + 1; /* a call: run by "side", not by this thread */
        uint32_t t;
        cr_assert_eq(troupe_call(sys, a, M_PING, &seq, sizeof seq, ASK_FOREVER_NS, &t, NULL, 0,
                                 NULL),
                     0);
    }
    wait_until(atomic_load(&in_side.n) == 2 * n && atomic_load(&in_def.n) == n);
    cr_assert_eq(atomic_load(&in_side.out_of_order), 0);
    cr_assert_eq(atomic_load(&in_side.wrong), 0);
    cr_assert_eq(atomic_load(&in_def.wrong), 0);
    troupe_system_destroy(sys);
}

typedef struct sender_arg {
    troupe_system *sys;
    troupe_ref to[3];
    int n;
} sender_arg;

static void *sender(void *p)
{
    sender_arg *s = p;
    for (int i = 0; i < s->n; i++)
        for (int k = 0; k < 3; k++)
            if (troupe_tell(s->sys, s->to[k], M_WHERE, NULL, 0) != 0)
                tt_die("tell failed");
    return NULL;
}

/* Under load from two threads, with other actors keeping both workers
 * busy, the pinned actor is run by worker 1 every time. */
Test(pool, pinned_actor_never_stolen)
{
    troupe_system *sys = make_sys(NULL, 0, 2);
    rec pinned, other;
    rec_init(&pinned, "default", 1);
    rec_init(&other, "default", -1);
    sender_arg sa = {.sys = sys, .n = (int)tt_scaled(20000, 2000)};
    sa.to[0] = spawn_in(sys, &pinned, NULL, 1, 1);
    sa.to[1] = spawn_in(sys, &other, NULL, 0, 0);
    sa.to[2] = spawn_in(sys, &other, NULL, 0, 0);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, sender, &sa), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    wait_until(atomic_load(&pinned.n) == 2 * sa.n && atomic_load(&other.n) == 4 * sa.n);
    cr_assert_eq(atomic_load(&pinned.wrong), 0);
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.pin = 1;
    o.pin_worker = 2; /* the pool has 2 */
    troupe_ref r;
    cr_assert_eq(troupe_spawn(sys, &rec_beh, &other, &o, &r), TROUPE_EINVAL);
    troupe_system_destroy(sys);
}

/* While a handler is blocked in the blocking pool (on a gate only the
 * test opens), asks to an actor of the default pool — one worker — all
 * complete, in order, and tells to the blocked actor queue behind it. */
Test(pool, blocked_handler_does_not_delay_default_pool)
{
    troupe_pool_config p[2];
    pool_cfg(&p[0], "default", 1, 0, 0);
    pool_cfg(&p[1], "io", 1, 1, 1);
    troupe_system *sys = make_sys(p, 2, 0);
    tt_gate gate;
    tt_gate_init(&gate);
    rec blk, pp;
    rec_init(&blk, "io", -1);
    rec_init(&pp, "default", -1);
    blk.gate = &gate;
    troupe_ref b = spawn_in(sys, &blk, "io", 0, 0);
    troupe_ref d = spawn_in(sys, &pp, NULL, 0, 0);
    cr_assert_eq(troupe_tell(sys, b, M_BLOCK, NULL, 0), 0);
    wait_until(tt_gate_waiting(&gate) == 1);
    int n = (int)tt_scaled(5000, 500);
    for (int i = 1; i <= n; i++) {
        uint32_t t;
        int got = 0;
        cr_assert_eq(troupe_ask(sys, d, M_PING, &i, sizeof i, ASK_FOREVER_NS, &t, &got,
                                sizeof got, NULL),
                     0);
        cr_assert_eq(got, i);
        if (i % 100 == 0)
            cr_assert_eq(troupe_tell(sys, b, M_WHERE, NULL, 0), 0);
    }
    cr_assert_eq(atomic_load(&pp.n), n);
    cr_assert_eq(atomic_load(&pp.out_of_order), 0);
    cr_assert_eq(atomic_load(&blk.n), 0); /* still in its first handler */
    cr_assert_eq(tt_gate_waiting(&gate), 1);
    tt_gate_open(&gate);
    wait_until(atomic_load(&blk.n) == 1 + n / 100);
    cr_assert_eq(atomic_load(&blk.wrong) + atomic_load(&pp.wrong), 0);
    troupe_system_destroy(sys);
    tt_gate_destroy(&gate);
}

/* Five blocked handlers, a pool of 1 growing to 3: three run, two wait;
 * its workers are not reported stalled. */
Test(pool, blocking_pool_grows_to_its_bound)
{
    troupe_pool_config p[2];
    pool_cfg(&p[0], "default", 1, 0, 0);
    pool_cfg(&p[1], "io", 1, 1, 3);
    troupe_config c;
    troupe_config_defaults(&c);
    c.pin = 0;
    c.pools = p;
    c.npools = 2;
    c.stall_ns = 20 * MS_NS;
    troupe_system *sys = NULL;
    cr_assert_eq(troupe_system_create(&sys, &c), 0);
    tt_gate gate;
    tt_gate_init(&gate);
    rec blk;
    rec_init(&blk, "io", -1);
    blk.gate = &gate;
    troupe_ref r[5];
    for (int i = 0; i < 5; i++) {
        r[i] = spawn_in(sys, &blk, "io", 0, 0);
        cr_assert_eq(troupe_tell(sys, r[i], M_BLOCK, NULL, 0), 0);
    }
    wait_until(tt_gate_waiting(&gate) == 3);
    troupe_pool_info info;
    cr_assert_eq(troupe_pool_info_get(sys, "io", &info), 0);
    cr_assert_eq(info.workers, 3);
    cr_assert_eq(info.blocked, 3);
    tt_sleep_ns(5 * c.stall_ns / 1000000 * MS_NS); /* past stall_ns: not stalled */
    cr_assert_eq(tt_gate_entered(&gate), 3); /* the bound: never a fourth */
    for (uint32_t i = info.first_worker; i < info.first_worker + 3; i++) {
        troupe_worker_info wi;
        cr_assert_eq(troupe_worker_info_get(sys, i, &wi), 0);
        cr_assert_eq(wi.stalled, 0);
    }
    tt_gate_open(&gate);
    wait_until(atomic_load(&blk.n) == 5);
    cr_assert_eq(atomic_load(&blk.wrong), 0);
    troupe_system_destroy(sys);
    tt_gate_destroy(&gate);
}

Test(pool, supervised_child_in_its_spec_pool)
{
    troupe_pool_config p[2];
    pool_cfg(&p[0], "default", 1, 0, 0);
    pool_cfg(&p[1], "side", 1, 0, 0);
    troupe_system *sys = make_sys(p, 2, 0);
    rec r;
    rec_init(&r, "side", -1);
    char name[8] = "side"; /* the spec's string may go: the system keeps its own */
    troupe_child_spec cs;
    troupe_child_spec_defaults(&cs);
    cs.beh = &rec_beh;
    cs.arg = &r;
    cs.opts.pool = name;
    troupe_sup root;
    troupe_ref child;
    cr_assert_eq(troupe_sup_root(sys, &root), 0);
    cr_assert_eq(troupe_sup_start_child(sys, root, &cs, &child), 0);
    memset(name, 'x', sizeof name - 1);
    cr_assert_eq(troupe_actor_restart(sys, child), 0);
    int n = 200;
    for (int i = 0; i < n; i++)
        cr_assert_eq(troupe_tell(sys, child, M_WHERE, NULL, 0), 0);
    wait_until(atomic_load(&r.n) == n);
    cr_assert_eq(atomic_load(&r.wrong), 0);
    cs.opts.pool = "nope";
    cr_assert_eq(troupe_sup_start_child(sys, root, &cs, &child), TROUPE_ENOTFOUND);
    troupe_system_destroy(sys);
}

static int try_create(const troupe_pool_config *p, size_t n)
{
    troupe_config c;
    troupe_config_defaults(&c);
    c.pools = p;
    c.npools = n;
    troupe_system *sys = NULL;
    int rc = troupe_system_create(&sys, &c);
    troupe_system_destroy(sys);
    return rc;
}

Test(pool, bad_input)
{
    static const int none[] = {0}, lacking[] = {100000};
    troupe_pool_config p[2];
    pool_cfg(&p[0], "default", 1, 0, 0);
    pool_cfg(&p[1], "side", 1, 0, 0);
    p[1].cpus = none;
    p[1].ncpus = 0; /* an empty CPU set */
    cr_assert_eq(try_create(p, 2), TROUPE_EINVAL);
    p[1].cpus = lacking;
    p[1].ncpus = 1; /* a CPU the machine lacks */
    cr_assert_eq(try_create(p, 2), TROUPE_EINVAL);
    p[1].cpus = NULL;
    p[1].ncpus = 0;
    p[1].name = "default"; /* a duplicate name */
    cr_assert_eq(try_create(p, 2), TROUPE_EINVAL);
    p[1].name = "a-name-that-is-much-too-long-for-a-pool"; /* > 31 bytes */
    cr_assert_eq(try_create(p, 2), TROUPE_EINVAL);
    p[1].name = "Upper";
    cr_assert_eq(try_create(p, 2), TROUPE_EINVAL);
    p[1].name = "side";
    cr_assert_eq(try_create(p, 0), TROUPE_EINVAL); /* pools without a count */
    cr_assert_eq(try_create(p, 2), 0);
    cr_assert_str_eq(troupe_strerror(TROUPE_EINVAL), "invalid argument");
    cr_assert_str_eq(troupe_strerror(TROUPE_ENOTFOUND), "not found");
    troupe_system *sys = make_sys(p, 2, 0);
    rec r;
    rec_init(&r, "default", -1);
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.pool = "unknown";
    troupe_ref ref;
    cr_assert_eq(troupe_spawn(sys, &rec_beh, &r, &o, &ref), TROUPE_ENOTFOUND);
    troupe_pool_info info;
    cr_assert_eq(troupe_pool_info_get(sys, "unknown", &info), TROUPE_ENOTFOUND);
    cr_assert_eq(troupe_pool_info_get(NULL, NULL, &info), TROUPE_EINVAL);
    cr_assert_eq(troupe_system_pools(sys, NULL, 1), TROUPE_EINVAL);
    troupe_system_destroy(sys);
}
