/* core/message.h — how a message body (tmsg, base/msg.h) is built, viewed
 * and destroyed. */
#ifndef TROUPE_CORE_MESSAGE_H
#define TROUPE_CORE_MESSAGE_H

#include "base/msg.h"

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
