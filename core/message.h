/* core/message.h — the message body as it sits in a mailbox slot or an
 * envelope (48 bytes), and how it is built and destroyed. */
#ifndef TROUPE_CORE_MESSAGE_H
#define TROUPE_CORE_MESSAGE_H

#include "core/common.h"

/* flags_size: low 24 bits are the payload size, high 8 bits the flags. */
#define MF_SIZE_MASK 0x00FFFFFFu
#define MF_HEAP (1u << 24) /* payload copied into a runtime allocation */
#define MF_PTR (1u << 25)  /* user pointer + destructor */
#define MF_ASK (1u << 26)  /* corr is an ask id awaiting troupe_reply */

typedef struct tmsg {
    uint32_t type;
    uint32_t flags_size;
    uint64_t sender;
    uint64_t corr;
    union {
        unsigned char inl[TROUPE_INLINE_MAX];
        struct {
            void *ptr;
            troupe_dtor dtor;
            uint64_t len;
        } p;
    } u;
} tmsg;

_Static_assert(sizeof(tmsg) == 48, "tmsg is 48 bytes");

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
    if (m->flags_size & (MF_HEAP | MF_PTR))
        tmsg_destroy_slow(sys, m);
}
/* The handler's view of m. */
void tmsg_view(const tmsg *m, troupe_msg *out);

#endif
