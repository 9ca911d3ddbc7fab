/* core/topo_hwloc.c — the topology from hwloc, loaded once per process
 * (core/topo.h; -Dhwloc=enabled). */
#include <hwloc.h>

#include "core/topo.h"

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

/* The topology, loaded on first use; 0 if hwloc could not read it. */
static int loaded(void)
{
    pthread_once(&topo_once, topo_load);
    return topo_ok;
}

uint32_t topo_cores(void)
{
    if (!loaded())
        return 1;
    int n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
    if (n <= 0)
        n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
    return n > 0 ? (uint32_t)n : 1;
}

/* The first PU of core i (wrapping), as an OS index. */
int topo_cpu_default(uint32_t i)
{
    if (!loaded())
        return -1;
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

int topo_cpu_known(int cpu)
{
    return !loaded() || pu_of(cpu) != NULL;
}

/* Nearness of two CPUs: depth of their deepest common ancestor. */
int topo_nearness(int a, int b)
{
    if (!loaded())
        return 0;
    hwloc_obj_t pa = pu_of(a), pb = pu_of(b);
    if (!pa || !pb)
        return 0;
    return (int)hwloc_get_common_ancestor_obj(topo, pa, pb)->depth;
}

void topo_bind_self(const worker *w)
{
    if (!loaded() || w->cpu < 0 || !w->pool->pin)
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
