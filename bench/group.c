/* bench/group.c — publish to a process group of 1,000 members (issue 17),
 * beside Erlang's pg + a send loop (bench/peers/erlang, case
 * group_publish_1000, in the same `make bench` run).
 *
 * The main thread publishes ROUNDS messages to the group; every member
 * counts what it handles. Members' mailboxes BLOCK when full, so nothing is
 * dropped: the figure is deliveries handled per second, from the first
 * publish to the last member's last message. Checks: every member handled
 * every round, and every publish reported 1,000 deliveries. */
#include <stdatomic.h>
#include <stdio.h>

#include "common.h"

#define MEMBERS 1000
#define MSG_PUB 1u

static _Atomic uint64_t g_handled;
static atomic_int g_done;
static uint64_t g_total;

static int member_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    (void)ctx;
    if (m->type == MSG_PUB) {
        ++*(uint64_t *)state;
        /* relaxed: a count; the last one's release below */
        if (atomic_fetch_add_explicit(&g_handled, 1, memory_order_relaxed) + 1 == g_total)
            atomic_store_explicit(&g_done, 1, memory_order_release);
    }
    return 0;
}

static const troupe_behaviour member_beh = {
    .name = "member", .state_size = sizeof(uint64_t), .handle = member_handle};

int main(int argc, char **argv)
{
    uint64_t rounds = bench_scaled(2000, bench_scale(argc, argv), 20);
    g_total = rounds * MEMBERS;
    troupe_system *sys = bench_system(1);
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.overflow = TROUPE_OVERFLOW_BLOCK;
    for (int i = 0; i < MEMBERS; i++) {
        troupe_ref r;
        bench_check(troupe_spawn(sys, &member_beh, NULL, &o, &r), "spawn member");
        bench_check(troupe_group_join(sys, "bench", r), "join");
    }
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < rounds; i++) {
        size_t got = 0;
        uint64_t v = i;
        bench_check(troupe_group_publish(sys, "bench", MSG_PUB, &v, sizeof v, &got), "publish");
        if (got != MEMBERS)
            bench_fail("publish %llu reached %zu of %d members", (unsigned long long)i, got,
                       MEMBERS);
    }
    bench_wait(&g_done, &g_handled, "every delivery", NULL, NULL);
    double secs = (double)(bench_now_ns() - t0) / 1e9;
    if (atomic_load(&g_handled) != g_total)
        bench_fail("handled %llu of %llu", (unsigned long long)atomic_load(&g_handled),
                   (unsigned long long)g_total);
    bench_summary("group_publish_1000", "throughput", (double)g_total / secs, "msg/s");
    troupe_system_destroy(sys);
    return 0;
}
