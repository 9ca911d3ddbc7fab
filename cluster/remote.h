/* cluster/remote.h — remote refs and messaging for a joined node
 * (docs/CLUSTER.md, "Remote refs" and "Transport"): the port core sends
 * other nodes' refs to, the reader that delivers frames into local
 * actors, and the map of the cluster it routes by. */
#ifndef TROUPE_CLUSTER_REMOTE_H
#define TROUPE_CLUSTER_REMOTE_H

#include "base/namespace.h"

#include <stdint.h>

#include "troupe/cluster.h"

typedef struct remote remote;
struct member;

typedef struct remote_config {
    const char *cluster, *node, *nats_urls, *pg_conninfo;
    uint32_t refresh_ms; /* how often the map is re-read (the renewal period) */
    uint32_t timeout_ms; /* a query's bound (the lease) */
    struct cdir *dir;    /* the cluster actors running here (cref.h) */
} remote_config;

/* Take the node's slot, connect to NATS, read the map and attach the port
 * to sys. TROUPE_ESTATE if sys has a port already; TROUPE_EIO. */
int remote_open(troupe_system *sys, struct member *m, const remote_config *cfg, remote **out);
/* Detach, publish what is queued, stop reading, free. NULL: no-op. */
void remote_close(remote *r);
/* Re-read the map now (the refresher does it every refresh_ms). */
int remote_refresh(remote *r);

/* cluster/cluster.c: the joined node's remote, or NULL. */
remote *cluster_remote(const troupe_cluster *c);

#endif /* TROUPE_CLUSTER_REMOTE_H */
