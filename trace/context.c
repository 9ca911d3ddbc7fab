/* trace/context.c — trace contexts on threads and messages: the hooks core
 * calls (core/hooks.h), the public start/continue/end, sampling, ids.
 *
 * Each thread keeps a small stack of open spans (frames): a plain thread's
 * root, and above it the span of each message being handled on it (a
 * plain thread runs an actor for its troupe_call, so handling nests).
 * troupei_tls.trace points at the top frame, or is NULL: that pointer is
 * all core tests (core/send.c, core/run.c). An unsampled root is a frame
 * too (so troupe_trace_traceparent answers), but its sends carry nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/system.h"
#include "core/alloc.h"
#include "trace/trace.h"

#define FRAMES 8

typedef struct frame {
    tctx ctx;       /* this span's: its id is the parent of what it sends */
    span_rec rec;   /* the open span */
    bool handler;   /* opened by trace_begin (else a plain thread's root) */
    bool sampled;
    uint32_t actor; /* its actor's index (a handler's) */
    void *prev;     /* troupei_tls.trace before it */
} frame;

static TROUPE_TLS frame frames[FRAMES];
static TROUPE_TLS uint32_t depth;
static TROUPE_TLS uint64_t rng; /* splitmix64 state; 0: not seeded yet */
static _Atomic uint64_t rng_threads; /* relaxed: a distinct seed per thread */

uint64_t trace_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void trace_random_id(tracer *t, uint8_t *out, size_t n)
{
    if (!rng) {
        uint64_t s = t->cfg.seed;
        if (!s && getrandom(&s, sizeof s, 0) != sizeof s)
            s = trace_now_ns();
        uint64_t k = atomic_fetch_add_explicit(&rng_threads, 1, memory_order_relaxed);
        rng = s + k * 0xD1B54A32D192ED03ull;
        rng += !rng;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(i & 7))
            do
                v = splitmix(&rng);
            while (!v); /* an all-zero id is invalid */
        out[i] = (uint8_t)(v >> ((i & 7) * 8));
    }
}

static tracer *tracer_of(troupe_system *sys)
{
    tracer *t = sys ? sys->tr : NULL;
    /* acquire: pairs with troupe_trace_enable's release store */
    return t && atomic_load_explicit(&t->enabled, memory_order_acquire) ? t : NULL;
}

/* A bounded copy without snprintf: this runs per span. */
static void copy_str(char *dst, size_t cap, const char *s)
{
    size_t n = 0;
    for (; s && n + 1 < cap && s[n]; n++)
        dst[n] = s[n];
    dst[n] = 0;
}

/* Open a span on this thread: a frame, made current. NULL when too deep. */
static frame *push_frame(tracer *t, const tctx *parent, bool has_parent, bool sampled)
{
    if (depth >= FRAMES)
        return NULL;
    frame *f = &frames[depth++];
    memset(&f->rec, 0, sizeof f->rec);
    f->sampled = sampled;
    f->handler = false;
    f->actor = 0;
    if (has_parent) {
        memcpy(f->rec.trace_id, parent->trace_id, 16);
        memcpy(f->rec.parent_id, parent->span_id, 8);
        f->rec.has_parent = 1;
    } else {
        trace_random_id(t, f->rec.trace_id, 16);
    }
    if (sampled)
        trace_random_id(t, f->rec.span_id, 8);
    else /* an unsampled span still has an id to hand on */
        memcpy(f->rec.span_id, has_parent ? parent->span_id : f->rec.trace_id + 8, 8);
    memcpy(f->ctx.trace_id, f->rec.trace_id, 16);
    memcpy(f->ctx.span_id, f->rec.span_id, 8);
    f->ctx.flags = sampled ? 1 : 0;
    f->rec.start_ns = trace_now_ns();
    f->prev = troupei_tls.trace;
    send_gate_trace(t->sys); /* before the context is current: sends look */
    troupei_tls.trace = f;
    return f;
}

/* End the top frame: record it (if sampled) and make the one below current. */
static void pop_frame(tracer *t, frame *f)
{
    f->rec.end_ns = trace_now_ns();
    if (f->sampled && !span_push(t, &f->rec)) /* counted by span_push */
        (void)0;
    troupei_tls.trace = f->prev;
    depth--;
}

/* The last traced failure of an actor slot (its restart's span hangs
 * under it). Rare: a mutex and a small table. */
#define FAILS_MAX 256
static void note_failure(tracer *t, uint32_t index, const tctx *c)
{
    pthread_mutex_lock(&t->fail_lock);
    uint32_t i = 0;
    while (i < t->nfails && t->fails[i].index != index)
        i++;
    if (i == t->nfails && t->nfails < FAILS_MAX)
        t->nfails++;
    if (i < t->nfails)
        t->fails[i] = (struct fail_note){index, *c};
    pthread_mutex_unlock(&t->fail_lock);
}

static bool take_failure(tracer *t, uint32_t index, tctx *c)
{
    bool found = false;
    pthread_mutex_lock(&t->fail_lock);
    for (uint32_t i = 0; i < t->nfails; i++)
        if (t->fails[i].index == index) {
            *c = t->fails[i].ctx;
            t->fails[i] = t->fails[--t->nfails];
            found = true;
            break;
        }
    pthread_mutex_unlock(&t->fail_lock);
    return found;
}

static const char *kind_name(troupe_failure_kind k)
{
    switch (k) {
    case TROUPE_EXIT_PANIC:
        return "panic";
    case TROUPE_EXIT_KILLED:
        return "killed";
    case TROUPE_EXIT_HEALTH:
        return "health";
    default:
        return "error";
    }
}

bool trace_current(tctx *out)
{
    const frame *f = troupei_tls.trace;
    if (!f || !f->sampled)
        return false;
    *out = f->ctx;
    return true;
}

/* --- the hooks (core/hooks.h) --- */

static void hook_send(troupe_system *sys, tmsg *m)
{
    frame *cur = troupei_tls.trace;
    tracer *t = sys->tr;
    if (!t || !cur || !cur->sampled)
        return;
    span_rec r = {0};
    memcpy(r.trace_id, cur->ctx.trace_id, 16);
    memcpy(r.parent_id, cur->ctx.span_id, 8);
    r.has_parent = 1;
    trace_random_id(t, r.span_id, 8);
    bool ask = m->flags_size & MF_ASK;
    r.kind = ask ? SK_CLIENT : SK_PRODUCER;
    r.outcome = OUT_OK;
    r.msg_type = m->type;
    r.start_ns = r.end_ns = trace_now_ns();
    troupe_ctx *c = troupei_tls.ctx;
    if (c && c->a && c->sys == sys) {
        r.actor = ref_make(sys, c->a->index, c->a->gen).id;
        copy_str(r.actor_type, sizeof r.actor_type, c->a->beh->name);
    }
    /* the name ("send <type>", "ask <type>") is made at export (trace/otlp.c) */
    tctx box = {.flags = 1};
    memcpy(box.trace_id, r.trace_id, 16);
    memcpy(box.span_id, r.span_id, 8);
    if (tmsg_box(sys, m, &box) != 0) /* it goes untraced */
        return;
    if (ask) /* the CLIENT span ends with the reply (trace/asks.c) */
        asks_pend_open(sys, t, m->corr, &r);
    else
        span_push(t, &r);
}

static void hook_begin(troupe_system *sys, actor *a, const tmsg *m, const tctx *c)
{
    /* a message from another node may come before this one's enable */
    tracer *t = tracer_of(sys);
    frame *f = t ? push_frame(t, c, true, true) : NULL;
    if (!f)
        return;
    f->handler = true;
    f->actor = a->index;
    f->rec.kind = (m->flags_size & MF_ASK) ? SK_SERVER : SK_CONSUMER;
    f->rec.msg_type = m->type;
    f->rec.actor = ref_make(sys, a->index, a->gen).id;
    copy_str(f->rec.actor_type, sizeof f->rec.actor_type, a->beh->name);
    /* named "<behaviour> <type>" at export */
}

static frame *open_handler(actor *a)
{
    frame *f = troupei_tls.trace;
    return f && f->handler && f->actor == a->index && depth && f == &frames[depth - 1] ? f : NULL;
}

static void end_handler(tracer *t, frame *f, int rc, troupe_failure_kind kind)
{
    f->rec.outcome = rc < 0 ? OUT_FAILED : OUT_OK;
    f->rec.code = rc < 0 ? rc : 0;
    if (rc < 0) {
        copy_str(f->rec.fail_kind, sizeof f->rec.fail_kind, kind_name(kind));
        note_failure(t, f->actor, &f->ctx);
    }
    pop_frame(t, f);
}

static void hook_end(troupe_system *sys, actor *a, int rc, troupe_failure_kind kind)
{
    frame *f = open_handler(a);
    if (f)
        end_handler(sys->tr, f, rc, kind);
}

static void hook_fail(troupe_system *sys, actor *a, troupe_failure_kind kind)
{
    frame *f = open_handler(a);
    if (f)
        end_handler(sys->tr, f, -1, kind);
}

static void hook_drop(troupe_system *sys, const tmsg *m)
{
    tracer *t = sys->tr;
    if (!t) /* the tracer went first (the system's end) */
        return;
    const tbox *b = m->u.p.ptr;
    span_rec r = {0};
    memcpy(r.trace_id, b->ctx.trace_id, 16);
    memcpy(r.parent_id, b->ctx.span_id, 8);
    r.has_parent = 1;
    trace_random_id(t, r.span_id, 8);
    r.kind = (m->flags_size & MF_ASK) ? SK_SERVER : SK_CONSUMER;
    r.outcome = OUT_DROPPED;
    r.msg_type = m->type;
    r.start_ns = r.end_ns = trace_now_ns();
    copy_str(r.name, sizeof r.name, "drop");
    span_push(t, &r);
}

/* A supervised restart: a span under the failure that caused it, with
 * the restart as its event; then the supervisor's own re-init. */
static void hook_reinit(troupe_system *sys, actor *a)
{
    tracer *t = sys->tr;
    tctx c;
    if (atomic_load_explicit(&t->enabled, memory_order_acquire) && take_failure(t, a->index, &c)) {
        span_rec r = {0};
        memcpy(r.trace_id, c.trace_id, 16);
        memcpy(r.parent_id, c.span_id, 8);
        r.has_parent = 1;
        trace_random_id(t, r.span_id, 8);
        r.kind = SK_INTERNAL;
        r.outcome = OUT_OK;
        r.actor = ref_make(sys, a->index, a->gen).id;
        copy_str(r.actor_type, sizeof r.actor_type, a->beh->name);
        snprintf(r.name, sizeof r.name, "restart %s", a->beh->name ? a->beh->name : "actor");
        r.start_ns = r.end_ns = r.event_ns = trace_now_ns();
        r.has_event = 1;
        copy_str(r.event, sizeof r.event, "troupe.actor.restart");
        span_push(t, &r);
    }
    t->sv_reinit(sys, a);
}

/* --- the public API --- */

static int open_root(troupe_system *sys, const char *name, const tctx *parent)
{
    tracer *t = tracer_of(sys);
    if (!t || depth || troupei_tls.ctx)
        return TROUPE_ESTATE;
    bool sampled;
    frame *f;
    if (parent) {
        sampled = parent->flags & 1;
        f = push_frame(t, parent, true, sampled);
    } else {
        /* TraceIdRatio: the trace id's last 8 bytes against ratio * 2^64 */
        uint8_t id[16];
        trace_random_id(t, id, 16);
        sampled = trace_sample_root(sys, t, id);
        tctx c = {.flags = 0};
        memcpy(c.trace_id, id, 16);
        f = push_frame(t, &c, false, sampled);
        memcpy(f->rec.trace_id, id, 16);
        memcpy(f->ctx.trace_id, id, 16);
    }
    f->rec.kind = SK_INTERNAL;
    f->rec.outcome = OUT_OK;
    copy_str(f->rec.name, sizeof f->rec.name, name);
    return 0;
}

TROUPE_API int troupe_trace_start(troupe_system *sys, const char *name)
{
    if (!sys || !name)
        return TROUPE_EINVAL;
    return open_root(sys, name, NULL);
}

TROUPE_API int troupe_trace_continue(troupe_system *sys, const char *name, const char *traceparent)
{
    if (!sys || !name || !traceparent)
        return TROUPE_EINVAL;
    tctx c;
    int rc = troupe_trace_parse(traceparent, c.trace_id, c.span_id, &c.flags);
    if (rc)
        return rc;
    return open_root(sys, name, &c);
}

TROUPE_API int troupe_trace_end(troupe_system *sys)
{
    if (!sys)
        return TROUPE_EINVAL;
    tracer *t = tracer_of(sys);
    frame *f = troupei_tls.trace;
    if (!t || !f || f->handler || depth != 1)
        return TROUPE_ESTATE;
    pop_frame(t, f);
    return 0;
}

TROUPE_API int troupe_trace_traceparent(char *buf, size_t cap)
{
    if (!buf || cap < TROUPE_TRACEPARENT_SIZE)
        return TROUPE_EINVAL;
    const frame *f = troupei_tls.trace;
    if (!f)
        return TROUPE_ENOTFOUND;
    char *p = buf + sprintf(buf, "00-");
    for (int i = 0; i < 16; i++)
        p += sprintf(p, "%02x", f->ctx.trace_id[i]);
    *p++ = '-';
    for (int i = 0; i < 8; i++)
        p += sprintf(p, "%02x", f->ctx.span_id[i]);
    sprintf(p, "-%02x", f->ctx.flags);
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* upper case is invalid in version 00 */
}

static bool hex_bytes(const char *s, uint8_t *out, size_t n)
{
    bool nonzero = false;
    for (size_t i = 0; i < n; i++) {
        int h = hexval(s[2 * i]), l = hexval(s[2 * i + 1]);
        if (h < 0 || l < 0)
            return false;
        out[i] = (uint8_t)(h << 4 | l);
        nonzero |= out[i] != 0;
    }
    return nonzero;
}

TROUPE_API int troupe_trace_parse(const char *tp, uint8_t trace_id[16], uint8_t span_id[8],
                                  uint8_t *flags)
{
    if (!tp || !trace_id || !span_id || !flags)
        return TROUPE_EINVAL;
    if (strnlen(tp, TROUPE_TRACEPARENT_LEN + 1) != TROUPE_TRACEPARENT_LEN || tp[0] != '0' ||
        tp[1] != '0' || tp[2] != '-' || tp[35] != '-' || tp[52] != '-')
        return TROUPE_EINVAL;
    uint8_t fl;
    if (!hex_bytes(tp + 3, trace_id, 16) || !hex_bytes(tp + 36, span_id, 8))
        return TROUPE_EINVAL;
    int h = hexval(tp[53]), l = hexval(tp[54]);
    if (h < 0 || l < 0)
        return TROUPE_EINVAL;
    fl = (uint8_t)(h << 4 | l);
    *flags = fl;
    return 0;
}

/* --- life --- */

int trace_create(troupe_system *sys)
{
    tracer *t = sys_calloc(1, sizeof *t);
    if (!t)
        return TROUPE_ENOMEM;
    t->fails = sys_calloc(FAILS_MAX, sizeof *t->fails);
    if (!t->fails || asks_pend_init(t)) {
        free(t->fails);
        free(t);
        return TROUPE_ENOMEM;
    }
    pthread_mutex_init(&t->lock, NULL);
    pthread_mutex_init(&t->fail_lock, NULL);
    pthread_mutex_init(&t->flag_lock, NULL);
    pthread_cond_init(&t->cond, NULL);
    pthread_cond_init(&t->done, NULL);
    t->sys = sys;
    t->sv_reinit = sys->hooks.reinit;
    sys->hooks.reinit = hook_reinit;
    sys->hooks.trace_send = hook_send;
    sys->hooks.trace_begin = hook_begin;
    sys->hooks.trace_end = hook_end;
    sys->hooks.trace_fail = hook_fail;
    sys->hooks.trace_drop = hook_drop;
    sys->hooks.trace_reply = asks_hook_reply;
    sys->hooks.trace_failover = trace_hook_failover;
    sys->tr = t;
    return trace_metrics_register(sys);
}

void trace_stop(troupe_system *sys)
{
    if (sys->tr)
        exporter_stop(sys->tr);
}

void trace_destroy(troupe_system *sys)
{
    tracer *t = sys->tr;
    if (!t)
        return;
    exporter_stop(t);
    sys->tr = NULL;
    pthread_mutex_destroy(&t->lock);
    pthread_mutex_destroy(&t->fail_lock);
    pthread_mutex_destroy(&t->flag_lock);
    pthread_cond_destroy(&t->cond);
    pthread_cond_destroy(&t->done);
    free(t->cells);
    free(t->fails);
    asks_pend_destroy(t);
    free(t->endpoint);
    free(t->service);
    free(t->node);
    free(t);
}
