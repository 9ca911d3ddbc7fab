/* persistence/recover.c — bringing a persistent actor's state back.
 *
 * Right after init, on every start and restart, on the thread running it:
 * wait until the writer has finished what is queued (the last incarnation's
 * events must be in the store before we read it), then restore the latest
 * snapshot and apply the events after it, in order. Rows of an older schema
 * pass through the behaviour's upgrade. Any error stops the recovery with a
 * reason naming the persistence id and the sequence number.
 */
#include <stdarg.h>
#include <stdbool.h>
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

/* The reason recovery stopped: what happened, where (the seq is in the
 * text, as the case has it), then the persistence id. */
static void set_reason(const pstate *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_reason(const pstate *p, const char *fmt, ...)
{
    /* the failure's reason is short (TROUPE_REASON_MAX): what comes first */
    char what[BACKEND_ERR_MAX + 64], buf[BACKEND_ERR_MAX + TROUPE_PERSIST_ID_MAX + 96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(buf, sizeof buf, "%s (persistence id '%s')", what, p->pid);
    size_t n = strlen(buf);
    if (n >= sizeof troupei_tls.panic_reason)
        n = sizeof troupei_tls.panic_reason - 1;
    memcpy(troupei_tls.panic_reason, buf, n);
    troupei_tls.panic_reason[n] = '\0';
    journal_note_error(p->j, buf); /* the whole text, for troupe_journal_last_error */
}

/* Convert a row of an older schema; *buf is the converted copy to free.
 * On failure, why (a phrase after "schema N") into why. */
static int upgrade(const troupe_persistence *per, troupe_persist_kind kind, uint32_t schema,
                   const void **data, size_t *len, void **buf, const char **why)
{
    *buf = NULL;
    if (schema == per->schema)
        return 0;
    if (schema > per->schema || !per->upgrade) {
        *why = schema > per->schema ? "is newer than the behaviour's" : "and no upgrade to";
        return TROUPE_ECORRUPT; /* written by a newer version, or no way to read it */
    }
    size_t n = 0;
    int rc = per->upgrade(kind, schema, *data, *len, buf, &n);
    if (rc < 0) {
        *why = "failed to upgrade to";
        return rc;
    }
    *data = *buf;
    *len = n;
    return 0;
}

static int on_event(void *ud, uint64_t seq, uint32_t schema, const void *data, size_t len)
{
    rec_ctx *r = ud;
    const troupe_persistence *per = r->a->beh->persist;
    if (seq != r->seq + 1) { /* a gap: the next one expected is missing */
        set_reason(r->p, "event seq %llu missing (the next stored is seq %llu)",
                   (unsigned long long)(r->seq + 1), (unsigned long long)seq);
        return r->failed_rc = TROUPE_ECORRUPT;
    }
    void *buf;
    const char *why = "";
    int rc = upgrade(per, TROUPE_PERSIST_EVENT, schema, &data, &len, &buf, &why);
    if (rc < 0)
        set_reason(r->p, "event seq %llu: schema %u %s schema %u", (unsigned long long)seq,
                   schema, why, per->schema);
    else if ((rc = persist_apply(r->ctx, r->a, r->p, data, len)) < 0)
        set_reason(r->p, "event seq %llu: apply failed during recovery (%s)",
                   (unsigned long long)seq, troupe_errname(rc));
    free(buf);
    if (rc < 0)
        return r->failed_rc = rc;
    r->seq = seq;
    return 0;
}

static int restore_from(rec_ctx *r, uint64_t seq, uint32_t schema, const void *d, size_t len)
{
    const troupe_persistence *per = r->a->beh->persist;
    void *buf;
    const char *why = "";
    int rc = upgrade(per, TROUPE_PERSIST_SNAPSHOT, schema, &d, &len, &buf, &why);
    if (rc < 0)
        set_reason(r->p, "snapshot at seq %llu: schema %u %s schema %u", (unsigned long long)seq,
                   schema, why, per->schema);
    else if ((rc = per->restore(r->ctx, r->a->state, d, len)) < 0)
        set_reason(r->p, "snapshot at seq %llu could not be restored (%s)",
                   (unsigned long long)seq, troupe_errname(rc));
    else
        r->seq = r->p->snap_seq = seq;
    free(buf);
    return rc;
}

static int restore(rec_ctx *r, backend *b, char *err)
{
    int found = 0;
    uint64_t seq = 0;
    uint32_t schema = 0;
    void *data = NULL;
    size_t len = 0;
    int rc = b->ops->load_snapshot(b, r->p->pid, &found, &seq, &schema, &data, &len, err);
    if (rc == 0 && found && r->a->beh->persist->restore)
        rc = restore_from(r, seq, schema, data, len);
    else if (rc)
        set_reason(r->p, "loading the latest snapshot: %s", err);
    free(data);
    return rc < 0 ? rc : 0;
}

/* The journal went backwards when it ends below the mark of what it
 * committed for this id, or holds a row numbered <= 0 (which no read
 * reaches): the actor fails rather than run from an older state. */
static int check_mark(rec_ctx *r, backend *b, uint64_t *mark, bool after, char *err)
{
    if (!b->ops->high_water)
        return 0; /* memory: no marks kept (README.md) */
    int rc = after ? 0 : b->ops->high_water(b, r->p->pid, mark, err);
    if (rc < 0 && rc != TROUPE_ECORRUPT) {
        set_reason(r->p, "reading the high-water mark: %s", err);
        return rc;
    }
    if (rc < 0)
        set_reason(r->p, "journal went backwards: %s", err);
    else if (after && *mark > r->seq)
        set_reason(r->p, "journal went backwards: seq %llu was committed, the journal ends at seq"
                         " %llu", (unsigned long long)*mark, (unsigned long long)r->seq);
    if (rc < 0 || (after && *mark > r->seq)) {
        journal_count_regression(r->p->j);
        return TROUPE_ECORRUPT;
    }
    return 0;
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
    uint64_t t0 = mono_ns(); /* recovery time (jmetrics.c): the wait for the writer too */
    journal_flush_wait(p->j);
    char err[BACKEND_ERR_MAX] = "";
    backend *b;
    int rc = journal_reader(p->j, &b, err);
    if (rc < 0) { /* ENOMEM stays ENOMEM: the backend's code, not a read error */
        set_reason(p, "opening a connection to read: %s", err);
        rc = rc == TROUPE_ENOMEM ? rc : TROUPE_EIO;
        journal_count_recovery(p->j, rc, mono_ns() - t0);
        return rc;
    }
    rec_ctx r = {.ctx = ctx, .a = a, .p = p};
    uint64_t mark = 0;
    rc = check_mark(&r, b, &mark, false, err);
    if (rc == 0)
        rc = restore(&r, b, err);
    if (rc == 0 && (rc = b->ops->read(b, p->pid, r.seq, on_event, &r, err)) < 0 && !r.failed_rc)
        set_reason(p, "reading the events from seq %llu: %s", (unsigned long long)(r.seq + 1), err);
    if (rc == 0)
        rc = check_mark(&r, b, &mark, true, err);
    journal_reader_put(p->j, b);
    p->seq = p->next_seq = r.seq;
    journal_count_recovery(p->j, rc, mono_ns() - t0);
    return rc < 0 ? rc : 0;
}
