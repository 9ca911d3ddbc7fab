/* core/topo.h — hwloc: how many workers, which CPU each, steal order. */
#ifndef TROUPE_CORE_TOPO_H
#define TROUPE_CORE_TOPO_H

#include "core/system.h"

/* Cores hwloc reports (>= 1). */
uint32_t topo_cores(void);
/* Validate cfg's CPU list and fill w->cpu and w->victims for each worker. */
int topo_plan(troupe_system *sys);
/* Bind the calling thread to w->cpu (and its NUMA node's memory when the
 * machine has more than one). Failure is not fatal: the worker runs
 * unpinned. */
void topo_bind_self(const worker *w);

#endif
