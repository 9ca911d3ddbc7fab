/* troupe/system.h — the actor system: workers, configuration, lifetime.
 *
 * A troupe_system owns one scheduler thread per worker (pinned with hwloc),
 * a timer thread, and every actor spawned in it.
 *
 * Thread safety: create/destroy must not race with any other call on the
 * same system. All other calls may be made from any thread, including from
 * handlers running on the workers.
 */
#ifndef TROUPE_SYSTEM_H
#define TROUPE_SYSTEM_H

#include <stddef.h>
#include <stdint.h>

#include "troupe/clock.h"
#include "troupe/export.h"
#include "troupe/failure.h"
#include "troupe/mailbox.h"
#include "troupe/pool.h"
#include "troupe/supervisor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct troupe_system troupe_system;

#define TROUPE_MAX_WORKERS 256
#define TROUPE_MAX_BATCH 65536

typedef struct troupe_config {
    /* Worker threads; 0 = one per core as hwloc reports (in a library
     * built with -Dhwloc=disabled: one per CPU of the process's affinity
     * mask). 1..256. */
    uint32_t workers;
    /* Bind each worker to one CPU, with hwloc or else
     * pthread_setaffinity_np (default on). */
    int pin;
    /* Explicit CPU (OS index) per worker; NULL = spread over cores.
     * Borrowed: read during troupe_system_create only. */
    const int *cpus;
    size_t ncpus;
    /* Default mailbox capacity (1000), 1..TROUPE_MAILBOX_MAX_CAPACITY. */
    uint32_t mailbox_capacity;
    /* Default overflow policy (BLOCK: loses nothing). */
    troupe_overflow overflow;
    /* Messages an actor handles per scheduling (100), 1..TROUPE_MAX_BATCH. */
    uint32_t batch;
    /* How long a plain thread blocks on a full BLOCK mailbox (5 s);
     * UINT64_MAX: for ever. */
    uint64_t block_timeout_ns;
    /* Spinning before an idle worker parks, in ns (50 µs). */
    uint64_t spin_ns;
    /* Clock for timers and timeouts; NULL = monotonic. Borrowed: must
     * outlive the system. */
    troupe_clock *clock;
    /* Called on a worker for every actor failure (see failure.h); NULL =
     * none. Until supervision, a failed actor then stops. */
    troupe_failure_hook on_failure;
    void *on_failure_ud;
    /* Use the jemalloc arena for actors and messages when built with
     * jemalloc (default 1); 0 = the libc allocator (for comparison). */
    int use_arena;
    /* --- supervision (troupe/supervisor.h) --- */
    /* Children whose policy kind is DEFAULT use this one (defaults:
     * troupe_restart_policy_defaults). */
    troupe_restart_policy restart;
    /* A child up this long after a restart counts as a stable restart and
     * has its backoff reset (10 s). > 0. */
    int64_t stable_ns;
    /* The root supervisor's intensity: restarts in period (10 in 60 s). */
    uint32_t root_intensity;
    int64_t root_period_ns;
    /* The root gave up; NULL = orderly shutdown of the whole system (sends
     * then fail with TROUPE_ESHUTDOWN; troupe_system_destroy still frees). */
    troupe_escalation_hook on_escalation;
    void *on_escalation_ud;
    /* How long troupe_system_destroy waits for an orderly shutdown (the
     * tree, then the rest) before it ends what is left by force (30 s). */
    int64_t shutdown_timeout_ns;
    /* Progress of troupe_system_shutdown's tree shutdown; NULL = none. */
    troupe_shutdown_cb on_shutdown_progress;
    void *on_shutdown_progress_ud;
    /* --- health (troupe/observe.h) --- */
    /* Ping interval of supervised actors (1 s); 0 = no health checks. */
    int64_t health_interval_ns;
    /* Consecutive pings unanswered within their interval that make an
     * actor unhealthy (3), >= 1. */
    uint32_t health_misses;
    /* A handler running this long without returning marks its worker
     * stalled (5 s); 0 = no watchdog. */
    int64_t stall_ns;
    /* --- persistence (troupe/persist.h) --- */
    /* Where persistent actors write; NULL = none (spawning a persistent
     * behaviour fails with TROUPE_ESTATE). Borrowed: must outlive the
     * system. */
    struct troupe_journal *journal;
    /* --- worker pools (troupe/pool.h, docs/POOLS.md) --- */
    /* npools pools; NULL/0 = the environment's deployment when it names
     * one (TROUPE_DEPLOY or TROUPE_DEPLOY_FILE, docs/DEPLOY.md; see
     * no_env_deploy), else one pool, "default", of workers, cpus and pin
     * above. With pools, the one named "default" (or else the first) is
     * the default pool, and workers/cpus above are not used. Borrowed:
     * read during troupe_system_create only. At most TROUPE_MAX_POOLS. */
    const struct troupe_pool_config *pools;
    size_t npools;
    /* Nonzero: troupe_system_create ignores TROUPE_DEPLOY and
     * TROUPE_DEPLOY_FILE (a program that places its pools itself, or a
     * test that must not depend on its environment). 0 (the default):
     * without pools above, the environment's deployment is read. */
    int no_env_deploy;
    uint8_t reserved[44];
} troupe_config;

/* Fill *cfg with the defaults above. */
TROUPE_API void troupe_config_defaults(troupe_config *cfg);

/* Create and start a system. cfg NULL = defaults. On success *out is owned
 * by the caller and released with troupe_system_destroy(). Without pools
 * in cfg (and no_env_deploy 0), the environment's deployment
 * (troupe_deploy_from_env, troupe/deploy.h) gives the pools; the system
 * keeps it until it is destroyed. Errors:
 * TROUPE_EINVAL (a zero or absurd worker count, capacity or batch, an
 * unknown policy, a CPU the machine lacks; a pool with a bad or duplicate
 * name, an empty CPU set or a CPU the machine lacks), TROUPE_ENOMEM, TROUPE_ESYS,
 * TROUPE_EBUSY when 1023 systems are alive already (each has its own ref
 * tag: types.h); a bad deployment in the environment: the code of
 * troupe_deploy_from_env (TROUPE_EINVAL, TROUPE_EEXIST, TROUPE_ENOTFOUND,
 * TROUPE_EIO), its line-numbered text on stderr and from
 * troupe_deploy_last_error. */
TROUPE_API int troupe_system_create(troupe_system **out, const troupe_config *cfg);

/* Stop accepting messages (sends return TROUPE_ESHUTDOWN), send every actor
 * its stop, and wait up to timeout_ns for them to stop. Remaining queued
 * messages are destroyed and counted. Idempotent. TROUPE_ETIMEDOUT if some
 * actor was still running at the timeout (it is stopped at destroy). Must
 * not be called from a handler (TROUPE_ESTATE), nor on a test kit's
 * system (TROUPE_ESTATE: troupe_testkit_destroy). UINT64_MAX (any timeout
 * whose deadline does not fit) waits for ever. */
TROUPE_API int troupe_system_shutdown(troupe_system *sys, uint64_t timeout_ns);

/* Shut down (if not yet), join the threads and free every actor, message
 * and timer. NULL is accepted. Must not be called from a handler. A test
 * kit's system (troupe/testkit.h) is ignored: troupe_testkit_destroy. */
TROUPE_API void troupe_system_destroy(troupe_system *sys);

/* Number of worker threads. */
TROUPE_API uint32_t troupe_system_workers(const troupe_system *sys);

/* System-wide counters. */
typedef struct troupe_system_stats {
    /* Actors not yet released: an ended actor counts until its end is
     * complete (state freed, DOWN sent, totals folded), which is just after
     * troupe_alive() turns 0 for it. */
    uint64_t actors_live;
    uint64_t actors_spawned;
    uint64_t actors_failed;
    uint64_t messages_destroyed; /* dropped at stop or destroy, undelivered */
    uint64_t late_replies;       /* replies after their ask timed out */
    uint64_t dead_letters;       /* handled by the dead-letter actor */
    uint64_t steals;
    uint64_t parks;
    /* Workers that found themselves starved of their CPU (another process
     * running there) or no longer so, in all; and how many are starved now
     * (they spin less and run unpinned: docs/PERFORMANCE.md, issue 18). */
    uint64_t starved_switches;
    uint32_t workers_starved;
} troupe_system_stats;

/* Copy the counters above into *out. Errors: TROUPE_EINVAL (NULL sys or
 * out). */
TROUPE_API int troupe_system_stats_get(const troupe_system *sys, troupe_system_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_SYSTEM_H */
