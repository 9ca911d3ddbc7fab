/* troupe/actor.h — behaviours, spawning, stopping, actor counters.
 *
 * An actor is a behaviour (callbacks + state size) and an argument. Its
 * state is owned by the runtime and touched only by the worker running the
 * actor, one message at a time: handlers need no locks for it.
 *
 * Thread safety: every call here may be made from any thread, including
 * handlers. Lifecycle: spawn runs init in the caller's thread before the ref
 * is returned; a stop (requested or after a failure) runs the stop callback
 * on a worker, destroys the queued messages and frees the state.
 */
#ifndef TROUPE_ACTOR_H
#define TROUPE_ACTOR_H

#include <stddef.h>
#include <stdint.h>

#include "troupe/export.h"
#include "troupe/failure.h"
#include "troupe/mailbox.h"
#include "troupe/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct troupe_system troupe_system;

/* A behaviour is borrowed: it must outlive every actor spawned from it
 * (a static const struct is the usual form). */
typedef struct troupe_behaviour {
    const char *name;  /* for failures and stats; static string ("troupe." is
                          reserved for the runtime's own actors) */
    size_t state_size; /* zeroed bytes given to every callback; may be 0 */
    /* Optional. `arg` is the spawn argument (borrowed, valid during init
     * only). A negative return fails the spawn with that code. May call
     * troupe_panic (the spawn fails with TROUPE_EFAILED). */
    int (*init)(troupe_ctx *ctx, void *state, const void *arg);
    /* Required. Return 0, or a negative code to fail the actor. */
    int (*handle)(troupe_ctx *ctx, void *state, const troupe_msg *msg);
    /* Optional. Runs once when the actor stops, with why it stopped. */
    void (*stop)(troupe_ctx *ctx, void *state, troupe_failure_kind why);
    uint32_t flags; /* TROUPE_BEH_* */
    /* Optional. Asked when the health monitor pings the actor (supervised
     * actors only, troupe/observe.h), on its worker between two messages:
     * 0 = healthy, negative = unhealthy (its supervisor restarts it). */
    int (*health)(troupe_ctx *ctx, void *state);
    /* Optional: makes the actor persistent (troupe/persist.h). Borrowed. */
    const struct troupe_persistence *persist;
} troupe_behaviour;

/* The actor handles stop signals itself (OTP's trap_exit): a stop arrives
 * as a TROUPE_MSG_STOP message (corr = the troupe_failure_kind) and the
 * actor ends when it calls troupe_stop_self. A supervisor's shutdown
 * timeout still kills it if it never does. */
#define TROUPE_BEH_TRAP_STOP 1u
#define TROUPE_MSG_STOP (TROUPE_MSG_SYSTEM + 3u)

typedef struct troupe_spawn_opts {
    uint32_t capacity;        /* 0 = the system default */
    int overflow;             /* -1 = the system default, else troupe_overflow */
    troupe_ref redirect_to;   /* REDIRECT target; NONE = dead-letter actor */
    uint32_t batch;           /* 0 = the system default */
    /* A persistent behaviour's persistence id (troupe/persist.h), copied;
     * NULL = the supervised child's name. 1..TROUPE_PERSIST_ID_MAX bytes. */
    const char *persistence_id;
    /* The worker pool to run in (troupe/pool.h), by name; NULL = the
     * spawning actor's pool when a handler spawns, else the default pool.
     * A supervised child runs in its spec's (opts.pool). */
    const char *pool;
    /* Pin to one worker of the pool: pin_worker (0..the pool's workers - 1)
     * alone runs the actor, it is never stolen. For cache locality (a
     * big, hot state kept in one core's caches) or a thread-affine library
     * (one that must always be called from the same thread). init runs on
     * the spawning thread, before the pin applies. pin = 0: not pinned (a
     * zeroed struct keeps today's behaviour). */
    int pin;
    uint32_t pin_worker;
    uint8_t reserved[8];
} troupe_spawn_opts;

/* Fill *opts with the defaults: the system's capacity, overflow policy and
 * batch, dead letters as the redirect target, no persistence id. NULL is
 * ignored. */
TROUPE_API void troupe_spawn_opts_defaults(troupe_spawn_opts *opts);

/* Spawn an actor. opts NULL = defaults. On success *out holds its ref.
 * Errors: TROUPE_EINVAL (NULL sys/beh/out, no handle callback, bad opts:
 * a pin_worker the pool does not have), TROUPE_ENOTFOUND (no pool of
 * opts.pool's name),
 * TROUPE_ENOMEM, TROUPE_ESHUTDOWN, TROUPE_EFAILED (init panicked) or init's
 * own negative code; on error nothing was started and *out is NONE. */
TROUPE_API int troupe_spawn(troupe_system *sys, const troupe_behaviour *beh, const void *arg,
                            const troupe_spawn_opts *opts, troupe_ref *out);

/* Ask an actor to stop: a stop signal on its system lane, served before its
 * user messages. Returns at once; TROUPE_ENOACTOR if already gone.
 *
 * When it takes effect: if a handler of the actor is running when the stop
 * arrives, once that handler returns; otherwise before the actor's next
 * message. No user message still queued then is handled by this
 * incarnation: the stop callback runs (on a worker) and an actor that ends
 * destroys them (counted in messages_destroyed); a supervised child that
 * its supervisor restarts keeps them for the new incarnation
 * (troupe/supervisor.h). A TROUPE_BEH_TRAP_STOP behaviour gets the stop as
 * its next message instead (TROUPE_MSG_STOP, ahead of the queued ones).
 * TROUPE_EINVAL for a NULL sys. */
TROUPE_API int troupe_stop(troupe_system *sys, troupe_ref ref);

/* From a handler: stop the running actor after this handler returns.
 * Errors: TROUPE_EINVAL (NULL ctx, or a ctx with no running actor). */
TROUPE_API int troupe_stop_self(troupe_ctx *ctx);

/* 1 if ref names a live actor now, 0 if not (a hint: it may stop next).
 * Never fails: a NULL sys, or another system's ref, reads 0. */
TROUPE_API int troupe_alive(troupe_system *sys, troupe_ref ref);

/* Counters of a live actor's mailbox. TROUPE_ENOACTOR once it stopped;
 * TROUPE_EINVAL for a NULL sys or out. */
TROUPE_API int troupe_actor_stats(troupe_system *sys, troupe_ref ref, troupe_mailbox_stats *out);

/* The handler context. */
TROUPE_API troupe_ref troupe_self(const troupe_ctx *ctx);
TROUPE_API troupe_system *troupe_ctx_system(const troupe_ctx *ctx);
/* The worker index (0..workers-1) running the handler. */
TROUPE_API uint32_t troupe_ctx_worker(const troupe_ctx *ctx);

/* From any thread: the ref of the actor whose handler is running on this
 * thread, or NONE. */
TROUPE_API troupe_ref troupe_current(void);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_ACTOR_H */
