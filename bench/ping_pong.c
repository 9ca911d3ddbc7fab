/* bench/ping_pong.c — two actors, one message in flight: send latency.
 *
 * The pinger sends PING to the ponger, which answers PONG to the sender;
 * 2 M round trips (times the scale). With one message in flight there is
 * never a batch to amortise: this measures the cost of a send that wakes
 * an idle actor and the scheduling hand-off, twice per round trip.
 *
 * Checks: the ponger saw exactly as many pings as the pinger got pongs,
 * each carrying the round number it was sent with.
 */
#include "common.h"

#define BASE_ROUNDS 2000000ull

enum { MSG_START = 1, MSG_PING = 2, MSG_PONG = 3, MSG_GET = 4 };

typedef struct pinger_state {
    troupe_ref peer;
    uint64_t rounds; /* round trips to make */
    uint64_t done;   /* pongs received */
    uint64_t wrong;  /* pongs carrying an unexpected round number */
} pinger_state;

typedef struct ponger_state {
    uint64_t pings;
    uint64_t wrong;
} ponger_state;

typedef struct report {
    uint64_t count;
    uint64_t wrong;
} report;

typedef struct start_arg {
    troupe_ref peer;
    uint64_t rounds;
} start_arg;

static atomic_int g_done;
static _Atomic uint64_t g_progress; /* the pinger's round count, now and then */
static uint64_t g_end_ns;           /* written by the pinger before g_done */

static int ping(troupe_ctx *ctx, pinger_state *s)
{
    return troupe_tell(troupe_ctx_system(ctx), s->peer, MSG_PING, &s->done, sizeof s->done);
}

static int pinger_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    pinger_state *s = st;
    switch (msg->type) {
    case MSG_START: {
        const start_arg *a = msg->data;
        s->peer = a->peer;
        s->rounds = a->rounds;
        return ping(ctx, s);
    }
    case MSG_PONG:
        if (msg->size != sizeof(uint64_t) || *(const uint64_t *)msg->data != s->done)
            s->wrong++;
        if ((++s->done & 1023) == 0)
            atomic_store_explicit(&g_progress, s->done, memory_order_relaxed);
        if (s->done == s->rounds) {
            g_end_ns = bench_now_ns();
            atomic_store_explicit(&g_done, 1, memory_order_release);
            return 0;
        }
        return ping(ctx, s);
    case MSG_GET: {
        report r = {s->done, s->wrong};
        return troupe_reply(ctx, MSG_GET, &r, sizeof r);
    }
    default:
        return -1;
    }
}

static int ponger_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    ponger_state *s = st;
    if (msg->type == MSG_GET) {
        report r = {s->pings, s->wrong};
        return troupe_reply(ctx, MSG_GET, &r, sizeof r);
    }
    if (msg->type != MSG_PING || msg->size != sizeof(uint64_t))
        return -1;
    if (*(const uint64_t *)msg->data != s->pings)
        s->wrong++;
    s->pings++;
    /* Echo the round number back: the pinger checks it. */
    return troupe_tell(troupe_ctx_system(ctx), msg->sender, MSG_PONG, msg->data, msg->size);
}

static const troupe_behaviour pinger_beh = {
    .name = "ping_pong.pinger",
    .state_size = sizeof(pinger_state),
    .handle = pinger_handle,
};

static const troupe_behaviour ponger_beh = {
    .name = "ping_pong.ponger",
    .state_size = sizeof(ponger_state),
    .handle = ponger_handle,
};

typedef struct actors {
    troupe_system *sys;
    troupe_ref pinger, ponger;
} actors;

static void diag(void *ud)
{
    actors *a = ud;
    bench_print_stats(a->sys, "pinger", a->pinger);
    bench_print_stats(a->sys, "ponger", a->ponger);
}

static void verify(troupe_system *sys, troupe_ref who, const char *name, uint64_t rounds)
{
    report r;
    bench_ask(sys, who, MSG_GET, &r, sizeof r);
    if (r.count != rounds || r.wrong != 0)
        bench_fail("%s counted %llu of %llu, %llu with a wrong round number", name,
                   (unsigned long long)r.count, (unsigned long long)rounds,
                   (unsigned long long)r.wrong);
}

int main(int argc, char **argv)
{
    uint64_t rounds = bench_scaled(BASE_ROUNDS, bench_scale(argc, argv), 1000);
    troupe_system *sys = bench_system(1);
    actors a = {.sys = sys};
    bench_check(troupe_spawn(sys, &pinger_beh, NULL, NULL, &a.pinger), "spawn pinger");
    bench_check(troupe_spawn(sys, &ponger_beh, NULL, NULL, &a.ponger), "spawn ponger");

    start_arg start = {a.ponger, rounds};
    uint64_t t0 = bench_now_ns();
    bench_check(troupe_tell(sys, a.pinger, MSG_START, &start, sizeof start), "start");
    bench_wait(&g_done, &g_progress, "the last pong", diag, &a);
    double ns = (double)(g_end_ns - t0);

    verify(sys, a.pinger, "pinger", rounds);
    verify(sys, a.ponger, "ponger", rounds);
    bench_summary("ping_pong", "round_trip", ns / (double)rounds, "ns");
    troupe_system_destroy(sys);
    return 0;
}
