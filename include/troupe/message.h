/* troupe/message.h — tell, ask, reply.
 *
 * Ownership, for every call here: on success (0) the runtime owns the
 * message — a pointer payload's destructor runs once it is handled, dropped
 * or undeliverable. On an error return the caller still owns it: nothing
 * was destroyed, the caller may retry or free it.
 *
 * Order: messages from one sender to one receiver arrive in the order sent.
 *
 * Thread safety: all calls may be made from any thread. From a handler,
 * the running actor is the sender (msg->sender at the receiver).
 */
#ifndef TROUPE_MESSAGE_H
#define TROUPE_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "troupe/export.h"
#include "troupe/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct troupe_system troupe_system;

/* Payloads up to this many bytes travel inside the mailbox slot; larger
 * ones are copied once into a runtime allocation. */
#define TROUPE_INLINE_MAX 24u
/* Largest payload troupe_tell copies (larger: use troupe_tell_ptr). */
#define TROUPE_COPY_MAX (1u << 20)

/* Send a copy of data[0..len) (len may be 0, data then may be NULL).
 * Errors: TROUPE_EINVAL (NULL sys, len > TROUPE_COPY_MAX, a type in the
 * system range), TROUPE_ENOACTOR, TROUPE_EFULL (REJECT), TROUPE_ETIMEDOUT
 * (BLOCK, from a plain thread), TROUPE_ESHUTDOWN, TROUPE_ENOMEM. */
TROUPE_API int troupe_tell(troupe_system *sys, troupe_ref to, uint32_t type, const void *data,
                           size_t len);

/* Send a pointer: on success the runtime owns `ptr` and calls dtor(ptr)
 * when done with it (dtor may be NULL: nothing to free). On error the
 * caller keeps it. The handler sees msg->ptr and may take it.
 * Errors: as troupe_tell (no size limit applies to a pointer). */
TROUPE_API int troupe_tell_ptr(troupe_system *sys, troupe_ref to, uint32_t type, void *ptr,
                               troupe_dtor dtor);

/* One message of a batch (troupe_tell_many): its type, and a payload that
 * is copied as troupe_tell copies it (len may be 0, data then may be NULL). */
typedef struct troupe_batch_msg {
    uint32_t type;
    uint32_t reserved; /* 0 */
    const void *data;
    size_t len;
} troupe_batch_msg;

/* Send msgs[0..n) to one actor, in order, as n troupe_tell calls would —
 * same order, ownership and overflow policies — but with the ring's slots
 * claimed for many messages at a time (one atomic per claim) and the
 * receiver scheduled once. Returns how many were accepted, from the
 * first: n when all were; fewer when it stopped at one that was not (the
 * mailbox full under REJECT, or under BLOCK from a plain thread until the
 * block timeout; the actor ended; out of memory): the rest was not sent,
 * and sending it again reports why. Under DROP_NEWEST, DROP_OLDEST and
 * REDIRECT every message counts as accepted, as troupe_tell returns 0.
 * From a handler, a full BLOCK mailbox parks the rest (the sender is
 * muted), as troupe_tell does. n == 0 returns 0.
 * Errors (nothing was sent): TROUPE_EINVAL (NULL sys, NULL msgs with
 * n > 0, n > INT_MAX, or any item invalid as troupe_tell's arguments —
 * checked for all before any is sent; reserved not 0), TROUPE_ENOACTOR, TROUPE_EFULL
 * (REJECT), TROUPE_ETIMEDOUT (BLOCK, plain thread), TROUPE_ESHUTDOWN,
 * TROUPE_ENOMEM. */
TROUPE_API int troupe_tell_many(troupe_system *sys, troupe_ref to, const troupe_batch_msg *msgs,
                                size_t n);

/* From a handler: take the pointer payload of the message being handled;
 * the runtime will then not destroy it (the caller owns it). NULL if the
 * message has none, or outside a handler. */
TROUPE_API void *troupe_msg_take(troupe_ctx *ctx);

/* Ask from a plain thread: send and block this thread (never a worker)
 * until the reply or the timeout. The reply's payload is copied into
 * reply_buf (up to reply_cap bytes; *reply_len gets its full size, may be
 * NULL) and its type into *reply_type (may be NULL). A payload larger than
 * reply_cap with a reply_buf given returns TROUPE_ETRUNC (the first
 * reply_cap bytes copied, *reply_len the full size); reply_buf NULL (and
 * reply_cap 0) means the payload is not wanted: 0.
 * Errors: as troupe_tell, plus TROUPE_ETIMEDOUT (the late reply is dropped
 * and counted), TROUPE_EFAILED (the target failed while handling the ask,
 * or while holding it for a deferred reply), TROUPE_ENOACTOR (it stopped
 * with the ask still queued or held: troupe/async.h), TROUPE_ESTATE when
 * called from a handler (use troupe_ask_async there: a worker never
 * blocks). Those two come at once, not at the timeout. A timeout whose
 * deadline does not fit in 64 bits (UINT64_MAX) waits for ever.
 * Without blocking: troupe_ask_start, troupe_ask_cb (troupe/async.h). */
TROUPE_API int troupe_ask(troupe_system *sys, troupe_ref to, uint32_t type, const void *data,
                          size_t len, uint64_t timeout_ns, uint32_t *reply_type, void *reply_buf,
                          size_t reply_cap, size_t *reply_len);

/* A synchronous call from a plain thread, at lock speed: troupe_ask, except
 * that when the receiver is idle (not scheduled, nothing queued) the
 * calling thread runs it itself, on its own stack, instead of waking a
 * worker — no thread hand-off, no sleep. The actor's guarantees hold on
 * this thread as on a worker: one message at a time (no worker runs it
 * meanwhile), earlier messages of this thread handled first, a failure or
 * troupe_panic reported and supervised (when that run failed handling
 * this request, unanswered, the call returns TROUPE_EFAILED at once; not
 * for a DROP_OLDEST mailbox, whose caller then waits for its timeout as
 * with troupe_ask), persisted events submitted (the reply then waits for
 * their apply, as for troupe_ask). While it holds the actor
 * this thread also serves, in the same run, requests other callers queued
 * meanwhile (up to the actor's batch; the rest goes to the workers). When
 * the receiver is busy the request queues like troupe_ask's and is served
 * by whichever thread runs it.
 *
 * Why a separate call and not troupe_ask itself: the semantics differ.
 * The timeout bounds only the wait for a reply served by another thread;
 * a handler this thread runs is never interrupted, so the call returns
 * when it returns, however long it takes. The handler runs on the calling
 * thread: its thread-local state, and any lock the caller holds, are those
 * of the caller (a handler that takes a lock the caller holds deadlocks,
 * where troupe_ask would time out). A stall there is not reported by the
 * stall watchdog, which watches workers (nothing waits behind it: the
 * handler's sends go to the workers); the health monitor's pings still
 * miss. troupe_ctx_worker reports 0 for such a run.
 * Errors: as troupe_ask (TROUPE_ESTATE from a handler), plus
 * TROUPE_EFAILED as above. */
TROUPE_API int troupe_call(troupe_system *sys, troupe_ref to, uint32_t type, const void *data,
                           size_t len, uint64_t timeout_ns, uint32_t *reply_type, void *reply_buf,
                           size_t reply_cap, size_t *reply_len);

/* Ask from a handler without blocking: the reply comes back to the running
 * actor as a message (its type is the replier's, msg->corr = *ask_id), or,
 * after timeout_ns, a TROUPE_MSG_ASK_TIMEOUT message with corr = *ask_id,
 * or, as soon as the target fails or stops with the ask unanswered, a
 * TROUPE_MSG_ASK_FAILED message (corr = *ask_id, payload the int32_t code:
 * TROUPE_EFAILED, TROUPE_ENOACTOR). Exactly one of them arrives; a timeout
 * whose deadline does not fit in 64 bits (UINT64_MAX) never comes. *ask_id
 * may be NULL.
 * Errors: as troupe_tell; TROUPE_ESTATE outside a handler. */
TROUPE_API int troupe_ask_async(troupe_ctx *ctx, troupe_ref to, uint32_t type, const void *data,
                                size_t len, uint64_t timeout_ns, uint64_t *ask_id);

/* From a handler: answer the message being handled, if it was an ask
 * (TROUPE_ESTATE if not, or if already answered or deferred). The payload
 * is copied. A reply after the ask timed out returns 0, is dropped and
 * counted in troupe_system_stats.late_replies. To answer later, from
 * another message or thread: troupe_reply_defer (troupe/async.h). A
 * persistent actor's apply may reply when no ask waits for its event
 * (recovery): 0, to no one. Errors: TROUPE_ESTATE, TROUPE_EINVAL (NULL
 * ctx, NULL data with len > 0, a type in the system range, a payload over
 * TROUPE_COPY_MAX), TROUPE_ENOMEM (the reply may be tried again). */
TROUPE_API int troupe_reply(troupe_ctx *ctx, uint32_t type, const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_MESSAGE_H */
