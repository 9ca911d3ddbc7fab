/* core/topo_affinity.c — the topology without hwloc (-Dhwloc=disabled;
 * core/topo.h): the CPUs of the process's affinity mask at first use,
 * worker i on the i-th of them (wrapping), no notion of nearness (steal
 * order round-robin), pinning with pthread_setaffinity_np. Counts logical
 * CPUs where hwloc counts cores: on a machine with hyperthreads the default
 * is twice the workers. */
#include <sched.h>
#include <unistd.h>

#include "core/topo.h"

static cpu_set_t allowed; /* written once under topo_once, read-only after */
static int nallowed;
static pthread_once_t topo_once = PTHREAD_ONCE_INIT;

static void topo_load(void)
{
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0)
        nallowed = CPU_COUNT(&allowed);
    else
        CPU_ZERO(&allowed); /* unknown: no default CPUs, no pinning */
}

static int loaded(void)
{
    pthread_once(&topo_once, topo_load);
    return nallowed;
}

uint32_t topo_cores(void)
{
    if (loaded() > 0)
        return (uint32_t)nallowed;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (uint32_t)n : 1;
}

int topo_cpu_default(uint32_t i)
{
    if (loaded() <= 0)
        return -1;
    uint32_t k = i % (uint32_t)nallowed;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &allowed) && k-- == 0)
            return cpu;
    return -1;
}

int topo_cpu_known(int cpu)
{
    if (loaded() <= 0)
        return 1;
    return cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &allowed);
}

int topo_nearness(int a, int b)
{
    (void)a, (void)b;
    return 0;
}

void topo_bind_self(const worker *w)
{
    if (loaded() <= 0 || w->cpu < 0 || w->cpu >= CPU_SETSIZE || !w->pool->pin)
        return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(w->cpu, &one);
    (void)pthread_setaffinity_np(pthread_self(), sizeof one, &one);
}
