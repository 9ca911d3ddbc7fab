/* troupe/fault.h — fault injection, for tests: lose or delay messages on
 * chosen actors, fail journal writes and syncs, move the wall clock.
 *
 * Meant for test programs (troupe's own and the user's): a production
 * system never calls these, and then they cost nothing. An actor without
 * message faults pays nothing either: a faulted actor carries a flag that
 * its worker tests at the start of a run, in the same test as the flags it
 * tests there already (core/run.c), so the plain path has no added
 * instruction (bench/bench_gate checks it).
 *
 * Messages: each user message that reaches a faulted actor's mailbox is
 * drawn once, in mailbox order, from a generator seeded by the spec: with
 * drop_ppm parts per million it is dropped (destroyed unhandled, as the
 * network would lose it: an ask's asker is not told, and its ask times out
 * with TROUPE_ETIMEDOUT), else with delay_ppm it is delayed by delay_ns on
 * the system's clock (a timer; with a manual clock, troupe_clock_advance
 * brings it) and then handled ahead of the mailbox, else it is handled as
 * usual. The same seed and the same order of arrival give the same
 * decisions. System messages (stops, replies, health pings) are never
 * touched. A faulted actor handles one message per run.
 *
 * Journal (troupe/persist.h): after `after` more writes (appends) of any
 * journal in the process, every one fails with TROUPE_EIO, the store left
 * untouched; or after `after` more syncs, every commit's events are
 * written but its sync fails (TROUPE_EIO) — durability unknown, as a failed
 * fsync leaves it. Either way the events of the failed commit are not
 * acknowledged and their actors fail with TROUPE_EXIT_PERSISTENCE.
 *
 * Wall clock: troupe_fault_wall_offset() moves what troupe_wall_ns()
 * answers (timestamps of the event log and of failures shown to people).
 * Timers, ask timeouts and restart backoffs run on the system's clock —
 * monotonic by default — so a wall-clock jump, forward or back, changes
 * none of them.
 *
 * Thread safety: every call from any thread. The journal and wall-clock
 * knobs are process-wide.
 */
#ifndef TROUPE_FAULT_H
#define TROUPE_FAULT_H

#include <stdint.h>

#include "troupe/export.h"
#include "troupe/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct troupe_system troupe_system;

#define TROUPE_FAULT_PPM 1000000u /* drop_ppm + delay_ppm at most this */

/* What to do to an actor's user messages. */
typedef struct troupe_fault_msgs {
    uint32_t drop_ppm;  /* parts per million of the messages dropped */
    uint32_t delay_ppm; /* parts per million delayed (of those not dropped by the draw) */
    uint64_t delay_ns;  /* how long a delayed message waits, on the system's clock */
    uint64_t seed;      /* the draws' seed: the same seed, the same decisions */
    unsigned char reserved[32];
} troupe_fault_msgs;

/* Zero rates, delay 1 ms, seed 1. */
TROUPE_API void troupe_fault_msgs_defaults(troupe_fault_msgs *f);

/* Apply f to the running incarnation of `actor` (NULL, or both rates 0:
 * stop injecting; the counters stay). The actor applies it when it serves
 * the request, ahead of its queued messages; a test that needs every
 * message after this call drawn waits for troupe_fault_stats.active
 * first. Applying
 * again restarts the draws from f->seed. A dropped message's destructor
 * runs outside the injector's lock and may call these functions. Known
 * limit: in a DROP_OLDEST mailbox, a message that the overflow evicts
 * between its draw and its handling lets the next one be handled without a
 * draw (drawn counts one fewer; the rates are then slightly under what was
 * asked). Errors: TROUPE_EINVAL (NULL sys,
 * rates adding up past TROUPE_FAULT_PPM, a delay of 0 with delay_ppm > 0),
 * TROUPE_ENOACTOR (not a live actor of sys), TROUPE_ENOMEM. */
TROUPE_API int troupe_fault_messages(troupe_system *sys, troupe_ref actor,
                                     const troupe_fault_msgs *f);

/* What the injector did to an actor's messages so far. */
typedef struct troupe_fault_stats {
    uint64_t drawn;   /* messages that went through a draw */
    uint64_t dropped;
    uint64_t delayed; /* sent on after their delay, or still waiting */
    int active;       /* 1 once the actor applied the spec (it serves the
                       * request on its system lane: usually before its
                       * next message, but one it is already handling, or
                       * takes in the same run, goes undrawn) */
    unsigned char reserved[28];
} troupe_fault_stats;

/* Copy the counters of `actor` (its current incarnation) into *out.
 * Errors: TROUPE_EINVAL (NULL sys or out), TROUPE_ENOACTOR, TROUPE_ENOTFOUND
 * (no faults were ever applied to this incarnation). */
TROUPE_API int troupe_fault_messages_stats(troupe_system *sys, troupe_ref actor,
                                           troupe_fault_stats *out);

typedef enum troupe_fault_io {
    TROUPE_FAULT_JOURNAL_WRITE = 0, /* the append fails, nothing stored */
    TROUPE_FAULT_JOURNAL_SYNC = 1,  /* stored, but the commit reports failure */
} troupe_fault_io;

/* Fail every journal `what` after `after` more succeed (after < 0: stop
 * failing). Errors: TROUPE_EINVAL (an unknown what). */
TROUPE_API int troupe_fault_journal(troupe_fault_io what, long after);

/* Add offset_ns (negative: back) to the wall clock troupe_wall_ns reads.
 * 0 takes it back to the system's time. Process-wide. */
TROUPE_API void troupe_fault_wall_offset(int64_t offset_ns);

/* The wall clock (CLOCK_REALTIME, ns since the epoch) plus the offset
 * injected. */
TROUPE_API uint64_t troupe_wall_ns(void);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_FAULT_H */
