/* troupe/cluster.h — joining a system to a cluster of nodes.
 *
 * A node is one troupe_system that joined a named cluster. Nodes carry
 * messages to each other over NATS (one inbox subject per node) and agree
 * on membership through PostgreSQL: a row per node with an incarnation and
 * a lease that expires in the server's time and is renewed every
 * renew_ms. A node that cannot renew before its lease runs out fences
 * itself (TROUPE_CLUSTER_FENCED) and its calls answer TROUPE_EFENCED.
 * docs/CLUSTER.md describes the protocol and what is not built yet.
 *
 * Built only with -Dcluster (libnats and libpq); without it every call
 * answers TROUPE_ENOTSUP (TROUPE_HAVE_CLUSTER in troupe_config.h).
 *
 * Thread safety: create/destroy are not concurrent with other calls on the
 * same handle; troupe_cluster_state may be called from any thread.
 */
#ifndef TROUPE_CLUSTER_H
#define TROUPE_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "troupe/export.h"
#include "troupe/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct troupe_system troupe_system;
typedef struct troupe_cluster troupe_cluster;

/* Longest cluster or node name, in bytes (without the NUL). Names are
 * [A-Za-z0-9_-], since they become NATS subject tokens. */
#define TROUPE_CLUSTER_NAME_MAX 63

typedef struct troupe_cluster_config {
    const char *cluster;     /* the cluster's name (required) */
    const char *node;        /* this node's name, unique in the cluster (required) */
    const char *nats_urls;   /* comma-separated, e.g. "nats://127.0.0.1:4222" (required) */
    const char *pg_conninfo; /* libpq conninfo of the membership database (required) */
    uint32_t lease_ms;       /* lease length; default 3000 */
    uint32_t renew_ms;       /* renewal period; default 500; must be < lease_ms / 2 */
    uint8_t reserved[64];    /* zero: room for later fields without an ABI break */
} troupe_cluster_config;

typedef enum troupe_cluster_state {
    TROUPE_CLUSTER_CREATED = 0, /* created, not joined */
    TROUPE_CLUSTER_JOINED = 1,  /* a member with a valid lease */
    TROUPE_CLUSTER_FENCED = 2,  /* could not renew in time: sends nothing, writes nothing */
    TROUPE_CLUSTER_LEFT = 3,    /* left the cluster */
} troupe_cluster_state;

/* The defaults: lease 3000 ms, renew 500 ms, names NULL. */
TROUPE_API void troupe_cluster_config_defaults(troupe_cluster_config *cfg);

/* Check cfg and make a handle for sys. The strings are copied.
 * TROUPE_EINVAL for a missing or malformed field, nonzero reserved bytes or
 * renew_ms >= lease_ms / 2. */
TROUPE_API int troupe_cluster_create(troupe_system *sys, const troupe_cluster_config *cfg,
                                     troupe_cluster **out);

/* Join: a new incarnation, the lease renewed from then on by a thread of
 * the node's own. TROUPE_EEXIST if the node's name holds a live lease,
 * TROUPE_EIO if PostgreSQL cannot be reached, TROUPE_ESTATE if joined. */
TROUPE_API int troupe_cluster_join(troupe_cluster *c);

/* Leave: renewal stops and the node's row is marked left.
 * TROUPE_ESTATE unless joined. */
TROUPE_API int troupe_cluster_leave(troupe_cluster *c);

/* Leave if joined, then free the handle. NULL is a no-op. */
TROUPE_API void troupe_cluster_destroy(troupe_cluster *c);

/* The state now (troupe_cluster_state), or TROUPE_EINVAL for NULL. */
TROUPE_API int troupe_cluster_state_of(const troupe_cluster *c);

/* --- remote refs and messaging --- */

/* A joined node carries messages to the other nodes over NATS (its inbox
 * subject is troupe.<cluster>.<node>). A troupe_ref to an actor on another
 * node works with troupe_tell, troupe_ask, troupe_call, troupe_ask_async,
 * troupe_ask_cb and troupe_reply unchanged; delivery across nodes is
 * at-most-once, in order per sender-receiver pair (docs/CLUSTER.md). A
 * send to a ref of a node that is down or left answers TROUPE_ENOACTOR;
 * asks outstanding to a node when it goes down fail with
 * TROUPE_ENODEDOWN; troupe_tell_ptr to a remote ref is TROUPE_ENOTSUP; a
 * fenced node's remote sends are TROUPE_EFENCED. Remote refs are only
 * valid with the system of the node that made or decoded them. Destroy the
 * cluster handle before its system (troupe_cluster_destroy, then
 * troupe_system_destroy): while joined, the NATS reader delivers into it. */

/* A ref to the actor registered as `name` (troupe_register) on node `node`:
 * asks that node (a round trip, from a plain thread only: TROUPE_ESTATE in
 * a handler). TROUPE_ENOTFOUND if no such name, TROUPE_ENOACTOR if the node
 * is not up, TROUPE_ETIMEDOUT, TROUPE_ESTATE unless joined. */
TROUPE_API int troupe_cluster_lookup(troupe_cluster *c, const char *node, const char *name,
                                     uint64_t timeout_ns, troupe_ref *out);

/* Refs inside payloads: encode gives a 64-bit value any node of the
 * cluster decodes into a ref to the same actor (a local ref leaving the
 * node gets this node's number). TROUPE_EINVAL for NULL or a none ref,
 * TROUPE_ESTATE unless joined. */
TROUPE_API int troupe_cluster_ref_encode(troupe_cluster *c, troupe_ref ref, uint64_t *out);
TROUPE_API int troupe_cluster_ref_decode(troupe_cluster *c, uint64_t wire, troupe_ref *out);

/* This node's number (1..1023; the tag bits of its refs on the wire), or
 * TROUPE_ESTATE unless joined. */
TROUPE_API int troupe_cluster_node_number(const troupe_cluster *c);

/* The messaging counters since join (all zero unless joined). */
typedef struct troupe_cluster_stats {
    uint64_t envs_out;       /* envelopes published: tells, asks, replies, downs */
    uint64_t frames_out;     /* NATS messages published (envs_out / frames_out: the batch size) */
    uint64_t bytes_out;
    uint64_t frames_in, bytes_in;
    uint64_t tells_in, asks_in, replies_in, downs_in; /* envelopes received, by kind */
    uint64_t dropped_full;   /* refused: the destination's queue was at its bound (TROUPE_EFULL) */
    uint64_t dropped_down;   /* queued for a node that went down, discarded */
    uint64_t publish_errors; /* frames NATS refused */
    uint64_t bad_frames;     /* dropped whole: bad header or version */
    uint64_t bad_envelopes;  /* dropped: truncated, oversized, unknown kind, trailing bytes */
    uint64_t stale_frames;   /* from a node that is not live with that incarnation */
    uint64_t bad_refs;       /* addressed to another node, or a system type */
    uint64_t deliver_failed; /* not delivered here (no actor, full BLOCK mailbox, ...) */
    uint64_t late_replies;   /* replies for asks no longer outstanding */
    /* lease renewals of this node since join, by outcome (every attempt is
     * one of the three), and their latency: query sent to answer or failure */
    uint64_t renewals_ok;      /* the server renewed the lease */
    uint64_t renewals_refused; /* the server refused the incarnation: fenced */
    uint64_t renewals_failed;  /* no answer in time, or PostgreSQL unreachable */
    uint64_t renew_ns_sum, renew_ns_max;
    uint64_t reserved[3];
} troupe_cluster_stats;

/* TROUPE_EINVAL for NULL. */
TROUPE_API int troupe_cluster_stats_get(const troupe_cluster *c, troupe_cluster_stats *out);

/* --- the nodes of the cluster (observability) --- */

typedef enum troupe_cluster_node_state {
    TROUPE_NODE_UP = 0,      /* joined, its lease running in the server's time */
    TROUPE_NODE_LEFT = 1,    /* left (troupe_cluster_leave or destroy) */
    TROUPE_NODE_EXPIRED = 2, /* did not leave, and its lease ran out */
} troupe_cluster_node_state;

/* One node as the membership table has it, read in one query: the lease
 * figures are in the PostgreSQL server's time, so nodes' clocks do not
 * enter them. */
typedef struct troupe_cluster_node {
    char name[TROUPE_CLUSTER_NAME_MAX + 1];
    uint64_t incarnation;     /* 1 at the first join, one more at each rejoin */
    int32_t state;            /* troupe_cluster_node_state */
    uint32_t number;          /* its node number (troupe_cluster_node_number), 0 if none yet */
    int64_t lease_age_ms;     /* since its last renewal (or join) */
    int64_t lease_remaining_ms; /* until its lease ends; negative: ended that long ago */
    /* zero: room for later fields without an ABI break — the count of
     * actors a node owns comes here with the ownership layer (unknown
     * until then: the HTTP API writes it null) */
    uint8_t reserved[32];
} troupe_cluster_node;

/* The nodes of c's cluster, by name: up to cap of them into out, and *n
 * the count of all (more than cap: call again with more room). One
 * PostgreSQL query, bounded by the lease (from a plain thread: it blocks).
 * TROUPE_EINVAL for a NULL c or n, or a NULL out with cap > 0;
 * TROUPE_ESTATE unless joined (a fenced node still answers);
 * TROUPE_EIO or TROUPE_ETIMEDOUT when PostgreSQL does not answer. */
TROUPE_API int troupe_cluster_nodes(troupe_cluster *c, troupe_cluster_node *out, size_t cap,
                                    size_t *n);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_CLUSTER_H */
