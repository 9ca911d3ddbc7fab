/* tests/supervisor/test_stop.c — how children are told to stop and when a
 * deaf one is killed (issue 11, items 2, 3, 4, 6):
 *   - a child that ignores its stop is killed at its shutdown timeout even
 *     when it is the only one stopping (terminate_child, sup_shutdown,
 *     system_shutdown), on the manual clock and on the real one;
 *   - on the manual clock exactly at (the time it was told + its timeout):
 *     alive 1 ns before, killed at it;
 *   - a group restart stops the siblings one at a time in reverse start
 *     order, each waited for, then restarts them in start order;
 *   - drop_pending drops what was queued at the failure, not what was sent
 *     during the backoff. */
#include "sv_support.h"

#define MS ((int64_t)MS_NS)
#define DEAF_NS (300 * MS_NS)

/* ---- a child that records its stop signal and ignores it ----------------------- */

typedef struct ear {
    atomic_int heard; /* stop signals received */
    atomic_int stops; /* stop callbacks run */
} ear;

static int ear_init(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx;
    *(ear **)state = *(ear *const *)arg;
    return 0;
}

static int ear_handle(troupe_ctx *ctx, void *state, const troupe_msg *msg)
{
    ear *e = *(ear **)state;
    if (tt_is_probe(ctx, msg))
        return 0;
    if (msg->type == TROUPE_MSG_STOP)
        atomic_fetch_add(&e->heard, 1); /* and carries on */
    return 0;
}

static void ear_stop(troupe_ctx *ctx, void *state, troupe_failure_kind why)
{
    (void)ctx;
    (void)why;
    atomic_fetch_add(&(*(ear **)state)->stops, 1);
}

static const troupe_behaviour ear_beh = {.name = "ear",
                                         .state_size = sizeof(ear *),
                                         .init = ear_init,
                                         .handle = ear_handle,
                                         .stop = ear_stop,
                                         .flags = TROUPE_BEH_TRAP_STOP};

static troupe_ref start_ear(troupe_system *sys, troupe_sup sup, ear **arg)
{
    troupe_child_spec s;
    troupe_child_spec_defaults(&s);
    s.beh = &ear_beh;
    s.arg = arg;
    s.arg_size = sizeof *arg;
    s.policy.kind = TROUPE_RESTART_ALWAYS;
    s.shutdown_ns = (int64_t)DEAF_NS;
    return start_kid(sys, sup, &s);
}

/* Told to stop (the signal reached it), it is alive 1 ns short of its
 * timeout and killed at it, without its stop callback. */
static void killed_at_timeout(troupe_system *sys, troupe_clock *clk, troupe_ref r, ear *e)
{
    wait_until(atomic_load(&e->heard) == 1);
    cr_assert_eq(troupe_clock_advance(clk, DEAF_NS - 1), 0);
    cr_assert_eq(troupe_alive(sys, r), 1, "killed before its timeout");
    cr_assert_eq(troupe_clock_advance(clk, 1), 0);
    tt_wait_dead(sys, r); /* hang guard: it must be killed now */
    cr_assert_eq(atomic_load(&e->stops), 0, "a killed child runs no stop callback");
}

/* ---- item 2: a lone deaf child -------------------------------------------------- */

Test(stop, lone_deaf_child_terminated_manual_clock, .timeout = 60)
{
    ear e = {0}, *ep = &e;
    troupe_clock *clk;
    troupe_system *sys = tt_system_manual(2, S_NS, &clk);
    troupe_ref r = start_ear(sys, root_of(sys), &ep);
    cr_assert_eq(troupe_sup_terminate_child(sys, r), 0);
    killed_at_timeout(sys, clk, r, &e);
    wait_until(sup_info(sys, root_of(sys)).children == 0);
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
}

Test(stop, lone_deaf_child_sup_shutdown_manual_clock, .timeout = 60)
{
    ear e = {0}, *ep = &e;
    troupe_clock *clk;
    troupe_system *sys = tt_system_manual(2, S_NS, &clk);
    troupe_sup sup = start_sup(sys, root_of(sys), TROUPE_ONE_FOR_ONE, 10, TROUPE_PERMANENT);
    troupe_ref r = start_ear(sys, sup, &ep);
    cr_assert_eq(troupe_sup_shutdown(sys, sup, NULL, NULL), 0);
    killed_at_timeout(sys, clk, r, &e);
    wait_until(troupe_sup_info_get(sys, sup, &(troupe_sup_info){0}) == TROUPE_ENOTFOUND);
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
}

typedef struct shutdown_call {
    troupe_system *sys;
    uint64_t timeout;
    int rc;
} shutdown_call;

static void *shutdown_thread(void *p)
{
    shutdown_call *c = p;
    c->rc = troupe_system_shutdown(c->sys, c->timeout);
    return NULL;
}

Test(stop, lone_deaf_child_system_shutdown_manual_clock, .timeout = 60)
{
    ear e = {0}, *ep = &e;
    troupe_clock *clk;
    troupe_system *sys = tt_system_manual(2, S_NS, &clk);
    troupe_ref r = start_ear(sys, root_of(sys), &ep);
    /* the wait is on the real clock; the kill comes from the manual one */
    shutdown_call call = {sys, 2 * HANG_LIMIT_NS, -1};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, shutdown_thread, &call), 0);
    killed_at_timeout(sys, clk, r, &e);
    pthread_join(t, NULL);
    cr_assert_eq(call.rc, 0, "system_shutdown: %s", troupe_errname(call.rc));
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
}

/* On the real clock: each wait below is a hang guard only. */
Test(stop, lone_deaf_child_killed_real_clock, .timeout = 60)
{
    ear e = {0}, *ep = &e;
    troupe_system *sys = tt_system(2);
    troupe_ref r = start_ear(sys, root_of(sys), &ep);
    cr_assert_eq(troupe_sup_terminate_child(sys, r), 0);
    tt_wait_dead(sys, r);
    troupe_sup sup = start_sup(sys, root_of(sys), TROUPE_ONE_FOR_ONE, 10, TROUPE_PERMANENT);
    r = start_ear(sys, sup, &ep);
    cr_assert_eq(troupe_sup_shutdown(sys, sup, NULL, NULL), 0);
    tt_wait_dead(sys, r);
    r = start_ear(sys, root_of(sys), &ep);
    cr_assert_eq(troupe_system_shutdown(sys, HANG_LIMIT_NS), 0);
    cr_assert_eq(troupe_alive(sys, r), 0);
    /* each was told (the last one may also get the system's own stop,
     * queued behind its kill) and killed, without its stop callback */
    cr_assert_geq(atomic_load(&e.heard), 3);
    cr_assert_eq(atomic_load(&e.stops), 0);
    troupe_system_destroy(sys);
}

/* ---- item 3: the kill deadline is exact ------------------------------------------ */

/* A crowd of children waiting out a long backoff: the supervisor thread
 * scans their deadlines after each pass, which widens the window between
 * its reads of the clock. */
static void start_crowd(troupe_system *sys, kid_env *ke, kid_arg *ka, long n)
{
    troupe_sup_spec ss;
    troupe_sup_spec_defaults(&ss);
    ss.intensity = 1000000;
    troupe_sup crowd;
    cr_assert_eq(troupe_sup_start_supervisor(sys, root_of(sys), &ss, &crowd), 0);
    *ka = (kid_arg){ke, -1};
    troupe_child_spec s = kid_spec(&kid_beh, ka, TROUPE_PERMANENT, TROUPE_RESTART_FIXED_DELAY);
    s.policy.delay_ns = 3600 * S_NS;
    troupe_ref last = TROUPE_REF_NONE;
    int rc = 0;
    /* one assertion at the end: each cr_assert is an event to the runner */
    for (long i = 0; i < n && rc == 0; i++)
        if ((rc = troupe_sup_start_child(sys, crowd, &s, &last)) == 0)
            rc = troupe_tell(sys, last, K_PANIC, NULL, 0);
    cr_assert_eq(rc, 0, "crowd: %s", troupe_errname(rc));
    wait_until(state_of(sys, last) == TROUPE_CHILD_BACKOFF);
}

/* The supervisor thread tells the deaf child to stop (after its younger
 * sibling stopped); the test advances the clock the moment the signal
 * lands (spinning, not napping). Reading the clock after sending, or arming
 * the wake timer with a delay from a fresh clock read, made the kill late
 * in some rounds: it must come exactly at the deadline in every one. */
Test(stop, kill_deadline_exact_when_told_by_supervisor_thread, .timeout = 60)
{
    kid_env ke;
    env_init(&ke);
    troupe_clock *clk;
    troupe_system *sys = tt_system_manual(2, S_NS, &clk);
    kid_arg crowd_arg;
    start_crowd(sys, &ke, &crowd_arg, tt_scaled(20000, 2000));
    long rounds = tt_scaled(40, 8);
    for (long i = 0; i < rounds; i++) {
        ear e = {0}, *ep = &e;
        kid_arg ka = {&ke, i};
        troupe_sup sup = start_sup(sys, root_of(sys), TROUPE_ONE_FOR_ONE, 10, TROUPE_PERMANENT);
        troupe_ref deaf = start_ear(sys, sup, &ep);
        troupe_child_spec ks = kid_spec(&kid_beh, &ka, TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
        troupe_ref kid = start_kid(sys, sup, &ks);
        cr_assert_eq(troupe_sup_shutdown(sys, sup, NULL, NULL), 0);
        uint64_t t0 = tt_now_ns();
        while (atomic_load(&e.heard) == 0) /* each cr_assert is an event: test, then fail */
            if (tt_now_ns() - t0 > HANG_LIMIT_NS)
                cr_assert_fail("hang guard: never told to stop");
        killed_at_timeout(sys, clk, deaf, &e);
        cr_assert_eq(troupe_alive(sys, kid), 0);
        wait_until(troupe_sup_info_get(sys, sup, &(troupe_sup_info){0}) == TROUPE_ENOTFOUND);
    }
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
    env_fini(&ke);
}

/* ---- item 4: a group restart stops one child at a time, youngest first ------------ */

/* A kid with a gate of its own, logging its id at init and at stop. */
typedef struct gkid_arg {
    tt_log *starts, *stops;
    tt_gate *gate;
    long id;
} gkid_arg;

static int gkid_init(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx;
    const gkid_arg *a = *(gkid_arg *const *)arg;
    *(const gkid_arg **)state = a;
    tt_log_add(a->starts, a->id);
    return 0;
}

static int gkid_handle(troupe_ctx *ctx, void *state, const troupe_msg *msg)
{
    const gkid_arg *a = *(const gkid_arg **)state;
    if (tt_is_probe(ctx, msg))
        return 0;
    if (msg->type == K_HOLD)
        tt_gate_wait(a->gate);
    else if (msg->type == K_PANIC)
        troupe_panic("boom");
    return 0;
}

static void gkid_stop(troupe_ctx *ctx, void *state, troupe_failure_kind why)
{
    (void)ctx;
    (void)why;
    const gkid_arg *a = *(const gkid_arg **)state;
    tt_log_add(a->stops, a->id);
}

static const troupe_behaviour gkid_beh = {.name = "gkid",
                                          .state_size = sizeof(gkid_arg *),
                                          .init = gkid_init,
                                          .handle = gkid_handle,
                                          .stop = gkid_stop};

typedef struct group {
    tt_log starts, stops;
    tt_gate gates[4];
    gkid_arg args[4];
    gkid_arg *argp[4];
    troupe_ref r[4];
} group;

static void group_start(troupe_system *sys, troupe_sup sup, group *g)
{
    tt_log_init(&g->starts);
    tt_log_init(&g->stops);
    for (int i = 0; i < 4; i++) {
        tt_gate_init(&g->gates[i]);
        g->args[i] = (gkid_arg){&g->starts, &g->stops, &g->gates[i], i};
        g->argp[i] = &g->args[i];
        troupe_child_spec s;
        troupe_child_spec_defaults(&s);
        s.beh = &gkid_beh;
        s.arg = &g->argp[i];
        s.arg_size = sizeof g->argp[i];
        s.policy.kind = TROUPE_RESTART_ALWAYS;
        g->r[i] = start_kid(sys, sup, &s);
    }
}

static void group_fini(group *g)
{
    for (int i = 0; i < 4; i++)
        tt_gate_destroy(&g->gates[i]);
    tt_log_fini(&g->starts);
    tt_log_fini(&g->stops);
}

/* Children 0-3; 2 and 3 busy in a handler on their own gates; 1 fails.
 * Each stop waits for the one before: while 3 is being stopped, 2 has not
 * been told (it is still RUNNING) and idle 0 has not stopped. */
static void group_order_case(troupe_sup_strategy st)
{
    group g;
    troupe_clock *clk; /* never advanced: no shutdown timeout expires */
    troupe_system *sys = tt_system_manual(4, S_NS, &clk);
    troupe_sup sup = start_sup(sys, root_of(sys), st, 10, TROUPE_PERMANENT);
    group_start(sys, sup, &g);
    bool all = st == TROUPE_ONE_FOR_ALL;
    for (int i = 2; i < 4; i++) {
        cr_assert_eq(troupe_tell(sys, g.r[i], K_HOLD, NULL, 0), 0);
        wait_until(tt_gate_waiting(&g.gates[i]) == 1);
    }
    tell_ok(sys, g.r[1], K_PANIC);
    wait_until(state_of(sys, g.r[3]) == TROUPE_CHILD_STOPPING);
    cr_assert_eq(state_of(sys, g.r[2]), TROUPE_CHILD_RUNNING, "2 told before 3 stopped");
    cr_assert_eq(tt_log_len(&g.stops), 1, "only the failed one stopped");
    tt_gate_open(&g.gates[3]);
    wait_until(state_of(sys, g.r[2]) == TROUPE_CHILD_STOPPING);
    cr_assert_eq(tt_log_len(&g.stops), 2, "0 stopped before 2");
    tt_gate_open(&g.gates[2]);
    wait_until(tt_log_len(&g.starts) == (all ? 8u : 7u));
    long stops_all[4] = {1, 3, 2, 0}, starts_all[4] = {0, 1, 2, 3};
    size_t n = all ? 4 : 3;
    const long *want_starts = all ? starts_all : starts_all + 1;
    cr_assert_eq(tt_log_len(&g.stops), n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(tt_log_at(&g.stops, i), stops_all[i], "stop %zu", i);
        cr_assert_eq(tt_log_at(&g.starts, 4 + i), want_starts[i], "restart %zu", i);
    }
    for (int i = 0; i < 4; i++)
        tt_probe(sys, g.r[i]);
    cr_assert_eq(restarts_of(sys, g.r[0]), all ? 1 : 0);
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
    group_fini(&g);
}

Test(stop, one_for_all_stops_in_reverse_order_one_at_a_time, .timeout = 60)
{
    group_order_case(TROUPE_ONE_FOR_ALL);
}

Test(stop, rest_for_one_stops_in_reverse_order_one_at_a_time, .timeout = 60)
{
    group_order_case(TROUPE_REST_FOR_ONE);
}

/* ---- item 6: drop_pending drops only what was queued at the failure ---------------- */

Test(stop, drop_pending_keeps_messages_sent_during_backoff, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_clock *clk;
    troupe_system *sys = tt_system_manual(2, S_NS, &clk);
    kid_arg a = {&e, 1};
    troupe_child_spec s = kid_spec(&kid_beh, &a, TROUPE_PERMANENT, TROUPE_RESTART_FIXED_DELAY);
    s.policy.delay_ns = 100 * MS;
    s.drop_pending = 1;
    troupe_ref r = start_kid(sys, root_of(sys), &s);
    tt_hold(sys, r, K_HOLD, &e.gate);
    tell_ok(sys, r, K_PANIC);
    for (int i = 0; i < 5; i++)
        tell_ok(sys, r, K_COUNT); /* queued at the failure: dropped */
    troupe_system_stats before = tt_sys_stats(sys);
    tt_gate_open(&e.gate);
    wait_until(state_of(sys, r) == TROUPE_CHILD_BACKOFF);
    for (int i = 0; i < 3; i++)
        tell_ok(sys, r, K_COUNT); /* sent during the backoff: kept */
    cr_assert_eq(troupe_clock_advance(clk, 100 * MS_NS), 0);
    wait_until(tt_log_len(&e.starts) == 2);
    ping_ok(sys, r); /* behind whatever was kept */
    cr_assert_eq(atomic_load(&e.counted), 3);
    troupe_system_stats after = tt_sys_stats(sys);
    cr_assert_eq(after.messages_destroyed - before.messages_destroyed, 5u);
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
    env_fini(&e);
}
