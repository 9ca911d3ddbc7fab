/* cluster/nodes.c — the nodes of a cluster (troupe_cluster_nodes, and
 * cluster_sys_nodes for the HTTP API): one query joining the membership
 * rows (member.c's) with the node numbers (route.c's). The lease figures
 * are computed by the server, in its time, so no node's clock enters them.
 *
 * The public call runs on the route's connection under rtmu, as the map's
 * refreshes do: its caller holds the handle, which cannot leave under it.
 * The HTTP API holds only the system: it copies what a query needs under
 * core's port protocol and queries on a connection of its own, so a leave
 * never waits for an HTTP request (remote_detach spins while a user of the
 * port is inside). */
#define TROUPE_CLUSTER_NODES_INTERNAL
#include "cluster/nodes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/pgq.h"
#include "cluster/remote_int.h"

#define MS 1000000ull


/* Unknown states of a row that is not live read as expired. Actors owned:
 * the active rows of troupe_owners naming the node's incarnation (an
 * expired node's stay until a survivor claims them). */
static const char NODES[] =
    "SELECT n.node, n.incarnation, CASE WHEN n.state = 'left' THEN 1"
    " WHEN n.state = 'up' AND n.lease_until > now() THEN 0 ELSE 2 END,"
    " coalesce(s.slot, 0),"
    " floor(extract(epoch FROM now() - n.renewed_at) * 1000)::bigint,"
    " floor(extract(epoch FROM n.lease_until - now()) * 1000)::bigint,"
    " (SELECT count(*) FROM troupe_owners o WHERE o.cluster = n.cluster AND o.node = n.node"
    " AND o.incarnation = n.incarnation AND o.state = 'active')"
    " FROM troupe_nodes n LEFT JOIN troupe_slots s ON s.cluster = n.cluster AND s.node = n.node"
    " WHERE n.cluster = $1 ORDER BY n.node";

static void read_row(const PGresult *res, int i, troupe_cluster_node *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%s", PQgetvalue(res, i, 0));
    o->incarnation = strtoull(PQgetvalue(res, i, 1), NULL, 10);
    o->state = (int32_t)strtol(PQgetvalue(res, i, 2), NULL, 10);
    o->number = (uint32_t)strtoul(PQgetvalue(res, i, 3), NULL, 10);
    o->lease_age_ms = strtoll(PQgetvalue(res, i, 4), NULL, 10);
    o->lease_remaining_ms = strtoll(PQgetvalue(res, i, 5), NULL, 10);
    o->actors_owned = strtoull(PQgetvalue(res, i, 6), NULL, 10);
}

/* Consumes res: the rows into out (up to cap), their count into *n. */
static int read_rows(PGresult *res, troupe_cluster_node *out, size_t cap, size_t *n)
{
    if (PQnfields(res) != 7) {
        PQclear(res);
        return TROUPE_EIO;
    }
    size_t rows = (size_t)PQntuples(res);
    for (size_t i = 0; i < rows && i < cap; i++)
        read_row(res, (int)i, &out[i]);
    PQclear(res);
    *n = rows;
    return 0;
}

static bool args_ok(const troupe_cluster_node *out, size_t cap, const size_t *n)
{
    return n && (out || cap == 0);
}

TROUPE_API int troupe_cluster_nodes(troupe_cluster *c, troupe_cluster_node *out, size_t cap,
                                    size_t *n)
{
    if (n)
        *n = 0;
    if (!c || !args_ok(out, cap, n))
        return TROUPE_EINVAL;
    remote *r = cluster_remote(c);
    if (!r)
        return TROUPE_ESTATE;
    PGresult *res;
    pthread_mutex_lock(&r->rtmu); /* the route's connection: one query at a time */
    int rc = route_query(r->rt, NODES, &res);
    pthread_mutex_unlock(&r->rtmu);
    return rc ? rc : read_rows(res, out, cap, n);
}

/* Under the port protocol of core/send.c (as remote_metrics.c): counted
 * busy before the port is loaded, so the remote stays while we copy. */
int nodes_copy_query(troupe_system *sys, nodes_query *q, char *cluster, char *self)
{
    atomic_fetch_add(&sys->remote_busy, 1); /* seq_cst: see send_other */
    remote_port *port = atomic_load(&sys->remote);
    int rc = TROUPE_ENOTFOUND;
    if (port) {
        remote *r = (remote *)port;
        snprintf(q->cluster, sizeof q->cluster, "%s", r->cluster);
        snprintf(cluster, TROUPE_CLUSTER_NAME_MAX + 1, "%s", r->cluster);
        snprintf(self, TROUPE_CLUSTER_NAME_MAX + 1, "%s", r->node);
        rc = route_conninfo(r->rt, &q->conninfo, &q->timeout_ms);
    }
    /* release: our reads of the remote before detach's wait ends */
    atomic_fetch_sub_explicit(&sys->remote_busy, 1, memory_order_release);
    return rc;
}

int nodes_query_own(const nodes_query *q, const char *sql, int n, const char *const *p,
                    PGresult **res)
{
    PGconn *pg = PQconnectdb(q->conninfo); /* bounded by its connect_timeout */
    int rc = TROUPE_EIO;
    if (PQstatus(pg) == CONNECTION_OK) {
        pgq_quiet(pg);
        rc = pgq_exec(pg, sql, n, p, mono_ns() + q->timeout_ms * MS, res);
    }
    PQfinish(pg);
    return rc;
}

int cluster_sys_nodes(troupe_system *sys, troupe_cluster_node *out, size_t cap, size_t *n,
                      char *cluster, char *self)
{
    if (n)
        *n = 0;
    if (!sys || !cluster || !self || !args_ok(out, cap, n))
        return TROUPE_EINVAL;
    nodes_query q = {0};
    int rc = nodes_copy_query(sys, &q, cluster, self);
    PGresult *res = NULL;
    const char *p[] = {q.cluster};
    if (!rc)
        rc = nodes_query_own(&q, NODES, 1, p, &res);
    free(q.conninfo);
    return rc ? rc : read_rows(res, out, cap, n);
}
