/* persistence/persist.c — troupe_persist, and what a worker does with the
 * writer's answers.
 *
 * A handler's events are buffered (pstate.buf) and submitted together when
 * the handler returns (persist_flush, core's `handled` hook, from
 * core/run.c's dispatch): a
 * handler that fails persists nothing, and an ask it leaves unanswered is
 * answered by the apply of its last event (the deferred reply). From then
 * on the actor waits (AF_PWAIT): it serves its system lane, where the acks
 * arrive in order, and parks between runs (persistence/pers.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/ask.h"
#include "persistence/pers.h"
#include "supervisor/sv.h"

static pstate *pstate_of(const actor *a)
{
    actor_ext *x = ext_peek(a);
    return x ? x->pers : NULL;
}

static void free_chain(jreq *r)
{
    while (r) {
        jreq *next = r->next;
        jreq_free(r);
        r = next;
    }
}

static int check_persistence(const troupe_persistence *p)
{
    if (!p->apply || p->schema == 0 || (!p->snapshot != !p->restore))
        return TROUPE_EINVAL;
    return 0;
}

/* The persistence id: the spawn option, else the supervised child's name. */
static const char *pid_for(const actor *a, const troupe_spawn_opts *opts)
{
    if (opts && opts->persistence_id)
        return opts->persistence_id;
    return sv_child_name(a);
}

int persist_attach(troupe_system *sys, actor *a, const troupe_spawn_opts *opts)
{
    const troupe_persistence *per = a->beh->persist;
    if (!sys->cfg.journal)
        return TROUPE_ESTATE;
    int rc = check_persistence(per);
    if (rc)
        return rc;
    actor_ext *x = ext_get(sys, a);
    if (!x)
        return TROUPE_ENOMEM;
    const char *pid = pid_for(a, opts);
    size_t n = pid ? strlen(pid) : 0;
    if (n == 0 || n > TROUPE_PERSIST_ID_MAX)
        return TROUPE_EINVAL;
    pstate *p = sys_calloc(1, sizeof *p);
    if (!p)
        return TROUPE_ENOMEM;
    memcpy(p->pid, pid, n + 1);
    p->j = sys->cfg.journal;
    x->pers = p;
    return 0;
}

void persist_detach(actor *a)
{
    actor_ext *x = ext_peek(a);
    if (!x || !x->pers)
        return;
    free_chain(x->pers->buf);
    jreq_free(x->pers->reply);
    free(x->pers);
    x->pers = NULL;
}

TROUPE_API int troupe_persist(troupe_ctx *ctx, const void *event, size_t len)
{
    if (!ctx || (!event && len) || len > TROUPE_EVENT_MAX)
        return TROUPE_EINVAL;
    pstate *p = ctx->a && ctx->msg ? pstate_of(ctx->a) : NULL;
    if (!p || p->applying)
        return TROUPE_ESTATE;
    jreq *r = sys_calloc(1, sizeof *r);
    if (r)
        r->sys = ctx->sys;
    if (!r || (len && !(r->data = sys_malloc(len))) ||
        !(r->ack_env = talloc(ctx->sys->alloc_mode, sizeof *r->ack_env))) {
        jreq_free(r);
        return TROUPE_ENOMEM;
    }
    if (len)
        memcpy(r->data, event, len);
    r->len = len;
    r->type = JR_EVENT;
    r->schema = ctx->a->beh->persist->schema;
    memcpy(r->pid, p->pid, sizeof r->pid);
    *(p->buf ? &p->buf_tail->next : &p->buf) = r;
    p->buf_tail = r;
    ctx->a->flags |= AF_PBUF;
    return 0;
}

TROUPE_API int troupe_persist_reply(troupe_ctx *ctx, uint32_t type, const void *data, size_t len)
{
    if (!ctx || (!data && len) || len > TROUPE_EVENT_MAX)
        return TROUPE_EINVAL;
    if (!ctx->a || !ctx->msg || !(ctx->msg->flags_size & MF_ASK) || ctx->replied)
        return TROUPE_ESTATE;
    pstate *p = pstate_of(ctx->a);
    if (!p || !(ctx->a->flags & AF_PBUF) || p->reply)
        return troupe_reply(ctx, type, data, len); /* nothing to wait for */
    jreq *r = sys_calloc(1, sizeof *r);
    if (!r || (len && !(r->data = sys_malloc(len)))) {
        free(r);
        return TROUPE_ENOMEM;
    }
    if (len)
        memcpy(r->data, data, len);
    r->len = len;
    r->ask_type = type;
    p->reply = r;
    return 0;
}

TROUPE_API uint64_t troupe_persist_seq(const troupe_ctx *ctx)
{
    pstate *p = ctx && ctx->a ? pstate_of(ctx->a) : NULL;
    return p ? p->seq : 0;
}

/* The handler returned (rc): submit what it persisted, or drop it. */
void persist_flush(troupe_system *sys, troupe_ctx *ctx, actor *a, int rc)
{
    pstate *p = pstate_of(a);
    a->flags &= (uint16_t)~AF_PBUF;
    jreq *r = p->buf, *reply = p->reply;
    p->buf = p->buf_tail = NULL;
    p->reply = NULL;
    if (rc < 0) {
        free_chain(r);
        jreq_free(reply);
        return;
    }
    jreq *last = p->buf_tail;
    for (jreq *x = r; x; x = x->next)
        last = x;
    if (ctx->msg && (ctx->msg->flags_size & MF_ASK) && !ctx->replied) {
        last->ask = true; /* the reply waits for the last event's apply */
        (void)ask_hold(ctx); /* and fails fast if we end first (ENOMEM: at its timeout) */
        last->ask_sender = ctx->msg->sender;
        last->ask_corr = ctx->msg->corr;
        last->reply = reply; /* troupe_persist_reply's, sent after apply */
        reply = NULL;
        ctx->replied = true;
    }
    jreq_free(reply);
    while (r) {
        jreq *next = r->next;
        r->sys = sys;
        r->ref = ref_make(sys, a->index, a->gen);
        r->epoch = p->epoch;
        r->seq = ++p->next_seq;
        p->pending++;
        journal_submit(p->j, r);
        r = next;
    }
    a->flags |= AF_PWAIT;
}

/* An apply with no ask waiting for its event (recovery, or an event whose
 * handler composed the answer itself) may still reply, as the same code
 * does when it is: to no one (an ask of id 0, troupe_reply returns 0). */
int persist_apply(troupe_ctx *ctx, actor *a, pstate *p, const void *data, size_t len)
{
    tmsg nobody = {.flags_size = MF_ASK};
    tmsg *msg = ctx->msg;
    bool replied = ctx->replied;
    if (!msg) {
        ctx->msg = &nobody;
        ctx->replied = false;
    }
    p->applying = true;
    int rc = a->beh->persist->apply(ctx, a->state, data, len);
    p->applying = false;
    if (!msg) {
        ctx->msg = NULL;
        ctx->replied = replied;
    }
    return rc < 0 ? rc : 0;
}

/* Every snapshot_every events: the state, to the writer (best effort). */
static void maybe_snapshot(troupe_system *sys, troupe_ctx *ctx, actor *a, pstate *p)
{
    const troupe_persistence *per = a->beh->persist;
    uint32_t every = per->snapshot_every ? per->snapshot_every : 100;
    if (!per->snapshot || p->seq - p->snap_seq < every)
        return;
    jreq *r = sys_calloc(1, sizeof *r);
    if (!r)
        return; /* the next event tries again */
    p->applying = true;
    int rc = per->snapshot(ctx, a->state, &r->data, &r->len);
    p->applying = false;
    if (rc < 0 || r->len > TROUPE_EVENT_MAX) {
        jreq_free(r);
        return;
    }
    r->type = JR_SNAPSHOT;
    r->sys = sys;
    r->seq = p->snap_seq = p->seq;
    r->schema = per->schema;
    r->retention = per->retention ? per->retention : 1000;
    memcpy(r->pid, p->pid, sizeof r->pid);
    journal_submit(p->j, r);
}

/* Apply a durable event; a deferred reply goes to its ask. */
static int on_persisted(worker *w, actor *a, pstate *p, jreq *r)
{
    troupe_ctx *ctx = &w->ctx;
    tmsg ask = {.type = r->ask_type, .flags_size = MF_ASK, .sender = r->ask_sender,
                .corr = r->ask_corr};
    /* the deferred ask is apply's to answer, unless the handler already
     * composed the answer (troupe_persist_reply): then it is sent after */
    ctx->msg = r->ask && !r->reply ? &ask : NULL;
    ctx->replied = false;
    int rc = persist_apply(ctx, a, p, r->data, r->len);
    if (rc == 0 && r->reply) {
        ctx->msg = &ask;
        (void)troupe_reply(ctx, r->reply->ask_type, r->reply->data, r->reply->len);
    }
    ctx->msg = NULL;
    if (rc < 0)
        return rc;
    p->seq = r->seq;
    if (--p->pending == 0)
        a->flags &= (uint16_t)~AF_PWAIT;
    maybe_snapshot(w->sys, ctx, a, p);
    return 0;
}

int persist_on_ack(worker *w, actor *a, troupe_failure_kind *kind, const char **reason)
{
    jreq *r = w->cur.u.p.ptr;
    pstate *p = pstate_of(a);
    int rc = 0;
    /* the message stays the worker's until destroyed: a panic in apply
     * destroys it through fail_actor (in_msg) */
    w->msg = &w->cur;
    w->in_msg = true;
    if (!p || r->epoch != p->epoch) {
        rc = 0; /* an earlier incarnation's: recovery read it back */
    } else if (w->cur.type == SYSMSG_PERSIST_FAILED) {
        snprintf(troupei_tls.panic_reason, sizeof troupei_tls.panic_reason, "%s", r->err);
        *kind = TROUPE_EXIT_PERSISTENCE;
        *reason = troupei_tls.panic_reason;
        rc = r->rc < 0 ? r->rc : TROUPE_EIO;
    } else if ((rc = on_persisted(w, a, p, r)) < 0) {
        *kind = TROUPE_EXIT_ERROR;
        *reason = troupe_strerror(rc);
    }
    if (rc < 0)
        return rc; /* fail_actor destroys the message */
    w->in_msg = false;
    tmsg_destroy(w->sys, &w->cur);
    return 0;
}

bool persist_park(actor *a)
{
    actor_ext *x = ext_peek(a);
    int expect = PW_IDLE;
    /* acq_rel: pairs with the writer's exchange in journal.c's wake: either
     * it finds PARKED and schedules us, or we find WOKEN and go on */
    if (atomic_compare_exchange_strong_explicit(&x->pwait, &expect, PW_PARKED,
                                                memory_order_acq_rel, memory_order_acquire))
        return true;
    atomic_store_explicit(&x->pwait, PW_IDLE, memory_order_relaxed);
    return false;
}

/* The composition root's (runtime/system.c) create: persistence keeps no
 * state of its own per system (the journal is the application's), it only
 * tells core what to call (core/hooks.h). */
int persist_create(troupe_system *sys)
{
    core_hooks *h = &sys->hooks;
    h->attach = persist_attach;
    h->recover = persist_recover;
    h->handled = persist_flush;
    h->park = persist_park;
    h->detach = persist_detach;
    hooks_sysmsg(h, SYSMSG_PERSISTED, persist_on_ack);
    hooks_sysmsg(h, SYSMSG_PERSIST_FAILED, persist_on_ack);
    return journal_metrics_register(sys);
}

/* The workers are joined: the journal's acks to our actors are sent before
 * they end (the writer pushes them on their system lanes). */
void persist_stop(troupe_system *sys)
{
    if (sys->cfg.journal)
        journal_flush_wait(sys->cfg.journal);
}
