/* persistence/sqlite.c — the SQLite backend: one database file, WAL (one
 * writer and any number of readers at once: recovery reads through its
 * own connection while the journal writer appends), synchronous FULL by
 * default (every commit fsynced: an acknowledged event survives a power
 * loss) or NORMAL (WAL's fsync at checkpoints only: may lose the last
 * transactions on power loss, never on a process crash).
 *
 * Every statement is prepared once at open and reset after use; a batch
 * is BEGIN IMMEDIATE, the one insert statement stepped n times, COMMIT —
 * one fsync per batch, which is what makes group commit pay. Events are
 * a rowid table in commit order with a (pid, seq) index built in bulk off
 * the commit path (sqlite_log.c says why): a replay is one ordered merge
 * of the indexed rows and the short tail. Snapshots, which can be large,
 * live in an ordinary table (SQLite advises rowid tables for big rows).
 */
#include "core/alloc.h"
#include "persistence/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "persistence/checksum.h"
#include "persistence/jid.h"
#include "persistence/sqlite_int.h"

/* A writer that finds the database locked (another process, a checkpoint)
 * retries for this long before the batch fails with EIO. */
#define SQ_BUSY_MS 5000

/* Where the tail starts: the rows up to the mark are in events_idx. Without
 * the mark's row (a journal not yet compacted, or one someone edited), the
 * highest rowid the index names. */
#define MARK                                                                                   \
    "coalesce((SELECT CAST(value AS INTEGER) FROM troupe_meta WHERE key = 'indexed_upto'),"    \
    " (SELECT max(rid) FROM events_idx), 0)"
/* An indexed row is the one its index entry names (ok = 1) unless someone
 * edited it; the tail's rows carry their own keys. */
#define IDX_ROWS                                                                               \
    " FROM events_idx i JOIN events e ON e.rowid = i.rid WHERE i.pid = ?1"
#define TAIL_ROWS " FROM events WHERE rowid > " MARK " AND pid = ?1"

static const char *const sq_sql[SQ_COUNT] = {
    [SQ_BEGIN] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    /* the rowid given, never SQLite's max + 1: after the rows at the end
     * were deleted that would reuse a rowid at or under the mark, where
     * neither the index nor the tail would find it */
    [SQ_INSERT] = "INSERT INTO events(rowid, pid, seq, schema, data, crc)"
                  " VALUES(?6, ?1, ?2, ?3, ?4, ?5)",
    /* one merge of two ordered streams (EXPLAIN: MERGE (UNION ALL)) */
    [SQ_READ] = "SELECT e.seq, e.schema, e.data, e.crc, e.pid = i.pid AND e.seq = i.seq, i.seq"
                IDX_ROWS " AND i.seq > ?2 UNION ALL SELECT seq, schema, data, crc, 1, seq"
                TAIL_ROWS " AND seq > ?2 ORDER BY 6",
    [SQ_LAST] = "SELECT max(ifnull((SELECT i.seq" IDX_ROWS " ORDER BY i.seq DESC LIMIT 1), 0),"
                " ifnull((SELECT max(seq)" TAIL_ROWS "), 0), ifnull((SELECT seq FROM snapshots"
                " WHERE pid = ?1 ORDER BY seq DESC LIMIT 1), 0))",
    [SQ_SNAP_SAVE] = "INSERT OR REPLACE INTO snapshots(pid, seq, schema, data, crc)"
                     " VALUES(?1, ?2, ?3, ?4, ?5)",
    [SQ_SNAP_PRUNE] = "DELETE FROM snapshots WHERE pid = ?1 AND seq < ?2",
    [SQ_SNAP_LOAD] = "SELECT seq, schema, data, crc FROM snapshots WHERE pid = ?1"
                     " ORDER BY seq DESC LIMIT 1",
    [SQ_DELETE] = "DELETE FROM events WHERE rowid IN (SELECT rid FROM events_idx"
                  " WHERE pid = ?1 AND seq <= ?2)",
    [SQ_HWM_SET] = sq_hwm_set_sql,
    [SQ_HWM_GET] = sq_hwm_get_sql,
    [SQ_MARK_OF] = "SELECT seq FROM troupe_hwm WHERE pid = ?1",
    [SQ_EXISTS] = "SELECT 1 FROM events_idx WHERE pid = ?1 AND seq = ?2 UNION ALL SELECT 1"
                  TAIL_ROWS " AND seq = ?2 LIMIT 1",
    [SQ_DEL_IDX] = "DELETE FROM events_idx WHERE pid = ?1 AND seq <= ?2",
    [SQ_DEL_TAIL] = "DELETE" TAIL_ROWS " AND seq <= ?2",
    [SQ_COMPACT_IDX] = "INSERT OR IGNORE INTO events_idx(pid, seq, rid) SELECT pid, seq, rowid"
                       " FROM events WHERE rowid > " MARK " ORDER BY pid, seq",
    [SQ_COMPACT_MARK] = "INSERT OR REPLACE INTO troupe_meta(key, value) VALUES('indexed_upto',"
                        " max(" MARK ", ifnull((SELECT max(rowid) FROM events), 0)))",
    [SQ_GET_MARK] = "SELECT " MARK ", ifnull((SELECT max(rowid) FROM events), 0)",
    /* a read: one snapshot for its statements (sqlite_rows.c) */
    [SQ_BEGIN_READ] = "BEGIN",
    [SQ_END_READ] = "COMMIT",
    [SQ_TAIL_MIN] = "SELECT min(seq)" TAIL_ROWS " AND seq > ?2",
    [SQ_READ_IDX] = "SELECT e.seq, e.schema, e.data, e.crc, e.pid = i.pid AND e.seq = i.seq"
                    IDX_ROWS " AND i.seq > ?2 AND i.seq < ?3 ORDER BY i.seq",
};

/* A read-only file of the first layout: events clustered on (pid, seq). */
static const char *const sq_sql_v1[SQ_COUNT] = {
    [SQ_READ] = "SELECT seq, schema, data, crc, 1 FROM events WHERE pid = ?1 AND seq > ?2"
                " ORDER BY seq",
    [SQ_LAST] = "SELECT max(ifnull((SELECT seq FROM events WHERE pid = ?1"
                " ORDER BY seq DESC LIMIT 1), 0), ifnull((SELECT seq FROM snapshots"
                " WHERE pid = ?1 ORDER BY seq DESC LIMIT 1), 0))",
    [SQ_INSERT] = "INSERT INTO events(pid, seq, schema, data, crc) VALUES(?1, ?2, ?3, ?4, ?5)",
    [SQ_DELETE] = "DELETE FROM events WHERE pid = ?1 AND seq <= ?2",
    [SQ_HWM_GET] = sq_hwm_get_sql_v1,
    [SQ_TAIL_MIN] = "SELECT NULL",
    [SQ_READ_IDX] = "SELECT seq, schema, data, crc, 1 FROM events WHERE pid = ?1 AND seq > ?2"
                    " AND seq < ?3 ORDER BY seq",
};

/* The text for an SQLite failure, and its troupe code: a full disk, a
 * failed write, a read-only file and a file that cannot be opened say so
 * first. (ENOSPC is SQLITE_FULL; a write the kernel refuses otherwise —
 * EFBIG, EIO — is SQLITE_IOERR_WRITE.) */
static int sq_code(int rc, const char **what)
{
    *what = "";
    switch (rc & 0xff) {
    case SQLITE_FULL: *what = "disk full: "; return TROUPE_EIO;
    case SQLITE_READONLY: *what = "read-only database: "; return TROUPE_EIO;
    case SQLITE_CANTOPEN: *what = "cannot open the database file: "; return TROUPE_EIO;
    case SQLITE_NOMEM: return TROUPE_ENOMEM;
    case SQLITE_CORRUPT: case SQLITE_NOTADB: *what = "corrupt database: "; return TROUPE_ECORRUPT;
    case SQLITE_CONSTRAINT: *what = "already stored: "; return TROUPE_EEXIST;
    case SQLITE_IOERR:
        if (rc == SQLITE_IOERR_WRITE || rc == SQLITE_IOERR_FSYNC || rc == SQLITE_IOERR_TRUNCATE)
            *what = "write failed (disk full or I/O error): ";
        return TROUPE_EIO;
    default: return TROUPE_EIO;
    }
}

int sq_fail(sqb *s, int rc, const char *op, char *err)
{
    const char *what;
    int code = sq_code(rc, &what);
    backend_errf(err, "sqlite %s: %s%s (%s)", op, what, sqlite3_errmsg(s->db), s->path);
    return code;
}

/* Step a statement that returns no rows, then reset it. */
int sq_exec(sqb *s, int st, const char *op, char *err)
{
    int rc = sqlite3_step(s->st[st]);
    int code = rc == SQLITE_DONE ? 0 : sq_fail(s, rc, op, err);
    sqlite3_reset(s->st[st]);
    return code;
}

/* After a failure inside BEGIN ... COMMIT: SQLite may have rolled back on
 * its own (a full disk does); otherwise we do, so that nothing of the
 * batch stays and the connection is usable for the next one. */
void sq_abort(sqb *s)
{
    if (!sqlite3_get_autocommit(s->db)) {
        sqlite3_step(s->st[SQ_ROLLBACK]);
        sqlite3_reset(s->st[SQ_ROLLBACK]);
    }
}

/* Bind pid, seq, schema, data, crc as ?1..?5 of statement st. */
int sq_bind_row(sqb *s, int st, const char *pid, uint64_t seq, uint32_t schema,
                const void *data, size_t len)
{
    sqlite3_stmt *q = s->st[st];
    uint32_t crc = backend_crc(pid, seq, schema, data, len);
    int rc = sqlite3_bind_text(q, 1, pid, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(q, 2, (sqlite3_int64)seq);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(q, 3, schema);
    /* never a NULL pointer: SQLite would store NULL, not an empty blob */
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_blob(q, 4, len ? data : "", (int)len, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(q, 5, crc);
    return rc;
}

static int sq_append(backend *b, const pevent *ev, size_t n, char *err)
{
    int rc = backend_check_events(b, ev, n, err);
    if (rc < 0 || n == 0)
        return rc;
    sqb *s = (sqb *)b;
    if ((rc = sq_exec(s, SQ_BEGIN, "append", err)) < 0)
        return rc;
    rc = sq_insert_all(s, ev, n, err);
    if (rc == 0)
        rc = sq_exec(s, SQ_COMMIT, "append", err);
    if (rc < 0)
        sq_abort(s);
    else
        sq_compact_maybe(s);
    return rc;
}

static int sq_last_seq(backend *b, const char *pid, uint64_t *seq, char *err)
{
    int rc = backend_check_pid(b, pid, err);
    if (rc < 0 || !seq)
        return rc < 0 ? rc : TROUPE_EINVAL;
    sqb *s = (sqb *)b;
    sqlite3_stmt *q = s->st[SQ_LAST];
    sqlite3_bind_text(q, 1, pid, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW && sqlite3_column_type(q, 0) == SQLITE_INTEGER &&
        sqlite3_column_int64(q, 0) >= 0) {
        *seq = (uint64_t)sqlite3_column_int64(q, 0);
        rc = 0;
    } else if (rc == SQLITE_ROW) {
        backend_errf(err, "sqlite last_seq: %s: a seq that is not a positive integer (%s)",
                     pid, s->path);
        rc = TROUPE_ECORRUPT;
    } else
        rc = sq_fail(s, rc, "last_seq", err);
    sqlite3_reset(q);
    return rc;
}

static int sq_delete_upto(backend *b, const char *pid, uint64_t upto, char *err)
{
    int rc = backend_check_pid(b, pid, err);
    if (rc < 0 || upto == 0)
        return rc;
    sqb *s = (sqb *)b;
    if (upto > (uint64_t)INT64_MAX)
        upto = INT64_MAX;
    /* the rows the index names, their entries, the tail's rows: together */
    if ((rc = sq_exec(s, SQ_BEGIN, "delete_upto", err)) < 0)
        return rc;
    static const int steps[] = {SQ_DELETE, SQ_DEL_IDX, SQ_DEL_TAIL, SQ_COMMIT};
    for (size_t i = 0; rc == 0 && i < sizeof steps / sizeof steps[0]; i++) {
        sqlite3_bind_text(s->st[steps[i]], 1, pid, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s->st[steps[i]], 2, (sqlite3_int64)upto);
        rc = sq_exec(s, steps[i], "delete_upto", err);
    }
    if (rc < 0)
        sq_abort(s);
    return rc;
}

/* The -wal file, opened at the first sync (the first commit made it;
 * ENOENT: nothing committed, nothing to sync), and its name made durable
 * once, as SQLite does for a WAL it creates. */
static int sq_wal_open(sqb *s, char *err)
{
    char wal[PATH_MAX];
    if (snprintf(wal, sizeof wal, "%s-wal", s->path) >= (int)sizeof wal) {
        backend_errf(err, "sqlite sync: path too long (%s)", s->path);
        return TROUPE_EINVAL;
    }
    int fd = open(wal, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0 || jid_sync_dir(wal) != 0) {
        backend_errf(err, "sqlite sync: %s (%s)", strerror(errno), wal);
        if (fd >= 0)
            close(fd);
        return TROUPE_EIO;
    }
    s->walfd = fd;
    return 0;
}

/* The writer commits with synchronous=NORMAL (sqlite_opts.defer_sync):
 * COMMIT writes its WAL frames, and this fdatasync of the WAL makes every
 * frame written before it durable, as FULL's sync inside COMMIT would.
 * SQLite rewrites the WAL from its start only after a checkpoint copied
 * every frame into the database, and NORMAL syncs a checkpoint (the WAL,
 * then the database): a frame overwritten before this sync is durable in
 * the database already. The WAL keeps its inode while the writer's
 * connection is open, so the descriptor stays the WAL's. */
static int sq_sync(backend *b, char *err)
{
    sqb *s = (sqb *)b;
    if (!b->deferred_sync)
        return 0; /* each commit synced itself */
    int rc = s->walfd < 0 ? sq_wal_open(s, err) : 0;
    if (rc < 0 || s->walfd < 0)
        return rc;
    if (fdatasync(s->walfd) != 0) {
        backend_errf(err, "sqlite sync: %s (%s-wal)", strerror(errno), s->path);
        return TROUPE_EIO;
    }
    return 0;
}

static void sq_close(backend *b)
{
    sqb *s = (sqb *)b;
    if (!s)
        return;
    /* a clean close leaves every row indexed: the next start reads no tail */
    if (s->appended && s->last_rid > s->mark)
        (void)sq_compact(s, NULL);
    for (int i = 0; i < SQ_COUNT; i++)
        sqlite3_finalize(s->st[i]);
    sqlite3_close_v2(s->db);
    if (s->walfd >= 0)
        close(s->walfd);
    free(s->path);
    free(s);
}

static const backend_ops sqlite_ops = {
    .name = "sqlite",
    .append = sq_append,
    .read = sq_read,
    .last_seq = sq_last_seq,
    .save_snapshot = sq_save_snapshot,
    .load_snapshot = sq_load_snapshot,
    .delete_upto = sq_delete_upto,
    .high_water = sq_high_water,
    .sync = sq_sync,
    .close = sq_close,
};

/* Run a pragma and check the text it answers (journal_mode answers the
 * mode it ended in: WAL can be refused, e.g. on a file system without
 * shared memory). */
static int sq_pragma(sqb *s, const char *sql, const char *want, char *err)
{
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(s, rc, "open", err);
    rc = sqlite3_step(q);
    const unsigned char *got = rc == SQLITE_ROW ? sqlite3_column_text(q, 0) : NULL;
    int code = 0;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        code = sq_fail(s, rc, "open", err);
    else if (want && (!got || strcmp((const char *)got, want) != 0)) {
        backend_errf(err, "sqlite open: %s answered %s, not %s (%s)", sql,
                     got ? (const char *)got : "nothing", want, s->path);
        code = TROUPE_EIO;
    }
    sqlite3_finalize(q);
    return code;
}

/* Statement i, of the first layout's text on such a file when it has one. */
static int sq_prepare(sqb *s, int i, int readonly, char *err)
{
    const char *sql = s->v1 && sq_sql_v1[i] ? sq_sql_v1[i] : sq_sql[i];
    int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
    if (rc != SQLITE_OK && !(readonly && i >= SQ_HWM_SET))
        return sq_fail(s, rc, "open (preparing statements)", err);
    return 0;
}

static int sq_setup(sqb *s, const sqlite_opts *o, char *err)
{
    int rc = sqlite3_extended_result_codes(s->db, 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(s->db, SQ_BUSY_MS);
    if (rc != SQLITE_OK)
        return sq_fail(s, rc, "open", err);
    /* first, before the pragmas write a header into an empty file */
    int had = 0, code = 0;
    if (o->idfile && !o->readonly)
        code = sq_identity_check(s, o, &had, err);
    /* a read-only file keeps the journal mode it has */
    if (code == 0)
        code = sq_pragma(s, "PRAGMA journal_mode=WAL", o->readonly ? NULL : "wal", err);
    if (code == 0)
        code = sq_pragma(s, o->sync_full && !o->defer_sync ? "PRAGMA synchronous=FULL"
                                                           : "PRAGMA synchronous=NORMAL",
                         NULL, err);
    /* a read-only file of an older version has no meta tables: it then
     * keeps no marks (its connection never appends). First: moving the
     * events of the first layout keeps its index mark there. */
    if (code == 0 && (rc = sqlite3_exec(s->db, sq_meta_schema, NULL, NULL, NULL)) != SQLITE_OK &&
        !o->readonly)
        code = sq_fail(s, rc, "open (creating the meta tables)", err);
    if (code == 0)
        code = sq_layout(s, o->readonly, err);
    /* a read-only file with the tables passes: CREATE IF NOT EXISTS writes nothing */
    if (code == 0 && (rc = sqlite3_exec(s->db, s->v1 ? sq_schema_v1 : sq_schema, NULL, NULL,
                                        NULL)) != SQLITE_OK)
        code = sq_fail(s, rc, "open (creating the tables)", err);
    for (int i = 0; code == 0 && i < SQ_COUNT; i++)
        code = sq_prepare(s, i, o->readonly, err);
    if (code == 0 && !o->readonly)
        code = sq_load_mark(s, err);
    if (code == 0 && o->idfile && !o->readonly)
        code = sq_identity_settle(s, o, had, err);
    return code;
}

static int sq_check_opts(const sqlite_opts *o, backend **out, char *err)
{
    if (!o || !out || !o->path || !*o->path) {
        backend_errf(err, "sqlite open: %s", !o || !out ? "options or out NULL" : "no path");
        return TROUPE_EINVAL;
    }
    return 0;
}

int backend_sqlite_open(const sqlite_opts *o, backend **out, char *err)
{
    int rc = sq_check_opts(o, out, err);
    if (rc < 0)
        return rc;
    sqb *s = sys_calloc(1, sizeof *s);
    if (!s || !(s->path = sys_strdup(o->path))) {
        free(s);
        backend_errf(err, "sqlite open: out of memory");
        return TROUPE_ENOMEM;
    }
    s->base.ops = &sqlite_ops;
    s->base.deferred_sync = o->sync_full && o->defer_sync && !o->readonly;
    s->walfd = -1;
    /* NOMUTEX: one thread at a time uses a backend (backend.h) */
    int flags = (o->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                SQLITE_OPEN_NOMUTEX;
    rc = sqlite3_open_v2(o->path, &s->db, flags, NULL);
    int code = rc == SQLITE_OK ? sq_setup(s, o, err) : sq_fail(s, rc, "open", err);
    if (code < 0) {
        sq_close(&s->base);
        return code;
    }
    *out = &s->base;
    return 0;
}
