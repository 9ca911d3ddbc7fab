/* tests/core/test_timer.c — send_after, send_interval, cancel, the manual
 * clock. Manual clock only: no sleeps, no timed assertions. */
#include "../support.h"

enum { M_TICK = 1, M_OTHER = 2 };

typedef struct sink_sh {
    tt_log log; /* the int64 payload of every M_TICK, in order */
    atomic_int count;
    atomic_int bad;
    atomic_uint_least64_t blob_sum;
} sink_sh;

static void sink_init(sink_sh *s)
{
    memset(s, 0, sizeof *s);
    tt_log_init(&s->log);
}

static int h_sink(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    sink_sh *sh = *(sink_sh **)state;
    if (tt_is_probe(ctx, m))
        return 0;
    if (m->type == M_TICK) {
        int64_t v = -1;
        if (m->size == sizeof v)
            memcpy(&v, m->data, sizeof v);
        else if (m->size != 0)
            atomic_fetch_add(&sh->bad, 1);
        tt_log_add(&sh->log, (long)v);
        atomic_fetch_add(&sh->count, 1);
    } else if (m->type == M_OTHER) {
        atomic_store(&sh->blob_sum, tt_fnv(m->data, m->size));
        atomic_fetch_add(&sh->count, 1);
    } else {
        atomic_fetch_add(&sh->bad, 1);
    }
    return 0;
}

static const troupe_behaviour sink = {
    .name = "sink",
    .state_size = sizeof(void *),
    .init = tt_init_arg,
    .handle = h_sink,
};

typedef struct fixture {
    troupe_clock *clk;
    troupe_system *sys;
    sink_sh sh;
    troupe_ref r;
} fixture;

static void fx_init(fixture *f)
{
    f->sys = tt_system_manual(2, 1000000, &f->clk);
    sink_init(&f->sh);
    f->r = tt_spawn(f->sys, &sink, &f->sh, NULL);
}

static void fx_fini(fixture *f)
{
    troupe_system_destroy(f->sys);
    troupe_clock_destroy(f->clk);
    tt_log_fini(&f->sh.log);
}

static void advance(fixture *f, uint64_t ns)
{
    cr_assert_eq(troupe_clock_advance(f->clk, ns), 0);
}

/* After advance() returns, a due timer has sent its message; the probe
 * goes through the same mailbox after it, so the count is final. */
static int count_now(fixture *f)
{
    tt_probe(f->sys, f->r);
    return atomic_load(&f->sh.count);
}

/* ---- the clock itself --------------------------------------------------------- */

Test(timer, manual_clock_moves_only_when_told)
{
    troupe_clock *clk;
    cr_assert_eq(troupe_clock_create_manual(&clk, 12345), 0);
    cr_expect_eq(troupe_clock_now(clk), 12345u);
    cr_expect_eq(troupe_clock_now(clk), 12345u);
    cr_assert_eq(troupe_clock_advance(clk, 5), 0);
    cr_expect_eq(troupe_clock_now(clk), 12350u);
    cr_assert_eq(troupe_clock_advance(clk, 0), 0);
    cr_expect_eq(troupe_clock_now(clk), 12350u);
    troupe_clock_destroy(clk);
}

static uint64_t fixed_now(void *ud) { return *(uint64_t *)ud; }

Test(timer, custom_clock)
{
    uint64_t t = 777;
    troupe_clock *clk;
    cr_assert_eq(troupe_clock_create(&clk, fixed_now, &t), 0);
    cr_expect_eq(troupe_clock_now(clk), 777u);
    t = 888;
    cr_expect_eq(troupe_clock_now(clk), 888u);
    cr_expect_eq(troupe_clock_advance(clk, 1), TROUPE_EINVAL, "advance needs a manual clock");
    troupe_clock_destroy(clk);
    cr_expect_eq(troupe_clock_create(&clk, NULL, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_clock_create(NULL, fixed_now, &t), TROUPE_EINVAL);
}

/* ---- send_after ---------------------------------------------------------------- */

Test(timer, send_after_fires_once_past_the_deadline)
{
    fixture f;
    fx_init(&f);
    int64_t v = 7;
    troupe_timer t = {0};
    cr_assert_eq(troupe_send_after(f.sys, f.r, M_TICK, &v, sizeof v, 100 * MS_NS, &t), 0);
    cr_expect_neq(t.id, 0u);

    advance(&f, 99 * MS_NS);
    cr_expect_eq(count_now(&f), 0, "fired before its deadline");
    advance(&f, 2 * MS_NS);
    wait_until(atomic_load(&f.sh.count) >= 1);
    cr_expect_eq(count_now(&f), 1);
    cr_expect_eq(tt_log_at(&f.sh.log, 0), 7);
    advance(&f, 10 * S_NS);
    cr_expect_eq(count_now(&f), 1, "a one-shot fires once");
    cr_expect_eq(troupe_timer_cancel(f.sys, t), TROUPE_ENOTFOUND, "cancel after it fired");
    cr_expect_eq(atomic_load(&f.sh.bad), 0);
    fx_fini(&f);
}

Test(timer, out_may_be_null)
{
    fixture f;
    fx_init(&f);
    cr_assert_eq(troupe_send_after(f.sys, f.r, M_TICK, NULL, 0, 10, NULL), 0);
    advance(&f, 11);
    wait_until(atomic_load(&f.sh.count) == 1);
    cr_expect_eq(tt_log_at(&f.sh.log, 0), -1, "empty payload");
    fx_fini(&f);
}

Test(timer, inline_max_payload_arrives_intact)
{
    fixture f;
    fx_init(&f);
    unsigned char buf[TROUPE_INLINE_MAX];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(0xC0 + i);
    cr_assert_eq(troupe_send_after(f.sys, f.r, M_OTHER, buf, sizeof buf, 50, NULL), 0);
    memset(buf, 0, sizeof buf); /* the timer copied it */
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(0xC0 + i);
    advance(&f, 51);
    wait_until(atomic_load(&f.sh.count) == 1);
    cr_expect_eq(atomic_load(&f.sh.blob_sum), tt_fnv(buf, sizeof buf));
    fx_fini(&f);
}

Test(timer, timers_fire_in_deadline_order)
{
    fixture f;
    fx_init(&f);
    static const int64_t delays_ms[] = {300, 100, 500, 200, 400};
    for (int i = 0; i < 5; i++) {
        int64_t v = delays_ms[i] / 100; /* 3 1 5 2 4 */
        cr_assert_eq(troupe_send_after(f.sys, f.r, M_TICK, &v, sizeof v,
                                       (uint64_t)delays_ms[i] * MS_NS, NULL),
                     0);
    }
    advance(&f, 250 * MS_NS);
    cr_expect_eq(count_now(&f), 2);
    advance(&f, 1 * S_NS);
    cr_expect_eq(count_now(&f), 5);
    for (int i = 0; i < 5; i++)
        cr_expect_eq(tt_log_at(&f.sh.log, (size_t)i), i + 1, "position %d", i);
    fx_fini(&f);
}

/* ---- send_interval ---------------------------------------------------------------- */

Test(timer, send_interval_fires_k_times_after_k_intervals)
{
    fixture f;
    fx_init(&f);
    const uint64_t D = 10 * MS_NS, I = 20 * MS_NS;
    int64_t v = 3;
    troupe_timer t;
    cr_assert_eq(troupe_send_interval(f.sys, f.r, M_TICK, &v, sizeof v, D, I, &t), 0);
    advance(&f, D - 1);
    cr_expect_eq(count_now(&f), 0);
    advance(&f, 2); /* now D+1 */
    cr_expect_eq(count_now(&f), 1);
    for (int k = 2; k <= 8; k++) {
        advance(&f, I / 2);
        cr_expect_eq(count_now(&f), k - 1, "half an interval is not enough (k=%d)", k);
        advance(&f, I / 2);
        cr_expect_eq(count_now(&f), k, "after %d intervals", k - 1);
    }
    cr_expect_eq(troupe_timer_cancel(f.sys, t), 0, "an interval timer is pending until canceled");
    advance(&f, 100 * I);
    cr_expect_eq(count_now(&f), 8, "no fire after cancel");
    cr_expect_eq(troupe_timer_cancel(f.sys, t), TROUPE_ENOTFOUND);
    for (int i = 0; i < 8; i++)
        cr_expect_eq(tt_log_at(&f.sh.log, (size_t)i), 3);
    fx_fini(&f);
}

Test(timer, interval_deadlines_do_not_drift)
{
    fixture f;
    fx_init(&f);
    const uint64_t D = 10 * MS_NS, I = 20 * MS_NS;
    troupe_timer t;
    /* deadlines: 10, 30, 50, 70 ms after now */
    cr_assert_eq(troupe_send_interval(f.sys, f.r, M_TICK, NULL, 0, D, I, &t), 0);
    advance(&f, 11 * MS_NS); /* t=11: fires the 10 */
    cr_expect_eq(count_now(&f), 1);
    advance(&f, 29 * MS_NS); /* t=40: fires the 30, late by 10 */
    cr_expect_eq(count_now(&f), 2);
    advance(&f, 15 * MS_NS); /* t=55: the 50 is due (a drifting timer would wait for 60) */
    cr_expect_eq(count_now(&f), 3);
    cr_expect_eq(troupe_timer_cancel(f.sys, t), 0);
    fx_fini(&f);
}

/* ---- cancel ------------------------------------------------------------------------- */

Test(timer, cancel_prevents_firing)
{
    fixture f;
    fx_init(&f);
    troupe_timer a, b;
    int64_t va = 1, vb = 2;
    cr_assert_eq(troupe_send_after(f.sys, f.r, M_TICK, &va, sizeof va, 100, &a), 0);
    cr_assert_eq(troupe_send_after(f.sys, f.r, M_TICK, &vb, sizeof vb, 100, &b), 0);
    cr_expect_neq(a.id, b.id);
    cr_expect_eq(troupe_timer_cancel(f.sys, a), 0);
    cr_expect_eq(troupe_timer_cancel(f.sys, a), TROUPE_ENOTFOUND, "second cancel");
    advance(&f, 1000);
    wait_until(atomic_load(&f.sh.count) >= 1);
    cr_expect_eq(count_now(&f), 1);
    cr_expect_eq(tt_log_at(&f.sh.log, 0), 2, "only the other timer fired");
    cr_expect_eq(troupe_timer_cancel(f.sys, b), TROUPE_ENOTFOUND, "already fired");
    cr_expect_eq(troupe_timer_cancel(f.sys, a), TROUPE_ENOTFOUND);
    fx_fini(&f);
}

Test(timer, cancel_of_unknown_handles)
{
    fixture f;
    fx_init(&f);
    cr_expect_eq(troupe_timer_cancel(f.sys, (troupe_timer){0x123456789ull}), TROUPE_ENOTFOUND);
    int rc = troupe_timer_cancel(f.sys, (troupe_timer){0});
    cr_expect(rc == TROUPE_ENOTFOUND || rc == TROUPE_EINVAL, "cancel {0}: %s",
              troupe_errname(rc));
    cr_expect_eq(troupe_timer_cancel(NULL, (troupe_timer){1}), TROUPE_EINVAL);
    fx_fini(&f);
}

/* ---- stopped targets ------------------------------------------------------------------ */

Test(timer, timer_to_a_stopped_actor)
{
    fixture f;
    fx_init(&f);
    sink_sh other;
    sink_init(&other);
    troupe_timer one, every;
    cr_assert_eq(troupe_send_after(f.sys, f.r, M_TICK, NULL, 0, 100, &one), 0);
    cr_assert_eq(troupe_send_interval(f.sys, f.r, M_TICK, NULL, 0, 100, 100, &every), 0);
    cr_assert_eq(troupe_stop(f.sys, f.r), 0);
    tt_wait_dead(f.sys, f.r);
    /* A new actor, possibly in the same slot: the timers must not reach it. */
    troupe_ref r2 = tt_spawn(f.sys, &sink, &other, NULL);
    advance(&f, 1000);
    advance(&f, 1000);
    tt_probe(f.sys, r2);
    cr_expect_eq(atomic_load(&other.count), 0, "a timer reached the slot's new actor");
    cr_expect_eq(atomic_load(&f.sh.count), 0);
    /* A stopped target ends an interval timer: nothing left to cancel. */
    cr_expect_eq(troupe_timer_cancel(f.sys, every), TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_timer_cancel(f.sys, one), TROUPE_ENOTFOUND);
    /* The system still works. */
    cr_assert_eq(troupe_send_after(f.sys, r2, M_TICK, NULL, 0, 10, NULL), 0);
    advance(&f, 11);
    wait_until(atomic_load(&other.count) == 1);
    fx_fini(&f);
    tt_log_fini(&other.log);
}

Test(timer, send_after_to_a_stale_ref)
{
    fixture f;
    fx_init(&f);
    troupe_ref dead = f.r;
    cr_assert_eq(troupe_stop(f.sys, dead), 0);
    tt_wait_dead(f.sys, dead);
    sink_sh other;
    sink_init(&other);
    troupe_ref r2 = tt_spawn(f.sys, &sink, &other, NULL);
    int rc = troupe_send_after(f.sys, dead, M_TICK, NULL, 0, 10, NULL);
    cr_expect(rc == 0 || rc == TROUPE_ENOACTOR, "send_after to a stale ref: %s",
              troupe_errname(rc));
    advance(&f, 100);
    tt_probe(f.sys, r2);
    cr_expect_eq(atomic_load(&other.count), 0);
    fx_fini(&f);
    tt_log_fini(&other.log);
}

/* ---- bad arguments --------------------------------------------------------------------- */

Test(timer, bad_arguments)
{
    fixture f;
    fx_init(&f);
    char big[TROUPE_INLINE_MAX + 1];
    memset(big, 1, sizeof big);
    troupe_timer t = {0};
    cr_expect_eq(troupe_send_after(NULL, f.r, M_TICK, NULL, 0, 10, &t), TROUPE_EINVAL);
    cr_expect_eq(troupe_send_after(f.sys, f.r, M_TICK, big, sizeof big, 10, &t), TROUPE_EINVAL,
                 "payload larger than TROUPE_INLINE_MAX");
    cr_expect_eq(troupe_send_after(f.sys, f.r, TROUPE_MSG_SYSTEM, NULL, 0, 10, &t),
                 TROUPE_EINVAL, "system type");
    cr_expect_eq(troupe_send_interval(NULL, f.r, M_TICK, NULL, 0, 10, 10, &t), TROUPE_EINVAL);
    cr_expect_eq(troupe_send_interval(f.sys, f.r, M_TICK, NULL, 0, 10, 0, &t), TROUPE_EINVAL,
                 "interval 0");
    cr_expect_eq(troupe_send_interval(f.sys, f.r, M_TICK, big, sizeof big, 10, 10, &t),
                 TROUPE_EINVAL);
    advance(&f, 1000);
    cr_expect_eq(count_now(&f), 0, "a refused timer never fires");
    fx_fini(&f);
}

/* ---- one clock, two systems; destroy with pending timers ------------------------------ */

Test(timer, one_clock_drives_every_system_using_it)
{
    troupe_clock *clk;
    cr_assert_eq(troupe_clock_create_manual(&clk, 0), 0);
    troupe_config cfg = tt_config(1, clk);
    troupe_system *a = tt_system_cfg(&cfg);
    troupe_system *b = tt_system_cfg(&cfg);
    sink_sh sa, sb;
    sink_init(&sa);
    sink_init(&sb);
    troupe_ref ra = tt_spawn(a, &sink, &sa, NULL);
    troupe_ref rb = tt_spawn(b, &sink, &sb, NULL);
    cr_assert_eq(troupe_send_after(a, ra, M_TICK, NULL, 0, 100, NULL), 0);
    cr_assert_eq(troupe_send_after(b, rb, M_TICK, NULL, 0, 200, NULL), 0);
    cr_assert_eq(troupe_clock_advance(clk, 150), 0);
    wait_until(atomic_load(&sa.count) == 1);
    tt_probe(b, rb);
    cr_expect_eq(atomic_load(&sb.count), 0);
    cr_assert_eq(troupe_clock_advance(clk, 100), 0);
    wait_until(atomic_load(&sb.count) == 1);
    tt_probe(a, ra);
    cr_expect_eq(atomic_load(&sa.count), 1);
    troupe_system_destroy(a);
    /* The clock still serves b after a is gone. */
    cr_assert_eq(troupe_send_after(b, rb, M_TICK, NULL, 0, 10, NULL), 0);
    cr_assert_eq(troupe_clock_advance(clk, 10), 0);
    wait_until(atomic_load(&sb.count) == 2);
    troupe_system_destroy(b);
    troupe_clock_destroy(clk);
    tt_log_fini(&sa.log);
    tt_log_fini(&sb.log);
}

Test(timer, destroy_with_pending_timers)
{
    fixture f;
    fx_init(&f);
    int64_t v = 1;
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(troupe_send_after(f.sys, f.r, M_TICK, &v, sizeof v, 1000 + (uint64_t)i,
                                       NULL),
                     0);
        cr_assert_eq(troupe_send_interval(f.sys, f.r, M_TICK, &v, sizeof v, 1000, 1000, NULL),
                     0);
    }
    cr_expect_eq(count_now(&f), 0);
    fx_fini(&f); /* ASan: the pending timers are freed */
}

Test(timer, shutdown_ends_interval_timers)
{
    fixture f;
    fx_init(&f);
    troupe_timer t;
    cr_assert_eq(troupe_send_interval(f.sys, f.r, M_TICK, NULL, 0, 10, 10, &t), 0);
    advance(&f, 11);
    cr_expect_eq(count_now(&f), 1);
    cr_assert_eq(troupe_system_shutdown(f.sys, HANG_LIMIT_NS), 0);
    advance(&f, 1000); /* nothing to deliver to: must not crash or fire */
    cr_expect_eq(atomic_load(&f.sh.count), 1);
    fx_fini(&f);
}

/* ---- deadlines past the end of time: "forever" ------------------------------------- */

/* now + delay does not fit in 64 bits: the deadline saturates and the
 * timer never fires, however far the (saturating) manual clock goes. */
Test(timer, a_delay_past_the_end_of_time_never_fires)
{
    fixture f;
    fx_init(&f);
    int64_t v = 1;
    troupe_timer t;
    cr_assert_eq(troupe_send_after(f.sys, f.r, M_TICK, &v, sizeof v, UINT64_MAX - 10, &t), 0);
    advance(&f, 1);
    cr_expect_eq(count_now(&f), 0, "a wrapped deadline fired at once");
    advance(&f, UINT64_MAX / 2);
    advance(&f, UINT64_MAX / 2);
    advance(&f, UINT64_MAX);
    cr_expect_eq(troupe_clock_now(f.clk), UINT64_MAX, "the manual clock saturates");
    cr_expect_eq(count_now(&f), 0, "forever never comes");
    cr_expect_eq(troupe_timer_cancel(f.sys, t), 0, "still pending");
    fx_fini(&f);
}

/* deadline += interval does not fit: it fired once, and never again. */
Test(timer, an_interval_past_the_end_of_time_fires_once)
{
    fixture f;
    fx_init(&f);
    troupe_timer t;
    cr_assert_eq(troupe_send_interval(f.sys, f.r, M_TICK, NULL, 0, 10, UINT64_MAX - 100, &t), 0);
    advance(&f, 10);
    cr_expect_eq(count_now(&f), 1, "one fire, not a wrapped run of them");
    advance(&f, UINT64_MAX / 2);
    advance(&f, UINT64_MAX);
    cr_expect_eq(count_now(&f), 1);
    cr_expect_eq(troupe_timer_cancel(f.sys, t), 0, "an interval timer stays pending");
    fx_fini(&f);
}

/* On the real clock the timer thread fired a wrapped interval again and
 * again without end (and a marker timer due later never came): now it
 * fires once, and the marker arrives right after. The sink drops what
 * does not fit, so the failure mode is a hang guard, not a flood. */
Test(timer, a_huge_interval_on_the_real_clock_fires_once)
{
    troupe_system *sys = tt_system(2);
    sink_sh sh;
    sink_init(&sh);
    troupe_spawn_opts o = tt_opts(4, TROUPE_OVERFLOW_DROP_NEWEST);
    troupe_ref r = tt_spawn(sys, &sink, &sh, &o);
    int64_t one = 1, two = 2;
    troupe_timer t;
    cr_assert_eq(troupe_send_interval(sys, r, M_TICK, &one, sizeof one, 0, UINT64_MAX, &t), 0);
    wait_until(atomic_load(&sh.count) >= 1);
    cr_assert_eq(troupe_send_after(sys, r, M_TICK, &two, sizeof two, 0, NULL), 0);
    wait_until(tt_log_len(&sh.log) >= 2 && tt_log_at(&sh.log, tt_log_len(&sh.log) - 1) == 2);
    tt_probe(sys, r);
    cr_expect_eq(tt_log_len(&sh.log), 2u, "the interval fired once, then the marker");
    cr_expect_eq(troupe_timer_cancel(sys, t), 0);
    troupe_system_destroy(sys);
    tt_log_fini(&sh.log);
}
