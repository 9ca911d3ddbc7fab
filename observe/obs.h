/* observe/obs.h — the observability layer's internal shape: totals of
 * ended actors by type, the health monitor and the stall watchdog.
 *
 * Where each figure lives, and why there is no shared atomic on the
 * message path:
 *  - per-actor counters are the mailbox's own (core/, mailbox/);
 *  - per-worker counters (runs, steals, parks, the sampled latency
 *    histogram) are written by their worker only;
 *  - when an actor ends, its counters are folded into its worker's shard of
 *    the per-type totals (a mutex nobody else takes but a reader), so a
 *    type's totals outlive its actors;
 *  - readers (troupe_metrics_write, the HTTP API) walk and sum.
 */
#ifndef TROUPE_OBSERVE_OBS_H
#define TROUPE_OBSERVE_OBS_H

#include <pthread.h>

#include "core/system.h"
#include "troupe/observe.h"

#include "troupe_config.h" /* TROUPE_METRICS: meson option metrics */

enum { TC_SENT, TC_HANDLED, TC_DROPPED, TC_REJECTED, TC_REDIRECTED, TC_N };

/* Totals of one behaviour's ended actors (or a live one's, when summing). */
typedef struct type_row {
    const troupe_behaviour *beh;
    uint64_t c[TC_N];
} type_row;

/* A counter set as last exported, by type name (a copy). */
typedef struct last_row {
    char *name;
    uint64_t c[TC_N];
} last_row;

/* A shard of the totals: one per worker, one for the other threads. */
typedef struct obs_shard {
    pthread_mutex_t lock;
    type_row *rows; /* open addressing by behaviour pointer */
    uint32_t cap, n;
} obs_shard;

/* One actor's health, as the monitor keeps it (under obs->hlock). */
typedef struct health_rec {
    uint64_t ref;          /* the actor (ref id) */
    uint64_t interval_ns;
    uint64_t next_ping;    /* clock time of its next ping */
    uint64_t sent_at;      /* the outstanding ping's time; 0 = none */
    uint32_t seq;          /* the outstanding ping's number */
    uint64_t restarts;     /* its incarnation, as its supervisor counts */
    troupe_health_info info;
    uint64_t rtt[64];      /* the last 64 round trips (ring) */
    uint32_t nrtt;
    bool reported;         /* told its supervisor; until it restarts */
    bool seen;             /* still in the tree at the last sweep */
} health_rec;

/* A metrics writer a feature registered (observe/prom.h). */
struct pw;
typedef void (*obs_metrics_fn)(struct pw *p, troupe_system *sys, void *ud);
typedef struct obs_writer {
    const char *name;
    obs_metrics_fn fn;
    void *ud;
} obs_writer;

typedef struct obs {
    obs_shard *shards;
    uint32_t nshards;
    /* the last exported per-type totals, so that an actor ending while a
     * reader sums (counted twice or not at all) never makes a counter go
     * down: guarded by out_lock, which serialises writers of metrics */
    pthread_mutex_t out_lock;
    struct last_row *last;
    uint32_t nlast, caplast;
    /* the features' metrics writers, in registration order: out_lock */
    obs_writer *writers;
    uint32_t nwriters, capwriters;
    /* health */
    troupe_ref monitor;    /* the health monitor actor */
    pthread_mutex_t hlock;
    health_rec *recs;      /* sorted by ref */
    uint32_t nrecs, caprecs;
    uint32_t seq;
    uint64_t health_failures;
    /* stall watchdog (timer thread): per worker, what it saw last */
    uint64_t *wd_runs, *wd_running, *wd_since;
    _Atomic uint32_t *stalled;
    _Atomic uint64_t *stalls;
    /* runnable actors waiting behind a stalled worker, last sample */
    _Atomic uint32_t *stranded;
    troupe_timer wd_timer;
    bool wd_on;
    /* the supervisor thread (same watchdog): its heartbeat seen last and
     * since when, whether it is stalled now, how many times it was */
    uint64_t sv_beats, sv_since;
    _Atomic uint32_t sv_stalled;
    _Atomic uint64_t sv_stalls;
} obs;

/* observe/fold.c: create registers fold and the ping's server (core/hooks.h) */
int obs_create(troupe_system *sys);
void obs_destroy(troupe_system *sys);
/* An actor ends for good: add its counters to its type's totals. */
void obs_fold(troupe_system *sys, actor *a);
/* observe/introspect.c: core's `failed` hook — the failure into the event
 * log (supervisor/evlog.h) with the actor's registered or child name. */
#define obs_failed troupei_obs_failed
void obs_failed(troupe_system *sys, actor *a, const troupe_failure *f);
/* Read one actor's counters into row->c (relaxed loads). */
void obs_read_counters(const actor *a, uint64_t c[TC_N]);
/* Sum the shards into rows (grouped by behaviour pointer). */
int obs_sum_shards(troupe_system *sys, type_row **rows, uint32_t *n, uint32_t *cap);
int rows_add(type_row **rows, uint32_t *n, uint32_t *cap, const troupe_behaviour *beh,
             const uint64_t c[TC_N]);

/* observe/introspect.c */
/* The behaviour of the live actor a, or NULL (a racing reader's view). */
const troupe_behaviour *obs_live_beh(troupe_system *sys, actor *a, uint64_t *ref);
bool obs_runtime_beh(const troupe_behaviour *beh);

/* observe/health.c */
int health_start(troupe_system *sys);
bool health_get(troupe_system *sys, troupe_ref ref, troupe_health_info *out);
void health_totals(troupe_system *sys, uint64_t *unhealthy, uint64_t *failures);
/* The runtime's answer to a ping, on the pinged actor's worker. */
void health_answer(troupe_system *sys, actor *a, const tmsg *ping);
/* health_answer as the system-lane server of SYSMSG_PING (core/hooks.h). */
int health_serve(worker *w, actor *a, troupe_failure_kind *kind, const char **reason);

#endif
