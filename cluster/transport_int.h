/* cluster/transport_int.h — the transport's shape, shared by transport.c
 * (the NATS connection, open and close) and transport_queue.c (the
 * per-destination queues, the outstanding asks, the flusher). Not API. */
#ifndef TROUPE_CLUSTER_TRANSPORT_INT_H
#define TROUPE_CLUSTER_TRANSPORT_INT_H

#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>

#include "cluster/transport.h"

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
    /* relaxed: the sender's incarnation written into each new frame, a
     * word read alone; changed by a rejoin (transport_set_incarnation) */
    _Atomic uint64_t incarnation;
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
    _Atomic uint64_t batch_bucket[TRANSPORT_BATCH_BUCKETS]; /* transport_stats */
};

static inline void count(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed); /* a counter alone */
}

static inline dest *dest_of(transport *t, uint32_t slot)
{
    if (slot == 0 || slot >= TRANSPORT_SLOTS)
        return NULL;
    /* acquire: pairs with the release in transport_up */
    return atomic_load_explicit(&t->dests[slot], memory_order_acquire);
}

/* transport_queue.c */
void *transport_flusher(void *arg);
void transport_dest_free(dest *d);

#endif /* TROUPE_CLUSTER_TRANSPORT_INT_H */
