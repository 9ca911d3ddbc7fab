/* tests/observe/test_svstall.c — the supervisor thread's heartbeat: a root
 * escalation hook that blocks (on a gate the test holds) stops the
 * supervisor thread; the stall watchdog, driven by the manual clock, reports
 * it stalled in the health API and on /metrics; the gate opened, it moves
 * and the next check clears the report. An idle supervisor is never
 * stalled. No timed assertion: the clock is manual, and the only waits are
 * bounded waits for a state change. */
#include "../support.h"

enum { K_PANIC = 1 };

static tt_gate hook_gate;

static void blocking_hook(troupe_system *sys, const troupe_failure *f, void *ud)
{
    (void)sys, (void)f, (void)ud;
    tt_gate_wait(&hook_gate); /* a user's hook that blocks the supervisor thread */
}

static int kid_handle(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    (void)ctx, (void)st;
    if (m->type == K_PANIC)
        troupe_panic("on purpose");
    return 0;
}

static const troupe_behaviour kid_beh = {.name = "svstall.kid", .handle = kid_handle};

static int grab_text(void *ud, const char *d, size_t n)
{
    char *buf = ud;
    size_t have = strlen(buf);
    if (have + n >= 1 << 17)
        return TROUPE_ENOMEM;
    memcpy(buf + have, d, n);
    buf[have + n] = '\0';
    return 0;
}

static troupe_supervisor_health sv_health(troupe_system *sys)
{
    troupe_supervisor_health h;
    cr_assert_eq(troupe_supervisor_health_get(sys, &h), 0);
    return h;
}

/* The metric's line, "troupe_supervisor_stalled V". */
static bool metric_says(troupe_system *sys, int v)
{
    static char text[1 << 17];
    text[0] = '\0';
    cr_assert_eq(troupe_metrics_write(sys, NULL, grab_text, text), 0);
    char line[64];
    snprintf(line, sizeof line, "\ntroupe_supervisor_stalled %d\n", v);
    return strstr(text, line) != NULL;
}

/* The watchdog checks every stall_ns / 4 on the system's clock: advancing
 * in such steps runs it (inside troupe_clock_advance) at each one. */
static void advance_steps(troupe_clock *clk, int steps)
{
    for (int i = 0; i < steps; i++)
        cr_assert_eq(troupe_clock_advance(clk, 250 * MS_NS), 0);
}

Test(svstall, a_blocked_escalation_hook_is_reported_then_clears, .timeout = 120)
{
    tt_gate_init(&hook_gate);
    troupe_clock *clk;
    cr_assert_eq(troupe_clock_create_manual(&clk, S_NS), 0);
    troupe_config cfg = tt_config(2, clk);
    cfg.stall_ns = (int64_t)S_NS; /* tt_config turned it off for manual clocks */
    cfg.root_intensity = 0;       /* the first failure escalates past the root */
    cfg.on_escalation = blocking_hook;
    troupe_system *sys = tt_system_cfg(&cfg);
    troupe_child_spec s;
    troupe_child_spec_defaults(&s);
    s.beh = &kid_beh;
    troupe_sup root;
    cr_assert_eq(troupe_sup_root(sys, &root), 0);
    troupe_ref r;
    cr_assert_eq(troupe_sup_start_child(sys, root, &s, &r), 0);

    advance_steps(clk, 8); /* two stall_ns of an idle supervisor */
    troupe_supervisor_health h = sv_health(sys);
    cr_expect_eq(h.stalled, 0, "idle is not stalled");
    cr_expect_eq(h.stalls, 0);
    cr_expect(metric_says(sys, 0));

    cr_assert_eq(troupe_tell(sys, r, K_PANIC, NULL, 0), 0);
    wait_until(tt_gate_waiting(&hook_gate) == 1); /* the supervisor thread is in the hook */
    advance_steps(clk, 2);
    cr_expect_eq(sv_health(sys).stalled, 0, "not before stall_ns");
    advance_steps(clk, 4);
    h = sv_health(sys);
    cr_expect_eq(h.stalled, 1, "stuck in the hook past stall_ns");
    cr_expect_eq(h.busy, 1);
    cr_expect_eq(h.stalls, 1);
    cr_expect(metric_says(sys, 1));
    advance_steps(clk, 4);
    cr_expect_eq(sv_health(sys).stalls, 1, "one report per stall");

    uint64_t beats = h.heartbeats;
    tt_gate_open(&hook_gate);
    wait_until(sv_health(sys).heartbeats > beats); /* the pass finished */
    advance_steps(clk, 1);
    h = sv_health(sys);
    cr_expect_eq(h.stalled, 0, "it moved: no longer stalled");
    cr_expect_eq(h.stalls, 1);
    cr_expect(metric_says(sys, 0));
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
    tt_gate_destroy(&hook_gate);
}

Test(svstall, bad_arguments)
{
    troupe_supervisor_health h;
    cr_expect_eq(troupe_supervisor_health_get(NULL, &h), TROUPE_EINVAL);
    troupe_system *sys = tt_system(1);
    cr_expect_eq(troupe_supervisor_health_get(sys, NULL), TROUPE_EINVAL);
    troupe_system_destroy(sys);
}
