/* troupe/failure.h — how a handler fails, and the record supervision reads.
 *
 * A handler fails by returning a negative value, or by calling
 * troupe_panic(), which unwinds out of the handler (longjmp) back to the
 * worker: the worker survives, the actor is marked failed, the message that
 * failed is destroyed and counted (stats.failed), and a troupe_failure is
 * handed to the system's on_failure hook on that worker. An unsupervised
 * actor then stops: its stop callback runs with the failure kind, its
 * queued messages are destroyed and counted. A supervised one goes to its
 * supervisor instead (supervisor.h), which decides whether to restart it.
 *
 * troupe_panic() unwinds with longjmp: no C++ destructors, no cleanup of
 * locals. Do not hold a lock across it.
 */
#ifndef TROUPE_FAILURE_H
#define TROUPE_FAILURE_H

#include <stdint.h>

#include "troupe/export.h"
#include "troupe/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum troupe_failure_kind {
    TROUPE_EXIT_NORMAL = 0,   /* stopped on request or by troupe_stop_self */
    TROUPE_EXIT_SHUTDOWN = 1, /* stopped by system shutdown */
    TROUPE_EXIT_ERROR = 2,    /* handler returned a negative code */
    TROUPE_EXIT_PANIC = 3,    /* handler called troupe_panic */
    TROUPE_EXIT_INIT = 4,     /* init callback failed */
    TROUPE_EXIT_HEALTH = 5,   /* a health check failed (health monitor) */
    TROUPE_EXIT_KILLED = 6,   /* terminated by force (shutdown timeout, brutal) */
    TROUPE_EXIT_NOPROC = 7,   /* DOWN for a ref that was already gone */
    TROUPE_EXIT_ESCALATED = 8,/* a supervisor gave up: its children stopped */
    TROUPE_EXIT_PERSISTENCE = 9, /* a journal write or a recovery failed */
} troupe_failure_kind;

#define TROUPE_REASON_MAX 96

typedef struct troupe_failure {
    troupe_ref actor;
    const char *behaviour;         /* the behaviour's name (static) */
    troupe_failure_kind kind;
    int code;                      /* the handler's return, or 0 */
    uint32_t msg_type;             /* type of the message that failed */
    uint64_t at_ns;                /* system clock at the failure */
    char reason[TROUPE_REASON_MAX];/* troupe_panic's text, truncated */
} troupe_failure;

/* Called on the worker that ran the failing handler; must not block.
 * `f` is valid only during the call. */
typedef void (*troupe_failure_hook)(const troupe_failure *f, void *ud);

/* Fail the running handler with `reason` (copied, truncated; may be NULL).
 * Inside a handler (or init) it does not return. Outside one there is
 * nothing to unwind: it returns TROUPE_ESTATE and changes nothing. */
TROUPE_API int troupe_panic(const char *reason);

/* Text for a kind ("panic", ...); static, never NULL. */
TROUPE_API const char *troupe_failure_kind_name(troupe_failure_kind kind);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_FAILURE_H */
