/* troupe/breaker.h — circuit breakers: fail fast on a callee that keeps failing.
 *
 * A breaker holds circuits, one per uint64 key the caller chooses (a ref's
 * id, `ref.id`, gives one circuit per actor). A circuit is CLOSED (calls go
 * through), OPEN (calls fail at once with TROUPE_ECIRCUIT) or HALF_OPEN
 * (a few trial calls go through):
 *
 *   CLOSED -> OPEN       after failure_threshold consecutive failures, or
 *                        when the failures in the sliding window reach
 *                        failure_rate of its calls (once it holds at least
 *                        min_calls calls);
 *   OPEN -> HALF_OPEN    once the open timeout has passed (checked by the
 *                        next acquire or info read: no timer runs);
 *   HALF_OPEN -> CLOSED  after success_threshold successful trials;
 *   HALF_OPEN -> OPEN    on any failed trial, for a longer timeout.
 *
 * The open timeout starts at open_timeout_ns and is multiplied by
 * backoff_multiplier on each trip that follows without a close in between,
 * up to max_open_timeout_ns; a close resets it. At most half_open_max
 * trials run at once. The window is window_buckets buckets of
 * window_ns / window_buckets each: an outcome leaves it between
 * window_ns - bucket and window_ns after it was recorded.
 *
 * Protecting a call: troupe_breaker_acquire gives a permit (or
 * TROUPE_ECIRCUIT, and nothing else happens), the call runs, and
 * troupe_breaker_record reports how it went — exactly once per permit
 * (troupe_breaker_cancel returns a permit whose call did not run).
 * troupe_breaker_ask does the three around troupe_ask. An outcome counts
 * only in the state its permit was given in: a slow call that ends after
 * its circuit changed state is counted in the totals, and changes nothing.
 *
 * Time is the system's clock (troupe_config.clock): with a manual clock,
 * troupe_clock_advance moves the open timeouts and the window.
 *
 * Thread safety: every call may be made from any thread, handlers
 * included (troupe_breaker_ask only from a plain thread, as troupe_ask).
 * Circuits are spread over 16 lock stripes by key; acquire, record, cancel
 * and info take one stripe's mutex for a few dozen instructions and never
 * wait while holding it. troupe_breaker_list takes the system's breaker
 * list lock, then each stripe in turn. troupe_breaker_destroy must not
 * race any other call on the same breaker.
 *
 * Pointer ownership: the name and the config are copied in. The breaker is
 * the caller's until troupe_breaker_destroy; one the caller has not
 * destroyed is freed by troupe_system_destroy (the pointer is then dead).
 * Permits and infos are the caller's memory.
 */
#ifndef TROUPE_BREAKER_H
#define TROUPE_BREAKER_H

#include <stddef.h>
#include <stdint.h>

#include "troupe/export.h"
#include "troupe/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct troupe_system troupe_system;
typedef struct troupe_breaker troupe_breaker;

/* Longest breaker name, in bytes (without the terminating NUL). */
#define TROUPE_BREAKER_NAME_MAX 63
/* Most buckets a window may have. */
#define TROUPE_BREAKER_MAX_BUCKETS 64

typedef enum troupe_breaker_state {
    TROUPE_BREAKER_CLOSED = 0,
    TROUPE_BREAKER_OPEN = 1,
    TROUPE_BREAKER_HALF_OPEN = 2,
} troupe_breaker_state;

typedef struct troupe_breaker_config {
    uint32_t failure_threshold;   /* consecutive failures that open (>= 1) */
    double failure_rate;          /* window failure rate that opens, in (0, 1] */
    uint32_t min_calls;           /* calls the window needs before the rate counts (>= 1) */
    uint64_t window_ns;           /* sliding window length (>= window_buckets) */
    uint32_t window_buckets;      /* 1..TROUPE_BREAKER_MAX_BUCKETS */
    uint64_t open_timeout_ns;     /* first open period (> 0) */
    double backoff_multiplier;    /* growth per repeated trip, in [1, 1000] */
    uint64_t max_open_timeout_ns; /* cap on the open period (>= open_timeout_ns) */
    uint32_t half_open_max;       /* trials running at once in HALF_OPEN (>= 1) */
    uint32_t success_threshold;   /* successful trials that close (>= 1) */
    uint8_t reserved[32];         /* zero */
} troupe_breaker_config;

/* 5 consecutive failures, or >= 50% of >= 20 calls in 10 s (10 buckets);
 * open 1 s, doubling up to 60 s; 1 trial at a time, 1 success closes.
 * NULL is ignored. */
TROUPE_API void troupe_breaker_config_defaults(troupe_breaker_config *cfg);

/* A permit: what acquire gives and record / cancel take back. Its fields
 * are the runtime's; the caller only passes it back. */
typedef struct troupe_breaker_permit {
    uint64_t key;
    uint64_t epoch;
    uint32_t breaker;
    uint32_t flags;
} troupe_breaker_permit;

/* One circuit, as troupe_breaker_info_get and troupe_breaker_list show it.
 * Transition counts are transitions into each state (the initial CLOSED
 * is not one). */
typedef struct troupe_breaker_info {
    char name[TROUPE_BREAKER_NAME_MAX + 1]; /* the breaker's name */
    uint64_t key;
    troupe_breaker_state state;
    uint32_t consecutive_failures; /* failures since the last success or close */
    uint64_t window_calls;         /* outcomes in the window (CLOSED only) */
    uint64_t window_failures;
    uint32_t half_open_inflight;   /* trials running now */
    uint32_t half_open_successes;  /* successful trials so far */
    uint64_t opened, half_opened, closed; /* transitions into each state */
    uint64_t rejected;             /* acquires refused with TROUPE_ECIRCUIT */
    uint64_t calls, failures;      /* outcomes recorded, ever */
    uint32_t trips;                /* opens since the last close */
    uint64_t open_timeout_ns;      /* this open period, or the next one's */
    uint64_t open_until_ns;        /* OPEN: when trials start; else 0 */
} troupe_breaker_info;

/* A breaker on `sys` named `name` (1..TROUPE_BREAKER_NAME_MAX bytes, names
 * need not be unique); cfg NULL = defaults. Errors: TROUPE_EINVAL (NULL
 * sys/name/out, bad name or config), TROUPE_ENOMEM, TROUPE_ESHUTDOWN. */
TROUPE_API int troupe_breaker_create(troupe_system *sys, const char *name,
                                     const troupe_breaker_config *cfg, troupe_breaker **out);

/* Free the breaker and its circuits. NULL is accepted and ignored. */
TROUPE_API void troupe_breaker_destroy(troupe_breaker *b);

/* Ask to make a call under `key`'s circuit (created CLOSED on first use).
 * 0: go ahead, then record or cancel *permit. TROUPE_ECIRCUIT: the circuit
 * is OPEN, or HALF_OPEN with half_open_max trials running; counted in
 * `rejected`. TROUPE_EINVAL (NULL b/permit), TROUPE_ENOMEM. */
TROUPE_API int troupe_breaker_acquire(troupe_breaker *b, uint64_t key,
                                      troupe_breaker_permit *permit);

/* Report how the permitted call went (success != 0: it succeeded). The
 * permit is spent. TROUPE_EINVAL: NULL, a permit of another breaker, or one
 * already spent; TROUPE_ENOTFOUND: its key has no circuit here. */
TROUPE_API int troupe_breaker_record(troupe_breaker *b, troupe_breaker_permit *permit,
                                     int success);

/* Give a permit back unused: the call did not run (nothing is counted; a
 * trial's slot is freed). Errors as troupe_breaker_record. */
TROUPE_API int troupe_breaker_cancel(troupe_breaker *b, troupe_breaker_permit *permit);

/* troupe_ask through `key`'s circuit (pass to.id for one circuit per
 * actor). TROUPE_ECIRCUIT, with nothing sent, when the circuit refuses.
 * Otherwise troupe_ask's result: 0 and TROUPE_ETRUNC (the callee answered,
 * more than reply_cap) are recorded as a success, and
 * TROUPE_ENOACTOR, TROUPE_ETIMEDOUT, TROUPE_EFAILED and TROUPE_EFULL as
 * failures; other errors (the caller's or the system's: EINVAL, ESTATE,
 * ESHUTDOWN, ENOMEM) cancel the permit. To judge replies too, use acquire
 * and record around troupe_ask (or troupe_ask_async in a handler). */
TROUPE_API int troupe_breaker_ask(troupe_breaker *b, uint64_t key, troupe_ref to, uint32_t type,
                                  const void *data, size_t len, uint64_t timeout_ns,
                                  uint32_t *reply_type, void *reply_buf, size_t reply_cap,
                                  size_t *reply_len);

/* The state and counters of `key`'s circuit (an OPEN circuit whose timeout
 * has passed becomes HALF_OPEN here). TROUPE_EINVAL (NULL b/out),
 * TROUPE_ENOTFOUND (no circuit for key). */
TROUPE_API int troupe_breaker_info_get(troupe_breaker *b, uint64_t key,
                                       troupe_breaker_info *out);

/* Every circuit of every breaker of `sys` not yet destroyed: the first
 * min(cap, *total) go to out[] (out may be NULL when cap is 0), *total gets
 * how many there are. Order: breakers newest first, then by stripe.
 * TROUPE_EINVAL (NULL sys/total, NULL out with cap > 0). */
TROUPE_API int troupe_breaker_list(troupe_system *sys, troupe_breaker_info *out, size_t cap,
                                   size_t *total);

/* "closed", "open", "half_open"; "unknown" otherwise. Static, never NULL. */
TROUPE_API const char *troupe_breaker_state_name(troupe_breaker_state state);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_BREAKER_H */
