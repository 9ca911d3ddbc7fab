/* core/ext.h — the rarely used part of an actor, kept out of its three hot
 * cache lines: a REDIRECT target, the supervision link, monitors and a
 * registered name.
 *
 * An ext is allocated the first time its actor slot needs one and stays with
 * the slot until the system is destroyed (type-stable, like the actor), so a
 * racing reader never touches freed memory. Every incarnation of the slot
 * reuses it; `lock` and the generations below tell the incarnations apart.
 *
 * Contract: ext_get from any thread (a CAS installs it). Fields under
 * `lock` from any thread with the lock held; `child` and `restart` are the
 * actor's owner's (the worker running it, or the supervisor thread while the
 * actor is held between a failure and its restart).
 */
#ifndef TROUPE_CORE_EXT_H
#define TROUPE_CORE_EXT_H

#include "core/system.h"

struct sv_child;

typedef struct monitor {
    uint64_t watcher; /* ref id that gets the DOWN */
    uint64_t id;      /* the monitor's id (troupe_monitor's *out) */
} monitor;

typedef struct actor_ext {
    _Atomic uint64_t redirect; /* REDIRECT target (senders, relaxed) */
    struct sv_child *_Atomic child; /* the supervision node, or NULL */
    pthread_mutex_t lock;
    /* --- under lock --- */
    uint32_t dead_gen;  /* the last generation that stopped for good */
    uint32_t mon_gen;   /* the generation `mons` belongs to */
    monitor *mons;
    uint32_t nmons, capmons;
    void *reg;          /* registry entry (registry/), or NULL */
    /* --- persistence/ --- */
    struct pstate *pers; /* the owner's (the thread running the actor) */
    _Atomic int pwait;   /* park/wake handshake with the journal writer */
    /* --- core/ask.c, core/view.c --- */
    bool holds_asks;     /* the owner's: this incarnation held an ask (defer) */
    struct view *_Atomic view; /* the published view (core/view.c), or NULL */
    struct view *retired;      /* the owner's: views replaced, not yet handed to RCU */
    uint32_t nretired;
    /* --- core/probe.c: latency and trace, allocated on first use (CAS) --- */
    struct probe_actor *_Atomic probe;
    /* --- core/fault.c: message faults, allocated on first use (CAS) --- */
    struct fault_actor *_Atomic fault;
    /* --- core/pool.c: the worker this incarnation is pinned to, + 1 (0:
     * none); set at spawn (relaxed: published by mb_open's release) --- */
    _Atomic uint32_t pin;
} actor_ext;

/* The actor's ext, allocated on first use; NULL on ENOMEM. */
actor_ext *ext_get(troupe_system *sys, actor *a);
/* The ext if there is one (no allocation). */
static inline actor_ext *ext_peek(const actor *a)
{
    /* acquire: pairs with ext_get's release CAS (the ext's fields and its
     * initialised mutex are visible). */
    return atomic_load_explicit(&a->ext, memory_order_acquire);
}
/* Supervised: the actor has a supervision link (its ext's child), so
 * that its exit goes to the supervisor (core/hooks.h, exited). Its owner's
 * question: relaxed, the link is set before the actor is first let go
 * (published by the scheduling that brought it here). */
static inline bool ext_supervised(const actor *a)
{
    actor_ext *x = ext_peek(a);
    return x && atomic_load_explicit(&x->child, memory_order_relaxed) != NULL;
}
/* With x->lock held: r names the running incarnation of a (not stopped for
 * good, not closed). */
bool ext_live_locked(const actor *a, const actor_ext *x, troupe_ref r);
/* Free a slot's ext (system destroy). */
void ext_free(troupe_system *sys, actor *a);
/* At an actor's end for good (actor_finish): mark its generation dead,
 * send DOWN to its monitors, and forget its registered name. */
void ext_on_finish(troupe_system *sys, actor *a, troupe_failure_kind why, const char *reason);

#endif
