/* troupe/monitor.h — monitors: be told when another actor stops for good.
 *
 * troupe_monitor(watcher, target) arranges for `watcher` to receive one
 * TROUPE_MSG_DOWN message (payload: troupe_down) when `target` stops for
 * good: a stop, a failure it is not restarted from, a shutdown. A restart
 * under supervision is not a stop: the ref survives it and no DOWN is sent.
 * Monitoring a ref that is already gone sends DOWN at once with kind
 * TROUPE_EXIT_NOPROC (as Erlang's `noproc`). DOWN travels on the watcher's
 * system lane: it is never dropped by a full mailbox and never blocks the
 * thread that reports the stop.
 *
 * Thread safety: both calls from any thread, including handlers.
 */
#ifndef TROUPE_MONITOR_H
#define TROUPE_MONITOR_H

#include <stdint.h>

#include "troupe/export.h"
#include "troupe/failure.h"
#include "troupe/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct troupe_system troupe_system;

/* The type of a DOWN message; msg->data points to a troupe_down and
 * msg->sender is the actor that stopped. */
#define TROUPE_MSG_DOWN (TROUPE_MSG_SYSTEM + 2u)

typedef struct troupe_down {
    troupe_ref actor;              /* who stopped */
    uint64_t monitor;              /* the id troupe_monitor returned */
    troupe_failure_kind kind;      /* why */
    int code;                      /* reserved, 0 */
    char reason[TROUPE_REASON_MAX];/* the failure's text, if any */
} troupe_down;

/* Monitor `target` on behalf of `watcher` (a live actor). On success *out is
 * the monitor's id (never 0). Errors: TROUPE_EINVAL (NULL sys/out, NONE
 * refs), TROUPE_ENOACTOR (the watcher is gone), TROUPE_ENOMEM. A target
 * already gone is not an error: DOWN (NOPROC) is on its way. */
TROUPE_API int troupe_monitor(troupe_system *sys, troupe_ref watcher, troupe_ref target,
                              uint64_t *out);

/* Cancel a monitor. A DOWN already sent is not recalled. TROUPE_ENOTFOUND
 * if there is no such monitor on a live target; TROUPE_EINVAL for id 0. */
TROUPE_API int troupe_demonitor(troupe_system *sys, troupe_ref target, uint64_t id);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_MONITOR_H */
