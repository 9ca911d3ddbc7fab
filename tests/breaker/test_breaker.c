/* tests/breaker/test_breaker.c — circuit breakers: the seed's test plan A,
 * each way to open, the open timeout's growth, HALF_OPEN's limits, and
 * threads racing on one breaker (tests/breaker/test_breaker_api.c has the
 * rest). Time is a manual clock: nothing here sleeps or times anything. */
#include "brk_support.h"

/* ---- the seed's Test Plan A (ALYS-006.md), on the manual clock ------------------------ */

static troupe_breaker_config cfg_seed(void)
{
    troupe_breaker_config c;
    troupe_breaker_config_defaults(&c);
    c.failure_threshold = 3;
    c.open_timeout_ns = 2 * S_NS;
    c.success_threshold = 2;
    c.window_ns = 60 * S_NS;
    c.half_open_max = 5;
    return c;
}

Test(breaker, seed_plan_a_state_transitions)
{
    troupe_breaker_config c = cfg_seed();
    troupe_breaker *b = mk("seed", &c);
    troupe_breaker_permit p;
    cr_assert_eq(troupe_breaker_acquire(b, 1, &p), 0); /* closed: can execute */
    cr_assert_eq(troupe_breaker_cancel(b, &p), 0);
    cr_assert_eq(state(b, 1), TROUPE_BREAKER_CLOSED);
    for (int i = 0; i < 3; i++)
        call(b, 1, 0);
    cr_assert_eq(state(b, 1), TROUPE_BREAKER_OPEN);
    refused(b, 1);
    cr_assert_eq(troupe_clock_advance(clk, 3 * S_NS), 0); /* the seed sleeps 3 s */
    cr_assert_eq(state(b, 1), TROUPE_BREAKER_HALF_OPEN);
    for (int i = 0; i < 2; i++)
        call(b, 1, 1);
    troupe_breaker_info in = info(b, 1);
    cr_assert_eq(in.state, TROUPE_BREAKER_CLOSED);
    cr_assert_eq(in.opened, 1);
    cr_assert_eq(in.half_opened, 1);
    cr_assert_eq(in.closed, 1);
    cr_assert_eq(in.rejected, 1);
    cr_assert_eq(in.calls, 5);
    cr_assert_eq(in.failures, 3);
    troupe_breaker_destroy(b);
}

Test(breaker, seed_plan_a_open_until_the_timeout)
{
    troupe_breaker_config c = cfg_seed();
    troupe_breaker *b = mk("seed", &c);
    for (int i = 0; i < 3; i++)
        call(b, 1, 0);
    cr_assert_eq(info(b, 1).open_until_ns, T0 + 2 * S_NS);
    troupe_clock_advance(clk, 2 * S_NS - 1);
    refused(b, 1);
    cr_assert_eq(state(b, 1), TROUPE_BREAKER_OPEN);
    troupe_clock_advance(clk, 1);
    cr_assert_eq(state(b, 1), TROUPE_BREAKER_HALF_OPEN);
    troupe_breaker_destroy(b);
}

/* The seed's ProtectedMessage: asks through the breaker, a callee that is
 * gone fails them, the open circuit refuses, a healthy callee closes it. */
Test(breaker, seed_plan_a_protected_ask)
{
    troupe_breaker_config c = cfg_seed();
    troupe_breaker *b = mk("seed", &c);
    troupe_ref dead = tt_spawn(sys, &echo_beh, NULL, NULL);
    troupe_ref live = tt_spawn(sys, &echo_beh, NULL, NULL);
    cr_assert_eq(troupe_stop(sys, dead), 0);
    tt_wait_dead(sys, dead);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(troupe_breaker_ask(b, 7, dead, M_ECHO, "x", 1, ASK_FOREVER_NS, NULL, NULL,
                                        0, NULL),
                     TROUPE_ENOACTOR);
    cr_assert_eq(troupe_breaker_ask(b, 7, live, M_ECHO, "x", 1, ASK_FOREVER_NS, NULL, NULL, 0,
                                    NULL),
                 TROUPE_ECIRCUIT);
    troupe_clock_advance(clk, 3 * S_NS);
    for (int i = 0; i < 2; i++) {
        char buf[4] = {0};
        cr_assert_eq(troupe_breaker_ask(b, 7, live, M_ECHO, "ok", 2, ASK_FOREVER_NS, NULL, buf,
                                        sizeof buf, NULL),
                     0);
        cr_assert_str_eq(buf, "ok");
    }
    cr_assert_eq(state(b, 7), TROUPE_BREAKER_CLOSED);
    troupe_breaker_destroy(b);
}

/* ---- opening ------------------------------------------------------------------------ */

Test(breaker, opens_on_consecutive_failures)
{
    troupe_breaker_config c = cfg_consec(3);
    troupe_breaker *b = mk("consec", &c);
    call(b, 1, 0);
    call(b, 1, 0);
    call(b, 1, 1); /* a success starts the count over */
    call(b, 1, 0);
    call(b, 1, 0);
    troupe_breaker_info in = info(b, 1);
    cr_assert_eq(in.state, TROUPE_BREAKER_CLOSED);
    cr_assert_eq(in.consecutive_failures, 2);
    cr_assert_eq(in.window_calls, 5);
    cr_assert_eq(in.window_failures, 4);
    call(b, 1, 0);
    in = info(b, 1);
    cr_assert_eq(in.state, TROUPE_BREAKER_OPEN);
    cr_assert_eq(in.opened, 1);
    cr_assert_eq(in.trips, 1);
    cr_assert_eq(in.open_timeout_ns, 1 * S_NS);
    troupe_breaker_destroy(b);
}

static troupe_breaker_config cfg_rate(uint32_t min_calls)
{
    troupe_breaker_config c;
    troupe_breaker_config_defaults(&c);
    c.failure_threshold = 1000000;
    c.failure_rate = 0.5;
    c.min_calls = min_calls;
    c.window_ns = 10 * S_NS;
    c.window_buckets = 10;
    return c;
}

Test(breaker, opens_on_failure_rate_once_min_calls)
{
    troupe_breaker_config c = cfg_rate(10);
    troupe_breaker *b = mk("rate", &c);
    call(b, 2, 0); /* 1 failure of 1 call: below min_calls */
    cr_assert_eq(state(b, 2), TROUPE_BREAKER_CLOSED);
    for (int i = 0; i < 9; i++) /* F S F S F S F S F: 5 of 9 */
        call(b, 1, i % 2);
    cr_assert_eq(state(b, 1), TROUPE_BREAKER_CLOSED);
    call(b, 1, 0); /* 6 of 10 */
    troupe_breaker_info in = info(b, 1);
    cr_assert_eq(in.state, TROUPE_BREAKER_OPEN);
    cr_assert_eq(in.consecutive_failures, 2); /* the rate opened it */
    troupe_breaker_destroy(b);
}

Test(breaker, below_the_rate_stays_closed)
{
    troupe_breaker_config c = cfg_rate(10);
    troupe_breaker *b = mk("rate", &c);
    for (int i = 0; i < 20; i++) /* 8 of 20 = 40% */
        call(b, 1, !(i % 5 == 0 || i % 5 == 2));
    troupe_breaker_info in = info(b, 1);
    cr_assert_eq(in.state, TROUPE_BREAKER_CLOSED);
    cr_assert_eq(in.window_failures, 8);
    troupe_breaker_destroy(b);
}

Test(breaker, old_failures_slide_out_of_the_window)
{
    troupe_breaker_config c = cfg_rate(4);
    troupe_breaker *b = mk("slide", &c);
    for (int i = 0; i < 3; i++)
        call(b, 1, 0);
    troupe_clock_advance(clk, 9 * S_NS); /* still in the window */
    cr_assert_eq(info(b, 1).window_failures, 3);
    troupe_clock_advance(clk, 1 * S_NS); /* 10 s: gone */
    troupe_breaker_info in = info(b, 1);
    cr_assert_eq(in.window_calls, 0);
    cr_assert_eq(in.window_failures, 0);
    for (int i = 0; i < 3; i++)
        call(b, 1, 1);
    call(b, 1, 0); /* 1 of 4 now; 4 of 7 had the old ones stayed */
    cr_assert_eq(state(b, 1), TROUPE_BREAKER_CLOSED);
    troupe_breaker_destroy(b);
}

/* ---- the open timeout and HALF_OPEN ------------------------------------------------------ */

/* From HALF_OPEN (after `wait`), one failed trial. */
static void fail_trial(troupe_breaker *b, uint64_t key, uint64_t wait)
{
    troupe_clock_advance(clk, wait);
    cr_assert_eq(state(b, key), TROUPE_BREAKER_HALF_OPEN);
    call(b, key, 0);
}

Test(breaker, open_timeout_grows_to_its_cap_and_resets_on_close)
{
    troupe_breaker_config c = cfg_consec(1);
    c.max_open_timeout_ns = 5 * S_NS;
    troupe_breaker *b = mk("grow", &c);
    call(b, 1, 0);
    uint64_t want[] = {1, 2, 4, 5, 5};
    for (int i = 0; i < 4; i++) {
        troupe_breaker_info in = info(b, 1);
        cr_assert_eq(in.open_timeout_ns, want[i] * S_NS, "trip %d", i + 1);
        cr_assert_eq(in.trips, (uint32_t)i + 1);
        troupe_clock_advance(clk, want[i] * S_NS - 1);
        refused(b, 1);
        fail_trial(b, 1, 1);
    }
    cr_assert_eq(info(b, 1).open_timeout_ns, want[4] * S_NS);
    troupe_clock_advance(clk, 5 * S_NS);
    call(b, 1, 1); /* the trial succeeds: closed */
    troupe_breaker_info in = info(b, 1);
    cr_assert_eq(in.state, TROUPE_BREAKER_CLOSED);
    cr_assert_eq(in.trips, 0);
    cr_assert_eq(in.open_timeout_ns, 1 * S_NS);
    call(b, 1, 0);
    cr_assert_eq(info(b, 1).open_timeout_ns, 1 * S_NS);
    troupe_breaker_destroy(b);
}

Test(breaker, half_open_admits_m_trials_and_closes_after_s)
{
    troupe_breaker_config c = cfg_consec(1);
    c.half_open_max = 2;
    c.success_threshold = 3;
    troupe_breaker *b = mk("half", &c);
    call(b, 1, 0);
    troupe_clock_advance(clk, 1 * S_NS);
    troupe_breaker_permit p1, p2, p3;
    cr_assert_eq(troupe_breaker_acquire(b, 1, &p1), 0);
    cr_assert_eq(troupe_breaker_acquire(b, 1, &p2), 0);
    cr_assert_eq(troupe_breaker_acquire(b, 1, &p3), TROUPE_ECIRCUIT);
    cr_assert_eq(info(b, 1).half_open_inflight, 2);
    cr_assert_eq(troupe_breaker_cancel(b, &p2), 0); /* frees its slot, counts nothing */
    cr_assert_eq(troupe_breaker_acquire(b, 1, &p2), 0);
    cr_assert_eq(troupe_breaker_record(b, &p1, 1), 0);
    cr_assert_eq(troupe_breaker_acquire(b, 1, &p3), 0);
    cr_assert_eq(troupe_breaker_record(b, &p2, 1), 0);
    troupe_breaker_info in = info(b, 1);
    cr_assert_eq(in.state, TROUPE_BREAKER_HALF_OPEN);
    cr_assert_eq(in.half_open_successes, 2);
    cr_assert_eq(in.half_open_inflight, 1);
    cr_assert_eq(troupe_breaker_record(b, &p3, 1), 0);
    in = info(b, 1);
    cr_assert_eq(in.state, TROUPE_BREAKER_CLOSED);
    cr_assert_eq(in.closed, 1);
    cr_assert_eq(in.rejected, 1);
    cr_assert_eq(in.calls, 4);
    troupe_breaker_destroy(b);
}

Test(breaker, a_failed_trial_reopens_and_late_outcomes_change_nothing)
{
    troupe_breaker_config c = cfg_consec(1);
    c.half_open_max = 2;
    troupe_breaker *b = mk("reopen", &c);
    troupe_breaker_permit old;
    cr_assert_eq(troupe_breaker_acquire(b, 1, &old), 0); /* given in CLOSED */
    call(b, 1, 0);
    troupe_clock_advance(clk, 1 * S_NS);
    cr_assert_eq(troupe_breaker_record(b, &old, 1), 0); /* late: not a trial */
    cr_assert_eq(info(b, 1).half_open_successes, 0);
    troupe_breaker_permit p1, p2;
    cr_assert_eq(troupe_breaker_acquire(b, 1, &p1), 0);
    cr_assert_eq(troupe_breaker_acquire(b, 1, &p2), 0);
    cr_assert_eq(troupe_breaker_record(b, &p1, 0), 0);
    cr_assert_eq(troupe_breaker_record(b, &p2, 1), 0); /* late: the circuit reopened */
    troupe_breaker_info in = info(b, 1);
    cr_assert_eq(in.state, TROUPE_BREAKER_OPEN);
    cr_assert_eq(in.opened, 2);
    cr_assert_eq(in.closed, 0);
    cr_assert_eq(in.open_timeout_ns, 2 * S_NS);
    cr_assert_eq(in.calls, 4);
    cr_assert_eq(in.failures, 2);
    troupe_breaker_destroy(b);
}

/* ---- threads racing on one breaker ------------------------------------------------------------ */

#define NKEYS 4
#define NTHREADS 4

typedef struct tally {
    uint64_t ok[NKEYS], failed[NKEYS], cancelled[NKEYS], refused[NKEYS];
} tally;

typedef struct hammer {
    troupe_breaker *b;
    atomic_int *done; /* threads finished */
    long iters;
    uint32_t seed;
    tally t;
} hammer;

/* Each thread: acquire on a pseudo-random key, then record a success, a
 * failure (about 1 in 3) or cancel (1 in 16), counting what it did. */
static void *hammer_fn(void *arg)
{
    hammer *h = arg;
    uint32_t x = h->seed;
    for (long i = 0; i < h->iters; i++) {
        x = x * 1664525u + 1013904223u;
        uint32_t k = (x >> 8) % NKEYS, r = (x >> 16) % 48;
        troupe_breaker_permit p;
        int rc = troupe_breaker_acquire(h->b, k, &p);
        if (rc == TROUPE_ECIRCUIT) {
            h->t.refused[k]++;
            continue;
        }
        if (rc != 0)
            tt_die("acquire: %s", troupe_errname(rc));
        rc = r < 3 ? troupe_breaker_cancel(h->b, &p) : troupe_breaker_record(h->b, &p, r >= 19);
        if (rc != 0)
            tt_die("record: %s", troupe_errname(rc));
        uint64_t *n = r < 3 ? h->t.cancelled : r >= 19 ? h->t.ok : h->t.failed;
        n[k]++;
    }
    atomic_fetch_add(h->done, 1);
    return NULL;
}

static void check_circuit(const troupe_breaker_info *in, const tally *sum)
{
    uint64_t k = in->key;
    cr_assert_eq(in->calls, sum->ok[k] + sum->failed[k], "key %lu", (unsigned long)k);
    cr_assert_eq(in->failures, sum->failed[k]);
    cr_assert_eq(in->rejected, sum->refused[k]);
    cr_assert_eq(in->half_open_inflight, 0); /* every permit went back */
    /* every OPEN is followed by at most one HALF_OPEN, every CLOSE comes
     * from a HALF_OPEN */
    cr_assert_eq(in->opened, in->half_opened + (in->state == TROUPE_BREAKER_OPEN));
    cr_assert_leq(in->closed, in->half_opened);
}

static troupe_breaker_config cfg_hammer(void)
{
    troupe_breaker_config c;
    troupe_breaker_config_defaults(&c);
    c.failure_threshold = 4;
    c.min_calls = 16;
    c.window_ns = 100 * MS_NS;
    c.open_timeout_ns = 1 * MS_NS;
    c.max_open_timeout_ns = 8 * MS_NS;
    c.half_open_max = 2;
    c.success_threshold = 2;
    return c;
}

/* Join the threads; sum their tallies; return how many calls they made. */
static uint64_t join_sum(pthread_t *th, hammer *h, tally *sum)
{
    uint64_t n = 0;
    memset(sum, 0, sizeof *sum);
    for (int i = 0; i < NTHREADS; i++) {
        cr_assert_eq(pthread_join(th[i], NULL), 0);
        for (int k = 0; k < NKEYS; k++) {
            sum->ok[k] += h[i].t.ok[k];
            sum->failed[k] += h[i].t.failed[k];
            sum->cancelled[k] += h[i].t.cancelled[k];
            sum->refused[k] += h[i].t.refused[k];
            n += h[i].t.ok[k] + h[i].t.failed[k] + h[i].t.cancelled[k] + h[i].t.refused[k];
        }
    }
    return n;
}

Test(breaker, threads_hammer_one_breaker)
{
    troupe_breaker_config c = cfg_hammer();
    troupe_breaker *b = mk("hammer", &c);
    hammer h[NTHREADS];
    pthread_t th[NTHREADS];
    long iters = tt_scaled(100000, 2000);
    atomic_int done = 0;
    for (int i = 0; i < NTHREADS; i++) {
        h[i] = (hammer){.b = b, .done = &done, .iters = iters, .seed = 7u + 31u * (uint32_t)i};
        cr_assert_eq(pthread_create(&th[i], NULL, hammer_fn, &h[i]), 0);
    }
    troupe_breaker_info v[NKEYS];
    size_t total;
    while (atomic_load(&done) < NTHREADS) { /* meanwhile: time moves, circuits are read */
        troupe_clock_advance(clk, 200 * 1000);
        cr_assert_eq(troupe_breaker_list(sys, v, NKEYS, &total), 0);
        cr_assert_leq(total, NKEYS);
    }
    tally sum;
    cr_assert_eq(join_sum(th, h, &sum), (uint64_t)iters * NTHREADS);
    cr_assert_eq(troupe_breaker_list(sys, v, NKEYS, &total), 0);
    cr_assert_eq(total, NKEYS);
    uint64_t opened = 0;
    for (int k = 0; k < NKEYS; k++) {
        check_circuit(&v[k], &sum);
        opened += v[k].opened;
    }
    cr_assert_gt(opened, 0, "a third of the calls fail: circuits must have opened");
    troupe_breaker_destroy(b);
}
