/* troupe/async.h — asynchronous calls from plain threads and event loops,
 * deferred replies, and views of an actor's state read without a message.
 *
 * 1. Calls. A call is an ask that returns at once. Its outcome comes one of
 *    three ways:
 *    - a callback (troupe_ask_cb), run once on the thread that completes the
 *      call: a worker (the reply), the timer thread (the timeout), or the
 *      thread destroying the system. It must be short and must not block.
 *    - a handle in a call queue (troupe_callq): wait or poll on it, then read
 *      its result; with TROUPE_CALLQ_FD, completed calls are also listed
 *      (troupe_callq_next) and an eventfd becomes readable, so an epoll,
 *      libuv or NNG loop waits for many replies at once.
 *    Many calls may be in flight from one thread.
 *
 *    Every call completes exactly once, with one of: 0 (the reply),
 *    TROUPE_ETIMEDOUT, TROUPE_EFAILED (the target failed while handling or
 *    holding the ask), TROUPE_ENOACTOR (it stopped before answering: the ask
 *    was still queued, or a deferred reply's holder stopped),
 *    TROUPE_ESHUTDOWN (the system was destroyed first).
 *
 *    Handles are values (index + generation), never pointers: using a handle
 *    after its release fails with TROUPE_ENOTFOUND instead of touching freed
 *    memory.
 *
 * 2. Deferred replies (OTP's gen_server:reply/2). A handler takes a token for
 *    the ask it is handling and answers later — from another message, or from
 *    any thread. A token held when its actor's incarnation ends (failure,
 *    stop, restart) fails its ask at once.
 *
 * 3. Views. An actor publishes an immutable object (a copy of part of its
 *    state); any thread reads the latest one without a message and without
 *    a lock (RCU, liburcu-bp). A view is freed (its free function, after
 *    every reader that could see it is done) when a newer one replaces it or
 *    when the actor's incarnation ends.
 *
 * Thread safety: every call here may be made from any thread unless noted.
 */
#ifndef TROUPE_ASYNC_H
#define TROUPE_ASYNC_H

#include <stddef.h>
#include <stdint.h>

#include "troupe/export.h"
#include "troupe/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct troupe_system troupe_system;

/* ---- calls by callback --------------------------------------------------- */

/* rc: the call's outcome (above). On 0, the reply's type and payload
 * (data valid during the callback only: copy what you keep). */
typedef void (*troupe_call_fn)(void *ud, int rc, uint32_t type, const void *data, size_t len);

/* Ask `to` and return at once; fn(ud, ...) runs exactly once, when the
 * call completes — possibly on another thread before this returns 0 (so ud
 * must be ready before the call). A timeout whose
 * deadline does not fit in 64 bits (UINT64_MAX) never comes; the deadline
 * is on the system's clock (troupe/clock.h).
 * Errors (fn is then never called): TROUPE_EINVAL (NULL sys or fn, a bad
 * payload as troupe_tell), and troupe_tell's errors for the request. */
TROUPE_API int troupe_ask_cb(troupe_system *sys, troupe_ref to, uint32_t type, const void *data,
                             size_t len, uint64_t timeout_ns, troupe_call_fn fn, void *ud);

/* ---- call queues and handles --------------------------------------------- */

/* A queue of calls, owned by the application (typically one per thread or
 * event loop). It may outlive its system: after troupe_system_destroy every
 * call on it fails with TROUPE_ESHUTDOWN (the calls in flight then are lost
 * with their replies); destroy the queue itself with troupe_callq_destroy. */
typedef struct troupe_callq troupe_callq;

/* A call in a queue; 0 is no call. */
typedef struct troupe_call_id {
    uint64_t id;
} troupe_call_id;

/* Flags of troupe_callq_create. */
#define TROUPE_CALLQ_FD 1u /* list completions, signal them on an eventfd */
/* troupe_ask_start from a plain thread runs the target on the starting
 * thread when it is idle, as troupe_call does: the call is complete (and
 * listed) when troupe_ask_start returns, with no worker woken and no
 * thread hand-off. Its handler then runs on your thread: leave this off on
 * an event-loop thread whose target's handlers may be slow or block. A
 * busy target is served as without the flag. From a handler: no effect. */
#define TROUPE_CALLQ_RUN_HERE 2u

/* flags: TROUPE_CALLQ_FD, TROUPE_CALLQ_RUN_HERE, or both.
 * 0, or TROUPE_EINVAL (NULL sys/out, unknown flags), TROUPE_ENOMEM,
 * TROUPE_ESYS (no eventfd), TROUPE_ESHUTDOWN. */
TROUPE_API int troupe_callq_create(troupe_system *sys, uint32_t flags, troupe_callq **out);

/* Release every call still in the queue (in flight: cancelled, a later reply
 * is dropped and counted as late), close the fd and free the queue. Not
 * concurrently with other calls on q. NULL is ignored. */
TROUPE_API void troupe_callq_destroy(troupe_callq *q);

/* The queue's eventfd (TROUPE_CALLQ_FD): readable while completed calls wait
 * in troupe_callq_next. Owned by the queue: do not close it. Negative:
 * TROUPE_EINVAL (NULL), TROUPE_ENOTSUP (created without TROUPE_CALLQ_FD). */
TROUPE_API int troupe_callq_fd(const troupe_callq *q);

/* Ask `to` and return at once with the call's handle in *out (ud is kept
 * with the call, for troupe_callq_next). Timeout as troupe_ask_cb.
 * Errors (no call was made): TROUPE_EINVAL (NULL q/out, a bad payload),
 * TROUPE_ESHUTDOWN (the system is gone), and troupe_tell's errors. */
TROUPE_API int troupe_ask_start(troupe_callq *q, troupe_ref to, uint32_t type, const void *data,
                                size_t len, uint64_t timeout_ns, void *ud, troupe_call_id *out);

/* 0 if the call has completed, TROUPE_EBUSY if it is in flight.
 * TROUPE_ENOTFOUND: no such call in q (released, or another queue's);
 * TROUPE_EINVAL (NULL q); TROUPE_ESHUTDOWN once the system is gone. */
TROUPE_API int troupe_call_poll(troupe_callq *q, troupe_call_id call);

/* Block the calling thread (never a worker: TROUPE_ESTATE) until the call
 * completes or timeout_ns passes: 0 completed, TROUPE_EBUSY still in flight
 * (the call's own timeout is separate). UINT64_MAX waits for ever.
 * TROUPE_ENOTFOUND, TROUPE_EINVAL and TROUPE_ESHUTDOWN as troupe_call_poll. */
TROUPE_API int troupe_call_wait(troupe_callq *q, troupe_call_id call, uint64_t timeout_ns);

/* The outcome of a completed call (TROUPE_EBUSY while in flight). On 0 the
 * reply's type goes to *type, its payload into buf (cap bytes) and its full
 * size to *len (each may be NULL; NULL buf with cap 0 = payload not wanted).
 * TROUPE_ETRUNC: the payload is larger than cap — nothing is consumed,
 * *len says the size needed, ask again with a larger buffer. May be read
 * any number of times until the call is released. TROUPE_ENOTFOUND,
 * TROUPE_EINVAL and TROUPE_ESHUTDOWN as troupe_call_poll. */
TROUPE_API int troupe_call_result(troupe_callq *q, troupe_call_id call, uint32_t *type, void *buf,
                                  size_t cap, size_t *len);

/* Release a call: every call from troupe_ask_start is released exactly once.
 * In flight: it is cancelled (a later reply is dropped and counted as late).
 * 0, or TROUPE_ENOTFOUND (already released, not this queue's, or the queue
 * was emptied by system destroy), TROUPE_EINVAL (NULL q). */
TROUPE_API int troupe_call_release(troupe_callq *q, troupe_call_id call);

/* TROUPE_CALLQ_FD queues: the next completed call, in completion order, its
 * ud to *ud (may be NULL). TROUPE_EBUSY when none is waiting (the fd is
 * then cleared: call until TROUPE_EBUSY after each readiness). A call
 * released before it was taken here is skipped. TROUPE_ENOTSUP without
 * TROUPE_CALLQ_FD; TROUPE_ESHUTDOWN once the system is gone; TROUPE_EINVAL
 * (NULL q or out). */
TROUPE_API int troupe_callq_next(troupe_callq *q, troupe_call_id *out, void **ud);

/* ---- deferred replies ---------------------------------------------------- */

/* A reply token: a value (index + generation). */
typedef struct troupe_reply_token {
    uint64_t id;
} troupe_reply_token;

/* From a handler: take over the reply to the ask being handled. The handler
 * does not reply now; the answer goes later through troupe_reply_to.
 * TROUPE_ESTATE if the message is not an ask or was already answered
 * (troupe_reply, troupe_persist_reply, an earlier defer) or outside a
 * handler; TROUPE_EINVAL for NULL; TROUPE_ENOMEM. */
TROUPE_API int troupe_reply_defer(troupe_ctx *ctx, troupe_reply_token *out);

/* Answer a deferred ask, from any thread (a handler of any actor included).
 * The payload is copied. 0: delivered (or its asker is gone). Errors:
 * TROUPE_EINVAL (NULL sys, a zero token, a bad payload), TROUPE_ENOTFOUND
 * (the ask no longer waits: already answered, timed out, or failed with its
 * holder — the reply is dropped and counted in late_replies),
 * TROUPE_ENOMEM. */
TROUPE_API int troupe_reply_to(troupe_system *sys, troupe_reply_token token, uint32_t type,
                               const void *data, size_t len);

/* ---- views --------------------------------------------------------------- */

/* Frees a view once no reader can see it (on liburcu's call_rcu thread). */
typedef void (*troupe_view_free_fn)(void *view);

/* From a handler or init of the actor: make `view` the actor's published
 * view (NULL withdraws it). The view must not change afterwards. The one it
 * replaces is freed after a grace period. On 0 the runtime owns `view`
 * (free_fn may be NULL: nothing to free); on error the caller keeps it.
 * Errors: TROUPE_EINVAL (NULL ctx), TROUPE_ESTATE (no running actor),
 * TROUPE_ENOMEM. */
TROUPE_API int troupe_view_publish(troupe_ctx *ctx, void *view, troupe_view_free_fn free_fn);

/* Read ref's current view: fn(view, ud) runs on the calling thread inside a
 * read-side section, the view stable for its length (fn must not block for
 * long, nor keep the pointer). Lock-free, no message.
 * 0, or TROUPE_EINVAL (NULL sys/fn), TROUPE_ENOTFOUND (no view published
 * by this incarnation of ref: none yet, withdrawn, or the actor ended; a
 * read racing the end may still see the last view, as troupe_alive is a
 * hint). The read does not touch the actor's mailbox lines: it never slows
 * the actor's senders. */
TROUPE_API int troupe_view_read(troupe_system *sys, troupe_ref ref,
                                void (*fn)(const void *view, void *ud), void *ud);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_ASYNC_H */
