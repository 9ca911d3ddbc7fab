/* cluster/actors_view.c — where each cluster actor lives, for the HTTP API
 * (GET /api/cluster/actors): a page of troupe_owners (owner.c's table),
 * with whether its owner's lease is valid, and the count of all rows, in
 * one query on a connection of the caller's own (nodes.c's helpers: the
 * HTTP layer holds the system, not the handle, and a leave never waits
 * for it). */
#define TROUPE_CLUSTER_NODES_INTERNAL
#include "cluster/nodes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "troupe/error.h"

/* The count comes from the outer row, so an offset past the end still
 * answers it (one row, the page's columns NULL). Live: as owner.c's LIVE. */
static const char ACTORS[] =
    "WITH t AS (SELECT count(*) AS c FROM troupe_owners WHERE cluster = $1)"
    " SELECT t.c, p.kind, p.id, p.node, p.epoch, p.state, p.live, p.fails FROM t"
    " LEFT JOIN LATERAL (SELECT o.kind, o.id, o.node, o.epoch, o.state, o.fails,"
    " o.state = 'active' AND EXISTS (SELECT 1 FROM troupe_nodes n WHERE n.cluster = o.cluster"
    " AND n.node = o.node AND n.incarnation = o.incarnation AND n.state = 'up'"
    " AND n.lease_until > now()) AS live"
    " FROM troupe_owners o WHERE o.cluster = $1 ORDER BY o.kind, o.id"
    " LIMIT $2::bigint OFFSET $3::bigint) p ON true";

static int32_t state_of(const char *s)
{
    if (!strcmp(s, "active"))
        return TROUPE_OWNER_ACTIVE;
    if (!strcmp(s, "parked"))
        return TROUPE_OWNER_PARKED;
    return TROUPE_OWNER_RELEASED;
}

static void read_row(const PGresult *res, int i, cluster_actor_row *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->kind, sizeof o->kind, "%s", PQgetvalue(res, i, 1));
    snprintf(o->id, sizeof o->id, "%s", PQgetvalue(res, i, 2));
    snprintf(o->node, sizeof o->node, "%s", PQgetvalue(res, i, 3));
    o->epoch = strtoull(PQgetvalue(res, i, 4), NULL, 10);
    o->state = state_of(PQgetvalue(res, i, 5));
    o->live = PQgetvalue(res, i, 6)[0] == 't';
    o->fails = (uint32_t)strtoul(PQgetvalue(res, i, 7), NULL, 10);
}

/* Consumes res. A NULL kind is the outer row of an empty page. */
static int read_rows(PGresult *res, cluster_actor_row *out, size_t cap, size_t *n, size_t *total)
{
    if (PQnfields(res) != 8 || PQntuples(res) < 1) {
        PQclear(res);
        return TROUPE_EIO;
    }
    *total = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
    size_t rows = (size_t)PQntuples(res), k = 0;
    for (size_t i = 0; i < rows && k < cap; i++)
        if (!PQgetisnull(res, (int)i, 1))
            read_row(res, (int)i, &out[k++]);
    PQclear(res);
    *n = k;
    return 0;
}

int cluster_sys_actors(troupe_system *sys, size_t offset, cluster_actor_row *out, size_t cap,
                       size_t *n, size_t *total, char *cluster, char *self)
{
    if (n)
        *n = 0;
    if (total)
        *total = 0;
    if (!sys || !n || !total || !cluster || !self || (!out && cap > 0))
        return TROUPE_EINVAL;
    nodes_query q = {0};
    int rc = nodes_copy_query(sys, &q, cluster, self);
    char lim[24], off[24];
    snprintf(lim, sizeof lim, "%zu", cap);
    snprintf(off, sizeof off, "%zu", offset);
    const char *p[] = {q.cluster, lim, off};
    PGresult *res = NULL;
    if (!rc)
        rc = nodes_query_own(&q, ACTORS, 3, p, &res);
    free(q.conninfo);
    return rc ? rc : read_rows(res, out, cap, n, total);
}
