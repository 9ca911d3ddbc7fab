/* troupe/timer.h — send-after, send-interval, cancel.
 *
 * One timer thread per system keeps a min-heap of deadlines read from the
 * system's clock (troupe_config.clock). A due timer sends its message with
 * troupe_tell semantics (its overflow policy applies; a target that stopped
 * ends an interval timer). Precision with the monotonic clock: about a
 * millisecond or better. With a manual clock, timers fire inside
 * troupe_clock_advance().
 *
 * Thread safety: all calls from any thread.
 */
#ifndef TROUPE_TIMER_H
#define TROUPE_TIMER_H

#include <stddef.h>
#include <stdint.h>

#include "troupe/export.h"
#include "troupe/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct troupe_system troupe_system;

/* A timer handle: a small value; a stale one fails cleanly. */
typedef struct troupe_timer {
    uint64_t id;
} troupe_timer;

/* Send a copy of data[0..len) (at most TROUPE_INLINE_MAX bytes) to `to`
 * after delay_ns. *out may be NULL. Errors: TROUPE_EINVAL (NULL sys, to
 * NONE, NULL data with len > 0, len > TROUPE_INLINE_MAX, a type in the
 * system range), TROUPE_ENOMEM, TROUPE_ESHUTDOWN. Deadlines saturate: one that does not fit in 64 bits
 * (delay_ns = UINT64_MAX, say) is "never" — the timer stays pending (it
 * can be canceled) and never fires, on any clock. */
TROUPE_API int troupe_send_after(troupe_system *sys, troupe_ref to, uint32_t type,
                                 const void *data, size_t len, uint64_t delay_ns,
                                 troupe_timer *out);

/* As send_after, then again every interval_ns (> 0) until canceled, the
 * target stops, or the system shuts down. Deadlines do not drift; a next
 * deadline that does not fit in 64 bits is never (pending, not fired).
 * When the clock jumps past several periods at once (a manual clock's
 * advance, a machine resumed), the timer fires once and its next deadline
 * is the first period after now, in phase: missed periods are skipped,
 * never fired in a burst.
 * Errors: as troupe_send_after; TROUPE_EINVAL also for interval_ns 0. */
TROUPE_API int troupe_send_interval(troupe_system *sys, troupe_ref to, uint32_t type,
                                    const void *data, size_t len, uint64_t delay_ns,
                                    uint64_t interval_ns, troupe_timer *out);

/* Cancel: 0 if the timer was pending (it will not fire again),
 * TROUPE_ENOTFOUND if it already fired (one-shot) or was canceled;
 * TROUPE_EINVAL for a NULL sys or a zero handle. */
TROUPE_API int troupe_timer_cancel(troupe_system *sys, troupe_timer t);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_TIMER_H */
