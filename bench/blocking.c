/* bench/blocking.c — a handler that blocks 100 ms at a time, and what it
 * does to ping-pong in the default pool (issue 17, docs/POOLS.md):
 *
 *   base     pools default + io (blocking), no blocker: ask round trips
 *            to an echo actor in the default pool (p50, p99, ns)
 *   pooled   the same with an actor in io whose handler sleeps 100 ms and
 *            tells itself again (always one blocked handler there)
 *   nopool   one pool (today), the same blocker in it: the damage
 *
 * Checks: every ask is answered with its own number.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

enum { M_ECHO = 1, M_BLOCK = 2 };

static atomic_int g_run;

static int echo_handle(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    (void)st;
    if (m->type == M_ECHO)
        return troupe_reply(ctx, M_ECHO, m->data, m->size);
    struct timespec ts = {0, 100000000}; /* M_BLOCK: 100 ms in a blocking call */
    nanosleep(&ts, NULL);
    if (atomic_load(&g_run))
        (void)troupe_tell(troupe_ctx_system(ctx), troupe_self(ctx), M_BLOCK, NULL, 0);
    return 0;
}

static const troupe_behaviour echo_beh = {.name = "blocking.echo", .handle = echo_handle};

static void run_case(const char *name, bool pools, bool blocker, uint64_t dur_ns)
{
    troupe_pool_config p[2];
    troupe_pool_config_defaults(&p[0]);
    p[0].name = "default";
    troupe_pool_config_defaults(&p[1]);
    p[1].name = "io";
    p[1].blocking = 1;
    troupe_config c;
    troupe_config_defaults(&c);
    c.pools = pools ? p : NULL;
    c.npools = pools ? 2 : 0;
    c.stall_ns = 0;
    troupe_system *sys;
    bench_check(troupe_system_create(&sys, &c), "create");
    troupe_ref echo, blk;
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    bench_check(troupe_spawn(sys, &echo_beh, NULL, NULL, &echo), "spawn echo");
    o.pool = pools ? "io" : NULL;
    atomic_store(&g_run, 1);
    if (blocker) {
        bench_check(troupe_spawn(sys, &echo_beh, NULL, &o, &blk), "spawn blocker");
        bench_check(troupe_tell(sys, blk, M_BLOCK, NULL, 0), "block");
    }
    size_t cap = 1u << 22, n = 0;
    uint64_t *lat = malloc(cap * sizeof *lat);
    if (!lat)
        bench_fail("no memory");
    uint64_t t0 = bench_now_ns();
    while (n < cap && bench_now_ns() - t0 < dur_ns) {
        uint64_t seq = n, got = ~0ull, a = bench_now_ns();
        size_t len = 0;
        bench_check(troupe_ask(sys, echo, M_ECHO, &seq, sizeof seq, 10000000000ull, NULL, &got,
                               sizeof got, &len),
                    "ask");
        if (len != sizeof got || got != seq)
            bench_fail("ask %llu answered %llu", (unsigned long long)seq,
                       (unsigned long long)got);
        lat[n++] = bench_now_ns() - a;
    }
    atomic_store(&g_run, 0);
    bench_sort_u64(lat, n);
    char b[64];
    snprintf(b, sizeof b, "blocking_%s", name);
    bench_summary(b, "p50", (double)bench_pct(lat, n, 0.5), "ns");
    bench_summary(b, "p99", (double)bench_pct(lat, n, 0.99), "ns");
    bench_summary(b, "asks", (double)n, "count");
    free(lat);
    troupe_system_destroy(sys);
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    uint64_t dur = (uint64_t)(1e9 * (scale < 0.2 ? 0.2 : scale));
    run_case("base", true, false, dur);
    run_case("pooled", true, true, dur);
    run_case("nopool", false, true, dur);
    return 0;
}
