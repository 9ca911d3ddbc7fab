/* persistence/sqlite_log.c — the layout of SQLite's events, built for
 * group commit (docs/PERFORMANCE.md, "Issue 18: group commit").
 *
 * Events are a rowid table in commit order: a transaction appends its rows
 * at the one tail of one B-tree (two or three dirty pages), whatever the
 * number of actors in it. Finding an actor's events by (pid, seq) goes
 * through events_idx, a WITHOUT ROWID table (pid, seq) -> rowid that is NOT
 * written by appends: a compacting pass adds every row past the mark
 * (troupe_meta 'indexed_upto') at once, sorted, when the tail holds
 * SQ_TAIL_ROWS rows and when the writer closes. Many events of one actor
 * then share each index leaf written, where the clustered (pid, seq) table
 * of the first layout wrote one leaf per actor per transaction. Reads merge
 * the indexed rows with a scan of the tail (rowid > mark), which stays
 * short. The compaction is one transaction of its own: a crash before its
 * commit leaves the rows in the tail, where reads find them.
 *
 * The first layout (events clustered on (pid, seq), WITHOUT ROWID) is
 * migrated by the first writable open, in one transaction; a read-only
 * open of such a file reads it as it is (sq_v1_sql).
 */
#include "persistence/sqlite_int.h"

#include <string.h>

/* Rows past the mark before the writer indexes them: long enough that an
 * index leaf takes many events per write, short enough that the scan a
 * read does of the tail stays well under 1 ms (a snapshot recovery pays it). */
#define SQ_TAIL_ROWS 4096

#define SQ_EVENTS_TABLE                                                                        \
    "CREATE TABLE IF NOT EXISTS events(pid TEXT NOT NULL, seq INTEGER NOT NULL,"               \
    " schema INTEGER NOT NULL, data BLOB NOT NULL, crc INTEGER NOT NULL);"                      \
    "CREATE TABLE IF NOT EXISTS events_idx(pid TEXT NOT NULL, seq INTEGER NOT NULL,"           \
    " rid INTEGER NOT NULL, PRIMARY KEY(pid, seq)) WITHOUT ROWID;"
#define SQ_SNAPS_TABLE                                                                         \
    "CREATE TABLE IF NOT EXISTS snapshots(pid TEXT NOT NULL, seq INTEGER NOT NULL,"            \
    " schema INTEGER NOT NULL, data BLOB NOT NULL, crc INTEGER NOT NULL,"                      \
    " PRIMARY KEY(pid, seq));"

const char sq_schema[] = SQ_EVENTS_TABLE SQ_SNAPS_TABLE;
const char sq_schema_v1[] =
    "CREATE TABLE IF NOT EXISTS events(pid TEXT NOT NULL, seq INTEGER NOT NULL,"
    " schema INTEGER NOT NULL, data BLOB NOT NULL, crc INTEGER NOT NULL,"
    " PRIMARY KEY(pid, seq)) WITHOUT ROWID;" SQ_SNAPS_TABLE;

/* One transaction: a crash leaves the old table or the new one, whole. */
static const char sq_migrate_sql[] =
    "BEGIN IMMEDIATE;"
    "ALTER TABLE events RENAME TO events_v1;" SQ_EVENTS_TABLE
    "INSERT INTO events(pid, seq, schema, data, crc)"
    " SELECT pid, seq, schema, data, crc FROM events_v1 ORDER BY pid, seq;"
    "INSERT OR IGNORE INTO events_idx(pid, seq, rid) SELECT pid, seq, rowid FROM events;"
    "INSERT OR REPLACE INTO troupe_meta(key, value)"
    " VALUES('indexed_upto', (SELECT ifnull(max(rowid), 0) FROM events));"
    /* duplicates are now refused against the marks: a journal older than
     * them gets them here (raised, never lowered) */
    "INSERT INTO troupe_hwm(pid, seq) SELECT pid, max(seq) FROM events GROUP BY pid"
    " ON CONFLICT(pid) DO UPDATE SET seq = max(seq, excluded.seq);"
    "DROP TABLE events_v1;"
    "COMMIT";

/* Is events of the first layout (clustered, WITHOUT ROWID)? 1 yes, 0 no
 * (or no table yet), negative on error. */
static int sq_is_v1(sqb *s, char *err)
{
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(s->db, "SELECT sql FROM sqlite_master WHERE type = 'table'"
                                       " AND name = 'events'", -1, &q, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(s, rc, "open (reading the layout)", err);
    int v1 = 0;
    if ((rc = sqlite3_step(q)) == SQLITE_ROW && sqlite3_column_text(q, 0))
        v1 = strstr((const char *)sqlite3_column_text(q, 0), "WITHOUT ROWID") != NULL;
    sqlite3_finalize(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? v1 : sq_fail(s, rc, "open (layout)", err);
}

int sq_layout(sqb *s, int readonly, char *err)
{
    int v1 = sq_is_v1(s, err);
    if (v1 <= 0)
        return v1;
    if (readonly) { /* read as it is: a read-only file cannot be rewritten */
        s->v1 = 1;
        return 0;
    }
    int rc = sqlite3_exec(s->db, sq_migrate_sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        sq_abort(s);
        return sq_fail(s, rc, "open (moving the events to the append-order layout)", err);
    }
    return 0;
}

/* s->mark and the highest rowid, from the database. */
int sq_load_mark(sqb *s, char *err)
{
    sqlite3_stmt *q = s->st[SQ_GET_MARK];
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        s->mark = sqlite3_column_int64(q, 0);
        s->last_rid = sqlite3_column_int64(q, 1);
        rc = 0;
    } else
        rc = sq_fail(s, rc, "reading the index mark", err);
    sqlite3_reset(q);
    return rc;
}

/* Index every row past the mark, in one transaction. */
int sq_compact(sqb *s, char *err)
{
    int rc = sq_exec(s, SQ_BEGIN, "compact", err);
    if (rc < 0)
        return rc;
    rc = sq_exec(s, SQ_COMPACT_IDX, "compact", err);
    if (rc == 0)
        rc = sq_exec(s, SQ_COMPACT_MARK, "compact", err);
    if (rc == 0)
        rc = sq_exec(s, SQ_COMMIT, "compact", err);
    if (rc < 0)
        sq_abort(s);
    return rc < 0 ? rc : sq_load_mark(s, err);
}

/* After a commit: index the tail once it is long. A failure leaves the
 * rows in the tail, where reads still find them; the next append retries.
 * The batch is durable already, so it is not the append's failure. */
void sq_compact_maybe(sqb *s)
{
    if (s->last_rid - s->mark >= SQ_TAIL_ROWS)
        (void)sq_compact(s, NULL);
}

/* The mark of pid before this run (0: none). */
static int sq_mark_of(sqb *s, const char *pid, uint64_t *mark)
{
    sqlite3_stmt *q = s->st[SQ_MARK_OF];
    int rc = sqlite3_bind_text(q, 1, pid, -1, SQLITE_STATIC);
    *mark = 0;
    if (rc == SQLITE_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        sqlite3_int64 v = sqlite3_column_int64(q, 0);
        *mark = v > 0 ? (uint64_t)v : 0;
        rc = SQLITE_DONE;
    }
    sqlite3_reset(q);
    return rc;
}

/* An event at or under its id's mark may be stored already (the table
 * no longer refuses a duplicate key itself): TROUPE_EEXIST if it is. */
static int sq_check_dup(sqb *s, const pevent *e, char *err)
{
    sqlite3_stmt *q = s->st[SQ_EXISTS];
    int rc = sqlite3_bind_text(q, 1, e->pid, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(q, 2, (sqlite3_int64)e->seq);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc == SQLITE_ROW) {
        backend_errf(err, "sqlite append: %s seq %llu is stored already (%s)", e->pid,
                     (unsigned long long)e->seq, s->path);
        return TROUPE_EEXIST;
    }
    return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "append (duplicate check)", err);
}

static int sq_insert_one(sqb *s, const pevent *e, char *err)
{
    sqlite3_stmt *q = s->st[SQ_INSERT];
    int rc = sq_bind_row(s, SQ_INSERT, e->pid, e->seq, e->schema, e->data, e->len);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(q, 6, ++s->last_rid);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "append", err);
}

/* n events of one id: each checked against the mark, inserted, then the
 * mark raised once (it commits with the events or not at all). */
static int sq_insert_run(sqb *s, const pevent *ev, size_t n, char *err)
{
    uint64_t mark;
    int rc = sq_mark_of(s, ev[0].pid, &mark);
    if (rc != SQLITE_DONE)
        return sq_fail(s, rc, "append (high-water mark)", err);
    for (size_t i = 0; i < n; i++) {
        if (ev[i].seq <= mark && (rc = sq_check_dup(s, &ev[i], err)) < 0)
            return rc;
        if ((rc = sq_insert_one(s, &ev[i], err)) < 0)
            return rc;
        if (ev[i].seq > mark)
            mark = ev[i].seq;
    }
    if ((rc = sq_hwm_raise(s, ev[0].pid, mark)) != SQLITE_DONE)
        return sq_fail(s, rc, "append (high-water mark)", err);
    return 0;
}

int sq_insert_all(sqb *s, const pevent *ev, size_t n, char *err)
{
    /* rowids from above both the mark and every row, read in this
     * transaction (another connection may have written or deleted rows) */
    int code = sq_load_mark(s, err);
    if (code < 0)
        return code;
    if (s->last_rid < s->mark)
        s->last_rid = s->mark;
    for (size_t i = 0, end; i < n; i = end) {
        for (end = i + 1; end < n && strcmp(ev[end].pid, ev[i].pid) == 0; end++)
            ;
        int rc = sq_insert_run(s, ev + i, end - i, err);
        if (rc < 0)
            return rc;
    }
    s->appended = 1;
    return 0;
}
