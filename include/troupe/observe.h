/* troupe/observe.h — seeing a running system: actors, workers, health,
 * and metrics in the Prometheus text format.
 *
 * Nothing here is on a hot path. Counters are kept where they are written
 * (an actor's mailbox, a worker) and summed when read, so reading them
 * costs the reader, never the actors. Every call may be made from any
 * thread, including handlers; none blocks on an actor.
 *
 * Health (see troupe_config.health_*): a system actor pings every
 * supervised actor on its system lane at an interval (the child spec's
 * health_interval_ns, or the system's). The runtime answers the ping on the
 * actor's own worker between two messages — after the behaviour's optional
 * health callback, whose verdict the pong carries. An actor is unhealthy
 * after health_misses consecutive pings unanswered within the interval, or
 * when its callback says so; its supervisor is then told (a failure of
 * kind TROUPE_EXIT_HEALTH, restarted per the child's policy). It is healthy
 * again on its next good pong (or as the new incarnation).
 *
 * Stalls: a handler stuck in a loop cannot be preempted in C. A watchdog on
 * the timer thread notices a worker whose current run has not moved for
 * stall_ns: the worker is reported stalled (troupe_worker_info), the other
 * workers steal its queue, the actors waiting behind it are counted
 * (stranded), and the stuck actor's supervisor is told; when
 * the handler returns at last, the actor ends with TROUPE_EXIT_HEALTH.
 */
#ifndef TROUPE_OBSERVE_H
#define TROUPE_OBSERVE_H

#include <stddef.h>
#include <stdint.h>

#include "troupe/export.h"
#include "troupe/mailbox.h"
#include "troupe/registry.h"
#include "troupe/supervisor.h"
#include "troupe/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum troupe_health {
    TROUPE_HEALTH_UNKNOWN = 0,   /* not checked (unsupervised, or no pong yet) */
    TROUPE_HEALTH_HEALTHY = 1,
    TROUPE_HEALTH_UNHEALTHY = 2, /* missed pings, or its callback said so */
} troupe_health;

/* "unknown", "healthy", "unhealthy"; static, never NULL. */
TROUPE_API const char *troupe_health_name(troupe_health h);

typedef enum troupe_actor_state {
    TROUPE_ACTOR_IDLE = 0,       /* nothing queued, not scheduled */
    TROUPE_ACTOR_ACTIVE = 1,     /* scheduled or running */
    TROUPE_ACTOR_RESTARTING = 2, /* supervised, ended, waiting for its restart */
} troupe_actor_state;

/* "idle", "active", "restarting"; static, never NULL. */
TROUPE_API const char *troupe_actor_state_name(troupe_actor_state s);

/* Health-check figures of one actor (zero when never checked). */
typedef struct troupe_health_info {
    troupe_health status;
    uint64_t interval_ns;  /* its ping interval; 0 = not checked */
    uint64_t last_rtt_ns;  /* ping -> pong, on the system's clock */
    uint64_t avg_rtt_ns;   /* moving average (1/8 weight to the newest) */
    uint64_t p99_rtt_ns;   /* over the last 64 pongs */
    uint64_t pings, pongs;
    uint32_t missed;       /* consecutive pings unanswered now */
    uint64_t failures;     /* times it was reported unhealthy */
} troupe_health_info;

/* One actor, as a snapshot (each field exact, not all read at one instant). */
typedef struct troupe_actor_info {
    troupe_ref ref;
    char type[64];                     /* its behaviour's name ("" if none) */
    char name[TROUPE_NAME_MAX + 1];    /* registered name, "" if none */
    troupe_actor_state state;
    troupe_mailbox_stats mailbox;      /* this incarnation's counters */
    int supervised;                    /* 1: parent and restarts are set */
    troupe_sup parent;
    uint64_t restarts;
    troupe_health_info health;
} troupe_actor_info;

/* TROUPE_ENOACTOR for a stopped or stale ref; TROUPE_EINVAL for NULLs. */
TROUPE_API int troupe_actor_info_get(troupe_system *sys, troupe_ref ref, troupe_actor_info *out);

/* Live user actors (not the runtime's own), in table order, whose behaviour
 * name equals `type` (NULL = any): up to cap refs written to out (may be
 * NULL when cap is 0), *total set to how many match. Errors:
 * TROUPE_EINVAL (NULL sys or total, NULL out with cap > 0). */
TROUPE_API int troupe_actor_list(troupe_system *sys, const char *type, troupe_ref *out,
                                 size_t cap, size_t *total);

/* One worker thread. */
typedef struct troupe_worker_info {
    uint32_t index;
    int cpu;             /* OS CPU it is pinned to, -1 if not pinned */
    uint64_t runs;       /* actor runs */
    uint64_t steals;
    uint64_t parks;
    uint32_t runq_length; /* runnable actors queued on it now */
    int stalled;          /* 1: its current run has not moved for stall_ns */
    troupe_ref stalled_actor; /* the actor it is stuck in, when stalled */
    uint64_t stalls;      /* times it was reported stalled */
    /* While stalled: runnable actors waiting behind the stuck handler when
     * the watchdog last looked — its run queue (other workers steal it) and
     * the actor in its LIFO slot, woken by that handler, which waits for it
     * to return. 0 when not stalled. */
    uint32_t stranded;
} troupe_worker_info;

/* TROUPE_EINVAL when index >= troupe_system_workers(sys). */
TROUPE_API int troupe_worker_info_get(troupe_system *sys, uint32_t index, troupe_worker_info *out);

/* An operator's restart of a supervised actor: troupe_actor_restart, in
 * troupe/supervisor.h (included above). */

/* Metrics. The writer gets the text in pieces; a negative return from it
 * stops the walk and is returned. */
typedef int (*troupe_write_fn)(void *ud, const char *data, size_t len);

typedef struct troupe_metrics_opts {
    /* Also export per-named-actor series (label name="..."): one set per
     * registered name. Off by default to keep cardinality bounded. */
    int per_name;
    uint8_t reserved[28];
} troupe_metrics_opts;

/* Fill *o with the defaults (no per-name series). NULL is ignored. */
TROUPE_API void troupe_metrics_opts_defaults(troupe_metrics_opts *o);

/* Write every metric of the system in the Prometheus text exposition format
 * (version 0.0.4), names and labels as listed in docs/METRICS.md. opts NULL
 * = defaults. Returns 0 or the writer's negative code; TROUPE_EINVAL (NULL
 * sys or write), TROUPE_ENOMEM. */
TROUPE_API int troupe_metrics_write(troupe_system *sys, const troupe_metrics_opts *opts,
                                    troupe_write_fn write, void *ud);

/* 1 when the library was built with metrics (meson option metrics=true):
 * without them, the handling-latency histogram and the per-type totals of
 * ended actors are not kept, and troupe_metrics_write writes only what the
 * runtime counts anyway. 0 otherwise; never fails. */
TROUPE_API int troupe_metrics_enabled(void);

/* The supervisor thread: every restart, backoff and escalation runs on
 * it, so a thread that stops making progress (a bug, or an on_escalation
 * hook that blocks) stops them all. It bumps a heartbeat at each pass; the
 * stall watchdog reports it stalled when it owes work (a pass under way,
 * or woken for one) and has finished no pass for stall_ns. An idle thread
 * owes nothing and is never stalled. Nothing can preempt it: see
 * docs/OPERATIONS.md for what to do. */
typedef struct troupe_supervisor_health {
    int stalled;         /* 1: reported stalled (past stall_ns); 0 again once it moves */
    int busy;            /* 1: it owes work now (a pass under way, or woken) */
    uint64_t stalls;     /* times it was reported stalled */
    uint64_t heartbeats; /* passes it finished */
    unsigned char reserved[32];
} troupe_supervisor_health;

/* Copy the supervisor thread's health into *out (stalled stays 0 with
 * stall_ns 0: no watchdog). Errors: TROUPE_EINVAL (NULL sys or out). */
TROUPE_API int troupe_supervisor_health_get(troupe_system *sys, troupe_supervisor_health *out);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_OBSERVE_H */
