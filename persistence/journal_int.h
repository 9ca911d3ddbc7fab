/* persistence/journal_int.h — what journal.c (the writer, group commit,
 * guards) and journal_open.c (opening a journal) share. */
#ifndef TROUPE_PERSISTENCE_JOURNAL_INT_H
#define TROUPE_PERSISTENCE_JOURNAL_INT_H

#include <stdatomic.h>

#include "persistence/jguard.h"
#include "persistence/pers.h"

#define READERS_MAX 8

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

#endif
