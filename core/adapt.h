/* core/adapt.h — a worker notices that it is starved of its CPU (another
 * process runs there: a compile, a service, a CPU hog) and adapts.
 *
 * The measure is the worker's own thread CPU time against the wall time
 * while it is awake, running or spinning for work (never across a park,
 * where it sleeps on purpose): a worker that gets its core runs at a ratio
 * near 1; one
 * that shares it with a runnable process is preempted and falls to about
 * its share. A window is ADAPT_WINDOW_NS awake; ADAPT_STREAK starved
 * windows in a row (ratio under 7/10, and preempted at least once: a
 * handler that blocks in a sleep or I/O is off the CPU too, voluntarily)
 * switch the worker to STARVED, as many
 * healthy ones (over 9/10) switch it back: the gap and the streaks keep a
 * single preemption from flapping the mode.
 *
 * STARVED: the spin is a few sched_yield calls instead of a pause loop (the
 * competing thread gets the core at once, and we get it back as soon as it
 * is free), an eighth as long, and the worker is unpinned so that the
 * kernel can move it to a less busy core; HEALTHY again: pinned back.
 *
 * adapt_feed is a pure function of its samples (tests feed it synthetic
 * ones); adapt_mark/adapt_check read the clocks (awake time only). The owner
 * worker's alone: no atomics. */
#ifndef TROUPE_CORE_ADAPT_H
#define TROUPE_CORE_ADAPT_H

#include "core/common.h"

#define ADAPT_WINDOW_NS 2000000ull /* 2 ms awake per verdict */
#define ADAPT_STREAK 3u

typedef struct adapt {
    uint64_t wall, cpu, preempted; /* the window so far */
    uint64_t t_wall, t_cpu, t_ivcsw; /* at the last mark or check */
    uint32_t streak;      /* windows in a row that disagree with the mode */
    /* the mode and its changes: the owner's relaxed stores, read (relaxed,
     * a sample) by troupe_system_stats_get */
    _Atomic bool starved;
    _Atomic uint64_t switches;
} adapt;

void adapt_init(adapt *a);
/* One sample: wall and thread CPU time (ns) and involuntary context
 * switches over it; true when the mode changed. */
bool adapt_feed(adapt *a, uint64_t wall_ns, uint64_t cpu_ns, uint64_t preempted);
static inline bool adapt_starved(const adapt *a)
{
    return atomic_load_explicit(&a->starved, memory_order_relaxed); /* see adapt */
}

struct worker;
/* The worker's loop (core/sched.c): adapt_mark when it starts and after
 * each park (the time asleep is not a sample); adapt_check after each spin
 * and every ADAPT_RUNS runs feeds the time since the last mark or check and,
 * on a change of mode, unpins the worker or pins it back. */
#define ADAPT_RUNS 1024u
void adapt_mark(struct worker *w);
void adapt_check(struct worker *w);

#endif
