/* cluster/cref.h — stable refs to cluster actors (docs/CLUSTER.md,
 * "Stable refs and MOVED").
 *
 * cdir (cdir.c)   the node's directory of the cluster actors running
 *                 here, by persistence id: what an incoming message for
 *                 (kind, id) is delivered to, or refused with MOVED. It
 *                 lives as long as the handle (own's); the ownership layer
 *                 fills it as actors start and stop.
 * crefs (cref.c)  the handles behind troupe_cluster_ref: a table per
 *                 joined node, each handle caching where its actor lives;
 *                 sends through one go to the cached owner, messages
 *                 that find no owner (or come back MOVED) are held and
 *                 routed again by a resolver thread, within a bound.
 * cref_rx.c       the reader's part: CSEND delivered or refused, MOVED
 *                 taken back into the held queue.
 *
 * A stable ref carries tag 0 (no system has it, no node has slot 0), so
 * core's actor_lookup fails and core hands it to the port as it does a
 * remote ref: the local path is unchanged. */
#ifndef TROUPE_CLUSTER_CREF_H
#define TROUPE_CLUSTER_CREF_H

#include "base/namespace.h"

#include <stdbool.h>
#include <stdint.h>

#include "cluster/frame.h"
#include "troupe/types.h"

struct troupe_system;
struct remote;
struct tmsg;

/* ---- the directory of local cluster actors (cdir.c) ---- */

typedef struct cdir cdir;

int cdir_create(cdir **out);
void cdir_destroy(cdir *d);
/* pid runs here as ref (started) / no longer (stopped): the entry goes. */
int cdir_set(cdir *d, const char *pid, troupe_ref ref);
void cdir_clear(cdir *d, const char *pid);
/* A delivery to pid begins: its ref, the entry counted busy until
 * cdir_leave. TROUPE_ENOACTOR if pid does not run here or is moving. */
int cdir_enter(cdir *d, const char *pid, troupe_ref *ref);
void cdir_leave(cdir *d, const char *pid, troupe_ref ref);
/* Migration: no delivery to pid starts from now on (they answer MOVED),
 * those under way end, then its mailbox is waited empty and idle — each
 * message accepted for it is handled before it stops. Bounded by
 * deadline_ns (mono_ns): TROUPE_ETIMEDOUT, the actor stops anyway. */
int cdir_quiesce(cdir *d, struct troupe_system *sys, const char *pid, uint64_t deadline_ns);

/* ---- stable refs (cref.c) ---- */

typedef struct crefs crefs;

#define CREF_MAX 4096       /* handles per joined node */
#define CREF_HELD_MAX 4096  /* messages held for all of them (then TROUPE_EFULL) */
#define CREF_RETRY_NS (50ull * 1000000ull) /* a handle's row re-read at most this often */

/* hold_ms: how long a message waits for an owner (then an ask fails with
 * TROUPE_ENODEDOWN, a tell is dropped and counted). */
int crefs_open(struct remote *r, cdir *dir, uint32_t hold_ms, crefs **out);
/* Stop the resolver (held messages stay held). */
void crefs_stop(crefs *t);
/* Stop, and fail the held messages (asks: TROUPE_ENODEDOWN); free. The
 * reader must be stopped first (it hands MOVED in). NULL: no-op. */
void crefs_close(crefs *t);
/* The stable ref of pid (kind, id): made at the first call, the same ref
 * afterwards; its owner read now. TROUPE_ENOTFOUND without a row. */
int crefs_get(crefs *t, const char *pid, troupe_ref *out);
/* The port's send to a stable ref: m taken on 0. */
int crefs_send(crefs *t, troupe_ref to, struct tmsg *m);
/* The reader: a MOVED from node slot. */
void crefs_moved(crefs *t, uint32_t slot, const frame_env *e);

typedef struct crefs_stats {
    uint64_t moved_in;   /* MOVED received: messages routed again */
    uint64_t moved_out;  /* MOVED sent: messages for actors not owned here */
    uint64_t resolves;   /* rows read */
    uint64_t held;       /* messages that waited for an owner */
    uint64_t expired;    /* held past the bound: asks failed, tells dropped */
} crefs_stats;
void crefs_stats_get(crefs *t, crefs_stats *out);
void crefs_count_moved_out(crefs *t);

/* ---- the wire (cref_rx.c) ---- */

/* The CSEND payload: pid length, pid, then the message. A pid that does
 * not fit, or a payload shorter than its prefix: TROUPE_EINVAL. */
int cref_prefix_parse(const frame_env *e, char *pid, const uint8_t **body, uint32_t *len);
/* The reader: a CSEND from node slot, delivered or refused (MOVED). */
void cref_serve(struct remote *r, uint32_t slot, const frame_env *e);

#endif /* TROUPE_CLUSTER_CREF_H */
