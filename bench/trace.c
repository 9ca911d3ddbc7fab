/* bench/trace.c — what tracing costs (docs/TRACING.md, docs/PERFORMANCE.md).
 *
 * Ping-pong and fan-in driven in sessions from the main thread: each
 * session is a root (troupe_trace_start) and the messages it causes —
 * 1000 round trips, or 4 producers sending 250 messages each to one
 * consumer. Three systems in turn: tracing compiled in but not enabled
 * ("off"), enabled at 0 % (the exporter runs, no root is sampled), at 1 %
 * of roots, at 100 %. The exporter posts to a
 * closed loopback port (connection refused, no retries): the figures are
 * the workers' cost of spans (ids, clock reads, the context's block, the
 * queue), not a collector's. Each figure is the best of three runs.
 *
 * TROUPE_TRACE_ONLY=<case>_<mode> (e.g. ping_pong_100pct) runs that one
 * case once, for callgrind's instruction counts (docs/PERFORMANCE.md).
 *
 * Checks: every session's messages arrive (the counts).
 */
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define BASE_SESSIONS 2000ull
#define ROUNDS 1000u   /* round trips per ping-pong session */
#define PRODUCERS 4u
#define PER_PRODUCER 250u

enum { M_START = 1, M_PING, M_PONG, M_GO, M_ITEM };

static _Atomic uint64_t sessions_done;
static troupe_ref ponger, consumer;

typedef struct pinger_st {
    uint32_t left;
} pinger_st;

static int pinger_handle(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    pinger_st *s = st;
    troupe_system *sys = troupe_ctx_system(ctx);
    if (m->type == M_START)
        s->left = ROUNDS;
    else if (m->type != M_PONG)
        return -1;
    else if (--s->left == 0) {
        /* release: the session's work before the main thread's next */
        atomic_fetch_add_explicit(&sessions_done, 1, memory_order_release);
        return 0;
    }
    return troupe_tell(sys, ponger, M_PING, &s->left, sizeof s->left);
}

static int ponger_handle(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    (void)st;
    return troupe_tell(troupe_ctx_system(ctx), m->sender, M_PONG, m->data, m->size);
}

static int producer_handle(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    (void)st;
    (void)m;
    troupe_system *sys = troupe_ctx_system(ctx);
    for (uint32_t i = 0; i < PER_PRODUCER; i++) {
        int rc = troupe_tell(sys, consumer, M_ITEM, &i, sizeof i);
        if (rc)
            return rc;
    }
    return 0;
}

static int consumer_handle(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    (void)ctx;
    (void)m;
    uint64_t *n = st;
    if (++*n % (PRODUCERS * PER_PRODUCER) == 0) /* release: as the pinger's */
        atomic_fetch_add_explicit(&sessions_done, 1, memory_order_release);
    return 0;
}

static const troupe_behaviour pinger_beh = {
    .name = "trace.pinger", .state_size = sizeof(pinger_st), .handle = pinger_handle};
static const troupe_behaviour ponger_beh = {.name = "trace.ponger", .handle = ponger_handle};
static const troupe_behaviour producer_beh = {.name = "trace.producer", .handle = producer_handle};
static const troupe_behaviour consumer_beh = {
    .name = "trace.consumer", .state_size = sizeof(uint64_t), .handle = consumer_handle};

static void wait_sessions(uint64_t n)
{
    uint64_t t0 = bench_now_ns();
    /* acquire: pairs with the handlers' release */
    while (atomic_load_explicit(&sessions_done, memory_order_acquire) < n) {
        if (bench_now_ns() - t0 > (uint64_t)(BENCH_STALL_S * 1e9))
            bench_fail("session %llu did not end", (unsigned long long)n);
        sched_yield();
    }
}

/* One run: ns per message. ratio < 0: tracing not enabled. */
static double run(bool fan_in, double ratio, uint64_t sessions)
{
    troupe_system *sys = bench_system(1);
    if (ratio >= 0) {
        troupe_trace_config tc;
        troupe_trace_config_defaults(&tc);
        tc.endpoint = "http://127.0.0.1:9/v1/traces"; /* discard port: refused */
        tc.sample_ratio = ratio;
        tc.max_retries = 0;
        tc.queue = 65536;
        tc.batch_size = 8192;
        tc.seed = 1;
        bench_check(troupe_trace_enable(sys, &tc), "trace enable");
    }
    troupe_ref pinger = TROUPE_REF_NONE, producers[PRODUCERS];
    if (fan_in) {
        bench_check(troupe_spawn(sys, &consumer_beh, NULL, NULL, &consumer), "spawn consumer");
        for (uint32_t i = 0; i < PRODUCERS; i++)
            bench_check(troupe_spawn(sys, &producer_beh, NULL, NULL, &producers[i]), "spawn");
    } else {
        bench_check(troupe_spawn(sys, &pinger_beh, NULL, NULL, &pinger), "spawn pinger");
        bench_check(troupe_spawn(sys, &ponger_beh, NULL, NULL, &ponger), "spawn ponger");
    }
    atomic_store(&sessions_done, 0);
    uint64_t t0 = bench_now_ns();
    for (uint64_t s = 0; s < sessions; s++) {
        if (ratio >= 0)
            bench_check(troupe_trace_start(sys, "session"), "trace start");
        if (fan_in)
            for (uint32_t i = 0; i < PRODUCERS; i++)
                bench_check(troupe_tell(sys, producers[i], M_GO, NULL, 0), "go");
        else
            bench_check(troupe_tell(sys, pinger, M_START, NULL, 0), "start");
        if (ratio >= 0)
            bench_check(troupe_trace_end(sys), "trace end");
        wait_sessions(s + 1);
    }
    uint64_t ns = bench_now_ns() - t0;
    troupe_system_destroy(sys);
    uint64_t msgs = sessions * (fan_in ? PRODUCERS * PER_PRODUCER : 2ull * ROUNDS);
    return (double)ns / (double)msgs;
}

static double best_of_3(bool fan_in, double ratio, uint64_t sessions)
{
    double best = run(fan_in, ratio, sessions);
    for (int i = 0; i < 2; i++) {
        double v = run(fan_in, ratio, sessions);
        best = v < best ? v : best;
    }
    return best;
}

int main(int argc, char **argv)
{
    uint64_t sessions = bench_scaled(BASE_SESSIONS, bench_scale(argc, argv), 20);
    static const struct {
        const char *name;
        double ratio;
    } modes[] = {{"off", -1}, {"0pct", 0.0}, {"1pct", 0.01}, {"100pct", 1.0}};
    const char *only = getenv("TROUPE_TRACE_ONLY");
    for (int f = 0; f < 2; f++) {
        double off = 0;
        for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
            if (only) {
                char want[64];
                snprintf(want, sizeof want, "%s_%s", f ? "fan_in" : "ping_pong", modes[i].name);
                if (!strcmp(only, want))
                    bench_summary(want, "per_msg",
                                  run(f, modes[i].ratio, f ? sessions * 2 : sessions), "ns");
                continue;
            }
            double v = best_of_3(f, modes[i].ratio, f ? sessions * 2 : sessions);
            if (i == 0)
                off = v;
            char name[64];
            snprintf(name, sizeof name, "trace_%s_%s", f ? "fan_in" : "ping_pong", modes[i].name);
            bench_summary(name, "per_msg", v, "ns");
            if (i)
                bench_summary(name, "vs_off", (v / off - 1) * 100, "percent");
        }
    }
    return 0;
}
