/* core/hooks.h — what core calls upward: the one contract between core and
 * the features above it (supervisor/, persistence/, observe/, registry/,
 * trace/).
 *
 * Core names no feature. Where an actor's life needs a feature — it ends
 * while supervised, its handler persisted, a system-lane message of a
 * feature's type arrives, it spawns or ends — core calls an operation of
 * its system's table (sys->hooks). A feature registers its operations in
 * that table when the composition root (runtime/system.c) creates it; an
 * operation nobody registered keeps core's default (hooks_defaults below),
 * which does what a system without the feature must do.
 *
 * Cost: core calls through the table only where it already branched on
 * something rare — an actor flag (AF_PBUF, AF_PWAIT, AF_REINIT), a
 * supervision link, a persistent behaviour, a system-lane message, the
 * start or the end of an actor. The plain message path (dispatch of a user
 * message) makes no indirect call.
 *
 * The table is written while the system is created, before any actor
 * runs, and only read afterwards: the workers are started after it
 * (pthread_create orders the writes before them), and any other thread
 * that calls through it (the supervisor's, a spawner) does so for an actor
 * it learnt of from them or spawned itself after the create.
 */
#ifndef TROUPE_CORE_HOOKS_H
#define TROUPE_CORE_HOOKS_H

#include "core/common.h"
#include "core/message.h"

struct actor;
struct worker;

/* System-lane message types from SYSMSG_FIRST (core/system.h) on have a
 * slot each in the table; core serves its own (stop, kill) before it looks. */
#define SYSMSG_SLOTS 16

/* Serve one system-lane message of a registered type, on the receiving
 * actor's worker: the message is w->cur and is the function's to destroy.
 * 0: served; < 0: the actor fails with *kind and *reason (then w->in_msg
 * says whether w->cur is still to be destroyed, as for a handler). */
typedef int (*sysmsg_fn)(struct worker *w, struct actor *a, troupe_failure_kind *kind,
                         const char **reason);

typedef struct core_hooks {
    /* --- a supervised actor (core/ext.h: ext->child set) --- */
    /* It ended on this worker: a stop (its stop callback already run when
     * it should) or a failure. The actor is the callee's from here on. */
    void (*exited)(troupe_system *sys, struct actor *a, troupe_failure_kind kind, int code,
                   const char *reason);
    /* AF_REINIT: its supervisor restarts it; run on a worker before
     * anything else of the run. */
    void (*reinit)(troupe_system *sys, struct actor *a);

    /* --- a persistent behaviour (beh->persist) --- */
    /* At spawn, before init: attach its journal state; < 0 fails the spawn. */
    int (*attach)(troupe_system *sys, struct actor *a, const troupe_spawn_opts *opts);
    /* After init, on the thread running it: recover; < 0 fails the init. */
    int (*recover)(troupe_system *sys, struct actor *a, troupe_ctx *ctx);
    /* AF_PBUF: the handler persisted and returned rc. */
    void (*handled)(troupe_system *sys, troupe_ctx *ctx, struct actor *a, int rc);
    /* AF_PWAIT at the end of a run: true when the actor parked (whoever
     * wakes it schedules it), false to requeue it. */
    bool (*park)(struct actor *a);

    /* --- every actor's end for good (core/actor.c, actor_end) --- */
    /* Its counters, after its mailbox closed and before its state is freed. */
    void (*fold)(troupe_system *sys, struct actor *a);
    /* Its persistent state, last. */
    void (*detach)(struct actor *a);

    /* --- any actor's failure (core/run.c, report_failure), after
     * config.on_failure: the event log's entry (registered by obs_create) */
    void (*failed)(troupe_system *sys, struct actor *a, const troupe_failure *f);

    /* --- names --- */
    /* spawn_held with a name: register it before init (TROUPE_EEXIST if taken). */
    int (*name)(troupe_system *sys, const char *name, troupe_ref ref);
    /* The actor had a registered name (its ext's reg entry): forget it. */
    void (*forget)(troupe_system *sys, void *entry);

    /* --- tracing (trace/; NULL without it). Reached only when a trace
     * context is current on this thread (troupei_tls.trace, set by trace/
     * alone) or a message carries one (MF_TRACED, set by trace_send
     * alone): an untraced message never calls them. --- */
    /* send_msg / call_send with a current context: open the PRODUCER
     * (tell) or CLIENT (ask) span and box its context into m. */
    void (*trace_send)(troupe_system *sys, tmsg *m);
    /* The message m (unboxed, its context c) is about to be handled on
     * this thread by a: open the CONSUMER/SERVER span, make it current. */
    void (*trace_begin)(troupe_system *sys, struct actor *a, const tmsg *m, const tctx *c);
    /* Its handler returned rc (< 0: the actor fails with kind): end the
     * span trace_begin opened, restore the context before it. */
    void (*trace_end)(troupe_system *sys, struct actor *a, int rc, troupe_failure_kind kind);
    /* a failed (a panic skipped trace_end): end its open span, if any. */
    void (*trace_fail)(troupe_system *sys, struct actor *a, troupe_failure_kind kind);
    /* A boxed message is destroyed unhandled (overflow, the actor ended). */
    void (*trace_drop)(troupe_system *sys, const tmsg *m);
    /* The outcome rc of ask `ask_id`, whose record trace_send marked
     * (ask_rec.traced, core/ask.h): its CLIENT span ends. */
    void (*trace_reply)(troupe_system *sys, uint64_t ask_id, int rc);
    /* A cluster actor (cluster/failover.c) taken over by this node after
     * its owner `from_node` died, now running as `actor`: an event on the
     * trace (the thread's current one, else a root of its own). Called by
     * the cluster's ownership thread, not core; the cluster sits below
     * trace/ and reaches it only through here. */
    void (*trace_failover)(troupe_system *sys, troupe_ref actor, const char *kind,
                           const char *from_node);

    /* --- system-lane message types, by type - SYSMSG_FIRST; NULL: the
     * message goes to the handler like any other --- */
    sysmsg_fn sysmsg[SYSMSG_SLOTS];
} core_hooks;

/* --- remote refs (cluster/, docs/CLUSTER.md) ---
 * A ref whose tag is not this system's names an actor on another node of a
 * cluster. The cluster attaches after the system runs, so this is not a
 * slot of the table above: a port it publishes (remote_attach) and core
 * reads only where actor_lookup already failed (send_other, core/send.c).
 * send: 0 when the message was taken (queued for the network, then
 * destroyed by the port); else an error and m stays the caller's. */
typedef struct remote_port {
    int (*send)(struct remote_port *p, troupe_system *sys, troupe_ref to, tmsg *m);
    /* troupe_monitor / troupe_demonitor of another node's actor: 0, or an
     * error (TROUPE_ENOACTOR: its node is not up; DOWN NOPROC follows). */
    int (*monitor)(struct remote_port *p, troupe_system *sys, troupe_ref watcher, troupe_ref target,
                   uint64_t id);
    int (*demonitor)(struct remote_port *p, troupe_system *sys, troupe_ref target, uint64_t id);
} remote_port;

/* core/send.c: publish the port (release); remote_detach unpublishes it and
 * waits until no send is inside it, so its memory may go afterwards. */
void remote_attach(troupe_system *sys, remote_port *p);
void remote_detach(troupe_system *sys);
/* A message from another node (cluster/remote.c, the NATS reader thread):
 * as a plain thread's send, but m->sender is kept (a remote ref) and BLOCK
 * does not wait: a full BLOCK mailbox answers TROUPE_EFULL (counted as
 * rejected). m stays the caller's on error. */
int send_from_remote(troupe_system *sys, troupe_ref to, tmsg *m);
/* core/send.c: the port's monitor and demonitor, as send_other: only for a
 * ref of another tag, TROUPE_ENOACTOR (ENOTFOUND) without a port. */
int remote_monitor(troupe_system *sys, troupe_ref watcher, troupe_ref target, uint64_t id);
int remote_demonitor(troupe_system *sys, troupe_ref target, uint64_t id);
/* core/ext.c: a monitor for a watcher on another node (a remote ref, not
 * checked here: its node's DOWN goes back through the port), id given. */
int monitor_for_remote(troupe_system *sys, uint64_t watcher, troupe_ref target, uint64_t id);
/* core/call.c: an ask from another node, as send_from_remote, but when it
 * makes the receiver runnable the calling thread (the NATS reader) runs it
 * at once, as troupe_call's caller does: no worker wake-up on the path of
 * a remote ask. TROUPE_EFAILED: run, and it failed handling m (m is gone). */
int call_send_remote(troupe_system *sys, troupe_ref to, tmsg *m);

/* core/hooks.c: core's defaults — what a system without the feature does. */
void hooks_defaults(core_hooks *h);
/* Register f for system-lane type `type` (SYSMSG_FIRST + a slot not core's). */
void hooks_sysmsg(core_hooks *h, uint32_t type, sysmsg_fn f);

#endif
