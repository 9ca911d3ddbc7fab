/* core/place_hwloc.c — troupe_topology from hwloc (core/place.h;
 * -Dhwloc=enabled): this machine, a synthetic description or an XML file.
 * hwloc only answers queries here: nothing binds. */
#include <hwloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "core/place.h"

struct troupe_topology {
    hwloc_topology_t h;
    int simulated; /* synthetic or XML: never bound to */
};

static int load(troupe_topology *t, const char *synthetic, const char *xml_path)
{
    if (hwloc_topology_init(&t->h) != 0)
        return TROUPE_ENOMEM;
    int rc = 0;
    if (synthetic && hwloc_topology_set_synthetic(t->h, synthetic) != 0)
        rc = TROUPE_EINVAL;
    else if (xml_path && hwloc_topology_set_xml(t->h, xml_path) != 0)
        rc = TROUPE_EINVAL;
    else if (hwloc_topology_load(t->h) != 0)
        rc = t->simulated ? TROUPE_EINVAL : TROUPE_ESYS;
    if (rc != 0)
        hwloc_topology_destroy(t->h);
    return rc;
}

int troupe_topology_open(const char *synthetic, const char *xml_path, troupe_topology **out)
{
    if (!out || (synthetic && xml_path))
        return TROUPE_EINVAL;
    *out = NULL;
    troupe_topology *t = sys_calloc(1, sizeof *t);
    if (!t)
        return TROUPE_ENOMEM;
    t->simulated = synthetic || xml_path;
    int rc = load(t, synthetic, xml_path);
    if (rc != 0) {
        free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void troupe_topology_destroy(troupe_topology *t)
{
    if (!t)
        return;
    hwloc_topology_destroy(t->h);
    free(t);
}

int troupe_topology_simulated(const troupe_topology *t)
{
    return t ? t->simulated : TROUPE_EINVAL;
}

static hwloc_obj_t pu_of(const troupe_topology *t, int cpu)
{
    return cpu < 0 ? NULL : hwloc_get_pu_obj_by_os_index(t->h, (unsigned)cpu);
}

int place_has_cpu(const troupe_topology *t, int cpu)
{
    return pu_of(t, cpu) != NULL;
}

int place_numa_count(const troupe_topology *t)
{
    int n = hwloc_get_nbobjs_by_type(t->h, HWLOC_OBJ_NUMANODE);
    return n > 0 ? n : 1;
}

/* One CPU per core inside set (its first PU); the PUs when hwloc knows no
 * cores. */
static int cpus_in(const troupe_topology *t, hwloc_const_cpuset_t set, int **cpus, size_t *n)
{
    *cpus = NULL, *n = 0;
    int ncores = hwloc_get_nbobjs_inside_cpuset_by_type(t->h, set, HWLOC_OBJ_CORE);
    hwloc_obj_type_t type = ncores > 0 ? HWLOC_OBJ_CORE : HWLOC_OBJ_PU;
    int max = hwloc_get_nbobjs_inside_cpuset_by_type(t->h, set, type);
    if (max <= 0)
        return TROUPE_ENOTFOUND;
    int *out = sys_malloc((size_t)max * sizeof *out);
    if (!out)
        return TROUPE_ENOMEM;
    hwloc_obj_t o = NULL;
    while ((o = hwloc_get_next_obj_inside_cpuset_by_type(t->h, set, type, o)) && *n < (size_t)max) {
        int pu = hwloc_bitmap_first(o->cpuset);
        if (pu >= 0)
            out[(*n)++] = pu;
    }
    if (*n == 0) {
        free(out);
        return TROUPE_ENOTFOUND;
    }
    *cpus = out;
    return 0;
}

int place_numa_cpus(const troupe_topology *t, unsigned node, int **cpus, size_t *n)
{
    *cpus = NULL, *n = 0;
    hwloc_obj_t o = hwloc_get_obj_by_type(t->h, HWLOC_OBJ_NUMANODE, node);
    if (!o || !o->cpuset || hwloc_bitmap_iszero(o->cpuset))
        return TROUPE_ENOTFOUND;
    return cpus_in(t, o->cpuset, cpus, n);
}

int place_default_cpus(const troupe_topology *t, int **cpus, size_t *n)
{
    return cpus_in(t, hwloc_topology_get_topology_cpuset(t->h), cpus, n);
}

int place_numa_of(const troupe_topology *t, int cpu)
{
    if (!pu_of(t, cpu))
        return -1;
    int nn = hwloc_get_nbobjs_by_type(t->h, HWLOC_OBJ_NUMANODE);
    for (int i = 0; i < nn; i++) {
        hwloc_obj_t o = hwloc_get_obj_by_type(t->h, HWLOC_OBJ_NUMANODE, (unsigned)i);
        if (o && o->cpuset && hwloc_bitmap_isset(o->cpuset, (unsigned)cpu))
            return i;
    }
    return 0; /* no NUMA object: the machine is one node */
}

/* The latency-like distance hwloc knows between NUMA nodes na and nb (an
 * XML file may carry a matrix; a synthetic one may too), else 0. */
static uint64_t node_distance(const troupe_topology *t, int na, int nb)
{
    struct hwloc_distances_s *d = NULL;
    unsigned nr = 1;
    if (hwloc_distances_get_by_type(t->h, HWLOC_OBJ_NUMANODE, &nr, &d, 0, 0) != 0 || nr == 0)
        return 0;
    hwloc_obj_t a = hwloc_get_obj_by_type(t->h, HWLOC_OBJ_NUMANODE, (unsigned)na);
    hwloc_obj_t b = hwloc_get_obj_by_type(t->h, HWLOC_OBJ_NUMANODE, (unsigned)nb);
    int ia = a ? hwloc_distances_obj_index(d, a) : -1;
    int ib = b ? hwloc_distances_obj_index(d, b) : -1;
    uint64_t v = ia >= 0 && ib >= 0 ? d->values[(unsigned)ia * d->nbobjs + (unsigned)ib] : 0;
    hwloc_distances_release(t->h, d);
    return v;
}

int place_cost(const troupe_topology *t, int a, int b)
{
    hwloc_obj_t pa = pu_of(t, a), pb = pu_of(t, b);
    if (!pa || !pb)
        return 2 * PLACE_OTHER_NODE; /* unknown: last */
    unsigned depth = hwloc_get_common_ancestor_obj(t->h, pa, pb)->depth;
    int near = 255 - (int)(depth < 255 ? depth : 255); /* deeper common ancestor: nearer */
    int na = place_numa_of(t, a), nb = place_numa_of(t, b);
    if (na == nb)
        return near;
    uint64_t d = node_distance(t, na, nb);
    return PLACE_OTHER_NODE + (int)(d < 2047 ? d : 2047) * 256 + near;
}

/* snprintf-like appending at *at. */
static void put(char *buf, size_t cap, size_t *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(*at < cap ? buf + *at : NULL, *at < cap ? cap - *at : 0, fmt, ap);
    va_end(ap);
    if (k > 0)
        *at += (size_t)k;
}

static void put_set(const troupe_topology *t, hwloc_const_cpuset_t set, char *buf, size_t cap,
                    size_t *at)
{
    char list[256];
    hwloc_bitmap_list_snprintf(list, sizeof list, set);
    put(buf, cap, at, "cpus %s (%d cores, %d PUs)", list,
        hwloc_get_nbobjs_inside_cpuset_by_type(t->h, set, HWLOC_OBJ_CORE),
        hwloc_get_nbobjs_inside_cpuset_by_type(t->h, set, HWLOC_OBJ_PU));
}

size_t place_describe(const troupe_topology *t, char *buf, size_t cap)
{
    size_t at = 0;
    hwloc_topology_t h = t->h;
    int np = hwloc_get_nbobjs_by_type(h, HWLOC_OBJ_PACKAGE);
    int nn = hwloc_get_nbobjs_by_type(h, HWLOC_OBJ_NUMANODE);
    put(buf, cap, &at, "machine: %s, %d packages, %d NUMA nodes, %d cores, %d PUs\n",
        t->simulated ? "simulated" : "this machine", np, nn,
        hwloc_get_nbobjs_by_type(h, HWLOC_OBJ_CORE), hwloc_get_nbobjs_by_type(h, HWLOC_OBJ_PU));
    for (int i = 0; i < np; i++) {
        hwloc_obj_t p = hwloc_get_obj_by_type(h, HWLOC_OBJ_PACKAGE, (unsigned)i);
        put(buf, cap, &at, "package %d: ", i);
        put_set(t, p->cpuset, buf, cap, &at);
        put(buf, cap, &at, "\n");
    }
    for (int i = 0; i < nn; i++) {
        hwloc_obj_t n = hwloc_get_obj_by_type(h, HWLOC_OBJ_NUMANODE, (unsigned)i);
        hwloc_obj_t p = hwloc_get_ancestor_obj_by_type(h, HWLOC_OBJ_PACKAGE, n);
        put(buf, cap, &at, "numa %d: package %d, ", i, p ? (int)p->logical_index : -1);
        put_set(t, n->cpuset, buf, cap, &at);
        put(buf, cap, &at, "\n");
    }
    if (cap > 0 && at >= cap)
        buf[cap - 1] = '\0';
    return at;
}
