/* bench/fanin_n.c — the fan-in workload of fanin.c for any number of
 * senders (fan_in_n, scale_fan_in).
 *
 * `senders` sender actors stream 16-byte messages to one counter actor. As
 * in fanin.c, a sender sends a chunk of CHUNK messages, then tells itself
 * "continue", so that it yields its worker between chunks; the counter's
 * mailbox is large (CAPACITY). With many senders the chunks in flight can
 * exceed it: senders are then muted by BLOCK back-pressure (parked), which
 * is part of what the scaling curve shows.
 *
 * Checks: the counter saw every message exactly once and, per sender, in
 * the order sent; its mailbox counters agree. Any failure exits 1.
 */
#include "fanin_n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 256
#define CAPACITY 65536
#define MAX_SENDERS 65536u

enum { MSG_DATA = 1, MSG_GO = 2, MSG_GET = 3 };

typedef struct item {
    uint64_t seq;
    uint32_t sender;
    uint32_t pad;
} item;

typedef struct counter_state {
    uint64_t expect, count, out_of_order;
    uint32_t senders;
    uint64_t *next; /* next seq expected from each sender (owned by the run) */
} counter_state;

typedef struct counter_report {
    uint64_t count, out_of_order;
} counter_report;

typedef struct sender_state {
    troupe_ref to;
    uint32_t id;
    uint64_t next, total;
} sender_state;

static atomic_int g_done;
static _Atomic uint64_t g_progress;
static uint64_t g_end_ns;

static int counter_init(troupe_ctx *ctx, void *st, const void *arg)
{
    (void)ctx;
    *(counter_state *)st = *(const counter_state *)arg;
    return 0;
}

static int counter_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    counter_state *s = st;
    if (msg->type == MSG_GET) {
        counter_report r = {s->count, s->out_of_order};
        return troupe_reply(ctx, MSG_GET, &r, sizeof r);
    }
    if (msg->type != MSG_DATA || msg->size != sizeof(item))
        return -1;
    item it;
    memcpy(&it, msg->data, sizeof it);
    if (it.sender >= s->senders || it.seq != s->next[it.sender])
        s->out_of_order++;
    else
        s->next[it.sender]++;
    if ((++s->count & 1023) == 0)
        atomic_store_explicit(&g_progress, s->count, memory_order_relaxed);
    if (s->count == s->expect) {
        g_end_ns = bench_now_ns();
        atomic_store_explicit(&g_done, 1, memory_order_release);
    }
    return 0;
}

static const troupe_behaviour counter_beh = {.name = "fanin_n.counter",
                                             .state_size = sizeof(counter_state),
                                             .init = counter_init,
                                             .handle = counter_handle};

static int sender_init(troupe_ctx *ctx, void *st, const void *arg)
{
    (void)ctx;
    *(sender_state *)st = *(const sender_state *)arg;
    return 0;
}

static int sender_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    sender_state *s = st;
    if (msg->type != MSG_GO)
        return -1;
    troupe_system *sys = troupe_ctx_system(ctx);
    for (int i = 0; i < CHUNK && s->next < s->total; i++, s->next++) {
        item it = {.seq = s->next, .sender = s->id};
        int rc = troupe_tell(sys, s->to, MSG_DATA, &it, sizeof it);
        if (rc < 0)
            return rc;
    }
    if (s->next < s->total)
        return troupe_tell(sys, troupe_self(ctx), MSG_GO, NULL, 0);
    return 0;
}

static const troupe_behaviour sender_beh = {.name = "fanin_n.sender",
                                            .state_size = sizeof(sender_state),
                                            .init = sender_init,
                                            .handle = sender_handle};

typedef struct actors {
    troupe_system *sys;
    troupe_ref counter, first, last;
} actors;

static void diag(void *ud)
{
    actors *a = ud;
    bench_print_stats(a->sys, "counter", a->counter);
    bench_print_stats(a->sys, "first sender", a->first);
    bench_print_stats(a->sys, "last sender", a->last);
}

double fanin_n_run(uint32_t senders, uint64_t total, const char *what)
{
    if (senders == 0 || senders > MAX_SENDERS || total < senders)
        bench_fail("%s: %u senders for %llu messages", what, senders, (unsigned long long)total);
    atomic_store(&g_done, 0);
    atomic_store(&g_progress, 0);
    uint64_t *next = calloc(senders, sizeof *next);
    troupe_ref *refs = calloc(senders, sizeof *refs);
    if (!next || !refs)
        bench_fail("out of memory");
    troupe_system *sys = bench_system(1);

    troupe_spawn_opts opts;
    troupe_spawn_opts_defaults(&opts);
    opts.capacity = CAPACITY;
    actors a = {.sys = sys};
    counter_state carg = {.expect = total, .senders = senders, .next = next};
    bench_check(troupe_spawn(sys, &counter_beh, &carg, &opts, &a.counter), "spawn counter");
    for (uint32_t i = 0; i < senders; i++) {
        sender_state sarg = {.to = a.counter, .id = i,
                             .total = total / senders + (i < total % senders)};
        bench_check(troupe_spawn(sys, &sender_beh, &sarg, NULL, &refs[i]), "spawn sender");
    }
    a.first = refs[0];
    a.last = refs[senders - 1];

    uint64_t t0 = bench_now_ns();
    for (uint32_t i = 0; i < senders; i++)
        bench_check(troupe_tell(sys, refs[i], MSG_GO, NULL, 0), "start sender");
    bench_wait(&g_done, &g_progress, what, diag, &a);
    double secs = (double)(g_end_ns - t0) / 1e9;

    counter_report r;
    bench_ask(sys, a.counter, MSG_GET, &r, sizeof r);
    if (r.count != total || r.out_of_order != 0)
        bench_fail("%s: counter saw %llu of %llu messages, %llu out of per-sender order", what,
                   (unsigned long long)r.count, (unsigned long long)total,
                   (unsigned long long)r.out_of_order);
    for (uint32_t i = 0; i < senders; i++) /* the counter is idle: its state is settled */
        if (next[i] != total / senders + (i < total % senders))
            bench_fail("%s: sender %u delivered %llu messages", what, i,
                       (unsigned long long)next[i]);
    troupe_mailbox_stats ms;
    bench_check(troupe_actor_stats(sys, a.counter, &ms), "troupe_actor_stats");
    if (ms.accepted != total + 1 || ms.dropped != 0 || ms.rejected != 0 || ms.failed != 0)
        bench_fail("%s: counter stats: accepted %llu (want %llu) dropped %llu rejected %llu "
                   "failed %llu",
                   what, (unsigned long long)ms.accepted, (unsigned long long)(total + 1),
                   (unsigned long long)ms.dropped, (unsigned long long)ms.rejected,
                   (unsigned long long)ms.failed);
    if (getenv("TROUPE_BENCH_VERBOSE")) {
        troupe_system_stats ss;
        troupe_system_stats_get(sys, &ss);
        fprintf(stderr, "%s: %u senders: %.1f M msg/s, parked %llu, steals %llu, parks %llu\n",
                what, senders, (double)total / secs / 1e6, (unsigned long long)ms.parked,
                (unsigned long long)ss.steals, (unsigned long long)ss.parks);
    }
    troupe_system_destroy(sys);
    free(next);
    free(refs);
    return (double)total / secs;
}
