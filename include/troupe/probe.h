/* troupe/probe.h — an actor's latency and its trace buffer.
 *
 * Latency: one message in 256 sent into a mailbox is stamped with its send
 * time; when it is handled, its time in the mailbox (the wait before its
 * handler ran) and its handling time are counted in histograms of its
 * actor's type (exported by troupe_metrics_write as
 * troupe_mailbox_wait_seconds and troupe_handle_seconds) and of the actor
 * itself (troupe_actor_latency_get). Unstamped messages cost nothing more.
 *
 * Trace (recon_trace in Erlang's terms): troupe_trace_arm records the next
 * N messages an actor handles — type, sender, time in mailbox, handling
 * time, outcome — into a buffer read by troupe_trace_read. While armed,
 * every message sent to the actor is stamped. At most
 * TROUPE_TRACE_ACTORS actors are armed at once, at most TROUPE_TRACE_MAX
 * records each. Every call may be made from any thread. */
#ifndef TROUPE_PROBE_H
#define TROUPE_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "troupe/export.h"
#include "troupe/failure.h"
#include "troupe/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TROUPE_TRACE_MAX 1000u   /* records one trace may ask for */
#define TROUPE_TRACE_ACTORS 16u  /* actors armed at once */

/* An actor's sampled latency (this slot's actors since the system began:
 * incarnations of a restarted actor share it). Quantiles are the upper
 * bound of a power-of-two bucket (256 ns, 512 ns, ...); 0 when nothing was
 * sampled. */
typedef struct troupe_latency_info {
    uint64_t samples;        /* stamped messages handled */
    uint64_t wait_p50_ns, wait_p99_ns, wait_avg_ns;       /* time in mailbox */
    uint64_t handle_p50_ns, handle_p99_ns, handle_avg_ns; /* handling time */
    uint8_t reserved[32];
} troupe_latency_info;

/* Fill *out for the actor ref. Errors: TROUPE_EINVAL (NULL sys or out),
 * TROUPE_ENOACTOR (stopped or stale ref). */
TROUPE_API int troupe_actor_latency_get(troupe_system *sys, troupe_ref ref, troupe_latency_info *out);

/* One traced message. */
typedef struct troupe_trace_record {
    uint32_t type;        /* the message's type */
    int ok;               /* 1: handled; 0: the handler failed (kind) */
    troupe_failure_kind kind;
    troupe_ref sender;    /* {0} when sent from outside an actor */
    uint64_t at_ns;       /* when its handler started (monotonic clock) */
    int64_t wait_ns;      /* time in mailbox; -1 when not stamped */
    uint64_t handle_ns;   /* handling time (to the failure, if it failed) */
    uint8_t reserved[16];
} troupe_trace_record;

/* Record the next count (1..TROUPE_TRACE_MAX) messages ref handles,
 * replacing the records of an earlier trace of it. Errors: TROUPE_EINVAL
 * (NULL sys, count out of range), TROUPE_ENOACTOR (stopped or stale ref),
 * TROUPE_EBUSY (TROUPE_TRACE_ACTORS other actors armed), TROUPE_ENOMEM,
 * TROUPE_ENOTSUP (built without metrics: nothing is timed),
 * TROUPE_ESHUTDOWN. */
TROUPE_API int troupe_trace_arm(troupe_system *sys, troupe_ref ref, uint32_t count);

/* Copy up to cap of ref's trace records, oldest first, to out (may be NULL
 * when cap is 0); *n gets how many are recorded, *left (may be NULL) how
 * many the trace still waits for (0: done or disarmed). The records of an
 * actor that ended (a traced actor that failed: its last record says how)
 * stay readable through its ref until its slot is reused. Errors:
 * TROUPE_EINVAL (NULL sys or n, NULL out with cap > 0), TROUPE_ENOACTOR
 * (not a ref of this system), TROUPE_ENOTFOUND (never traced, or the slot
 * was reused). */
TROUPE_API int troupe_trace_read(troupe_system *sys, troupe_ref ref, troupe_trace_record *out,
                                 size_t cap, size_t *n, uint32_t *left);

/* Stop ref's trace and forget its records (an ended actor's too, as
 * troupe_trace_read). Errors: TROUPE_EINVAL (NULL sys), TROUPE_ENOACTOR
 * (not a ref of this system), TROUPE_ENOTFOUND (never traced). */
TROUPE_API int troupe_trace_disarm(troupe_system *sys, troupe_ref ref);

#ifdef __cplusplus
}
#endif

#endif
