/* tests/persistence/test_backend_fail.c — what goes wrong, on real stores:
 * damaged rows (ECORRUPT naming the id and seq), bad input (EINVAL), and
 * each store's own failures: SQLite on a full disk, a read-only file and a
 * path it cannot open; PostgreSQL losing its connection, and a server that
 * is not there. A test of one store skips on the others. */
#include "backend_support.h"
#include "persistence/checksum.h"

#include <libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static got g;

static void only(const char *kind)
{
    if (bk_is(kind))
        return;
    bk_teardown(); /* Criterion's skip does not run .fini: the temp dir would stay */
    cr_skip_test("a %s test (backend: %s)", kind, bk_kind);
}

static void expect_names(const char *pid, const char *seq)
{
    cr_log_info("%s", bk_err); /* the text, in the verbose log */
    cr_assert(strstr(bk_err, pid), "error text without the id: %s", bk_err);
    cr_assert(strstr(bk_err, seq), "error text without the seq: %s", bk_err);
}

/* ---- damaged rows --------------------------------------------------------------- */

Test(backend, a_corrupt_event_stops_the_read_naming_id_and_seq)
{
    const char *a = bk_id("corrupt");
    cr_assert_eq(bk_append_range(bk, a, 1, 6), 0, "%s", bk_err);
    bk_corrupt_event(a, 4);
    cr_assert_eq(bk_read(bk, a, 0, &g), TROUPE_ECORRUPT, "%s", bk_err);
    expect_names(a, "seq 4");
    cr_assert(strstr(bk_err, "checksum"), "%s", bk_err);
    bk_expect_range(&g, a, 1, 3); /* nothing of it or after it handed up */
    cr_assert_eq(bk_read(bk, a, 4, &g), 0, "%s", bk_err); /* after it: fine */
    bk_expect_range(&g, a, 5, 6);
}

Test(backend, a_corrupt_snapshot_fails_the_load)
{
    const char *a = bk_id("corrupt-snap");
    cr_assert_eq(bk->ops->save_snapshot(bk, a, 77, 1, "the state", 9, bk_err), 0, "%s", bk_err);
    bk_corrupt_snapshot(a);
    int found = -1;
    uint64_t s;
    uint32_t v;
    void *d = NULL;
    size_t len;
    cr_assert_eq(bk->ops->load_snapshot(bk, a, &found, &s, &v, &d, &len, bk_err),
                 TROUPE_ECORRUPT, "%s", bk_err);
    expect_names(a, "seq 77");
    cr_assert_eq(found, 0);
    cr_assert_null(d);
}

/* SQLite's columns take any type: a row whose blob became text, or whose
 * checksum is not an integer, is refused before its bytes are read. */
Test(backend, sqlite_a_wrong_typed_column_is_corrupt)
{
    only("sqlite");
    const char *a = bk_id("wrongtype");
    cr_assert_eq(bk_append_range(bk, a, 1, 3), 0, "%s", bk_err);
    bk_sql("UPDATE events SET data = 'text now' WHERE pid = ?1 AND seq = ?2", a, 2);
    cr_assert_eq(bk_read(bk, a, 0, &g), TROUPE_ECORRUPT, "%s", bk_err);
    expect_names(a, "seq 2");
    cr_assert(strstr(bk_err, "wrong type"), "%s", bk_err);
    bk_sql("UPDATE events SET data = x'00', crc = 'abc' WHERE pid = ?1 AND seq = ?2", a, 2);
    cr_assert_eq(bk_read(bk, a, 0, &g), TROUPE_ECORRUPT, "%s", bk_err);
    expect_names(a, "seq 2");
    bk_expect_range(&g, a, 1, 1);
}

/* The events table keeps rows in commit order with no key of its own: a
 * copied row (a restored backup appended twice, a forged row with a valid
 * checksum) must not be replayed twice. Found by tests/fuzz/fuzz_journal.c
 * after the group-commit layout dropped the table's primary key. */
Test(backend, sqlite_a_second_row_of_one_seq_is_corrupt)
{
    only("sqlite");
    const char *a = bk_id("dupseq");
    cr_assert_eq(bk_append_range(bk, a, 1, 3), 0, "%s", bk_err);
    bk_sql("INSERT INTO events(pid, seq, schema, data, crc)"
           " SELECT pid, seq, schema, data, crc FROM events WHERE pid = ?1 AND seq = ?2", a, 2);
    cr_assert_eq(bk_read(bk, a, 0, &g), TROUPE_ECORRUPT, "%s", bk_err);
    expect_names(a, "seq 2");
    cr_assert(strstr(bk_err, "second row"), "%s", bk_err);
    bk_expect_range(&g, a, 1, 2); /* the first of the two, nothing after */
}

/* A snapshot stored with seq <= 0 was never written by troupe, whatever its
 * checksum says (CRC-32C is no MAC: anyone can compute one). PostgreSQL's
 * bigint is signed: -1 read back must not pass as seq 2^64-1 (found by
 * tests/fuzz/fuzz_pgrows.c); SQLite's reader refused it already. */
Test(backend, a_stored_seq_below_one_is_corrupt)
{
    if (!bk_is("sqlite"))
        only("postgres");
    const char *a = bk_id("seqneg");
    cr_assert_eq(bk->ops->save_snapshot(bk, a, 5, 1, "the state", 9, bk_err), 0, "%s", bk_err);
    char sql[200];
    unsigned crc = backend_crc(a, (uint64_t)-1, 1, "the state", 9);
    snprintf(sql, sizeof sql, bk_is("sqlite")
             ? "UPDATE snapshots SET seq = -1, crc = %u WHERE pid = ?1"
             : "UPDATE troupe_snapshots SET seq = -1, crc = %u WHERE pid = $1", crc);
    bk_sql(sql, a, 0);
    int found = -1;
    uint64_t s = 0;
    uint32_t v;
    void *d = NULL;
    size_t len;
    cr_assert_eq(bk->ops->load_snapshot(bk, a, &found, &s, &v, &d, &len, bk_err),
                 TROUPE_ECORRUPT, "seq %llu: %s", (unsigned long long)s, bk_err);
    expect_names(a, "seq -1");
    cr_assert_eq(found, 0);
    cr_assert_null(d);
}

/* ---- bad input ----------------------------------------------------------------------- */

static void expect_bad_id(const char *pid)
{
    backend *b = bk;
    uint64_t s;
    int found;
    uint32_t v;
    void *d;
    size_t len;
    pevent ev = {.pid = pid, .seq = 1, .data = "x", .len = 1};
    cr_assert_eq(b->ops->append(b, &ev, 1, bk_err), TROUPE_EINVAL);
    cr_assert_eq(b->ops->read(b, pid, 0, bk_collect, &g, bk_err), TROUPE_EINVAL);
    cr_assert_eq(b->ops->last_seq(b, pid, &s, bk_err), TROUPE_EINVAL);
    cr_assert_eq(b->ops->save_snapshot(b, pid, 1, 1, "x", 1, bk_err), TROUPE_EINVAL);
    cr_assert_eq(b->ops->load_snapshot(b, pid, &found, &s, &v, &d, &len, bk_err), TROUPE_EINVAL);
    cr_assert_eq(b->ops->delete_upto(b, pid, 1, bk_err), TROUPE_EINVAL);
    cr_assert(strstr(bk_err, "persistence id"), "%s", bk_err);
}

Test(backend, null_empty_and_too_long_ids_are_einval)
{
    char longest[TROUPE_PERSIST_ID_MAX + 2];
    memset(longest, 'p', sizeof longest - 1);
    longest[sizeof longest - 1] = 0; /* one byte too long */
    expect_bad_id(NULL);
    expect_bad_id("");
    expect_bad_id(longest);
    longest[TROUPE_PERSIST_ID_MAX] = 0; /* the longest that fits */
    memcpy(longest, "max-", 4);
    cr_assert_eq(bk_append_range(bk, longest, 1, 2), 0, "%s", bk_err);
    cr_assert_eq(bk_read(bk, longest, 0, &g), 0, "%s", bk_err);
    bk_expect_range(&g, longest, 1, 2);
}

Test(backend, bad_arguments_are_einval)
{
    const char *a = bk_id("args");
    const backend_ops *o = bk->ops;
    uint64_t s;
    int found;
    uint32_t v;
    void *d;
    size_t len;
    pevent zero = {.pid = a, .seq = 0, .data = "x", .len = 1};
    pevent huge = {.pid = a, .seq = (uint64_t)INT64_MAX + 1, .data = "x", .len = 1};
    pevent big = {.pid = a, .seq = 1, .data = "x", .len = (size_t)BACKEND_DATA_MAX + 1};
    cr_assert_eq(o->append(bk, &zero, 1, bk_err), TROUPE_EINVAL);
    cr_assert(strstr(bk_err, "seq 0"), "%s", bk_err);
    cr_assert_eq(o->append(bk, &huge, 1, bk_err), TROUPE_EINVAL);
    cr_assert_eq(o->append(bk, &big, 1, bk_err), TROUPE_EINVAL);
    cr_assert_eq(o->append(bk, NULL, 1, bk_err), TROUPE_EINVAL);
    cr_assert_eq(o->append(NULL, &zero, 1, bk_err), TROUPE_EINVAL);
    cr_assert_eq(o->read(bk, a, 0, NULL, NULL, bk_err), TROUPE_EINVAL);
    cr_assert_eq(o->read(NULL, a, 0, bk_collect, &g, bk_err), TROUPE_EINVAL);
    cr_assert_eq(o->last_seq(bk, a, NULL, bk_err), TROUPE_EINVAL);
    cr_assert_eq(o->save_snapshot(bk, a, 0, 1, "x", 1, bk_err), TROUPE_EINVAL);
    cr_assert_eq(o->save_snapshot(bk, a, 1, 1, NULL, 1, bk_err), TROUPE_EINVAL);
    cr_assert_eq(o->load_snapshot(bk, a, NULL, &s, &v, &d, &len, bk_err), TROUPE_EINVAL);
    cr_assert_eq(o->load_snapshot(bk, a, &found, &s, &v, NULL, &len, bk_err), TROUPE_EINVAL);
    cr_assert_eq(o->delete_upto(NULL, a, 1, NULL), TROUPE_EINVAL); /* err may be NULL */
    o->close(NULL);
    cr_assert_eq(bk_last(bk, a), 0); /* nothing of it was stored */
    backend *x;
    cr_assert_eq(backend_memory_open(NULL, &x, bk_err), TROUPE_EINVAL);
    cr_assert_eq(backend_sqlite_open(NULL, &x, bk_err), TROUPE_EINVAL);
    cr_assert_eq(backend_sqlite_open(&(sqlite_opts){.path = ""}, &x, bk_err), TROUPE_EINVAL);
    cr_assert_eq(backend_pg_open(NULL, &x, bk_err), TROUPE_EINVAL);
    cr_assert_eq(backend_memory_corrupt(NULL, a, 1), TROUPE_EINVAL);
}

/* ---- SQLite -------------------------------------------------------------------------- */

static off_t file_size(const char *suffix)
{
    char p[400];
    struct stat st;
    snprintf(p, sizeof p, "%s%s", bk_sqlite_path(), suffix);
    return stat(p, &st) == 0 ? st.st_size : 0;
}

Test(backend, sqlite_creates_its_tables_in_wal_mode)
{
    only("sqlite");
    sqlite3 *db;
    sqlite3_stmt *q;
    cr_assert_eq(sqlite3_open_v2(bk_sqlite_path(), &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name IN"
                                        " ('events', 'snapshots')", -1, &q, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(q, 0), 2);
    sqlite3_finalize(q);
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    sqlite3_close(db);
}

Test(backend, sqlite_synchronous_normal_stores_the_same)
{
    only("sqlite");
    const char *a = bk_id("normal");
    backend *n;
    sqlite_opts o = {.path = bk_sqlite_path(), .sync_full = 0};
    cr_assert_eq(backend_sqlite_open(&o, &n, bk_err), 0, "%s", bk_err);
    cr_assert_eq(bk_append_range(n, a, 1, 100), 0, "%s", bk_err);
    n->ops->close(n);
    cr_assert_eq(bk_read(bk, a, 0, &g), 0, "%s", bk_err);
    bk_expect_range(&g, a, 1, 100);
}

/* A full disk, for real: RLIMIT_FSIZE makes the kernel refuse writes past
 * a size (EFBIG), as it refuses them on a full file system (ENOSPC) — the
 * same failed write(2) under SQLite, as root too, with no file system to
 * mount. The limit is set just above the files' sizes, so the batch's WAL
 * frames do not fit. SIGXFSZ, which would kill the process, is ignored.
 * (SQLite calls EFBIG a failed write, SQLITE_IOERR_WRITE, and ENOSPC a
 * full disk, SQLITE_FULL: both are EIO, each with its own text.) */
Test(backend, sqlite_a_full_disk_fails_the_batch_and_keeps_the_rest)
{
    only("sqlite");
    const char *a = bk_id("full");
    cr_assert_eq(bk_append_range(bk, a, 1, 3), 0, "%s", bk_err);
    struct rlimit old, lim;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    off_t top = file_size("");
    if (file_size("-wal") > top)
        top = file_size("-wal");
    lim = (struct rlimit){.rlim_cur = (rlim_t)top + (64 << 10), .rlim_max = old.rlim_max};
    signal(SIGXFSZ, SIG_IGN);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0, "%s", strerror(errno));
    static unsigned char blob[128 << 10];
    memset(blob, 0x5a, sizeof blob);
    pevent ev[4];
    for (int i = 0; i < 4; i++)
        ev[i] = (pevent){.pid = a, .seq = 4 + (uint64_t)i, .schema = 1, .data = blob,
                         .len = sizeof blob};
    int rc = bk->ops->append(bk, ev, 4, bk_err);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    cr_assert_eq(rc, TROUPE_EIO, "%d: %s", rc, bk_err);
    cr_assert(strstr(bk_err, "sqlite append") && strstr(bk_err, "write failed"), "%s", bk_err);
    cr_log_info("%s", bk_err);
    cr_assert_eq(bk_read(bk, a, 0, &g), 0, "%s", bk_err);
    bk_expect_range(&g, a, 1, 3);
    cr_assert_eq(bk->ops->append(bk, ev, 4, bk_err), 0, "room again: %s", bk_err);
    cr_assert_eq(bk_last(bk, a), 7);
}

/* The writes of a database the process may only read. Root ignores file
 * modes, so the test opens the file through SQLITE_OPEN_READONLY
 * (sqlite_opts.readonly), the state SQLite falls into by itself when it
 * cannot open the file for writing: every write is SQLITE_READONLY. Not
 * root, it also takes the file's write permission away for real. */
Test(backend, sqlite_a_read_only_file_reads_and_refuses_writes)
{
    only("sqlite");
    const char *a = bk_id("ro");
    cr_assert_eq(bk_append_range(bk, a, 1, 3), 0, "%s", bk_err);
    bk->ops->close(bk);
    bk = NULL;
    int modes = geteuid() != 0;
    if (modes)
        cr_assert_eq(chmod(bk_sqlite_path(), 0444), 0);
    sqlite_opts o = {.path = bk_sqlite_path(), .sync_full = 1, .readonly = !modes};
    cr_assert_eq(backend_sqlite_open(&o, &bk, bk_err), 0, "%s", bk_err);
    cr_assert_eq(bk_read(bk, a, 0, &g), 0, "%s", bk_err);
    bk_expect_range(&g, a, 1, 3);
    cr_assert_eq(bk_append_range(bk, a, 4, 4), TROUPE_EIO);
    cr_assert(strstr(bk_err, "read-only database"), "%s", bk_err);
    cr_log_info("%s", bk_err);
    cr_assert_eq(bk->ops->save_snapshot(bk, a, 3, 1, "s", 1, bk_err), TROUPE_EIO);
    cr_assert(strstr(bk_err, "read-only database"), "%s", bk_err);
    cr_assert_eq(bk->ops->delete_upto(bk, a, 3, bk_err), TROUPE_EIO);
    cr_assert_eq(bk_last(bk, a), 3);
}

Test(backend, sqlite_a_path_it_cannot_open_is_eio)
{
    only("sqlite");
    char p[400];
    snprintf(p, sizeof p, "%s.missing/dir/journal.db", bk_sqlite_path());
    backend *x = NULL;
    cr_assert_eq(backend_sqlite_open(&(sqlite_opts){.path = p, .sync_full = 1}, &x, bk_err),
                 TROUPE_EIO);
    cr_assert_null(x);
    cr_assert(strstr(bk_err, "cannot open") && strstr(bk_err, p), "%s", bk_err);
    cr_log_info("%s", bk_err);
}

/* ---- PostgreSQL -------------------------------------------------------------------- */

static PGconn *pg_admin(void)
{
    PGconn *c = PQconnectdb(bk_conninfo());
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    return c;
}

/* How many sessions have this application_name (0 once terminated). */
static int pg_sessions(PGconn *c, const char *app)
{
    const char *vals[1] = {app};
    PGresult *r = PQexecParams(c, "SELECT count(*) FROM pg_stat_activity WHERE"
                                  " application_name = $1", 1, NULL, vals, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
    int n = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

/* The server ends the backend's session (an administrator, a restart, a
 * failover look the same to the client): the next call is EIO saying the
 * connection was lost, the one after reconnects and works. */
Test(backend, postgres_a_lost_connection_is_eio_then_reconnects)
{
    only("postgres");
    const char *a = bk_id("lost");
    char ci[600], app[64];
    snprintf(app, sizeof app, "troupe-lost-%ld", (long)getpid());
    snprintf(ci, sizeof ci, "%s application_name=%s", bk_conninfo(), app);
    backend *b;
    cr_assert_eq(backend_pg_open(ci, &b, bk_err), 0, "%s", bk_err);
    cr_assert_eq(bk_append_range(b, a, 1, 2), 0, "%s", bk_err);
    PGconn *admin = pg_admin();
    const char *vals[1] = {app};
    PGresult *r = PQexecParams(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                      " WHERE application_name = $1", 1, NULL, vals, NULL, NULL, 0);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQresultErrorMessage(r));
    cr_assert_eq(PQntuples(r), 1);
    PQclear(r);
    wait_until(pg_sessions(admin, app) == 0); /* gone for sure, not just signalled */
    cr_assert_eq(bk_append_range(b, a, 3, 4), TROUPE_EIO);
    cr_assert(strstr(bk_err, "postgres append: connection lost"), "%s", bk_err);
    cr_log_info("%s", bk_err);
    cr_assert_eq(bk_append_range(b, a, 3, 4), 0, "after reconnecting: %s", bk_err);
    cr_assert_eq(bk_read(b, a, 0, &g), 0, "%s", bk_err);
    bk_expect_range(&g, a, 1, 4);
    cr_assert_eq(pg_sessions(admin, app), 1);
    PQfinish(admin);
    b->ops->close(b);
}

Test(backend, postgres_a_server_that_is_not_there_is_eio)
{
    only("postgres");
    backend *x = NULL;
    /* port 1 on loopback: nothing listens, the connection is refused */
    cr_assert_eq(backend_pg_open("host=127.0.0.1 port=1 connect_timeout=10", &x, bk_err),
                 TROUPE_EIO);
    cr_assert_null(x);
    cr_assert(strstr(bk_err, "cannot connect"), "%s", bk_err);
    cr_log_info("%s", bk_err);
}

Test(backend, postgres_creates_its_tables_on_first_use)
{
    only("postgres");
    PGconn *c = pg_admin();
    PGresult *r = PQexec(c, "SELECT to_regclass('troupe_events') IS NOT NULL"
                            " AND to_regclass('troupe_snapshots') IS NOT NULL");
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK);
    cr_assert_str_eq(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    PQfinish(c);
}
