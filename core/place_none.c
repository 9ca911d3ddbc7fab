/* core/place_none.c — troupe_topology without hwloc (core/place.h;
 * -Dhwloc=disabled): this machine only, as the CPUs of the process's
 * affinity mask at open, one NUMA node, every CPU a core. A simulated
 * topology needs hwloc: TROUPE_ENOTSUP. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "core/place.h"

struct troupe_topology {
    cpu_set_t allowed;
    int n;
};

int troupe_topology_open(const char *synthetic, const char *xml_path, troupe_topology **out)
{
    if (!out || (synthetic && xml_path))
        return TROUPE_EINVAL;
    *out = NULL;
    if (synthetic || xml_path)
        return TROUPE_ENOTSUP;
    troupe_topology *t = sys_calloc(1, sizeof *t);
    if (!t)
        return TROUPE_ENOMEM;
    if (sched_getaffinity(0, sizeof t->allowed, &t->allowed) != 0) {
        free(t);
        return TROUPE_ESYS;
    }
    t->n = CPU_COUNT(&t->allowed);
    *out = t;
    return 0;
}

void troupe_topology_destroy(troupe_topology *t)
{
    free(t);
}

int troupe_topology_simulated(const troupe_topology *t)
{
    return t ? 0 : TROUPE_EINVAL;
}

int place_has_cpu(const troupe_topology *t, int cpu)
{
    return cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &t->allowed);
}

int place_numa_count(const troupe_topology *t)
{
    (void)t;
    return 1;
}

int place_default_cpus(const troupe_topology *t, int **cpus, size_t *n)
{
    *cpus = NULL, *n = 0;
    if (t->n <= 0)
        return TROUPE_ENOTFOUND;
    int *out = sys_malloc((size_t)t->n * sizeof *out);
    if (!out)
        return TROUPE_ENOMEM;
    for (int cpu = 0; cpu < CPU_SETSIZE && *n < (size_t)t->n; cpu++)
        if (CPU_ISSET(cpu, &t->allowed))
            out[(*n)++] = cpu;
    *cpus = out;
    return 0;
}

int place_numa_cpus(const troupe_topology *t, unsigned node, int **cpus, size_t *n)
{
    *cpus = NULL, *n = 0;
    return node == 0 ? place_default_cpus(t, cpus, n) : TROUPE_ENOTFOUND;
}

int place_numa_of(const troupe_topology *t, int cpu)
{
    return place_has_cpu(t, cpu) ? 0 : -1;
}

int place_cost(const troupe_topology *t, int a, int b)
{
    if (!place_has_cpu(t, a) || !place_has_cpu(t, b))
        return 2 * PLACE_OTHER_NODE;
    return a == b ? 0 : 1; /* no notion of nearness: round-robin order */
}

size_t place_describe(const troupe_topology *t, char *buf, size_t cap)
{
    int *cpus = NULL;
    size_t n = 0;
    char list[512] = "";
    if (place_default_cpus(t, &cpus, &n) == 0)
        place_cpus_text(cpus, n, list, sizeof list);
    free(cpus);
    int k = snprintf(buf, cap,
                     "machine: this machine (without hwloc: the affinity mask), 1 NUMA node, %d CPUs\n"
                     "numa 0: cpus %s\n",
                     t->n, list);
    return k > 0 ? (size_t)k : 0;
}
