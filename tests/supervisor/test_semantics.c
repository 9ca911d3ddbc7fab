/* tests/supervisor/test_semantics.c — supervision semantics checked against
 * OTP and our own promises in supervisor.h (issue 11, items 5, 9, 10): a
 * refused start runs no callbacks, restart counters (decisions and children
 * restarted), the NEVER policy under each restart type. Jitter and
 * operators' restarts: test_restart.c. */
#include "sv_support.h"

/* ---- names: reserved before init ----------------------------------------------- */

/* A name taken by a supervised child or by a plain actor: the duplicate's
 * init and stop never run (OTP registers the name before init). */
Test(names, duplicate_runs_no_callbacks, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_system *sys = tt_system(2);
    kid_arg a = {&e, 1}, b = {&e, 2};
    troupe_child_spec s = kid_spec(&kid_beh, &a, TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
    s.name = "engine";
    start_kid(sys, root_of(sys), &s);
    troupe_ref plain = tt_spawn(sys, &kid_beh, &a, NULL);
    cr_assert_eq(troupe_register(sys, "plain", plain), 0);
    cr_assert_eq(tt_log_len(&e.starts), 2);
    const char *taken[] = {"engine", "plain"};
    for (int i = 0; i < 2; i++) {
        troupe_child_spec dup = kid_spec(&kid_beh, &b, TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
        dup.name = taken[i];
        troupe_ref x = TROUPE_REF_NONE;
        cr_assert_eq(troupe_sup_start_child(sys, root_of(sys), &dup, &x), TROUPE_EEXIST);
        cr_assert(troupe_ref_is_none(x));
    }
    cr_assert_eq(tt_log_len(&e.starts), 2, "a refused duplicate ran init");
    cr_assert_eq(tt_log_len(&e.stops), 0, "a refused duplicate ran stop");
    cr_assert_eq(sup_info(sys, root_of(sys)).children, 1);
    cr_assert_eq(tt_sys_stats(sys).actors_live, 2);
    troupe_system_destroy(sys);
    env_fini(&e);
}

/* A failing init releases the name: the next start with it succeeds. */
Test(names, failed_init_releases_the_name, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_system *sys = tt_system(2);
    kid_arg a = {&e, 1};
    troupe_child_spec s = kid_spec(&kid_beh, &a, TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
    s.name = "engine";
    atomic_store(&e.fail_init, 1);
    troupe_ref x = TROUPE_REF_NONE, found = TROUPE_REF_NONE;
    cr_assert_eq(troupe_sup_start_child(sys, root_of(sys), &s, &x), TROUPE_EFAILED);
    cr_assert(troupe_ref_is_none(x));
    cr_assert_eq(troupe_whereis(sys, "engine", &found), TROUPE_ENOTFOUND);
    cr_assert_eq(tt_log_len(&e.stops), 0, "no stop callback after a failed init");
    troupe_ref r = start_kid(sys, root_of(sys), &s);
    cr_assert_eq(troupe_whereis(sys, "engine", &found), 0);
    cr_assert(troupe_ref_eq(found, r));
    ping_ok(sys, r);
    troupe_system_destroy(sys);
    env_fini(&e);
}

static _Atomic uint64_t seen_in_init;

/* Records what its own name resolves to while init runs. */
static int early_init(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)state, (void)arg;
    troupe_ref r = TROUPE_REF_NONE;
    troupe_whereis(troupe_ctx_system(ctx), "early", &r);
    atomic_store(&seen_in_init, r.id);
    return 0;
}

static int early_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    (void)ctx, (void)state, (void)m;
    return 0;
}

static const troupe_behaviour early_beh = {.name = "early", .init = early_init,
                                           .handle = early_handle};

/* As in OTP, the name is the child's before its init runs. */
Test(names, registered_before_init, .timeout = 60)
{
    troupe_system *sys = tt_system(2);
    troupe_child_spec s;
    troupe_child_spec_defaults(&s);
    s.beh = &early_beh;
    s.name = "early";
    troupe_ref r = start_kid(sys, root_of(sys), &s);
    cr_assert_eq(atomic_load(&seen_in_init), r.id);
    troupe_system_destroy(sys);
}

/* ---- restart counters ------------------------------------------------------------ */

static void start_n(troupe_system *sys, troupe_sup sup, kid_env *e, kid_arg *args,
                    troupe_ref *refs, int n)
{
    for (int i = 0; i < n; i++) {
        args[i] = (kid_arg){e, i};
        troupe_child_spec s = kid_spec(&kid_beh, &args[i], TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
        refs[i] = start_kid(sys, sup, &s);
    }
}

Test(counts, one_for_one_one_decision_per_restart, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_system *sys = tt_system(2);
    troupe_sup sup = start_sup(sys, root_of(sys), TROUPE_ONE_FOR_ONE, 10, TROUPE_PERMANENT);
    kid_arg args[2];
    troupe_ref r[2];
    start_n(sys, sup, &e, args, r, 2);
    tell_ok(sys, r[0], K_PANIC);
    wait_until(restarts_of(sys, r[0]) == 1);
    tell_ok(sys, r[1], K_PANIC);
    wait_until(restarts_of(sys, r[1]) == 1);
    troupe_sup_info si = sup_info(sys, sup);
    cr_assert_eq(si.restarts, 2);
    cr_assert_eq(si.restart_decisions, 2);
    cr_assert_eq(si.operator_restarts, 0);
    troupe_system_destroy(sys);
    env_fini(&e);
}

/* One failure under one_for_all: one decision, three children restarted. */
Test(counts, one_for_all_one_decision_three_children, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_system *sys = tt_system(2);
    troupe_sup sup = start_sup(sys, root_of(sys), TROUPE_ONE_FOR_ALL, 10, TROUPE_PERMANENT);
    kid_arg args[3];
    troupe_ref r[3];
    start_n(sys, sup, &e, args, r, 3);
    tell_ok(sys, r[1], K_PANIC);
    for (int i = 0; i < 3; i++)
        wait_until(restarts_of(sys, r[i]) == 1);
    troupe_sup_info si = sup_info(sys, sup);
    cr_assert_eq(si.restarts, 3);
    cr_assert_eq(si.restart_decisions, 1);
    troupe_system_destroy(sys);
    env_fini(&e);
}

/* A supervisor that gives up is one child of its parent restarted by one
 * decision, however many children it has. */
Test(counts, escalation_is_one_decision_in_the_parent, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_system *sys = tt_system(2);
    troupe_sup mid = start_sup(sys, root_of(sys), TROUPE_ONE_FOR_ALL, 10, TROUPE_PERMANENT);
    troupe_sup sub = start_sup(sys, mid, TROUPE_ONE_FOR_ONE, 0, TROUPE_PERMANENT);
    kid_arg args[3];
    troupe_ref r[3];
    start_n(sys, sub, &e, args, r, 3);
    tell_ok(sys, r[0], K_PANIC); /* intensity 0: the sub gives up at once */
    wait_until(escalations_of(sys, sub) == 1);
    for (int i = 0; i < 3; i++)
        wait_until(restarts_of(sys, r[i]) == 1);
    for (int i = 0; i < 3; i++)
        ping_ok(sys, r[i]);
    troupe_sup_info mi = sup_info(sys, mid);
    cr_assert_eq(mi.restart_decisions, 1);
    cr_assert_eq(mi.restarts, 1, "children of mid restarted: the sub, once");
    troupe_sup_info si = sup_info(sys, sub);
    cr_assert_eq(si.restart_decisions, 0, "the sub restarted nothing itself");
    cr_assert_eq(si.restarts, 0);
    cr_assert_eq(sup_info(sys, root_of(sys)).restart_decisions, 0);
    troupe_system_destroy(sys);
    env_fini(&e);
}

/* ---- the NEVER policy -------------------------------------------------------------- */

/* sub (PERMANENT, under the root) holds a NEVER child of `type` and an
 * ALWAYS sibling. */
typedef struct never_env {
    kid_env e;
    troupe_system *sys;
    troupe_sup sub;
    kid_arg a, b;
    troupe_ref child, sibling;
} never_env;

static void never_setup(never_env *n, troupe_restart_type type)
{
    env_init(&n->e);
    n->sys = tt_system(2);
    n->sub = start_sup(n->sys, root_of(n->sys), TROUPE_ONE_FOR_ONE, 10, TROUPE_PERMANENT);
    n->a = (kid_arg){&n->e, 1};
    n->b = (kid_arg){&n->e, 2};
    troupe_child_spec s = kid_spec(&kid_beh, &n->a, type, TROUPE_RESTART_NEVER);
    n->child = start_kid(n->sys, n->sub, &s);
    s = kid_spec(&kid_beh, &n->b, TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
    n->sibling = start_kid(n->sys, n->sub, &s);
}

static void never_teardown(never_env *n)
{
    troupe_system_destroy(n->sys);
    env_fini(&n->e);
}

/* The child ended for good; its supervisor and sibling were not touched. */
static void assert_ended_alone(never_env *n)
{
    tt_wait_dead(n->sys, n->child);
    wait_until(sup_info(n->sys, n->sub).children == 1);
    cr_assert_eq(escalations_of(n->sys, n->sub), 0);
    cr_assert_eq(restarts_of(n->sys, n->sibling), 0);
    ping_ok(n->sys, n->sibling);
    cr_assert_eq(tt_log_len(&n->e.starts), 2);
}

/* A restartable exit under NEVER escalates: the sibling is stopped, the
 * sub fails to the root, which restarts the sub and both children. */
static void assert_escalated(never_env *n)
{
    wait_until(escalations_of(n->sys, n->sub) == 1);
    wait_until(restarts_of(n->sys, n->child) == 1 && restarts_of(n->sys, n->sibling) == 1);
    ping_ok(n->sys, n->child);
    ping_ok(n->sys, n->sibling);
    troupe_sup_info ri = sup_info(n->sys, root_of(n->sys));
    cr_assert_eq(ri.restart_decisions, 1);
    cr_assert_eq(ri.escalations, 0);
    cr_assert_eq(sup_info(n->sys, n->sub).restart_decisions, 0, "the sub restarted nothing");
    cr_assert_eq(info_of(n->sys, n->child).restarts_since_reset, 0, "a fresh start");
}

Test(never, permanent_escalates_even_on_a_normal_exit, .timeout = 60)
{
    never_env n;
    never_setup(&n, TROUPE_PERMANENT);
    tell_ok(n.sys, n.child, K_QUIT);
    assert_escalated(&n);
    never_teardown(&n);
}

Test(never, permanent_escalates_on_a_panic, .timeout = 60)
{
    never_env n;
    never_setup(&n, TROUPE_PERMANENT);
    tell_ok(n.sys, n.child, K_PANIC);
    assert_escalated(&n);
    never_teardown(&n);
}

Test(never, transient_escalates_on_an_abnormal_exit, .timeout = 60)
{
    never_env n;
    never_setup(&n, TROUPE_TRANSIENT);
    tell_ok(n.sys, n.child, K_PANIC);
    assert_escalated(&n);
    never_teardown(&n);
}

Test(never, transient_ends_alone_on_a_normal_exit, .timeout = 60)
{
    never_env n;
    never_setup(&n, TROUPE_TRANSIENT);
    tell_ok(n.sys, n.child, K_QUIT);
    assert_ended_alone(&n);
    never_teardown(&n);
}

Test(never, temporary_ends_alone_on_a_panic, .timeout = 60)
{
    never_env n;
    never_setup(&n, TROUPE_TEMPORARY);
    tell_ok(n.sys, n.child, K_PANIC);
    assert_ended_alone(&n);
    never_teardown(&n);
}
