/* tests/core/test_fault.c — injected message faults and clock jumps
 * (troupe/fault.h): a dropped ask times out, a delayed one is answered
 * after its delay, a share of tells is dropped with the same count for the
 * same seed, and neither a wall-clock jump nor a jump of the system's own
 * clock fires a burst or stalls a timer. Manual clock where time matters;
 * no timed assertion. */
#include "../support.h"

enum { M_ECHO = 1, M_COUNT = 2, M_TICK = 3 };

typedef struct sink {
    atomic_long handled;
    tt_log log; /* M_COUNT payloads, in handling order */
} sink;

static int h_sink(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    sink *s = *(sink **)state;
    if (tt_is_probe(ctx, m))
        return 0;
    if (m->type == M_ECHO)
        return troupe_reply(ctx, M_ECHO, m->data, m->size);
    int64_t v = -1;
    if (m->size == sizeof v)
        memcpy(&v, m->data, sizeof v);
    tt_log_add(&s->log, (long)v);
    atomic_fetch_add(&s->handled, 1);
    return 0;
}

static const troupe_behaviour sink_beh = {
    .name = "fault.sink", .state_size = sizeof(void *), .init = tt_init_arg, .handle = h_sink};

typedef struct cb_rec {
    atomic_int calls, rc;
} cb_rec;

static void on_done(void *ud, int rc, uint32_t type, const void *data, size_t len)
{
    (void)type, (void)data, (void)len;
    cb_rec *c = ud;
    atomic_store(&c->rc, rc);
    atomic_fetch_add(&c->calls, 1);
}

static troupe_fault_stats fstats(troupe_system *sys, troupe_ref r)
{
    troupe_fault_stats st;
    cr_assert_eq(troupe_fault_messages_stats(sys, r, &st), 0);
    return st;
}

static void set_faults(troupe_system *sys, troupe_ref r, uint32_t drop, uint32_t delay,
                       uint64_t delay_ns, uint64_t seed)
{
    troupe_fault_msgs f;
    troupe_fault_msgs_defaults(&f);
    f.drop_ppm = drop;
    f.delay_ppm = delay;
    f.delay_ns = delay_ns;
    f.seed = seed;
    cr_assert_eq(troupe_fault_messages(sys, r, &f), 0);
    /* applied by the actor itself, on its system lane: every message
     * sent from now on is drawn */
    wait_until(fstats(sys, r).active == 1);
}

Test(fault, a_dropped_ask_fails_at_its_timeout)
{
    troupe_clock *clk;
    troupe_system *sys = tt_system_manual(2, 1000, &clk);
    sink s = {0};
    tt_log_init(&s.log);
    troupe_ref r = tt_spawn(sys, &sink_beh, &s, NULL);
    set_faults(sys, r, TROUPE_FAULT_PPM, 0, 0, 7);
    cb_rec c = {0};
    int64_t v = 5;
    cr_assert_eq(troupe_ask_cb(sys, r, M_ECHO, &v, sizeof v, S_NS, on_done, &c), 0);
    wait_until(fstats(sys, r).dropped == 1);
    cr_expect_eq(atomic_load(&c.calls), 0, "a lost message tells nobody");
    cr_assert_eq(troupe_clock_advance(clk, S_NS - 1), 0);
    cr_expect_eq(atomic_load(&c.calls), 0, "not before the timeout");
    cr_assert_eq(troupe_clock_advance(clk, 1), 0);
    wait_until(atomic_load(&c.calls) == 1);
    cr_expect_eq(atomic_load(&c.rc), TROUPE_ETIMEDOUT);
    /* faults off: the next ask is answered */
    cr_assert_eq(troupe_fault_messages(sys, r, NULL), 0);
    cb_rec d = {0};
    cr_assert_eq(troupe_ask_cb(sys, r, M_ECHO, &v, sizeof v, S_NS, on_done, &d), 0);
    wait_until(atomic_load(&d.calls) == 1);
    cr_expect_eq(atomic_load(&d.rc), 0);
    cr_expect_eq(fstats(sys, r).drawn, 1, "off: nothing drawn");
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
    tt_log_fini(&s.log);
}

Test(fault, a_delayed_ask_is_answered_after_its_delay)
{
    troupe_clock *clk;
    troupe_system *sys = tt_system_manual(2, 1000, &clk);
    sink s = {0};
    tt_log_init(&s.log);
    troupe_ref r = tt_spawn(sys, &sink_beh, &s, NULL);
    set_faults(sys, r, 0, TROUPE_FAULT_PPM, 10 * MS_NS, 7);
    cb_rec c = {0};
    int64_t v = 5;
    cr_assert_eq(troupe_ask_cb(sys, r, M_ECHO, &v, sizeof v, S_NS, on_done, &c), 0);
    wait_until(fstats(sys, r).delayed == 1);
    cr_assert_eq(troupe_clock_advance(clk, 10 * MS_NS - 1), 0);
    cr_expect_eq(atomic_load(&c.calls), 0, "held for its delay");
    cr_assert_eq(troupe_clock_advance(clk, 1), 0);
    wait_until(atomic_load(&c.calls) == 1);
    cr_expect_eq(atomic_load(&c.rc), 0, "answered once it came: %s", troupe_errname(c.rc));
    /* one still waiting at destroy is freed with the system (ASan) */
    int64_t w = 9;
    cr_assert_eq(troupe_tell(sys, r, M_COUNT, &w, sizeof w), 0);
    wait_until(fstats(sys, r).delayed == 2);
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
    cr_expect_eq(atomic_load(&s.handled), 0);
    tt_log_fini(&s.log);
}

enum { TELLS = 2000, DROP_PPM = 300000 };

/* TELLS tells with 30 % dropped: the count dropped and the values handled. */
static long drop_run(uint64_t seed, uint64_t *handled_sum)
{
    troupe_system *sys = tt_system(2);
    sink s = {0};
    tt_log_init(&s.log);
    troupe_ref r = tt_spawn(sys, &sink_beh, &s, &(troupe_spawn_opts){0});
    set_faults(sys, r, DROP_PPM, 0, 0, seed);
    for (int64_t i = 0; i < TELLS; i++)
        while (troupe_tell(sys, r, M_COUNT, &i, sizeof i) == TROUPE_EFULL)
            tt_sleep_ns(100000);
    wait_until(fstats(sys, r).drawn == TELLS);
    troupe_fault_stats st = fstats(sys, r);
    wait_until(atomic_load(&s.handled) == TELLS - (long)st.dropped);
    uint64_t sum = 0; /* unsigned: wraps */
    for (size_t i = 0; i < tt_log_len(&s.log); i++)
        sum = sum * 31 + (uint64_t)tt_log_at(&s.log, i);
    *handled_sum = sum;
    cr_expect_eq(st.delayed, 0);
    troupe_system_destroy(sys);
    tt_log_fini(&s.log);
    return (long)st.dropped;
}

Test(fault, a_share_of_tells_is_dropped_the_same_way_for_the_same_seed)
{
    uint64_t h1, h2, h3;
    long d1 = drop_run(42, &h1), d2 = drop_run(42, &h2), d3 = drop_run(43, &h3);
    /* 30 % of 2000: 600, sd ~20; the bounds are 5 sd away (and fixed by the seed) */
    cr_expect(d1 >= 500 && d1 <= 700, "dropped %ld of %d", d1, TELLS);
    cr_expect_eq(d1, d2, "same seed, same count");
    cr_expect_eq(h1, h2, "same seed, the same messages handled, in order");
    cr_expect(d3 >= 500 && d3 <= 700, "seed 43: dropped %ld", d3);
    cr_expect(h1 != h3, "another seed drops other messages");
}

Test(fault, bad_specs_are_refused)
{
    troupe_system *sys = tt_system(1);
    sink s = {0};
    tt_log_init(&s.log);
    troupe_ref r = tt_spawn(sys, &sink_beh, &s, NULL);
    troupe_fault_msgs f;
    troupe_fault_msgs_defaults(&f);
    f.drop_ppm = TROUPE_FAULT_PPM;
    f.delay_ppm = 1;
    cr_expect_eq(troupe_fault_messages(sys, r, &f), TROUPE_EINVAL);
    f.drop_ppm = 0;
    f.delay_ns = 0;
    cr_expect_eq(troupe_fault_messages(sys, r, &f), TROUPE_EINVAL);
    cr_expect_eq(troupe_fault_messages(NULL, r, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_fault_messages(sys, TROUPE_REF_NONE, NULL), TROUPE_ENOACTOR);
    troupe_fault_stats st;
    cr_expect_eq(troupe_fault_messages_stats(sys, r, &st), TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_fault_messages_stats(sys, r, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_fault_journal((troupe_fault_io)9, 0), TROUPE_EINVAL);
    troupe_system_destroy(sys);
    tt_log_fini(&s.log);
}

/* ---- clock jumps -------------------------------------------------------------------- */

/* Timers run on the system's clock (monotonic by default): moving the wall
 * clock an hour either way neither fires a far timer nor holds a near one. */
Test(fault, a_wall_clock_jump_changes_no_timer)
{
    troupe_system *sys = tt_system(2);
    sink s = {0};
    tt_log_init(&s.log);
    troupe_ref r = tt_spawn(sys, &sink_beh, &s, NULL);
    int64_t far = 1, near = 2;
    uint64_t before = troupe_wall_ns();
    troupe_fault_wall_offset(-(int64_t)(3600 * S_NS));
    cr_expect_lt(troupe_wall_ns(), before, "the wall clock went back");
    cr_assert_eq(troupe_send_after(sys, r, M_COUNT, &far, sizeof far, 3600 * S_NS, NULL), 0);
    cr_assert_eq(troupe_send_after(sys, r, M_COUNT, &near, sizeof near, 20 * MS_NS, NULL), 0);
    wait_until(atomic_load(&s.handled) == 1); /* a stall would hit the hang limit */
    troupe_fault_wall_offset(2 * 3600 * (int64_t)S_NS);
    cr_assert_eq(troupe_send_after(sys, r, M_COUNT, &near, sizeof near, 20 * MS_NS, NULL), 0);
    wait_until(atomic_load(&s.handled) == 2);
    troupe_fault_wall_offset(0);
    tt_probe(sys, r);
    cr_expect_eq(atomic_load(&s.handled), 2, "the hour-long timer did not fire");
    cr_expect_eq(tt_log_at(&s.log, 0), 2);
    cr_expect_eq(tt_log_at(&s.log, 1), 2);
    troupe_system_destroy(sys);
    tt_log_fini(&s.log);
}

/* The system's own clock jumping forward (a manual clock's advance): what
 * is due fires once — an interval timer that missed many periods fires
 * once, not once per period, and keeps its phase; a timer not yet due
 * does not fire. */
Test(fault, a_forward_jump_fires_what_is_due_once)
{
    troupe_clock *clk;
    troupe_system *sys = tt_system_manual(2, 1000, &clk);
    sink s = {0};
    tt_log_init(&s.log);
    troupe_ref r = tt_spawn(sys, &sink_beh, &s, NULL);
    int64_t tick = 1, later = 2;
    troupe_timer t;
    cr_assert_eq(troupe_send_interval(sys, r, M_COUNT, &tick, sizeof tick, 10 * MS_NS, 10 * MS_NS,
                                      &t), 0);
    cr_assert_eq(troupe_send_after(sys, r, M_COUNT, &later, sizeof later, 3600 * S_NS + 7 * MS_NS, NULL),
                 0);
    cr_assert_eq(troupe_clock_advance(clk, 3600 * S_NS), 0); /* 360,000 periods */
    tt_probe(sys, r);
    cr_expect_eq(atomic_load(&s.handled), 1, "one tick for the jump, no burst");
    cr_assert_eq(troupe_clock_advance(clk, 5 * MS_NS), 0); /* phase kept: next at +10 ms */
    tt_probe(sys, r);
    cr_expect_eq(atomic_load(&s.handled), 1);
    cr_assert_eq(troupe_clock_advance(clk, 5 * MS_NS), 0);
    tt_probe(sys, r);
    cr_expect_eq(atomic_load(&s.handled), 3, "the next period and the later timer");
    cr_expect_eq(troupe_timer_cancel(sys, t), 0);
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
    tt_log_fini(&s.log);
}

/* A dropped message's destructor is the user's: it may ask about (or
 * change) the faults of the actor it was sent to. It used to run under the
 * fault lock, and this deadlocked the worker. */
static struct {
    troupe_system *sys;
    troupe_ref to;
    atomic_int destroyed, stats_ok;
} dtor_probe;

static void dtor_asks_stats(void *ptr)
{
    troupe_fault_stats st;
    if (troupe_fault_messages_stats(dtor_probe.sys, dtor_probe.to, &st) == 0 && st.dropped >= 1)
        atomic_fetch_add(&dtor_probe.stats_ok, 1);
    atomic_fetch_add(&dtor_probe.destroyed, 1);
    free(ptr);
}

Test(fault, a_dropped_messages_destructor_may_call_the_fault_api)
{
    troupe_system *sys = tt_system(1);
    sink s = {0};
    tt_log_init(&s.log);
    troupe_ref r = tt_spawn(sys, &sink_beh, &s, NULL);
    dtor_probe.sys = sys;
    dtor_probe.to = r;
    set_faults(sys, r, TROUPE_FAULT_PPM, 0, 0, 7); /* drop every message */
    enum { N = 50 };
    for (int i = 0; i < N; i++) {
        int *p = malloc(sizeof *p);
        cr_assert_not_null(p);
        cr_assert_eq(troupe_tell_ptr(sys, r, M_COUNT, p, dtor_asks_stats), 0);
    }
    wait_until(atomic_load(&dtor_probe.destroyed) == N);
    cr_expect_eq(atomic_load(&dtor_probe.stats_ok), N, "each destructor read the stats");
    cr_expect_eq(fstats(sys, r).dropped, N);
    cr_expect_eq(atomic_load(&s.handled), 0);
    troupe_system_destroy(sys);
    tt_log_fini(&s.log);
}
