/* bench/fanin.c — the fan-in workload shared by fan_in and alloc.
 *
 * NSENDERS sender actors stream messages to one counter actor. A sender
 * sends a chunk, then tells itself "continue": between chunks it yields its
 * worker, as a well-behaved actor must, and the counter gets to run. The
 * counter's mailbox is large (FANIN_CAPACITY) so that the run measures the
 * ring, not back-pressure parking.
 *
 * Checks: the counter saw every message exactly once, intact and, per
 * sender, in the order sent (the API's FIFO promise); its mailbox
 * counters agree. Any failure exits 1.
 */
#include "fanin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 256
#define PAYLOAD_MAX 256

enum { MSG_DATA = 1, MSG_GO = 2, MSG_GET = 3 };

/* The head of every payload; the rest is a pattern of the seq's low
 * byte, so that the counter can tell a torn or mixed-up copy. */
typedef struct item {
    uint64_t seq;
    uint32_t sender;
    uint32_t pad;
} item;

typedef struct counter_state {
    uint64_t expect;              /* messages until done */
    uint32_t payload;             /* bytes every message must carry */
    uint64_t count;
    uint64_t out_of_order;        /* or torn: either is a runtime bug */
    uint64_t next[NSENDERS];      /* next seq expected from each sender */
} counter_state;

typedef struct counter_report {
    uint64_t count;
    uint64_t out_of_order;
} counter_report;

typedef struct counter_arg {
    uint64_t expect;
    uint32_t payload;
} counter_arg;

typedef struct sender_state {
    troupe_ref to;
    uint32_t id;
    uint32_t payload;
    uint64_t next;  /* next seq to send */
    uint64_t total; /* seqs to send */
} sender_state;

typedef sender_state sender_arg;

static atomic_int g_done;
static int g_many; /* fanin_run_many: one troupe_tell_many per chunk */
static _Atomic uint64_t g_progress; /* the counter's count, now and then */
static uint64_t g_end_ns;           /* written by the counter before g_done */

static int counter_init(troupe_ctx *ctx, void *st, const void *arg)
{
    (void)ctx;
    const counter_arg *a = arg;
    ((counter_state *)st)->expect = a->expect;
    ((counter_state *)st)->payload = a->payload;
    return 0;
}

static int counter_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    counter_state *s = st;
    if (msg->type == MSG_GET) {
        counter_report r = {s->count, s->out_of_order};
        return troupe_reply(ctx, MSG_GET, &r, sizeof r);
    }
    if (msg->type != MSG_DATA || msg->size != s->payload)
        return -1;
    item it; /* copied out: the API promises no payload alignment */
    memcpy(&it, msg->data, sizeof it);
    const uint8_t *tail = (const uint8_t *)msg->data + s->payload - 1;
    if (it.sender >= NSENDERS || it.seq != s->next[it.sender] ||
        (s->payload > sizeof(item) && *tail != (uint8_t)it.seq))
        s->out_of_order++;
    if (it.sender < NSENDERS)
        s->next[it.sender] = it.seq + 1;
    if ((++s->count & 1023) == 0)
        atomic_store_explicit(&g_progress, s->count, memory_order_relaxed);
    if (s->count == s->expect) {
        g_end_ns = bench_now_ns();
        atomic_store_explicit(&g_done, 1, memory_order_release);
    }
    return 0;
}

static const troupe_behaviour counter_beh = {
    .name = "fanin.counter",
    .state_size = sizeof(counter_state),
    .init = counter_init,
    .handle = counter_handle,
};

static int sender_init(troupe_ctx *ctx, void *st, const void *arg)
{
    (void)ctx;
    *(sender_state *)st = *(const sender_arg *)arg;
    return 0;
}

/* The same chunk as one troupe_tell_many (its payloads built first). */
static int sender_chunk_many(troupe_ctx *ctx, sender_state *s)
{
    static _Thread_local uint8_t bufs[CHUNK][PAYLOAD_MAX];
    troupe_batch_msg b[CHUNK];
    int n = 0;
    for (; n < CHUNK && s->next + (uint64_t)n < s->total; n++) {
        item it = {.seq = s->next + (uint64_t)n, .sender = s->id};
        memset(bufs[n], (uint8_t)it.seq, s->payload);
        memcpy(bufs[n], &it, sizeof it);
        b[n] = (troupe_batch_msg){.type = MSG_DATA, .data = bufs[n], .len = s->payload};
    }
    troupe_system *sys = troupe_ctx_system(ctx);
    int rc = troupe_tell_many(sys, s->to, b, (size_t)n);
    if (rc != n)
        return rc < 0 ? rc : -1; /* BLOCK parks: never short from a handler */
    s->next += (uint64_t)n;
    if (s->next < s->total)
        return troupe_tell(sys, troupe_self(ctx), MSG_GO, NULL, 0);
    return 0;
}

/* One chunk, then "continue" to self: the worker may run others meanwhile. */
static int sender_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    sender_state *s = st;
    if (msg->type != MSG_GO)
        return -1;
    troupe_system *sys = troupe_ctx_system(ctx);
    if (g_many)
        return sender_chunk_many(ctx, s);
    uint8_t buf[PAYLOAD_MAX];
    for (int i = 0; i < CHUNK && s->next < s->total; i++) {
        item it = {.seq = s->next, .sender = s->id};
        memset(buf, (uint8_t)s->next, s->payload);
        memcpy(buf, &it, sizeof it);
        int rc = troupe_tell(sys, s->to, MSG_DATA, buf, s->payload);
        if (rc < 0)
            return rc; /* fails the actor: the counter then never finishes */
        s->next++;
    }
    if (s->next < s->total)
        return troupe_tell(sys, troupe_self(ctx), MSG_GO, NULL, 0);
    return 0;
}

static const troupe_behaviour sender_beh = {
    .name = "fanin.sender",
    .state_size = sizeof(sender_state),
    .init = sender_init,
    .handle = sender_handle,
};

typedef struct actors {
    troupe_system *sys;
    troupe_ref counter, senders[NSENDERS];
} actors;

static void diag(void *ud)
{
    actors *a = ud;
    bench_print_stats(a->sys, "counter", a->counter);
    for (int i = 0; i < NSENDERS; i++)
        bench_print_stats(a->sys, "sender", a->senders[i]);
}

static void verify(troupe_system *sys, troupe_ref counter, uint64_t total)
{
    counter_report r;
    bench_ask(sys, counter, MSG_GET, &r, sizeof r);
    if (r.count != total)
        bench_fail("counter saw %llu messages, %llu sent", (unsigned long long)r.count,
                   (unsigned long long)total);
    if (r.out_of_order != 0)
        bench_fail("%llu messages out of per-sender order", (unsigned long long)r.out_of_order);
    troupe_mailbox_stats ms;
    bench_check(troupe_actor_stats(sys, counter, &ms), "troupe_actor_stats");
    /* The ask itself entered the counter's ring: one more than the data. */
    if (ms.accepted < total || ms.dropped != 0 || ms.rejected != 0 || ms.failed != 0)
        bench_fail("counter stats: accepted %llu dropped %llu rejected %llu failed %llu",
                   (unsigned long long)ms.accepted, (unsigned long long)ms.dropped,
                   (unsigned long long)ms.rejected, (unsigned long long)ms.failed);
}

double fanin_run(uint64_t per_sender, uint32_t payload, int use_arena)
{
    if (payload < sizeof(item) || payload > PAYLOAD_MAX)
        bench_fail("payload %u not in [%zu, %d]", payload, sizeof(item), PAYLOAD_MAX);
    uint64_t total = per_sender * NSENDERS;
    atomic_store(&g_done, 0);
    atomic_store(&g_progress, 0);
    troupe_system *sys = bench_system(use_arena);

    troupe_spawn_opts opts;
    troupe_spawn_opts_defaults(&opts);
    opts.capacity = FANIN_CAPACITY;
    actors a = {.sys = sys};
    counter_arg carg = {total, payload};
    bench_check(troupe_spawn(sys, &counter_beh, &carg, &opts, &a.counter), "spawn counter");
    for (uint32_t i = 0; i < NSENDERS; i++) {
        sender_arg sarg = {.to = a.counter, .id = i, .payload = payload, .total = per_sender};
        bench_check(troupe_spawn(sys, &sender_beh, &sarg, NULL, &a.senders[i]), "spawn sender");
    }

    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < NSENDERS; i++)
        bench_check(troupe_tell(sys, a.senders[i], MSG_GO, NULL, 0), "start sender");
    bench_wait(&g_done, &g_progress, "the counter", diag, &a);
    double secs = (double)(g_end_ns - t0) / 1e9;

    verify(sys, a.counter, total);
    if (getenv("TROUPE_BENCH_VERBOSE")) { /* where the time went, to stderr */
        troupe_mailbox_stats ms;
        troupe_system_stats ss;
        troupe_actor_stats(sys, a.counter, &ms);
        troupe_system_stats_get(sys, &ss);
        fprintf(stderr,
                "fan_in: %.1f M msg/s, parked %llu, steals %llu, parks %llu, starved switches %llu, "
                "starved now %u\n",
                (double)total / secs / 1e6, (unsigned long long)ms.parked,
                (unsigned long long)ss.steals, (unsigned long long)ss.parks,
                (unsigned long long)ss.starved_switches, ss.workers_starved);
    }
    troupe_system_destroy(sys);
    return (double)total / secs;
}

double fanin_run_many(uint64_t per_sender, uint32_t payload, int use_arena)
{
    g_many = 1;
    double r = fanin_run(per_sender, payload, use_arena);
    g_many = 0;
    return r;
}
