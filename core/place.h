/* core/place.h — placement of a pool's workers on a topology: the CPU of
 * each worker and each worker's steal order, on this machine or on a
 * simulated one (troupe_topology, include/troupe/deploy.h).
 *
 * Unlike core/topo.h (the one process-wide topology the scheduler binds
 * with), a troupe_topology is a value: opened, asked, destroyed. Nothing
 * here binds a thread, so planning on a simulated machine is safe; the
 * scheduler binds only on this machine's topology (troupe_topology_simulated
 * says which).
 *
 * Two sources, chosen at build time (core/meson.build):
 *   place_hwloc.c  hwloc: the machine, a synthetic description, an XML file;
 *   place_none.c   no hwloc: the process's affinity mask as one NUMA node.
 * place.c holds what does not depend on the source: the plan of a pool,
 * steal orders, CPU lists as text. */
#ifndef TROUPE_CORE_PLACE_H
#define TROUPE_CORE_PLACE_H

#include <stddef.h>
#include <stdint.h>

#include "troupe/deploy.h"
#include "troupe/error.h"

/* The link names (kept here rather than in base/namespace.h while pools
 * and deployments are built on two branches; see that file's rule). */
#define place_has_cpu troupei_place_has_cpu
#define place_numa_count troupei_place_numa_count
#define place_numa_cpus troupei_place_numa_cpus
#define place_numa_of troupei_place_numa_of
#define place_cost troupei_place_cost
#define place_default_cpus troupei_place_default_cpus
#define place_describe troupei_place_describe
#define place_pool troupei_place_pool
#define place_steal_order troupei_place_steal_order
#define place_cpus_text troupei_place_cpus_text

/* ---- the source's answers (place_hwloc.c or place_none.c) ---------------------- */

/* 1 when t has a PU with OS index cpu, else 0. */
int place_has_cpu(const troupe_topology *t, int cpu);
/* NUMA nodes of t (>= 1 once opened). */
int place_numa_count(const troupe_topology *t);
/* The CPUs of NUMA node `node` (logical index), one per core (its first
 * PU), ascending, in a sys_malloc'ed array (*cpus, *n). TROUPE_ENOTFOUND:
 * no such node, or it has no CPU; TROUPE_ENOMEM. */
int place_numa_cpus(const troupe_topology *t, unsigned node, int **cpus, size_t *n);
/* The NUMA node (logical index) of cpu; -1 when t lacks it. */
int place_numa_of(const troupe_topology *t, int cpu);
/* How far a worker on cpu a is from one on cpu b; smaller is nearer.
 * Below PLACE_OTHER_NODE on one NUMA node (then by their deepest common
 * cache or core), above it on two (then by the nodes' distance when hwloc
 * knows it, then the common ancestor). */
#define PLACE_OTHER_NODE (1 << 20)
int place_cost(const troupe_topology *t, int a, int b);
/* The machine's default CPUs: one per core (its first PU), ascending.
 * As place_numa_cpus, over the whole machine. */
int place_default_cpus(const troupe_topology *t, int **cpus, size_t *n);
/* The topology as text (packages, NUMA nodes with their CPUs, cores,
 * PUs), snprintf-like: the length it needs; buf may be NULL with cap 0. */
size_t place_describe(const troupe_topology *t, char *buf, size_t cap);

/* ---- the plan (place.c) --------------------------------------------------------- */

/* The CPU of each of the nworkers workers of a pool whose set is cpus
 * (ncpus > 0) — worker i on cpus[i % ncpus] — or, cpus NULL, the
 * machine's default CPUs. TROUPE_EINVAL: nworkers 0, a NULL array;
 * TROUPE_ENOTFOUND: a CPU t lacks; TROUPE_ENOMEM. */
int place_pool(const troupe_topology *t, const int *cpus, size_t ncpus, uint32_t nworkers,
               int *cpu_out);
/* Worker w's steal order among the n workers on cpu[0..n-1]: the other
 * n - 1 indexes, nearest first by place_cost (the same NUMA node first,
 * then the others by distance), ties in round-robin order from w + 1.
 * TROUPE_EINVAL: w >= n, NULL arrays; TROUPE_ENOMEM. */
int place_steal_order(const troupe_topology *t, const int *cpu, uint32_t n, uint32_t w,
                      uint32_t *order);
/* cpus (sorted or not) as the format writes them, "0-3,8,10-11",
 * snprintf-like. */
size_t place_cpus_text(const int *cpus, size_t n, char *buf, size_t cap);

#endif
