/* core/message.c — building, viewing and destroying message bodies. */
#include "core/message.h"

#include <string.h>

#include "core/alloc.h"
#include "core/probe.h"
#include "core/system.h"

/* Copy up to TROUPE_INLINE_MAX bytes without a libc call: a variable-size
 * memcpy is a call, and it showed on the send path. */
static inline void copy_small(unsigned char *dst, const unsigned char *src, size_t len)
{
    if (len >= 8) {
        size_t i = 0;
        for (; i + 8 <= len; i += 8)
            __builtin_memcpy(dst + i, src + i, 8);
        if (i < len) /* last 8, overlapping */
            __builtin_memcpy(dst + len - 8, src + len - 8, 8);
    } else if (len >= 4) {
        __builtin_memcpy(dst, src, 4);
        __builtin_memcpy(dst + len - 4, src + len - 4, 4);
    } else {
        for (size_t i = 0; i < len; i++)
            dst[i] = src[i];
    }
}

int tmsg_copy(troupe_system *sys, tmsg *m, uint32_t type, const void *data, size_t len)
{
    m->type = type;
    m->sender = 0;
    m->corr = 0;
    if (len <= TROUPE_INLINE_MAX) {
        m->flags_size = (uint32_t)len;
        copy_small(m->u.inl, data, len);
        return 0;
    }
    void *p = talloc(sys->alloc_mode, len);
    if (!p)
        return TROUPE_ENOMEM;
    memcpy(p, data, len);
    m->flags_size = MF_HEAP | (uint32_t)len;
    m->u.p.ptr = p;
    m->u.p.dtor = NULL;
    m->u.p.len = len;
    return 0;
}

void tmsg_ptr(tmsg *m, uint32_t type, void *ptr, troupe_dtor dtor)
{
    m->type = type;
    m->flags_size = MF_PTR;
    m->sender = 0;
    m->corr = 0;
    m->u.p.ptr = ptr;
    m->u.p.dtor = dtor;
    m->u.p.len = 0;
}

_Static_assert(sizeof(((tmsg *)0)->u) <= sizeof(((tbox *)0)->body), "a body fits its box");

int tmsg_box(troupe_system *sys, tmsg *m, const tctx *c)
{
    tbox *b = talloc(sys->alloc_mode, sizeof *b);
    if (!b)
        return TROUPE_ENOMEM;
    memcpy(b->body, &m->u, sizeof m->u);
    b->ctx = *c;
    m->u.p.ptr = b;
    m->flags_size |= MF_TRACED;
    return 0;
}

void tmsg_unbox(troupe_system *sys, tmsg *m, tctx *c)
{
    tbox *b = m->u.p.ptr;
    if (c)
        *c = b->ctx;
    memcpy(&m->u, b->body, sizeof m->u);
    m->flags_size &= ~MF_TRACED;
    tfree(sys->alloc_mode, b, sizeof *b);
}

void tmsg_destroy_slow(troupe_system *sys, tmsg *m)
{
    if (m->flags_size & MF_TRACED) { /* dropped unhandled: the tracer hears */
        if (sys->hooks.trace_drop)
            sys->hooks.trace_drop(sys, m);
        tmsg_unbox(sys, m, NULL);
    }
    if (m->flags_size & MF_HEAP)
        tfree(sys->alloc_mode, m->u.p.ptr, m->u.p.len);
    else if ((m->flags_size & MF_PTR) && m->u.p.dtor)
        m->u.p.dtor(m->u.p.ptr);
    m->flags_size &= ~(MF_HEAP | MF_PTR);
}

/* A payload out of line, or a latency stamp: one test on the inline path
 * stands for all three (an unstamped inline message pays nothing more). */
static __attribute__((noinline)) void view_slow(const tmsg *m, troupe_msg *out)
{
    if (m->flags_size & MF_STAMP)
        probe_view(m);
    if (m->flags_size & MF_PTR) {
        out->size = 0;
        out->data = NULL;
        out->ptr = m->u.p.ptr;
    } else if (m->flags_size & MF_HEAP) {
        out->size = (uint32_t)m->u.p.len;
        out->data = m->u.p.ptr;
    } else {
        out->size = m->flags_size & MF_SIZE_MASK;
        out->data = out->size ? m->u.inl : NULL;
    }
}

void tmsg_view(const tmsg *m, troupe_msg *out)
{
    out->type = m->type;
    out->sender.id = m->sender;
    out->corr = m->corr;
    out->ptr = NULL;
    if (m->flags_size & (MF_PTR | MF_HEAP | MF_STAMP)) {
        view_slow(m, out);
        return;
    }
    out->size = m->flags_size & MF_SIZE_MASK;
    out->data = out->size ? m->u.inl : NULL;
}
