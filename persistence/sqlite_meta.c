/* persistence/sqlite_meta.c — what lets an SQLite journal notice that it
 * went backwards, instead of handing an actor an older state in silence.
 *
 * Two records, each kept where a given loss does not reach it:
 *  - a high-water mark per persistence id (table troupe_hwm): the highest
 *    seq ever committed, raised in the same transaction as the events. Rows
 *    deleted from `events`, or the table dropped (and recreated empty by the
 *    next open), leave the mark above what recovery finds;
 *  - the journal's identity: a random id in troupe_meta and the same id in
 *    a sidecar file next to the database (journal.id). A database emptied,
 *    truncated to zero bytes, recreated or swapped for another one has lost
 *    its marks too, but no longer carries the id the sidecar names.
 * What neither can see (README.md, "What is not detected"): losing the
 * database and the sidecar together, a mark lowered along with the rows,
 * and a row forged with a valid checksum (CRC-32C is not a MAC).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "persistence/jid.h"
#include "persistence/sqlite_int.h"

#define ID_HEX JID_HEX
#define WHO "sqlite open"

const char sq_meta_schema[] =
    "CREATE TABLE IF NOT EXISTS troupe_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)"
    " WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS troupe_hwm(pid TEXT PRIMARY KEY, seq INTEGER NOT NULL)"
    " WITHOUT ROWID;";
const char sq_hwm_set_sql[] = "INSERT INTO troupe_hwm(pid, seq) VALUES(?1, ?2)"
                              " ON CONFLICT(pid) DO UPDATE SET seq = max(seq, excluded.seq)";
/* the mark, and the lowest seq <= 0 among pid's events and snapshots (NULL
 * if none): such a row sorts before every read's range and is never seen */
const char sq_hwm_get_sql[] =
    "SELECT ifnull((SELECT seq FROM troupe_hwm WHERE pid = ?1), 0),"
    " (SELECT min(seq) FROM (SELECT seq FROM events_idx WHERE pid = ?1 AND seq <= 0"
    " UNION ALL SELECT seq FROM events WHERE rowid > coalesce((SELECT CAST(value AS INTEGER)"
    " FROM troupe_meta WHERE key = 'indexed_upto'), (SELECT max(rid) FROM events_idx), 0)"
    " AND pid = ?1 AND seq <= 0)),"
    " (SELECT min(seq) FROM snapshots WHERE pid = ?1 AND seq <= 0)";
/* the same on a read-only file of the first layout (events keyed by pid) */
const char sq_hwm_get_sql_v1[] =
    "SELECT ifnull((SELECT seq FROM troupe_hwm WHERE pid = ?1), 0),"
    " (SELECT min(seq) FROM events WHERE pid = ?1 AND seq <= 0),"
    " (SELECT min(seq) FROM snapshots WHERE pid = ?1 AND seq <= 0)";

static const char *const table_names[] = {"events", "snapshots", "troupe_meta", "troupe_hwm"};

int sq_hwm_raise(sqb *s, const char *pid, uint64_t seq)
{
    sqlite3_stmt *q = s->st[SQ_HWM_SET];
    int rc = sqlite3_bind_text(q, 1, pid, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(q, 2, (sqlite3_int64)seq);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc;
}

/* Which of the four tables exist (SQT_* bits). */
static int sq_tables(sqb *s, int *had, char *err)
{
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(s->db, "SELECT name FROM sqlite_master WHERE type = 'table'", -1,
                                &q, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(s, rc, "open (listing the tables)", err);
    *had = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q, 0);
        for (int i = 0; name && i < 4; i++)
            if (strcmp(name, table_names[i]) == 0)
                *had |= 1 << i;
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "open (listing the tables)", err);
}

/* The id stored in the database ("" when none). */
static int sq_stored_id(sqb *s, char id[ID_HEX + 1], char *err)
{
    sqlite3_stmt *q;
    id[0] = '\0';
    int rc = sqlite3_prepare_v2(s->db, "SELECT value FROM troupe_meta WHERE key = 'journal_id'",
                                -1, &q, NULL);
    if (rc != SQLITE_OK)
        return sq_fail(s, rc, "open (reading the journal id)", err);
    if ((rc = sqlite3_step(q)) == SQLITE_ROW && sqlite3_column_text(q, 0))
        snprintf(id, ID_HEX + 1, "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "open", err);
}

int sq_identity_check(sqb *s, const sqlite_opts *o, int *had, char *err)
{
    char want[ID_HEX + 1], got[ID_HEX + 1] = "";
    int rc = sq_tables(s, had, err);
    if (rc < 0 || (rc = jid_read(WHO, o->idfile, want, err)) <= 0)
        return rc; /* no witness: nothing to hold the file to (settle writes one) */
    if ((*had & SQT_META) && (rc = sq_stored_id(s, got, err)) < 0)
        return rc;
    if (strcmp(got, want) != 0) {
        backend_errf(err, "journal went backwards: %s %s%s, but %s names journal %s (emptied,"
                          " recreated or replaced?)", s->path, got[0] ? "is journal " : "has no journal id",
                     got, o->idfile, want);
        return TROUPE_ECORRUPT;
    }
    for (int i = 0; i < 4; i++)
        if (!(*had & (1 << i))) {
            backend_errf(err, "journal went backwards: table %s of journal %s is missing (%s)",
                         table_names[i], want, s->path);
            return TROUPE_ECORRUPT;
        }
    return 0;
}

/* A new journal gets its id; a journal without marks (older, or one its
 * operator accepted by removing the sidecar) gets them from its rows. */
static int sq_settle_rows(sqb *s, const char *id, bool new_id_row, int had, char *err)
{
    char sql[256 + ID_HEX];
    snprintf(sql, sizeof sql, "BEGIN IMMEDIATE;%s%s%s%sCOMMIT",
             new_id_row ? "INSERT INTO troupe_meta VALUES('journal_id', '" : "",
             new_id_row ? id : "", new_id_row ? "');" : "",
             had & SQT_HWM ? ""
                           : "INSERT OR IGNORE INTO troupe_hwm SELECT pid, max(seq) FROM (SELECT"
                             " pid, seq FROM events UNION ALL SELECT pid, seq FROM snapshots)"
                             " GROUP BY pid;");
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        sq_abort(s);
        return sq_fail(s, rc, "open (writing the journal id)", err);
    }
    return 0;
}

int sq_identity_settle(sqb *s, const sqlite_opts *o, int had, char *err)
{
    char id[ID_HEX + 1], side[ID_HEX + 1];
    int rc = sq_stored_id(s, id, err);
    bool fresh = rc == 0 && !id[0];
    if (fresh)
        rc = jid_new(WHO, id, err);
    if (rc == 0 && (fresh || !(had & SQT_HWM)))
        rc = sq_settle_rows(s, id, fresh, had, err);
    if (rc == 0 && (rc = jid_read(WHO, o->idfile, side, err)) == 0)
        rc = jid_write(WHO, o->idfile, id, err);
    return rc < 0 ? rc : 0;
}

int sq_high_water(backend *b, const char *pid, uint64_t *seq, char *err)
{
    int rc = backend_check_pid(b, pid, err);
    if (rc < 0 || !seq)
        return rc < 0 ? rc : TROUPE_EINVAL;
    sqb *s = (sqb *)b;
    sqlite3_stmt *q = s->st[SQ_HWM_GET];
    *seq = 0;
    if (!q) /* a read-only file of an older version: no marks */
        return 0;
    sqlite3_bind_text(q, 1, pid, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc != SQLITE_ROW)
        rc = sq_fail(s, rc, "high_water", err);
    else if (sqlite3_column_type(q, 1) != SQLITE_NULL || sqlite3_column_type(q, 2) != SQLITE_NULL) {
        bool ev = sqlite3_column_type(q, 1) != SQLITE_NULL;
        backend_errf(err, "sqlite: %s %s has seq %lld: not a positive integer (%s)",
                     ev ? "event of" : "snapshot of", pid,
                     (long long)sqlite3_column_int64(q, ev ? 1 : 2), s->path);
        rc = TROUPE_ECORRUPT;
    } else {
        sqlite3_int64 v = sqlite3_column_int64(q, 0);
        *seq = v > 0 ? (uint64_t)v : 0;
        rc = 0;
    }
    sqlite3_reset(q);
    return rc;
}
