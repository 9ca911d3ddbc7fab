/* cluster/remote_trace.c — a message's trace context on the wire
 * (docs/TRACING.md, "Across nodes"). The cluster does not know the tracer
 * (it sits below trace/): it moves the context core boxed into the
 * message (MF_TRACED, core/message.h) as 25 plain bytes — a TRACE
 * envelope before the message's (cluster/frame.h) — and boxes what a
 * frame brings into the message it delivers, so the receiving node's
 * handler runs in a child span of the sender's. */
#include <string.h>

#include "cluster/remote_int.h"

void remote_wire_view(const tmsg *m, uint32_t max_payload, wire_view *w)
{
    w->plain = *m;
    w->trace = NULL;
    if (m->flags_size & MF_TRACED) { /* the body is in its box: read it there */
        const tbox *b = m->u.p.ptr;
        memcpy(&w->plain.u, b->body, sizeof w->plain.u);
        w->plain.flags_size &= ~MF_TRACED;
        memcpy(w->ctx, b->ctx.trace_id, 16);
        memcpy(w->ctx + 16, b->ctx.span_id, 8);
        w->ctx[24] = b->ctx.flags;
    }
    tmsg_view(&w->plain, &w->v);
    /* a context must not push a frame over the server's limit: the
     * message then goes untraced */
    if ((m->flags_size & MF_TRACED) && w->v.size + FRAME_TRACE_SIZE <= max_payload)
        w->trace = w->ctx;
}

void remote_sent(troupe_system *sys, tmsg *m)
{
    if (m->flags_size & MF_TRACED) /* sent, not dropped: no drop span */
        tmsg_unbox(sys, m, NULL);
    tmsg_destroy(sys, m);
}

void remote_rx_box(troupe_system *sys, tmsg *m, const uint8_t *trace)
{
    /* only a sampled context, and only for a system whose handlers open
     * spans: else the message goes as it would untraced */
    if (!trace || !(trace[24] & 1) || !sys->hooks.trace_begin)
        return;
    tctx c;
    memcpy(c.trace_id, trace, 16);
    memcpy(c.span_id, trace + 16, 8);
    c.flags = trace[24];
    (void)tmsg_box(sys, m, &c); /* TROUPE_ENOMEM: delivered untraced */
}
