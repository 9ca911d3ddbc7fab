/* bench/idle_cpu.c — what an idle system costs: CPU while nothing happens.
 *
 * A system with the default worker count and 10,000 actors (times the
 * scale). Each actor first handles one message, so its mailbox exists and
 * it has been scheduled and gone idle; then the process CPU time (user +
 * system, getrusage) is read over 5 s of wall time. Parked workers should
 * cost next to nothing; spinning ones would show as tens of percent.
 *
 * Checks: every actor handled exactly its one message and is still alive.
 */
#include <stdlib.h>
#include <time.h>

#include "common.h"

#define BASE_ACTORS 10000ull
#define WINDOW_S 5.0 /* the window (issue 4) */

enum { MSG_POKE = 1 };

typedef struct idle_state {
    uint64_t pokes;
} idle_state;

static atomic_int g_all_poked;
static _Atomic uint64_t g_poked;
static uint64_t g_expect;

static int idle_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    (void)ctx;
    if (msg->type != MSG_POKE)
        return -1;
    ((idle_state *)st)->pokes++;
    if (atomic_fetch_add(&g_poked, 1) + 1 == g_expect)
        atomic_store_explicit(&g_all_poked, 1, memory_order_release);
    return 0;
}

static const troupe_behaviour idle_beh = {
    .name = "idle_cpu.idle",
    .state_size = sizeof(idle_state),
    .handle = idle_handle,
};

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void verify(troupe_system *sys, const troupe_ref *refs, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        troupe_mailbox_stats ms;
        bench_check(troupe_actor_stats(sys, refs[i], &ms), "troupe_actor_stats");
        if (ms.accepted != 1 || ms.handled != 1 || ms.depth != 0)
            bench_fail("actor %llu: accepted %llu handled %llu depth %u, expected 1 1 0",
                       (unsigned long long)i, (unsigned long long)ms.accepted,
                       (unsigned long long)ms.handled, ms.depth);
    }
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    uint64_t n = bench_scaled(BASE_ACTORS, scale, 100);
    g_expect = n;
    troupe_system *sys = bench_system(1);
    troupe_ref *refs = calloc(n, sizeof *refs);
    if (refs == NULL)
        bench_fail("out of memory");
    for (uint64_t i = 0; i < n; i++)
        bench_check(troupe_spawn(sys, &idle_beh, NULL, NULL, &refs[i]), "troupe_spawn");
    for (uint64_t i = 0; i < n; i++)
        bench_check(troupe_tell(sys, refs[i], MSG_POKE, NULL, 0), "troupe_tell");
    bench_wait(&g_all_poked, &g_poked, "every actor's first message", NULL, NULL);

    /* Let the workers run out of spinning and park before measuring. */
    sleep_s(0.2);
    uint64_t cpu0 = bench_cpu_ns(), t0 = bench_now_ns();
    sleep_s(WINDOW_S);
    uint64_t cpu1 = bench_cpu_ns(), t1 = bench_now_ns();

    verify(sys, refs, n);
    bench_summary("idle_cpu", "cpu", 100.0 * (double)(cpu1 - cpu0) / (double)(t1 - t0),
                  "percent");
    troupe_system_destroy(sys);
    free(refs);
    return 0;
}
