/* persistence/sqlite_rows.c — reading events and snapshots back from
 * SQLite, each row checked before anyone sees it: every column of the
 * type it was written with, then the checksum. A row that fails either is
 * TROUPE_ECORRUPT naming its id and seq, and the read stops there. */
#include "persistence/sqlite_int.h"

#include <stdlib.h>
#include <string.h>

#include "persistence/checksum.h"

/* Types first: sqlite3_column_type means nothing after a conversion. */
static int sq_types_ok(sqlite3_stmt *q)
{
    return sqlite3_column_type(q, 0) == SQLITE_INTEGER &&
           sqlite3_column_type(q, 1) == SQLITE_INTEGER &&
           sqlite3_column_type(q, 2) == SQLITE_BLOB && sqlite3_column_type(q, 3) == SQLITE_INTEGER;
}

/* Decode the current row of q (seq, schema, data, crc) into r. */
static int sq_decode(sqb *s, sqlite3_stmt *q, const char *pid, const char *what, prow *r,
                     char *err)
{
    int typed = sq_types_ok(q);
    sqlite3_int64 seq = sqlite3_column_int64(q, 0), schema = sqlite3_column_int64(q, 1);
    r->data = sqlite3_column_blob(q, 2);
    r->len = (size_t)sqlite3_column_bytes(q, 2);
    sqlite3_int64 crc = sqlite3_column_int64(q, 3);
    if (!typed || seq <= 0 || schema < 0 || schema > UINT32_MAX) {
        backend_errf(err, "sqlite: %s %s seq %lld: a column is NULL or of the wrong type (%s)",
                     what, pid, (long long)seq, s->path);
        return TROUPE_ECORRUPT;
    }
    r->seq = (uint64_t)seq;
    r->schema = (uint32_t)schema;
    if (!r->data)
        r->data = ""; /* SQLite answers NULL for an empty blob */
    if (backend_crc(pid, r->seq, r->schema, r->data, r->len) != (uint64_t)crc) {
        backend_errf(err, "sqlite: %s %s seq %lld: checksum mismatch (%s)", what, pid,
                     (long long)seq, s->path);
        return TROUPE_ECORRUPT;
    }
    return 0;
}

/* Column 4: the row is the one its index entry names. The table has no
 * key of its own (rows in commit order, sqlite_log.c): a second row of one
 * seq, which troupe never writes, must be refused here (*last: the seq
 * handed up before, or the read's `after`). */
static int sq_row_placed(sqb *s, sqlite3_stmt *q, const char *pid, const prow *r,
                         uint64_t *last, char *err)
{
    if (sqlite3_column_int(q, 4) != 1) {
        backend_errf(err, "sqlite: event %s seq %llu: the row no longer matches its index"
                          " entry (%s)", pid, (unsigned long long)r->seq, s->path);
        return TROUPE_ECORRUPT;
    }
    if (r->seq <= *last) {
        backend_errf(err, "sqlite: event %s seq %llu: a second row of that seq, or out of order"
                          " after seq %llu (%s)", pid, (unsigned long long)r->seq,
                     (unsigned long long)*last, s->path);
        return TROUPE_ECORRUPT;
    }
    *last = r->seq;
    return 0;
}

/* Step statement st (bound already) to its end, each row to fn. */
static int sq_read_rows(sqb *s, int st, const char *pid, uint64_t *last, pevent_fn fn, void *ud,
                        char *err)
{
    sqlite3_stmt *q = s->st[st];
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        prow r;
        int code = sq_decode(s, q, pid, "event", &r, err);
        if (code == 0)
            code = sq_row_placed(s, q, pid, &r, last, err);
        if (code == 0)
            code = fn(ud, r.seq, r.schema, r.data, r.len);
        if (code < 0)
            return code;
    }
    return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "read", err);
}

/* Bind pid, after (and below) to statement st; reset it after the run:
 * a statement left open pins its WAL snapshot and keeps checkpoints from
 * finishing. */
static int sq_read_step(sqb *s, int st, const char *pid, uint64_t after, sqlite3_int64 below,
                        uint64_t *last, pevent_fn fn, void *ud, char *err)
{
    sqlite3_stmt *q = s->st[st];
    sqlite3_bind_text(q, 1, pid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)after);
    if (st == SQ_READ_IDX)
        sqlite3_bind_int64(q, 3, below);
    int rc = sq_read_rows(s, st, pid, last, fn, ud, err);
    sqlite3_reset(q);
    return rc;
}

/* The lowest seq > after of pid in the tail (INT64_MAX: none). */
static int sq_tail_min(sqb *s, const char *pid, uint64_t after, sqlite3_int64 *min, char *err)
{
    sqlite3_stmt *q = s->st[SQ_TAIL_MIN];
    sqlite3_bind_text(q, 1, pid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)after);
    int rc = sqlite3_step(q);
    *min = INT64_MAX;
    if (rc == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL)
        *min = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return rc == SQLITE_ROW ? 0 : sq_fail(s, rc, "read", err);
}

/* The indexed rows below the tail's lowest seq stream straight from the
 * index (the common case: all of them); from there on, one merge of the
 * index and the tail (a merge costs twice the plain scan per row). */
static int sq_read_all(sqb *s, const char *pid, uint64_t after, pevent_fn fn, void *ud,
                       char *err)
{
    sqlite3_int64 min;
    uint64_t last = after;
    int rc = sq_tail_min(s, pid, after, &min, err);
    if (rc == 0)
        rc = sq_read_step(s, SQ_READ_IDX, pid, after, min, &last, fn, ud, err);
    if (rc == 0 && min != INT64_MAX)
        rc = sq_read_step(s, SQ_READ, pid, (uint64_t)min - 1, 0, &last, fn, ud, err);
    return rc;
}

int sq_read(backend *b, const char *pid, uint64_t after, pevent_fn fn, void *ud, char *err)
{
    int rc = backend_check_pid(b, pid, err);
    if (rc == 0 && !fn) {
        backend_errf(err, "sqlite read: fn is NULL");
        rc = TROUPE_EINVAL;
    }
    if (rc < 0 || after >= (uint64_t)INT64_MAX)
        return rc;
    sqb *s = (sqb *)b;
    /* one snapshot for the three statements: a compaction in between
     * would otherwise move rows from the tail past the index's read */
    int own = sqlite3_get_autocommit(s->db);
    if (own && (rc = sq_exec(s, SQ_BEGIN_READ, "read", err)) < 0)
        return rc;
    rc = sq_read_all(s, pid, after, fn, ud, err);
    if (own)
        (void)sq_exec(s, SQ_END_READ, "read", NULL);
    return rc;
}

int sq_save_snapshot(backend *b, const char *pid, uint64_t seq, uint32_t schema,
                     const void *data, size_t len, char *err)
{
    int rc = backend_check_row(b, pid, seq, data, len, err);
    if (rc < 0)
        return rc;
    sqb *s = (sqb *)b;
    if ((rc = sq_exec(s, SQ_BEGIN, "save_snapshot", err)) < 0)
        return rc;
    rc = sq_bind_row(s, SQ_SNAP_SAVE, pid, seq, schema, data, len);
    rc = rc == SQLITE_OK ? sq_exec(s, SQ_SNAP_SAVE, "save_snapshot", err)
                         : sq_fail(s, rc, "save_snapshot", err);
    if (rc == 0) { /* older snapshots are of no use once this one is in */
        sqlite3_bind_text(s->st[SQ_SNAP_PRUNE], 1, pid, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s->st[SQ_SNAP_PRUNE], 2, (sqlite3_int64)seq);
        rc = sq_exec(s, SQ_SNAP_PRUNE, "save_snapshot", err);
    }
    if (rc == 0)
        rc = sq_exec(s, SQ_COMMIT, "save_snapshot", err);
    if (rc < 0)
        sq_abort(s);
    return rc;
}

int sq_load_snapshot(backend *b, const char *pid, int *found, uint64_t *seq, uint32_t *schema,
                     void **data, size_t *len, char *err)
{
    int rc = backend_check_pid(b, pid, err);
    if (rc < 0 || !found || !seq || !schema || !data || !len)
        return rc < 0 ? rc : TROUPE_EINVAL;
    sqb *s = (sqb *)b;
    sqlite3_stmt *q = s->st[SQ_SNAP_LOAD];
    *found = 0;
    sqlite3_bind_text(q, 1, pid, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    prow r;
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc != SQLITE_ROW)
        rc = sq_fail(s, rc, "load_snapshot", err);
    else if ((rc = sq_decode(s, q, pid, "snapshot of", &r, err)) == 0) {
        if ((rc = backend_take(&r, seq, schema, data, len)) < 0)
            backend_errf(err, "sqlite load_snapshot: out of memory (%s, %zu bytes)", pid, r.len);
        *found = rc == 0;
    }
    sqlite3_reset(q);
    return rc;
}
