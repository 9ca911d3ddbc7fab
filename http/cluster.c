/* http/cluster.c — GET /api/cluster/nodes: the nodes of the cluster the
 * system has joined, from the membership table (cluster/nodes.h). The
 * HTTP layer sits above cluster/, so it asks it directly; the query runs
 * on a connection of its own, bounded by the lease, and a leave never
 * waits for it. A system that has not joined a cluster (or a build
 * without one) answers 404. */
#include "cluster/nodes.h"
#include "core/alloc.h"
#include "http/internal.h"

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
    /* Actors owned: the ownership layer (cluster actors, issue 14) fills
     * it; until it exists the count is unknown, so null, never a 0. */
    jw_key(w, "actors_owned"), jw_null(w);
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

void api_cluster_nodes(hreq *r)
{
    troupe_cluster_node *nds = sys_calloc(NODES_CAP, sizeof *nds);
    char cluster[TROUPE_CLUSTER_NAME_MAX + 1] = "", self[TROUPE_CLUSTER_NAME_MAX + 1] = "";
    size_t n = 0;
    int rc = nds ? cluster_sys_nodes(r->srv->sys, nds, NODES_CAP, &n, cluster, self)
                 : TROUPE_ENOMEM;
    if (rc == TROUPE_ENOTFOUND || rc == TROUPE_ENOTSUP)
        http_error(r, MHD_HTTP_NOT_FOUND, "the system has not joined a cluster");
    else if (rc == TROUPE_EIO || rc == TROUPE_ETIMEDOUT)
        http_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "the membership database did not answer");
    else if (rc < 0)
        http_error_code(r, rc);
    else
        write_nodes(r, nds, n < NODES_CAP ? n : NODES_CAP, n, cluster, self);
    free(nds);
}
