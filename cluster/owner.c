/* cluster/owner.c — ownership rows in PostgreSQL (own.h).
 *
 * troupe_owners (pid, cluster, kind, id, node, incarnation, epoch, state,
 * fails): one row per cluster actor, keyed by its persistence id. Every
 * change of owner is a compare-and-set on the epoch, and bumps it: a claim
 * names the epoch it saw, and wins only if the row still has it and is
 * claimable — released, or its owner's lease (troupe_nodes, server time)
 * expired — and only while the claimer's own lease is valid. Two nodes
 * racing on one row: the second's update waits for the first's row lock,
 * then finds the epoch changed: exactly one wins. The journal's guarded
 * append (persistence/guard.h) share-locks the same row, so a claim and a
 * stale owner's append are ordered by the row lock (persistence/pg_guard.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/own.h"
#include "cluster/pgq.h"
#include "core/common.h"

#define MS 1000000ull

static const char SCHEMA[] =
    "BEGIN; SELECT pg_advisory_xact_lock(127978031542374);"
    "CREATE TABLE IF NOT EXISTS troupe_owners (pid text COLLATE \"C\" PRIMARY KEY,"
    " cluster text NOT NULL, kind text NOT NULL, id text NOT NULL, node text NOT NULL,"
    " incarnation bigint NOT NULL, epoch bigint NOT NULL, state text NOT NULL,"
    " fails integer NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS troupe_names (cluster text NOT NULL, name text NOT NULL,"
    " node text NOT NULL, incarnation bigint NOT NULL, ref bigint NOT NULL,"
    " PRIMARY KEY (cluster, name));"
    "COMMIT";

/* Is the owner named by row o (node, incarnation) a live member? */
#define LIVE(o)                                                                              \
    "EXISTS (SELECT 1 FROM troupe_nodes n WHERE n.cluster = " o ".cluster AND n.node = " o \
    ".node AND n.incarnation = " o ".incarnation AND n.state = 'up' AND n.lease_until > now())"

/* $1 pid $2 cluster $3 kind $4 id $5 node $6 incarnation $7 seen epoch */
static const char CLAIM[] =
    "INSERT INTO troupe_owners AS o SELECT $1, $2, $3, $4, $5, $6::bigint, 1, 'active', 0"
    " WHERE EXISTS (SELECT 1 FROM troupe_nodes n WHERE n.cluster = $2 AND n.node = $5"
    " AND n.incarnation = $6::bigint AND n.state = 'up' AND n.lease_until > now())"
    " ON CONFLICT (pid) DO UPDATE SET node = excluded.node, incarnation = excluded.incarnation,"
    " epoch = o.epoch + 1, state = 'active'"
    " WHERE o.epoch = $7::bigint AND o.state <> 'parked'"
    " AND (o.state = 'released' OR NOT " LIVE("o") ")"
    " RETURNING epoch";
/* A row with no owner, at epoch 0: the placed node claims it. */
static const char PLACE[] = "INSERT INTO troupe_owners VALUES ($1, $2, $3, $4, '', 0, 0,"
                            " 'released', 0) ON CONFLICT (pid) DO NOTHING";
/* $1 pid $2 node $3 incarnation $4 epoch $5 the node handed to ('' any) */
static const char RELEASE[] =
    "UPDATE troupe_owners SET state = 'released', epoch = epoch + 1, node = $5, incarnation = 0"
    " WHERE pid = $1 AND node = $2 AND incarnation = $3::bigint AND epoch = $4::bigint"
    " RETURNING epoch";
static const char PARK[] = "UPDATE troupe_owners SET state = 'parked', epoch = epoch + 1,"
                           " fails = $3::integer WHERE pid = $1 AND epoch = $2::bigint"
                           " RETURNING epoch";
static const char UNPARK[] = "UPDATE troupe_owners SET state = 'released', epoch = epoch + 1,"
                             " fails = 0, node = '' WHERE pid = $1 AND state = 'parked'"
                             " RETURNING epoch";
#define COLS "SELECT pid, kind, id, node, epoch, state, state = 'active' AND " LIVE("o")
static const char GET[] = COLS " FROM troupe_owners o WHERE pid = $1";
static const char ORPHANS[] = COLS " FROM troupe_owners o WHERE cluster = $1 AND"
                              " (state = 'released' OR (state = 'active' AND NOT " LIVE("o") "))"
                              " ORDER BY pid LIMIT $2::integer";
static const char MINE[] = COLS " FROM troupe_owners o WHERE cluster = $1 AND node = $2"
                           " AND incarnation = $3::bigint AND state = 'active' ORDER BY pid"
                           " LIMIT $4::integer";
static const char LIVE_NODES[] = "SELECT node FROM troupe_nodes WHERE cluster = $1"
                                 " AND state = 'up' AND lease_until > now() ORDER BY node"
                                 " LIMIT $2::integer";

uint64_t owner_deadline(const own *o)
{
    return mono_ns() + o->lease_ms * MS;
}

static int run(own *o, const char *sql, int n, const char *const *p, PGresult **r)
{
    return pgq_run(&o->pg, o->conninfo, sql, n, p, owner_deadline(o), r);
}

/* Run a statement that answers at most one row: 1 with a row, 0 none. */
static int run_row(own *o, const char *sql, int n, const char *const *p, uint64_t *val)
{
    PGresult *r;
    int rc = run(o, sql, n, p, &r);
    if (rc)
        return rc;
    int got = PQntuples(r) > 0;
    if (got && val)
        *val = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return got;
}

int owner_schema(own *o)
{
    PGresult *r;
    int rc = run(o, SCHEMA, 0, NULL, &r);
    PQclear(r);
    return rc;
}

int owner_claim(own *o, const char *pid, const char *kind, const char *id, uint64_t seen,
                uint64_t *epoch)
{
    char s[24];
    snprintf(s, sizeof s, "%llu", (unsigned long long)seen);
    const char *p[] = {pid, o->cluster, kind, id, o->node, o->inc, s};
    int rc = run_row(o, CLAIM, 7, p, epoch);
    return rc < 0 ? rc : rc ? 0 : TROUPE_EBUSY;
}

int owner_place(own *o, const char *pid, const char *kind, const char *id)
{
    const char *p[] = {pid, o->cluster, kind, id};
    int rc = run_row(o, PLACE, 4, p, NULL);
    return rc < 0 ? rc : 0;
}

int owner_release(own *o, const char *pid, uint64_t epoch, const char *to_node)
{
    char e[24];
    snprintf(e, sizeof e, "%llu", (unsigned long long)epoch);
    const char *p[] = {pid, o->node, o->inc, e, to_node ? to_node : ""};
    int rc = run_row(o, RELEASE, 5, p, NULL);
    return rc < 0 ? rc : rc ? 0 : TROUPE_EBUSY;
}

int owner_park(own *o, const char *pid, uint64_t epoch, uint32_t fails)
{
    char e[24], f[16];
    snprintf(e, sizeof e, "%llu", (unsigned long long)epoch);
    snprintf(f, sizeof f, "%u", fails);
    const char *p[] = {pid, e, f};
    int rc = run_row(o, PARK, 3, p, NULL);
    return rc < 0 ? rc : rc ? 0 : TROUPE_EBUSY;
}

int owner_unpark(own *o, const char *pid)
{
    const char *p[] = {pid};
    int rc = run_row(o, UNPARK, 1, p, NULL);
    return rc < 0 ? rc : rc ? 0 : TROUPE_ENOTFOUND;
}

static int state_of(const char *s)
{
    if (!strcmp(s, "active"))
        return TROUPE_OWNER_ACTIVE;
    return !strcmp(s, "parked") ? TROUPE_OWNER_PARKED : TROUPE_OWNER_RELEASED;
}

static void decode(const PGresult *r, int i, own_row *w)
{
    snprintf(w->pid, sizeof w->pid, "%s", PQgetvalue(r, i, 0));
    snprintf(w->kind, sizeof w->kind, "%s", PQgetvalue(r, i, 1));
    snprintf(w->id, sizeof w->id, "%s", PQgetvalue(r, i, 2));
    snprintf(w->node, sizeof w->node, "%s", PQgetvalue(r, i, 3));
    w->epoch = strtoull(PQgetvalue(r, i, 4), NULL, 10);
    w->state = state_of(PQgetvalue(r, i, 5));
    w->live = PQgetvalue(r, i, 6)[0] == 't';
}

static int rows(own *o, const char *sql, int n, const char *const *p, own_row *out, int cap)
{
    PGresult *r;
    int rc = run(o, sql, n, p, &r);
    if (rc)
        return rc;
    int got = PQntuples(r) < cap ? PQntuples(r) : cap;
    for (int i = 0; i < got; i++)
        decode(r, i, &out[i]);
    PQclear(r);
    return got;
}

int owner_get(own *o, const char *pid, own_row *out)
{
    const char *p[] = {pid};
    int rc = rows(o, GET, 1, p, out, 1);
    return rc < 0 ? rc : rc ? 0 : TROUPE_ENOTFOUND;
}

int owner_get_on(PGconn **pc, const char *conninfo, uint64_t deadline_ns, const char *pid,
                 own_row *out)
{
    const char *p[] = {pid};
    PGresult *r;
    int rc = pgq_run(pc, conninfo, GET, 1, p, deadline_ns, &r);
    if (rc)
        return rc;
    int got = PQntuples(r) > 0;
    if (got)
        decode(r, 0, out);
    PQclear(r);
    return got ? 0 : TROUPE_ENOTFOUND;
}

int owner_orphans(own *o, own_row *out, int cap)
{
    char c[16];
    snprintf(c, sizeof c, "%d", cap);
    const char *p[] = {o->cluster, c};
    return rows(o, ORPHANS, 2, p, out, cap);
}

int owner_mine(own *o, own_row *out, int cap)
{
    char c[16];
    snprintf(c, sizeof c, "%d", cap);
    const char *p[] = {o->cluster, o->node, o->inc, c};
    return rows(o, MINE, 4, p, out, cap);
}

int owner_live_nodes(own *o, char (*out)[TROUPE_CLUSTER_NAME_MAX + 1], int cap)
{
    char c[16];
    snprintf(c, sizeof c, "%d", cap);
    const char *p[] = {o->cluster, c};
    PGresult *r;
    int rc = run(o, LIVE_NODES, 2, p, &r);
    if (rc)
        return rc;
    int got = PQntuples(r) < cap ? PQntuples(r) : cap;
    for (int i = 0; i < got; i++)
        snprintf(out[i], sizeof out[i], "%s", PQgetvalue(r, i, 0));
    PQclear(r);
    return got;
}

/* Rendezvous (highest random weight) hashing: every node scores
 * hash(node, pid) and the highest wins; when a node leaves, only its
 * actors move. FNV-1a over both, then a 64-bit finaliser to spread it. */
static uint64_t score(const char *node, const char *pid)
{
    uint64_t h = 14695981039346656037ull;
    for (const char *c = node; *c; c++)
        h = (h ^ (uint8_t)*c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull; /* a separator: ("ab","c") != ("a","bc") */
    for (const char *c = pid; *c; c++)
        h = (h ^ (uint8_t)*c) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

int owner_pick(char (*nodes)[TROUPE_CLUSTER_NAME_MAX + 1], int n, const char *pid)
{
    int best = -1;
    uint64_t top = 0;
    for (int i = 0; i < n; i++) {
        uint64_t s = score(nodes[i], pid);
        if (best < 0 || s > top) {
            best = i;
            top = s;
        }
    }
    return best;
}
