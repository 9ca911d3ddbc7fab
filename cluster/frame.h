/* cluster/frame.h — the wire format between nodes: one frame per NATS
 * message, many envelopes per frame (docs/CLUSTER.md, "Frames").
 *
 * All integers little-endian, read with memcpy (no alignment assumed).
 *   frame header, 16 bytes: magic "TRPF" | version u8 | flags u8 (0) |
 *                           count u16 | sender incarnation u64
 *   envelope header, 40 bytes: kind u8 | 3 zero bytes | type u32 | from u64 |
 *                           to u64 | ask id u64 | payload length u32 | u32 0
 *   then the payload's bytes; the next envelope follows at once.
 *   An envelope of kind TRACE (25-byte payload: trace id 16 | span id 8 |
 *   flags u8; type, from, to, ask id all 0) gives the W3C trace context of
 *   the envelope right after it (a TELL, ASK or CSEND): an older node
 *   skips it as an unknown kind (bad_envelope) and delivers the message
 *   untraced, so the frame's version stays 1.
 *
 * The decoder trusts nothing: every length is checked against what is
 * left before it is used, and whatever it drops it counts. */
#ifndef TROUPE_CLUSTER_FRAME_H
#define TROUPE_CLUSTER_FRAME_H

#include "base/namespace.h"

#include <stddef.h>
#include <stdint.h>

#define FRAME_MAGIC 0x46505254u /* "TRPF" read little-endian */
#define FRAME_VERSION 1
#define FRAME_HDR 16
#define FRAME_ENV_HDR 40
#define FRAME_COUNT_MAX 65535

typedef enum frame_kind {
    FRAME_TELL = 1,
    FRAME_ASK = 2,   /* a tell whose reply goes to (from, ask_id) */
    FRAME_REPLY = 3, /* to is the asker, ask_id its ask */
    FRAME_DOWN = 4,  /* from ended: the monitors on to's node learn it */
    /* A message for a cluster actor (cluster/cref.c): to is the sender
     * node's stable ref (echoed, never resolved by the receiver), ask_id
     * an ask's id or 0 for a tell, the payload a prefix (pid length u8,
     * the pid) and the message's bytes. */
    FRAME_CSEND = 5,
    /* The receiver does not own that actor (any more): the CSEND's fields
     * and payload sent back unchanged, for its sender to route again. */
    FRAME_MOVED = 6,
    FRAME_KIND_MAX = FRAME_MOVED,
    /* The trace context of the next envelope (above). Never handed to a
     * sink: the decoder puts it into that envelope's `trace`. */
    FRAME_TRACE = 7,
} frame_kind;

#define FRAME_TRACE_LEN 25 /* trace id 16 | span id 8 | flags */
/* What a context adds to a frame: its envelope and payload. */
#define FRAME_TRACE_SIZE (FRAME_ENV_HDR + FRAME_TRACE_LEN)

typedef struct frame_env {
    uint8_t kind;
    uint32_t type;
    uint64_t from, to, ask_id;
    uint32_t len;
    const uint8_t *payload; /* decode: points into the frame */
    /* NULL, or FRAME_TRACE_LEN bytes: the W3C context the message carries
     * (encode: written as a TRACE envelope before it; decode: points into
     * the frame). Only a TELL, ASK or CSEND carries one. */
    const uint8_t *trace;
} frame_env;

/* What a decode dropped; summed over calls by the caller's choice. */
typedef struct frame_stats {
    uint64_t frames, envelopes;    /* accepted */
    uint64_t bad_header;           /* short frame, wrong magic, nonzero flags */
    uint64_t bad_version;          /* a version this node does not speak */
    uint64_t truncated;            /* an envelope cut short, or fewer than count */
    uint64_t oversized;            /* a payload over the decoder's limit */
    uint64_t bad_envelope;         /* unknown kind or nonzero padding; a TRACE
                                      that is malformed or not followed by a
                                      TELL, ASK or CSEND */
    uint64_t trailing;             /* bytes after the count's last envelope */
} frame_stats;

/* The encoder: a growing buffer, the header patched at each add. */
typedef struct frame_buf {
    uint8_t *data; /* the frame: data[0..len) once count > 0 */
    size_t len, cap;
    uint32_t count;
    uint64_t incarnation;
} frame_buf;

void frame_init(frame_buf *fb, uint64_t incarnation);
/* Append one envelope (payload copied), and before it a TRACE envelope
 * when env->trace is set. TROUPE_EINVAL for an unknown kind (TRACE
 * included: it is only written for a message), a trace on a kind that
 * cannot carry one, or len > max_payload; TROUPE_EFULL at
 * FRAME_COUNT_MAX; TROUPE_ENOMEM; the frame is unchanged on failure. */
int frame_add(frame_buf *fb, const frame_env *env, uint32_t max_payload);
/* Empty the frame for the next batch, keeping its memory. */
void frame_reset(frame_buf *fb);
void frame_free(frame_buf *fb);

/* Decode buf: each envelope accepted is handed to sink (its payload valid
 * during the call only). A bad header drops the frame; an unknown kind
 * drops that envelope; a truncated or oversized one drops it and the rest
 * (its length cannot be trusted). Returns the envelopes delivered;
 * *incarnation gets the sender's (0 for a dropped frame). */
typedef void (*frame_sink)(void *arg, const frame_env *env);
size_t frame_decode(const uint8_t *buf, size_t n, uint32_t max_payload, frame_sink sink,
                    void *arg, uint64_t *incarnation, frame_stats *st);

#endif /* TROUPE_CLUSTER_FRAME_H */
