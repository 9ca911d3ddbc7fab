/* troupe/registry.h — named actors: a lock-free name -> ref registry.
 *
 * A name (1..TROUPE_NAME_MAX bytes, copied) stands for one live actor, and
 * an actor has at most one name (Erlang's rule). A name survives a
 * supervised restart (the ref is kept) and goes away by itself when its
 * actor stops for good. A lookup never returns an actor that has stopped:
 * like troupe_alive, the answer is a hint — the actor may stop right after
 * — but a name whose actor has ended is never returned.
 *
 * Each name also records its behaviour (lookups by behaviour), the time it
 * was registered (the system's clock) and, read at lookup time, how many
 * messages its actor has handled.
 *
 * Thread safety: every call here may be made from any thread, including
 * handlers, and none blocks:
 *  - lookups (troupe_whereis, troupe_whereis_batch, troupe_registry_info,
 *    troupe_registry_by_behaviour, troupe_registry_size) take no lock: they
 *    read liburcu's lock-free hash table (cds_lfht) inside an RCU read-side
 *    section;
 *  - troupe_register and troupe_unregister take only the named actor's own
 *    lock and its behaviour's list lock (each held for a table insert or
 *    removal, never across a wait), never a lock that lookups need. A
 *    removed name's memory is freed after an RCU grace period, and the
 *    hash table is resized as it grows or shrinks, by liburcu's call_rcu
 *    thread — not by the caller.
 *  The first lookup of a thread registers it with liburcu (a mutex and
 *  perhaps an mmap, once per thread).
 *
 * RCU flavour: urcu-bp ("bulletproof"). troupe runs in threads it does not
 * own — any application thread may call troupe_whereis — and cannot require
 * them to call rcu_register_thread (urcu-memb, urcu-signal) or to announce
 * quiescent states (QSBR). urcu-bp registers a thread by itself at its first
 * read-side section and notices when it exits; its read-side sections cost
 * a few nanoseconds more than urcu-memb's. The tables are bound to urcu-bp
 * explicitly, so an application may use any liburcu flavour for its own
 * data. A process that forks and goes on without exec must follow
 * liburcu-bp's fork rules (urcu_bp_before_fork and friends).
 *
 * Pointer ownership: names are copied in; nothing returned points into the
 * registry except troupe_registry_entry.behaviour, the behaviour's own
 * static name (borrowed, as the behaviour itself).
 */
#ifndef TROUPE_REGISTRY_H
#define TROUPE_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "troupe/actor.h"
#include "troupe/export.h"
#include "troupe/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct troupe_system troupe_system;

/* Longest name, in bytes (without the terminating NUL). */
#define TROUPE_NAME_MAX 64

/* What troupe_registry_info tells about a name. */
typedef struct troupe_registry_entry {
    troupe_ref ref;                /* the actor */
    const troupe_behaviour *beh;   /* its behaviour when it was registered */
    const char *behaviour;         /* beh->name (static, borrowed) */
    uint64_t registered_at_ns;     /* the system clock at troupe_register */
    uint64_t handled;              /* messages its actor has handled so far */
} troupe_registry_entry;

/* Register `name` for the live actor `ref`. Errors: TROUPE_EINVAL (NULL sys
 * or name, a name of 0 or more than TROUPE_NAME_MAX bytes, a NONE ref),
 * TROUPE_ENOACTOR (ref is not a live actor), TROUPE_EEXIST (the name is
 * taken, or the actor already has a name), TROUPE_ENOMEM. */
TROUPE_API int troupe_register(troupe_system *sys, const char *name, troupe_ref ref);

/* Remove `name`. TROUPE_ENOTFOUND if it is not registered (or was removed
 * meanwhile: by another unregister, or by its actor's end); TROUPE_EINVAL
 * as troupe_register. The actor itself is not touched. */
TROUPE_API int troupe_unregister(troupe_system *sys, const char *name);

/* The actor registered as `name`: *out = its ref, or NONE with
 * TROUPE_ENOTFOUND (no such name, or its actor has stopped). TROUPE_EINVAL
 * for NULL sys/out or a bad name (then *out is NONE if out is given). */
TROUPE_API int troupe_whereis(troupe_system *sys, const char *name, troupe_ref *out);

/* Look up names[0..n) in one read-side section: out[i] is the ref, or NONE
 * when names[i] is not registered, its actor has stopped, or names[i] is
 * not a valid name (NULL, empty, too long). Returns how many were found,
 * or TROUPE_EINVAL (NULL sys, or NULL names/out with n > 0, n > INT_MAX). */
TROUPE_API int troupe_whereis_batch(troupe_system *sys, const char *const *names, size_t n,
                                    troupe_ref *out);

/* What the registry knows about `name` (see troupe_registry_entry).
 * TROUPE_ENOTFOUND as troupe_whereis; TROUPE_EINVAL for NULL sys/out or a
 * bad name. */
TROUPE_API int troupe_registry_info(troupe_system *sys, const char *name,
                                    troupe_registry_entry *out);

/* The live registered actors whose behaviour is `beh`: the first
 * min(cap, INT_MAX) refs go to out[] (in no particular order), *total
 * (may be NULL) gets how many there are. Returns how many were written,
 * or TROUPE_EINVAL (NULL sys or beh, NULL out with cap > 0). */
TROUPE_API int troupe_registry_by_behaviour(troupe_system *sys, const troupe_behaviour *beh,
                                            troupe_ref *out, size_t cap, size_t *total);

/* How many names are registered now (0 for NULL sys). Names of actors that
 * are stopping are counted until their end removes them. */
TROUPE_API size_t troupe_registry_size(troupe_system *sys);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_REGISTRY_H */
