/* cluster/transport.c — one NATS connection per node, batching per
 * destination node, one flusher thread (transport.h). */
#include "cluster/transport.h"

#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/common.h"
#include "troupe/message.h"

#define FREE_KEEP 4       /* spare frames a destination keeps */
#define PEND_TOMB UINT64_MAX

typedef struct tframe {
    struct tframe *next;
    frame_buf fb;
} tframe;

/* One destination node; everything under mu. */
typedef struct dest {
    pthread_mutex_t mu;
    char subject[TRANSPORT_SUBJECT_MAX];
    bool live;
    bool busy; /* a thread is publishing this destination's frames: order */
    tframe *head, *tail, *spare; /* queued frames (tail is open); spares */
    uint32_t nframes, nspare;
    uint64_t *pend; /* outstanding ask ids: open addressing, 0 empty */
    uint32_t pend_cap, pend_used;
} dest;

struct transport {
    natsConnection *nc;
    natsSubscription *sub;
    natsOptions *opts;
    char inbox[TRANSPORT_SUBJECT_MAX];
    uint64_t incarnation;
    uint32_t max_payload;
    transport_rx rx;
    void *rx_arg;
    /* acquire loads by senders pair with the release store in transport_up */
    dest *_Atomic dests[TRANSPORT_SLOTS];
    /* slots with queued frames: fetch_or by senders (seq_cst, a Dekker pair
     * with `sleeping`), exchanged to 0 by the flusher */
    _Atomic uint64_t dirty[TRANSPORT_SLOTS / 64];
    _Atomic bool sleeping;
    pthread_mutex_t fmu; /* wake, stop */
    pthread_cond_t fcv;
    bool wake, stop, started;
    bool sub_done; /* under fmu: the subscription's last callback returned */
    pthread_t flusher;
    /* counters: relaxed, each read alone */
    _Atomic uint64_t envs_out, frames_out, bytes_out, frames_in, bytes_in, dropped_full,
        dropped_down, publish_errors;
};

static void count(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed); /* a counter alone */
}

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
        frame_init(&f->fb, t->incarnation);
    }
    if (f)
        f->next = NULL;
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

static dest *dest_of(transport *t, uint32_t slot)
{
    if (slot == 0 || slot >= TRANSPORT_SLOTS)
        return NULL;
    /* acquire: pairs with the release in transport_up */
    return atomic_load_explicit(&t->dests[slot], memory_order_acquire);
}

static void publish(transport *t, dest *d, tframe *f);

/* The caller waits for an answer anyway (a plain thread's ask): with
 * nothing queued and nobody publishing, it publishes its one envelope
 * itself, without the flusher's wake-up. Else 1: queue it. */
static int send_direct(transport *t, dest *d, uint32_t slot, const frame_env *env)
{
    tframe mine = {0};
    pthread_mutex_lock(&d->mu);
    bool go = d->live && !d->busy && !d->head;
    int rc = go && env->ask_id ? pend_add(d, env->ask_id) : 0;
    d->busy = go && rc == 0;
    pthread_mutex_unlock(&d->mu);
    if (!go)
        return 1;
    if (rc)
        return rc;
    frame_init(&mine.fb, t->incarnation);
    if ((rc = frame_add(&mine.fb, env, t->max_payload)) == 0)
        publish(t, d, &mine);
    frame_free(&mine.fb);
    pthread_mutex_lock(&d->mu);
    d->busy = false;
    bool more = d->head != NULL;
    if (rc)
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
    int rc = d->live ? open_frame(t, d, FRAME_ENV_HDR + env->len, &f) : TROUPE_ENOACTOR;
    if (!rc && env->kind == FRAME_ASK && env->ask_id)
        rc = pend_add(d, env->ask_id);
    if (!rc)
        rc = frame_add(&f->fb, env, t->max_payload);
    bool first = !rc && d->head == f && f->fb.count == 1;
    pthread_mutex_unlock(&d->mu);
    if (rc == TROUPE_EFULL)
        count(&t->dropped_full, 1);
    if (first) /* the queue was empty: the flusher may be asleep */
        wake_flusher(t, slot);
    return rc;
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

static void *flusher(void *arg)
{
    transport *t = arg;
    for (;;) {
        if (flush_pass(t))
            continue;
        pthread_mutex_lock(&t->fmu);
        atomic_store(&t->sleeping, true); /* seq_cst: see wake_flusher */
        while (!t->wake && !t->stop && !any_dirty(t))
            pthread_cond_wait(&t->fcv, &t->fmu);
        atomic_store(&t->sleeping, false);
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

/* ---- the connection ---- */

static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    transport *t = closure;
    const char *reply = natsMsg_GetReply(msg);
    t->rx(t->rx_arg, reply ? reply : "", (const uint8_t *)natsMsg_GetData(msg),
          (size_t)natsMsg_GetDataLength(msg));
    natsMsg_Destroy(msg);
}

static void on_sub_done(void *closure)
{
    transport *t = closure;
    pthread_mutex_lock(&t->fmu);
    t->sub_done = true;
    pthread_cond_broadcast(&t->fcv);
    pthread_mutex_unlock(&t->fmu);
}

/* Unsubscribe and wait (bounded) until no rx call runs or will run. */
static void unsubscribe(transport *t)
{
    if (!t->sub)
        return;
    if (natsSubscription_Unsubscribe(t->sub) != NATS_OK)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    pthread_mutex_lock(&t->fmu);
    while (!t->sub_done && pthread_cond_timedwait(&t->fcv, &t->fmu, &ts) == 0)
        ;
    pthread_mutex_unlock(&t->fmu);
}

static int connect_nats(transport *t, const char *urls)
{
    if (natsOptions_Create(&t->opts) != NATS_OK)
        return TROUPE_ENOMEM;
    /* SendAsap: nats.c 3.4.1 otherwise waits 1 ms before each write */
    if (natsOptions_SetURL(t->opts, urls) != NATS_OK ||
        natsOptions_SetSendAsap(t->opts, true) != NATS_OK ||
        natsOptions_SetAllowReconnect(t->opts, true) != NATS_OK ||
        natsOptions_SetMaxReconnect(t->opts, -1) != NATS_OK ||
        natsOptions_SetReconnectWait(t->opts, 100) != NATS_OK ||
        natsOptions_SetTimeout(t->opts, 2000) != NATS_OK)
        return TROUPE_EINVAL;
    if (natsConnection_Connect(&t->nc, t->opts) != NATS_OK)
        return TROUPE_EIO;
    if (natsConnection_Subscribe(&t->sub, t->nc, t->inbox, on_msg, t) != NATS_OK)
        return TROUPE_EIO;
    natsSubscription_SetOnCompleteCB(t->sub, on_sub_done, t);
    /* no limit on what waits for the reader: frames are bounded upstream */
    natsSubscription_SetPendingLimits(t->sub, -1, 256 * 1024 * 1024);
    /* the subscription is on the server before join returns */
    if (natsConnection_FlushTimeout(t->nc, 5000) != NATS_OK)
        return TROUPE_EIO;
    return 0;
}

static uint32_t payload_limit(natsConnection *nc)
{
    int64_t max = natsConnection_GetMaxPayload(nc) - FRAME_HDR - FRAME_ENV_HDR;
    if (max <= 0)
        return 0;
    return max > TROUPE_COPY_MAX ? TROUPE_COPY_MAX : (uint32_t)max;
}

int transport_open(const char *urls, const char *inbox, uint64_t incarnation, transport_rx rx,
                   void *arg, transport **out)
{
    *out = NULL;
    transport *t = sys_calloc(1, sizeof *t);
    if (!t)
        return TROUPE_ENOMEM;
    snprintf(t->inbox, sizeof t->inbox, "%s", inbox);
    t->incarnation = incarnation;
    t->rx = rx;
    t->rx_arg = arg;
    pthread_mutex_init(&t->fmu, NULL);
    pthread_cond_init(&t->fcv, NULL);
    int rc = connect_nats(t, urls);
    if (!rc) {
        t->max_payload = payload_limit(t->nc);
        rc = pthread_create(&t->flusher, NULL, flusher, t) ? TROUPE_ESYS : 0;
        t->started = rc == 0;
    }
    if (rc) {
        transport_close(t);
        return rc;
    }
    *out = t;
    return 0;
}

static void dest_free(dest *d)
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

void transport_close(transport *t)
{
    if (!t)
        return;
    unsubscribe(t); /* no more rx calls once this returns */
    if (t->started) {
        pthread_mutex_lock(&t->fmu);
        t->stop = true;
        pthread_cond_signal(&t->fcv);
        pthread_mutex_unlock(&t->fmu);
        pthread_join(t->flusher, NULL);
    }
    if (t->nc)
        natsConnection_FlushTimeout(t->nc, 1000); /* the last frames reach the server */
    natsSubscription_Destroy(t->sub);
    natsConnection_Destroy(t->nc);
    natsOptions_Destroy(t->opts);
    for (uint32_t i = 0; i < TRANSPORT_SLOTS; i++) {
        dest *d = atomic_load_explicit(&t->dests[i], memory_order_relaxed); /* no sender left */
        if (d)
            dest_free(d);
    }
    pthread_cond_destroy(&t->fcv);
    pthread_mutex_destroy(&t->fmu);
    free(t);
}

uint32_t transport_max_payload(const transport *t)
{
    return t->max_payload;
}

int transport_publish_raw(transport *t, const char *subject, const char *reply, const void *data,
                          size_t len)
{
    natsStatus s = natsConnection_PublishRequest(t->nc, subject, reply, data, (int)len);
    if (s == NATS_OK)
        s = natsConnection_FlushTimeout(t->nc, 5000);
    return s == NATS_OK ? 0 : TROUPE_EIO;
}

void transport_count_in(transport *t, size_t bytes)
{
    count(&t->frames_in, 1);
    count(&t->bytes_in, bytes);
}

void transport_stats_get(transport *t, transport_stats *out)
{
#define LD(f) atomic_load_explicit(&t->f, memory_order_relaxed) /* counters alone */
    *out = (transport_stats){LD(envs_out),     LD(frames_out),   LD(bytes_out),
                             LD(frames_in),    LD(bytes_in),     LD(dropped_full),
                             LD(dropped_down), LD(publish_errors)};
#undef LD
}
