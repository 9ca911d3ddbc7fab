/* troupe/supervisor.h — supervision trees (OTP's semantics).
 *
 * A supervisor watches children — actors, or other supervisors — and
 * restarts them when they end, by a strategy. Every system has a root
 * supervisor (troupe_sup_root). Supervisors are not actors: one supervisor
 * thread per system owns the whole tree. Workers hand it their children's
 * exits through a lock-free queue and never wait for it; it applies the
 * strategies, runs the restart delays on the system clock (so a manual
 * clock drives backoff in tests), and escalates. A restarted actor's init
 * runs on a worker, never on the supervisor thread.
 *
 * Across a restart a child keeps its ref, its registered name and its
 * mailbox: messages already queued are handled by the new incarnation
 * (unless the spec says drop_pending), and messages sent while it waits out
 * a backoff queue under its overflow policy. A child that ends for good
 * (temporary, transient after a normal exit, removed, or given up on) ends
 * like any actor: its ref fails with TROUPE_ENOACTOR, monitors get DOWN,
 * its name is unregistered.
 *
 * Every exit of a supervised actor goes to its supervisor — also a normal
 * stop (troupe_stop, troupe_stop_self): a PERMANENT child is restarted even
 * then, as in OTP. To stop one for good, use troupe_sup_terminate_child.
 *
 * What an exit leads to, in order (supervisor/strategy.c):
 *  1. the restart type: a TEMPORARY child, or a TRANSIENT one after a
 *     normal or shutdown exit, ends for good — whatever its policy; nothing
 *     escalates;
 *  2. the child's policy: NEVER, or a restart beyond max_restarts since the
 *     last reset, escalates (below);
 *  3. the supervisor's intensity: one restart decision more than
 *     `intensity` within `period_ns` escalates;
 *  4. otherwise the strategy restarts it (and its group), after the
 *     policy's delay.
 * To escalate, the supervisor stops its other children (reverse start
 * order) and fails to its own parent with kind TROUPE_EXIT_ESCALATED; the
 * parent applies its own type, policy, intensity and strategy to it (a
 * restarted supervisor starts all its children again, their backoff
 * reset). The root's escalation calls config.on_escalation, or shuts the
 * system down. This is OTP's reading of "too many restarts": the failure
 * moves up the tree. A child that should just stay dead after its exit is
 * TEMPORARY (or TRANSIENT, for normal exits) — not NEVER.
 *
 * An operator's restart (troupe_actor_restart, below: the HTTP API, the
 * dashboard) is not a failure: as OTP's terminate_child followed
 * by restart_child, it restarts that child alone, at once, whatever its
 * restart type, policy and strategy, and counts neither toward the
 * supervisor's intensity nor toward the child's max_restarts and backoff.
 * It is counted: troupe_sup_info.operator_restarts, the child's restarts,
 * and the metric troupe_restarts_total{reason="operator"}. (A child waiting
 * out a restart delay is restarted at once instead: its failure's restart,
 * counted as such, only sooner.)
 *
 * Thread safety: every call from any thread, including handlers. Calls that
 * change the tree take the tree's lock briefly; none waits for a child to
 * stop (shutdown is asynchronous and reports through a callback).
 */
#ifndef TROUPE_SUPERVISOR_H
#define TROUPE_SUPERVISOR_H

#include <stddef.h>
#include <stdint.h>

#include "troupe/actor.h"
#include "troupe/export.h"
#include "troupe/failure.h"
#include "troupe/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct troupe_system troupe_system;

/* A supervisor, named by a small value (index + generation) like a ref: a
 * stale one fails with TROUPE_ENOTFOUND. Zero is none. */
typedef struct troupe_sup {
    uint64_t id;
} troupe_sup;

/* When a child is restarted at all (OTP's restart types). */
typedef enum troupe_restart_type {
    TROUPE_PERMANENT = 0, /* always */
    TROUPE_TRANSIENT = 1, /* only after an abnormal exit (not normal/shutdown) */
    TROUPE_TEMPORARY = 2, /* never; removed when it ends */
} troupe_restart_type;

/* How and how often a child is restarted. */
typedef enum troupe_restart_kind {
    TROUPE_RESTART_DEFAULT = -1,    /* the system config's policy */
    TROUPE_RESTART_ALWAYS = 0,      /* immediately */
    /* never restarted here: an exit its restart type would restart
     * (PERMANENT: any; TRANSIENT: abnormal) escalates at once, as a
     * supervisor past its intensity does (see the top of this file); other
     * exits end the child alone */
    TROUPE_RESTART_NEVER = 1,
    TROUPE_RESTART_EXPONENTIAL = 2, /* initial, ×multiplier, capped at max */
    TROUPE_RESTART_FIXED_DELAY = 3, /* delay */
} troupe_restart_kind;

typedef struct troupe_restart_policy {
    troupe_restart_kind kind;
    int64_t initial_ns;    /* EXPONENTIAL: first delay (>= 0) */
    int64_t max_ns;        /* EXPONENTIAL: cap (>= initial) */
    double multiplier;     /* EXPONENTIAL: >= 1 */
    /* EXPONENTIAL: 0..1. After k restarts since the last reset, the next
     * delay is d × (1 + jitter·(2u − 1)) with d = min(initial·multiplier^k,
     * max) and u uniform in [0, 1): within [d·(1 − jitter), d·(1 + jitter)),
     * so up to max·(1 + jitter) (the cap comes first). Each system seeds its
     * own generator. troupe_child_info.next_delay_ns shows d. */
    double jitter;
    int64_t delay_ns;      /* FIXED_DELAY (>= 0) */
    /* Restarts allowed since the last reset (a child up for
     * config.stable_ns before it ends is reset); one more escalates the
     * supervisor (not only this child). 0 = no limit (the supervisor's
     * intensity still applies). Operators' restarts do not count. */
    uint32_t max_restarts;
} troupe_restart_policy;

/* The default policy: EXPONENTIAL, 100 ms to 60 s, ×2, 10 restarts. */
TROUPE_API void troupe_restart_policy_defaults(troupe_restart_policy *p);

#define TROUPE_SHUTDOWN_DEFAULT_NS 5000000000ll /* 5 s */

typedef struct troupe_child_spec {
    const troupe_behaviour *beh; /* required; borrowed, must outlive the child */
    /* The init argument, given to every start and restart. arg_size > 0:
     * arg[0..arg_size) is copied (up to 64 KiB). arg_size == 0: the pointer
     * itself is passed, borrowed: it must outlive the child. */
    const void *arg;
    size_t arg_size;
    /* Optional registered name (copied; troupe/registry.h), the child's
     * before its init runs (as in OTP): a taken name fails the start with
     * TROUPE_EEXIST before init runs (no callback at all), and a failing
     * init releases it. */
    const char *name;
    troupe_restart_type restart;
    troupe_restart_policy policy; /* kind DEFAULT = the system's */
    /* Shutdown: how long the child may take to stop once told (>= 0; 0 =
     * TROUPE_SHUTDOWN_DEFAULT_NS), after which it is killed — at exactly
     * (the time it was told + shutdown_ns) on the system's clock, also when
     * it is the only child stopping; brutal = 1 kills at once (no stop
     * callback, OTP's brutal_kill). */
    int64_t shutdown_ns;
    int brutal;
    /* Drop the messages queued at a failure (or, in a group restart, when
     * it stopped) instead of handing them to the restarted incarnation
     * (dropped ones are destroyed and counted in messages_destroyed).
     * Messages sent later, during a backoff, are kept and handled. */
    int drop_pending;
    troupe_spawn_opts opts; /* mailbox options (copied) */
    /* Health checks (troupe/observe.h): ping interval, 0 = the system's
     * (config.health_interval_ns), < 0 = never pinged. */
    int64_t health_interval_ns;
} troupe_child_spec;

/* PERMANENT, policy DEFAULT, shutdown default, opts defaults. */
TROUPE_API void troupe_child_spec_defaults(troupe_child_spec *s);

/* The order of a group restart (ONE_FOR_ALL, REST_FOR_ONE), as OTP: the
 * children concerned are stopped one at a time in reverse start order —
 * each is told to stop and waited for (up to its shutdown timeout, then
 * killed) before the next is told — and then all of them, the one that
 * ended included, are restarted in start order (one init after the other).
 * A sibling that ends on its own before its turn counts as stopped, not as
 * another failure. */
typedef enum troupe_sup_strategy {
    TROUPE_ONE_FOR_ONE = 0,  /* restart the child that ended */
    TROUPE_ONE_FOR_ALL = 1,  /* stop all the others, restart all */
    TROUPE_REST_FOR_ONE = 2, /* stop those started after it, restart them */
} troupe_sup_strategy;

typedef struct troupe_sup_spec {
    troupe_sup_strategy strategy;
    /* At most `intensity` restart decisions (troupe_sup_info) in any
     * `period_ns` (> 0); one more, or a child past its max_restarts or
     * under NEVER, escalates: the supervisor stops its children (reverse
     * start order) and fails to its parent. A group restart is one
     * decision; operators' restarts are none. */
    uint32_t intensity;
    int64_t period_ns;
    const char *name;            /* a label (copied), may be NULL */
    troupe_restart_type restart; /* as a child of its parent */
    int64_t shutdown_ns;         /* per child of it, when its parent stops it */
} troupe_sup_spec;

/* ONE_FOR_ONE, 10 restarts in 60 s, PERMANENT. */
TROUPE_API void troupe_sup_spec_defaults(troupe_sup_spec *s);

/* Called on the supervisor thread when the root gives up (its children have
 * ended by then; the root is empty and takes new children); f describes the
 * failure that broke it. It may call the supervision API (to rebuild), but
 * must not block and must not call troupe_system_shutdown/destroy. */
typedef void (*troupe_escalation_hook)(troupe_system *sys, const troupe_failure *f, void *ud);

/* The root supervisor (ONE_FOR_ONE; intensity and period from the system
 * config). Its escalation calls config.on_escalation. Errors:
 * TROUPE_EINVAL (NULL sys or out). */
TROUPE_API int troupe_sup_root(troupe_system *sys, troupe_sup *out);

/* Start an actor child under `parent`: init runs in the caller's thread
 * (as troupe_spawn), with the name already registered. On success *out is
 * its ref. Errors: TROUPE_EINVAL (a bad spec: see the fields),
 * TROUPE_EEXIST (name taken: init and stop did not run), TROUPE_ENOTFOUND
 * (no such supervisor), TROUPE_ESHUTDOWN (it is shutting down),
 * TROUPE_ENOMEM, or init's own code. On error nothing is left running. */
TROUPE_API int troupe_sup_start_child(troupe_system *sys, troupe_sup parent,
                                      const troupe_child_spec *spec, troupe_ref *out);

/* Start a supervisor child under `parent`. Errors: TROUPE_EINVAL (NULL
 * sys/spec/out, a bad spec: see its fields), TROUPE_ENOTFOUND (no such
 * parent), TROUPE_ESHUTDOWN (the parent is shutting down), TROUPE_ENOMEM. */
TROUPE_API int troupe_sup_start_supervisor(troupe_system *sys, troupe_sup parent,
                                           const troupe_sup_spec *spec, troupe_sup *out);

/* Move supervisor `sup` (not the root) under `new_parent`. TROUPE_EINVAL if
 * that would make a cycle (new_parent is sup or below it), for the root or
 * a NULL sys; TROUPE_ENOTFOUND (no such supervisor); TROUPE_EBUSY (one of
 * them, or sup's parent, is shutting down or restarting). */
TROUPE_API int troupe_sup_move(troupe_system *sys, troupe_sup sup, troupe_sup new_parent);

/* A shutdown's progress, reported after each child that stops, on the
 * supervisor thread (or in troupe_sup_shutdown's caller for children that
 * had stopped already). done is 1 on the last report. It runs with the
 * tree's lock held: it must not block and must not call troupe_sup_* or
 * troupe_child_info_get. */
typedef struct troupe_shutdown_report {
    troupe_sup sup;
    uint32_t stopped;   /* ended after their stop signal */
    uint32_t forced;    /* killed at their shutdown timeout */
    uint32_t remaining;
    int done;
} troupe_shutdown_report;

typedef void (*troupe_shutdown_cb)(const troupe_shutdown_report *r, void *ud);

/* Stop `sup`'s children in reverse start order, each with its own shutdown
 * timeout, then remove `sup` from its parent (the root stays, empty).
 * Returns at once; cb (may be NULL) reports progress. TROUPE_EBUSY if it is
 * already shutting down (or restarting); TROUPE_ENOTFOUND (no such
 * supervisor); TROUPE_EINVAL (NULL sys). */
TROUPE_API int troupe_sup_shutdown(troupe_system *sys, troupe_sup sup, troupe_shutdown_cb cb,
                                   void *ud);

/* Stop one actor child for good (its shutdown timeout applies) and remove it.
 * Returns at once. TROUPE_ENOTFOUND if ref is not a child of a supervisor;
 * TROUPE_EBUSY if it is being removed already; TROUPE_EINVAL (NULL sys). */
TROUPE_API int troupe_sup_terminate_child(troupe_system *sys, troupe_ref child);

/* An operator's restart: a supervised actor is stopped (its stop callback
 * runs) with kind TROUPE_EXIT_ERROR and reason "restart requested", and its
 * supervisor restarts it alone, at once, whatever its restart type and
 * policy. Not a failure: it counts neither toward the supervisor's
 * intensity nor toward the child's max_restarts and backoff; it is counted
 * in the child's restarts, troupe_sup_info.operator_restarts and the
 * metric troupe_restarts_total{reason="operator"}. An actor
 * that traps stops (TROUPE_BEH_TRAP_STOP) gets the stop as a message and
 * decides. A child waiting out a restart delay is restarted now instead
 * (that restart is its failure's, only sooner, and counts as such).
 * Returns at once; TROUPE_ENOTFOUND if the actor is not supervised,
 * TROUPE_EBUSY if its supervisor is stopping or restarting it already
 * (shutdown, escalation, a group restart). */
TROUPE_API int troupe_actor_restart(troupe_system *sys, troupe_ref ref);

typedef enum troupe_child_state {
    TROUPE_CHILD_RUNNING = 0,
    TROUPE_CHILD_BACKOFF = 1,  /* ended; waiting for its restart delay */
    TROUPE_CHILD_STOPPING = 2, /* told to stop; waiting for it */
    TROUPE_CHILD_STOPPED = 3,  /* stopped; waiting for its siblings (group restart) */
} troupe_child_state;

#define TROUPE_RESTART_HISTORY 8
#define TROUPE_EXIT_KINDS 10

/* Restart tracking of one child. */
typedef struct troupe_child_info {
    troupe_ref ref;
    troupe_sup parent;
    troupe_child_state state;
    troupe_restart_type restart;
    uint64_t restarts;          /* in total */
    uint64_t restarts_since_reset; /* toward max_restarts; reset when stable */
    uint64_t stable_restarts;   /* restarts that stayed up past the stable period */
    double success_rate;        /* stable_restarts / restarts (1 when none) */
    uint64_t last_restart_ns[TROUPE_RESTART_HISTORY]; /* newest first */
    uint32_t nlast;
    uint64_t exits_by_kind[TROUPE_EXIT_KINDS]; /* index: troupe_failure_kind */
    uint64_t started_at_ns;     /* this incarnation's start */
    uint64_t next_delay_ns;     /* the delay the next restart would wait */
    troupe_failure_kind last_kind;
    char last_reason[TROUPE_REASON_MAX];
} troupe_child_info;

/* The restart tracking of supervised actor ref. TROUPE_ENOTFOUND if ref
 * is not a supervised actor now; TROUPE_EINVAL (NULL sys or out). */
TROUPE_API int troupe_child_info_get(troupe_system *sys, troupe_ref ref, troupe_child_info *out);

typedef struct troupe_sup_info {
    troupe_sup parent;         /* none for the root */
    troupe_sup_strategy strategy;
    uint32_t children;         /* actors and supervisors */
    /* Its children restarted, one per child each time, whatever the cause:
     * a group restart of 3 adds 3; a child supervisor restarted after its
     * escalation adds 1 (its own children count neither here nor in its
     * own restarts);
     * operators' restarts are included. */
    uint64_t restarts;
    uint64_t escalations;      /* times it gave up */
    int shutting_down;
    char name[64];
    /* Times it decided to restart after a child's exit: one per exit,
     * however many children the restart takes (a group restart of 3 adds
     * 1). This is what its intensity counts. */
    uint64_t restart_decisions;
    /* Restarts operators asked for (troupe_actor_restart): in restarts,
     * not in restart_decisions. */
    uint64_t operator_restarts;
} troupe_sup_info;

/* What the tree knows of supervisor `sup`. Errors: TROUPE_EINVAL (NULL
 * sys or out), TROUPE_ENOTFOUND (no such supervisor, or a stale one). */
TROUPE_API int troupe_sup_info_get(troupe_system *sys, troupe_sup sup, troupe_sup_info *out);

/* A child as listed by troupe_sup_children: an actor (ref) or a supervisor. */
typedef struct troupe_sup_child {
    troupe_ref ref; /* NONE for a supervisor */
    troupe_sup sup; /* zero for an actor */
} troupe_sup_child;

/* Children of sup in start order: up to cap written, *total set to how
 * many there are. Errors: TROUPE_EINVAL (NULL sys or total, NULL out with
 * cap > 0), TROUPE_ENOTFOUND (no such supervisor). */
TROUPE_API int troupe_sup_children(troupe_system *sys, troupe_sup sup, troupe_sup_child *out,
                                   size_t cap, size_t *total);

/* ---- the event log ----------------------------------------------------------
 * Every system keeps its last TROUPE_EVENTS_KEPT events of these kinds in a
 * ring (supervisor/evlog.c): an actor's failure (supervised or not: its
 * kind and reason), a restart, a supervised child ended for good, a
 * supervisor's escalation, a feature flag's value change. Each has a
 * sequence number, 1 up, so a reader polls with the last one it saw and
 * learns how many it missed when the ring went round. Writing one takes a
 * short lock off the message path (failures are rare); the HTTP API serves
 * them (GET /api/events). */
#define TROUPE_EVENTS_KEPT 512

typedef enum troupe_event_kind {
    TROUPE_EVENT_FAILURE,    /* an actor failed (detail: "kind: reason") */
    TROUPE_EVENT_RESTART,    /* a supervised child restarted */
    TROUPE_EVENT_STOP,       /* a supervised child ended for good */
    TROUPE_EVENT_ESCALATION, /* a supervisor gave up and failed upward */
    TROUPE_EVENT_FLAG,       /* a flag's value changed (actor: the flag's name) */
    TROUPE_EVENT_KINDS
} troupe_event_kind;

/* "failure", "restart", "stop", "escalation", "flag"; "unknown" otherwise. */
TROUPE_API const char *troupe_event_kind_name(troupe_event_kind k);

typedef struct troupe_event {
    uint64_t seq;           /* 1, 2, ... in the order written */
    uint64_t at_ns;         /* the system clock's time */
    troupe_event_kind kind;
    troupe_ref actor;       /* NONE for a flag or a supervisor */
    char name[65]; /* registered or child name (TROUPE_NAME_MAX + 1), flag name, or "" */
    char behaviour[64];     /* the behaviour's name, or "" */
    char detail[TROUPE_REASON_MAX + 32];
    unsigned char reserved[32];
} troupe_event;

/* What troupe_events_read returned besides the events. */
typedef struct troupe_events_page {
    size_t n;         /* events written to out */
    /* pass as `since` next time: the last seq returned, or when fewer
     * than cap matched, the last seq written (nothing newer to scan) */
    uint64_t next;
    /* events after `since` lost before this read (the ring went round),
     * every one of them whatever `actor` filter was given: a lost event's
     * actor is not known, so a filtered reader learns only that it may
     * have missed some */
    uint64_t dropped;
    unsigned char reserved[16];
} troupe_events_page;

/* The events with seq > since, oldest first, whose name equals `name`
 * (NULL or "": any; a ref's hex id as jw_id writes it matches too), up to
 * cap into out. Errors: TROUPE_EINVAL (NULL sys or page, NULL out with
 * cap > 0). */
TROUPE_API int troupe_events_read(troupe_system *sys, uint64_t since, const char *name,
                                  troupe_event *out, size_t cap, troupe_events_page *page);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_SUPERVISOR_H */
