/* observe/prom_pools.c — the worker pools' families (label `pool`),
 * read through troupe_pool_info_get (include/troupe/pool.h): what a
 * pool's workers are doing, its queue, and the handlers inside it — in a
 * blocking pool, those that may be blocked (docs/METRICS.md, "Worker
 * pools"). Samples, taken one pool at a time: a pool's gauges may not sum
 * to its workers when a worker moved between two of them. */
#include <stdio.h>

#include "observe/cpuset.h"
#include "observe/prom.h"

enum { PF_WORKERS, PF_CONFIGURED, PF_MAX, PF_PARKED, PF_SPINNING, PF_RUNQ, PF_BLOCKED, PF_N };

static const struct {
    const char *name, *help;
} pool_families[PF_N] = {
    {"troupe_pool_workers", "Worker threads running now (a blocking pool grows to its bound)."},
    {"troupe_pool_workers_configured", "Worker threads started with the system."},
    {"troupe_pool_workers_max", "The bound a blocking pool grows to (workers for the others)."},
    {"troupe_pool_workers_parked", "Workers asleep, waiting for work (sampled)."},
    {"troupe_pool_workers_spinning", "Workers searching for work before they park (sampled)."},
    {"troupe_pool_runq_length", "Runnable actors queued on the pool (run queues, injector, pins)."},
    {"troupe_pool_workers_blocked",
     "Workers inside a handler now (sampled); in a blocking pool, the handlers that may block."},
};

static double pool_value(const troupe_pool_info *pi, int k)
{
    const uint32_t v[PF_N] = {pi->workers, pi->configured, pi->max_workers, pi->parked,
                              pi->spinning, pi->runq_length, pi->blocked};
    return (double)v[k];
}

/* The info family: its CPU set and whether it is a blocking pool, as
 * labels of a constant 1 (joined in PromQL with `on(pool)`). */
static void write_pool_info(pw *p, const troupe_pool_info *pi)
{
    char cpus[256];
    cpuset_format(pi->cpus, pi->ncpus, cpus, sizeof cpus);
    pw_printf(p, "troupe_pool_info{pool=\"");
    pw_label(p, pi->name);
    pw_printf(p, "\",cpus=\"%s\",blocking=\"%d\"} 1\n", cpus, pi->blocking ? 1 : 0);
}

void prom_pools(pw *p, troupe_system *sys)
{
    const char *names[TROUPE_MAX_POOLS];
    int np = troupe_system_pools(sys, names, TROUPE_MAX_POOLS);
    uint32_t n = np > 0 ? (uint32_t)(np < TROUPE_MAX_POOLS ? np : TROUPE_MAX_POOLS) : 0;
    troupe_pool_info info[TROUPE_MAX_POOLS];
    for (uint32_t i = 0; i < n; i++)
        if (troupe_pool_info_get(sys, names[i], &info[i]) < 0)
            n = i; /* cannot happen: the names are the system's own */
    pw_head(p, "troupe_pool_info", "gauge", "A pool's CPU set and kind (value 1).");
    for (uint32_t i = 0; i < n; i++)
        write_pool_info(p, &info[i]);
    for (int k = 0; k < PF_N; k++) {
        pw_head(p, pool_families[k].name, "gauge", pool_families[k].help);
        for (uint32_t i = 0; i < n; i++)
            pw_sample1(p, pool_families[k].name, "pool", info[i].name, pool_value(&info[i], k));
    }
}
