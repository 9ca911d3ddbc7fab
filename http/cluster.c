/* http/cluster.c — GET /api/cluster/nodes: the nodes of the cluster the
 * system has joined, from the membership table (cluster/nodes.h); GET
 * /api/cluster/actors: where each cluster actor lives, a page at a time
 * (?limit=1..1000, default 100; ?offset=, default 0). The
 * HTTP layer sits above cluster/, so it asks it directly; the query runs
 * on a connection of its own, bounded by the lease, and a leave never
 * waits for it. A system that has not joined a cluster (or a build
 * without one) answers 404. */
#include "cluster/nodes.h"
#include "core/alloc.h"
#include "http/internal.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

/* Room for every node number (1..1023) and one more, to see there are more. */
#define NODES_CAP 1024

static const char *node_state_name(int32_t s)
{
    static const char *const names[] = {"up", "left", "expired"};
    return (uint32_t)s < 3 ? names[s] : "unknown";
}

static void write_node(jw *w, const troupe_cluster_node *nd, const char *self)
{
    jw_obj(w);
    jw_key(w, "name"), jw_str(w, nd->name);
    jw_key(w, "self"), jw_bool(w, strcmp(nd->name, self) == 0);
    jw_key(w, "number"), jw_u64(w, nd->number);
    jw_key(w, "incarnation"), jw_u64(w, nd->incarnation);
    jw_key(w, "state"), jw_str(w, node_state_name(nd->state));
    jw_key(w, "lease_age_ms"), jw_i64(w, nd->lease_age_ms);
    jw_key(w, "lease_remaining_ms"), jw_i64(w, nd->lease_remaining_ms);
    jw_key(w, "actors_owned"), jw_u64(w, nd->actors_owned);
    jw_obj_end(w);
}

static void write_nodes(hreq *r, const troupe_cluster_node *nds, size_t n, size_t total,
                        const char *cluster, const char *self)
{
    jw *w = &r->out.w;
    jw_obj(w);
    jw_key(w, "cluster"), jw_str(w, cluster);
    jw_key(w, "self"), jw_str(w, self);
    jw_key(w, "total"), jw_u64(w, total);
    jw_key(w, "nodes");
    jw_arr(w);
    for (size_t i = 0; i < n; i++)
        write_node(w, &nds[i], self);
    jw_arr_end(w);
    jw_obj_end(w);
}

/* Both endpoints map the cluster's errors the same way; 1 if one was sent. */
static int cluster_error(hreq *r, int rc)
{
    if (rc == TROUPE_ENOTFOUND || rc == TROUPE_ENOTSUP)
        http_error(r, MHD_HTTP_NOT_FOUND, "the system has not joined a cluster");
    else if (rc == TROUPE_EIO || rc == TROUPE_ETIMEDOUT)
        http_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "the membership database did not answer");
    else if (rc < 0)
        http_error_code(r, rc);
    return rc < 0;
}

void api_cluster_nodes(hreq *r)
{
    troupe_cluster_node *nds = sys_calloc(NODES_CAP, sizeof *nds);
    char cluster[TROUPE_CLUSTER_NAME_MAX + 1] = "", self[TROUPE_CLUSTER_NAME_MAX + 1] = "";
    size_t n = 0;
    int rc = nds ? cluster_sys_nodes(r->srv->sys, nds, NODES_CAP, &n, cluster, self)
                 : TROUPE_ENOMEM;
    if (!cluster_error(r, rc))
        write_nodes(r, nds, n < NODES_CAP ? n : NODES_CAP, n, cluster, self);
    free(nds);
}

/* ---- /api/cluster/actors ---------------------------------------------------- */

#define ACTORS_LIMIT_DEFAULT 100
#define ACTORS_LIMIT_MAX 1000

/* A decimal query value in lo..hi, def when absent; -1 when malformed. */
static long long query_num(hreq *r, const char *key, long long def, long long lo, long long hi)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
    if (!v)
        return def;
    if (*v < '0' || *v > '9')
        return -1;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    return errno || *end || x < lo || x > hi ? -1 : x;
}

static const char *owner_state_name(int32_t s)
{
    static const char *const names[] = {"?", "active", "released", "parked"};
    return (uint32_t)s < 4 ? names[s] : "unknown";
}

static void write_actor(jw *w, const cluster_actor_row *a)
{
    jw_obj(w);
    jw_key(w, "kind"), jw_str(w, a->kind);
    jw_key(w, "id"), jw_str(w, a->id);
    jw_key(w, "node"), jw_str(w, a->node);
    jw_key(w, "epoch"), jw_u64(w, a->epoch);
    jw_key(w, "state"), jw_str(w, owner_state_name(a->state));
    jw_key(w, "live"), jw_bool(w, a->live != 0);
    jw_key(w, "fails"), jw_u64(w, a->fails);
    jw_obj_end(w);
}

typedef struct actors_page {
    const cluster_actor_row *rows;
    size_t n, total;
    long long offset, limit;
} actors_page;

static void write_actors(hreq *r, const actors_page *pg, const char *cluster, const char *self)
{
    jw *w = &r->out.w;
    jw_obj(w);
    jw_key(w, "cluster"), jw_str(w, cluster);
    jw_key(w, "self"), jw_str(w, self);
    jw_key(w, "total"), jw_u64(w, pg->total);
    jw_key(w, "offset"), jw_i64(w, pg->offset);
    jw_key(w, "limit"), jw_i64(w, pg->limit);
    jw_key(w, "actors");
    jw_arr(w);
    for (size_t i = 0; i < pg->n; i++)
        write_actor(w, &pg->rows[i]);
    jw_arr_end(w);
    jw_obj_end(w);
}

void api_cluster_actors(hreq *r)
{
    actors_page pg = {
        .limit = query_num(r, "limit", ACTORS_LIMIT_DEFAULT, 1, ACTORS_LIMIT_MAX),
        .offset = query_num(r, "offset", 0, 0, (long long)1 << 40),
    };
    if (pg.limit < 0 || pg.offset < 0) {
        http_error(r, MHD_HTTP_BAD_REQUEST,
                   "limit must be an integer in 1..1000 and offset a non-negative integer");
        return;
    }
    cluster_actor_row *rows = sys_calloc((size_t)pg.limit, sizeof *rows);
    char cluster[TROUPE_CLUSTER_NAME_MAX + 1] = "", self[TROUPE_CLUSTER_NAME_MAX + 1] = "";
    int rc = rows ? cluster_sys_actors(r->srv->sys, (size_t)pg.offset, rows, (size_t)pg.limit,
                                       &pg.n, &pg.total, cluster, self)
                  : TROUPE_ENOMEM;
    pg.rows = rows;
    if (!cluster_error(r, rc))
        write_actors(r, &pg, cluster, self);
    free(rows);
}
