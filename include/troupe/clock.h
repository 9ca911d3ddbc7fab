/* troupe/clock.h — the injectable clock.
 *
 * Timers, ask timeouts and restart backoffs read time only through a
 * troupe_clock. The default is CLOCK_MONOTONIC. A manual clock moves only
 * when told to, so that tests of delays never sleep: troupe_clock_advance()
 * moves it and returns once every timer that became due has fired (its
 * message has been sent — not necessarily handled yet).
 *
 * Thread safety: troupe_clock_now() and troupe_clock_advance() may be
 * called from any thread.
 */
#ifndef TROUPE_CLOCK_H
#define TROUPE_CLOCK_H

#include <stdint.h>

#include "troupe/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct troupe_clock troupe_clock;

/* A monotonic clock in nanoseconds. `ud` is the user's pointer. */
typedef uint64_t (*troupe_clock_fn)(void *ud);

/* A clock that calls `now(ud)`. `now` must be monotonic and thread-safe.
 * *out is owned by the caller: destroy it after every system using it.
 * Errors: TROUPE_EINVAL (NULL out or now), TROUPE_ENOMEM. */
TROUPE_API int troupe_clock_create(troupe_clock **out, troupe_clock_fn now, void *ud);

/* A manual clock starting at `start_ns`. Errors: TROUPE_EINVAL (NULL
 * out), TROUPE_ENOMEM. */
TROUPE_API int troupe_clock_create_manual(troupe_clock **out, uint64_t start_ns);

/* NULL is accepted and ignored. */
TROUPE_API void troupe_clock_destroy(troupe_clock *clk);

/* Current time in ns. NULL means the monotonic clock. */
TROUPE_API uint64_t troupe_clock_now(const troupe_clock *clk);

/* Manual clocks only (else TROUPE_EINVAL): add `delta_ns` (saturating at
 * UINT64_MAX, where "never" deadlines still do not fire), then fire every
 * timer now due, in deadline order, in every system using this clock. */
TROUPE_API int troupe_clock_advance(troupe_clock *clk, uint64_t delta_ns);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_CLOCK_H */
