/* bench/alloc.c — message-sized allocations freed on another thread.
 *
 * The public API has no allocator of its own, so this measures the path
 * every large message takes: a payload above TROUPE_INLINE_MAX is copied
 * into a runtime allocation by the sender's worker and freed by the
 * receiver's, on another thread. It is the fan-in workload (fanin.c) with
 * 64-byte payloads, 4 M messages (times the scale), run twice, each in a
 * fresh child process:
 *   bench=alloc       troupe_config.use_arena = 1 (the jemalloc arena)
 *   bench=alloc_libc  troupe_config.use_arena = 0 (the default allocator)
 * The counter checks every payload byte-pattern, so a torn copy fails.
 */
#include "fanin.h"

#define BASE_MESSAGES 4000000ull
#define PAYLOAD 64

_Static_assert(PAYLOAD > TROUPE_INLINE_MAX, "the payload must take the heap path");

typedef struct alloc_case {
    const char *name;
    int use_arena;
    uint64_t per_sender;
} alloc_case;

static void run_case(void *ud)
{
    const alloc_case *c = ud;
    double rate = fanin_run(c->per_sender, PAYLOAD, c->use_arena);
    bench_summary(c->name, "throughput", rate, "msg/s");
}

int main(int argc, char **argv)
{
    uint64_t per_sender = bench_scaled(BASE_MESSAGES / NSENDERS, bench_scale(argc, argv), 1000);
    alloc_case arena = {"alloc", 1, per_sender}, libc = {"alloc_libc", 0, per_sender};
    int ok = bench_run_in_child(arena.name, run_case, &arena);
    ok &= bench_run_in_child(libc.name, run_case, &libc);
    return ok ? 0 : 1;
}
