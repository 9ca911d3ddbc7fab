/* cluster/own.h — cluster actors: kinds, ownership rows, the local table of
 * owned actors and the failover thread (docs/CLUSTER.md, "Cluster actors",
 * "Ownership", "Failover", "Cluster registry").
 *
 * owner.c     the SQL of troupe_owners and troupe_names (one connection,
 *             every query against a deadline: pgq_run)
 * actors.c    the public calls: kinds, spawn-or-resolve, where, migrate
 * failover.c  the node's ownership thread: checks its own actors, claims
 *             the orphans rendezvous hashing gives it, parks, fences
 * names.c     the cluster registry
 */
#ifndef TROUPE_CLUSTER_OWN_H
#define TROUPE_CLUSTER_OWN_H

#include "base/namespace.h"
/* Added after base/namespace.h's list (as cluster/nodes.h does): the same
 * troupei_ rule, checked by tests/symbols.sh. */
#define own_stats_read troupei_own_stats_read
#define owner_metrics_attach troupei_owner_metrics_attach
#define owner_metrics_detach troupei_owner_metrics_detach

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "troupe/cluster.h"
#include "troupe/persist.h"
#include "troupe/supervisor.h"

#define OWN_KINDS_MAX 32
#define OWN_ID_MAX 63
/* "<cluster>/<kind>/<id>": the persistence id and the row's key */
#define OWN_PID_MAX (3 * 64)

typedef struct own_kind {
    char name[TROUPE_CLUSTER_NAME_MAX + 1];
    const troupe_behaviour *beh;
    uint32_t max_fails;
} own_kind;

/* An actor this node owns (or tries to start): its row's epoch. */
typedef struct own_actor {
    char pid[OWN_PID_MAX + 1];
    char id[OWN_ID_MAX + 1];
    const own_kind *kind;
    uint64_t epoch;
    troupe_ref ref;     /* NONE while not running */
    uint32_t fails;     /* starts failed in a row */
} own_actor;

/* A row of troupe_owners as read. */
typedef struct own_row {
    char pid[OWN_PID_MAX + 1];
    char kind[TROUPE_CLUSTER_NAME_MAX + 1];
    char id[OWN_ID_MAX + 1];
    char node[TROUPE_CLUSTER_NAME_MAX + 1];
    uint64_t epoch;
    int state; /* troupe_cluster_owner_state */
    bool live; /* active, and its owner's lease is valid */
    bool known; /* failover.c: in the local table when the pass began */
} own_row;

typedef struct own own;

/* troupe_cluster_owner_stats as the node counts them: atomic, so /metrics
 * (owner_metrics.c) reads them without o->mu, which a pass holds for its
 * PostgreSQL round trips. Every ++/-- on them is a seq_cst read-modify-
 * write of its own; no other data is published through them (a scrape may
 * see claims and failovers of one pass apart). */
typedef struct own_counters {
    _Atomic uint64_t claims, failovers, start_failures, parked, dropped, owned;
} own_counters;

struct own {
    troupe_system *sys;
    troupe_journal *journal;
    const char *cluster, *node; /* the handle's */
    char inc[24];               /* this node's incarnation while joined */
    uint32_t lease_ms, period_ms;
    char *conninfo;
    /* mu guards everything below; the ownership thread takes it for a
     * whole pass, API calls for theirs (every query has a deadline) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    PGconn *pg;
    own_kind kinds[OWN_KINDS_MAX];
    int nkinds;
    own_actor *actors;
    size_t n, cap;
    troupe_sup sup; /* the cluster actors' supervisor (under the root) */
    bool have_sup, joined, stop, running, fenced;
    pthread_t thread;
    own_counters st; /* not under mu: atomic */
    struct cdir *dir; /* the actors running here, for the reader (cluster/cref.h) */
    int (*is_fenced)(void *ud); /* the membership's view */
    /* the membership's incarnation while joined, 0 while fenced: a new
     * one is a rejoin (failover.c) */
    uint64_t (*live_inc)(void *ud);
    uint64_t incarnation; /* the one inc spells, under mu */
    void *ud;
};

/* owner.c: SQL. Every call with o->mu held; 0 or a TROUPE_E* code. */
int owner_schema(own *o);
/* claim pid at the seen epoch (0: a new row): *epoch the new one, or
 * TROUPE_EBUSY when another node won or the row is not claimable. */
int owner_claim(own *o, const char *pid, const char *kind, const char *id, uint64_t seen,
                uint64_t *epoch);
/* a row for pid, unowned, if there is none (the placed node claims it) */
int owner_place(own *o, const char *pid, const char *kind, const char *id);
int owner_release(own *o, const char *pid, uint64_t epoch, const char *to_node);
int owner_park(own *o, const char *pid, uint64_t epoch, uint32_t fails);
int owner_unpark(own *o, const char *pid);
/* TROUPE_ENOTFOUND when there is no row */
int owner_get(own *o, const char *pid, own_row *out);
/* owner_get on a connection of the caller's own (cluster/cref.c's
 * resolver), without o: pgq_run's rules for *pc */
int owner_get_on(PGconn **pc, const char *conninfo, uint64_t deadline_ns, const char *pid,
                 own_row *out);
/* rows that are claimable (released, or their owner's lease expired) */
int owner_orphans(own *o, own_row *out, int cap);
/* rows this incarnation owns (active) */
int owner_mine(own *o, own_row *out, int cap);
/* live nodes of the cluster, names into out[cap][64] */
int owner_live_nodes(own *o, char (*out)[TROUPE_CLUSTER_NAME_MAX + 1], int cap);
/* the node rendezvous hashing picks for pid among n live nodes */
int owner_pick(char (*nodes)[TROUPE_CLUSTER_NAME_MAX + 1], int n, const char *pid);
uint64_t owner_deadline(const own *o);

/* names.c */
int names_drop_mine(own *o);

/* actors.c */
int own_create(troupe_cluster *c, troupe_system *sys, const char *cluster, const char *node,
               const char *conninfo, uint32_t lease_ms, uint32_t period_ms, own **out);
void own_destroy(own *o);
/* start the thread (joined: incarnation) / hand off and stop it */
int own_join(own *o, uint64_t incarnation, int (*is_fenced)(void *), uint64_t (*live_inc)(void *),
             void *ud);
void own_leave(own *o, bool hand_off);
own_kind *own_find_kind(own *o, const char *name);
own_actor *own_find(own *o, const char *pid);
/* claim at seen, then start the actor here; 0 or the claim's/start's code.
 * state: the row's state when read; a claim of an ACTIVE row (its owner's
 * lease expired) counts as a failover, whichever path made it */
int own_take(own *o, const own_kind *k, const char *pid, const char *id, uint64_t seen,
             int state);
/* an actor whose row names us at epoch: into the table, started */
int own_adopt(own *o, const own_kind *k, const char *pid, const char *id, uint64_t epoch);
/* stop the local actor, forget it (the row is not touched) */
void own_drop(own *o, own_actor *a);
/* start (again) a known actor; counts a failed start, parks past the limit */
int own_start(own *o, own_actor *a);
int own_pid(const own *o, const char *kind, const char *id, char *pid);

/* failover.c: the ownership thread */
int failover_start(own *o);
void failover_stop(own *o);
/* one pass now (the thread's loop; tests) */
void failover_pass(own *o);

/* owner_metrics.c: the counters and fenced writes on the system's
 * /metrics while joined (attach at join, detach at leave) */
void own_stats_read(const own *o, troupe_cluster_owner_stats *out);
int owner_metrics_attach(own *o);
void owner_metrics_detach(own *o);

/* cluster.c */
own *cluster_own(troupe_cluster *c);
/* Tests: a node frozen as a paused process is — its lease no longer
 * renewed, its ownership thread stopped — while its actors still run. */
void cluster_test_freeze(troupe_cluster *c);
/* Tests: only the lease stops being renewed; the ownership thread runs on
 * and sees the node fenced. */
void cluster_test_stop_renewing(troupe_cluster *c);

#endif /* TROUPE_CLUSTER_OWN_H */
