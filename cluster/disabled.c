/* cluster/disabled.c — the cluster when the library is built without it
 * (-Dcluster=disabled, or libnats or libpq missing: neither is looked up
 * nor linked for it). The public symbols stay, so a program links against
 * either build: creating a handle answers TROUPE_ENOTSUP
 * (include/troupe/cluster.h). */
#include "cluster/nodes.h"
#include "core/common.h"
#include "troupe/cluster.h"

TROUPE_API void troupe_cluster_config_defaults(troupe_cluster_config *cfg)
{
    if (cfg)
        *cfg = (troupe_cluster_config){.lease_ms = 3000, .renew_ms = 500};
}

TROUPE_API int troupe_cluster_create(troupe_system *sys, const troupe_cluster_config *cfg,
                                     troupe_cluster **out)
{
    if (out)
        *out = NULL;
    if (!sys || !cfg || !out)
        return TROUPE_EINVAL;
    return TROUPE_ENOTSUP;
}

/* No handle can exist: any one given is invalid. */
TROUPE_API int troupe_cluster_join(troupe_cluster *c)
{
    return c ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_cluster_leave(troupe_cluster *c)
{
    return c ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API void troupe_cluster_destroy(troupe_cluster *c)
{
    (void)c;
}

TROUPE_API int troupe_cluster_state_of(const troupe_cluster *c)
{
    return c ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

/* --- remote refs and messaging --- */

TROUPE_API int troupe_cluster_lookup(troupe_cluster *c, const char *node, const char *name,
                                     uint64_t timeout_ns, troupe_ref *out)
{
    (void)node;
    (void)name;
    (void)timeout_ns;
    if (out)
        *out = TROUPE_REF_NONE;
    return c ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_cluster_ref_encode(troupe_cluster *c, troupe_ref ref, uint64_t *out)
{
    (void)ref;
    if (out)
        *out = 0;
    return c ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_cluster_ref_decode(troupe_cluster *c, uint64_t wire, troupe_ref *out)
{
    (void)wire;
    if (out)
        *out = TROUPE_REF_NONE;
    return c ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_cluster_node_number(const troupe_cluster *c)
{
    return c ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_cluster_stats_get(const troupe_cluster *c, troupe_cluster_stats *out)
{
    if (!c || !out)
        return TROUPE_EINVAL;
    return TROUPE_ENOTSUP;
}

/* Cluster actors and the cluster registry: no handle can exist. */
TROUPE_API int troupe_cluster_kind_register(troupe_cluster *c, const troupe_cluster_kind *k)
{
    return c && k ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_cluster_actor(troupe_cluster *c, const char *kind, const char *id,
                                    troupe_cluster_where *out)
{
    (void)out;
    return c && kind && id ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_cluster_where_is(troupe_cluster *c, const char *kind, const char *id,
                                       troupe_cluster_where *out)
{
    return c && kind && id && out ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_cluster_migrate(troupe_cluster *c, const char *kind, const char *id,
                                      const char *node)
{
    return c && kind && id && node ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_cluster_unpark(troupe_cluster *c, const char *kind, const char *id)
{
    return c && kind && id ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_cluster_owner_stats_get(troupe_cluster *c, troupe_cluster_owner_stats *out)
{
    return c && out ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_cluster_name_register(troupe_cluster *c, const char *name, troupe_ref ref)
{
    (void)ref;
    return c && name ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_cluster_name_lookup(troupe_cluster *c, const char *name, char *node,
                                          troupe_ref *ref)
{
    (void)node;
    return c && name && ref ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_cluster_name_unregister(troupe_cluster *c, const char *name)
{
    return c && name ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_cluster_nodes(troupe_cluster *c, troupe_cluster_node *out, size_t cap,
                                    size_t *n)
{
    (void)out;
    (void)cap;
    if (n)
        *n = 0;
    return c ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

/* cluster/nodes.h: the HTTP API's view; no system is ever joined. */
int cluster_sys_nodes(troupe_system *sys, troupe_cluster_node *out, size_t cap, size_t *n,
                      char *cluster, char *self)
{
    (void)out;
    (void)cap;
    (void)cluster;
    (void)self;
    if (n)
        *n = 0;
    return sys ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_cluster_ref(troupe_cluster *c, const char *kind, const char *id,
                                  troupe_ref *out)
{
    (void)kind;
    (void)id;
    if (out)
        *out = TROUPE_REF_NONE;
    return c && out ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

TROUPE_API int troupe_cluster_ref_stats_get(const troupe_cluster *c, troupe_cluster_ref_stats *out)
{
    return c && out ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}

int cluster_sys_actors(troupe_system *sys, size_t offset, cluster_actor_row *out, size_t cap,
                       size_t *n, size_t *total, char *cluster, char *self)
{
    (void)offset;
    (void)out;
    (void)cap;
    (void)cluster;
    (void)self;
    if (n)
        *n = 0;
    if (total)
        *total = 0;
    return sys ? TROUPE_ENOTSUP : TROUPE_EINVAL;
}
