/* bench/thread_ring.c — a token around a ring of 100 actors.
 *
 * The classic ring benchmark: each actor forwards the token to the next,
 * counting down from N (10 M hops, times the scale). Only one message is
 * ever in flight, but unlike ping_pong it visits many actors, so it also
 * measures how the scheduler hands a just-woken actor on.
 *
 * A second run with Savina's parameters (100 actors, 1 M hops), as the
 * Erlang/OTP and CAF peers run it, prints a second thread_ring line.
 *
 * Checks: every actor saw exactly the deliveries the ring arithmetic
 * predicts, and each token value was the one expected.
 */

#include "common.h"

#define RING 100u
#define BASE_HOPS 10000000ull
#define SAVINA_HOPS 1000000ull

enum { MSG_NEXT = 1, MSG_TOKEN = 2, MSG_GET = 3 };

typedef struct node_state {
    troupe_ref next;
    uint64_t seen;        /* tokens received */
    uint64_t last;        /* value of the last token, UINT64_MAX before any */
    uint64_t wrong;       /* tokens not one less than this node's previous */
} node_state;

typedef struct report {
    uint64_t seen;
    uint64_t wrong;
} report;

static atomic_int g_done;
static _Atomic uint64_t g_progress; /* the token's value, now and then */
static uint64_t g_end_ns;           /* written by the last node before g_done */

/* A token carries the hops still to go. The same node sees it again RING
 * hops later, so its value must have dropped by exactly RING. */
static int on_token(troupe_ctx *ctx, node_state *s, uint64_t left)
{
    if (s->seen > 0 && s->last != left + RING)
        s->wrong++;
    s->seen++;
    s->last = left;
    if ((left & 1023) == 0)
        atomic_store_explicit(&g_progress, left, memory_order_relaxed);
    if (left == 0) {
        g_end_ns = bench_now_ns();
        atomic_store_explicit(&g_done, 1, memory_order_release);
        return 0;
    }
    left--;
    return troupe_tell(troupe_ctx_system(ctx), s->next, MSG_TOKEN, &left, sizeof left);
}

static int node_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    node_state *s = st;
    switch (msg->type) {
    case MSG_NEXT:
        s->next = *(const troupe_ref *)msg->data;
        return 0;
    case MSG_TOKEN:
        return on_token(ctx, s, *(const uint64_t *)msg->data);
    case MSG_GET: {
        report r = {s->seen, s->wrong};
        return troupe_reply(ctx, MSG_GET, &r, sizeof r);
    }
    default:
        return -1;
    }
}

static const troupe_behaviour node_beh = {
    .name = "thread_ring.node",
    .state_size = sizeof(node_state),
    .handle = node_handle,
};

/* Node i gets the deliveries j in [0, hops] with j % RING == i. */
static uint64_t expected_seen(uint64_t hops, uint32_t i)
{
    return i > hops ? 0 : (hops - i) / RING + 1;
}

static void verify(troupe_system *sys, const troupe_ref *ring, uint64_t hops)
{
    for (uint32_t i = 0; i < RING; i++) {
        report r;
        bench_ask(sys, ring[i], MSG_GET, &r, sizeof r);
        if (r.seen != expected_seen(hops, i) || r.wrong != 0)
            bench_fail("node %u saw %llu tokens (expected %llu), %llu wrong", i,
                       (unsigned long long)r.seen, (unsigned long long)expected_seen(hops, i),
                       (unsigned long long)r.wrong);
    }
}

/* One run of `hops` hops in a fresh system: ns per hop. */
static double ring_run(uint64_t hops)
{
    atomic_store(&g_done, 0);
    atomic_store(&g_progress, 0);
    troupe_system *sys = bench_system(1);
    troupe_ref ring[RING];
    for (uint32_t i = 0; i < RING; i++)
        bench_check(troupe_spawn(sys, &node_beh, NULL, NULL, &ring[i]), "spawn node");
    /* Each link is in its node's mailbox before any token can reach it:
     * these tells complete before the token is sent. */
    for (uint32_t i = 0; i < RING; i++)
        bench_check(troupe_tell(sys, ring[i], MSG_NEXT, &ring[(i + 1) % RING], sizeof(troupe_ref)),
                    "link");

    uint64_t t0 = bench_now_ns();
    bench_check(troupe_tell(sys, ring[0], MSG_TOKEN, &hops, sizeof hops), "token");
    bench_wait(&g_done, &g_progress, "the token", NULL, NULL);
    double ns = (double)(g_end_ns - t0);

    verify(sys, ring, hops);
    troupe_system_destroy(sys);
    return ns / (double)hops;
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    bench_summary("thread_ring", "hop", ring_run(bench_scaled(BASE_HOPS, scale, 1000)), "ns");
    /* Savina's parameters, as the Erlang/OTP and CAF peers run it: 100
     * actors, 1 M hops (times the scale), in a fresh system; the same
     * case name, so the harness counts it as one more sample. */
    bench_summary("thread_ring", "hop", ring_run(bench_scaled(SAVINA_HOPS, scale, 1000)), "ns");
    return 0;
}
