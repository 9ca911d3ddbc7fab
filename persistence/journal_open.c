/* persistence/journal_open.c — opening a journal (include/troupe/persist.h):
 * memory, SQLite or PostgreSQL, its writer's connection and thread; why
 * an open failed, per thread (troupe_journal_open_error). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "persistence/journal_int.h"
#include "troupe_config.h" /* TROUPE_HAVE_SQLITE, TROUPE_HAVE_POSTGRES */

/* Why the calling thread's last troupe_journal_open_* failed ("" after
 * one that succeeded): the journal and its own text die with the failure,
 * so the text is kept here for troupe_journal_open_error. Thread-local, as
 * errno: an open on another thread does not overwrite it. */
static _Thread_local char open_err[BACKEND_ERR_MAX];

static int open_failed(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int open_failed(int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(open_err, sizeof open_err, fmt, ap);
    va_end(ap);
    return rc;
}

/* The writer's connection, then its thread. */
static int journal_start(troupe_journal *j, troupe_journal **out)
{
    int rc = journal_open_backend(j, &j->w, j->err);
    j->sq.idfile = NULL; /* the readers' connections: the writer checked it */
    j->sq.defer_sync = 0; /* and they append nothing */
    j->pgid = NULL;
    int srs = 0;
    if (rc == 0 && !(j->b = journal_batch_new())) /* n = 0 */
        rc = open_failed(TROUPE_ENOMEM, "journal: out of memory");
    else if (rc == 0 && (srs = jsync_start(j)) != 0)
        rc = open_failed(srs, "journal: cannot start the syncer (%s)", troupe_strerror(srs));
    else if (rc == 0 && pthread_create(&j->thread, NULL, journal_writer_main, j) != 0)
        rc = open_failed(TROUPE_ESYS, "journal: cannot start the writer thread");
    else if (rc)
        open_failed(rc, "%s", j->err[0] ? j->err : troupe_strerror(rc));
    if (rc) {
        jsync_stop(j);
        journal_free(j);
        return rc;
    }
    open_err[0] = '\0';
    *out = j;
    return 0;
}

TROUPE_API int troupe_journal_open_error(char *buf, size_t cap)
{
    if (!buf || !cap)
        return TROUPE_EINVAL;
    snprintf(buf, cap, "%s", open_err);
    return 0;
}

static troupe_journal *journal_new(int kind)
{
    troupe_journal *j = sys_calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->kind = kind;
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->work, NULL);
    pthread_cond_init(&j->done_cond, NULL);
    pthread_cond_init(&j->sync_work, NULL);
    pthread_cond_init(&j->sync_free, NULL);
    return j;
}

TROUPE_API int troupe_journal_open_memory(troupe_journal **out)
{
    if (!out)
        return open_failed(TROUPE_EINVAL, "troupe_journal_open_memory: out is NULL");
    *out = NULL;
    troupe_journal *j = journal_new(JK_MEMORY);
    if (!j)
        return open_failed(TROUPE_ENOMEM, "journal: out of memory");
    if (!(j->store = backend_memory_store_new())) {
        journal_free(j);
        return open_failed(TROUPE_ENOMEM, "journal: out of memory");
    }
    return journal_start(j, out);
}

TROUPE_API int troupe_journal_open_sqlite(const char *dir, troupe_sqlite_sync sync,
                                          troupe_journal **out)
{
    if (!out || !dir || !*dir || (sync != TROUPE_SQLITE_FULL && sync != TROUPE_SQLITE_NORMAL))
        return open_failed(TROUPE_EINVAL, "troupe_journal_open_sqlite: %s",
                           !out ? "out is NULL" : !dir || !*dir ? "no directory" : "bad sync mode");
    *out = NULL;
    if (!TROUPE_HAVE_SQLITE) /* before the mkdir: a build without it leaves nothing behind */
        return open_failed(TROUPE_ENOTSUP, "journal: SQLite is not built into this library"
                                           " (-Dpersistence-sqlite=disabled)");
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return open_failed(TROUPE_EIO, "journal: cannot create the directory %s: %s", dir,
                           strerror(errno));
    troupe_journal *j = journal_new(JK_SQLITE);
    if (!j)
        return open_failed(TROUPE_ENOMEM, "journal: out of memory");
    size_t n = strlen(dir) + sizeof "/journal.db";
    if (!(j->path = sys_malloc(n))) {
        journal_free(j);
        return open_failed(TROUPE_ENOMEM, "journal: out of memory");
    }
    snprintf(j->path, n, "%s/journal.db", dir);
    if (!(j->idpath = sys_malloc(n))) {
        journal_free(j);
        return open_failed(TROUPE_ENOMEM, "journal: out of memory");
    }
    snprintf(j->idpath, n, "%s/journal.id", dir); /* as long as journal.db */
    /* FULL: the writer syncs in a thread of its own (jsync.c) */
    j->sq = (sqlite_opts){.path = j->path, .sync_full = sync == TROUPE_SQLITE_FULL,
                          .idfile = j->idpath, .defer_sync = 1};
    return journal_start(j, out);
}

TROUPE_API int troupe_journal_open_postgres(const char *conninfo, troupe_journal **out)
{
    if (!out || !conninfo)
        return open_failed(TROUPE_EINVAL, "troupe_journal_open_postgres: %s is NULL",
                           !out ? "out" : "conninfo");
    return troupe_journal_open_postgres_id(conninfo, NULL, out);
}

TROUPE_API int troupe_journal_open_postgres_id(const char *conninfo, const char *idfile,
                                               troupe_journal **out)
{
    if (!out || !conninfo || (idfile && !*idfile))
        return open_failed(TROUPE_EINVAL, "troupe_journal_open_postgres_id: %s",
                           !out ? "out is NULL" : !conninfo ? "conninfo is NULL" : "idfile is empty");
    *out = NULL;
    if (!TROUPE_HAVE_POSTGRES)
        return open_failed(TROUPE_ENOTSUP, "journal: PostgreSQL is not built into this library"
                                           " (-Dpersistence-postgres=disabled)");
    troupe_journal *j = journal_new(JK_PG);
    if (!j)
        return open_failed(TROUPE_ENOMEM, "journal: out of memory");
    if (!(j->conninfo = sys_strdup(conninfo)) || (idfile && !(j->idpath = sys_strdup(idfile)))) {
        journal_free(j);
        return open_failed(TROUPE_ENOMEM, "journal: out of memory");
    }
    j->pgid = j->idpath;
    return journal_start(j, out);
}
