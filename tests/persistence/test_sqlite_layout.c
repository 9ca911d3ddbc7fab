/* tests/persistence/test_sqlite_layout.c — SQLite's append-order layout
 * (persistence/sqlite_log.c): events in commit order, their (pid, seq)
 * index built by a compacting pass (at a clean close here). What it must
 * keep from the first layout: a journal of that layout opens (migrated by
 * a writable open, read as it is by a read-only one), duplicates are still
 * refused once indexed, and rows are found wherever they are — indexed,
 * in the tail, or both for one id. Skips on the other stores. */
#include "backend_support.h"
#include "persistence/checksum.h"

#include <sqlite3.h>
#include <unistd.h>

static got g;

static void sqlite_only(void)
{
    if (bk_is("sqlite"))
        return;
    bk_teardown(); /* Criterion's skip does not run .fini */
    cr_skip_test("an sqlite test (backend: %s)", bk_kind);
}

/* Close the suite's backend (the close indexes the tail) and open it again. */
static void reopen(void)
{
    bk->ops->close(bk);
    cr_assert_eq(bk_open(&bk), 0, "%s", bk_err);
}

static long long count_of(const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    cr_assert_eq(sqlite3_open(bk_sqlite_path(), &db), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    long long n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

/* A journal as the first layout wrote it: events clustered on (pid, seq),
 * each row with its checksum, no meta tables. */
static void write_v1(const char *pid, uint64_t n)
{
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(bk_sqlite_path(), &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "PRAGMA journal_mode=WAL;"
                                  "CREATE TABLE events(pid TEXT NOT NULL, seq INTEGER NOT NULL,"
                                  " schema INTEGER NOT NULL, data BLOB NOT NULL,"
                                  " crc INTEGER NOT NULL, PRIMARY KEY(pid, seq)) WITHOUT ROWID;"
                                  "CREATE TABLE snapshots(pid TEXT NOT NULL, seq INTEGER NOT NULL,"
                                  " schema INTEGER NOT NULL, data BLOB NOT NULL,"
                                  " crc INTEGER NOT NULL, PRIMARY KEY(pid, seq));",
                              NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_stmt *q;
    cr_assert_eq(sqlite3_prepare_v2(db, "INSERT INTO events VALUES(?1, ?2, 1, ?3, ?4)", -1, &q,
                                    NULL), SQLITE_OK);
    for (uint64_t s = 1; s <= n; s++) {
        char buf[256];
        size_t len = bk_payload(pid, s, buf, sizeof buf);
        sqlite3_bind_text(q, 1, pid, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, (sqlite3_int64)s);
        sqlite3_bind_blob(q, 3, buf, (int)len, SQLITE_TRANSIENT);
        sqlite3_bind_int64(q, 4, backend_crc(pid, s, 1, buf, len));
        cr_assert_eq(sqlite3_step(q), SQLITE_DONE);
        sqlite3_reset(q);
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
}

/* The suite's fixture opened a journal already: remove it, write the old
 * layout in its place. */
static void replace_with_v1(const char *pid, uint64_t n)
{
    bk->ops->close(bk);
    char p[4200];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", bk_sqlite_path(), suffix[i]);
        unlink(p);
    }
    write_v1(pid, n);
}

Test(backend, sqlite_a_journal_of_the_first_layout_is_migrated_on_open)
{
    sqlite_only();
    const char *a = "old-a", *b = "old-b";
    replace_with_v1(a, 40);
    cr_assert_eq(bk_open(&bk), 0, "%s", bk_err);
    cr_assert_eq(count_of("SELECT count(*) FROM sqlite_master WHERE name = 'events_v1'"), 0);
    cr_assert_eq(bk_read(bk, a, 0, &g), 0, "%s", bk_err);
    bk_expect_range(&g, a, 1, 40);
    cr_assert_eq(bk_read(bk, a, 30, &g), 0, "%s", bk_err);
    bk_expect_range(&g, a, 31, 40);
    cr_assert_eq(bk_last(bk, a), 40);
    /* stored already, in the migrated part: refused */
    cr_assert_eq(bk_append_range(bk, a, 40, 41), TROUPE_EEXIST, "%s", bk_err);
    cr_assert_eq(bk_append_range(bk, a, 41, 45), 0, "%s", bk_err);
    cr_assert_eq(bk_append_range(bk, b, 1, 3), 0, "%s", bk_err);
    cr_assert_eq(bk_read(bk, a, 0, &g), 0, "%s", bk_err);
    bk_expect_range(&g, a, 1, 45);
    reopen();
    cr_assert_eq(bk_read(bk, a, 0, &g), 0, "%s", bk_err);
    bk_expect_range(&g, a, 1, 45);
    cr_assert_eq(bk_read(bk, b, 0, &g), 0, "%s", bk_err);
    bk_expect_range(&g, b, 1, 3);
}

Test(backend, sqlite_a_read_only_open_reads_the_first_layout_as_it_is)
{
    sqlite_only();
    const char *a = "old-ro";
    replace_with_v1(a, 12);
    backend *ro;
    sqlite_opts o = {.path = bk_sqlite_path(), .sync_full = 1, .readonly = 1};
    cr_assert_eq(backend_sqlite_open(&o, &ro, bk_err), 0, "%s", bk_err);
    cr_assert_eq(bk_read(ro, a, 4, &g), 0, "%s", bk_err);
    bk_expect_range(&g, a, 5, 12);
    cr_assert_eq(bk_last(ro, a), 12);
    ro->ops->close(ro);
    /* untouched: still the first layout */
    cr_assert_eq(count_of("SELECT count(*) FROM sqlite_master WHERE name = 'events_idx'"), 0);
    cr_assert_eq(bk_open(&bk), 0, "%s", bk_err); /* for the teardown */
}

/* Indexed rows (before the close), tail rows (after it), one id in both. */
Test(backend, sqlite_rows_are_read_from_the_index_and_the_tail_in_order)
{
    sqlite_only();
    const char *a = bk_id("split"), *b = bk_id("other");
    cr_assert_eq(bk_append_range(bk, a, 1, 10), 0, "%s", bk_err);
    cr_assert_eq(bk_append_range(bk, b, 1, 5), 0, "%s", bk_err);
    reopen();
    cr_assert_eq(count_of("SELECT count(*) FROM events_idx"), 15);
    cr_assert_eq(bk_append_range(bk, a, 11, 20), 0, "%s", bk_err);
    cr_assert_eq(bk_read(bk, a, 0, &g), 0, "%s", bk_err);
    bk_expect_range(&g, a, 1, 20);
    cr_assert_eq(bk_read(bk, a, 10, &g), 0, "%s", bk_err);
    bk_expect_range(&g, a, 11, 20);
    cr_assert_eq(bk_read(bk, a, 5, &g), 0, "%s", bk_err);
    bk_expect_range(&g, a, 6, 20);
    cr_assert_eq(bk_last(bk, a), 20);
    /* a duplicate is refused in the tail and in the index alike */
    cr_assert_eq(bk_append_range(bk, a, 20, 20), TROUPE_EEXIST, "%s", bk_err);
    cr_assert_eq(bk_append_range(bk, a, 3, 3), TROUPE_EEXIST, "%s", bk_err);
    cr_assert_eq(bk_append_range(bk, a, 21, 21), 0, "%s", bk_err);
    cr_assert_eq(bk->ops->delete_upto(bk, a, 15, bk_err), 0, "%s", bk_err);
    cr_assert_eq(bk_read(bk, a, 0, &g), 0, "%s", bk_err);
    bk_expect_range(&g, a, 16, 21);
}

/* The bug the backend bench found: every row deleted after they were
 * indexed, SQLite's own rowids started again at 1, under the mark, where
 * neither the index nor the tail looks. */
Test(backend, sqlite_rows_written_after_every_row_was_deleted_are_found)
{
    sqlite_only();
    const char *a = bk_id("gone"), *b = bk_id("after");
    cr_assert_eq(bk_append_range(bk, a, 1, 8), 0, "%s", bk_err);
    reopen(); /* indexed: the mark is 8 */
    cr_assert_eq(bk->ops->delete_upto(bk, a, 8, bk_err), 0, "%s", bk_err);
    cr_assert_eq(count_of("SELECT count(*) FROM events"), 0);
    cr_assert_eq(bk_append_range(bk, b, 1, 3), 0, "%s", bk_err);
    cr_assert_eq(bk_read(bk, b, 0, &g), 0, "%s", bk_err);
    bk_expect_range(&g, b, 1, 3);
    reopen();
    cr_assert_eq(bk_read(bk, b, 0, &g), 0, "%s", bk_err);
    bk_expect_range(&g, b, 1, 3);
}
