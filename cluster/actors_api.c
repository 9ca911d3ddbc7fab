/* cluster/actors_api.c — the public calls of cluster actors
 * (include/troupe/cluster.h, "cluster actors, ownership and failover"):
 * kinds, spawn-or-resolve, where, migrate, unpark, stats. */
#include <stdio.h>
#include <string.h>

#include "cluster/cref.h"
#include "cluster/own.h"
#include "core/common.h"
#include "persistence/guard.h"

#define NODES_MAX 64

static bool reserved_zero(const troupe_cluster_kind *k)
{
    for (size_t i = 0; i < sizeof k->reserved; i++)
        if (k->reserved[i])
            return false;
    return true;
}

TROUPE_API int troupe_cluster_kind_register(troupe_cluster *c, const troupe_cluster_kind *k)
{
    own *o = c ? cluster_own(c) : NULL;
    char pid[OWN_PID_MAX + 1];
    if (!o || !k || !k->beh || !k->beh->persist || !reserved_zero(k) ||
        own_pid(o, k->name, "x", pid) != 0)
        return TROUPE_EINVAL;
    if (!o->journal)
        return TROUPE_ESTATE;
    int rc = journal_guard_table(o->journal, "troupe_owners");
    if (rc)
        return rc;
    pthread_mutex_lock(&o->mu);
    if (own_find_kind(o, k->name))
        rc = TROUPE_EEXIST;
    else if (o->nkinds == OWN_KINDS_MAX)
        rc = TROUPE_ENOMEM;
    else
        o->kinds[o->nkinds++] = (own_kind){
            .beh = k->beh, .max_fails = k->max_start_failures ? k->max_start_failures : 3};
    if (!rc)
        snprintf(o->kinds[o->nkinds - 1].name, sizeof o->kinds[0].name, "%s", k->name);
    pthread_mutex_unlock(&o->mu);
    return rc;
}

/* Checked arguments, o locked and joined; or the code (o unlocked). */
static int enter(troupe_cluster *c, const char *kind, const char *id, own **out, char *pid)
{
    own *o = c ? cluster_own(c) : NULL;
    if (!o || own_pid(o, kind, id, pid) != 0)
        return TROUPE_EINVAL;
    pthread_mutex_lock(&o->mu);
    int rc = !o->joined ? TROUPE_ESTATE : o->fenced || o->is_fenced(o->ud) ? TROUPE_EFENCED : 0;
    if (rc)
        pthread_mutex_unlock(&o->mu);
    *out = o;
    return rc;
}

static void fill(own *o, const own_row *r, troupe_cluster_where *w)
{
    if (!w)
        return;
    *w = (troupe_cluster_where){.epoch = r->epoch, .state = r->state, .live = r->live};
    snprintf(w->node, sizeof w->node, "%s", r->node);
    own_actor *a = own_find(o, r->pid);
    if (a && a->epoch == r->epoch)
        w->local = a->ref;
}

/* No live owner: claim it here if rendezvous hashing picks this node, else
 * leave the row unowned for the node it picks. */
static int place(own *o, const own_kind *k, const char *pid, const char *id)
{
    char nodes[NODES_MAX][TROUPE_CLUSTER_NAME_MAX + 1];
    int nn = owner_live_nodes(o, nodes, NODES_MAX);
    if (nn <= 0)
        return nn < 0 ? nn : TROUPE_EFENCED; /* not even us: our lease is gone */
    int rc = owner_place(o, pid, k->name, id);
    own_row r;
    if (!rc)
        rc = owner_get(o, pid, &r);
    if (rc || r.live || r.state == TROUPE_OWNER_PARKED)
        return rc;
    bool handed = r.state == TROUPE_OWNER_RELEASED && r.node[0]; /* a migration's target */
    const char *to = handed ? r.node : nodes[owner_pick(nodes, nn, pid)];
    if (strcmp(to, o->node) != 0)
        return 0;
    rc = own_take(o, k, pid, id, r.epoch, r.state);
    return rc == TROUPE_EBUSY ? 0 : rc; /* another node was quicker: it owns it */
}

TROUPE_API int troupe_cluster_actor(troupe_cluster *c, const char *kind, const char *id,
                                    troupe_cluster_where *out)
{
    own *o;
    char pid[OWN_PID_MAX + 1];
    int rc = enter(c, kind, id, &o, pid);
    if (rc)
        return rc;
    own_kind *k = own_find_kind(o, kind);
    own_row r;
    if (!k)
        rc = TROUPE_ENOTFOUND;
    else if ((rc = owner_get(o, pid, &r)) == TROUPE_ENOTFOUND || (rc == 0 && !r.live))
        rc = place(o, k, pid, id);
    if (k && rc == 0 && (rc = owner_get(o, pid, &r)) == 0)
        fill(o, &r, out);
    pthread_mutex_unlock(&o->mu);
    return rc;
}

TROUPE_API int troupe_cluster_where_is(troupe_cluster *c, const char *kind, const char *id,
                                       troupe_cluster_where *out)
{
    own *o;
    char pid[OWN_PID_MAX + 1];
    if (!out)
        return TROUPE_EINVAL;
    int rc = enter(c, kind, id, &o, pid);
    if (rc)
        return rc;
    own_row r;
    if ((rc = owner_get(o, pid, &r)) == 0)
        fill(o, &r, out);
    pthread_mutex_unlock(&o->mu);
    return rc;
}

TROUPE_API int troupe_cluster_migrate(troupe_cluster *c, const char *kind, const char *id,
                                      const char *node)
{
    own *o;
    char pid[OWN_PID_MAX + 1], tmp[OWN_PID_MAX + 1];
    int rc = enter(c, kind, id, &o, pid);
    if (rc)
        return rc;
    own_actor *a = own_find(o, pid);
    if (own_pid(o, node, "x", tmp) != 0 || !a) {
        pthread_mutex_unlock(&o->mu);
        return a ? TROUPE_EINVAL : TROUPE_ENOTFOUND;
    }
    uint64_t epoch = a->epoch;
    /* what was accepted for it is handled here; what comes now goes back
     * to its senders (MOVED), who send it to the new owner */
    (void)cdir_quiesce(o->dir, o->sys, pid, owner_deadline(o));
    own_drop(o, a); /* stopped, its writes drained (or fenced) */
    o->st.dropped--; /* handed off, not lost */
    rc = owner_release(o, pid, epoch, node);
    (void)journal_guard_set(o->journal, pid, 0);
    pthread_mutex_unlock(&o->mu);
    return rc;
}

TROUPE_API int troupe_cluster_unpark(troupe_cluster *c, const char *kind, const char *id)
{
    own *o;
    char pid[OWN_PID_MAX + 1];
    int rc = enter(c, kind, id, &o, pid);
    if (rc)
        return rc;
    rc = owner_unpark(o, pid);
    pthread_mutex_unlock(&o->mu);
    return rc;
}

TROUPE_API int troupe_cluster_owner_stats_get(troupe_cluster *c, troupe_cluster_owner_stats *out)
{
    own *o = c ? cluster_own(c) : NULL;
    if (!o || !out)
        return TROUPE_EINVAL;
    own_stats_read(o, out);
    return 0;
}
