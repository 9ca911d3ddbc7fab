/* troupe/pool.h — worker pools: named sets of workers, each with its own CPU
 * set, run queues and injector, and the blocking pool (docs/POOLS.md).
 *
 * A system has one pool per troupe_pool_config given in troupe_config.pools
 * (none given: one pool, "default", made from the config's workers, cpus
 * and pin as before). An actor runs only on the workers of its pool (spawn
 * options: troupe_spawn_opts.pool); idle workers steal only from their own
 * pool. A blocking pool's handlers may block (file or network I/O, a
 * synchronous library call): its workers are not reported stalled, it
 * starts another worker (up to max_workers) when all of its workers are in
 * a handler and work waits, and a handler blocked there holds none of the
 * other pools' workers.
 *
 * Thread safety: the queries may be made from any thread, handlers
 * included, while the system lives.
 */
#ifndef TROUPE_POOL_H
#define TROUPE_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "troupe/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct troupe_system troupe_system;

#define TROUPE_MAX_POOLS 16
#define TROUPE_POOL_DEFAULT "default"

/* also in troupe/deploy.h: defined once, whichever header comes first */
#ifndef TROUPE_POOL_CONFIG_DEFINED
#define TROUPE_POOL_CONFIG_DEFINED
#define TROUPE_POOL_NAME_MAX 31
typedef struct troupe_pool_config {
    /* [a-z0-9_.-], 1..TROUPE_POOL_NAME_MAX bytes, unique in the system;
     * "default" names the default pool (spawns without a pool go there).
     * Copied at create. */
    const char *name;
    /* Workers; 0 = one per CPU of cpus (one per core when cpus is NULL),
     * or 1 for a blocking pool. */
    uint32_t workers;
    /* OS CPU indexes this pool's workers run on (worker i on cpus[i %
     * ncpus]); NULL = the system's default placement. Borrowed: read
     * during troupe_system_create only. */
    const int *cpus;
    size_t ncpus;
    /* Bind each worker to its one CPU of the set. */
    int pin;
    uint64_t spin_ns; /* idle spinning before parking; 0 = the system's */
    uint32_t batch;   /* messages per run for this pool's actors; 0 = the system's */
    /* A blocking pool: handlers may block; never reported stalled; grows
     * to max_workers. */
    int blocking;
    uint32_t max_workers; /* a blocking pool's bound; 0 = 4 x workers */
    uint8_t reserved[32];
} troupe_pool_config;
#endif

/* Fill *p with the defaults: no name, workers 0, all CPUs, pin on, the
 * system's spin and batch, not blocking. NULL is ignored. */
TROUPE_API void troupe_pool_config_defaults(troupe_pool_config *p);

typedef struct troupe_pool_info {
    char name[TROUPE_POOL_NAME_MAX + 1];
    uint32_t workers;     /* running now (a blocking pool: grows to max_workers) */
    uint32_t max_workers; /* its bound (workers for a pool that does not grow) */
    uint32_t first_worker; /* its workers' indexes: first_worker .. + max_workers - 1 */
    int blocking;
    int cpus[64];          /* the CPU of each worker (first 64); -1 = unknown */
    uint32_t ncpus;
    uint32_t runq_length;  /* runnable actors queued (run queues and injector) */
    uint32_t blocked;      /* workers inside a handler now (a sample) */
    uint32_t configured;   /* workers started with the system (the config's workers) */
    uint32_t parked;       /* workers asleep, waiting for work (a sample) */
    uint32_t spinning;     /* workers searching for work before they park (a sample) */
    uint8_t reserved[20];
} troupe_pool_info;

/* The pool named `name` (NULL = the default pool). Errors: TROUPE_EINVAL
 * (NULL sys or out), TROUPE_ENOTFOUND (no pool of that name). */
TROUPE_API int troupe_pool_info_get(troupe_system *sys, const char *name, troupe_pool_info *out);

/* The names of the system's pools, the default first: up to max of them
 * into names (pointers valid while the system lives). Returns how many
 * pools there are (may exceed max), or TROUPE_EINVAL (NULL sys, or NULL
 * names with max > 0). */
TROUPE_API int troupe_system_pools(troupe_system *sys, const char **names, size_t max);

/* The pool of the worker running the calling handler, or NULL on a plain
 * thread (a test's record of where an actor ran). */
TROUPE_API const char *troupe_current_pool(void);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_POOL_H */
