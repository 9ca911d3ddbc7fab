/* bench/scale_memory.c — the memory scaling curve: bytes per actor against
 * 1,000, 10,000, 100,000 and 1,000,000 idle actors (times the scale).
 *
 * Each point runs in a fresh child process (bench_run_in_child): spawn the
 * actors (the behaviour of spawn.c: an 8-byte state, never sent a message,
 * so no mailbox ring yet) and divide the growth of the resident set by
 * their number. The name carries the unscaled count:
 *   SUMMARY bench=scale_memory_<n> impl=troupe metric=bytes_per_actor unit=bytes
 * At 1,000 actors the figure is coarse: RSS moves in pages, and the
 * allocator's first chunks are counted against few actors.
 *
 * Checks: the system counted exactly the actors spawned, and all are live.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static int idle_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    (void)ctx;
    (void)st;
    (void)msg;
    return 0;
}

static const troupe_behaviour idle_beh = {
    .name = "scale_memory.idle", .state_size = 8, .handle = idle_handle};

typedef struct point {
    uint64_t label, n;
} point;

static void run_point(void *ud)
{
    const point *p = ud;
    troupe_ref *refs = malloc(p->n * sizeof *refs);
    if (!refs)
        bench_fail("out of memory for %llu refs", (unsigned long long)p->n);
    memset(refs, 0xff, p->n * sizeof *refs); /* the bench's memory, not troupe's */

    troupe_system *sys = bench_system(1);
    troupe_system_stats before, after;
    bench_check(troupe_system_stats_get(sys, &before), "troupe_system_stats_get");
    uint64_t rss0 = bench_rss_bytes();
    for (uint64_t i = 0; i < p->n; i++)
        bench_check(troupe_spawn(sys, &idle_beh, NULL, NULL, &refs[i]), "troupe_spawn");
    uint64_t rss1 = bench_rss_bytes();

    bench_check(troupe_system_stats_get(sys, &after), "troupe_system_stats_get");
    if (after.actors_spawned - before.actors_spawned != p->n ||
        after.actors_live - before.actors_live != p->n)
        bench_fail("stats count %llu spawned, %llu live, expected %llu",
                   (unsigned long long)(after.actors_spawned - before.actors_spawned),
                   (unsigned long long)(after.actors_live - before.actors_live),
                   (unsigned long long)p->n);
    for (uint64_t i = 0; i < p->n; i++)
        if (!troupe_alive(sys, refs[i]))
            bench_fail("actor %llu is not alive", (unsigned long long)i);

    char bench[48];
    snprintf(bench, sizeof bench, "scale_memory_%llu", (unsigned long long)p->label);
    bench_summary(bench, "bytes_per_actor",
                  rss1 > rss0 ? (double)(rss1 - rss0) / (double)p->n : 0.0, "bytes");
    troupe_system_destroy(sys);
    free(refs);
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    int ok = 1;
    for (uint64_t label = 1000; label <= 1000000; label *= 10) {
        point p = {label, bench_scaled(label, scale, 100)};
        char name[48];
        snprintf(name, sizeof name, "scale_memory_%llu", (unsigned long long)label);
        ok &= bench_run_in_child(name, run_point, &p);
    }
    return ok ? 0 : 1;
}
