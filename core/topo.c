/* core/topo.c — the plan of the workers' CPUs and steal order, from the
 * topology source built in (core/topo.h: topo_hwloc.c or topo_affinity.c). */
#include "core/topo.h"

#include "core/alloc.h"

/* Victims are the other workers of w's pool: stealing stays in a pool. */
static int plan_victims(troupe_system *sys, worker *w)
{
    const pool *p = w->pool;
    w->nvictims = p->n - 1;
    w->victims = sys_calloc(p->n, sizeof *w->victims);
    if (!w->victims)
        return TROUPE_ENOMEM;
    uint32_t n = 0, k = w->index - p->first;
    for (uint32_t i = 1; i < p->n; i++)
        w->victims[n++] = p->first + (k + i) % p->n;
    /* insertion sort, nearest first; ties keep round-robin order */
    for (uint32_t i = 1; i < n; i++) {
        uint32_t v = w->victims[i];
        int key = topo_nearness(w->cpu, sys->workers[v].cpu);
        uint32_t j = i;
        while (j > 0 && topo_nearness(w->cpu, sys->workers[w->victims[j - 1]].cpu) < key) {
            w->victims[j] = w->victims[j - 1];
            j--;
        }
        w->victims[j] = v;
    }
    return 0;
}

/* Worker i of a pool runs on its set's CPU i (wrapping), or where the
 * topology puts worker i by default (no pools: cfg.cpus, as before). */
int topo_plan(troupe_system *sys)
{
    for (uint32_t i = 0; i < sys->nworkers; i++) {
        worker *w = &sys->workers[i];
        const pool *p = w->pool;
        uint32_t k = i - p->first;
        w->cpu = p->cpus ? p->cpus[k % p->ncpus] : topo_cpu_default(k);
        if (p->cpus && !topo_cpu_known(w->cpu))
            return TROUPE_EINVAL;
    }
    for (uint32_t i = 0; i < sys->nworkers; i++)
        if (plan_victims(sys, &sys->workers[i]) != 0)
            return TROUPE_ENOMEM;
    return 0;
}
