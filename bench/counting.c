/* bench/counting.c — Savina 2 (counting): one producer, one counter.
 *
 * The producer actor sends 1,000,000 increments (times the scale) to a
 * counter actor, then asks it for the total (a GET the counter answers
 * with a TOTAL message to the producer: FIFO per sender puts the GET after
 * every increment). The time runs from the start until the producer holds
 * the right total.
 *
 * As in fanin.c, the producer sends a chunk of CHUNK increments, then
 * tells itself "continue", so that the counter gets to run on a busy
 * worker; the counter's mailbox is large (CAPACITY) so that the run
 * measures the ring, not back-pressure parking. Savina's producer sends in
 * one loop into an unbounded mailbox; a troupe handler should not hold
 * its worker for a million sends.
 *
 * Checks: the total the producer receives, the counter's own count (asked
 * again from the main thread) and its mailbox counters equal the
 * increments sent, and every increment arrived in order.
 * metric: increments per second (msg/s).
 */
#include <string.h>

#include "common.h"

#define BASE_INCREMENTS 1000000ull
#define CHUNK 256
#define CAPACITY 65536

enum { MSG_START = 1, MSG_GO = 2, MSG_INC = 3, MSG_GET = 4, MSG_TOTAL = 5, MSG_REPORT = 6 };

typedef struct counter_state {
    uint64_t count;
    uint64_t out_of_order;
} counter_state;

typedef struct producer_state {
    troupe_ref counter;
    uint64_t n, next;
    uint64_t total; /* the counter's answer */
} producer_state;

typedef struct start_arg {
    troupe_ref counter;
    uint64_t n;
} start_arg;

typedef struct report {
    uint64_t count, out_of_order;
} report;

static atomic_int g_done;
static _Atomic uint64_t g_progress;
static uint64_t g_end_ns, g_total;

static int counter_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    counter_state *s = st;
    switch (msg->type) {
    case MSG_INC: {
        uint64_t seq;
        if (msg->size != sizeof seq)
            return -1;
        memcpy(&seq, msg->data, sizeof seq);
        s->out_of_order += seq != s->count;
        if ((++s->count & 4095) == 0)
            atomic_store_explicit(&g_progress, s->count, memory_order_relaxed);
        return 0;
    }
    case MSG_GET:
        return troupe_tell(troupe_ctx_system(ctx), msg->sender, MSG_TOTAL, &s->count,
                           sizeof s->count);
    case MSG_REPORT: {
        report r = {s->count, s->out_of_order};
        return troupe_reply(ctx, MSG_REPORT, &r, sizeof r);
    }
    default:
        return -1;
    }
}

static int producer_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    producer_state *s = st;
    troupe_system *sys = troupe_ctx_system(ctx);
    switch (msg->type) {
    case MSG_START: {
        start_arg a;
        memcpy(&a, msg->data, sizeof a);
        s->counter = a.counter;
        s->n = a.n;
    } /* fall through */
    case MSG_GO:
        for (int i = 0; i < CHUNK && s->next < s->n; i++, s->next++) {
            int rc = troupe_tell(sys, s->counter, MSG_INC, &s->next, sizeof s->next);
            if (rc < 0)
                return rc;
        }
        if (s->next < s->n)
            return troupe_tell(sys, troupe_self(ctx), MSG_GO, NULL, 0);
        return troupe_tell(sys, s->counter, MSG_GET, NULL, 0);
    case MSG_TOTAL:
        memcpy(&s->total, msg->data, sizeof s->total);
        g_total = s->total;
        g_end_ns = bench_now_ns();
        atomic_store_explicit(&g_done, 1, memory_order_release);
        return 0;
    default:
        return -1;
    }
}

static const troupe_behaviour counter_beh = {
    .name = "counting.counter", .state_size = sizeof(counter_state), .handle = counter_handle};
static const troupe_behaviour producer_beh = {
    .name = "counting.producer", .state_size = sizeof(producer_state), .handle = producer_handle};

typedef struct actors {
    troupe_system *sys;
    troupe_ref producer, counter;
} actors;

static void diag(void *ud)
{
    actors *a = ud;
    bench_print_stats(a->sys, "producer", a->producer);
    bench_print_stats(a->sys, "counter", a->counter);
}

int main(int argc, char **argv)
{
    uint64_t n = bench_scaled(BASE_INCREMENTS, bench_scale(argc, argv), 1000);
    troupe_system *sys = bench_system(1);
    actors a = {.sys = sys};
    troupe_spawn_opts opts;
    troupe_spawn_opts_defaults(&opts);
    opts.capacity = CAPACITY;
    bench_check(troupe_spawn(sys, &counter_beh, NULL, &opts, &a.counter), "spawn counter");
    bench_check(troupe_spawn(sys, &producer_beh, NULL, NULL, &a.producer), "spawn producer");

    start_arg start = {a.counter, n};
    uint64_t t0 = bench_now_ns();
    bench_check(troupe_tell(sys, a.producer, MSG_START, &start, sizeof start), "start");
    bench_wait(&g_done, &g_progress, "the total", diag, &a);
    double secs = (double)(g_end_ns - t0) / 1e9;

    if (g_total != n)
        bench_fail("the counter answered %llu, %llu sent", (unsigned long long)g_total,
                   (unsigned long long)n);
    report r;
    bench_ask(sys, a.counter, MSG_REPORT, &r, sizeof r);
    if (r.count != n || r.out_of_order != 0)
        bench_fail("counter counted %llu of %llu, %llu out of order", (unsigned long long)r.count,
                   (unsigned long long)n, (unsigned long long)r.out_of_order);
    troupe_mailbox_stats ms;
    bench_check(troupe_actor_stats(sys, a.counter, &ms), "troupe_actor_stats");
    /* n increments, the GET and the REPORT ask */
    if (ms.accepted != n + 2 || ms.dropped != 0 || ms.rejected != 0 || ms.failed != 0)
        bench_fail("counter stats: accepted %llu (want %llu) dropped %llu rejected %llu "
                   "failed %llu",
                   (unsigned long long)ms.accepted, (unsigned long long)(n + 2),
                   (unsigned long long)ms.dropped, (unsigned long long)ms.rejected,
                   (unsigned long long)ms.failed);
    bench_summary("counting", "throughput", (double)n / secs, "msg/s");
    troupe_system_destroy(sys);
    return 0;
}
