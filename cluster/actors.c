/* cluster/actors.c — cluster actors (own.h): the kinds, the table of the
 * actors this node owns, starting one (guard first, then the supervised
 * child), stopping one, and the public calls of include/troupe/cluster.h's
 * last section. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/cref.h"
#include "cluster/own.h"
#include "core/alloc.h"
#include "core/common.h"
#include "core/system.h"
#include "persistence/guard.h"
#include "persistence/pers.h"

#define MS 1000000ull

/* 1..63 bytes of [A-Za-z0-9_-], plus the bytes of `extra`. */
static bool word_ok(const char *s, const char *extra)
{
    size_t n = s ? strnlen(s, TROUPE_CLUSTER_NAME_MAX + 1) : 0;
    if (n == 0 || n > TROUPE_CLUSTER_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || strchr(extra, ch);
        if (!ok || !ch)
            return false;
    }
    return true;
}

int own_pid(const own *o, const char *kind, const char *id, char *pid)
{
    if (!word_ok(kind, "") || !word_ok(id, ".:"))
        return TROUPE_EINVAL;
    snprintf(pid, OWN_PID_MAX + 1, "%s/%s/%s", o->cluster, kind, id);
    return 0;
}

own_kind *own_find_kind(own *o, const char *name)
{
    for (int i = 0; i < o->nkinds; i++)
        if (!strcmp(o->kinds[i].name, name))
            return &o->kinds[i];
    return NULL;
}

own_actor *own_find(own *o, const char *pid)
{
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(o->actors[i].pid, pid))
            return &o->actors[i];
    return NULL;
}

static own_actor *own_add(own *o, const own_kind *k, const char *pid, const char *id)
{
    own_actor *a = own_find(o, pid);
    if (a)
        return a;
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        own_actor *na = sys_realloc(o->actors, cap * sizeof *na);
        if (!na)
            return NULL;
        o->actors = na;
        o->cap = cap;
    }
    a = &o->actors[o->n++];
    *a = (own_actor){.kind = k};
    snprintf(a->pid, sizeof a->pid, "%s", pid);
    snprintf(a->id, sizeof a->id, "%s", id);
    return a;
}

/* The actor stopped and gone, bounded by the lease: its handlers' events
 * are then all submitted, and the journal's flush writes (or fences) them. */
static void stop_local(own *o, own_actor *a)
{
    if (troupe_ref_is_none(a->ref))
        return;
    cdir_clear(o->dir, a->pid); /* messages for it are sent back (MOVED) from now */
    troupe_sup_terminate_child(o->sys, a->ref);
    for (uint32_t i = 0; i < o->lease_ms && troupe_alive(o->sys, a->ref) == 1; i++)
        usleep(1000);
    journal_flush_wait(o->journal);
    a->ref = TROUPE_REF_NONE;
    o->st.owned--;
}

void own_drop(own *o, own_actor *a)
{
    stop_local(o, a);
    o->st.dropped++;
    *a = o->actors[--o->n]; /* a's slot now holds the last one */
}

static int ensure_sup(own *o)
{
    if (o->have_sup)
        return 0;
    troupe_sup root;
    troupe_sup_spec s;
    troupe_sup_spec_defaults(&s);
    s.name = "troupe.cluster";
    s.intensity = 1000; /* a fenced actor fails; the pass, not escalation, ends it */
    s.period_ns = 1000000000;
    int rc = troupe_sup_root(o->sys, &root);
    if (!rc)
        rc = troupe_sup_start_supervisor(o->sys, root, &s, &o->sup);
    o->have_sup = rc == 0;
    return rc;
}

/* A failed start counts; past the kind's limit the row is parked (its
 * epoch bumped: nothing of this node is written any more) and the entry
 * forgotten, so the actor is not handed from node to node. */
static int start_failed(own *o, own_actor *a, int rc)
{
    o->st.start_failures++;
    if (++a->fails < a->kind->max_fails)
        return rc;
    if (owner_park(o, a->pid, a->epoch, a->fails) == 0)
        o->st.parked++;
    own_drop(o, a);
    o->st.dropped--; /* parked, not dropped */
    return rc;
}

int own_start(own *o, own_actor *a)
{
    troupe_child_spec s;
    troupe_child_spec_defaults(&s);
    s.beh = a->kind->beh;
    s.arg = a->id;
    s.arg_size = strlen(a->id) + 1;
    s.restart = TROUPE_TRANSIENT;
    s.opts.persistence_id = a->pid;
    int rc = journal_guard_set(o->journal, a->pid, a->epoch);
    if (!rc)
        rc = ensure_sup(o);
    if (!rc)
        rc = troupe_sup_start_child(o->sys, o->sup, &s, &a->ref);
    if (rc) {
        a->ref = TROUPE_REF_NONE;
        return start_failed(o, a, rc);
    }
    a->fails = 0;
    o->st.owned++;
    if (cdir_set(o->dir, a->pid, a->ref) != 0) { /* unreachable through stable refs: retried */
        stop_local(o, a);
        return start_failed(o, a, TROUPE_ENOMEM);
    }
    return 0;
}

int own_adopt(own *o, const own_kind *k, const char *pid, const char *id, uint64_t epoch)
{
    own_actor *a = own_add(o, k, pid, id);
    if (!a)
        return TROUPE_ENOMEM;
    a->epoch = epoch;
    a->fails = 0;
    return own_start(o, a);
}

int own_take(own *o, const own_kind *k, const char *pid, const char *id, uint64_t seen,
             int state)
{
    uint64_t epoch;
    int rc = owner_claim(o, pid, k->name, id, seen, &epoch);
    if (rc)
        return rc;
    o->st.claims++;
    if (state == TROUPE_OWNER_ACTIVE) /* its owner died (seq_cst ++, as claims: own.h) */
        o->st.failovers++;
    /* ENOMEM: the row stays ours, the next pass adopts it (failover.c) */
    return own_adopt(o, k, pid, id, epoch);
}

int own_create(troupe_cluster *c, troupe_system *sys, const char *cluster, const char *node,
               const char *conninfo, uint32_t lease_ms, uint32_t period_ms, own **out)
{
    (void)c;
    own *o = sys_calloc(1, sizeof *o);
    size_t n = strlen(conninfo) + 64;
    if (!o || !(o->conninfo = sys_malloc(n)) || cdir_create(&o->dir) != 0) {
        if (o)
            free(o->conninfo);
        free(o);
        return TROUPE_ENOMEM;
    }
    snprintf(o->conninfo, n, "%s connect_timeout=%u", conninfo, lease_ms / 1000 + 1);
    o->sys = sys;
    o->journal = sys->cfg.journal;
    o->cluster = cluster;
    o->node = node;
    o->lease_ms = lease_ms;
    o->period_ms = period_ms;
    pthread_mutex_init(&o->mu, NULL);
    *out = o;
    return 0;
}

void own_destroy(own *o)
{
    if (!o)
        return;
    owner_metrics_detach(o);
    if (o->pg)
        PQfinish(o->pg);
    pthread_mutex_destroy(&o->mu);
    cdir_destroy(o->dir);
    free(o->actors);
    free(o->conninfo);
    free(o);
}

int own_join(own *o, uint64_t incarnation, int (*is_fenced)(void *), uint64_t (*live_inc)(void *),
             void *ud)
{
    pthread_mutex_lock(&o->mu);
    snprintf(o->inc, sizeof o->inc, "%llu", (unsigned long long)incarnation);
    o->incarnation = incarnation;
    o->is_fenced = is_fenced;
    o->live_inc = live_inc;
    o->ud = ud;
    o->fenced = false;
    int rc = owner_schema(o);
    o->joined = rc == 0;
    pthread_mutex_unlock(&o->mu);
    if (rc == 0)
        (void)owner_metrics_attach(o); /* a failure costs the metrics only */
    return rc ? rc : failover_start(o);
}

/* Hand-off: each actor stopped, its writes drained, its row released
 * (epoch bumped) for the node rendezvous hashing picks without us. */
void own_leave(own *o, bool hand_off)
{
    owner_metrics_detach(o); /* waits for a scrape reading o */
    failover_stop(o);
    pthread_mutex_lock(&o->mu);
    uint64_t until = owner_deadline(o);
    for (size_t i = 0; hand_off && !o->fenced && i < o->n; i++) /* accepted messages handled */
        (void)cdir_quiesce(o->dir, o->sys, o->actors[i].pid, until);
    while (o->n > 0) {
        own_actor *a = &o->actors[o->n - 1];
        stop_local(o, a);
        if (hand_off && !o->fenced)
            (void)owner_release(o, a->pid, a->epoch, "");
        (void)journal_guard_set(o->journal, a->pid, 0);
        o->n--;
    }
    if (hand_off && !o->fenced)
        (void)names_drop_mine(o);
    o->joined = false;
    pthread_mutex_unlock(&o->mu);
}
