/* bench/latency.c — how late things happen: timers, wake-ups, asks.
 *
 *   timer_lateness  send_after(1 ms) on the monotonic clock: how long after
 *                   its deadline the handler ran (median and p99, µs)
 *   wake            a plain thread tells an idle actor after every worker
 *                   has parked (20 ms of silence): time until the handler
 *                   runs (median and p99, µs) — the cost of a parked worker
 *   ask             a plain thread's troupe_ask round trip (median, p99, ns);
 *                   also as ask_latency (p50, p99, µs), the peers' case name
 *
 * Checks: every timer and every wake-up message arrives exactly once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common.h"

enum { MSG_STAMP = 1, MSG_PING = 2 };

#define TRIALS 200

static _Atomic uint64_t g_handled_at;
static atomic_int g_count;

static int stamp_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    (void)st;
    if (msg->type == MSG_PING)
        return troupe_reply(ctx, MSG_PING, NULL, 0);
    atomic_store(&g_handled_at, bench_now_ns());
    atomic_fetch_add(&g_count, 1);
    return 0;
}

static const troupe_behaviour stamp_beh = {.name = "latency.stamp", .handle = stamp_handle};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *bench, uint64_t *v, int n, double div, const char *unit)
{
    qsort(v, (size_t)n, sizeof *v, cmp_u64);
    bench_summary(bench, "p50", (double)v[n / 2] / div, unit);
    bench_summary(bench, "p99", (double)v[(n * 99) / 100] / div, unit);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* Wait for the handler to have run `want` times (hang guard: 10 s). It
 * sleeps between looks, so that it does not hold a CPU the woken worker
 * needs; the figures come from the handler's own time stamps. */
static void wait_count(int want)
{
    uint64_t until = bench_now_ns() + 10000000000ull;
    while (atomic_load(&g_count) < want) {
        if (bench_now_ns() > until)
            bench_fail("message %d never handled", want);
        struct timespec ts = {0, 20000};
        nanosleep(&ts, NULL);
    }
}

static void timers(troupe_system *sys, troupe_ref r, int n)
{
    uint64_t *late = calloc((size_t)n, sizeof *late);
    for (int i = 0; i < n; i++) {
        int before = atomic_load(&g_count);
        uint64_t due = bench_now_ns() + 1000000;
        bench_check(troupe_send_after(sys, r, MSG_STAMP, NULL, 0, 1000000, NULL), "send_after");
        wait_count(before + 1);
        uint64_t at = atomic_load(&g_handled_at);
        late[i] = at > due ? at - due : 0;
    }
    report("timer_lateness", late, n, 1000.0, "us");
    free(late);
}

static void wakes(troupe_system *sys, troupe_ref r, int n)
{
    uint64_t *lat = calloc((size_t)n, sizeof *lat);
    for (int i = 0; i < n; i++) {
        int before = atomic_load(&g_count);
        sleep_ms(20); /* every worker spins 50 µs, then parks */
        uint64_t t0 = bench_now_ns();
        bench_check(troupe_tell(sys, r, MSG_STAMP, NULL, 0), "tell");
        wait_count(before + 1);
        lat[i] = atomic_load(&g_handled_at) - t0;
    }
    report("wake", lat, n, 1000.0, "us");
    free(lat);
}

static void asks(troupe_system *sys, troupe_ref r, int n)
{
    uint64_t *lat = calloc((size_t)n, sizeof *lat);
    for (int i = 0; i < n; i++) {
        uint64_t t0 = bench_now_ns();
        bench_check(troupe_ask(sys, r, MSG_PING, NULL, 0, 1000000000ull, NULL, NULL, 0, NULL),
                    "ask");
        lat[i] = bench_now_ns() - t0;
    }
    report("ask", lat, n, 1.0, "ns");
    /* The same samples (sorted by report) as the peers' case: ask_latency
     * from a plain thread, in µs. */
    bench_summary("ask_latency", "p50", (double)lat[n / 2] / 1000.0, "us");
    bench_summary("ask_latency", "p99", (double)lat[(n * 99) / 100] / 1000.0, "us");
    free(lat);
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    int n = (int)bench_scaled(TRIALS, scale, 20);
    troupe_system *sys = bench_system(1);
    troupe_ref r;
    bench_check(troupe_spawn(sys, &stamp_beh, NULL, NULL, &r), "spawn");
    timers(sys, r, n);
    wakes(sys, r, n);
    asks(sys, r, (int)bench_scaled(100000, scale, 1000));
    if (atomic_load(&g_count) != 2 * n)
        bench_fail("%d stamps handled, %d sent", atomic_load(&g_count), 2 * n);
    troupe_system_destroy(sys);
    return 0;
}
