/* troupe/testkit.h — a deterministic test kit: a system in test mode.
 *
 * A kit wraps a system that has no worker thread and no supervisor thread.
 * Nothing runs until the test asks: troupe_testkit_step() runs one ready
 * actor for one message on the calling thread, and which of the ready
 * actors runs is chosen by a PRNG seeded from the kit's seed. The same
 * seed and the same calls from the test give the same steps in the same
 * order, the same handler order and the same final state on every run;
 * another seed may give another order. Every step is recorded (the actor,
 * the type of the message, how many actors were ready): read it back with
 * troupe_testkit_trace(), compare runs with troupe_testkit_trace_hash().
 *
 * Time is a manual clock (troupe/clock.h): troupe_testkit_advance() moves it
 * and sends the messages of the timers now due, in deadline order; the
 * next steps handle them. Supervision works: an actor's failure reaches its
 * supervisor on the kit's thread at the next step, and the restart runs as
 * a step of its own. docs/TESTKIT.md has an example and the limits
 * (persistence's journal writer is a thread of its own: not in test mode).
 *
 * Thread safety: a kit and its system are used from one thread at a time
 * (the test's). troupe_tell, troupe_spawn, troupe_send_after, the
 * supervisor's calls and every other call of the system's that does not
 * wait work on the kit's system; troupe_ask and troupe_call would wait for
 * a thread that is not there and fail with TROUPE_ESTATE: use
 * troupe_testkit_ask. troupe_system_shutdown fails with TROUPE_ESTATE and
 * troupe_system_destroy ignores a kit's system: troupe_testkit_destroy
 * ends it. A handle that is not a live kit (destroyed, or never one) fails
 * every call with TROUPE_ENOTFOUND and is never dereferenced.
 */
#ifndef TROUPE_TESTKIT_H
#define TROUPE_TESTKIT_H

#include <stddef.h>
#include <stdint.h>

#include "troupe/export.h"
#include "troupe/system.h"
#include "troupe/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct troupe_testkit troupe_testkit;

typedef struct troupe_testkit_config {
    /* Seeds the PRNG that picks the next actor among the ready ones. Any
     * value, 0 too. */
    uint64_t seed;
    /* The last steps kept for troupe_testkit_trace (65536); 0 keeps none
     * (the hash still covers every step). At most 1 << 24. */
    uint32_t trace_capacity;
    /* The system's configuration (troupe_config_defaults). The kit sets
     * workers 1 (a stand-in that never starts), health_interval_ns and
     * stall_ns 0 (no health monitor: it would ping on its own schedule).
     * clock: NULL = a manual clock at 0 owned by the kit; else a manual
     * clock of the caller's (which must outlive the kit). journal must be
     * NULL. */
    troupe_config system;
    uint8_t reserved[64];
} troupe_testkit_config;

/* Fill *cfg with the defaults above (seed 0). NULL is ignored. */
TROUPE_API void troupe_testkit_config_defaults(troupe_testkit_config *cfg);

/* A step's type when it ran no message of the actor's: the re-init of a
 * supervised actor (its restart), or a run that found only what others had
 * parked for it. */
#define TROUPE_TESTKIT_RESTART 0xFFFFFFFFu
#define TROUPE_TESTKIT_NOMSG 0xFFFFFFFEu

/* One step: one run of one actor. */
typedef struct troupe_testkit_step_info {
    uint64_t index;   /* 0 for the kit's first step, then 1, 2, ... */
    troupe_ref actor; /* the actor that ran */
    /* the actor's slot (its ref's index): a ref also carries its
     * system's tag, which differs between two kits of one process; the
     * slot is the same in every run of a seed */
    uint32_t slot;
    /* the first message it handled: a user type, a system type
     * (>= TROUPE_MSG_SYSTEM: an ask's reply or timeout, a stop), or
     * TROUPE_TESTKIT_RESTART / _NOMSG */
    uint32_t type;
    /* messages taken from the mailbox's ring: 0 or 1 (a reply to
     * troupe_ask_async, its timeout and a stop come on the system lane,
     * served first in the same step and not counted here) */
    uint32_t handled;
    uint32_t ready;   /* actors that were ready when this one was picked */
    uint8_t reserved[16];
} troupe_testkit_step_info;

/* Create a kit and its system. cfg NULL = defaults. *out is the caller's,
 * released with troupe_testkit_destroy(). Errors: TROUPE_EINVAL (NULL out,
 * a clock that is not manual, trace_capacity over 1 << 24, or what
 * troupe_system_create refuses), TROUPE_ENOTSUP (a journal), TROUPE_ENOMEM,
 * TROUPE_ESYS, TROUPE_EBUSY (as troupe_system_create). */
TROUPE_API int troupe_testkit_create(troupe_testkit **out, const troupe_testkit_config *cfg);

/* Shut the system down the way troupe_system_destroy does — the
 * supervision tree first, then every actor's stop — running the steps
 * this takes on the calling thread (bounded), then free it all. NULL, a
 * handle that is not a live kit, and a call from a handler are ignored. */
TROUPE_API void troupe_testkit_destroy(troupe_testkit *kit);

/* The kit's system, for every call of the API (spawn, tell, timers,
 * supervision, stats). NULL for a handle that is not a live kit. */
TROUPE_API troupe_system *troupe_testkit_system(troupe_testkit *kit);

/* The kit's manual clock. NULL for a handle that is not a live kit. */
TROUPE_API troupe_clock *troupe_testkit_clock(troupe_testkit *kit);

/* The kit whose system sys is. Errors: TROUPE_EINVAL (NULL sys or out),
 * TROUPE_ESTATE (sys is not in test mode: a normal system). */
TROUPE_API int troupe_testkit_of(troupe_system *sys, troupe_testkit **out);

/* Run one step: apply what the supervisor has to do (exits, due
 * restarts), pick one ready actor with the PRNG, run it for one message
 * on this thread, record the step. 1: a step ran (in *out if not NULL);
 * 0: no actor was ready (idle). Errors: TROUPE_ENOTFOUND (not a live kit),
 * TROUPE_ESTATE (called from a handler). */
TROUPE_API int troupe_testkit_step(troupe_testkit *kit, troupe_testkit_step_info *out);

/* As troupe_testkit_step_info, but run `actor` (if it is ready) instead of the
 * PRNG's pick: a test that orders the steps itself. Recorded as any step;
 * the PRNG does not move. 1: ran. Errors: TROUPE_ENOTFOUND (not a live
 * kit, or `actor` is not ready now), TROUPE_ESTATE (from a handler). */
TROUPE_API int troupe_testkit_step_actor(troupe_testkit *kit, troupe_ref actor,
                                         troupe_testkit_step_info *out);

/* Step until no actor is ready, at most max_steps steps (0 = 1,000,000).
 * *steps (may be NULL) gets the steps run. Errors: TROUPE_EBUSY (max_steps
 * ran and an actor is still ready: a livelock, or a bound too small),
 * TROUPE_ENOTFOUND, TROUPE_ESTATE (as troupe_testkit_step_info). */
TROUPE_API int troupe_testkit_run_until_idle(troupe_testkit *kit, uint64_t max_steps,
                                             uint64_t *steps);

/* Move the kit's clock by delta_ns and send the messages of every timer
 * now due (troupe_clock_advance), in deadline order; nothing runs until
 * the next step. Errors: TROUPE_ENOTFOUND, TROUPE_ESTATE (from a handler). */
TROUPE_API int troupe_testkit_advance(troupe_testkit *kit, uint64_t delta_ns);

/* troupe_ask for a kit: send the request, then step until its reply is
 * in, at most max_steps steps (0 = 1,000,000). The reply as troupe_ask
 * gives it. Errors: as troupe_ask's send (TROUPE_EINVAL, TROUPE_ENOACTOR,
 * TROUPE_EFULL, TROUPE_ESHUTDOWN, TROUPE_ENOMEM), TROUPE_EFAILED (the actor
 * failed handling it), TROUPE_ETRUNC, TROUPE_ETIMEDOUT (the system went
 * idle, or max_steps ran, with no reply: an advance of the clock may be
 * what it waits for), TROUPE_ENOTFOUND, TROUPE_ESTATE (from a handler). */
TROUPE_API int troupe_testkit_ask(troupe_testkit *kit, troupe_ref to, uint32_t type,
                                  const void *data, size_t len, uint64_t max_steps,
                                  uint32_t *reply_type, void *reply_buf, size_t reply_cap,
                                  size_t *reply_len);

/* Copy the kept steps, oldest first, into out[0..cap) (up to
 * trace_capacity of the latest steps are kept); *n gets how many were
 * kept (may be more than cap: call again with more room). out may be NULL
 * when cap is 0. Errors: TROUPE_EINVAL (NULL n, or NULL out with cap > 0),
 * TROUPE_ENOTFOUND. */
TROUPE_API int troupe_testkit_trace(troupe_testkit *kit, troupe_testkit_step_info *out, size_t cap,
                                    size_t *n);

/* A 64-bit hash (FNV-1a) of every step since create — slot, generation,
 * type, handled, ready — and the number of steps. Two runs with equal
 * hashes ran the same steps. Either pointer may be NULL. Errors:
 * TROUPE_ENOTFOUND. */
TROUPE_API int troupe_testkit_trace_hash(troupe_testkit *kit, uint64_t *hash, uint64_t *steps);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_TESTKIT_H */
