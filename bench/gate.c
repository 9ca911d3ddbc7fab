/* bench/gate.c — the hot paths, run the same way every time, for the
 * instruction-count regression gate (scripts/bench_gate.py runs this under
 * valgrind --tool=callgrind and divides the instructions spent inside one
 * function by the messages).
 *
 *   bench_gate send N   a plain thread tells N 8-byte messages to an actor
 *                       (the gate counts inside troupe_tell: the send path,
 *                       and inside the worker's run: dispatch)
 *   bench_gate hop N    two actors pass a message back and forth N times
 *                       (inside the run: dispatch + a send from a handler
 *                       + scheduling the receiver)
 *
 * One worker, no spinning (an idle worker parks at once), no pinning: what
 * callgrind counts must not depend on timing. It also runs (fast) without
 * valgrind, and checks its own counts: exit 1 if a message was lost. */
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <troupe/troupe.h>

enum { MSG_DATA = 1, MSG_HOP };

static atomic_long g_handled;

static int sink_handle(troupe_ctx *ctx, void *state, const troupe_msg *msg)
{
    (void)ctx;
    (void)state;
    (void)msg;
    atomic_fetch_add_explicit(&g_handled, 1, memory_order_relaxed);
    return 0;
}

static const troupe_behaviour sink_beh = {.name = "gate.sink", .handle = sink_handle};

typedef struct hopper {
    troupe_ref peer;
} hopper;

static int hop_handle(troupe_ctx *ctx, void *state, const troupe_msg *msg)
{
    hopper *h = state;
    if (msg->type == MSG_DATA) { /* the peer's ref */
        memcpy(&h->peer, msg->data, sizeof h->peer);
        return 0;
    }
    long left;
    memcpy(&left, msg->data, sizeof left);
    atomic_fetch_add_explicit(&g_handled, 1, memory_order_relaxed);
    if (--left <= 0)
        return 0;
    return troupe_tell(troupe_ctx_system(ctx), h->peer, MSG_HOP, &left, sizeof left);
}

static const troupe_behaviour hop_beh = {
    .name = "gate.hop", .state_size = sizeof(hopper), .handle = hop_handle};

static void wait_handled(long n)
{
    while (atomic_load_explicit(&g_handled, memory_order_relaxed) < n)
        sched_yield();
}

static int run_send(troupe_system *sys, long n)
{
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.capacity = (uint32_t)n + 1; /* never full: no waiting in the count */
    troupe_ref r;
    if (troupe_spawn(sys, &sink_beh, NULL, &o, &r))
        return 1;
    uint64_t v = 42;
    for (long i = 0; i < n; i++)
        if (troupe_tell(sys, r, MSG_DATA, &v, sizeof v))
            return 1;
    wait_handled(n);
    return 0;
}

static int run_hop(troupe_system *sys, long n)
{
    troupe_ref a, b;
    if (troupe_spawn(sys, &hop_beh, NULL, NULL, &a) || troupe_spawn(sys, &hop_beh, NULL, NULL, &b))
        return 1;
    if (troupe_tell(sys, a, MSG_DATA, &b, sizeof b) || troupe_tell(sys, b, MSG_DATA, &a, sizeof a))
        return 1;
    if (troupe_tell(sys, a, MSG_HOP, &n, sizeof n))
        return 1;
    wait_handled(n);
    return 0;
}

int main(int argc, char **argv)
{
    long n = argc > 2 ? atol(argv[2]) : 0;
    if (argc < 3 || n <= 0 || n > (1l << 21)) {
        fprintf(stderr, "usage: %s send|hop N (1..2097152)\n", argv[0]);
        return 2;
    }
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 1;
    cfg.pin = 0;
    cfg.spin_ns = 0;
    troupe_system *sys;
    if (troupe_system_create(&sys, &cfg))
        return 1;
    int rc = strcmp(argv[1], "send") == 0 ? run_send(sys, n)
             : strcmp(argv[1], "hop") == 0 ? run_hop(sys, n)
                                           : 2;
    troupe_system_destroy(sys);
    if (rc == 0 && atomic_load(&g_handled) != n) {
        fprintf(stderr, "gate: handled %ld of %ld\n", atomic_load(&g_handled), n);
        return 1;
    }
    return rc;
}
