/* troupe/cluster.h — joining a system to a cluster of nodes.
 *
 * A node is one troupe_system that joined a named cluster. Nodes carry
 * messages to each other over NATS (one inbox subject per node) and agree
 * on membership through PostgreSQL: a row per node with an incarnation and
 * a lease that expires in the server's time and is renewed every
 * renew_ms. A node that cannot renew before its lease runs out fences
 * itself (TROUPE_CLUSTER_FENCED) and its calls answer TROUPE_EFENCED
 * until it rejoins under a new incarnation (TROUPE_CLUSTER_NO_REJOIN).
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
    const char *nats_urls;   /* comma-separated, e.g. "nats://127.0.0.1:4222" (required); tried in
                              * this order (the nearest first), and again on reconnect */
    const char *pg_conninfo; /* libpq conninfo of the membership database (required) */
    uint32_t lease_ms;       /* lease length; default 3000 */
    uint32_t renew_ms;       /* renewal period; default 500; must be < lease_ms / 2 */
    uint32_t flags;          /* TROUPE_CLUSTER_NO_REJOIN, or 0 */
    uint8_t reserved[60];    /* zero: room for later fields without an ABI break */
} troupe_cluster_config;

/* flags: a node that fenced itself (it could not renew its lease in time:
 * PostgreSQL restarted or unreachable, the process paused, the lease
 * refused) stays fenced for good. Without it (the default) the fenced node
 * tries every renew_ms to take a new incarnation and, once the server
 * lets it (its old lease expired in the server's time), is JOINED again:
 * its old actors were stopped at the fence and are claimed again like any
 * orphans; troupe_cluster_stats.rejoins counts it. */
#define TROUPE_CLUSTER_NO_REJOIN 0x1u

typedef enum troupe_cluster_state {
    TROUPE_CLUSTER_CREATED = 0, /* created, not joined */
    TROUPE_CLUSTER_JOINED = 1,  /* a member with a valid lease */
    TROUPE_CLUSTER_FENCED = 2,  /* could not renew in time: sends nothing, writes nothing;
                                 * JOINED again after a rejoin (TROUPE_CLUSTER_NO_REJOIN) */
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
    uint64_t rejoins; /* fenced, then joined again under a new incarnation */
    uint64_t reserved[2];
} troupe_cluster_stats;

/* TROUPE_EINVAL for NULL. */
TROUPE_API int troupe_cluster_stats_get(const troupe_cluster *c, troupe_cluster_stats *out);
/* --- cluster actors, ownership and failover --- */

/* An actor kind: registered on every node under the same name, with the
 * same persistent behaviour. An actor of a kind is named by (kind, id) and
 * owned by one node at a time, recorded in PostgreSQL with an epoch that
 * grows at every change of owner; its journal appends are refused once the
 * epoch is no longer its node's (TROUPE_EFENCED). The system's journal must
 * be a PostgreSQL one on the cluster's database (troupe_journal_open_
 * postgres with the same conninfo): the epoch is checked in the journal's
 * transaction. docs/CLUSTER.md describes the protocol.
 *
 * Threads: the calls below may be made from any thread while the handle
 * is joined, except from a cluster actor's init (it runs under the lock
 * these calls take); each waits at most about a lease for PostgreSQL. */
typedef struct troupe_cluster_kind {
    const char *name;            /* 1..63 bytes of [A-Za-z0-9_-] (copied) */
    /* persistent (beh->persist set), borrowed: must outlive the handle.
     * init gets the actor's id as its argument (a NUL-terminated string). */
    const struct troupe_behaviour *beh;
    /* starts failed in a row (init or recovery) before the actor is parked
     * instead of tried again or handed to another node; 0 = 3 */
    uint32_t max_start_failures;
    uint8_t reserved[28];        /* zero */
} troupe_cluster_kind;

/* Longest actor id, in bytes: [A-Za-z0-9_.:-]. */
#define TROUPE_CLUSTER_ID_MAX 63

typedef enum troupe_cluster_owner_state {
    TROUPE_OWNER_ACTIVE = 1,   /* owned by `node` at `epoch` */
    TROUPE_OWNER_RELEASED = 2, /* no owner: the node rendezvous hashing picks claims it */
    TROUPE_OWNER_PARKED = 3,   /* failed to start too often: left alone until unparked */
} troupe_cluster_owner_state;

typedef struct troupe_cluster_where {
    char node[TROUPE_CLUSTER_NAME_MAX + 1]; /* the owner ("" if none yet) */
    uint64_t epoch;      /* the ownership epoch: never decreases */
    int state;           /* troupe_cluster_owner_state */
    int live;            /* 1: active and its owner's lease is valid */
    troupe_ref local;    /* the actor, when this node owns it; else NONE */
} troupe_cluster_where;

typedef struct troupe_cluster_owner_stats {
    uint64_t claims;       /* ownership claims won by this node */
    uint64_t failovers;    /* of which: taken from a node whose lease expired */
    uint64_t start_failures; /* starts (init or recovery) that failed here */
    uint64_t parked;       /* actors this node parked */
    uint64_t dropped;      /* local actors stopped: lost ownership or fenced */
    uint64_t owned;        /* actors owned and running here now */
} troupe_cluster_owner_stats;

/* Register a kind (before or after joining; the same on every node).
 * TROUPE_EINVAL for a bad name or a behaviour without persist, TROUPE_EEXIST
 * for a name already registered, TROUPE_ENOTSUP when the system's journal
 * cannot check epochs (not PostgreSQL), TROUPE_ESTATE without a journal,
 * TROUPE_ENOMEM when the table of kinds is full. */
TROUPE_API int troupe_cluster_kind_register(troupe_cluster *c, const troupe_cluster_kind *k);

/* Spawn or resolve the actor (kind, id). Owned already: where it lives.
 * Unowned: placed by rendezvous hashing over the live nodes; if this node
 * is the one, it claims it (epoch compare-and-set) and starts it here,
 * recovered from the journal (snapshot and events) under the cluster's
 * supervisor, and out->local is its ref; otherwise the row is left
 * unowned (TROUPE_OWNER_RELEASED) for the chosen node, which claims it at
 * its next pass (every renew_ms). out may be NULL. TROUPE_EINVAL,
 * TROUPE_ENOTFOUND (kind not registered here), TROUPE_ESTATE (not joined),
 * TROUPE_EFENCED, TROUPE_EIO (PostgreSQL), or the start's code (init's, or
 * recovery's: ECORRUPT, EIO). */
TROUPE_API int troupe_cluster_actor(troupe_cluster *c, const char *kind, const char *id,
                                    troupe_cluster_where *out);

/* Where (kind, id) lives, read from PostgreSQL. TROUPE_ENOTFOUND if it was
 * never spawned, TROUPE_EINVAL, TROUPE_ESTATE, TROUPE_EIO. */
TROUPE_API int troupe_cluster_where_is(troupe_cluster *c, const char *kind, const char *id,
                                       troupe_cluster_where *out);

/* Move (kind, id), owned here, to the live node `node`: messages through
 * stable refs (troupe_cluster_ref) stop being delivered here (they go back
 * to their senders, who send them to `node` once it runs the actor), those
 * already accepted are handled (the mailbox drained, bounded by the
 * lease), then the actor is stopped, its journal writes drained, and the
 * row handed to `node` with the epoch bumped; `node` claims it and
 * recovers it at its next pass.
 * TROUPE_ENOTFOUND if not owned here, TROUPE_EINVAL, TROUPE_ESTATE,
 * TROUPE_EIO; TROUPE_EBUSY if the epoch changed meanwhile. */
TROUPE_API int troupe_cluster_migrate(troupe_cluster *c, const char *kind, const char *id,
                                      const char *node);

/* A parked actor becomes unowned again (released), to be placed anew.
 * TROUPE_ENOTFOUND if it is not parked. */
TROUPE_API int troupe_cluster_unpark(troupe_cluster *c, const char *kind, const char *id);

/* Copy this node's ownership counters into *out. Errors: TROUPE_EINVAL
 * (NULL c or out). */
TROUPE_API int troupe_cluster_owner_stats_get(troupe_cluster *c, troupe_cluster_owner_stats *out);

/* A stable ref to the cluster actor (kind, id): a troupe_ref that keeps
 * naming the actor wherever it lives, across failover and migration.
 * troupe_tell, troupe_ask, troupe_call, troupe_ask_async and troupe_ask_cb
 * through it work unchanged, from any thread of this node (a handler, a
 * plain thread, the owner itself). A send goes to the owner it last knew
 * (here: the actor's mailbox; elsewhere: one envelope to that node); a
 * node that does not run the actor (any more) sends the message back
 * (MOVED), and this node reads the ownership row again and sends it to
 * the new owner. While the actor has no live owner (the old one's lease
 * running out, the new one not started yet) messages are held, in order,
 * up to 2 leases + 4 renewals; then an ask fails with TROUPE_ENODEDOWN
 * and a tell is dropped (counted: troupe_cluster_ref_stats). Across nodes
 * delivery stays at most once (docs/CLUSTER.md): an ask outstanding to a
 * node that dies fails with TROUPE_ENODEDOWN, and asking again through
 * the same ref reaches the new owner. A migration hands over every
 * message its old owner accepted (it is handled there before the actor
 * stops) and sends back what arrives after.
 *
 * The ref is this node's (tag 0 in the ref's tag bits): valid with this
 * system while it stays joined, not across a leave; to name the actor to
 * another node, send (kind, id) — troupe_cluster_ref_encode refuses it.
 * The same (kind, id) gives the same ref. Monitors through it answer
 * TROUPE_ENOTSUP (it names no incarnation: monitor troupe_cluster_where_is's
 * ref instead); troupe_tell_ptr TROUPE_ENOTSUP.
 *
 * Reads the row once (from any thread; a plain thread's call blocks at
 * most about a lease). TROUPE_EINVAL (NULL, malformed kind or id),
 * TROUPE_ESTATE (not joined), TROUPE_EFENCED, TROUPE_ENOTFOUND (never
 * spawned: troupe_cluster_actor first), TROUPE_EIO, TROUPE_ENOMEM (4096
 * stable refs per node). */
TROUPE_API int troupe_cluster_ref(troupe_cluster *c, const char *kind, const char *id,
                                  troupe_ref *out);

typedef struct troupe_cluster_ref_stats {
    uint64_t moved_in;  /* messages sent back to this node (MOVED), routed again */
    uint64_t moved_out; /* messages this node sent back: not running here (any more) */
    uint64_t resolves;  /* ownership rows read for stable refs */
    uint64_t held;      /* messages that waited for an owner */
    uint64_t expired;   /* of those, failed after the bound: asks TROUPE_ENODEDOWN, tells lost */
} troupe_cluster_ref_stats;

/* Since join (all zero unless joined). TROUPE_EINVAL for NULL. */
TROUPE_API int troupe_cluster_ref_stats_get(const troupe_cluster *c, troupe_cluster_ref_stats *out);

/* Cluster registry: a name unique across the cluster, held by an actor of
 * a node (its ref on that node). A name of a node whose lease expired or
 * that left is no longer found and may be taken again; leaving drops the
 * node's names. Names are 1..63 bytes of [A-Za-z0-9_.:-].
 * register: TROUPE_EEXIST if a live node holds it; lookup: node (at least
 * TROUPE_CLUSTER_NAME_MAX + 1 bytes, may be NULL) and ref, TROUPE_ENOTFOUND;
 * unregister: only this node's, TROUPE_ENOTFOUND otherwise. All:
 * TROUPE_EINVAL, TROUPE_ESTATE (not joined), TROUPE_EIO. */
TROUPE_API int troupe_cluster_name_register(troupe_cluster *c, const char *name, troupe_ref ref);
TROUPE_API int troupe_cluster_name_lookup(troupe_cluster *c, const char *name, char *node,
                                          troupe_ref *ref);
TROUPE_API int troupe_cluster_name_unregister(troupe_cluster *c, const char *name);

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
    /* cluster actors owned by this incarnation (troupe_owners rows
     * active): for an expired node, those no survivor has claimed yet */
    uint64_t actors_owned;
    uint8_t reserved[24]; /* zero: room for later fields without an ABI break */
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
