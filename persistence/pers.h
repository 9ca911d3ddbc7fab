/* persistence/pers.h — the runtime side of event-sourced actors.
 *
 * journal.c  the journal: a backend for the writer thread, a pool of
 *            reader connections for recovery, the queue of requests and
 *            the writer thread (group commit, acks, snapshots, retention)
 * persist.c  troupe_persist and what a worker does with an ack: apply,
 *            snapshot, resume; the park/wake handshake with the writer
 * recover.c  recovery at start and restart: snapshot, then events
 *
 * The handshake. An actor whose events are not durable yet (AF_PWAIT) must
 * not run its user messages, yet must not hold a worker. At the end of its
 * run it parks: CAS ext->pwait 0 -> PW_PARKED, and is neither idle nor
 * queued (its senders see it "scheduled" and only queue). The writer, after
 * pushing a batch's acks on the actor's system lane, swaps pwait to
 * PW_WOKEN: finding PW_PARKED, it owns the actor and schedules it. A worker
 * that finds PW_WOKEN instead of 0 clears it and requeues the actor itself
 * (the acks are on its lane already).
 */
#ifndef TROUPE_PERSISTENCE_PERS_H
#define TROUPE_PERSISTENCE_PERS_H

#include <pthread.h>

#include "core/ext.h"
#include "core/system.h"
#include "persistence/backend.h"
#include "troupe/persist.h"

enum { PW_IDLE = 0, PW_PARKED = 1, PW_WOKEN = 2 };

/* One persistent actor slot's state (ext->pers), kept across restarts,
 * freed when the actor ends for good. Owned by the thread running it. */
typedef struct pstate {
    char pid[TROUPE_PERSIST_ID_MAX + 1];
    troupe_journal *j;
    uint64_t seq;        /* the last event applied */
    uint64_t next_seq;   /* the last event persisted (maybe not durable) */
    uint64_t snap_seq;   /* the last snapshot taken */
    uint32_t pending;    /* persisted, not applied yet */
    uint32_t epoch;      /* this incarnation: older acks are ignored */
    bool applying;       /* inside apply: troupe_persist is refused */
    struct jreq *reply;  /* troupe_persist_reply's payload, until the flush */
    struct jreq *buf, *buf_tail; /* persisted by the running handler */
} pstate;

enum { JR_EVENT, JR_SNAPSHOT };

/* A request to the writer, and then the ack it sends back (MF_PTR). */
typedef struct jreq {
    struct jreq *next;
    int type;
    troupe_system *sys;
    troupe_ref ref;
    uint32_t epoch;
    uint64_t seq;
    uint32_t schema;
    uint64_t retention;   /* snapshots: events to keep before it */
    void *data;
    size_t len;
    bool ask;             /* a deferred reply: the ask it answers */
    uint64_t ask_sender, ask_corr;
    uint32_t ask_type, ask_flags;
    struct jreq *reply;   /* a reply payload to send after apply (type in
                             its ask_type, bytes in its data) */
    /* An event's ack envelope, allocated with the event (talloc of sys's
     * alloc_mode): the writer's ack cannot fail for memory, so an actor
     * never waits forever for an ack that was lost. */
    struct envelope *ack_env;
    char pid[TROUPE_PERSIST_ID_MAX + 1];
    int rc; /* a failure's code: TROUPE_EFENCED for a fenced write, else EIO */
    char err[TROUPE_REASON_MAX];
} jreq;

/* journal.c */
void journal_submit(troupe_journal *j, jreq *r);
/* Wait until everything submitted so far is written (or failed). */
void journal_flush_wait(troupe_journal *j);
/* jmetrics.c: one recovery that ended with rc after ns; the /metrics
 * writer of the system's journal (persist_create) */
#define journal_count_recovery troupei_journal_count_recovery
#define journal_metrics_register troupei_journal_metrics_register
void journal_count_recovery(troupe_journal *j, int rc, uint64_t ns);
#define journal_count_regression troupei_journal_count_regression
/* a recovery that found the journal gone backwards (recover.c) */
void journal_count_regression(troupe_journal *j);
int journal_metrics_register(troupe_system *sys);
/* The journal's last error (troupe_journal_last_error). */
void journal_note_error(troupe_journal *j, const char *err);
/* A connection to read with: 0, or the backend's open error (ENOMEM, EIO). */
int journal_reader(troupe_journal *j, backend **out, char *err);
void journal_reader_put(troupe_journal *j, backend *b);
void jreq_free(void *r);

/* persist.c */
void persist_flush(troupe_system *sys, troupe_ctx *ctx, actor *a, int rc);
int persist_attach(troupe_system *sys, actor *a, const troupe_spawn_opts *opts);
void persist_detach(actor *a);
/* an ack or a failure from the writer, on the actor's worker; < 0: the
 * actor fails with *kind and reason */
int persist_on_ack(worker *w, actor *a, troupe_failure_kind *kind, const char **reason);
/* recover.c's and persist.c's: apply one event with the actor's callback */
int persist_apply(troupe_ctx *ctx, actor *a, pstate *p, const void *data, size_t len);
/* end of a run with AF_PWAIT: true when parked (the writer reschedules) */
bool persist_park(actor *a);

/* persist.c: the composition root's (runtime/system.c) create registers
 * the functions above in core's hooks (core/hooks.h); stop flushes the
 * journal once the workers are joined */
int persist_create(troupe_system *sys);
void persist_stop(troupe_system *sys);

/* recover.c: after init, on the thread running it */
int persist_recover(troupe_system *sys, actor *a, troupe_ctx *ctx);

#endif
