/* tests/core/test_system.c — configuration, create/destroy, shutdown. */
#include "../support.h"

enum { M_PING = 1, M_SHUTDOWN_FROM_HANDLER, M_WHERE, M_GATE };

typedef struct shared {
    atomic_int handled;
    atomic_int stops;
    atomic_int stop_kind;
    atomic_int shutdown_rc;
    tt_gate gate;
} shared;

typedef struct st {
    shared *sh;
} st;

typedef struct where_reply {
    uint32_t worker;
    int ctx_system_ok;
    uint64_t self_id;
    uint64_t current_id;
} where_reply;

static int h_basic(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    shared *sh = ((st *)state)->sh;
    if (tt_is_probe(ctx, m))
        return 0;
    switch (m->type) {
    case M_PING:
        atomic_fetch_add(&sh->handled, 1);
        break;
    case M_SHUTDOWN_FROM_HANDLER:
        atomic_store(&sh->shutdown_rc,
                     troupe_system_shutdown(troupe_ctx_system(ctx), 1 * MS_NS));
        atomic_fetch_add(&sh->handled, 1);
        break;
    case M_WHERE: {
        where_reply w;
        memset(&w, 0, sizeof w);
        w.worker = troupe_ctx_worker(ctx);
        w.ctx_system_ok = troupe_ctx_system(ctx) != NULL;
        w.self_id = troupe_self(ctx).id;
        w.current_id = troupe_current().id;
        troupe_reply(ctx, M_WHERE, &w, sizeof w);
        break;
    }
    case M_GATE:
        tt_gate_wait(&sh->gate);
        break;
    }
    return 0;
}

static void s_basic(troupe_ctx *ctx, void *state, troupe_failure_kind why)
{
    (void)ctx;
    shared *sh = ((st *)state)->sh;
    tt_note_stop(&sh->stops, &sh->stop_kind, why);
}

static const troupe_behaviour basic = {
    .name = "basic",
    .state_size = sizeof(st),
    .init = tt_init_arg,
    .handle = h_basic,
    .stop = s_basic,
};

static void shared_init(shared *sh)
{
    memset(sh, 0, sizeof *sh);
    atomic_init(&sh->stop_kind, -1);
    atomic_init(&sh->shutdown_rc, 12345);
    tt_gate_init(&sh->gate);
}

/* Initialise sh and spawn a basic actor on it in sys. */
static troupe_ref spawn_basic(troupe_system *sys, shared *sh)
{
    shared_init(sh);
    return tt_spawn(sys, &basic, sh, NULL);
}

/* Destroy the system, then sh's gate. */
static void finish(troupe_system *sys, shared *sh)
{
    troupe_system_destroy(sys);
    tt_gate_destroy(&sh->gate);
}

/* ---- configuration --------------------------------------------------------- */

Test(system, config_defaults)
{
    troupe_config cfg;
    memset(&cfg, 0xA5, sizeof cfg);
    troupe_config_defaults(&cfg);
    cr_expect_eq(cfg.workers, 0u, "workers default is 0 = one per core");
    cr_expect_eq(cfg.mailbox_capacity, 1000u);
    cr_expect_eq(cfg.overflow, TROUPE_OVERFLOW_BLOCK);
    cr_expect_eq(cfg.batch, 100u);
    cr_expect_neq(cfg.pin, 0, "pinning is on by default");
    cr_expect_null(cfg.cpus);
    cr_expect_eq(cfg.ncpus, 0u);
    cr_expect_eq(cfg.block_timeout_ns, 5ull * S_NS);
    cr_expect_eq(cfg.spin_ns, 50000ull);
    cr_expect_null(cfg.clock);
    cr_expect_null(cfg.on_failure);
    cr_expect_null(cfg.on_failure_ud);
    cr_expect_neq(cfg.use_arena, 0);
}

Test(system, spawn_opts_defaults)
{
    troupe_spawn_opts o;
    memset(&o, 0x5A, sizeof o);
    troupe_spawn_opts_defaults(&o);
    cr_expect_eq(o.capacity, 0u);
    cr_expect_eq(o.overflow, -1);
    cr_expect(troupe_ref_is_none(o.redirect_to));
    cr_expect_eq(o.batch, 0u);
}

Test(system, create_with_null_config_and_destroy)
{
    troupe_system *sys = NULL;
    cr_assert_eq(troupe_system_create(&sys, NULL), 0);
    cr_assert_not_null(sys);
    uint32_t w = troupe_system_workers(sys);
    cr_expect_geq(w, 1u);
    cr_expect_leq(w, (uint32_t)TROUPE_MAX_WORKERS);
    troupe_system_stats st = tt_sys_stats(sys);
    cr_expect_eq(st.actors_live, 0u);
    cr_expect_eq(st.actors_spawned, 0u);
    cr_expect_eq(st.actors_failed, 0u);
    cr_expect_eq(st.messages_destroyed, 0u);
    cr_expect_eq(st.late_replies, 0u);
    troupe_system_destroy(sys);
}

Test(system, create_with_explicit_workers)
{
    for (uint32_t n = 1; n <= 4; n++) {
        troupe_system *sys = tt_system(n);
        cr_expect_eq(troupe_system_workers(sys), n);
        troupe_system_destroy(sys);
    }
}

Test(system, default_system_runs_actors)
{
    troupe_system *sys = NULL;
    cr_assert_eq(troupe_system_create(&sys, NULL), 0);
    shared sh;
    troupe_ref r = spawn_basic(sys, &sh);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(troupe_tell(sys, r, M_PING, NULL, 0), 0);
    tt_probe(sys, r);
    cr_expect_eq(atomic_load(&sh.handled), 10);
    finish(sys, &sh);
}

Test(system, edge_values_are_valid)
{
    troupe_config cfg = tt_config(1, NULL);
    cfg.mailbox_capacity = 1;
    cfg.batch = 1;
    troupe_system *sys = tt_system_cfg(&cfg);
    troupe_system_destroy(sys);

    cfg = tt_config(1, NULL);
    cfg.mailbox_capacity = TROUPE_MAILBOX_MAX_CAPACITY;
    cfg.batch = TROUPE_MAX_BATCH;
    sys = tt_system_cfg(&cfg);
    troupe_system_destroy(sys);

    /* Every policy is a valid default. */
    for (int p = TROUPE_OVERFLOW_BLOCK; p <= TROUPE_OVERFLOW_REDIRECT; p++) {
        cfg = tt_config(1, NULL);
        cfg.overflow = (troupe_overflow)p;
        sys = tt_system_cfg(&cfg);
        troupe_system_destroy(sys);
    }
}

Test(system, explicit_cpu_zero_pinned)
{
    static const int cpus[] = {0};
    troupe_config cfg = tt_config(1, NULL);
    cfg.pin = 1;
    cfg.cpus = cpus;
    cfg.ncpus = 1;
    troupe_system *sys = tt_system_cfg(&cfg);
    cr_expect_eq(troupe_system_workers(sys), 1u);
    shared sh;
    troupe_ref r = spawn_basic(sys, &sh);
    cr_assert_eq(troupe_tell(sys, r, M_PING, NULL, 0), 0);
    tt_probe(sys, r);
    cr_expect_eq(atomic_load(&sh.handled), 1);
    finish(sys, &sh);
}

static void expect_einval(const troupe_config *cfg, const char *what)
{
    troupe_system *sys = NULL;
    int rc = troupe_system_create(&sys, cfg);
    cr_expect_eq(rc, TROUPE_EINVAL, "%s: got %s", what, troupe_errname(rc));
    if (rc == 0)
        troupe_system_destroy(sys);
}

Test(system, bad_configs_are_einval)
{
    troupe_config cfg;

    cfg = tt_config(TROUPE_MAX_WORKERS + 1, NULL);
    expect_einval(&cfg, "workers > TROUPE_MAX_WORKERS");
    cfg = tt_config(UINT32_MAX, NULL);
    expect_einval(&cfg, "workers UINT32_MAX");

    cfg = tt_config(1, NULL);
    cfg.mailbox_capacity = 0;
    expect_einval(&cfg, "capacity 0");
    cfg = tt_config(1, NULL);
    cfg.mailbox_capacity = TROUPE_MAILBOX_MAX_CAPACITY + 1;
    expect_einval(&cfg, "capacity > max");
    cfg = tt_config(1, NULL);
    cfg.mailbox_capacity = UINT32_MAX;
    expect_einval(&cfg, "capacity UINT32_MAX");

    cfg = tt_config(1, NULL);
    cfg.batch = 0;
    expect_einval(&cfg, "batch 0");
    cfg = tt_config(1, NULL);
    cfg.batch = TROUPE_MAX_BATCH + 1;
    expect_einval(&cfg, "batch > max");

    cfg = tt_config(1, NULL);
    cfg.overflow = (troupe_overflow)(TROUPE_OVERFLOW_REDIRECT + 1);
    expect_einval(&cfg, "unknown overflow policy");
    cfg = tt_config(1, NULL);
    cfg.overflow = (troupe_overflow)-1;
    expect_einval(&cfg, "negative overflow policy");
}

Test(system, cpus_the_machine_lacks_are_einval)
{
    static const int huge[] = {100000};
    static const int neg[] = {-1};
    static const int one_good_one_bad[] = {0, 99999};
    troupe_config cfg;

    cfg = tt_config(1, NULL);
    cfg.pin = 1;
    cfg.cpus = huge;
    cfg.ncpus = 1;
    expect_einval(&cfg, "cpu 100000");

    cfg = tt_config(1, NULL);
    cfg.pin = 1;
    cfg.cpus = neg;
    cfg.ncpus = 1;
    expect_einval(&cfg, "cpu -1");

    cfg = tt_config(2, NULL);
    cfg.pin = 1;
    cfg.cpus = one_good_one_bad;
    cfg.ncpus = 2;
    expect_einval(&cfg, "cpus {0, 99999}");
}

Test(system, null_arguments)
{
    cr_expect_eq(troupe_system_create(NULL, NULL), TROUPE_EINVAL);
    troupe_config cfg = tt_config(1, NULL);
    cr_expect_eq(troupe_system_create(NULL, &cfg), TROUPE_EINVAL);
    cr_expect_eq(troupe_system_shutdown(NULL, 0), TROUPE_EINVAL);
    troupe_system_destroy(NULL);
    troupe_system_stats st;
    cr_expect_eq(troupe_system_stats_get(NULL, &st), TROUPE_EINVAL);

    troupe_system *sys = tt_system(1);
    cr_expect_eq(troupe_system_stats_get(sys, NULL), TROUPE_EINVAL);
    troupe_system_destroy(sys);
}

/* ---- shutdown -------------------------------------------------------------- */

Test(system, shutdown_is_idempotent)
{
    troupe_system *sys = tt_system(2);
    shared sh;
    troupe_ref r = spawn_basic(sys, &sh);
    cr_expect_eq(troupe_system_shutdown(sys, HANG_LIMIT_NS), 0);
    cr_expect_eq(troupe_system_shutdown(sys, HANG_LIMIT_NS), 0);
    cr_expect_eq(troupe_system_shutdown(sys, 0), 0);
    cr_expect_eq(troupe_alive(sys, r), 0);
    troupe_system_destroy(sys);
    cr_expect_eq(atomic_load(&sh.stops), 1, "stop callback once");
    tt_gate_destroy(&sh.gate);
}

Test(system, shutdown_stops_actors_with_kind_shutdown)
{
    troupe_system *sys = tt_system(2);
    shared sh[5];
    troupe_ref r[5];
    for (int i = 0; i < 5; i++)
        r[i] = spawn_basic(sys, &sh[i]);
    cr_expect_eq(tt_sys_stats(sys).actors_live, 5u);
    cr_assert_eq(troupe_system_shutdown(sys, HANG_LIMIT_NS), 0);
    for (int i = 0; i < 5; i++) {
        cr_expect_eq(troupe_alive(sys, r[i]), 0);
        cr_expect_eq(atomic_load(&sh[i].stops), 1, "actor %d: stop callback once", i);
        cr_expect_eq(atomic_load(&sh[i].stop_kind), TROUPE_EXIT_SHUTDOWN);
    }
    cr_expect_eq(tt_sys_stats(sys).actors_live, 0u);
    troupe_system_destroy(sys);
    for (int i = 0; i < 5; i++) {
        cr_expect_eq(atomic_load(&sh[i].stops), 1, "actor %d: stop callback not rerun", i);
        tt_gate_destroy(&sh[i].gate);
    }
}

Test(system, destroy_without_shutdown_stops_actors)
{
    troupe_system *sys = tt_system(2);
    shared sh;
    troupe_ref r = spawn_basic(sys, &sh);
    cr_assert_eq(troupe_tell(sys, r, M_PING, NULL, 0), 0);
    troupe_system_destroy(sys);
    cr_expect_eq(atomic_load(&sh.stops), 1);
    cr_expect_eq(atomic_load(&sh.stop_kind), TROUPE_EXIT_SHUTDOWN);
    tt_gate_destroy(&sh.gate);
}

static void count_dtor(void *p) { atomic_fetch_add((atomic_int *)p, 1); }

Test(system, sends_after_shutdown_are_eshutdown_and_caller_keeps_payload)
{
    troupe_clock *clk = NULL;
    troupe_system *sys = tt_system_manual(2, 0, &clk);
    shared sh;
    troupe_ref r = spawn_basic(sys, &sh);
    cr_assert_eq(troupe_system_shutdown(sys, HANG_LIMIT_NS), 0);

    int v = 7;
    cr_expect_eq(troupe_tell(sys, r, M_PING, &v, sizeof v), TROUPE_ESHUTDOWN);
    cr_expect_eq(troupe_tell(sys, r, M_PING, NULL, 0), TROUPE_ESHUTDOWN);

    atomic_int dtor_runs;
    atomic_init(&dtor_runs, 0);
    cr_expect_eq(troupe_tell_ptr(sys, r, M_PING, &dtor_runs, count_dtor), TROUPE_ESHUTDOWN);
    cr_expect_eq(atomic_load(&dtor_runs), 0, "payload destroyed although the send failed");

    /* A heap payload the caller must still own: ASan would report a
     * double free if the runtime had freed it. */
    char *heap = malloc(64);
    cr_assert_not_null(heap);
    cr_expect_eq(troupe_tell_ptr(sys, r, M_PING, heap, free), TROUPE_ESHUTDOWN);
    free(heap);

    cr_expect_eq(troupe_ask(sys, r, M_PING, NULL, 0, 1 * MS_NS, NULL, NULL, 0, NULL),
                 TROUPE_ESHUTDOWN);

    troupe_ref r2 = {12345};
    cr_expect_eq(troupe_spawn(sys, &basic, &sh, NULL, &r2), TROUPE_ESHUTDOWN);
    cr_expect(troupe_ref_is_none(r2), "*out must be NONE on error");

    troupe_timer t = {0};
    cr_expect_eq(troupe_send_after(sys, r, M_PING, NULL, 0, 10, &t), TROUPE_ESHUTDOWN);
    cr_expect_eq(troupe_send_interval(sys, r, M_PING, NULL, 0, 10, 10, &t), TROUPE_ESHUTDOWN);

    cr_expect_eq(atomic_load(&sh.handled), 0);
    troupe_system_destroy(sys);
    cr_expect_eq(atomic_load(&dtor_runs), 0);
    troupe_clock_destroy(clk);
    tt_gate_destroy(&sh.gate);
}

Test(system, shutdown_from_a_handler_is_estate)
{
    troupe_system *sys = tt_system(2);
    shared sh;
    troupe_ref r = spawn_basic(sys, &sh);
    cr_assert_eq(troupe_tell(sys, r, M_SHUTDOWN_FROM_HANDLER, NULL, 0), 0);
    tt_probe(sys, r); /* the system still works: shutdown was refused */
    cr_expect_eq(atomic_load(&sh.shutdown_rc), TROUPE_ESTATE);
    cr_assert_eq(troupe_tell(sys, r, M_PING, NULL, 0), 0);
    tt_probe(sys, r);
    cr_expect_eq(atomic_load(&sh.handled), 2);
    cr_expect_eq(troupe_alive(sys, r), 1);
    finish(sys, &sh);
}

Test(system, shutdown_times_out_on_a_blocked_handler)
{
    troupe_system *sys = tt_system(2);
    shared sh;
    troupe_ref r = spawn_basic(sys, &sh);
    tt_hold(sys, r, M_GATE, &sh.gate);
    /* The handler cannot return before the gate opens: the actor cannot
     * stop within the timeout, whatever the timeout. */
    cr_expect_eq(troupe_system_shutdown(sys, 1 * MS_NS), TROUPE_ETIMEDOUT);
    cr_expect_eq(troupe_tell(sys, r, M_PING, NULL, 0), TROUPE_ESHUTDOWN);
    tt_gate_open(&sh.gate);
    troupe_system_destroy(sys);
    cr_expect_eq(atomic_load(&sh.stops), 1);
    cr_expect_eq(atomic_load(&sh.handled), 0);
    tt_gate_destroy(&sh.gate);
}

typedef struct opener {
    troupe_system *sys;
    tt_gate *gate;
} opener;

/* Open the gate once the system is shutting down (a tell fails with
 * ESHUTDOWN before it looks at the ref). */
static void *open_gate_once_shutting(void *p)
{
    opener *o = p;
    while (troupe_tell(o->sys, TROUPE_REF_NONE, M_PING, NULL, 0) != TROUPE_ESHUTDOWN)
        tt_sleep_ns(100000); /* bounded by the test's own hang guard */
    tt_gate_open(o->gate);
    return NULL;
}

/* A timeout of UINT64_MAX means forever: shutdown waits for the blocked
 * handler (mono_ns() + UINT64_MAX wrapped: it returned ETIMEDOUT at once). */
Test(system, shutdown_with_a_timeout_of_forever_waits)
{
    troupe_system *sys = tt_system(2);
    shared sh;
    troupe_ref r = spawn_basic(sys, &sh);
    tt_hold(sys, r, M_GATE, &sh.gate);
    opener o = {sys, &sh.gate};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, open_gate_once_shutting, &o), 0);
    cr_expect_eq(troupe_system_shutdown(sys, UINT64_MAX), 0);
    pthread_join(th, NULL);
    cr_expect_eq(atomic_load(&sh.stops), 1);
    troupe_system_destroy(sys);
    tt_gate_destroy(&sh.gate);
}

/* ---- stats and context ------------------------------------------------------- */

Test(system, stats_count_spawned_and_live)
{
    troupe_system *sys = tt_system(2);
    shared sh[3];
    troupe_ref r[3];
    for (int i = 0; i < 3; i++)
        r[i] = spawn_basic(sys, &sh[i]);
    troupe_system_stats st = tt_sys_stats(sys);
    cr_expect_eq(st.actors_spawned, 3u);
    cr_expect_eq(st.actors_live, 3u);
    cr_assert_eq(troupe_stop(sys, r[1]), 0);
    tt_wait_dead(sys, r[1]);
    wait_until(tt_sys_stats(sys).actors_live == 2);
    st = tt_sys_stats(sys);
    cr_expect_eq(st.actors_spawned, 3u);
    cr_expect_eq(st.actors_failed, 0u);
    troupe_system_destroy(sys);
    for (int i = 0; i < 3; i++)
        tt_gate_destroy(&sh[i].gate);
}

Test(system, handler_context)
{
    const uint32_t workers = 2;
    troupe_system *sys = tt_system(workers);
    shared sh;
    troupe_ref r = spawn_basic(sys, &sh);
    for (int i = 0; i < 20; i++) {
        where_reply w;
        size_t len = 0;
        uint32_t type = 0;
        cr_assert_eq(troupe_ask(sys, r, M_WHERE, NULL, 0, ASK_FOREVER_NS, &type, &w, sizeof w,
                                &len),
                     0);
        cr_assert_eq(type, M_WHERE);
        cr_assert_eq(len, sizeof w);
        cr_expect_lt(w.worker, workers);
        cr_expect(w.ctx_system_ok);
        cr_expect_eq(w.self_id, r.id, "troupe_self is the actor's ref");
        cr_expect_eq(w.current_id, r.id, "troupe_current inside the handler");
    }
    cr_expect(troupe_ref_is_none(troupe_current()), "no current actor on a plain thread");
    finish(sys, &sh);
}

Test(system, two_systems_are_independent)
{
    troupe_system *a = tt_system(1);
    troupe_system *b = tt_system(1);
    shared sa, sb;
    troupe_ref ra = spawn_basic(a, &sa);
    troupe_ref rb = spawn_basic(b, &sb);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(troupe_tell(a, ra, M_PING, NULL, 0), 0);
    cr_assert_eq(troupe_tell(b, rb, M_PING, NULL, 0), 0);
    tt_probe(a, ra);
    tt_probe(b, rb);
    cr_expect_eq(atomic_load(&sa.handled), 3);
    cr_expect_eq(atomic_load(&sb.handled), 1);
    troupe_system_destroy(a);
    /* b still works after a is gone */
    cr_assert_eq(troupe_tell(b, rb, M_PING, NULL, 0), 0);
    tt_probe(b, rb);
    cr_expect_eq(atomic_load(&sb.handled), 2);
    troupe_system_destroy(b);
    tt_gate_destroy(&sa.gate);
    tt_gate_destroy(&sb.gate);
}
