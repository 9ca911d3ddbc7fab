/* bench/fork_join_create.c — Savina 4 (fork-join creation).
 *
 * A creator actor spawns 40,000 actors (times the scale) and sends each one
 * message; each does the tiny computation of fork_join_throughput (sin^2 of
 * a number, as a Taylor polynomial) and stops itself (troupe_stop_self).
 * The time runs from the start until the last of them has handled its
 * message. Actors are spawned with default options, as an application
 * would (their mailbox ring is allocated at the first message).
 *
 * Measured when written: the default ring (1,024 slots of 64 bytes) is a
 * 64 KB zeroed allocation from the jemalloc arena; jemalloc zeroes a
 * recycled extent with madvise(MADV_DONTNEED), so each actor costs one
 * madvise and a TLB-shootdown IPI (~35 % of the run under perf). With
 * opts.capacity = 16 the rate is ~30x higher. Kept at the defaults on
 * purpose: this is what an application gets.
 *
 * The creator spawns CHUNK actors per handler, then tells itself
 * "continue", so that the new actors run meanwhile.
 *
 * Checks: every actor handled exactly one message, its own (each index is
 * seen once); the system counted exactly the actors spawned, none failed,
 * and all of them have ended afterwards.
 * metric: actors created and run per second (actors/s).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

#define BASE_ACTORS 40000ull
#define CHUNK 256

enum { MSG_GO = 1, MSG_WORK = 2 };

typedef struct work {
    uint64_t index;
    double theta;
} work;

typedef struct creator_state {
    uint64_t n, next;
} creator_state;

static atomic_int g_done;
static _Atomic uint64_t g_handled, g_bad;
static _Atomic uint8_t *g_seen;
static uint64_t g_n, g_end_ns;

static double compute(double x)
{
    double x2 = x * x;
    double s = x * (1.0 - x2 * (1.0 / 6.0 - x2 * (1.0 / 120.0 - x2 * (1.0 / 5040.0))));
    return s * s;
}

static int fj_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    (void)st;
    if (msg->type != MSG_WORK || msg->size != sizeof(work))
        return -1;
    work w;
    memcpy(&w, msg->data, sizeof w);
    if (w.index >= g_n || !(compute(w.theta) > 0.0) ||
        atomic_fetch_add_explicit(&g_seen[w.index], 1, memory_order_relaxed) != 0)
        atomic_fetch_add(&g_bad, 1);
    int rc = troupe_stop_self(ctx);
    if (atomic_fetch_add_explicit(&g_handled, 1, memory_order_acq_rel) + 1 == g_n) {
        g_end_ns = bench_now_ns();
        atomic_store_explicit(&g_done, 1, memory_order_release);
    }
    return rc;
}

static const troupe_behaviour fj_beh = {.name = "fork_join_create.actor", .handle = fj_handle};

static int creator_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    creator_state *s = st;
    troupe_system *sys = troupe_ctx_system(ctx);
    if (msg->type != MSG_GO)
        return -1;
    if (msg->size == sizeof s->n)
        memcpy(&s->n, msg->data, sizeof s->n);
    for (int i = 0; i < CHUNK && s->next < s->n; i++, s->next++) {
        troupe_ref r;
        int rc = troupe_spawn(sys, &fj_beh, NULL, NULL, &r);
        if (rc < 0)
            return rc;
        work w = {s->next, 0.25 + (double)(s->next % 1024) / 1024.0};
        rc = troupe_tell(sys, r, MSG_WORK, &w, sizeof w);
        if (rc < 0)
            return rc;
    }
    if (s->next < s->n)
        return troupe_tell(sys, troupe_self(ctx), MSG_GO, NULL, 0);
    return 0;
}

static const troupe_behaviour creator_beh = {
    .name = "fork_join_create.creator", .state_size = sizeof(creator_state),
    .handle = creator_handle};

int main(int argc, char **argv)
{
    uint64_t n = bench_scaled(BASE_ACTORS, bench_scale(argc, argv), 1000);
    g_n = n;
    g_seen = calloc(n, sizeof *g_seen);
    if (!g_seen)
        bench_fail("out of memory");
    troupe_system *sys = bench_system(1);
    troupe_ref creator;
    bench_check(troupe_spawn(sys, &creator_beh, NULL, NULL, &creator), "spawn creator");
    troupe_system_stats before, after;
    bench_check(troupe_system_stats_get(sys, &before), "troupe_system_stats_get");

    uint64_t t0 = bench_now_ns();
    bench_check(troupe_tell(sys, creator, MSG_GO, &n, sizeof n), "start");
    bench_wait(&g_done, &g_handled, "the forked actors", NULL, NULL);
    double secs = (double)(g_end_ns - t0) / 1e9;

    if (atomic_load(&g_bad) != 0)
        bench_fail("%llu actors got a wrong or repeated message",
                   (unsigned long long)atomic_load(&g_bad));
    for (uint64_t i = 0; i < n; i++)
        if (atomic_load_explicit(&g_seen[i], memory_order_relaxed) != 1)
            bench_fail("actor %llu handled %u messages", (unsigned long long)i,
                       (unsigned)atomic_load(&g_seen[i]));
    /* The stops take effect after the handlers: wait for the live count. */
    uint64_t until = bench_now_ns() + (uint64_t)(BENCH_STALL_S * 1e9);
    for (;;) {
        bench_check(troupe_system_stats_get(sys, &after), "troupe_system_stats_get");
        if (after.actors_live == before.actors_live)
            break;
        if (bench_now_ns() > until)
            bench_fail("%llu of the forked actors still live after %.0f s",
                       (unsigned long long)(after.actors_live - before.actors_live),
                       BENCH_STALL_S);
        const struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    if (after.actors_spawned - before.actors_spawned != n ||
        after.actors_failed != before.actors_failed)
        bench_fail("stats: %llu spawned (want %llu), %llu failed",
                   (unsigned long long)(after.actors_spawned - before.actors_spawned),
                   (unsigned long long)n,
                   (unsigned long long)(after.actors_failed - before.actors_failed));
    bench_summary("fork_join_create", "rate", (double)n / secs, "actors/s");
    troupe_system_destroy(sys);
    free((void *)g_seen);
    return 0;
}
