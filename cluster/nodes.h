/* cluster/nodes.h — the nodes of a cluster as the membership table has
 * them (troupe_cluster_nodes), for the public call and for the HTTP API,
 * which knows a system and not its cluster handle. */
#ifndef TROUPE_CLUSTER_NODES_H
#define TROUPE_CLUSTER_NODES_H

#include "base/namespace.h"
/* Added after base/namespace.h's list: the same rule (troupei_ at link
 * level, checked by tests/symbols.sh). */
#define cluster_sys_nodes troupei_cluster_sys_nodes

#include <stddef.h>

#include "troupe/cluster.h"

/* The nodes of the cluster sys has joined, as troupe_cluster_nodes, and
 * the cluster's and this node's names into cluster and self
 * (TROUPE_CLUSTER_NAME_MAX + 1 bytes each).
 * TROUPE_ENOTFOUND when sys is not joined to a cluster now; TROUPE_ENOTSUP
 * in a build without the cluster (cluster/disabled.c). While the query
 * runs, a leave of sys's cluster waits for it (core/send.c's port
 * protocol), at most the lease. */
int cluster_sys_nodes(troupe_system *sys, troupe_cluster_node *out, size_t cap, size_t *n,
                      char *cluster, char *self);

#endif /* TROUPE_CLUSTER_NODES_H */
