/* persistence/recover.c — bringing a persistent actor's state back.
 *
 * Right after init, on every start and restart, on the thread running it:
 * wait until the writer has finished what is queued (the last incarnation's
 * events must be in the store before we read it), then restore the latest
 * snapshot and apply the events after it, in order. Rows of an older schema
 * pass through the behaviour's upgrade. Any error stops the recovery with a
 * reason naming the persistence id and the sequence number.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "persistence/pers.h"

typedef struct rec_ctx {
    troupe_ctx *ctx;
    actor *a;
    pstate *p;
    uint64_t seq;
    int failed_rc;
} rec_ctx;

static void set_reason(const pstate *p, uint64_t seq, const char *what)
{
    /* the failure's reason is short (TROUPE_REASON_MAX): what comes first */
    char buf[BACKEND_ERR_MAX + TROUPE_PERSIST_ID_MAX + 64];
    snprintf(buf, sizeof buf, "%s (persistence id '%s', seq %llu)", what, p->pid,
             (unsigned long long)seq);
    size_t n = strlen(buf);
    if (n >= sizeof troupei_tls.panic_reason)
        n = sizeof troupei_tls.panic_reason - 1;
    memcpy(troupei_tls.panic_reason, buf, n);
    troupei_tls.panic_reason[n] = '\0';
    journal_note_error(p->j, buf); /* the whole text, for troupe_journal_last_error */
}

/* Convert a row of an older schema; *buf is the converted copy to free. */
static int upgrade(const troupe_persistence *per, troupe_persist_kind kind, uint32_t schema,
                   const void **data, size_t *len, void **buf)
{
    *buf = NULL;
    if (schema == per->schema)
        return 0;
    if (schema > per->schema || !per->upgrade)
        return TROUPE_ECORRUPT; /* written by a newer version, or no way to read it */
    size_t n = 0;
    int rc = per->upgrade(kind, schema, *data, *len, buf, &n);
    if (rc < 0)
        return rc;
    *data = *buf;
    *len = n;
    return 0;
}

static int on_event(void *ud, uint64_t seq, uint32_t schema, const void *data, size_t len)
{
    rec_ctx *rc_ = ud;
    const troupe_persistence *per = rc_->a->beh->persist;
    void *buf;
    int rc = upgrade(per, TROUPE_PERSIST_EVENT, schema, &data, &len, &buf);
    if (rc == 0 && seq != rc_->seq + 1)
        rc = TROUPE_ECORRUPT; /* a gap: an event is missing */
    if (rc == 0)
        rc = persist_apply(rc_->ctx, rc_->a, rc_->p, data, len);
    free(buf);
    if (rc < 0) {
        set_reason(rc_->p, seq, rc == TROUPE_ECORRUPT ? "missing, newer or unreadable event"
                                                      : "apply failed during recovery");
        rc_->failed_rc = rc;
        return rc;
    }
    rc_->seq = seq;
    return 0;
}

static int restore(rec_ctx *r, backend *b, char *err)
{
    const troupe_persistence *per = r->a->beh->persist;
    int found = 0;
    uint64_t seq = 0;
    uint32_t schema = 0;
    void *data = NULL, *buf = NULL;
    size_t len = 0;
    int rc = b->ops->load_snapshot(b, r->p->pid, &found, &seq, &schema, &data, &len, err);
    if (rc == 0 && found && per->restore) {
        const void *d = data;
        rc = upgrade(per, TROUPE_PERSIST_SNAPSHOT, schema, &d, &len, &buf);
        if (rc == 0)
            rc = per->restore(r->ctx, r->a->state, d, len);
        if (rc == 0)
            r->seq = r->p->snap_seq = seq;
        else
            set_reason(r->p, seq, "snapshot could not be restored");
    } else if (rc) {
        set_reason(r->p, 0, err);
    }
    free(data);
    free(buf);
    return rc < 0 ? rc : 0;
}

int persist_recover(troupe_system *sys, actor *a, troupe_ctx *ctx)
{
    (void)sys;
    actor_ext *x = ext_peek(a);
    pstate *p = x->pers;
    while (p->buf) { /* a panicking handler's, never submitted */
        jreq *next = p->buf->next;
        jreq_free(p->buf);
        p->buf = next;
    }
    p->buf_tail = NULL;
    jreq_free(p->reply);
    p->reply = NULL;
    p->epoch++;
    p->pending = 0;
    a->flags &= (uint16_t)~(AF_PWAIT | AF_PBUF);
    journal_flush_wait(p->j);
    char err[BACKEND_ERR_MAX] = "";
    backend *b = journal_reader(p->j, err);
    if (!b) {
        set_reason(p, 0, err);
        return TROUPE_EIO;
    }
    rec_ctx r = {.ctx = ctx, .a = a, .p = p};
    int rc = restore(&r, b, err);
    if (rc == 0 && (rc = b->ops->read(b, p->pid, r.seq, on_event, &r, err)) < 0 && !r.failed_rc)
        set_reason(p, r.seq + 1, err);
    journal_reader_put(p->j, b);
    p->seq = p->next_seq = r.seq;
    return rc < 0 ? rc : 0;
}
