/* persistence/sqlite_int.h — what sqlite.c (open, append, errors) and
 * sqlite_rows.c (reading rows back, snapshots) share. */
#ifndef TROUPE_PERSISTENCE_SQLITE_INT_H
#define TROUPE_PERSISTENCE_SQLITE_INT_H

#include <sqlite3.h>

#include "persistence/backend.h"

/* The prepared statements, kept for the connection's life. */
enum {
    SQ_BEGIN, SQ_COMMIT, SQ_ROLLBACK, SQ_INSERT, SQ_READ, SQ_LAST,
    SQ_SNAP_SAVE, SQ_SNAP_PRUNE, SQ_SNAP_LOAD, SQ_DELETE, SQ_HWM_SET, SQ_HWM_GET, SQ_COUNT
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

/* sqlite_meta.c: the journal's identity and the per-id high-water marks.
 * (Link names here rather than in base/namespace.h: only this backend uses
 * them.) */
#define sq_meta_schema troupei_sq_meta_schema
#define sq_hwm_set_sql troupei_sq_hwm_set_sql
#define sq_hwm_get_sql troupei_sq_hwm_get_sql
#define sq_identity_check troupei_sq_identity_check
#define sq_identity_settle troupei_sq_identity_settle
#define sq_high_water troupei_sq_high_water
#define sq_hwm_raise troupei_sq_hwm_raise
/* Tables and statements of the meta and high-water tables. */
extern const char sq_meta_schema[];
extern const char sq_hwm_set_sql[], sq_hwm_get_sql[];
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
