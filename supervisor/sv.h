/* supervisor/sv.h — the supervision tree's internal shape.
 *
 * Ownership: the tree (every sv_node and sv_child) is guarded by sv->lock.
 * The supervisor thread takes it to apply what the queue brought; API
 * callers take it briefly to add, move or query. Workers never take it:
 * they only push exit records onto sv->queue (lock-free) and wake the
 * thread.
 *
 * An actor child's actor is "held" (not idle, on no run queue, its sends
 * queue without scheduling it) from the exit its worker reported until the
 * supervisor restarts it (AF_REINIT, run by a worker) or ends it for good
 * (actor_end on the supervisor thread). While held, the supervisor thread
 * owns the actor.
 */
#ifndef TROUPE_SUPERVISOR_SV_H
#define TROUPE_SUPERVISOR_SV_H

#include "core/ext.h"
#include "core/system.h"
#include "troupe/supervisor.h"

typedef struct sv_node sv_node;

enum { CH_RUNNING, CH_BACKOFF, CH_STOPPING, CH_STOPPED };

/* An exit a worker reports (embedded in its child: a child has at most one
 * exit in flight, because it is held until the supervisor answers). */
typedef struct sv_rec {
    struct sv_rec *next;
    struct sv_child *c;
    troupe_failure_kind kind;
    int code;
    uint64_t at_ns;
    char reason[TROUPE_REASON_MAX];
} sv_rec;

typedef struct sv_child {
    sv_node *parent;
    struct sv_child *prev, *next; /* siblings in start order */
    struct sv_child *tprev, *tnext; /* sv's list of children with a deadline */
    sv_node *sup;                   /* a supervisor child, else NULL */
    /* an actor child */
    actor *a;
    troupe_ref ref;
    troupe_child_spec spec; /* copied: arg, name and opts are ours */
    void *arg_copy;
    char *name_copy;
    int state;           /* CH_* */
    bool group;          /* part of a group restart being prepared */
    bool remove;         /* end for good once stopped */
    bool forced;         /* killed at its timeout, exit not yet seen */
    bool to_stop;        /* in the current stop phase of its parent */
    bool lead;           /* its deadline restarts its parent's group */
    bool op_asked;       /* an operator asked for a restart (troupe_actor_restart) */
    uint64_t deadline;   /* restart or kill time; 0 = none */
    uint64_t held_at;    /* its mailbox's claim position when it was held:
                          * drop_pending drops the messages before it */
    struct sv_child *chain; /* the next child to re-init in the same run */
    sv_rec rec;
    /* restart tracking */
    uint64_t restarts, since_reset, stable, started_at;
    uint64_t hist[TROUPE_RESTART_HISTORY];
    uint32_t nhist;
    uint64_t by_kind[TROUPE_EXIT_KINDS];
    troupe_failure_kind last_kind;
    char last_reason[TROUPE_REASON_MAX];
} sv_child;

enum { SUP_RUNNING, SUP_RESTARTING, SUP_SHUTTING, SUP_ESCALATING, SUP_DOWN };

struct sv_node {
    uint64_t id; /* index | gen << 32 */
    sv_child *self; /* its entry in the parent; NULL for the root */
    troupe_sup_spec spec;
    char name[64];
    sv_child *first, *last;
    uint32_t nchildren;
    int state;          /* SUP_* */
    uint32_t stopping;  /* children told to stop in this phase, not yet stopped */
    sv_child *failed;   /* the child whose exit started a group restart */
    uint64_t *rtimes;   /* ring of the last `intensity` restart times */
    uint32_t rhead, rcount;
    /* children restarted (all causes); restart decisions after exits
     * (what intensity counts); operators' restarts among the first */
    uint64_t restarts, decisions, op_restarts, escalations;
    troupe_failure why; /* what made it escalate */
    /* shutdown bookkeeping */
    troupe_shutdown_cb cb;
    void *cb_ud;
    uint32_t stopped, forced;
    bool then_end;    /* shutdown: end the children for good after */
    bool for_parent;  /* its parent is stopping it: report there after */
    sv_child *cursor; /* the next child a stop phase looks at (reverse start order) */
    bool busy;        /* inside sv_stop_next (not reentrant) */
    uint64_t group_delay;
};

typedef struct sv {
    troupe_system *sys;
    pthread_mutex_t lock;
    lane queue;                 /* sv_rec, pushed by workers */
    _Atomic uint32_t wake;      /* futex word: bumped by every push */
    _Atomic bool sleeping;      /* the thread is (about to be) in futex_wait */
    _Atomic bool quit;
    pthread_t thread;
    bool started;
    sv_node *root;
    sv_node **nodes;            /* by index; NULL = free */
    uint32_t *node_gen;
    uint32_t nnodes, capnodes;
    sv_child *timed;            /* children with a deadline */
    sv_child *zombies;          /* killed at a timeout, exit not yet seen */
    troupe_failure esc;         /* the root's escalation, for the hook */
    bool esc_pending;
    uint64_t armed;             /* deadline of the wake timer armed, 0 = none */
    uint64_t rng;
    /* totals for metrics, kept when children and supervisors go */
    uint64_t restarts_by[TROUPE_EXIT_KINDS]; /* by the kind of exit */
    uint64_t restarts_operator;              /* asked by an operator, apart */
    uint64_t escalations_total;
    struct evlog *log;          /* the event log (evlog.c) */
    /* the heartbeat the stall watchdog reads (sv_heartbeat): passes the
     * thread finished, whether one is under way, and the wake count the
     * last one started from (work is owed while `wake` moved past it) */
    _Atomic uint64_t beats;
    _Atomic bool in_pass;
    _Atomic uint32_t taken;
    /* system shutdown waits on this */
    pthread_cond_t cond;
} sv;

/* supervisor/info.c — what the supervisor answers about its tree to the
 * folders above it (observe/, persistence/). They ask these and get
 * copies; they never take sv->lock nor read an sv_child or sv_node. */
/* The tree's totals (metrics). */
void sv_totals(troupe_system *sys, uint64_t by_kind[TROUPE_EXIT_KINDS], uint64_t *by_operator,
               uint64_t *escalations, uint32_t *supervisors, uint32_t *actors);
/* One actor child, as a copy made under the tree's lock. */
typedef struct sv_child_view {
    troupe_ref ref;
    troupe_sup parent;       /* its supervisor */
    int64_t health_interval; /* its spec's: 0 = the system's, < 0 = none */
    uint64_t restarts;       /* its incarnation (restarts so far) */
    bool running;            /* not in backoff, stopping or stopped */
} sv_child_view;
/* The supervised actor ref, copied into out: false when ref names no
 * supervised actor (not supervised, or not this incarnation). */
bool sv_child_query(troupe_system *sys, troupe_ref ref, sv_child_view *out);
/* Each actor child of sup's subtree (sup.id 0: the whole tree) whose
 * supervisor runs, depth first in start order: fn gets a copy, called
 * under the tree's lock (fn must not call into the tree). 0, or
 * TROUPE_ENOTFOUND for an unknown sup. */
typedef void (*sv_child_fn)(const sv_child_view *c, void *ud);
int sv_visit_children(troupe_system *sys, troupe_sup sup, sv_child_fn fn, void *ud);
/* The supervisor thread's heartbeat: the passes it finished, and busy —
 * inside a pass, or woken for work it has not started. A thread that is
 * busy and whose count does not move is stuck (observe/health.c). */
void sv_heartbeat(troupe_system *sys, uint64_t *beats, bool *busy);
/* A supervised actor's child name (its spec's, stable while the actor
 * lives), or NULL: from a thread that owns the actor (its spawn: the
 * persistence id, before init runs). */
const char *sv_child_name(const actor *a);

/* supervisor/sv.c */
int sv_create(troupe_system *sys);
void sv_stop_thread(troupe_system *sys);
void sv_destroy(troupe_system *sys);
void sv_push(sv *s, sv_rec *r);
void sv_kick(sv *s);
sv_node *sv_node_get(sv *s, troupe_sup id);
sv_node *sv_node_new(sv *s, const troupe_sup_spec *spec);
void sv_node_free(sv *s, sv_node *n);
/* Set (at > 0) or clear (0) c's deadline, and arm the wake timer for it:
 * from any thread, lock held. */
void sv_set_deadline(sv *s, sv_child *c, uint64_t at);
/* now + delay, saturated at UINT64_MAX (never due). */
uint64_t sv_after(uint64_t now, uint64_t delay);
/* The sibling list, in start order. */
void sv_link_child(sv_node *n, sv_child *c);
void sv_unlink_child(sv_child *c);
void sv_child_free(sv_child *c);
uint64_t sv_now(sv *s);
/* The entry of a supervised actor's ref, or NULL. Lock held. */
sv_child *sv_child_by_ref(troupe_system *sys, troupe_ref ref);
/* Tree shutdown for troupe_system_shutdown: 0 when the root is empty. */
int sv_shutdown_root(troupe_system *sys, uint64_t timeout_ns);

/* supervisor/child.c — the worker's side */
bool sv_supervised(actor *a);
/* A supervised actor ended on this worker (stop callback already run when
 * it should): free its state, hold it, report to the supervisor. */
void sv_child_exited(troupe_system *sys, actor *a, troupe_failure_kind kind, int code,
                     const char *reason);
/* Free the state and mark the actor held (its owner calls it). */
void sv_hold(troupe_system *sys, actor *a);
/* AF_REINIT: run init for a and the children chained after it. */
void sv_reinit_run(troupe_system *sys, actor *a);

/* supervisor/strategy.c — the supervisor thread's decisions (lock held) */
void sv_on_exit(sv *s, sv_child *c, const sv_rec *r);
void sv_on_deadline(sv *s, sv_child *c);
void sv_restart_now(sv *s, sv_child **list, uint32_t n);
void sv_restart_group(sv *s, sv_node *n);
uint64_t sv_next_delay(sv *s, const sv_child *c);
void sv_child_end(sv *s, sv_child *c, troupe_failure_kind why, const char *reason);
void sv_node_exited(sv *s, sv_node *n);
int sv_operator_restart(sv *s, sv_child *c);

/* supervisor/stop.c — stopping children (lock held) */
void sv_stop_child(sv *s, sv_child *c);
void sv_child_stopped(sv *s, sv_child *c);
void sv_stop_all(sv *s, sv_node *n, sv_child *from);
void sv_stop_next(sv *s, sv_node *n);
void sv_report(sv *s, sv_node *n, bool done);
void sv_terminate(sv *s, sv_child *c);
void sv_shutdown_node(sv *s, sv_node *n, troupe_shutdown_cb cb, void *ud);
/* Test mode (sys->manual: no supervisor thread): apply the queued exits
 * and the due deadlines on the calling thread (runtime/testkit.c). */
void sv_pump(troupe_system *sys);

/* supervisor/api.c */
int sv_check_policy(const troupe_restart_policy *p);

#endif
