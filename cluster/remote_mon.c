/* cluster/remote_mon.c — monitors across nodes (troupe/monitor.h through a
 * remote ref).
 *
 * The watcher's node remembers the monitor (rmon: a DOWN is due if the
 * target's node goes down first) and tells the target's node, whose core
 * installs it with the watcher as a remote ref (monitor_for_remote). When
 * the target ends, core's DOWN to that watcher goes through the port: a
 * FRAME_DOWN with ask id 0 carrying the troupe_down, delivered on the
 * watcher's system lane here. When the target's node goes down or leaves
 * first, each watcher gets DOWN at once: kind TROUPE_EXIT_NOPROC, code
 * TROUPE_ENODEDOWN, reason "nodedown". */
#include <stdlib.h>
#include <string.h>

#include "cluster/remote_int.h"
#include "core/alloc.h"
#include "troupe/monitor.h"

static void put64(uint8_t *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

static int mons_add(remote *r, const rmon *m)
{
    pthread_mutex_lock(&r->mu);
    int rc = 0;
    if (r->nmons == r->capmons) {
        uint32_t cap = r->capmons ? r->capmons * 2 : 16;
        rmon *n = realloc(r->mons, cap * sizeof *n);
        if (n) {
            r->mons = n;
            r->capmons = cap;
        } else {
            rc = TROUPE_ENOMEM;
        }
    }
    if (!rc)
        r->mons[r->nmons++] = *m;
    pthread_mutex_unlock(&r->mu);
    return rc;
}

/* Forget monitor id (its DOWN came, or it was cancelled): true if held. */
static bool mons_del(remote *r, uint64_t id)
{
    bool found = false;
    pthread_mutex_lock(&r->mu);
    for (uint32_t i = 0; i < r->nmons && !found; i++)
        if (r->mons[i].id == id) {
            r->mons[i] = r->mons[--r->nmons];
            found = true;
        }
    pthread_mutex_unlock(&r->mu);
    return found;
}

int remote_port_monitor(remote_port *p, troupe_system *sys, troupe_ref watcher, troupe_ref target,
                        uint64_t id)
{
    (void)sys;
    remote *r = (remote *)p;
    if ((target.id & REF_TAG_MASK) == 0)
        return TROUPE_ENOTSUP; /* a stable ref names no incarnation (cref.h) */
    uint32_t slot = remote_slot_of(r, target.id);
    if (!transport_is_up(r->t, slot))
        return TROUPE_ENOACTOR;
    rmon m = {slot, watcher.id, target.id, id};
    int rc = mons_add(r, &m);
    if (rc)
        return rc;
    uint8_t b[24];
    put64(b, remote_ref_flip(r, target.id));
    put64(b + 8, remote_ref_flip(r, watcher.id));
    put64(b + 16, id);
    frame_env e = {.kind = FRAME_TELL, .type = REMOTE_SVC_MONITOR,
                   .to = (uint64_t)slot << REF_TAG_SHIFT, .len = sizeof b, .payload = b};
    if ((rc = transport_send(r->t, slot, &e)) != 0)
        mons_del(r, id);
    return rc;
}

int remote_port_demonitor(remote_port *p, troupe_system *sys, troupe_ref target, uint64_t id)
{
    (void)sys;
    remote *r = (remote *)p;
    if (!mons_del(r, id))
        return TROUPE_ENOTFOUND;
    uint32_t slot = remote_slot_of(r, target.id);
    uint8_t b[16];
    put64(b, remote_ref_flip(r, target.id));
    put64(b + 8, id);
    frame_env e = {.kind = FRAME_TELL, .type = REMOTE_SVC_DEMONITOR,
                   .to = (uint64_t)slot << REF_TAG_SHIFT, .len = sizeof b, .payload = b};
    transport_send(r->t, slot, &e); /* lost with its node: nothing to cancel then */
    return 0;
}

void remote_mon_serve(remote *r, const frame_env *e)
{
    const uint8_t *b = e->payload;
    if (e->type == REMOTE_SVC_MONITOR && e->len == 24) {
        troupe_ref target = {remote_ref_flip(r, get64(b))};
        monitor_for_remote(r->sys, remote_ref_flip(r, get64(b + 8)), target, get64(b + 16));
    } else if (e->type == REMOTE_SVC_DEMONITOR && e->len == 16) {
        troupe_demonitor(r->sys, (troupe_ref){remote_ref_flip(r, get64(b))}, get64(b + 8));
    } else {
        remote_count(&r->bad_refs);
    }
}

int remote_down_out(remote *r, uint32_t slot, troupe_ref to, const tmsg *m)
{
    troupe_msg v;
    tmsg_view(m, &v);
    troupe_down d;
    if (v.size != sizeof d)
        return TROUPE_EINVAL;
    memcpy(&d, v.data, sizeof d);
    size_t rl = strnlen(d.reason, sizeof d.reason - 1);
    uint8_t b[REMOTE_DOWN_FIXED + sizeof d.reason];
    put64(b, remote_ref_flip(r, d.actor.id));
    put64(b + 8, d.monitor);
    uint32_t kind = (uint32_t)d.kind, code = (uint32_t)d.code;
    memcpy(b + 16, &kind, 4);
    memcpy(b + 20, &code, 4);
    memcpy(b + REMOTE_DOWN_FIXED, d.reason, rl);
    frame_env e = {.kind = FRAME_DOWN, .type = 0, .from = remote_ref_flip(r, m->sender),
                   .to = remote_ref_flip(r, to.id), .len = (uint32_t)(REMOTE_DOWN_FIXED + rl),
                   .payload = b};
    int rc = transport_send(r->t, slot, &e);
    if (rc == 0)
        tmsg_destroy(r->sys, (tmsg *)m); /* taken, as the port's send does */
    return rc;
}

/* A DOWN to a local watcher, on its system lane. */
static void down_local(remote *r, uint64_t watcher, const troupe_down *d)
{
    tmsg m;
    if (tmsg_copy(r->sys, &m, TROUPE_MSG_DOWN, d, sizeof *d))
        return;
    m.sender = d->actor.id;
    if (send_sys(r->sys, (troupe_ref){watcher}, &m))
        tmsg_destroy(r->sys, &m); /* the watcher is gone */
}

void remote_down_in(remote *r, const frame_env *e)
{
    if (e->len < REMOTE_DOWN_FIXED || e->len >= REMOTE_DOWN_FIXED + TROUPE_REASON_MAX ||
        (e->to >> REF_TAG_SHIFT) != r->my_slot) {
        remote_count(&r->bad_refs);
        return;
    }
    const uint8_t *b = e->payload;
    troupe_down d = {.actor = {remote_ref_flip(r, get64(b))}, .monitor = get64(b + 8)};
    uint32_t kind, code;
    memcpy(&kind, b + 16, 4);
    memcpy(&code, b + 20, 4);
    d.kind = (troupe_failure_kind)kind;
    d.code = (int)code;
    memcpy(d.reason, b + REMOTE_DOWN_FIXED, e->len - REMOTE_DOWN_FIXED);
    if (mons_del(r, d.monitor)) /* else cancelled, or the node-down one went first */
        down_local(r, remote_ref_flip(r, e->to), &d);
}

void remote_mons_down(remote *r, uint32_t slot)
{
    for (;;) {
        rmon m = {0};
        pthread_mutex_lock(&r->mu);
        for (uint32_t i = 0; i < r->nmons; i++)
            if (r->mons[i].slot == slot) {
                m = r->mons[i];
                r->mons[i] = r->mons[--r->nmons];
                break;
            }
        pthread_mutex_unlock(&r->mu);
        if (!m.id)
            return;
        troupe_down d = {.actor = {m.target}, .monitor = m.id, .kind = TROUPE_EXIT_NOPROC,
                         .code = TROUPE_ENODEDOWN};
        strcpy(d.reason, "nodedown");
        down_local(r, m.watcher, &d);
    }
}
