/* cluster/cref.c — stable refs to cluster actors (cref.h): the table of
 * handles, the send through one, and the messages held while their actor
 * has no owner that takes them.
 *
 * A handle caches its actor's owner: this node (the directory, cdir.c)
 * or another (a node slot). A send with a valid cache goes straight
 * there; one whose cache is invalid, or that finds the owner gone (the
 * directory has no such actor, the node is down, a MOVED came back), is
 * held in the handle's queue, in send order, and every later send
 * through the handle queues behind it, so a sender's order is kept. The
 * resolver thread re-reads the row of each handle that holds messages (at
 * most every CREF_RETRY_NS), and once a live owner is known sends the
 * held messages there, outside the lock, the handle marked `flushing` so
 * that new sends still queue behind. A message held longer than hold_ns
 * fails: an ask with TROUPE_ENODEDOWN, a tell dropped and counted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/cref.h"
#include "cluster/own.h"
#include "cluster/remote_int.h"
#include "core/alloc.h"
#include "core/ask.h"

/* Internal, never returned to a caller: no owner takes messages there
 * (yet); the message is held and routed again. */
#define CREF_AGAIN 1

typedef struct held {
    struct held *next;
    tmsg m;
    uint64_t deadline;
} held;

typedef struct handle {
    char pid[OWN_PID_MAX + 1];
    bool valid, local; /* the cache: owned here, or by node `slot` */
    bool flushing;     /* the resolver sends the held ones */
    uint32_t slot;
    held *head, *tail;
    uint64_t next_try;
} handle;

struct crefs {
    remote *r;
    cdir *dir;
    pthread_mutex_t mu; /* everything below but pg (pgmu) */
    pthread_cond_t cv;
    handle *h; /* [1..n] */
    uint32_t n, gen, held_total;
    uint64_t hold_ns;
    bool stop, running;
    pthread_t thr;
    pthread_mutex_t pgmu;
    PGconn *pg;
    char *conninfo;
    uint32_t timeout_ms;
    /* relaxed counters, each read alone */
    _Atomic uint64_t moved_in, moved_out, resolves, nheld, expired;
};

void crefs_count_moved_out(crefs *t)
{
    atomic_fetch_add_explicit(&t->moved_out, 1, memory_order_relaxed); /* a counter alone */
}

/* Where pid lives now: 0 with *local or *slot set, CREF_AGAIN when no
 * live owner takes messages (yet), TROUPE_ENOTFOUND, or the query's code. */
static int resolve(crefs *t, const char *pid, bool *local, uint32_t *slot)
{
    own_row row;
    pthread_mutex_lock(&t->pgmu);
    int rc = owner_get_on(&t->pg, t->conninfo, mono_ns() + t->timeout_ms * 1000000ull, pid, &row);
    pthread_mutex_unlock(&t->pgmu);
    atomic_fetch_add_explicit(&t->resolves, 1, memory_order_relaxed); /* a counter alone */
    if (rc)
        return rc;
    if (!row.live)
        return CREF_AGAIN;
    *local = strcmp(row.node, t->r->node) == 0;
    troupe_ref ref;
    if (*local && cdir_enter(t->dir, pid, &ref) == 0) {
        cdir_leave(t->dir, pid, ref);
        return 0;
    }
    *slot = *local ? 0 : remote_slot_by_name(t->r, row.node, true);
    return *slot ? 0 : CREF_AGAIN; /* ours but not started yet, or unknown */
}

/* ---- one message to one owner: 0 (m taken), CREF_AGAIN (no owner
 * there: hold it), or a code for the sender ---- */

static int to_local(crefs *t, const char *pid, tmsg *m)
{
    troupe_ref ref;
    if (cdir_enter(t->dir, pid, &ref) != 0)
        return CREF_AGAIN;
    int rc = send_from_remote(t->r->sys, ref, m);
    cdir_leave(t->dir, pid, ref);
    return rc == TROUPE_ENOACTOR ? CREF_AGAIN : rc;
}

static int to_node(crefs *t, const char *pid, uint32_t slot, troupe_ref to, tmsg *m)
{
    remote *r = t->r;
    wire_view w; /* the message may be boxed with a trace context */
    remote_wire_view(m, transport_max_payload(r->t), &w);
    const troupe_msg v = w.v;
    size_t pl = strlen(pid), n = 1 + pl + v.size;
    uint8_t small[512], *b = n <= sizeof small ? small : sys_malloc(n);
    if (!b)
        return TROUPE_ENOMEM;
    b[0] = (uint8_t)pl;
    memcpy(b + 1, pid, pl);
    if (v.size)
        memcpy(b + 1 + pl, v.data, v.size);
    bool ask = m->flags_size & MF_ASK;
    frame_env e = {.kind = FRAME_CSEND, .type = m->type, .from = remote_ref_flip(r, m->sender),
                   .to = to.id, .ask_id = ask ? m->corr : 0, .len = (uint32_t)n, .payload = b,
                   .trace = w.trace};
    bool now = ask && !troupei_tls.w && !troupei_tls.ctx; /* as port_send */
    int rc = now ? transport_send_now(r->t, slot, &e) : transport_send(r->t, slot, &e);
    if (b != small)
        free(b);
    if (rc == 0)
        remote_sent(r->sys, m);
    return rc == TROUPE_ENOACTOR ? CREF_AGAIN : rc;
}

static int route_one(crefs *t, const handle *h, troupe_ref to, tmsg *m)
{
    return h->local ? to_local(t, h->pid, m) : to_node(t, h->pid, h->slot, to, m);
}

/* ---- the table ---- */

static troupe_ref ref_of(const crefs *t, uint32_t i)
{
    return (troupe_ref){((uint64_t)t->gen << 32) | i}; /* tag 0 */
}

static handle *handle_of(crefs *t, troupe_ref ref)
{
    uint32_t i = (uint32_t)ref.id;
    bool ok = (ref.id & REF_TAG_MASK) == 0 && ((ref.id >> 32) & GEN_MASK) == t->gen && i >= 1 &&
              i <= t->n;
    return ok ? &t->h[i] : NULL;
}

/* Queue m behind h's held ones; under mu. TROUPE_EFULL past the bound. */
static int hold(crefs *t, handle *h, tmsg *m)
{
    held *x = t->held_total < CREF_HELD_MAX ? sys_malloc(sizeof *x) : NULL;
    if (!x)
        return t->held_total < CREF_HELD_MAX ? TROUPE_ENOMEM : TROUPE_EFULL;
    *x = (held){.m = *m, .deadline = mono_ns() + t->hold_ns};
    if (h->tail)
        h->tail->next = x;
    else
        h->head = x;
    h->tail = x;
    t->held_total++;
    atomic_fetch_add_explicit(&t->nheld, 1, memory_order_relaxed); /* a counter alone */
    pthread_cond_signal(&t->cv);
    return 0;
}

/* A held message that will not be sent: its asker hears code. */
static void fail_msg(crefs *t, tmsg *m, int code)
{
    ask_abandon(t->r->sys, m, code);
    tmsg_destroy(t->r->sys, m);
}

int crefs_send(crefs *t, troupe_ref to, tmsg *m)
{
    pthread_mutex_lock(&t->mu);
    handle *h = handle_of(t, to);
    if (!h) {
        pthread_mutex_unlock(&t->mu);
        return TROUPE_ENOACTOR;
    }
    if (!h->valid || h->head || h->flushing) {
        int rc = hold(t, h, m);
        pthread_mutex_unlock(&t->mu);
        return rc;
    }
    handle c = *h; /* the cache; the held list is not ours to touch */
    pthread_mutex_unlock(&t->mu);
    int rc = route_one(t, &c, to, m);
    if (rc != CREF_AGAIN)
        return rc;
    pthread_mutex_lock(&t->mu);
    h->valid = false; /* the owner it named has gone */
    rc = hold(t, h, m);
    pthread_mutex_unlock(&t->mu);
    return rc;
}

void crefs_moved(crefs *t, uint32_t slot, const frame_env *e)
{
    remote *r = t->r;
    char pid[OWN_PID_MAX + 1];
    const uint8_t *body;
    uint32_t len;
    tmsg m;
    if (e->ask_id && !transport_answered(r->t, slot, e->ask_id)) {
        remote_count(&r->late_replies); /* its asker was answered already */
        return;
    }
    if (cref_prefix_parse(e, pid, &body, &len) || tmsg_copy(r->sys, &m, e->type, body, len)) {
        remote_count(&r->bad_refs);
        return; /* an ask's asker times out */
    }
    m.sender = remote_ref_flip(r, e->from);
    if (e->ask_id) {
        m.flags_size |= MF_ASK;
        m.corr = e->ask_id;
    }
    atomic_fetch_add_explicit(&t->moved_in, 1, memory_order_relaxed); /* a counter alone */
    pthread_mutex_lock(&t->mu);
    handle *h = handle_of(t, (troupe_ref){e->to});
    int rc = h && !strcmp(h->pid, pid) ? 0 : TROUPE_ENOACTOR;
    if (!rc && h->valid && !h->local && h->slot == slot)
        h->valid = false; /* that node no longer owns it */
    if (!rc)
        rc = hold(t, h, &m);
    pthread_mutex_unlock(&t->mu);
    if (rc)
        fail_msg(t, &m, rc);
}

/* ---- the resolver ---- */

/* Send h's held messages to its cached owner, in order; under mu (released
 * around each send). Stops at the first that finds no owner there. */
static void flush(crefs *t, handle *h)
{
    troupe_ref to = ref_of(t, (uint32_t)(h - t->h));
    h->flushing = true;
    while (h->head && h->valid) {
        held *x = h->head;
        handle c = *h;
        pthread_mutex_unlock(&t->mu);
        int rc = route_one(t, &c, to, &x->m);
        if (rc != 0 && rc != CREF_AGAIN)
            fail_msg(t, &x->m, rc);
        pthread_mutex_lock(&t->mu);
        if (rc == CREF_AGAIN) {
            h->valid = false;
            break;
        }
        h->head = x->next;
        if (!h->head)
            h->tail = NULL;
        t->held_total--;
        free(x);
    }
    h->flushing = false;
}

/* Fail h's held messages past their deadline (the oldest are first);
 * under mu, released while failing them. */
static void expire(crefs *t, handle *h, uint64_t now)
{
    held *gone = NULL, **end = &gone;
    while (h->head && h->head->deadline <= now) {
        held *x = h->head;
        h->head = x->next;
        *end = x;
        end = &x->next;
        t->held_total--;
    }
    *end = NULL;
    if (!h->head)
        h->tail = NULL;
    if (!gone)
        return;
    pthread_mutex_unlock(&t->mu);
    while (gone) {
        held *x = gone;
        gone = x->next;
        atomic_fetch_add_explicit(&t->expired, 1, memory_order_relaxed); /* a counter alone */
        fail_msg(t, &x->m, TROUPE_ENODEDOWN);
        free(x);
    }
    pthread_mutex_lock(&t->mu);
}

/* One handle with held messages; under mu. */
static void visit(crefs *t, handle *h, uint64_t now, uint64_t *wake)
{
    if (!h->valid && h->next_try <= now) {
        char pid[OWN_PID_MAX + 1];
        memcpy(pid, h->pid, sizeof pid);
        h->next_try = now + CREF_RETRY_NS;
        h->flushing = true; /* nobody else flushes meanwhile */
        pthread_mutex_unlock(&t->mu);
        bool local = false;
        uint32_t slot = 0;
        int rc = resolve(t, pid, &local, &slot);
        pthread_mutex_lock(&t->mu);
        h->flushing = false;
        if (rc == 0) {
            h->valid = true;
            h->local = local;
            h->slot = slot;
        }
    }
    if (h->valid)
        flush(t, h);
    expire(t, h, now);
    if (h->head && !h->valid && h->next_try < *wake)
        *wake = h->next_try;
}

static void wait_until(crefs *t, uint64_t wake)
{
    struct timespec ts = {.tv_sec = (time_t)(wake / 1000000000ull),
                          .tv_nsec = (long)(wake % 1000000000ull)};
    pthread_cond_timedwait(&t->cv, &t->mu, &ts);
}

static void *resolver(void *arg)
{
    crefs *t = arg;
    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        uint64_t now = mono_ns(), wake = now + 200 * 1000000ull;
        for (uint32_t i = 1; i <= t->n && !t->stop; i++)
            if (t->h[i].head && !t->h[i].flushing)
                visit(t, &t->h[i], now, &wake);
        if (!t->stop)
            wait_until(t, wake);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

/* ---- life ---- */

int crefs_open(remote *r, cdir *dir, uint32_t hold_ms, crefs **out)
{
    crefs *t = sys_calloc(1, sizeof *t);
    if (!t)
        return TROUPE_ENOMEM;
    t->r = r;
    t->dir = dir;
    t->gen = (uint32_t)(r->incarnation % GEN_MASK) + 1; /* refs of an earlier join name nothing */
    t->hold_ns = hold_ms * 1000000ull;
    pthread_mutex_init(&t->mu, NULL);
    pthread_mutex_init(&t->pgmu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    t->h = sys_calloc(CREF_MAX + 1, sizeof *t->h);
    int rc = t->h ? route_conninfo(r->rt, &t->conninfo, &t->timeout_ms) : TROUPE_ENOMEM;
    if (!rc && pthread_create(&t->thr, NULL, resolver, t))
        rc = TROUPE_ESYS;
    t->running = rc == 0;
    if (rc) {
        crefs_close(t);
        return rc;
    }
    *out = t;
    return 0;
}

void crefs_stop(crefs *t)
{
    if (!t || !t->running)
        return;
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thr, NULL);
    t->running = false;
}

void crefs_close(crefs *t)
{
    if (!t)
        return;
    crefs_stop(t);
    for (uint32_t i = 1; i <= t->n; i++)
        while (t->h[i].head) {
            held *x = t->h[i].head;
            t->h[i].head = x->next;
            fail_msg(t, &x->m, TROUPE_ENODEDOWN);
            free(x);
        }
    if (t->pg)
        PQfinish(t->pg);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->pgmu);
    pthread_mutex_destroy(&t->mu);
    free(t->conninfo);
    free(t->h);
    free(t);
}

/* pid's handle if it has one already, else 0; under mu. */
static uint32_t handle_find(crefs *t, const char *pid)
{
    for (uint32_t i = 1; i <= t->n; i++)
        if (!strcmp(t->h[i].pid, pid))
            return i;
    return 0;
}

/* pid's handle, made if new; under mu. 0 when the table is full. The
 * table is allocated whole at open (untouched pages cost nothing), so a
 * handle never moves while the resolver or a sender holds it unlocked. */
static uint32_t handle_for(crefs *t, const char *pid)
{
    uint32_t i = handle_find(t, pid);
    if (i)
        return i;
    if (t->n == CREF_MAX)
        return 0;
    handle *h = &t->h[++t->n];
    *h = (handle){0};
    snprintf(h->pid, sizeof h->pid, "%s", pid);
    return t->n;
}

int crefs_get(crefs *t, const char *pid, troupe_ref *out)
{
    pthread_mutex_lock(&t->mu);
    uint32_t known = handle_find(t, pid);
    pthread_mutex_unlock(&t->mu);
    if (known) { /* made before: no query (its row existed; the resolver keeps it current) */
        *out = ref_of(t, known);
        return 0;
    }
    bool local = false;
    uint32_t slot = 0;
    int rc = resolve(t, pid, &local, &slot);
    if (rc && rc != CREF_AGAIN)
        return rc; /* no row (ENOTFOUND), or PostgreSQL's code */
    pthread_mutex_lock(&t->mu);
    uint32_t i = handle_for(t, pid);
    handle *h = i ? &t->h[i] : NULL;
    if (h && rc == 0 && !h->head && !h->flushing) {
        h->valid = true;
        h->local = local;
        h->slot = slot;
    }
    pthread_mutex_unlock(&t->mu);
    if (!h)
        return TROUPE_ENOMEM;
    *out = ref_of(t, i);
    return 0;
}

void crefs_stats_get(crefs *t, crefs_stats *out)
{
    /* relaxed: counters, each read alone */
    *out = (crefs_stats){
        .moved_in = atomic_load_explicit(&t->moved_in, memory_order_relaxed),
        .moved_out = atomic_load_explicit(&t->moved_out, memory_order_relaxed),
        .resolves = atomic_load_explicit(&t->resolves, memory_order_relaxed),
        .held = atomic_load_explicit(&t->nheld, memory_order_relaxed),
        .expired = atomic_load_explicit(&t->expired, memory_order_relaxed),
    };
}
