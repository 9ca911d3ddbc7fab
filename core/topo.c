/* core/topo.c — hwloc topology, loaded once per process. */
#include "core/topo.h"

#include <hwloc.h>
#include <stdlib.h>

#include "core/alloc.h"

static hwloc_topology_t topo;
static int topo_ok;
static pthread_once_t topo_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t topo_lock = PTHREAD_MUTEX_INITIALIZER;

static void topo_load(void)
{
    if (hwloc_topology_init(&topo) != 0)
        return;
    if (hwloc_topology_load(topo) != 0) {
        hwloc_topology_destroy(topo);
        return;
    }
    topo_ok = 1;
}

uint32_t topo_cores(void)
{
    pthread_once(&topo_once, topo_load);
    if (!topo_ok)
        return 1;
    int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    if (n <= 0)
        n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
    return n > 0 ? (uint32_t)n : 1;
}

/* The first PU of core i (wrapping), as an OS index. */
static int default_cpu(uint32_t i)
{
    int ncores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    hwloc_obj_t o = ncores > 0 ? hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, i % (uint32_t)ncores)
                               : NULL;
    if (o && o->cpuset) {
        int pu = hwloc_bitmap_first(o->cpuset);
        if (pu >= 0)
            return pu;
    }
    hwloc_obj_t p = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU,
                                          i % (uint32_t)hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU));
    return p ? (int)p->os_index : -1;
}

static hwloc_obj_t pu_of(int cpu)
{
    return cpu < 0 ? NULL : hwloc_get_pu_obj_by_os_index(topo, (unsigned)cpu);
}

/* Nearness of two CPUs: depth of their deepest common ancestor. */
static int nearness(int a, int b)
{
    hwloc_obj_t pa = pu_of(a), pb = pu_of(b);
    if (!pa || !pb)
        return 0;
    return (int)hwloc_get_common_ancestor_obj(topo, pa, pb)->depth;
}

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
        int key = nearness(w->cpu, sys->workers[v].cpu);
        uint32_t j = i;
        while (j > 0 && nearness(w->cpu, sys->workers[w->victims[j - 1]].cpu) < key) {
            w->victims[j] = w->victims[j - 1];
            j--;
        }
        w->victims[j] = v;
    }
    return 0;
}

int topo_plan(troupe_system *sys)
{
    pthread_once(&topo_once, topo_load);
    const troupe_config *c = &sys->cfg;
    for (uint32_t i = 0; i < sys->nworkers; i++) {
        worker *w = &sys->workers[i];
        w->cpu = -1;
        if (c->cpus) {
            w->cpu = c->cpus[i];
            if (topo_ok && !pu_of(w->cpu))
                return TROUPE_EINVAL;
        } else if (topo_ok) {
            w->cpu = default_cpu(i);
        }
    }
    for (uint32_t i = 0; i < sys->nworkers; i++)
        if (plan_victims(sys, &sys->workers[i]) != 0)
            return TROUPE_ENOMEM;
    return 0;
}

void topo_bind_self(const worker *w)
{
    if (!topo_ok || w->cpu < 0 || !w->sys->cfg.pin)
        return;
    hwloc_obj_t pu = pu_of(w->cpu);
    if (!pu)
        return;
    pthread_mutex_lock(&topo_lock);
    hwloc_set_cpubind(topo, pu->cpuset, HWLOC_CPUBIND_THREAD);
    if (hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE) > 1 && pu->nodeset)
        hwloc_set_membind(topo, pu->nodeset, HWLOC_MEMBIND_BIND,
                          HWLOC_MEMBIND_THREAD | HWLOC_MEMBIND_BYNODESET);
    pthread_mutex_unlock(&topo_lock);
}
