/* core/topo.h — where workers run: how many, which CPU each, steal order.
 *
 * topo.c plans (topo_plan) from what a topology source answers, one of two
 * chosen at build time (-Dhwloc, core/meson.build):
 *   topo_hwloc.c     hwloc: workers = cores, one per core's first PU, steal
 *                    victims nearest first (deepest common cache or node),
 *                    pinning with hwloc_set_cpubind (and the NUMA node's
 *                    memory when there are several nodes);
 *   topo_affinity.c  no hwloc: workers = the CPUs of the process's
 *                    affinity mask (logical CPUs: hyperthreads count),
 *                    round-robin steal order, pinning with
 *                    pthread_setaffinity_np.
 * Both are loaded once per process, on first use. */
#ifndef TROUPE_CORE_TOPO_H
#define TROUPE_CORE_TOPO_H

#include "core/system.h"

/* Workers to run by default (>= 1). */
uint32_t topo_cores(void);
/* Validate cfg's CPU list and fill w->cpu and w->victims for each worker. */
int topo_plan(troupe_system *sys);
/* Bind the calling thread to w->cpu (and its NUMA node's memory when the
 * machine has more than one). Failure is not fatal: the worker runs
 * unpinned. */
void topo_bind_self(const worker *w);

/* The topology source's answers, for topo_plan. */
/* The CPU (OS index) of worker i by default, wrapping; -1 = none known. */
int topo_cpu_default(uint32_t i);
/* 0 when cpu is not a CPU this process may run on (a bad cfg.cpus entry);
 * 1 when it is, or when the topology could not be read. */
int topo_cpu_known(int cpu);
/* How near two CPUs are (higher: nearer; 0 when unknown). */
int topo_nearness(int a, int b);

#endif
