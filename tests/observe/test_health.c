/* tests/observe/test_health.c — the health monitor and the stall watchdog,
 * on a manual clock: every ping, miss and stall happens because the test
 * advanced the clock, never because time passed. */
#include <criterion/criterion.h>

#include "../supervisor/sv_support.h"

#define SEC 1000000000ull

static troupe_system *health_system(troupe_clock **clk, int64_t interval, int64_t stall)
{
    cr_assert_eq(troupe_clock_create_manual(clk, SEC), 0);
    troupe_config cfg = tt_config(2, *clk);
    cfg.health_interval_ns = interval;
    cfg.health_misses = 3;
    cfg.stall_ns = stall;
    return tt_system_cfg(&cfg);
}

static troupe_health_info health_of(troupe_system *sys, troupe_ref r)
{
    troupe_actor_info ai;
    memset(&ai, 0, sizeof ai);
    if (troupe_actor_info_get(sys, r, &ai) != 0)
        memset(&ai.health, 0, sizeof ai.health);
    return ai.health;
}

static void advance(troupe_clock *clk, uint64_t ns) { cr_assert_eq(troupe_clock_advance(clk, ns), 0); }

/* Advance one interval at a time until pred holds (each advance is one
 * monitor tick at least; the hang guard bounds the loop). */
#define advance_until(clk, step, pred)                                                    \
    do {                                                                                  \
        int au_n_ = 0;                                                                    \
        while (!(pred)) {                                                                 \
            cr_assert_lt(au_n_++, 2000, "advance_until: `%s` never held", #pred);         \
            advance(clk, step);                                                           \
            tt_sleep_ns(1000000);                                                         \
        }                                                                                 \
    } while (0)

/* A ping to r is unanswered (r never ends in the test that uses it, so
 * none is ever lost). */
static int ping_outstanding(troupe_system *sys, troupe_ref r)
{
    troupe_health_info h = health_of(sys, r);
    return h.pings != h.pongs;
}

/* As advance_until, but never while a ping to r waits for its pong: a pong
 * is then answered at the manual time its ping was sent, or one step
 * later (an advance that raced with the monitor's send), never an interval
 * later however slow the machine — without this wait the test's advances
 * outran a preempted actor and its pong came back late (a miss). */
#define advance_settled_until(clk, step, sys, r, pred)                                    \
    do {                                                                                  \
        int as_n_ = 0;                                                                    \
        while (!(pred)) {                                                                 \
            cr_assert_lt(as_n_++, 2000, "advance_settled_until: `%s` never held", #pred); \
            wait_until(!ping_outstanding(sys, r));                                        \
            advance(clk, step);                                                           \
            tt_sleep_ns(1000000);                                                         \
        }                                                                                 \
    } while (0)

Test(health, supervised_actor_becomes_healthy, .timeout = 120)
{
    kid_env e;
    env_init(&e);
    troupe_clock *clk;
    troupe_system *sys = health_system(&clk, SEC, 0);
    kid_arg a = {&e, 1};
    troupe_child_spec s = kid_spec(&kid_beh, &a, TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
    troupe_ref r = start_kid(sys, root_of(sys), &s);
    troupe_ref plain = tt_spawn(sys, &kid_beh, &a, NULL);
    advance_settled_until(clk, SEC / 4, sys, r, health_of(sys, r).pongs >= 2);
    troupe_health_info h = health_of(sys, r);
    cr_assert_eq(h.status, TROUPE_HEALTH_HEALTHY);
    cr_assert_eq(h.interval_ns, SEC);
    cr_assert_eq(h.missed, 0);
    cr_assert_eq(h.failures, 0);
    cr_assert_leq(h.last_rtt_ns, h.interval_ns);
    cr_assert_eq(health_of(sys, plain).pings, 0, "unsupervised actors are not pinged");
    cr_assert_eq(restarts_of(sys, r), 0);
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
    env_fini(&e);
}

typedef struct sick_state {
    atomic_int *sick;
} sick_state;

static int sick_init(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx;
    ((sick_state *)state)->sick = *(atomic_int *const *)arg;
    return 0;
}

static int sick_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    (void)state;
    tt_is_probe(ctx, m);
    return 0;
}

/* The behaviour's own verdict: unhealthy while *sick. */
static int sick_health(troupe_ctx *ctx, void *state)
{
    (void)ctx;
    return atomic_load(((sick_state *)state)->sick) ? TROUPE_EFAILED : 0;
}

static const troupe_behaviour sick_beh = {.name = "sick",
                                          .state_size = sizeof(sick_state),
                                          .init = sick_init,
                                          .handle = sick_handle,
                                          .health = sick_health};

Test(health, callback_verdict_restarts_with_kind_health, .timeout = 120)
{
    troupe_clock *clk;
    troupe_system *sys = health_system(&clk, SEC, 0);
    atomic_int sick = 1;
    atomic_int *arg = &sick;
    troupe_child_spec s;
    troupe_child_spec_defaults(&s);
    s.beh = &sick_beh;
    s.arg = &arg;
    s.arg_size = sizeof arg;
    s.policy.kind = TROUPE_RESTART_ALWAYS;
    troupe_ref r = start_kid(sys, root_of(sys), &s);
    advance_until(clk, SEC / 4, restarts_of(sys, r) >= 1);
    atomic_store(&sick, 0); /* the new incarnation is well */
    troupe_child_info ci = info_of(sys, r);
    cr_assert_eq(ci.exits_by_kind[TROUPE_EXIT_HEALTH], 1);
    cr_assert_str_eq(ci.last_reason, "health check failed");
    advance_until(clk, SEC / 4, health_of(sys, r).status == TROUPE_HEALTH_HEALTHY);
    cr_assert_eq(restarts_of(sys, r), 1, "one breach, one restart");
    tt_probe(sys, r);
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
}

Test(health, missed_pings_make_unhealthy_then_restart, .timeout = 120)
{
    kid_env e;
    env_init(&e);
    troupe_clock *clk;
    troupe_system *sys = health_system(&clk, SEC, 0);
    kid_arg a = {&e, 1};
    troupe_child_spec s = kid_spec(&kid_beh, &a, TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
    troupe_ref r = start_kid(sys, root_of(sys), &s);
    advance_until(clk, SEC / 4, health_of(sys, r).status == TROUPE_HEALTH_HEALTHY);
    tt_hold(sys, r, K_HOLD, &e.gate); /* it cannot answer now */
    advance_until(clk, SEC / 4, health_of(sys, r).missed >= 1);
    cr_assert_eq(health_of(sys, r).status, TROUPE_HEALTH_HEALTHY, "one miss is not enough");
    advance_until(clk, SEC / 4, health_of(sys, r).status == TROUPE_HEALTH_UNHEALTHY);
    troupe_health_info h = health_of(sys, r);
    cr_assert_eq(h.missed, 3);
    cr_assert_eq(h.failures, 1);
    cr_assert_eq(restarts_of(sys, r), 0, "held: the stop waits for the handler");
    tt_gate_open(&e.gate);
    wait_until(restarts_of(sys, r) == 1);
    cr_assert_eq(info_of(sys, r).exits_by_kind[TROUPE_EXIT_HEALTH], 1);
    advance_until(clk, SEC / 4, health_of(sys, r).status == TROUPE_HEALTH_HEALTHY);
    ping_ok(sys, r);
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
    env_fini(&e);
}

Test(health, per_child_interval_and_opt_out, .timeout = 120)
{
    kid_env e;
    env_init(&e);
    troupe_clock *clk;
    troupe_system *sys = health_system(&clk, SEC, 0);
    kid_arg a = {&e, 1};
    troupe_child_spec s = kid_spec(&kid_beh, &a, TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
    s.health_interval_ns = 2 * SEC;
    troupe_ref slow = start_kid(sys, root_of(sys), &s);
    s.health_interval_ns = -1;
    troupe_ref off = start_kid(sys, root_of(sys), &s);
    advance_until(clk, SEC / 4, health_of(sys, slow).pongs >= 1);
    cr_assert_eq(health_of(sys, slow).interval_ns, 2 * SEC);
    cr_assert_eq(health_of(sys, off).pings, 0);
    cr_assert_eq(health_of(sys, off).interval_ns, 0);
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
    env_fini(&e);
}

static troupe_worker_info worker_of(troupe_system *sys, uint32_t i)
{
    troupe_worker_info wi;
    cr_assert_eq(troupe_worker_info_get(sys, i, &wi), 0);
    return wi;
}

/* Advance until a worker is reported stalled in actor r; its index. The
 * other worker may be reported stalled too, and rightly: a worker the OS
 * preempted in the middle of a run while the test advanced the manual
 * clock by stall_ns has not moved for stall_ns of the system's time. So
 * the stuck worker is the one stalled in r, not merely a stalled one. */
static uint32_t stuck_in(troupe_clock *clk, troupe_system *sys, troupe_ref r)
{
    for (int n = 0; n < 100; n++) {
        advance(clk, SEC / 2);
        tt_sleep_ns(1000000);
        for (uint32_t i = 0; i < 2; i++) {
            troupe_worker_info wi = worker_of(sys, i);
            if (wi.stalled && wi.stalled_actor.id == r.id)
                return i;
        }
    }
    cr_assert_fail("no worker was reported stalled in actor %llu", (unsigned long long)r.id);
    return 2;
}

/* A handler that never returns by itself: its worker is reported stalled,
 * the other worker carries on, and the actor's supervisor restarts it
 * once the handler lets go. */
Test(health, stalled_worker_is_reported_and_others_carry_on, .timeout = 120)
{
    kid_env e;
    env_init(&e);
    troupe_clock *clk;
    troupe_system *sys = health_system(&clk, 0, 2 * SEC);
    kid_arg a = {&e, 1};
    troupe_child_spec s = kid_spec(&kid_beh, &a, TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
    troupe_ref r = start_kid(sys, root_of(sys), &s);
    tt_hold(sys, r, K_HOLD, &e.gate);
    uint32_t stuck = stuck_in(clk, sys, r);
    troupe_worker_info wi = worker_of(sys, stuck);
    cr_assert_eq(wi.stalls, 1);
    cr_assert_neq(worker_of(sys, 1 - stuck).stalled_actor.id, r.id);
    troupe_ref helper = tt_spawn(sys, &kid_beh, &a, NULL);
    for (int i = 0; i < 10; i++)
        ping_ok(sys, helper); /* answered by the other worker */
    cr_assert_eq(restarts_of(sys, r), 0);
    tt_gate_open(&e.gate);
    wait_until(restarts_of(sys, r) == 1);
    cr_assert_eq(info_of(sys, r).exits_by_kind[TROUPE_EXIT_HEALTH], 1);
    advance_until(clk, SEC / 2, ({
                      troupe_worker_info x;
                      troupe_worker_info_get(sys, stuck, &x);
                      x.stalled == 0;
                  }));
    ping_ok(sys, r);
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
    env_fini(&e);
}

/* What waits behind a stalled worker is reported: here the actor its stuck
 * handler woke into the worker's LIFO slot (not stealable), which runs
 * once the handler returns. (The last receiver it sent to is not counted:
 * its schedule waits for the end of the handler, in the worker's open
 * send reservation.) */
typedef struct strand_env {
    tt_gate gate;
    atomic_int ran;
} strand_env;

enum { S_WAKE_THEN_HOLD = 1, S_RUN };

static int strand_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    strand_env *e = *(strand_env **)state;
    if (tt_is_probe(ctx, m))
        return 0;
    if (m->type == S_WAKE_THEN_HOLD) {
        troupe_ref to[2];
        memcpy(to, m->data, sizeof to);
        /* the first is scheduled (into the LIFO slot) when the second send
         * flushes it; the second waits for the end of the handler */
        for (int i = 0; i < 2; i++)
            if (troupe_tell(troupe_ctx_system(ctx), to[i], S_RUN, NULL, 0) != 0)
                tt_die("tell");
        tt_gate_wait(&e->gate);
    } else if (m->type == S_RUN)
        atomic_fetch_add(&e->ran, 1);
    return 0;
}

static const troupe_behaviour strand_beh = {.name = "strand",
                                             .state_size = sizeof(strand_env *),
                                             .init = tt_init_arg,
                                             .handle = strand_handle};

static int grab_text(void *ud, const char *d, size_t n)
{
    char *buf = ud;
    size_t have = strlen(buf);
    if (have + n >= 65536)
        return TROUPE_ENOMEM;
    memcpy(buf + have, d, n);
    buf[have + n] = '\0';
    return 0;
}

Test(health, stalled_worker_reports_what_waits_behind_it, .timeout = 120)
{
    static strand_env e;
    tt_gate_init(&e.gate);
    troupe_clock *clk;
    troupe_system *sys = health_system(&clk, 0, 2 * SEC);
    troupe_ref stuck = tt_spawn(sys, &strand_beh, &e, NULL);
    troupe_ref woken[2];
    for (int i = 0; i < 2; i++)
        woken[i] = tt_spawn(sys, &strand_beh, &e, NULL);
    cr_assert_eq(troupe_tell(sys, stuck, S_WAKE_THEN_HOLD, woken, sizeof woken), 0);
    wait_until(tt_gate_waiting(&e.gate) == 1);
    uint32_t idx = stuck_in(clk, sys, stuck);
    troupe_worker_info wi = worker_of(sys, idx);
    cr_assert_eq(wi.stranded, 1, "the actor in the stuck worker's LIFO slot");
    cr_assert_eq(worker_of(sys, 1 - idx).stranded, 0);
    cr_assert_eq(atomic_load(&e.ran), 0, "the LIFO slot is not stolen");
    static char text[65536];
    text[0] = '\0';
    cr_assert_eq(troupe_metrics_write(sys, NULL, grab_text, text), 0);
    char line[64];
    snprintf(line, sizeof line, "troupe_worker_stranded{worker=\"%u\"} 1\n", idx);
    cr_assert_not_null(strstr(text, line), "metric line %s", line);
    tt_gate_open(&e.gate);
    wait_until(atomic_load(&e.ran) == 2);
    advance_until(clk, SEC / 2, worker_of(sys, idx).stalled == 0);
    cr_assert_eq(worker_of(sys, idx).stranded, 0);
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
    tt_gate_destroy(&e.gate);
}

Test(health, config_is_validated)
{
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cr_assert_eq(cfg.health_interval_ns, (int64_t)SEC);
    cr_assert_eq(cfg.health_misses, 3);
    troupe_system *sys = NULL;
    cfg.health_misses = 0;
    cr_assert_eq(troupe_system_create(&sys, &cfg), TROUPE_EINVAL);
    troupe_config_defaults(&cfg);
    cfg.health_interval_ns = -5;
    cr_assert_eq(troupe_system_create(&sys, &cfg), TROUPE_EINVAL);
    troupe_config_defaults(&cfg);
    cfg.stall_ns = -1;
    cr_assert_eq(troupe_system_create(&sys, &cfg), TROUPE_EINVAL);
    cr_assert_null(sys);
}
