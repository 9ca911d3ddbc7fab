/* cluster/route.c — node numbers (slots) and the cluster's map, read from
 * PostgreSQL on a connection of the route's own (route.h). The membership
 * rows are member.c's; this file only reads them. */
#include "cluster/route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/pgq.h"
#include "core/alloc.h"
#include "core/common.h"

#define MS 1000000ull
#define SLOT_TRIES 8 /* two nodes racing for one free slot: one retries */

struct route {
    PGconn *pg;
    char *conninfo;
    char cluster[64], node[64];
    uint32_t slot;
    uint32_t timeout_ms;
};

/* Under an advisory lock, as member.c's: nodes started together. */
static const char SCHEMA[] =
    "BEGIN; SELECT pg_advisory_xact_lock(127978031542375);"
    "CREATE TABLE IF NOT EXISTS troupe_slots (cluster text NOT NULL, node text NOT NULL,"
    " slot int NOT NULL CHECK (slot BETWEEN 1 AND 1023), PRIMARY KEY (cluster, node),"
    " UNIQUE (cluster, slot));"
    "COMMIT";
/* The node's slot, or the lowest free one taken for it. */
static const char TAKE[] =
    "WITH old AS (SELECT slot FROM troupe_slots WHERE cluster = $1 AND node = $2),"
    " ins AS (INSERT INTO troupe_slots SELECT $1, $2, (SELECT s FROM generate_series(1, 1023) s"
    " WHERE s NOT IN (SELECT slot FROM troupe_slots WHERE cluster = $1) ORDER BY s LIMIT 1)"
    " WHERE NOT EXISTS (SELECT 1 FROM old) RETURNING slot)"
    " SELECT slot FROM old UNION ALL SELECT slot FROM ins";
static const char LIST[] =
    "SELECT s.node, s.slot, coalesce(n.incarnation, 0),"
    " coalesce(n.state = 'up' AND n.lease_until > now(), false)"
    " FROM troupe_slots s LEFT JOIN troupe_nodes n ON n.cluster = s.cluster AND n.node = s.node"
    " WHERE s.cluster = $1 ORDER BY s.slot";

static void quiet(void *arg, const char *msg)
{
    (void)arg; /* "already exists, skipping" and the like: not ours to print */
    (void)msg;
}

static int ensure(route *r)
{
    if (r->pg && PQstatus(r->pg) == CONNECTION_OK)
        return 0;
    if (r->pg)
        PQfinish(r->pg);
    r->pg = PQconnectdb(r->conninfo); /* bounded by connect_timeout (route_open) */
    if (PQstatus(r->pg) != CONNECTION_OK)
        return TROUPE_EIO;
    PQsetNoticeProcessor(r->pg, quiet, NULL);
    return 0;
}

static int exec(route *r, const char *sql, int n, PGresult **out)
{
    int rc = ensure(r);
    if (rc)
        return rc;
    const char *p[] = {r->cluster, r->node};
    rc = pgq_exec(r->pg, sql, n, p, mono_ns() + r->timeout_ms * MS, out);
    if (rc == TROUPE_ETIMEDOUT || PQstatus(r->pg) != CONNECTION_OK) {
        PQfinish(r->pg); /* mid-query or lost: a fresh one next time */
        r->pg = NULL;
    }
    return rc;
}

static int take_slot(route *r)
{
    int rc = TROUPE_EIO;
    for (int i = 0; i < SLOT_TRIES; i++) {
        PGresult *res;
        if ((rc = exec(r, SCHEMA, 0, &res)) != 0)
            continue; /* two creators race on the catalog: one retries */
        PQclear(res);
        if ((rc = exec(r, TAKE, 2, &res)) != 0)
            continue; /* a unique violation: another node took that slot */
        bool ok = PQntuples(res) == 1;
        if (ok)
            r->slot = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        return ok ? 0 : TROUPE_EIO;
    }
    return rc == TROUPE_ETIMEDOUT ? TROUPE_EIO : rc;
}

int route_open(const char *conninfo, const char *cluster, const char *node, uint32_t timeout_ms,
               route **out)
{
    *out = NULL;
    route *r = sys_calloc(1, sizeof *r);
    if (!r)
        return TROUPE_ENOMEM;
    size_t n = strlen(conninfo) + 64;
    if (!(r->conninfo = sys_malloc(n))) {
        free(r);
        return TROUPE_ENOMEM;
    }
    /* libpq takes the last value of a keyword: connecting is bounded too */
    snprintf(r->conninfo, n, "%s connect_timeout=%u", conninfo, timeout_ms / 1000 + 1);
    snprintf(r->cluster, sizeof r->cluster, "%s", cluster);
    snprintf(r->node, sizeof r->node, "%s", node);
    r->timeout_ms = timeout_ms;
    int rc = take_slot(r);
    if (rc) {
        route_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

void route_close(route *r)
{
    if (!r)
        return;
    if (r->pg)
        PQfinish(r->pg);
    free(r->conninfo);
    free(r);
}

uint32_t route_my_slot(const route *r)
{
    return r->slot;
}

int route_list(route *r, route_entry *out, int cap)
{
    PGresult *res;
    int rc = exec(r, LIST, 1, &res);
    if (rc)
        return rc;
    int n = PQntuples(res), k = 0;
    for (int i = 0; i < n && k < cap; i++) {
        route_entry *e = &out[k];
        snprintf(e->name, sizeof e->name, "%s", PQgetvalue(res, i, 0));
        e->slot = (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10);
        e->incarnation = strtoull(PQgetvalue(res, i, 2), NULL, 10);
        e->live = PQgetvalue(res, i, 3)[0] == 't';
        k += e->slot >= 1 && e->slot <= 1023;
    }
    PQclear(res);
    return k;
}

int route_query(route *r, const char *sql, PGresult **out)
{
    return exec(r, sql, 1, out);
}

int route_conninfo(const route *r, char **conninfo, uint32_t *timeout_ms)
{
    *timeout_ms = r->timeout_ms;
    *conninfo = sys_strdup(r->conninfo);
    return *conninfo ? 0 : TROUPE_ENOMEM;
}
