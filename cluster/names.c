/* cluster/names.c — the cluster registry: names unique across the
 * cluster, in troupe_names (cluster, name, node, incarnation, ref).
 *
 * A name is held by a node's incarnation. Registering takes a free name,
 * or one whose holder is no longer a live member (its lease expired, it
 * left, or it rejoined as a newer incarnation): one upsert whose update
 * only happens under that condition, so two nodes racing for a name get
 * one winner (the row lock orders them). Lookups ignore names of dead
 * holders, so a node that died without leaving holds nothing; a node that
 * leaves deletes its names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/own.h"
#include "cluster/pgq.h"
#include "core/common.h"

#define HOLDER_LIVE                                                                          \
    "EXISTS (SELECT 1 FROM troupe_nodes n WHERE n.cluster = t.cluster AND n.node = t.node" \
    " AND n.incarnation = t.incarnation AND n.state = 'up' AND n.lease_until > now())"

/* $1 cluster $2 name $3 node $4 incarnation $5 ref */
static const char REGISTER[] =
    "INSERT INTO troupe_names AS t SELECT $1, $2, $3, $4::bigint, $5::bigint"
    " WHERE EXISTS (SELECT 1 FROM troupe_nodes n WHERE n.cluster = $1 AND n.node = $3"
    " AND n.incarnation = $4::bigint AND n.state = 'up' AND n.lease_until > now())"
    " ON CONFLICT (cluster, name) DO UPDATE SET node = excluded.node,"
    " incarnation = excluded.incarnation, ref = excluded.ref WHERE NOT " HOLDER_LIVE
    " RETURNING 1";
static const char LOOKUP[] = "SELECT node, ref FROM troupe_names t WHERE cluster = $1"
                             " AND name = $2 AND " HOLDER_LIVE;
static const char UNREGISTER[] = "DELETE FROM troupe_names WHERE cluster = $1 AND name = $2"
                                 " AND node = $3 AND incarnation = $4::bigint RETURNING 1";
static const char DROP_MINE[] = "DELETE FROM troupe_names WHERE cluster = $1 AND node = $2"
                                " AND incarnation = $3::bigint";

static int names_run(own *o, const char *sql, int n, const char *const *p, PGresult **r)
{
    return pgq_run(&o->pg, o->conninfo, sql, n, p, owner_deadline(o), r);
}

/* A name: 1..63 bytes of [A-Za-z0-9_.:-]. */
static bool name_ok(const char *s)
{
    size_t n = s ? strnlen(s, TROUPE_CLUSTER_NAME_MAX + 1) : 0;
    if (n == 0 || n > TROUPE_CLUSTER_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-", s[i]))
            return false;
    return true;
}

/* o locked and joined, or TROUPE_ESTATE / TROUPE_EFENCED (unlocked). */
static int enter(troupe_cluster *c, const char *name, own **out)
{
    own *o = c ? cluster_own(c) : NULL;
    if (!o || !name_ok(name))
        return TROUPE_EINVAL;
    pthread_mutex_lock(&o->mu);
    int rc = !o->joined ? TROUPE_ESTATE : o->fenced || o->is_fenced(o->ud) ? TROUPE_EFENCED : 0;
    if (rc)
        pthread_mutex_unlock(&o->mu);
    *out = o;
    return rc;
}

/* 1 if the statement answered a row, 0 if none, < 0. */
static int one(own *o, const char *sql, int n, const char *const *p)
{
    PGresult *r;
    int rc = names_run(o, sql, n, p, &r);
    if (rc)
        return rc;
    rc = PQntuples(r) > 0;
    PQclear(r);
    return rc;
}

TROUPE_API int troupe_cluster_name_register(troupe_cluster *c, const char *name, troupe_ref ref)
{
    own *o;
    if (troupe_ref_is_none(ref))
        return TROUPE_EINVAL;
    int rc = enter(c, name, &o);
    if (rc)
        return rc;
    char r[24];
    snprintf(r, sizeof r, "%lld", (long long)ref.id); /* bigint: the bits, signed */
    const char *p[] = {o->cluster, name, o->node, o->inc, r};
    rc = one(o, REGISTER, 5, p);
    pthread_mutex_unlock(&o->mu);
    return rc < 0 ? rc : rc ? 0 : TROUPE_EEXIST;
}

TROUPE_API int troupe_cluster_name_lookup(troupe_cluster *c, const char *name, char *node,
                                          troupe_ref *ref)
{
    own *o;
    if (!ref)
        return TROUPE_EINVAL;
    int rc = enter(c, name, &o);
    if (rc)
        return rc;
    const char *p[] = {o->cluster, name};
    PGresult *r;
    rc = names_run(o, LOOKUP, 2, p, &r);
    pthread_mutex_unlock(&o->mu);
    if (rc)
        return rc;
    if (PQntuples(r) == 1) {
        if (node)
            snprintf(node, TROUPE_CLUSTER_NAME_MAX + 1, "%s", PQgetvalue(r, 0, 0));
        ref->id = (uint64_t)strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    }
    rc = PQntuples(r) == 1 ? 0 : TROUPE_ENOTFOUND;
    PQclear(r);
    return rc;
}

TROUPE_API int troupe_cluster_name_unregister(troupe_cluster *c, const char *name)
{
    own *o;
    int rc = enter(c, name, &o);
    if (rc)
        return rc;
    const char *p[] = {o->cluster, name, o->node, o->inc};
    rc = one(o, UNREGISTER, 4, p);
    pthread_mutex_unlock(&o->mu);
    return rc < 0 ? rc : rc ? 0 : TROUPE_ENOTFOUND;
}

/* Leaving: this incarnation's names go with it (o->mu held). */
int names_drop_mine(own *o)
{
    const char *p[] = {o->cluster, o->node, o->inc};
    PGresult *r;
    int rc = names_run(o, DROP_MINE, 3, p, &r);
    PQclear(r);
    return rc;
}
