/* cluster/cref_rx.c — the owner's side of a message sent through a stable
 * ref (cref.h), on the reader: a CSEND is delivered to the cluster actor
 * it names if that actor runs here and takes messages; otherwise it goes
 * back to its sender as a MOVED, unchanged, and the sender routes it
 * again (cref.c). A fenced node owns nothing it may answer for: it sends
 * every CSEND back. */
#include <string.h>

#include "cluster/cref.h"
#include "cluster/own.h"
#include "cluster/remote_int.h"

int cref_prefix_parse(const frame_env *e, char *pid, const uint8_t **body, uint32_t *len)
{
    if (e->len < 1)
        return TROUPE_EINVAL;
    uint32_t n = e->payload[0];
    if (n == 0 || n > OWN_PID_MAX || e->len < 1 + n || memchr(e->payload + 1, 0, n))
        return TROUPE_EINVAL;
    memcpy(pid, e->payload + 1, n);
    pid[n] = 0;
    *body = e->payload + 1 + n;
    *len = e->len - 1 - n;
    return 0;
}

static void bounce(remote *r, uint32_t slot, const frame_env *e)
{
    crefs_count_moved_out(r->crefs);
    remote_send_back(r, slot, FRAME_MOVED, e);
}

void cref_serve(remote *r, uint32_t slot, const frame_env *e)
{
    char pid[OWN_PID_MAX + 1];
    const uint8_t *body;
    uint32_t len;
    if (cref_prefix_parse(e, pid, &body, &len) || e->type >= TROUPE_MSG_SYSTEM) {
        remote_count(&r->bad_refs); /* malformed, or a type no sender may use */
        if (e->ask_id)
            remote_send_fail(r, slot, e->from, e->ask_id, TROUPE_EINVAL);
        return;
    }
    troupe_ref to;
    /* relaxed: see the field */
    if (atomic_load_explicit(&r->fenced, memory_order_relaxed) || cdir_enter(r->dir, pid, &to)) {
        bounce(r, slot, e);
        return;
    }
    frame_env m = *e;
    m.kind = e->ask_id ? FRAME_ASK : FRAME_TELL;
    m.payload = body;
    m.len = len;
    remote_deliver(r, slot, &m, to);
    cdir_leave(r->dir, pid, to);
}
