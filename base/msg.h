/* base/msg.h — the message body (48 bytes) as it sits in a mailbox slot or
 * an envelope: what mailbox/ stores and core/ builds (core/message.h). */
#ifndef TROUPE_BASE_MSG_H
#define TROUPE_BASE_MSG_H

#include "base/common.h"

/* flags_size: low 24 bits are the payload size, high 8 bits the flags. */
#define MF_SIZE_MASK 0x00FFFFFFu
#define MF_HEAP (1u << 24) /* payload copied into a runtime allocation */
#define MF_PTR (1u << 25)  /* user pointer + destructor */
#define MF_ASK (1u << 26)  /* corr is an ask id awaiting troupe_reply */
#define MF_STAMP (1u << 28) /* a latency stamp: send time in the slot's pad (core/probe.h) */

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

#endif
