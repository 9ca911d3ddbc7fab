/* troupe/error.h — error codes and troupe_strerror().
 *
 * Every troupe call returns 0 on success or one negative TROUPE_E* code.
 * One X-macro table makes both the enum and the text of troupe_strerror(),
 * so the two can never disagree.
 *
 * Thread safety: everything here may be called from any thread.
 */
#ifndef TROUPE_ERROR_H
#define TROUPE_ERROR_H

#include "troupe/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(NAME, value, text) */
#define TROUPE_ERRNO_MAP(X)                                                   \
    X(OK, 0, "success")                                                       \
    X(EINVAL, -1, "invalid argument")                                         \
    X(ENOMEM, -2, "out of memory")                                            \
    X(ENOACTOR, -3, "no such actor (stopped, stale, or another system's ref)") \
    X(EFULL, -4, "mailbox full")                                              \
    X(ETIMEDOUT, -5, "timed out")                                             \
    X(ESHUTDOWN, -6, "the system is shutting down")                           \
    X(EBUSY, -7, "resource busy")                                             \
    X(EEXIST, -8, "already exists")                                           \
    X(ENOTFOUND, -9, "not found")                                             \
    X(ECANCELED, -10, "canceled")                                             \
    X(ESTATE, -11, "call not valid in the current state")                     \
    X(ESYS, -12, "operating system call failed")                              \
    X(ENOTSUP, -13, "not supported (by this call, or not built into this library)") \
    X(EFAILED, -14, "the actor failed")                                       \
    X(ECIRCUIT, -15, "circuit breaker open")                                  \
    X(EIO, -16, "storage read or write failed")                               \
    X(ECORRUPT, -17, "stored data is corrupt (checksum or format)")          \
    X(ETRUNC, -18, "reply larger than the buffer given (truncated)")        \
    X(EFENCED, -19, "fenced: this node's lease or ownership epoch is no longer valid") \
    X(ENODEDOWN, -20, "the actor's node is down or left the cluster")

typedef enum troupe_errno {
#define TROUPE_X_ENUM(name, val, text) TROUPE_##name = (val),
    TROUPE_ERRNO_MAP(TROUPE_X_ENUM)
#undef TROUPE_X_ENUM
} troupe_errno;

/* Text for a code; never NULL. Unknown codes give "unknown error".
 * The returned string is static: do not free it. */
TROUPE_API const char *troupe_strerror(int err);

/* Symbolic name of a code ("TROUPE_EINVAL"); static, never NULL. */
TROUPE_API const char *troupe_errname(int err);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_ERROR_H */
