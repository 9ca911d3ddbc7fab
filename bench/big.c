/* bench/big.c — Savina 7 (big): many-to-many pings.
 *
 * 120 worker actors; each sends 2,000 pings (times the scale), one at a
 * time, to peers picked at random (never itself), waiting for the pong
 * before the next ping. A worker answers every ping with a pong. A worker
 * that has its last pong tells the sink DONE; the time runs from the start
 * until the sink has all 120.
 *
 * Checks: every worker got exactly its pongs, each answering the ping it
 * had in flight; the pings handled add up to the pings sent.
 * metric: pings + pongs per second (msg/s).
 */
#include <string.h>

#include "common.h"

#define WORKERS 120u
#define BASE_PINGS 2000ull

enum { MSG_START = 1, MSG_PING = 2, MSG_PONG = 3, MSG_DONE = 4, MSG_REPORT = 5 };

typedef struct worker_state {
    uint32_t id;
    uint64_t rng;
    uint64_t pings;        /* pings to send */
    uint64_t sent, pongs;  /* pings sent, pongs received */
    uint64_t served;       /* pings from others answered */
    uint64_t wrong;
    troupe_ref peer;       /* the peer of the ping in flight */
} worker_state;

typedef struct report {
    uint64_t sent, pongs, served, wrong;
} report;

static troupe_ref g_workers[WORKERS], g_sink;
static atomic_int g_done;
static _Atomic uint64_t g_progress;
static uint64_t g_end_ns;

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static int send_ping(troupe_ctx *ctx, worker_state *s)
{
    uint32_t to = (uint32_t)(((rnd(&s->rng) >> 32) * (WORKERS - 1)) >> 32);
    if (to >= s->id)
        to++; /* any peer but itself */
    s->peer = g_workers[to];
    uint64_t seq = s->sent++;
    return troupe_tell(troupe_ctx_system(ctx), s->peer, MSG_PING, &seq, sizeof seq);
}

static int worker_init(troupe_ctx *ctx, void *st, const void *arg)
{
    (void)ctx;
    worker_state *s = st;
    memcpy(&s->id, arg, sizeof s->id);
    memcpy(&s->pings, (const char *)arg + 8, sizeof s->pings);
    s->rng = 0x9E3779B97F4A7C15ull * (s->id + 1u);
    return 0;
}

static int worker_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    worker_state *s = st;
    troupe_system *sys = troupe_ctx_system(ctx);
    switch (msg->type) {
    case MSG_START:
        return send_ping(ctx, s);
    case MSG_PING:
        s->served++;
        return troupe_tell(sys, msg->sender, MSG_PONG, msg->data, msg->size);
    case MSG_PONG: {
        uint64_t seq;
        memcpy(&seq, msg->data, sizeof seq);
        if (seq + 1 != s->sent || !troupe_ref_eq(msg->sender, s->peer))
            s->wrong++;
        if (++s->pongs < s->pings)
            return send_ping(ctx, s);
        return troupe_tell(sys, g_sink, MSG_DONE, NULL, 0);
    }
    case MSG_REPORT: {
        report r = {s->sent, s->pongs, s->served, s->wrong};
        return troupe_reply(ctx, MSG_REPORT, &r, sizeof r);
    }
    default:
        return -1;
    }
}

static int sink_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    (void)ctx;
    uint64_t *done = st;
    if (msg->type != MSG_DONE)
        return -1;
    atomic_store_explicit(&g_progress, ++*done, memory_order_relaxed);
    if (*done == WORKERS) {
        g_end_ns = bench_now_ns();
        atomic_store_explicit(&g_done, 1, memory_order_release);
    }
    return 0;
}

static const troupe_behaviour worker_beh = {.name = "big.worker",
                                            .state_size = sizeof(worker_state),
                                            .init = worker_init,
                                            .handle = worker_handle};
static const troupe_behaviour sink_beh = {
    .name = "big.sink", .state_size = sizeof(uint64_t), .handle = sink_handle};

static void diag(void *ud)
{
    troupe_system *sys = ud;
    bench_print_stats(sys, "sink", g_sink);
    for (uint32_t i = 0; i < WORKERS; i += 30)
        bench_print_stats(sys, "worker", g_workers[i]);
}

int main(int argc, char **argv)
{
    uint64_t pings = bench_scaled(BASE_PINGS, bench_scale(argc, argv), 20);
    troupe_system *sys = bench_system(1);
    bench_check(troupe_spawn(sys, &sink_beh, NULL, NULL, &g_sink), "spawn sink");
    for (uint32_t i = 0; i < WORKERS; i++) {
        char arg[16];
        memcpy(arg, &i, sizeof i);
        memcpy(arg + 8, &pings, sizeof pings);
        bench_check(troupe_spawn(sys, &worker_beh, arg, NULL, &g_workers[i]), "spawn worker");
    }

    /* g_workers is complete before the first START: tells publish it. */
    uint64_t t0 = bench_now_ns();
    for (uint32_t i = 0; i < WORKERS; i++)
        bench_check(troupe_tell(sys, g_workers[i], MSG_START, NULL, 0), "start");
    bench_wait(&g_done, &g_progress, "the workers", diag, sys);
    double secs = (double)(g_end_ns - t0) / 1e9;

    uint64_t served = 0;
    for (uint32_t i = 0; i < WORKERS; i++) {
        report r;
        bench_ask(sys, g_workers[i], MSG_REPORT, &r, sizeof r);
        if (r.sent != pings || r.pongs != pings || r.wrong != 0)
            bench_fail("worker %u: %llu pings sent, %llu pongs (want %llu), %llu wrong", i,
                       (unsigned long long)r.sent, (unsigned long long)r.pongs,
                       (unsigned long long)pings, (unsigned long long)r.wrong);
        served += r.served;
    }
    if (served != WORKERS * pings)
        bench_fail("%llu pings answered, %llu sent", (unsigned long long)served,
                   (unsigned long long)(WORKERS * pings));
    bench_summary("big", "throughput", (double)(2 * WORKERS * pings) / secs, "msg/s");
    troupe_system_destroy(sys);
    return 0;
}
