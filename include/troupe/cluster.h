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

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_CLUSTER_H */
