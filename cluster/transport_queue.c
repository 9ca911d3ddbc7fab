/* cluster/transport_queue.c — per-destination frame queues, the set of
 * asks outstanding to each destination, and the flusher thread that
 * publishes the queues (transport.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/transport_int.h"
#include "core/alloc.h"
#include "core/common.h"

/* ---- outstanding asks: a small open-addressing set per destination ---- */

static uint32_t pend_hash(uint64_t id, uint32_t cap)
{
    return (uint32_t)((id * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static int pend_grow(dest *d)
{
    uint32_t cap = d->pend_cap ? d->pend_cap * 2 : 64;
    uint64_t *n = sys_calloc(cap, sizeof *n), *old = d->pend;
    if (!n)
        return TROUPE_ENOMEM;
    uint32_t ocap = d->pend_cap;
    d->pend = n;
    d->pend_cap = cap;
    d->pend_used = 0;
    for (uint32_t i = 0; i < ocap; i++)
        if (old[i] && old[i] != PEND_TOMB) {
            uint32_t h = pend_hash(old[i], cap);
            while (n[h])
                h = (h + 1) & (cap - 1);
            n[h] = old[i];
            d->pend_used++;
        }
    free(old);
    return 0;
}

static int pend_add(dest *d, uint64_t id)
{
    if ((d->pend_used + 1) * 2 > d->pend_cap && pend_grow(d))
        return TROUPE_ENOMEM;
    uint32_t h = pend_hash(id, d->pend_cap);
    while (d->pend[h] && d->pend[h] != PEND_TOMB)
        h = (h + 1) & (d->pend_cap - 1);
    if (!d->pend[h])
        d->pend_used++; /* a tombstone reused keeps the count */
    d->pend[h] = id;
    return 0;
}

static bool pend_del(dest *d, uint64_t id)
{
    if (!d->pend_cap || id == 0 || id == PEND_TOMB)
        return false;
    uint32_t h = pend_hash(id, d->pend_cap);
    while (d->pend[h]) {
        if (d->pend[h] == id) {
            d->pend[h] = PEND_TOMB;
            return true;
        }
        h = (h + 1) & (d->pend_cap - 1);
    }
    return false;
}

/* ---- frames ---- */

static tframe *frame_take(transport *t, dest *d)
{
    tframe *f = d->spare;
    if (f) {
        d->spare = f->next;
        d->nspare--;
    } else if ((f = sys_malloc(sizeof *f)) != NULL) {
        frame_init(&f->fb, 0);
    }
    if (f) { /* a spare too: the incarnation may have changed (a rejoin) */
        f->next = NULL;
        f->fb.incarnation = atomic_load_explicit(&t->incarnation, memory_order_relaxed);
    }
    return f;
}

/* The open frame, or a new one when it has no room for `need` bytes. */
static int open_frame(transport *t, dest *d, size_t need, tframe **out)
{
    tframe *f = d->tail;
    if (f && f->fb.count < TRANSPORT_FRAME_ENVS && f->fb.len + need <= TRANSPORT_FRAME_BYTES) {
        *out = f;
        return 0;
    }
    if (f && f->fb.count == 0) { /* an empty frame takes one envelope of any size */
        *out = f;
        return 0;
    }
    if (d->nframes >= TRANSPORT_QUEUE_FRAMES)
        return TROUPE_EFULL;
    if (!(f = frame_take(t, d)))
        return TROUPE_ENOMEM;
    if (d->tail)
        d->tail->next = f;
    else
        d->head = f;
    d->tail = f;
    d->nframes++;
    *out = f;
    return 0;
}

static void wake_flusher(transport *t, uint32_t slot)
{
    /* seq_cst: a Dekker pair with the flusher's store of `sleeping` then
     * scan of `dirty`: it sees our bit, or we see it asleep */
    atomic_fetch_or(&t->dirty[slot / 64], 1ull << (slot % 64));
    if (!atomic_load(&t->sleeping))
        return;
    pthread_mutex_lock(&t->fmu);
    t->wake = true;
    pthread_cond_signal(&t->fcv);
    pthread_mutex_unlock(&t->fmu);
}


static void publish(transport *t, dest *d, tframe *f);

/* An envelope that waits for an answer from its destination: an ask, or
 * a cluster actor's ask. A reply or a MOVED carries an ask id too, but
 * the asker waits for it, not us: remembering it would grow the set for
 * good. */
static bool awaits_answer(const frame_env *env)
{
    return (env->kind == FRAME_ASK || env->kind == FRAME_CSEND) && env->ask_id;
}

/* The caller waits for an answer anyway (a plain thread's ask): with
 * nothing queued and nobody publishing, it publishes its one envelope
 * itself, without the flusher's wake-up. Else 1: queue it. */
static int send_direct(transport *t, dest *d, uint32_t slot, const frame_env *env)
{
    tframe mine = {0};
    pthread_mutex_lock(&d->mu);
    bool go = d->live && !d->busy && !d->head;
    int rc = go && awaits_answer(env) ? pend_add(d, env->ask_id) : 0;
    d->busy = go && rc == 0;
    pthread_mutex_unlock(&d->mu);
    if (!go)
        return 1;
    if (rc)
        return rc;
    frame_init(&mine.fb, atomic_load_explicit(&t->incarnation, memory_order_relaxed));
    if ((rc = frame_add(&mine.fb, env, t->max_payload)) == 0)
        publish(t, d, &mine);
    frame_free(&mine.fb);
    pthread_mutex_lock(&d->mu);
    d->busy = false;
    bool more = d->head != NULL;
    if (rc && awaits_answer(env))
        pend_del(d, env->ask_id);
    pthread_mutex_unlock(&d->mu);
    if (more) /* queued behind us: the flusher skipped them */
        wake_flusher(t, slot);
    return rc;
}

int transport_send_now(transport *t, uint32_t slot, const frame_env *env)
{
    dest *d = dest_of(t, slot);
    if (!d)
        return TROUPE_ENOACTOR;
    if (env->len > t->max_payload)
        return TROUPE_EINVAL;
    int rc = send_direct(t, d, slot, env);
    return rc == 1 ? transport_send(t, slot, env) : rc;
}

int transport_send(transport *t, uint32_t slot, const frame_env *env)
{
    dest *d = dest_of(t, slot);
    if (!d)
        return TROUPE_ENOACTOR;
    if (env->len > t->max_payload)
        return TROUPE_EINVAL;
    pthread_mutex_lock(&d->mu);
    tframe *f;
    size_t need = FRAME_ENV_HDR + env->len + (env->trace ? FRAME_TRACE_SIZE : 0);
    int rc = d->live ? open_frame(t, d, need, &f) : TROUPE_ENOACTOR;
    if (!rc && awaits_answer(env))
        rc = pend_add(d, env->ask_id);
    /* the queue was empty: a traced envelope adds two (its context first) */
    bool first = !rc && d->head == f && f->fb.count == 0;
    if (!rc)
        rc = frame_add(&f->fb, env, t->max_payload);
    first = first && !rc;
    pthread_mutex_unlock(&d->mu);
    if (rc == TROUPE_EFULL)
        count(&t->dropped_full, 1);
    if (first) /* the queue was empty: the flusher may be asleep */
        wake_flusher(t, slot);
    return rc;
}

size_t transport_outstanding(transport *t, uint32_t slot)
{
    dest *d = dest_of(t, slot);
    size_t n = 0;
    if (!d)
        return 0;
    pthread_mutex_lock(&d->mu);
    for (uint32_t i = 0; i < d->pend_cap; i++)
        n += d->pend[i] && d->pend[i] != PEND_TOMB;
    pthread_mutex_unlock(&d->mu);
    return n;
}

bool transport_answered(transport *t, uint32_t slot, uint64_t ask_id)
{
    dest *d = dest_of(t, slot);
    if (!d)
        return false;
    pthread_mutex_lock(&d->mu);
    bool was = pend_del(d, ask_id);
    pthread_mutex_unlock(&d->mu);
    return was;
}

/* ---- the flusher ---- */

static void publish(transport *t, dest *d, tframe *f)
{
    natsStatus s = natsConnection_PublishRequest(t->nc, d->subject, t->inbox, f->fb.data,
                                                 (int)f->fb.len);
    if (s != NATS_OK) {
        count(&t->publish_errors, 1);
        return;
    }
    count(&t->frames_out, 1);
    count(&t->envs_out, f->fb.count);
    count(&t->bytes_out, f->fb.len);
    int k = 0; /* the batch size's bucket: the first power of two >= it */
    while (k < TRANSPORT_BATCH_BUCKETS - 1 && f->fb.count > (1u << k))
        k++;
    count(&t->batch_bucket[k], 1);
}

/* Give published frames back as spares (a few), free the rest; the
 * publishing is over. */
static void recycle(dest *d, tframe *list, bool published)
{
    pthread_mutex_lock(&d->mu);
    if (published)
        d->busy = false;
    while (list) {
        tframe *n = list->next;
        if (d->nspare < FREE_KEEP) {
            frame_reset(&list->fb);
            list->next = d->spare;
            d->spare = list;
            d->nspare++;
        } else {
            frame_free(&list->fb);
            free(list);
        }
        list = n;
    }
    pthread_mutex_unlock(&d->mu);
}

/* A direct sender publishing (busy): it wakes us again when it is done. */
static void flush_dest(transport *t, dest *d)
{
    pthread_mutex_lock(&d->mu);
    tframe *list = d->busy ? NULL : d->head;
    if (list) {
        d->head = d->tail = NULL;
        d->nframes = 0;
        d->busy = true;
    }
    pthread_mutex_unlock(&d->mu);
    if (!list)
        return;
    for (tframe *f = list; f; f = f->next)
        if (f->fb.count)
            publish(t, d, f);
    recycle(d, list, true); /* and no longer busy */
}

/* One pass over the dirty slots: true if any had frames. */
static bool flush_pass(transport *t)
{
    bool any = false;
    for (uint32_t w = 0; w < TRANSPORT_SLOTS / 64; w++) {
        /* seq_cst: see wake_flusher */
        uint64_t bits = atomic_exchange(&t->dirty[w], 0);
        for (; bits; bits &= bits - 1) {
            dest *d = dest_of(t, w * 64 + (uint32_t)__builtin_ctzll(bits));
            if (d)
                flush_dest(t, d);
            any = true;
        }
    }
    return any;
}

static bool any_dirty(transport *t)
{
    for (uint32_t w = 0; w < TRANSPORT_SLOTS / 64; w++)
        if (atomic_load(&t->dirty[w])) /* seq_cst: see wake_flusher */
            return true;
    return false;
}

void *transport_flusher(void *arg)
{
    transport *t = arg;
    for (;;) {
        if (flush_pass(t))
            continue;
        pthread_mutex_lock(&t->fmu);
        atomic_store(&t->sleeping, true); /* seq_cst: see wake_flusher */
        while (!t->wake && !t->stop && !any_dirty(t))
            pthread_cond_wait(&t->fcv, &t->fmu);
        atomic_store(&t->sleeping, false); /* seq_cst: see wake_flusher (no wake needed now) */
        t->wake = false;
        bool stop = t->stop;
        pthread_mutex_unlock(&t->fmu);
        if (stop) {
            flush_pass(t); /* what was queued before the close leaves */
            return NULL;
        }
    }
}

/* ---- destinations ---- */

int transport_up(transport *t, uint32_t slot, const char *subject)
{
    if (slot == 0 || slot >= TRANSPORT_SLOTS)
        return TROUPE_EINVAL;
    dest *d = dest_of(t, slot);
    if (!d) {
        if (!(d = sys_calloc(1, sizeof *d)))
            return TROUPE_ENOMEM;
        pthread_mutex_init(&d->mu, NULL);
        snprintf(d->subject, sizeof d->subject, "%s", subject);
        d->live = true;
        /* release: the fields above before a sender can find d */
        atomic_store_explicit(&t->dests[slot], d, memory_order_release);
        return 0;
    }
    pthread_mutex_lock(&d->mu);
    d->live = true;
    pthread_mutex_unlock(&d->mu);
    return 0;
}

bool transport_is_up(transport *t, uint32_t slot)
{
    dest *d = dest_of(t, slot);
    if (!d)
        return false;
    pthread_mutex_lock(&d->mu);
    bool up = d->live;
    pthread_mutex_unlock(&d->mu);
    return up;
}

void transport_down(transport *t, uint32_t slot, transport_fail fail, void *arg)
{
    dest *d = dest_of(t, slot);
    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    d->live = false;
    tframe *list = d->head;
    d->head = d->tail = NULL;
    d->nframes = 0;
    uint64_t *pend = d->pend;
    uint32_t cap = d->pend_cap;
    d->pend = NULL;
    d->pend_cap = d->pend_used = 0;
    pthread_mutex_unlock(&d->mu);
    for (tframe *f = list; f; f = f->next)
        count(&t->dropped_down, f->fb.count);
    recycle(d, list, false);
    for (uint32_t i = 0; i < cap; i++) /* outside the lock: fail may send */
        if (pend[i] && pend[i] != PEND_TOMB)
            fail(arg, pend[i]);
    free(pend);
}

void transport_dest_free(dest *d)
{
    for (tframe *l = d->head; l;) {
        tframe *n = l->next;
        frame_free(&l->fb);
        free(l);
        l = n;
    }
    d->head = NULL;
    for (tframe *l = d->spare; l;) {
        tframe *n = l->next;
        frame_free(&l->fb);
        free(l);
        l = n;
    }
    free(d->pend);
    pthread_mutex_destroy(&d->mu);
    free(d);
}
