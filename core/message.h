/* core/message.h — how a message body (tmsg, base/msg.h) is built, viewed
 * and destroyed. */
#ifndef TROUPE_CORE_MESSAGE_H
#define TROUPE_CORE_MESSAGE_H

#include "base/msg.h"

/* Per-message trace context (trace/, docs/TRACING.md). A message sent
 * while a sampled trace context is current carries one: flag bit 27,
 * MF_TRACED, says so, and the body's 24-byte union moves into a small heap
 * block (tbox) beside the context, its pointer in u.p.ptr; type, sender,
 * corr and the other flag bits stay in place, so that ask_abandon and the
 * overflow policies read them as before. Whoever handles the message
 * unboxes it first (core/run.c, dispatch_traced), so handlers, the
 * mailbox and everything else see a plain body. The plain path pays one
 * test of a bit of flags_size, which it loads already: tmsg_destroy's mask
 * has one more bit, and dispatch tests it once. (The mailbox slot's spare
 * word, mb_slot.pad, would have saved the allocation but needs the
 * mailbox's push and reserve to carry it: left for later.)
 * Bit 28 is troupectl's latency stamp (MF_STAMP); 29..31 stay free. */
#define MF_TRACED (1u << 27)
#define MF_FREE 0xE0000000u /* flag bits 29..31: unused */
_Static_assert(((MF_SIZE_MASK | MF_HEAP | MF_PTR | MF_ASK | MF_TRACED | MF_STAMP) & MF_FREE) == 0,
               "MF_FREE holds only unused flag bits");

/* A W3C trace context: trace id (16 bytes), parent span id (8), flags. */
typedef struct tctx {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t flags; /* bit 0: sampled */
} tctx;

typedef struct tbox {
    unsigned char body[TROUPE_INLINE_MAX > 24 ? TROUPE_INLINE_MAX : 24];
    tctx ctx;
} tbox;

struct troupe_system;

/* Build a message holding a copy of data[0..len). TROUPE_ENOMEM if the
 * heap copy fails. */
int tmsg_copy(struct troupe_system *sys, tmsg *m, uint32_t type, const void *data, size_t len);
/* Build a message carrying ptr + dtor. */
void tmsg_ptr(tmsg *m, uint32_t type, void *ptr, troupe_dtor dtor);
/* Free what the message owns (heap copy, or the user's dtor). */
void tmsg_destroy_slow(struct troupe_system *sys, tmsg *m);
static inline void tmsg_destroy(struct troupe_system *sys, tmsg *m)
{
    if (m->flags_size & (MF_HEAP | MF_PTR | MF_TRACED))
        tmsg_destroy_slow(sys, m);
}
/* Box m's body with context c (MF_TRACED): TROUPE_ENOMEM leaves m as it
 * was. Unbox: the body back in place, the context in *c (may be NULL),
 * the block freed. */
int tmsg_box(struct troupe_system *sys, tmsg *m, const tctx *c);
void tmsg_unbox(struct troupe_system *sys, tmsg *m, tctx *c);
/* The handler's view of m (not boxed). */
void tmsg_view(const tmsg *m, troupe_msg *out);

#endif
