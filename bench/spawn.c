/* bench/spawn.c — spawning 1 M idle actors: rate and memory per actor.
 *
 * Run twice, each in a fresh child process so that one allocator's cached
 * memory never flatters the other's RSS reading:
 *   bench=spawn       troupe_config.use_arena = 1 (the jemalloc arena)
 *   bench=spawn_libc  troupe_config.use_arena = 0 (the libc allocator)
 * (Without jemalloc in the build both use libc: the pair then shows that.)
 *
 * An idle actor has never been sent a message, so it has no mailbox ring
 * yet: bytes per actor is the table slot, the state (8 bytes here) and the
 * runtime's bookkeeping, measured as RSS growth over the spawns.
 *
 * Checks: the system counted exactly the actors spawned, and every ref is
 * live and distinct from its neighbours.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define BASE_ACTORS 1000000ull

static int idle_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    (void)ctx;
    (void)st;
    (void)msg;
    return 0;
}

static const troupe_behaviour idle_beh = {
    .name = "spawn.idle",
    .state_size = 8,
    .handle = idle_handle,
};

static void verify(troupe_system *sys, const troupe_ref *refs, uint64_t n,
                   const troupe_system_stats *before)
{
    troupe_system_stats after;
    bench_check(troupe_system_stats_get(sys, &after), "troupe_system_stats_get");
    if (after.actors_spawned - before->actors_spawned != n ||
        after.actors_live - before->actors_live != n)
        bench_fail("stats count %llu spawned, %llu live, expected %llu more",
                   (unsigned long long)(after.actors_spawned - before->actors_spawned),
                   (unsigned long long)(after.actors_live - before->actors_live),
                   (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++) {
        if (!troupe_alive(sys, refs[i]))
            bench_fail("actor %llu is not alive", (unsigned long long)i);
        if (i > 0 && troupe_ref_eq(refs[i], refs[i - 1]))
            bench_fail("actors %llu and %llu share a ref", (unsigned long long)i - 1,
                       (unsigned long long)i);
    }
}

/* One measured run, in the calling (child) process. */
static void run(const char *name, int use_arena, uint64_t n)
{
    /* Touch the ref array first: it is the bench's memory, not troupe's. */
    troupe_ref *refs = malloc(n * sizeof *refs);
    if (refs == NULL)
        bench_fail("out of memory for %llu refs", (unsigned long long)n);
    memset(refs, 0xff, n * sizeof *refs);

    troupe_system *sys = bench_system(use_arena);
    troupe_system_stats before;
    bench_check(troupe_system_stats_get(sys, &before), "troupe_system_stats_get");
    uint64_t rss0 = bench_rss_bytes();
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < n; i++)
        bench_check(troupe_spawn(sys, &idle_beh, NULL, NULL, &refs[i]), "troupe_spawn");
    uint64_t t1 = bench_now_ns();
    uint64_t rss1 = bench_rss_bytes();

    verify(sys, refs, n, &before);
    bench_summary(name, "rate", (double)n / ((double)(t1 - t0) / 1e9), "actors/s");
    bench_summary(name, "bytes_per_actor", (double)(rss1 - rss0) / (double)n, "bytes");
    troupe_system_destroy(sys);
    free(refs);
}

typedef struct spawn_case {
    const char *name;
    int use_arena;
    uint64_t n;
} spawn_case;

static void run_case(void *ud)
{
    const spawn_case *c = ud;
    run(c->name, c->use_arena, c->n);
}

int main(int argc, char **argv)
{
    uint64_t n = bench_scaled(BASE_ACTORS, bench_scale(argc, argv), 1000);
    spawn_case arena = {"spawn", 1, n}, libc = {"spawn_libc", 0, n};
    int ok = bench_run_in_child(arena.name, run_case, &arena);
    ok &= bench_run_in_child(libc.name, run_case, &libc);
    return ok ? 0 : 1;
}
