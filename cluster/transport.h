/* cluster/transport.h — the NATS side of a node (docs/CLUSTER.md,
 * "Transport"): one connection, the node's inbox subscription, and a
 * queue of frames per destination node, published by one flusher thread.
 *
 * Senders (workers, plain threads, the reader) only append an envelope to
 * their destination's open frame under that destination's mutex: nothing
 * on a sender waits for the network. The flusher takes a destination's
 * frames whole and publishes them, so a burst leaves as few, full frames
 * and a lone message leaves at once. Memory is bounded: past
 * TRANSPORT_QUEUE_FRAMES frames a destination refuses (TROUPE_EFULL) and
 * counts the drop. */
#ifndef TROUPE_CLUSTER_TRANSPORT_H
#define TROUPE_CLUSTER_TRANSPORT_H

#include "base/namespace.h"
/* After base/namespace.h's list: the same rule (tests/symbols.sh). */
#define transport_set_incarnation troupei_transport_set_incarnation

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/frame.h"

#define TRANSPORT_SLOTS 1024          /* node numbers 1..1023 (the ref's tag bits) */
#define TRANSPORT_FRAME_ENVS 64       /* a frame is full at 64 envelopes ... */
#define TRANSPORT_FRAME_BYTES 65536   /* ... or 64 KB */
#define TRANSPORT_QUEUE_FRAMES 256    /* per destination: then drop */
#define TRANSPORT_SUBJECT_MAX 160

typedef struct transport transport;

/* A frame arrived on the inbox: its bytes and its reply subject (the
 * sender's inbox), on the NATS delivery thread; valid during the call. */
typedef void (*transport_rx)(void *arg, const char *from_subject, const uint8_t *data,
                             size_t len);
/* A destination went down with asks outstanding: each one's id. */
typedef void (*transport_fail)(void *arg, uint64_t ask_id);

#define TRANSPORT_BATCH_BUCKETS 10 /* 1, 2, 4, ... 256 envelopes, more */

typedef struct transport_stats {
    uint64_t envs_out, frames_out, bytes_out; /* published */
    uint64_t frames_in, bytes_in;             /* received (before decoding) */
    uint64_t dropped_full;   /* refused: the destination's queue was at its bound */
    uint64_t dropped_down;   /* queued to a node that went down, discarded */
    uint64_t publish_errors; /* frames NATS refused (closed, reconnect buffer full) */
    /* published frames by their envelope count: bucket k holds counts up to
     * 2^k (the last: any more), not cumulative; the sum is envs_out */
    uint64_t batch_bucket[TRANSPORT_BATCH_BUCKETS];
} transport_stats;

/* Connect to urls (comma-separated) with SendAsap and endless reconnects,
 * subscribe to inbox; frames on it go to rx(arg, ...). TROUPE_EIO when no
 * server answers. */
int transport_open(const char *urls, const char *inbox, uint64_t incarnation, transport_rx rx,
                   void *arg, transport **out);
/* Unsubscribe, stop the flusher (what is queued is published first), close. */
void transport_close(transport *t);
/* The incarnation new frames carry (a rejoin: receivers drop frames of
 * the old one as stale). */
void transport_set_incarnation(transport *t, uint64_t incarnation);
/* The largest payload an envelope may carry (the server's max_payload less
 * the headers, at most TROUPE_COPY_MAX). */
uint32_t transport_max_payload(const transport *t);

/* Destination `slot` is node `subject`, live: created on first use. */
int transport_up(transport *t, uint32_t slot, const char *subject);
/* It is down: its queue is discarded (counted) and each outstanding ask
 * handed to fail. Sends to it answer TROUPE_ENOACTOR until transport_up. */
void transport_down(transport *t, uint32_t slot, transport_fail fail, void *arg);
bool transport_is_up(transport *t, uint32_t slot);

/* Queue env for slot (payload copied); an ASK is remembered as outstanding
 * until transport_answered. 0, TROUPE_ENOACTOR (unknown or down),
 * TROUPE_EFULL (over the bound), TROUPE_EINVAL (payload too large),
 * TROUPE_ENOMEM. */
int transport_send(transport *t, uint32_t slot, const frame_env *env);
/* As transport_send, for a caller that waits for the answer anyway (a
 * plain thread's ask, never a worker): with nothing queued for slot it
 * publishes the envelope itself, at once. */
int transport_send_now(transport *t, uint32_t slot, const frame_env *env);
/* The reply (or failure) for an outstanding ask came from slot: true if
 * it was outstanding there (then it no longer is). */
bool transport_answered(transport *t, uint32_t slot, uint64_t ask_id);
/* Tests: the asks outstanding to slot now. */
size_t transport_outstanding(transport *t, uint32_t slot);
/* Tests: publish raw bytes to a subject, as if from `reply`. */
int transport_publish_raw(transport *t, const char *subject, const char *reply,
                          const void *data, size_t len);

void transport_stats_get(transport *t, transport_stats *out);
/* The count of frames received so far (rx calls): bumped by the caller's rx. */
void transport_count_in(transport *t, size_t bytes);

#endif /* TROUPE_CLUSTER_TRANSPORT_H */
