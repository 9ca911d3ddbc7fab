/* cluster/remote.c — a joined node's remote refs: its map of the cluster
 * (read from PostgreSQL every refresh_ms, and at once when a frame comes
 * from a node it does not know), the port core hands other nodes' refs to,
 * and the remote's life (remote.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/member.h"
#include "cluster/remote_int.h"
#include "core/alloc.h"
#include "core/ask.h"
#include "troupe/monitor.h"

#define MS 1000000ull
#define SYNC_MIN_NS (100 * MS) /* the reader re-reads the map at most this often */
#define MAP_CAP 1023

void remote_count(_Atomic uint64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed); /* a counter alone */
}

/* ---- the port: core's sends to other nodes' refs ---- */

static int port_send(remote_port *p, troupe_system *sys, troupe_ref to, tmsg *m)
{
    remote *r = (remote *)p;
    if (m->flags_size & MF_PTR)
        return TROUPE_ENOTSUP; /* a pointer means nothing on another node */
    if (atomic_load_explicit(&r->fenced, memory_order_relaxed)) /* a flag alone: see the field */
        return TROUPE_EFENCED;
    if ((to.id & REF_TAG_MASK) == 0) /* a stable ref to a cluster actor (cref.c) */
        return m->type >= TROUPE_MSG_SYSTEM ? TROUPE_ENOTSUP : crefs_send(r->crefs, to, m);
    if (m->type == TROUPE_MSG_DOWN) /* a monitor's, for a watcher there */
        return remote_down_out(r, remote_slot_of(r, to.id), to, m);
    if (m->type >= TROUPE_MSG_SYSTEM)
        return TROUPE_ENOACTOR; /* nothing else of the system lane crosses */
    bool ask = m->flags_size & MF_ASK;
    wire_view w; /* a traced message's context goes in the frame */
    remote_wire_view(m, transport_max_payload(r->t), &w);
    frame_env e = {.kind = ask ? FRAME_ASK : FRAME_TELL,
                   .type = m->type,
                   .from = remote_ref_flip(r, m->sender),
                   .to = remote_ref_flip(r, to.id),
                   .ask_id = ask ? m->corr : 0,
                   .len = (uint32_t)w.v.size,
                   .payload = w.v.data,
                   .trace = w.trace};
    uint32_t slot = remote_slot_of(r, to.id);
    /* a plain thread's ask waits anyway: no hand-off to the flusher */
    bool now = ask && !troupei_tls.w && !troupei_tls.ctx;
    int rc = now ? transport_send_now(r->t, slot, &e) : transport_send(r->t, slot, &e);
    if (rc == 0)
        remote_sent(sys, m);
    return rc;
}

/* ---- the map ---- */

void remote_fail_ask(void *arg, uint64_t ask_id)
{
    remote *r = arg;
    ask_rec *rec = ask_lookup(r->sys, ask_id);
    if (ask_claim(rec, ask_id)) /* else answered or timed out already */
        ask_finish(r->sys, rec, ask_id, TROUPE_ENODEDOWN, NULL, false);
}

/* One node of the list, under r->mu: what the transport must do, done by
 * the caller outside r->mu (a failed ask's callback may send). */
enum { ACT_NONE = 0, ACT_DOWN = 1, ACT_UP = 2 };
static int apply_entry(remote *r, const route_entry *e)
{
    peer *p = &r->peers[e->slot];
    bool was = p->known && p->live;
    bool same = p->known && p->incarnation == e->incarnation;
    int act = ACT_NONE;
    if (was && (!e->live || !same))
        act |= ACT_DOWN; /* a new incarnation: what waited on the old one fails */
    snprintf(p->name, sizeof p->name, "%s", e->name);
    snprintf(p->subject, sizeof p->subject, "troupe.%s.%s", r->cluster, e->name);
    p->incarnation = e->incarnation;
    p->known = true;
    p->live = e->live;
    if (e->live && (!was || !same))
        act |= ACT_UP;
    return act;
}

static void act_on(remote *r, const route_entry *list, uint8_t *acts, int n)
{
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < n; i++)
        acts[i] = list[i].slot == r->my_slot ? ACT_NONE : (uint8_t)apply_entry(r, &list[i]);
    r->last_sync_ns = mono_ns();
    pthread_mutex_unlock(&r->mu);
    for (int i = 0; i < n; i++) {
        if (acts[i] & ACT_DOWN) {
            transport_down(r->t, list[i].slot, remote_fail_ask, r);
            remote_mons_down(r, list[i].slot);
        }
        if (acts[i] & ACT_UP) /* the subject is written under rtmu, which we hold */
            transport_up(r->t, list[i].slot, r->peers[list[i].slot].subject);
    }
}

/* Refreshes are serialised by rtmu (the query, then the transport's ups and
 * downs in list order). A failed ask's callback runs here (troupe_ask_cb's
 * fn): it must not look a node up by name (that refresh would wait on
 * rtmu). */
int remote_refresh(remote *r)
{
    route_entry *list = sys_malloc(MAP_CAP * (sizeof *list + 1));
    if (!list)
        return TROUPE_ENOMEM;
    pthread_mutex_lock(&r->rtmu);
    int n = route_list(r->rt, list, MAP_CAP);
    if (n >= 0)
        act_on(r, list, (uint8_t *)(list + MAP_CAP), n);
    pthread_mutex_unlock(&r->rtmu);
    free(list);
    return n < 0 ? n : 0;
}

/* A refresh unless one ran within SYNC_MIN_NS (the reader's, on a frame
 * from a node it does not know: a burst of them costs one query). */
static void refresh_soon(remote *r)
{
    pthread_mutex_lock(&r->mu);
    bool due = mono_ns() - r->last_sync_ns >= SYNC_MIN_NS;
    if (due)
        r->last_sync_ns = mono_ns();
    pthread_mutex_unlock(&r->mu);
    if (due)
        remote_refresh(r);
}

static uint32_t find_name(remote *r, const char *name)
{
    for (uint32_t s = 1; s < TRANSPORT_SLOTS; s++)
        if (r->peers[s].known && r->peers[s].live && strcmp(r->peers[s].name, name) == 0)
            return s;
    return 0;
}

uint32_t remote_slot_by_name(remote *r, const char *name, bool refresh)
{
    pthread_mutex_lock(&r->mu);
    uint32_t s = find_name(r, name);
    pthread_mutex_unlock(&r->mu);
    if (s || !refresh)
        return s;
    remote_refresh(r);
    pthread_mutex_lock(&r->mu);
    s = find_name(r, name);
    pthread_mutex_unlock(&r->mu);
    return s;
}

static uint32_t match_sender(remote *r, const char *subject, uint64_t inc, bool *newer)
{
    uint32_t s = r->last_slot;
    peer *p = &r->peers[s];
    if (!(s && p->known && strcmp(p->subject, subject) == 0))
        for (s = 1, p = &r->peers[1]; s < TRANSPORT_SLOTS; s++, p++)
            if (p->known && strcmp(p->subject, subject) == 0)
                break;
    if (s == TRANSPORT_SLOTS) {
        *newer = true; /* a node this one has not seen yet */
        return 0;
    }
    *newer = inc > p->incarnation;
    return p->live && p->incarnation == inc ? (r->last_slot = s) : 0;
}

uint32_t remote_sender(remote *r, const char *subject, uint64_t incarnation)
{
    bool newer;
    pthread_mutex_lock(&r->mu);
    uint32_t s = match_sender(r, subject, incarnation, &newer);
    pthread_mutex_unlock(&r->mu);
    if (s || !newer)
        return s; /* a frame of an older incarnation: dropped, no query */
    refresh_soon(r);
    pthread_mutex_lock(&r->mu);
    s = match_sender(r, subject, incarnation, &newer);
    pthread_mutex_unlock(&r->mu);
    return s;
}

/* Fenced: remote sends answer EFENCED. Joined again under a new
 * incarnation (a rejoin): new frames carry it — the others' maps reopen
 * this node as a new incarnation — and sends go out again. */
static void follow_membership(remote *r)
{
    uint64_t inc = member_live_incarnation(r->mem);
    if (inc != 0 && inc != r->incarnation) {
        r->incarnation = inc; /* the refresher's alone */
        transport_set_incarnation(r->t, inc);
    }
    /* relaxed: see the field */
    atomic_store_explicit(&r->fenced, inc == 0, memory_order_relaxed);
}

static void *refresher(void *arg)
{
    remote *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t t = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec + r->refresh_ms * MS;
        ts = (struct timespec){.tv_sec = (time_t)(t / 1000000000ull),
                               .tv_nsec = (long)(t % 1000000000ull)};
        while (!r->stop && pthread_cond_timedwait(&r->cv, &r->mu, &ts) == 0)
            ;
        if (r->stop)
            break;
        pthread_mutex_unlock(&r->mu);
        follow_membership(r);
        remote_refresh(r);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* ---- life ---- */

static int start_refresher(remote *r)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int e = pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (e || pthread_create(&r->thr, NULL, refresher, r))
        return TROUPE_ESYS;
    r->running = true;
    return 0;
}

static int remote_alloc(troupe_system *sys, struct member *m, const remote_config *cfg,
                        remote **out)
{
    remote *r = sys_calloc(1, sizeof *r);
    if (!r)
        return TROUPE_ENOMEM;
    *out = r;
    r->sys = sys;
    r->mem = m;
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->rtmu, NULL);
    r->port.send = port_send;
    r->port.monitor = remote_port_monitor;
    r->port.demonitor = remote_port_demonitor;
    r->incarnation = member_incarnation(m);
    r->my_tag = (uint32_t)(sys->ref_tag >> REF_TAG_SHIFT);
    r->refresh_ms = cfg->refresh_ms;
    r->dir = cfg->dir;
    snprintf(r->cluster, sizeof r->cluster, "%s", cfg->cluster);
    snprintf(r->node, sizeof r->node, "%s", cfg->node);
    snprintf(r->inbox, sizeof r->inbox, "troupe.%s.%s", cfg->cluster, cfg->node);
    r->peers = sys_calloc(TRANSPORT_SLOTS, sizeof *r->peers);
    r->link = sys_calloc(1, sizeof *r->link);
    if (!r->peers || !r->link)
        return TROUPE_ENOMEM;
    pthread_mutex_init(&r->link->mu, NULL);
    r->link->r = r;
    r->link->refs = 1;
    return 0;
}

int remote_open(troupe_system *sys, struct member *m, const remote_config *cfg, remote **out)
{
    *out = NULL;
    if (atomic_load(&sys->remote)) /* seq_cst, as every access of it */
        return TROUPE_ESTATE;
    remote *r = NULL;
    int rc = remote_alloc(sys, m, cfg, &r);
    if (!rc)
        rc = route_open(cfg->pg_conninfo, cfg->cluster, cfg->node, cfg->timeout_ms, &r->rt);
    if (!rc) {
        r->my_slot = route_my_slot(r->rt);
        rc = transport_open(cfg->nats_urls, r->inbox, r->incarnation, remote_on_frame, r, &r->t);
    }
    if (!rc)
        rc = remote_refresh(r);
    if (!rc) /* a held message waits for failover: the lease, a pass, and slack */
        rc = crefs_open(r, r->dir, 2 * cfg->timeout_ms + 4 * cfg->refresh_ms, &r->crefs);
    if (!rc)
        rc = start_refresher(r);
    if (rc) {
        remote_close(r);
        return rc == TROUPE_ETIMEDOUT ? TROUPE_EIO : rc;
    }
    remote_attach(sys, &r->port);
    remote_metrics_register(sys); /* the first join's; a failure costs the metrics only */
    *out = r;
    return 0;
}

void remote_close(remote *r)
{
    if (!r)
        return;
    if (atomic_load(&r->sys->remote) == &r->port) /* seq_cst: see core/send.c */
        remote_detach(r->sys); /* no send is inside the port from here */
    if (r->running) {
        pthread_mutex_lock(&r->mu);
        r->stop = true;
        pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thr, NULL);
        pthread_cond_destroy(&r->cv);
    }
    if (r->link) {
        pthread_mutex_lock(&r->link->mu);
        r->link->r = NULL; /* proxies still waiting answer nothing */
        pthread_mutex_unlock(&r->link->mu);
    }
    crefs_stop(r->crefs); /* nothing is routed again from here */
    transport_close(r->t); /* queued frames leave; the reader stops */
    crefs_close(r->crefs); /* the held ones fail */
    route_close(r->rt);
    if (r->link)
        remote_link_put(r->link);
    pthread_mutex_destroy(&r->rtmu);
    pthread_mutex_destroy(&r->mu);
    free(r->mons);
    free(r->peers);
    free(r);
}
