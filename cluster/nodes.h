/* cluster/nodes.h — the nodes of a cluster as the membership table has
 * them (troupe_cluster_nodes), for the public call and for the HTTP API,
 * which knows a system and not its cluster handle. */
#ifndef TROUPE_CLUSTER_NODES_H
#define TROUPE_CLUSTER_NODES_H

#include "base/namespace.h"
/* Added after base/namespace.h's list: the same rule (troupei_ at link
 * level, checked by tests/symbols.sh). */
#define cluster_sys_nodes troupei_cluster_sys_nodes
#define cluster_sys_actors troupei_cluster_sys_actors
#define nodes_copy_query troupei_nodes_copy_query
#define nodes_query_own troupei_nodes_query_own

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

/* Where each cluster actor lives: a row of troupe_owners as the HTTP API
 * shows it (cluster/actors_view.c). */
typedef struct cluster_actor_row {
    char kind[TROUPE_CLUSTER_NAME_MAX + 1];
    char id[TROUPE_CLUSTER_ID_MAX + 1];
    char node[TROUPE_CLUSTER_NAME_MAX + 1]; /* the owner; a migration's target; "" */
    uint64_t epoch;
    int32_t state;  /* troupe_cluster_owner_state */
    uint32_t fails; /* starts failed in a row (parked past the kind's limit) */
    int32_t live;   /* active and its owner's lease valid */
    int32_t pad;
} cluster_actor_row;

/* The cluster actors of sys's cluster ordered by kind and id: from the
 * offset-th, up to cap rows into out, *n of them written, *total the count
 * of all. Names into cluster and self as cluster_sys_nodes. The same
 * errors (TROUPE_ENOTFOUND not joined, TROUPE_EIO/ETIMEDOUT, ENOTSUP). */
int cluster_sys_actors(troupe_system *sys, size_t offset, cluster_actor_row *out, size_t cap,
                       size_t *n, size_t *total, char *cluster, char *self);

#ifdef TROUPE_CLUSTER_NODES_INTERNAL
/* nodes.c, for actors_view.c: what a query on a connection of our own
 * needs, copied under core's port protocol; and that query. */
#include <libpq-fe.h>
typedef struct nodes_query {
    char cluster[64];
    char *conninfo;
    uint32_t timeout_ms;
} nodes_query;
int nodes_copy_query(troupe_system *sys, nodes_query *q, char *cluster, char *self);
int nodes_query_own(const nodes_query *q, const char *sql, int n, const char *const *p,
                    PGresult **res);
#endif

#endif /* TROUPE_CLUSTER_NODES_H */
