/* tests/supervisor/test_restart.c — when restarts happen (issue 11, items 10
 * and 21): jitter within its bounds on the manual clock, and an operator's
 * restart that counts in the metrics but not toward intensity or backoff. */
#include "sv_support.h"

#include <stdlib.h>

#define MS ((int64_t)MS_NS)

/* ---- jitter ----------------------------------------------------------------------- */

#define J_SYSTEMS 6
#define J_ROUNDS 10
#define J_STEPS 8
#define J_BASE (100 * MS)
#define J_CAP (400 * MS)
#define J_JITTER_DIV 2 /* jitter 1/2: exact bounds in integers */
#define J_JITTER (1.0 / J_JITTER_DIV)

/* A probe's restart is decided in the same pass of the supervisor thread
 * that then fires every due deadline (under the tree's lock): once the
 * probe's restart count moved, the clock as advanced so far was seen. */
static void sync_supervisor(troupe_system *sys, troupe_ref probe)
{
    long before = restarts_of(sys, probe);
    tell_ok(sys, probe, K_PANIC);
    wait_until(restarts_of(sys, probe) == before + 1);
}

/* One backoff: advance the clock step by step through the window the
 * jitter allows and return the step at which the child restarted
 * (0 = before the window: a failure). */
static int one_backoff(troupe_system *sys, troupe_clock *clk, troupe_ref r, troupe_ref probe,
                       int64_t nominal)
{
    long before = restarts_of(sys, r);
    tell_ok(sys, r, K_PANIC);
    wait_until(state_of(sys, r) == TROUPE_CHILD_BACKOFF);
    cr_assert_eq((int64_t)info_of(sys, r).next_delay_ns, nominal);
    int64_t lo = nominal - nominal / J_JITTER_DIV, hi = nominal + nominal / J_JITTER_DIV;
    cr_assert_eq(troupe_clock_advance(clk, (uint64_t)(lo - 1)), 0);
    sync_supervisor(sys, probe);
    if (restarts_of(sys, r) != before)
        return 0;
    int64_t at = lo - 1;
    for (int step = 1; step <= J_STEPS; step++) {
        int64_t next = lo + (hi - lo) * step / J_STEPS;
        cr_assert_eq(troupe_clock_advance(clk, (uint64_t)(next - at)), 0);
        at = next;
        sync_supervisor(sys, probe);
        if (restarts_of(sys, r) != before)
            return step;
    }
    cr_assert_fail("no restart by nominal x (1 + jitter) = %lld ns", (long long)hi);
    return -1;
}

/* One system: a jittered child (100 ms x2 up to 400 ms, jitter 0.5) and a
 * probe; the step of each restart goes to steps[]. */
static void jitter_run(int *steps)
{
    kid_env e;
    env_init(&e);
    troupe_clock *clk;
    troupe_system *sys = tt_system_manual(2, 1000 * S_NS, &clk);
    troupe_sup sup = start_sup(sys, root_of(sys), TROUPE_ONE_FOR_ONE, 100000, TROUPE_PERMANENT);
    kid_arg a = {&e, 1}, b = {&e, 2};
    troupe_child_spec s = kid_spec(&kid_beh, &a, TROUPE_PERMANENT, TROUPE_RESTART_EXPONENTIAL);
    s.policy.initial_ns = J_BASE;
    s.policy.max_ns = J_CAP;
    s.policy.multiplier = 2.0;
    s.policy.jitter = J_JITTER;
    s.policy.max_restarts = 0;
    troupe_ref r = start_kid(sys, sup, &s);
    troupe_child_spec ps = kid_spec(&kid_beh, &b, TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
    troupe_ref probe = start_kid(sys, sup, &ps);
    for (int i = 0; i < J_ROUNDS; i++) {
        int64_t nominal = J_BASE << (i < 2 ? i : 2); /* capped at 400 ms */
        steps[i] = one_backoff(sys, clk, r, probe, nominal);
        cr_assert_gt(steps[i], 0, "round %d: restarted before nominal x (1 - jitter)", i);
        ping_ok(sys, r);
    }
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
    env_fini(&e);
}

/* Every restart lands within [nominal x (1 - jitter), nominal x (1 +
 * jitter)] (the cap applies before the jitter); the draws spread over the
 * window, and differ from one system to the next (each seeds its own). */
Test(jitter, restarts_stay_within_bounds, .timeout = 60)
{
    int steps[J_SYSTEMS][J_ROUNDS];
    bool hit[J_STEPS + 1] = {0};
    int distinct = 0, same_as_first = 0;
    for (int k = 0; k < J_SYSTEMS; k++) {
        jitter_run(steps[k]);
        for (int i = 0; i < J_ROUNDS; i++) {
            distinct += !hit[steps[k][i]];
            hit[steps[k][i]] = true;
        }
        same_as_first += k > 0 && memcmp(steps[k], steps[0], sizeof steps[0]) == 0;
    }
    cr_assert_geq(distinct, 3, "the jitter does not spread the delays");
    cr_assert_lt(same_as_first, J_SYSTEMS - 1, "every system drew the same delays");
}

/* ---- an operator's restart ------------------------------------------------------ */

typedef struct textbuf {
    char *p;
    size_t n, cap;
} textbuf;

static int tb_write(void *ud, const char *d, size_t n)
{
    textbuf *b = ud;
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        if (!(b->p = realloc(b->p, b->cap)))
            return TROUPE_ENOMEM;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}

/* The value of the sample `series` in the metrics page, or -1. */
static double metric(troupe_system *sys, const char *series)
{
    textbuf b = {0};
    cr_assert_eq(troupe_metrics_write(sys, NULL, tb_write, &b), 0);
    double v = -1;
    size_t n = strlen(series);
    for (const char *l = b.p; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, series, n) == 0 && l[n] == ' ')
            v = strtod(l + n + 1, NULL);
    free(b.p);
    return v;
}

/* More operator restarts than the root's intensity allows (3 in the
 * period; the manual clock keeps them all inside it): nothing escalates,
 * the backoff does not grow, the metrics count them as 'operator'. */
Test(operator, restarts_do_not_count_toward_intensity, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_clock *clk;
    cr_assert_eq(troupe_clock_create_manual(&clk, S_NS), 0);
    troupe_config cfg = tt_config(2, clk);
    cfg.root_intensity = 3;
    troupe_system *sys = tt_system_cfg(&cfg);
    kid_arg a = {&e, 1};
    troupe_child_spec s = kid_spec(&kid_beh, &a, TROUPE_PERMANENT, TROUPE_RESTART_EXPONENTIAL);
    s.policy.initial_ns = 100 * MS;
    s.policy.max_ns = 1000 * MS;
    s.policy.multiplier = 2.0;
    s.policy.max_restarts = 2;
    troupe_ref r = start_kid(sys, root_of(sys), &s);
    for (int i = 1; i <= 11; i++) {
        cr_assert_eq(troupe_actor_restart(sys, r), 0);
        wait_until(restarts_of(sys, r) == i && state_of(sys, r) == TROUPE_CHILD_RUNNING);
    }
    ping_ok(sys, r);
    troupe_child_info ci = info_of(sys, r);
    cr_assert_eq(ci.restarts_since_reset, 0, "operator restarts grew the backoff");
    cr_assert_eq(ci.next_delay_ns, 100 * MS_NS);
    cr_assert_eq(ci.exits_by_kind[TROUPE_EXIT_ERROR], 11);
    troupe_sup_info ri = sup_info(sys, root_of(sys));
    cr_assert_eq(ri.escalations, 0);
    cr_assert_eq(ri.restarts, 11);
    cr_assert_eq(ri.operator_restarts, 11);
    cr_assert_eq(ri.restart_decisions, 0);
    cr_assert_eq(tt_sys_stats(sys).actors_live, 1);
    cr_assert_eq(metric(sys, "troupe_restarts_total{reason=\"operator\"}"), 11);
    cr_assert_eq(metric(sys, "troupe_restarts_total{reason=\"error\"}"), 0);
    cr_assert_eq(metric(sys, "troupe_escalations_total"), 0);
    /* a failure afterwards still counts: the policy's first delay */
    tell_ok(sys, r, K_PANIC);
    wait_until(state_of(sys, r) == TROUPE_CHILD_BACKOFF);
    cr_assert_eq(troupe_clock_advance(clk, 100 * MS_NS), 0);
    wait_until(restarts_of(sys, r) == 12 && state_of(sys, r) == TROUPE_CHILD_RUNNING);
    ri = sup_info(sys, root_of(sys));
    cr_assert_eq(ri.restart_decisions, 1);
    cr_assert_eq(info_of(sys, r).restarts_since_reset, 1);
    cr_assert_eq(metric(sys, "troupe_restarts_total{reason=\"panic\"}"), 1);
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
    env_fini(&e);
}

/* A child waiting out its backoff is restarted at once: the failure's own
 * restart, sooner (it counts toward the backoff as before), and not a
 * second time when the delay would have ended. */
Test(operator, restart_during_backoff_is_now, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_clock *clk;
    troupe_system *sys = tt_system_manual(2, S_NS, &clk);
    troupe_sup sup = start_sup(sys, root_of(sys), TROUPE_ONE_FOR_ONE, 100, TROUPE_PERMANENT);
    kid_arg a = {&e, 1}, b = {&e, 2};
    troupe_child_spec s = kid_spec(&kid_beh, &a, TROUPE_PERMANENT, TROUPE_RESTART_FIXED_DELAY);
    s.policy.delay_ns = 100 * MS;
    troupe_ref r = start_kid(sys, sup, &s);
    troupe_child_spec ps = kid_spec(&kid_beh, &b, TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
    troupe_ref probe = start_kid(sys, sup, &ps);
    tell_ok(sys, r, K_PANIC);
    wait_until(state_of(sys, r) == TROUPE_CHILD_BACKOFF);
    cr_assert_eq(troupe_actor_restart(sys, r), 0);
    cr_assert_eq(restarts_of(sys, r), 1, "restarted by the call, no clock moved");
    wait_until(tt_log_len(&e.starts) == 3);
    ping_ok(sys, r);
    cr_assert_eq(troupe_clock_advance(clk, 100 * MS_NS), 0);
    sync_supervisor(sys, probe);
    cr_assert_eq(restarts_of(sys, r), 1, "restarted again when the delay ended");
    troupe_child_info ci = info_of(sys, r);
    cr_assert_eq(ci.restarts_since_reset, 1);
    cr_assert_eq(ci.last_kind, TROUPE_EXIT_PANIC);
    troupe_sup_info si = sup_info(sys, sup);
    cr_assert_eq(si.operator_restarts, 0);
    cr_assert_eq(si.restart_decisions, 2, "the panic and the probe's");
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
    env_fini(&e);
}

/* Whatever the restart type and policy, an operator's restart restarts the
 * child: a TEMPORARY child under NEVER comes back, nothing escalates. */
Test(operator, restarts_any_type_and_policy, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_system *sys = tt_system(2);
    troupe_sup sup = start_sup(sys, root_of(sys), TROUPE_ONE_FOR_ALL, 0, TROUPE_PERMANENT);
    kid_arg a = {&e, 1}, b = {&e, 2};
    troupe_child_spec s = kid_spec(&kid_beh, &a, TROUPE_TEMPORARY, TROUPE_RESTART_NEVER);
    troupe_ref r = start_kid(sys, sup, &s);
    s = kid_spec(&kid_beh, &b, TROUPE_PERMANENT, TROUPE_RESTART_NEVER);
    troupe_ref sib = start_kid(sys, sup, &s);
    for (int i = 1; i <= 3; i++) {
        cr_assert_eq(troupe_actor_restart(sys, r), 0);
        wait_until(restarts_of(sys, r) == i && state_of(sys, r) == TROUPE_CHILD_RUNNING);
        cr_assert_eq(troupe_actor_restart(sys, sib), 0);
        wait_until(restarts_of(sys, sib) == i && state_of(sys, sib) == TROUPE_CHILD_RUNNING);
    }
    ping_ok(sys, r);
    ping_ok(sys, sib);
    troupe_sup_info si = sup_info(sys, sup);
    cr_assert_eq(si.escalations, 0);
    cr_assert_eq(si.restarts, 6, "one_for_all: each alone, no sibling restarted");
    cr_assert_eq(si.operator_restarts, 6);
    cr_assert_eq(tt_log_len(&e.starts), 2 + 6);
    troupe_system_destroy(sys);
    env_fini(&e);
}
