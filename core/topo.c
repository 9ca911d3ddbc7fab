/* core/topo.c — the plan of the workers' CPUs and steal order, from the
 * topology source built in (core/topo.h: topo_hwloc.c or topo_affinity.c). */
#include "core/topo.h"

#include "core/alloc.h"

static int plan_victims(troupe_system *sys, worker *w)
{
    w->nvictims = sys->nworkers - 1;
    w->victims = sys_calloc(sys->nworkers, sizeof *w->victims);
    if (!w->victims)
        return TROUPE_ENOMEM;
    uint32_t n = 0;
    for (uint32_t i = 1; i < sys->nworkers; i++)
        w->victims[n++] = (w->index + i) % sys->nworkers;
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

int topo_plan(troupe_system *sys)
{
    const troupe_config *c = &sys->cfg;
    for (uint32_t i = 0; i < sys->nworkers; i++) {
        worker *w = &sys->workers[i];
        w->cpu = c->cpus ? c->cpus[i] : topo_cpu_default(i);
        if (c->cpus && !topo_cpu_known(w->cpu))
            return TROUPE_EINVAL;
    }
    for (uint32_t i = 0; i < sys->nworkers; i++)
        if (plan_victims(sys, &sys->workers[i]) != 0)
            return TROUPE_ENOMEM;
    return 0;
}
