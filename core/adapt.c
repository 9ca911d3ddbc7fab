/* core/adapt.c — starvation detector of a worker (see adapt.h). */
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/adapt.h"
#include "core/system.h"
#include "core/topo.h"

void adapt_init(adapt *a) { memset(a, 0, sizeof *a); }

/* The verdict on a full window: starved (true) or not; a ratio between
 * the two bounds says nothing (false, *clear = false). */
static bool window_starved(const adapt *a, bool *clear)
{
    /* off the CPU without being preempted is a handler that blocked (a
     * sleep, I/O): not a busy core */
    bool low = a->cpu * 10 < a->wall * 7 && a->preempted, high = a->cpu * 10 > a->wall * 9;
    *clear = low || high;
    return low;
}

bool adapt_feed(adapt *a, uint64_t wall_ns, uint64_t cpu_ns, uint64_t preempted)
{
    a->wall += wall_ns;
    a->preempted += preempted;
    a->cpu += cpu_ns < wall_ns ? cpu_ns : wall_ns; /* clocks of two sources */
    if (a->wall < ADAPT_WINDOW_NS)
        return false;
    bool clear, starved = window_starved(a, &clear);
    a->wall = a->cpu = a->preempted = 0;
    if (!clear || starved == adapt_starved(a)) {
        if (clear)
            a->streak = 0; /* agrees with the mode */
        return false;
    }
    if (++a->streak < ADAPT_STREAK)
        return false;
    a->streak = 0;
    /* relaxed: the owner's own; readers take a sample (see adapt) */
    atomic_store_explicit(&a->starved, starved, memory_order_relaxed);
    atomic_store_explicit(&a->switches, atomic_load_explicit(&a->switches, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    return true;
}

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Involuntary context switches of this thread so far. */
static uint64_t preemptions(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_THREAD, &ru) == 0 ? (uint64_t)ru.ru_nivcsw : 0;
}

void adapt_mark(worker *w)
{
    w->ad.t_wall = clock_ns(CLOCK_MONOTONIC);
    w->ad.t_cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    w->ad.t_ivcsw = preemptions();
}

/* Let the kernel place the thread: every CPU the process may use (the
 * main thread's mask, which is the process's unless the program pinned
 * its main thread). */
static void unpin_self(void)
{
    cpu_set_t all;
    if (sched_getaffinity(getpid(), sizeof all, &all) == 0)
        (void)pthread_setaffinity_np(pthread_self(), sizeof all, &all);
}

void adapt_check(worker *w)
{
    uint64_t wall0 = w->ad.t_wall, cpu0 = w->ad.t_cpu, iv0 = w->ad.t_ivcsw;
    adapt_mark(w);
    if (!adapt_feed(&w->ad, w->ad.t_wall - wall0, w->ad.t_cpu - cpu0, w->ad.t_ivcsw - iv0) ||
        !w->sys->cfg.pin)
        return;
    if (adapt_starved(&w->ad))
        unpin_self();
    else
        topo_bind_self(w); /* a dedicated core again: back to it */
}
