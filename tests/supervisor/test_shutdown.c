/* tests/supervisor/test_shutdown.c — graceful shutdown of a subtree and of
 * the system (seed scenario 3), forced kills at a child's own timeout,
 * terminate_child, monitors and DOWN, and bad input. */
#include "sv_support.h"

#define MS ((int64_t)MS_NS)

typedef struct progress {
    pthread_mutex_t mu;
    troupe_shutdown_report last;
    int reports, dones;
} progress;

static void on_progress(const troupe_shutdown_report *r, void *ud)
{
    progress *p = ud;
    pthread_mutex_lock(&p->mu);
    p->last = *r;
    p->reports++;
    p->dones += r->done;
    pthread_mutex_unlock(&p->mu);
}

static troupe_shutdown_report last_report(progress *p, int *dones)
{
    pthread_mutex_lock(&p->mu);
    troupe_shutdown_report r = p->last;
    *dones = p->dones;
    pthread_mutex_unlock(&p->mu);
    return r;
}

static int dones_of(progress *p)
{
    int d;
    last_report(p, &d);
    return d;
}

/* 3a. Ten actors shut down gracefully inside their 5 s timeout: on a manual
 * clock that never moves, every one stopped by itself (none forced), in
 * reverse start order, and the progress callback saw each. */
Test(shutdown, seed_graceful_ten, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_clock *clk;
    troupe_system *sys = tt_system_manual(2, S_NS, &clk);
    troupe_sup sup = start_sup(sys, root_of(sys), TROUPE_ONE_FOR_ONE, 10, TROUPE_PERMANENT);
    kid_arg args[10];
    troupe_ref r[10];
    for (int i = 0; i < 10; i++) {
        args[i] = (kid_arg){&e, i};
        troupe_child_spec s = kid_spec(&kid_beh, &args[i], TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
        s.shutdown_ns = 5000 * MS;
        r[i] = start_kid(sys, sup, &s);
    }
    progress p = {.mu = PTHREAD_MUTEX_INITIALIZER};
    cr_assert_eq(troupe_sup_shutdown(sys, sup, on_progress, &p), 0);
    wait_until(dones_of(&p) == 1);
    int dones;
    troupe_shutdown_report last = last_report(&p, &dones);
    cr_assert_eq(last.stopped, 10);
    cr_assert_eq(last.forced, 0);
    cr_assert_eq(last.remaining, 0);
    cr_assert_eq(p.reports, 11, "one per child, then done");
    cr_assert_eq(tt_log_len(&e.stops), 10);
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(tt_log_at(&e.stops, (size_t)i), (9 - i) * 100 + TROUPE_EXIT_SHUTDOWN);
        cr_assert_eq(troupe_alive(sys, r[i]), 0);
    }
    cr_assert_eq(troupe_sup_info_get(sys, sup, &(troupe_sup_info){0}), TROUPE_ENOTFOUND);
    troupe_system_stats st;
    troupe_system_stats_get(sys, &st);
    cr_assert_eq(st.actors_live, 0);
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
    env_fini(&e);
}

/* 3b. A child that ignores its stop signal is killed at its own timeout
 * (1 ns short of it, it is still waited for), without its stop callback. */
Test(shutdown, seed_ignoring_child_is_forced, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_clock *clk;
    troupe_system *sys = tt_system_manual(2, S_NS, &clk);
    troupe_sup sup = start_sup(sys, root_of(sys), TROUPE_ONE_FOR_ONE, 10, TROUPE_PERMANENT);
    kid_arg a0 = {&e, 0}, a1 = {&e, 1}, a2 = {&e, 2};
    troupe_child_spec s0 = kid_spec(&kid_beh, &a0, TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
    troupe_child_spec s1 = kid_spec(&deaf_beh, &a1, TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
    troupe_child_spec s2 = kid_spec(&kid_beh, &a2, TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
    s1.shutdown_ns = 2000 * MS;
    troupe_ref r0 = start_kid(sys, sup, &s0), r1 = start_kid(sys, sup, &s1),
               r2 = start_kid(sys, sup, &s2);
    progress p = {.mu = PTHREAD_MUTEX_INITIALIZER};
    cr_assert_eq(troupe_sup_shutdown(sys, sup, on_progress, &p), 0);
    tt_wait_dead(sys, r2);
    wait_until(state_of(sys, r1) == TROUPE_CHILD_STOPPING);
    ping_ok(sys, r1); /* it got the stop as a message and carries on */
    cr_assert_eq(troupe_clock_advance(clk, 2000 * MS_NS - 1), 0);
    cr_assert_eq(troupe_alive(sys, r0), 1, "the next one waits for the deaf one");
    cr_assert_eq(dones_of(&p), 0);
    cr_assert_eq(troupe_clock_advance(clk, 1), 0);
    wait_until(dones_of(&p) == 1);
    int dones;
    troupe_shutdown_report last = last_report(&p, &dones);
    cr_assert_eq(last.forced, 1);
    cr_assert_eq(last.stopped, 2);
    tt_wait_dead(sys, r1);
    tt_wait_dead(sys, r0);
    cr_assert_eq(tt_log_len(&e.stops), 2, "no stop callback for the killed one");
    cr_assert_eq(tt_log_at(&e.stops, 0), 200 + TROUPE_EXIT_SHUTDOWN);
    cr_assert_eq(tt_log_at(&e.stops, 1), 0 + TROUPE_EXIT_SHUTDOWN);
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
    env_fini(&e);
}

/* The system's shutdown stops the tree first, in reverse start order,
 * subtrees included, then everything else. */
Test(shutdown, system_shutdown_stops_tree_in_order, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_system *sys = tt_system(2);
    troupe_sup root = root_of(sys);
    kid_arg args[6];
    for (int i = 0; i < 6; i++)
        args[i] = (kid_arg){&e, i};
    troupe_child_spec s0 = kid_spec(&kid_beh, &args[0], TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
    start_kid(sys, root, &s0);
    troupe_sup sub = start_sup(sys, root, TROUPE_ONE_FOR_ALL, 10, TROUPE_PERMANENT);
    for (int i = 1; i < 4; i++) {
        troupe_child_spec s = kid_spec(&kid_beh, &args[i], TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
        start_kid(sys, sub, &s);
    }
    troupe_child_spec s4 = kid_spec(&kid_beh, &args[4], TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
    start_kid(sys, root, &s4);
    troupe_ref plain = tt_spawn(sys, &kid_beh, &args[5], NULL);
    cr_assert_eq(troupe_system_shutdown(sys, 30 * S_NS), 0);
    cr_assert_eq(troupe_alive(sys, plain), 0);
    long want[6] = {4, 3, 2, 1, 0, 5};
    cr_assert_eq(tt_log_len(&e.stops), 6);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(tt_log_at(&e.stops, (size_t)i), want[i] * 100 + TROUPE_EXIT_SHUTDOWN,
                     "stop %d was %ld", i, tt_log_at(&e.stops, (size_t)i));
    troupe_system_destroy(sys);
    env_fini(&e);
}

Test(shutdown, terminate_child_and_brutal, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_system *sys = tt_system(2);
    kid_arg a = {&e, 1}, b = {&e, 2};
    troupe_child_spec s = kid_spec(&kid_beh, &a, TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
    troupe_child_spec sb = kid_spec(&kid_beh, &b, TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
    sb.brutal = 1;
    troupe_ref r = start_kid(sys, root_of(sys), &s), rb = start_kid(sys, root_of(sys), &sb);
    cr_assert_eq(troupe_sup_terminate_child(sys, r), 0);
    cr_assert_eq(troupe_sup_terminate_child(sys, rb), 0);
    tt_wait_dead(sys, r);
    tt_wait_dead(sys, rb);
    wait_until(sup_info(sys, root_of(sys)).children == 0);
    cr_assert_eq(tt_log_len(&e.stops), 1, "brutal: no stop callback");
    cr_assert_eq(tt_log_at(&e.stops, 0), 100 + TROUPE_EXIT_SHUTDOWN);
    cr_assert_eq(troupe_sup_terminate_child(sys, r), TROUPE_ENOTFOUND);
    troupe_system_destroy(sys);
    env_fini(&e);
}

/* ---- monitors ------------------------------------------------------------------ */

Test(monitor, down_reaches_watchers_restarts_do_not, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_system *sys = tt_system(2);
    kid_arg w = {&e, 9}, a = {&e, 1}, b = {&e, 2};
    troupe_ref watcher = tt_spawn(sys, &kid_beh, &w, NULL);
    troupe_child_spec sp = kid_spec(&kid_beh, &a, TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
    troupe_child_spec st = kid_spec(&kid_beh, &b, TROUPE_TEMPORARY, TROUPE_RESTART_ALWAYS);
    troupe_ref perm = start_kid(sys, root_of(sys), &sp), temp = start_kid(sys, root_of(sys), &st);
    uint64_t m1, m2;
    cr_assert_eq(troupe_monitor(sys, watcher, perm, &m1), 0);
    cr_assert_eq(troupe_monitor(sys, watcher, temp, &m2), 0);
    cr_assert_neq(m1, m2);
    tell_ok(sys, perm, K_PANIC); /* restarted: no DOWN */
    ping_ok(sys, perm);
    tell_ok(sys, temp, K_PANIC); /* gone for good: DOWN(panic) */
    wait_until(tt_log_len(&e.downs) == 1);
    cr_assert_eq(tt_log_at(&e.downs, 0), TROUPE_EXIT_PANIC * 1000 + (long)(temp.id & 0xFFFF));
    cr_assert_eq(troupe_sup_terminate_child(sys, perm), 0);
    wait_until(tt_log_len(&e.downs) == 2);
    cr_assert_eq(tt_log_at(&e.downs, 1), TROUPE_EXIT_SHUTDOWN * 1000 + (long)(perm.id & 0xFFFF));
    /* a ref already gone: DOWN(noproc) at once */
    uint64_t m3;
    cr_assert_eq(troupe_monitor(sys, watcher, temp, &m3), 0);
    wait_until(tt_log_len(&e.downs) == 3);
    cr_assert_eq(tt_log_at(&e.downs, 2), TROUPE_EXIT_NOPROC * 1000 + (long)(temp.id & 0xFFFF));
    troupe_system_destroy(sys);
    env_fini(&e);
}

Test(monitor, demonitor_and_plain_actors, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_system *sys = tt_system(2);
    kid_arg w = {&e, 9}, a = {&e, 1}, b = {&e, 2};
    troupe_ref watcher = tt_spawn(sys, &kid_beh, &w, NULL);
    troupe_ref x = tt_spawn(sys, &kid_beh, &a, NULL), y = tt_spawn(sys, &kid_beh, &b, NULL);
    uint64_t mx, my;
    cr_assert_eq(troupe_monitor(sys, watcher, x, &mx), 0);
    cr_assert_eq(troupe_monitor(sys, watcher, y, &my), 0);
    cr_assert_eq(troupe_demonitor(sys, x, mx), 0);
    cr_assert_eq(troupe_demonitor(sys, x, mx), TROUPE_ENOTFOUND);
    cr_assert_eq(troupe_stop(sys, x), 0);
    tt_wait_dead(sys, x);
    cr_assert_eq(troupe_stop(sys, y), 0);
    wait_until(tt_log_len(&e.downs) == 1);
    cr_assert_eq(tt_log_at(&e.downs, 0), TROUPE_EXIT_NORMAL * 1000 + (long)(y.id & 0xFFFF));
    ping_ok(sys, watcher); /* x's DOWN would have arrived before this */
    cr_assert_eq(tt_log_len(&e.downs), 1);
    uint64_t id;
    cr_assert_eq(troupe_monitor(NULL, watcher, y, &id), TROUPE_EINVAL);
    cr_assert_eq(troupe_monitor(sys, watcher, y, NULL), TROUPE_EINVAL);
    cr_assert_eq(troupe_monitor(sys, TROUPE_REF_NONE, y, &id), TROUPE_EINVAL);
    cr_assert_eq(troupe_monitor(sys, x, watcher, &id), TROUPE_ENOACTOR, "dead watcher");
    cr_assert_eq(troupe_demonitor(sys, y, 0), TROUPE_EINVAL);
    troupe_system_destroy(sys);
    env_fini(&e);
}

/* ---- bad input ----------------------------------------------------------------- */

Test(badinput, specs_are_checked_nothing_half_started, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_system *sys = tt_system(2);
    troupe_sup root = root_of(sys);
    kid_arg a = {&e, 1};
    troupe_ref r = TROUPE_REF_NONE;
    troupe_child_spec ok = kid_spec(&kid_beh, &a, TROUPE_PERMANENT, TROUPE_RESTART_EXPONENTIAL);
    ok.policy.initial_ns = 10 * MS;
    ok.policy.max_ns = 100 * MS;
    ok.policy.multiplier = 2;
    troupe_child_spec bad[10];
    for (int i = 0; i < 10; i++)
        bad[i] = ok;
    bad[0].beh = NULL;
    bad[1].policy.initial_ns = -1;
    bad[2].policy.multiplier = 0.5;
    bad[3].policy.max_ns = 5 * MS; /* below initial */
    bad[4].policy.kind = (troupe_restart_kind)42;
    bad[5].restart = (troupe_restart_type)7;
    bad[6].shutdown_ns = -5;
    bad[7].policy.jitter = 1.5;
    bad[8].policy.kind = TROUPE_RESTART_FIXED_DELAY;
    bad[8].policy.delay_ns = -10;
    bad[9].name = "";
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(troupe_sup_start_child(sys, root, &bad[i], &r), TROUPE_EINVAL, "case %d", i);
        cr_assert(troupe_ref_is_none(r));
    }
    cr_assert_eq(troupe_sup_start_child(NULL, root, &ok, &r), TROUPE_EINVAL);
    cr_assert_eq(troupe_sup_start_child(sys, root, NULL, &r), TROUPE_EINVAL);
    cr_assert_eq(troupe_sup_start_child(sys, root, &ok, NULL), TROUPE_EINVAL);
    cr_assert_eq(troupe_sup_start_child(sys, (troupe_sup){12345}, &ok, &r), TROUPE_ENOTFOUND);
    troupe_sup_spec ss;
    troupe_sup_spec_defaults(&ss);
    ss.period_ns = 0;
    troupe_sup sub;
    cr_assert_eq(troupe_sup_start_supervisor(sys, root, &ss, &sub), TROUPE_EINVAL);
    troupe_sup_spec_defaults(&ss);
    ss.strategy = (troupe_sup_strategy)9;
    cr_assert_eq(troupe_sup_start_supervisor(sys, root, &ss, &sub), TROUPE_EINVAL);
    cr_assert_eq(tt_log_len(&e.starts), 0, "no init ran");
    troupe_system_stats st;
    troupe_system_stats_get(sys, &st);
    cr_assert_eq(st.actors_live, 0);
    cr_assert_eq(sup_info(sys, root).children, 0);
    /* init refusing: nothing left behind either */
    atomic_store(&e.fail_init, 1);
    cr_assert_eq(troupe_sup_start_child(sys, root, &ok, &r), TROUPE_EFAILED);
    cr_assert_eq(sup_info(sys, root).children, 0);
    troupe_system_stats_get(sys, &st);
    cr_assert_eq(st.actors_live, 0);
    troupe_system_destroy(sys);
    env_fini(&e);
}

Test(badinput, cycles_and_stale_supervisors, .timeout = 60)
{
    troupe_system *sys = tt_system(2);
    troupe_sup root = root_of(sys);
    troupe_sup a = start_sup(sys, root, TROUPE_ONE_FOR_ONE, 5, TROUPE_PERMANENT);
    troupe_sup b = start_sup(sys, a, TROUPE_ONE_FOR_ONE, 5, TROUPE_PERMANENT);
    troupe_sup c = start_sup(sys, root, TROUPE_ONE_FOR_ONE, 5, TROUPE_PERMANENT);
    cr_assert_eq(troupe_sup_move(sys, a, b), TROUPE_EINVAL, "a under its own child");
    cr_assert_eq(troupe_sup_move(sys, a, a), TROUPE_EINVAL, "a under itself");
    cr_assert_eq(troupe_sup_move(sys, root, c), TROUPE_EINVAL, "the root moves nowhere");
    cr_assert_eq(troupe_sup_move(sys, b, c), 0);
    cr_assert_eq(sup_info(sys, b).parent.id, c.id);
    cr_assert_eq(sup_info(sys, a).children, 0);
    cr_assert_eq(troupe_sup_move(sys, c, a), 0);
    cr_assert_eq(troupe_sup_move(sys, a, b), TROUPE_EINVAL, "b is below a now");
    cr_assert_eq(troupe_sup_shutdown(sys, a, NULL, NULL), 0);
    wait_until(troupe_sup_info_get(sys, b, &(troupe_sup_info){0}) == TROUPE_ENOTFOUND);
    cr_assert_eq(troupe_sup_move(sys, b, root), TROUPE_ENOTFOUND);
    cr_assert_eq(troupe_sup_shutdown(sys, a, NULL, NULL), TROUPE_ENOTFOUND);
    cr_assert_eq(troupe_sup_info_get(sys, root, NULL), TROUPE_EINVAL);
    troupe_system_destroy(sys);
}

Test(badinput, supervision_config_is_checked, .timeout = 60)
{
    troupe_system *sys = NULL;
    troupe_config cfg = tt_config(1, NULL);
    cfg.stable_ns = 0;
    cr_assert_eq(troupe_system_create(&sys, &cfg), TROUPE_EINVAL);
    cfg = tt_config(1, NULL);
    cfg.root_period_ns = -1;
    cr_assert_eq(troupe_system_create(&sys, &cfg), TROUPE_EINVAL);
    cfg = tt_config(1, NULL);
    cfg.restart.multiplier = 0.5;
    cr_assert_eq(troupe_system_create(&sys, &cfg), TROUPE_EINVAL);
    cfg = tt_config(1, NULL);
    cfg.restart.kind = TROUPE_RESTART_DEFAULT; /* the default cannot be "the default" */
    cr_assert_eq(troupe_system_create(&sys, &cfg), TROUPE_EINVAL);
    cfg = tt_config(1, NULL);
    cfg.shutdown_timeout_ns = 0;
    cr_assert_eq(troupe_system_create(&sys, &cfg), TROUPE_EINVAL);
    cr_assert_null(sys);
    troupe_sup r;
    cr_assert_eq(troupe_sup_root(NULL, &r), TROUPE_EINVAL);
    cr_assert_eq(troupe_child_info_get(NULL, TROUPE_REF_NONE, NULL), TROUPE_EINVAL);
}

/* ---- names under supervision ---------------------------------------------------- */

Test(names, survive_restarts_go_with_the_child, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_system *sys = tt_system(2);
    kid_arg a = {&e, 1}, b = {&e, 2};
    troupe_child_spec s = kid_spec(&kid_beh, &a, TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
    s.name = "engine";
    troupe_ref r = start_kid(sys, root_of(sys), &s);
    troupe_ref found = TROUPE_REF_NONE;
    cr_assert_eq(troupe_whereis(sys, "engine", &found), 0);
    cr_assert(troupe_ref_eq(found, r));
    /* a taken name: EEXIST, and nothing was started for it */
    troupe_child_spec dup = kid_spec(&kid_beh, &b, TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
    dup.name = "engine";
    troupe_ref x = TROUPE_REF_NONE;
    cr_assert_eq(troupe_sup_start_child(sys, root_of(sys), &dup, &x), TROUPE_EEXIST);
    cr_assert(troupe_ref_is_none(x));
    cr_assert_eq(sup_info(sys, root_of(sys)).children, 1);
    troupe_system_stats st;
    troupe_system_stats_get(sys, &st);
    cr_assert_eq(st.actors_live, 1);
    /* the name survives a restart: same ref */
    tell_ok(sys, r, K_PANIC);
    ping_ok(sys, r);
    cr_assert_eq(restarts_of(sys, r), 1);
    cr_assert_eq(troupe_whereis(sys, "engine", &found), 0);
    cr_assert(troupe_ref_eq(found, r));
    /* and goes when the child ends for good; the name is free again */
    cr_assert_eq(troupe_sup_terminate_child(sys, r), 0);
    tt_wait_dead(sys, r);
    cr_assert_eq(troupe_whereis(sys, "engine", &found), TROUPE_ENOTFOUND);
    troupe_ref again = start_kid(sys, root_of(sys), &dup);
    cr_assert_eq(troupe_whereis(sys, "engine", &found), 0);
    cr_assert(troupe_ref_eq(found, again));
    troupe_system_destroy(sys);
    env_fini(&e);
}
