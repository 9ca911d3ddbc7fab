/* persistence/journal_int.h — what journal.c (the writer, group commit,
 * guards) and journal_open.c (opening a journal) share. */
#ifndef TROUPE_PERSISTENCE_JOURNAL_INT_H
#define TROUPE_PERSISTENCE_JOURNAL_INT_H

#include <stdatomic.h>

#include "persistence/jguard.h"
#include "persistence/pers.h"

#define READERS_MAX 8
#define MAX_BATCH 8192

/* One transaction's events, their acks and the actors to wake after. With
 * a deferred sync (backend.deferred_sync) a committed batch waits for the
 * syncer (jsync.c) with its outcome in rc/err, while the writer fills the
 * other one. */
struct batch {
    jreq *ev[MAX_BATCH];
    pevent pe[MAX_BATCH];
    struct {
        troupe_system *sys;
        troupe_ref ref;
    } who[MAX_BATCH];
    unsigned char fenced[MAX_BATCH];
    size_t n, nwho;
    /* for the syncer: the append's answer, its fenced events, when it
     * began, and the requests handled since the last batch handed over */
    int rc;
    size_t nfenced;
    uint64_t t0, ndone;
    char err[BACKEND_ERR_MAX];
    struct batch *next;
};
typedef struct batch batch;

enum { JK_MEMORY, JK_SQLITE, JK_PG };

struct troupe_journal {
    int kind;
    sqlite_opts sq;
    char *path, *conninfo;
    char *idpath; /* SQLite: the identity sidecar (sqlite_meta.c), checked by the writer's open */
    const char *pgid; /* PostgreSQL: idpath when given (pg_meta.c), the writer's open only */
    void *store; /* memory */
    backend *w;  /* the writer's connection */
    backend *readers[READERS_MAX];
    uint32_t nreaders;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t work, done_cond;
    jreq *head, *tail;
    uint64_t enq, done;
    bool quit;
    troupe_journal_stats st;
    troupe_journal_metrics m; /* the histograms and recoveries (jmetrics.c), under lock */
    char err[BACKEND_ERR_MAX];
    struct batch *b; /* the writer's */
    /* the deferred sync (jsync.c), when j->w->deferred_sync: batches
     * committed and not yet synced (in commit order), the spare batch, the
     * requests handled since the last hand-over (the writer's) */
    pthread_t syncer;
    bool syncer_on, sync_quit;
    pthread_cond_t sync_work, sync_free;
    struct batch *sync_head, *sync_tail, *spare;
    uint64_t pending_done;
    /* release in journal_guard_table, acquire in journal.c's append:
     * the map is fully built before the writer can see it; set once */
    _Atomic(jguards *) guards;
};

/* jmetrics.c: one commit attempt of n events that took ns (lock held) */
#define journal_count_commit troupei_journal_count_commit
void journal_count_commit(troupe_journal *j, int rc, size_t n, uint64_t ns);

/* journal.c */
int journal_open_backend(troupe_journal *j, backend **out, char *err);
void *journal_writer_main(void *arg);
/* the writer's batch, empty (NULL: out of memory) */
struct batch *journal_batch_new(void);
/* close every connection, free j (its writer is not running) */
void journal_free(troupe_journal *j);
#define journal_finish troupei_journal_finish
#define journal_done troupei_journal_done
/* count the commit of b, answer its events with rc, wake their actors,
 * empty b (the writer's thread, or the syncer's for a deferred sync) */
void journal_finish(troupe_journal *j, batch *b, int rc, size_t fenced, const char *err,
                    uint64_t ns);
/* requests handled: done += n, and flush waiters told */
void journal_done(troupe_journal *j, uint64_t n);

/* jsync.c: the syncer of a journal whose writer defers its syncs */
#define jsync_start troupei_jsync_start
#define jsync_stop troupei_jsync_stop
#define jsync_push troupei_jsync_push
/* the spare batch and the thread (j->w is open): 0 or a TROUPE_E* code */
int jsync_start(troupe_journal *j);
/* the syncer drains what is queued and ends (the writer has ended) */
void jsync_stop(troupe_journal *j);
/* hand j->b, appended with answer rc, to the syncer; j->b becomes the
 * spare batch once the syncer has freed one (the writer's thread) */
void jsync_push(troupe_journal *j, int rc, size_t fenced, const char *err, uint64_t t0);

#endif
