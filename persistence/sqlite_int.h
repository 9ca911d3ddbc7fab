/* persistence/sqlite_int.h — what sqlite.c (open, append, errors) and
 * sqlite_rows.c (reading rows back, snapshots) share. */
#ifndef TROUPE_PERSISTENCE_SQLITE_INT_H
#define TROUPE_PERSISTENCE_SQLITE_INT_H

#include <sqlite3.h>

#include "persistence/backend.h"

/* The prepared statements, kept for the connection's life. */
enum {
    SQ_BEGIN, SQ_COMMIT, SQ_ROLLBACK, SQ_INSERT, SQ_READ, SQ_LAST,
    SQ_SNAP_SAVE, SQ_SNAP_PRUNE, SQ_SNAP_LOAD, SQ_DELETE, SQ_COUNT
};

typedef struct sqb {
    backend base;
    sqlite3 *db;
    char *path;
    sqlite3_stmt *st[SQ_COUNT];
} sqb;

/* The troupe code of an SQLite result code, with the text into err. */
int sq_fail(sqb *s, int rc, const char *op, char *err);
/* Step a statement that returns no rows, reset it: 0 or sq_fail's code. */
int sq_exec(sqb *s, int st, const char *op, char *err);
/* Roll back the open transaction, if SQLite has not already. */
void sq_abort(sqb *s);
/* Bind a row's five columns (pid, seq, schema, data, its checksum). */
int sq_bind_row(sqb *s, int st, const char *pid, uint64_t seq, uint32_t schema,
                const void *data, size_t len);

/* sqlite_rows.c: the ops that read rows back, and snapshots. */
int sq_read(backend *b, const char *pid, uint64_t after, pevent_fn fn, void *ud, char *err);
int sq_save_snapshot(backend *b, const char *pid, uint64_t seq, uint32_t schema,
                     const void *data, size_t len, char *err);
int sq_load_snapshot(backend *b, const char *pid, int *found, uint64_t *seq, uint32_t *schema,
                     void **data, size_t *len, char *err);

#endif
