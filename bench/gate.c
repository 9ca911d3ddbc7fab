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
 *   bench_gate call N   a plain thread calls (troupe_call) an idle actor N
 *                       times: each call runs the actor on the calling
 *                       thread (the gate counts inside troupe_call: the
 *                       request, the run, the reply and copying it out)
 *
 * What callgrind counts must not depend on timing, so that the count is
 * the same on a loaded machine. How many messages a run of the receiver
 * finds (its batch) would: it depends on how the sending thread and the
 * worker interleave, which the OS decides. So the one worker is held first
 * by a blocker actor, blocked in sem_wait (no instructions while it
 * waits), while the main thread queues all the messages; then it is let
 * go and finds them all queued: full batches, whatever the timing. The
 * health monitor (a runtime actor run on the same worker on wall-clock
 * ticks) and the stall watchdog (a timer ticking on the wall clock) are
 * off: neither is on the paths measured. No spinning, no pinning. It also
 * runs (fast) without valgrind, and checks its own counts: exit 1 if a
 * message was lost. */
#include <errno.h>
#include <sched.h>
#include <semaphore.h>
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

/* The blocker: its one message holds the worker until release_worker. */
static sem_t g_held, g_release;

static int blocker_handle(troupe_ctx *ctx, void *state, const troupe_msg *msg)
{
    (void)ctx;
    (void)state;
    (void)msg;
    sem_post(&g_held);
    while (sem_wait(&g_release) != 0 && errno == EINTR)
        ;
    return 0;
}

static const troupe_behaviour blocker_beh = {.name = "gate.blocker", .handle = blocker_handle};

static void release_worker(void) { sem_post(&g_release); }

/* Returns once the worker runs the blocker's handler: what is told until
 * release_worker waits queued, and the worker then finds all of it. */
static int hold_worker(troupe_system *sys)
{
    troupe_ref r;
    char x = 0;
    if (troupe_spawn(sys, &blocker_beh, NULL, NULL, &r) ||
        troupe_tell(sys, r, MSG_DATA, &x, sizeof x))
        return 1;
    while (sem_wait(&g_held) != 0)
        if (errno != EINTR) {
            release_worker(); /* so that destroy does not wait for it */
            return 1;
        }
    return 0;
}

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
    if (hold_worker(sys))
        return 1;
    uint64_t v = 42;
    for (long i = 0; i < n; i++)
        if (troupe_tell(sys, r, MSG_DATA, &v, sizeof v))
            return 1;
    release_worker();
    wait_handled(n);
    return 0;
}

/* Answers each call with the 8-byte count of calls so far. */
static int echo_handle(troupe_ctx *ctx, void *state, const troupe_msg *msg)
{
    (void)state;
    (void)msg;
    long k = atomic_fetch_add_explicit(&g_handled, 1, memory_order_relaxed) + 1;
    return troupe_reply(ctx, MSG_DATA, &k, sizeof k);
}

static const troupe_behaviour echo_beh = {.name = "gate.echo", .handle = echo_handle};

/* No hold needed: the actor is idle before every call (the previous one
 * ran it to the end on this thread), so each call runs it here, whatever
 * the worker does. */
static int run_call(troupe_system *sys, long n)
{
    troupe_ref r;
    if (troupe_spawn(sys, &echo_beh, NULL, NULL, &r))
        return 1;
    uint64_t v = 42;
    for (long i = 0; i < n; i++) {
        long k = 0;
        size_t len = 0;
        if (troupe_call(sys, r, MSG_DATA, &v, sizeof v, UINT64_MAX, NULL, &k, sizeof k, &len) ||
            len != sizeof k || k != i + 1)
            return 1;
    }
    return 0;
}

static int run_hop(troupe_system *sys, long n)
{
    troupe_ref a, b;
    if (troupe_spawn(sys, &hop_beh, NULL, NULL, &a) || troupe_spawn(sys, &hop_beh, NULL, NULL, &b))
        return 1;
    /* held, so that the peers' refs and the first hop are all queued
     * before either runs, however the threads interleave */
    if (hold_worker(sys))
        return 1;
    if (troupe_tell(sys, a, MSG_DATA, &b, sizeof b) || troupe_tell(sys, b, MSG_DATA, &a, sizeof a))
        return 1;
    if (troupe_tell(sys, a, MSG_HOP, &n, sizeof n))
        return 1;
    release_worker();
    wait_handled(n);
    return 0;
}

int main(int argc, char **argv)
{
    long n = argc > 2 ? atol(argv[2]) : 0;
    if (argc < 3 || n <= 0 || n > (1l << 21)) {
        fprintf(stderr, "usage: %s send|hop|call N (1..2097152)\n", argv[0]);
        return 2;
    }
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 1;
    cfg.pin = 0;
    cfg.spin_ns = 0;
    cfg.health_interval_ns = 0; /* no monitor actor running on wall-clock ticks */
    cfg.stall_ns = 0; /* no watchdog ticks either (it would see the held worker stall) */
    if (sem_init(&g_held, 0, 0) || sem_init(&g_release, 0, 0))
        return 1;
    troupe_system *sys;
    if (troupe_system_create(&sys, &cfg))
        return 1;
    int rc = strcmp(argv[1], "send") == 0 ? run_send(sys, n)
             : strcmp(argv[1], "hop") == 0  ? run_hop(sys, n)
             : strcmp(argv[1], "call") == 0 ? run_call(sys, n)
                                            : 2;
    troupe_system_destroy(sys);
    if (rc == 0 && atomic_load(&g_handled) != n) {
        fprintf(stderr, "gate: handled %ld of %ld\n", atomic_load(&g_handled), n);
        return 1;
    }
    return rc;
}
