/* persistence/sqlite_int.h — what sqlite.c (open, append, errors) and
 * sqlite_rows.c (reading rows back, snapshots) share. */
#ifndef TROUPE_PERSISTENCE_SQLITE_INT_H
#define TROUPE_PERSISTENCE_SQLITE_INT_H

#include <sqlite3.h>

#include "persistence/backend.h"

/* The prepared statements, kept for the connection's life. */
enum {
    SQ_BEGIN, SQ_COMMIT, SQ_ROLLBACK, SQ_INSERT, SQ_READ, SQ_LAST,
    SQ_SNAP_SAVE, SQ_SNAP_PRUNE, SQ_SNAP_LOAD, SQ_DELETE, SQ_HWM_SET, SQ_HWM_GET,
    /* the append-order layout (sqlite_log.c); from SQ_HWM_SET on, a
     * read-only file of an older version may lack their tables */
    SQ_MARK_OF, SQ_EXISTS, SQ_DEL_IDX, SQ_DEL_TAIL, SQ_COMPACT_IDX, SQ_COMPACT_MARK, SQ_GET_MARK,
    SQ_BEGIN_READ, SQ_END_READ, SQ_TAIL_MIN, SQ_READ_IDX,
    SQ_COUNT
};

typedef struct sqb {
    backend base;
    sqlite3 *db;
    char *path;
    sqlite3_stmt *st[SQ_COUNT];
    int v1;                /* a read-only file of the first layout */
    int appended;          /* this connection appended: index the tail at close */
    sqlite3_int64 mark;    /* rows up to this rowid are in events_idx */
    sqlite3_int64 last_rid;
    int walfd;             /* the -wal file, for sq_sync (the syncer's only); -1: not open */
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

/* sqlite_log.c: the append-order layout of the events. */
#define sq_schema troupei_sq_schema
#define sq_schema_v1 troupei_sq_schema_v1
#define sq_layout troupei_sq_layout
#define sq_load_mark troupei_sq_load_mark
#define sq_compact troupei_sq_compact
#define sq_compact_maybe troupei_sq_compact_maybe
#define sq_insert_all troupei_sq_insert_all
/* The tables of a journal, and of a read-only file of the first layout. */
extern const char sq_schema[], sq_schema_v1[];
/* Before the tables are created: a writable open moves a journal of the
 * first layout to the append-order one (one transaction); a read-only one
 * sets s->v1 and reads it as it is. */
int sq_layout(sqb *s, int readonly, char *err);
/* s->mark and s->last_rid from the database. */
int sq_load_mark(sqb *s, char *err);
/* Index every row of the tail (one transaction of its own). */
int sq_compact(sqb *s, char *err);
/* After a commit: sq_compact once the tail is long (a failure leaves the
 * rows in the tail, where reads find them). */
void sq_compact_maybe(sqb *s);
/* Insert a batch inside the open transaction: each event checked against
 * its id's mark (TROUPE_EEXIST when stored already), the marks raised. */
int sq_insert_all(sqb *s, const pevent *ev, size_t n, char *err);

/* sqlite_rows.c: the ops that read rows back, and snapshots. */
int sq_read(backend *b, const char *pid, uint64_t after, pevent_fn fn, void *ud, char *err);
int sq_save_snapshot(backend *b, const char *pid, uint64_t seq, uint32_t schema,
                     const void *data, size_t len, char *err);
int sq_load_snapshot(backend *b, const char *pid, int *found, uint64_t *seq, uint32_t *schema,
                     void **data, size_t *len, char *err);

/* sqlite_meta.c: the journal's identity and the per-id high-water marks.
 * (Link names here rather than in base/namespace.h: only this backend uses
 * them.) */
#define sq_meta_schema troupei_sq_meta_schema
#define sq_hwm_set_sql troupei_sq_hwm_set_sql
#define sq_hwm_get_sql troupei_sq_hwm_get_sql
#define sq_hwm_get_sql_v1 troupei_sq_hwm_get_sql_v1
#define sq_identity_check troupei_sq_identity_check
#define sq_identity_settle troupei_sq_identity_settle
#define sq_high_water troupei_sq_high_water
#define sq_hwm_raise troupei_sq_hwm_raise
/* Tables and statements of the meta and high-water tables. */
extern const char sq_meta_schema[];
extern const char sq_hwm_set_sql[], sq_hwm_get_sql[], sq_hwm_get_sql_v1[];
/* Before the tables are created (opts->idfile set, not read-only): the
 * open fails (TROUPE_ECORRUPT, why in err) if the sidecar names a journal
 * this file is not, or one of its tables is gone. *had: the tables that
 * existed (SQT_* bits). */
enum { SQT_EVENTS = 1, SQT_SNAPS = 2, SQT_META = 4, SQT_HWM = 8 };
int sq_identity_check(sqb *s, const sqlite_opts *o, int *had, char *err);
/* After: give a new journal its id, rebuild a missing high-water table
 * from the rows, write the sidecar when it is missing. */
int sq_identity_settle(sqb *s, const sqlite_opts *o, int had, char *err);
int sq_high_water(backend *b, const char *pid, uint64_t *seq, char *err);
/* The high-water mark of pid raised to seq, inside the append's transaction. */
int sq_hwm_raise(sqb *s, const char *pid, uint64_t seq);

#endif
