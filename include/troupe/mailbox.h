/* troupe/mailbox.h — mailbox capacity, overflow policies, per-actor counters.
 *
 * Every actor receives through a bounded MPSC ring (many senders, one
 * receiver). The ring is allocated at the first message, not at spawn, so an
 * idle actor stays small. When the ring holds `capacity` messages, the next
 * user message meets the actor's overflow policy. The system lane (stop,
 * replies, timeouts) is separate, unbounded, and never meets a policy.
 */
#ifndef TROUPE_MAILBOX_H
#define TROUPE_MAILBOX_H

#include <stdint.h>

#include "troupe/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest accepted mailbox capacity (messages). */
#define TROUPE_MAILBOX_MAX_CAPACITY (1u << 22)

typedef enum troupe_overflow {
    /* Sender waits: a plain thread blocks up to the system's
     * block_timeout_ns (then TROUPE_ETIMEDOUT, the caller keeps the
     * message), asleep until the receiver has drained half its ring; an actor sender is never blocked — the message is parked
     * with the receiver and the sender is muted (not run again) until the
     * receiver has taken it. Loses nothing. The default. */
    TROUPE_OVERFLOW_BLOCK = 0,
    /* The send fails with TROUPE_EFULL; the caller keeps the message. */
    TROUPE_OVERFLOW_REJECT = 1,
    /* The incoming message is destroyed and counted; the send returns 0.
     * A dropped ask fails at once with TROUPE_EFULL (its asker does not
     * wait for the timeout). */
    TROUPE_OVERFLOW_DROP_NEWEST = 2,
    /* The oldest queued message is destroyed and counted to make room;
     * the incoming message always gets in (the send returns 0), however
     * many senders race for the room. The send may wait only for the
     * oldest's own sender to finish writing it. An evicted ask fails at
     * once with TROUPE_EFULL. */
    TROUPE_OVERFLOW_DROP_OLDEST = 3,
    /* The message goes to another actor (the spawn option redirect_to, or
     * the system's dead-letter actor); counted as redirected. An ask that
     * reaches the dead-letter actor fails with TROUPE_ENOACTOR. */
    TROUPE_OVERFLOW_REDIRECT = 4,
} troupe_overflow;

/* Counters of one actor's mailbox. Read with troupe_actor_stats(); values
 * are a consistent-enough snapshot (each is exact, they are not read at one
 * instant). They survive nothing: a new actor starts from zero. */
typedef struct troupe_mailbox_stats {
    uint64_t accepted;   /* messages that entered the ring */
    uint64_t handled;    /* messages whose handler returned (or failed) */
    uint64_t dropped;    /* destroyed by DROP_NEWEST / DROP_OLDEST */
    uint64_t rejected;   /* refused with TROUPE_EFULL (REJECT, BLOCK timeout) */
    uint64_t redirected; /* forwarded by REDIRECT */
    uint64_t parked;     /* messages parked by BLOCK (their senders muted) */
    uint64_t failed;     /* messages whose handler failed */
    uint32_t depth;      /* messages queued now (ring + parked) */
    uint32_t capacity;   /* the bound of the ring */
} troupe_mailbox_stats;

/* Name of a policy ("block", "reject", ...); static, never NULL. */
TROUPE_API const char *troupe_overflow_name(troupe_overflow policy);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_MAILBOX_H */
