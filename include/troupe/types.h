/* troupe/types.h — the small value types every header shares. */
#ifndef TROUPE_TYPES_H
#define TROUPE_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A reference to an actor: a small value, never a pointer. Copy it freely.
 * Once its actor stops, every use fails with TROUPE_ENOACTOR; it never
 * reaches another actor that reuses the slot (the generation has 22 bits: a
 * ref would alias only after 4 M reuses of one slot). It names an actor of
 * one system only: used with another system (or with any bit changed) it
 * fails the same way, TROUPE_ENOACTOR (or the call's own "not found").
 * The zero value is TROUPE_REF_NONE. Layout, for logs only: bits 0..31 the
 * slot index, 32..53 the generation, 54..63 the system's tag (nonzero; two
 * live systems never share one). */
typedef struct troupe_ref {
    uint64_t id;
} troupe_ref;

#define TROUPE_REF_NONE ((troupe_ref){0})

static inline int troupe_ref_is_none(troupe_ref r) { return r.id == 0; }
static inline int troupe_ref_eq(troupe_ref a, troupe_ref b) { return a.id == b.id; }

/* The handler's view of the running actor; valid only during the callback
 * it is passed to. Never store it. */
typedef struct troupe_ctx troupe_ctx;

/* Destroys a pointer payload (or a state the runtime must drop). */
typedef void (*troupe_dtor)(void *ptr);

/* A message as the handler sees it. Everything it points to is valid only
 * during the handler; copy what you keep (or take a pointer payload with
 * troupe_msg_take()). */
typedef struct troupe_msg {
    uint32_t type;     /* the sender's type id; >= TROUPE_MSG_SYSTEM are ours */
    uint32_t size;     /* payload bytes (0 for a pointer payload: see ptr) */
    const void *data;  /* inline or copied payload, NULL when size is 0 */
    void *ptr;         /* pointer payload (troupe_tell_ptr), else NULL */
    troupe_ref sender; /* the sending actor; TROUPE_REF_NONE from a thread */
    uint64_t corr;     /* for replies and ask timeouts: the ask's id */
} troupe_msg;

/* Types from TROUPE_MSG_SYSTEM up are reserved for the runtime. */
#define TROUPE_MSG_SYSTEM 0xFFFF0000u
/* Delivered to an actor whose troupe_ask_async() timed out; corr = ask id. */
#define TROUPE_MSG_ASK_TIMEOUT (TROUPE_MSG_SYSTEM + 1u)
/* Delivered to an actor whose troupe_ask_async() failed before any reply:
 * the target failed, stopped, or the system shut down while it held the ask
 * (troupe/async.h); corr = ask id, the payload one int32_t, the code
 * (TROUPE_EFAILED, TROUPE_ENOACTOR, TROUPE_ESHUTDOWN). */
#define TROUPE_MSG_ASK_FAILED (TROUPE_MSG_SYSTEM + 4u)

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_TYPES_H */
