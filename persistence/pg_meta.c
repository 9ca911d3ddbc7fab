/* persistence/pg_meta.c — the PostgreSQL backend's schema, and what lets
 * its journal notice that it went backwards (the same two records as
 * SQLite's, sqlite_meta.c):
 *
 *  - a high-water mark per persistence id (table troupe_hwm): the highest
 *    seq ever committed. A statement-level trigger on troupe_events raises
 *    it from the statement's new rows (a transition table), so the mark
 *    moves in the SAME transaction as the events — the plain COPY and the
 *    guarded INSERT alike — without a statement or a round trip more per
 *    group commit. Rows deleted from troupe_events, the table truncated, or
 *    dropped and recreated, leave the mark above what recovery finds;
 *  - the journal's identity: a random id in troupe_meta and, when the
 *    opener names one (troupe_journal_open_postgres_id), the same id in a
 *    file on the client. A database dropped and recreated (or restored from
 *    an older dump, or another database named in the conninfo) lost its
 *    marks with it, but no longer carries the id the file names.
 *
 * Every open also refuses a journal whose troupe_meta names an id but one
 * of the other tables is gone (dropped and not recreated). What cannot be
 * seen: persistence/README.md, "What is not detected".
 */
#include "persistence/pg_int.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "persistence/jid.h"

#define WHO "postgres open"

/* One message: the lock (the key is any constant, the same in every
 * troupe: two connections opening at once do not race on the catalog),
 * the meta table, then which tables exist and the stored id. The
 * transaction stays open: pg_settle commits it or it is rolled back. */
static const char pg_probe_sql[] =
    "BEGIN;"
    "SELECT pg_advisory_xact_lock(127978031542373);"
    "CREATE TABLE IF NOT EXISTS troupe_meta (key text COLLATE \"C\" PRIMARY KEY,"
    " value text NOT NULL);"
    "SELECT to_regclass('troupe_events') IS NOT NULL, to_regclass('troupe_snapshots') IS NOT"
    " NULL, to_regclass('troupe_hwm') IS NOT NULL,"
    " (SELECT value FROM troupe_meta WHERE key = 'journal_id')";

/* The tables, and the trigger and its function created only when missing
 * (a CREATE OR REPLACE would write the catalog at every connection). */
static const char pg_tables_sql[] =
    "CREATE TABLE IF NOT EXISTS troupe_events (pid text COLLATE \"C\" NOT NULL,"
    " seq bigint NOT NULL, schema integer NOT NULL, data bytea NOT NULL,"
    " crc bigint NOT NULL, PRIMARY KEY (pid, seq));"
    "CREATE TABLE IF NOT EXISTS troupe_snapshots (pid text COLLATE \"C\" NOT NULL,"
    " seq bigint NOT NULL, schema integer NOT NULL, data bytea NOT NULL,"
    " crc bigint NOT NULL, PRIMARY KEY (pid, seq));"
    "CREATE TABLE IF NOT EXISTS troupe_hwm (pid text COLLATE \"C\" PRIMARY KEY,"
    " seq bigint NOT NULL);"
    "DO $d$ BEGIN"
    " IF to_regproc('troupe_hwm_raise') IS NULL THEN"
    "  CREATE FUNCTION troupe_hwm_raise() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"
    "   INSERT INTO troupe_hwm (pid, seq) SELECT pid, max(seq) FROM troupe_new GROUP BY pid"
    "   ON CONFLICT (pid) DO UPDATE SET seq = GREATEST(troupe_hwm.seq, EXCLUDED.seq);"
    "   RETURN NULL; END $f$;"
    " END IF;"
    " IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'troupe_hwm_raise'"
    "   AND tgrelid = 'troupe_events'::regclass) THEN"
    "  CREATE TRIGGER troupe_hwm_raise AFTER INSERT ON troupe_events"
    "   REFERENCING NEW TABLE AS troupe_new FOR EACH STATEMENT"
    "   EXECUTE FUNCTION troupe_hwm_raise();"
    " END IF; END $d$;";

/* A new journal (or one written before the marks: adopted) gets its id
 * and marks rebuilt from its rows; %s is the id (hex: no quoting). */
static const char pg_adopt_sql[] =
    "INSERT INTO troupe_meta VALUES ('journal_id', '%s');"
    "INSERT INTO troupe_hwm SELECT pid, max(seq) FROM (SELECT pid, seq FROM troupe_events"
    " UNION ALL SELECT pid, seq FROM troupe_snapshots) r GROUP BY pid"
    " ON CONFLICT (pid) DO UPDATE SET seq = GREATEST(troupe_hwm.seq, EXCLUDED.seq);";

static const char *const pg_table_names[] = {"troupe_events", "troupe_snapshots", "troupe_hwm"};

typedef struct pg_found {
    int has[3]; /* pg_table_names */
    char id[JID_HEX + 1]; /* "" when none */
} pg_found;

static void pg_abort(pgb *p)
{
    if (!p->broken && PQstatus(p->conn) == CONNECTION_OK)
        PQclear(pg_wait_exec(p, "ROLLBACK"));
}

/* What the probe found; the transaction is open when it returns 0. */
static int pg_probe(pgb *p, pg_found *f, char *err)
{
    PGresult *r = pg_wait_exec(p, pg_probe_sql);
    int rc = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 || PQnfields(r) != 4)
        rc = pg_fail(p, r, "open (creating the tables)", err);
    for (int i = 0; rc == 0 && i < 3; i++)
        f->has[i] = strcmp(PQgetvalue(r, 0, i), "t") == 0;
    if (rc == 0)
        snprintf(f->id, sizeof f->id, "%s", PQgetisnull(r, 0, 3) ? "" : PQgetvalue(r, 0, 3));
    PQclear(r);
    return rc;
}

/* A journal with an id lost none of its tables, and is the one the
 * client's file names (want: "" when there is none). */
static int pg_hold(pgb *p, const pg_found *f, const char *idfile, const char *want, char *err)
{
    const char *db = PQdb(p->conn);
    if (want[0] && strcmp(f->id, want) != 0) {
        backend_errf(err, "journal went backwards: database %s %s%s, but %s names journal %s"
                          " (recreated, restored or replaced?)", db,
                     f->id[0] ? "is journal " : "has no journal id", f->id, idfile, want);
        return TROUPE_ECORRUPT;
    }
    for (int i = 0; f->id[0] && i < 3; i++)
        if (!f->has[i]) {
            backend_errf(err, "journal went backwards: table %s of journal %s is missing"
                              " (database %s)", pg_table_names[i], f->id, db);
            return TROUPE_ECORRUPT;
        }
    return 0;
}

/* The tables and the trigger; a new id and the marks for a journal that
 * has none; COMMIT. */
static int pg_settle(pgb *p, pg_found *f, char *err)
{
    char sql[sizeof pg_tables_sql + sizeof pg_adopt_sql + JID_HEX + 16];
    bool fresh = !f->id[0];
    int rc = fresh ? jid_new(WHO, f->id, err) : 0;
    if (rc < 0)
        return rc;
    int n = snprintf(sql, sizeof sql, "%s", pg_tables_sql);
    if (fresh)
        n += snprintf(sql + n, sizeof sql - (size_t)n, pg_adopt_sql, f->id);
    snprintf(sql + n, sizeof sql - (size_t)n, "COMMIT");
    return pg_exec(p, sql, "open (creating the tables)", err);
}

int pg_open_schema(pgb *p, const char *idfile, char *err)
{
    pg_found f = {0};
    char want[JID_HEX + 1] = "";
    int rc = idfile ? jid_read(WHO, idfile, want, err) : 0;
    int had_file = rc == 1;
    if (rc >= 0 && (rc = pg_probe(p, &f, err)) == 0 && (rc = pg_hold(p, &f, idfile, want, err)) == 0)
        rc = pg_settle(p, &f, err);
    if (rc < 0) {
        pg_abort(p);
        return rc;
    }
    return idfile && !had_file ? jid_write(WHO, idfile, f.id, err) : 0;
}
