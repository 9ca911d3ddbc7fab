/* cluster/cluster.c — the cluster handle: the configuration checked and
 * copied, and the node's state; joining and leaving are membership's
 * (member.c), messaging remote.c's, cluster actors own.h's. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/member.h"
#include "cluster/remote.h"
#include "cluster/own.h"
#include "core/alloc.h"
#include "core/common.h"
#include "troupe/cluster.h"

struct troupe_cluster {
    troupe_system *sys;
    char *cluster, *node, *nats_urls, *pg_conninfo;
    uint32_t lease_ms, renew_ms, flags;
    member *mem; /* while joined */
    remote *net; /* while joined: remote refs and messaging (remote.c) */
    own *own;    /* cluster actors and names (own.h) */
    /* relaxed: a word read by observers; nothing is published through it */
    _Atomic int state;
};

TROUPE_API void troupe_cluster_config_defaults(troupe_cluster_config *cfg)
{
    if (cfg)
        *cfg = (troupe_cluster_config){.lease_ms = 3000, .renew_ms = 500};
}

/* A name becomes a NATS subject token: 1..63 bytes of [A-Za-z0-9_-]. */
static bool name_ok(const char *s)
{
    if (!s)
        return false;
    size_t n = strnlen(s, TROUPE_CLUSTER_NAME_MAX + 1);
    if (n == 0 || n > TROUPE_CLUSTER_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

static bool reserved_zero(const troupe_cluster_config *cfg)
{
    for (size_t i = 0; i < sizeof cfg->reserved; i++)
        if (cfg->reserved[i])
            return false;
    return true;
}

static bool config_ok(const troupe_cluster_config *cfg)
{
    if (!name_ok(cfg->cluster) || !name_ok(cfg->node))
        return false;
    if (!cfg->nats_urls || !cfg->nats_urls[0] || !cfg->pg_conninfo)
        return false;
    /* two renewals must fit in a lease, or one slow one fences the node */
    if (cfg->renew_ms == 0 || cfg->lease_ms == 0 || cfg->renew_ms >= cfg->lease_ms / 2)
        return false;
    if (cfg->flags & ~(uint32_t)TROUPE_CLUSTER_NO_REJOIN)
        return false;
    return reserved_zero(cfg);
}

static void cluster_free(troupe_cluster *c)
{
    own_destroy(c->own);
    free(c->cluster);
    free(c->node);
    free(c->nats_urls);
    free(c->pg_conninfo);
    free(c);
}

TROUPE_API int troupe_cluster_create(troupe_system *sys, const troupe_cluster_config *cfg,
                                     troupe_cluster **out)
{
    if (out)
        *out = NULL;
    if (!sys || !cfg || !out || !config_ok(cfg))
        return TROUPE_EINVAL;
    troupe_cluster *c = sys_calloc(1, sizeof *c);
    if (!c)
        return TROUPE_ENOMEM;
    c->sys = sys;
    c->cluster = sys_strdup(cfg->cluster);
    c->node = sys_strdup(cfg->node);
    c->nats_urls = sys_strdup(cfg->nats_urls);
    c->pg_conninfo = sys_strdup(cfg->pg_conninfo);
    if (!c->cluster || !c->node || !c->nats_urls || !c->pg_conninfo) {
        cluster_free(c);
        return TROUPE_ENOMEM;
    }
    c->lease_ms = cfg->lease_ms;
    c->renew_ms = cfg->renew_ms;
    c->flags = cfg->flags;
    int rc = own_create(c, sys, c->cluster, c->node, c->pg_conninfo, c->lease_ms, c->renew_ms,
                        &c->own);
    if (rc) {
        cluster_free(c);
        return rc;
    }
    atomic_init(&c->state, TROUPE_CLUSTER_CREATED);
    *out = c;
    return 0;
}

/* The ownership layer's view of the membership (own.h), with o->mu held:
 * fenced, or rejoined under an incarnation it has not taken up yet (its
 * next pass does: failover.c). */
static int mem_fenced(void *ud)
{
    troupe_cluster *c = ud;
    uint64_t inc = member_live_incarnation(c->mem);
    return inc == 0 || inc != c->own->incarnation;
}

static uint64_t mem_live_inc(void *ud)
{
    troupe_cluster *c = ud;
    return member_live_incarnation(c->mem);
}

own *cluster_own(troupe_cluster *c)
{
    return c->own;
}

void cluster_test_stop_renewing(troupe_cluster *c)
{
    if (c->mem)
        member_stop_renewing(c->mem);
}

void cluster_test_freeze(troupe_cluster *c)
{
    if (c->mem)
        member_stop_renewing(c->mem);
    failover_stop(c->own);
}

TROUPE_API int troupe_cluster_join(troupe_cluster *c)
{
    if (!c)
        return TROUPE_EINVAL;
    if (c->mem)
        return TROUPE_ESTATE;
    int rc = member_join(c->pg_conninfo, c->cluster, c->node, c->lease_ms, c->renew_ms, &c->mem);
    if (!rc) /* before the ownership layer watches it: a fence may come any time */
        member_set_rejoin(c->mem, !(c->flags & TROUPE_CLUSTER_NO_REJOIN));
    if (!rc)
        rc = own_join(c->own, member_incarnation(c->mem), mem_fenced, mem_live_inc, c);
    if (rc && c->mem) {
        own_leave(c->own, false);
        member_leave(c->mem, true);
        c->mem = NULL;
    }
    if (rc)
        return rc;
    remote_config rcfg = {c->cluster, c->node, c->nats_urls, c->pg_conninfo, c->renew_ms,
                          c->lease_ms, c->own->dir};
    if ((rc = remote_open(c->sys, c->mem, &rcfg, &c->net)) != 0) {
        own_leave(c->own, false);
        member_leave(c->mem, true);
        c->mem = NULL;
        return rc;
    }
    atomic_store_explicit(&c->state, TROUPE_CLUSTER_JOINED, memory_order_relaxed);
    return 0;
}

TROUPE_API int troupe_cluster_leave(troupe_cluster *c)
{
    if (!c)
        return TROUPE_EINVAL;
    /* relaxed: see the field */
    if (!c->mem)
        return TROUPE_ESTATE;
    own_leave(c->own, true); /* hand the actors off while our lease is valid */
    remote_close(c->net);
    c->net = NULL;
    member_leave(c->mem, true);
    c->mem = NULL;
    atomic_store_explicit(&c->state, TROUPE_CLUSTER_LEFT, memory_order_relaxed);
    return 0;
}

TROUPE_API void troupe_cluster_destroy(troupe_cluster *c)
{
    if (!c)
        return;
    if (c->mem) {
        own_leave(c->own, true);
        remote_close(c->net);
        c->net = NULL;
        member_leave(c->mem, true);
    }
    cluster_free(c);
}

TROUPE_API int troupe_cluster_state_of(const troupe_cluster *c)
{
    if (!c)
        return TROUPE_EINVAL;
    if (c->mem) /* joined: fenced is decided by the lease's deadline */
        return member_state(c->mem);
    /* relaxed: see the field */
    return atomic_load_explicit(&((troupe_cluster *)c)->state, memory_order_relaxed);
}

remote *cluster_remote(const troupe_cluster *c)
{
    return c->net;
}
