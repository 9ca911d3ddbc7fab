/* tests/persistence/test_regress.c — a journal that goes backwards is
 * noticed, on real SQLite files: rows deleted from its end, a table
 * dropped, the file emptied to zero bytes, a row numbered <= 0. Each fails
 * the open or the actor (kind PERSISTENCE, in the event log and the
 * regressions counter) instead of handing it an older state; the normal
 * path — close, reopen, recover — is not affected. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pers_support.h"

/* Run statements on the journal's file behind its back. */
static void sql_on(const char *dir, const char *sql)
{
    char path[512];
    snprintf(path, sizeof path, "%s/journal.db", dir);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    cr_assert_eq(rc, SQLITE_OK, "%s: %s", sql, msg ? msg : "");
    sqlite3_close(db);
}

static troupe_system *sys_on(troupe_journal *j)
{
    troupe_config cfg = tt_config(2, NULL);
    cfg.journal = j;
    cfg.root_intensity = 1000; /* restarts that keep failing must not end the test's root */
    return tt_system_cfg(&cfg);
}

/* A journal in dir with n events of ledger `pid`, closed again. */
static void write_events(const char *dir, const char *pid, uint64_t n)
{
    troupe_journal *j;
    cr_assert_eq(troupe_journal_open_sqlite(dir, TROUPE_SQLITE_FULL, &j), 0);
    troupe_system *sys = pers_system(j, 2);
    troupe_ref r = ledger_spawn(sys, pid);
    for (uint64_t v = 1; v <= n; v++)
        ledger_ask(sys, r, P_ADD, v);
    troupe_system_destroy(sys);
    troupe_journal_close(j);
}

/* The restart after a panic fails with kind PERSISTENCE and a reason that
 * holds `want`; the event log has the failure; the counter counts it. */
static void expect_regression(const char *dir, const char *pid, const char *want)
{
    troupe_journal *j;
    cr_assert_eq(troupe_journal_open_sqlite(dir, TROUPE_SQLITE_FULL, &j), 0);
    troupe_system *sys = sys_on(j);
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.persistence_id = pid;
    troupe_ref x;
    cr_assert_eq(troupe_spawn(sys, &ledger_beh, NULL, &o, &x), TROUPE_ECORRUPT);
    char err[512];
    cr_assert_eq(troupe_journal_last_error(j, err, sizeof err), 0);
    cr_assert(strstr(err, want) && strstr(err, pid), "%s", err);
    /* under a supervisor: the failure the supervisor and the log see */
    troupe_child_spec s;
    troupe_child_spec_defaults(&s);
    s.beh = &ledger_beh;
    s.name = pid;
    troupe_sup root;
    cr_assert_eq(troupe_sup_root(sys, &root), 0);
    troupe_ref r;
    cr_assert_eq(troupe_sup_start_child(sys, root, &s, &r), TROUPE_ECORRUPT);
    troupe_journal_metrics m;
    cr_assert_eq(troupe_journal_metrics_get(j, &m), 0);
    cr_expect_geq(m.regressions, 2);
    troupe_system_destroy(sys);
    troupe_journal_close(j);
}

/* The normal path: a journal closed and reopened twice recovers what it
 * wrote; the identity file is written once and kept; nothing counts as a
 * regression, snapshots and retention included. */
Test(regress, the_normal_path_recovers_and_counts_nothing, .timeout = 120)
{
    char *dir = pers_tmpdir();
    write_events(dir, "ok", 5);
    char idp[512], id1[64] = "", id2[64] = "";
    snprintf(idp, sizeof idp, "%s/journal.id", dir);
    FILE *f = fopen(idp, "r");
    cr_assert_not_null(f);
    cr_assert_not_null(fgets(id1, sizeof id1, f));
    fclose(f);
    cr_assert_eq(strlen(id1), 33, "%s", id1); /* 32 hex digits and a newline */
    write_events(dir, "ok", 3); /* recovers 5, adds 3 */
    troupe_journal *j;
    cr_assert_eq(troupe_journal_open_sqlite(dir, TROUPE_SQLITE_FULL, &j), 0);
    troupe_system *sys = pers_system(j, 2);
    troupe_ref r = ledger_spawn(sys, "ok");
    ledger got = ledger_ask(sys, r, P_GET, 0);
    cr_assert_eq(got.n, 8);
    troupe_journal_metrics m;
    cr_assert_eq(troupe_journal_metrics_get(j, &m), 0);
    cr_assert_eq(m.regressions, 0);
    cr_assert_eq(m.recovery_failures, 0);
    troupe_system_destroy(sys);
    troupe_journal_close(j);
    f = fopen(idp, "r");
    cr_assert_not_null(f);
    cr_assert_not_null(fgets(id2, sizeof id2, f));
    fclose(f);
    cr_assert_str_eq(id1, id2);
    pers_rmdir(dir);
}

/* Retention deletes old events below a snapshot (the ledger snapshots
 * every 100 events and keeps 10 before it): not a loss. */
Test(regress, retention_is_not_a_regression, .timeout = 120)
{
    char *dir = pers_tmpdir();
    write_events(dir, "kept", 250);
    troupe_journal *j;
    cr_assert_eq(troupe_journal_open_sqlite(dir, TROUPE_SQLITE_FULL, &j), 0);
    troupe_system *sys = pers_system(j, 2);
    troupe_ref r = ledger_spawn(sys, "kept");
    cr_assert_eq(ledger_ask(sys, r, P_GET, 0).n, 250);
    troupe_journal_metrics m;
    cr_assert_eq(troupe_journal_metrics_get(j, &m), 0);
    cr_assert_eq(m.regressions, 0);
    troupe_system_destroy(sys);
    troupe_journal_close(j);
    pers_rmdir(dir);
}

/* The last rows deleted behind the journal's back: the mark survives. */
Test(regress, deleted_last_rows_are_detected, .timeout = 120)
{
    char *dir = pers_tmpdir();
    write_events(dir, "tail", 8);
    sql_on(dir, "DELETE FROM events WHERE pid = 'tail' AND seq >= 7");
    expect_regression(dir, "tail", "journal went backwards: seq 8 was committed, the journal ends"
                                   " at seq 6");
    pers_rmdir(dir);
}

/* A restart of a running actor sees it too, as kind PERSISTENCE, in the
 * child's info and in the event log. */
Test(regress, a_restart_fails_with_kind_persistence, .timeout = 120)
{
    char *dir = pers_tmpdir();
    troupe_journal *j;
    cr_assert_eq(troupe_journal_open_sqlite(dir, TROUPE_SQLITE_FULL, &j), 0);
    troupe_system *sys = sys_on(j);
    troupe_ref r = ledger_start_child(sys, "live");
    for (uint64_t v = 1; v <= 4; v++)
        ledger_ask(sys, r, P_ADD, v);
    sql_on(dir, "DELETE FROM events WHERE pid = 'live' AND seq = 4");
    cr_assert_eq(troupe_tell(sys, r, P_PANIC, NULL, 0), 0);
    troupe_child_info ci;
    wait_until(troupe_child_info_get(sys, r, &ci) == 0 &&
               ci.exits_by_kind[TROUPE_EXIT_PERSISTENCE] >= 1);
    cr_assert(strstr(ci.last_reason, "journal went backwards"), "%s", ci.last_reason);
    troupe_event ev[64];
    troupe_events_page pg;
    cr_assert_eq(troupe_events_read(sys, 0, NULL, ev, 64, &pg), 0);
    bool seen = false;
    for (size_t i = 0; i < pg.n; i++)
        seen |= ev[i].kind == TROUPE_EVENT_FAILURE && strstr(ev[i].detail, "went backwards") &&
                strstr(ev[i].detail, troupe_failure_kind_name(TROUPE_EXIT_PERSISTENCE));
    cr_assert(seen, "no failure event of kind persistence");
    cr_assert_eq(troupe_sup_terminate_child(sys, r), 0);
    troupe_system_destroy(sys);
    troupe_journal_close(j);
    pers_rmdir(dir);
}

/* A dropped events table (recreated empty by any later open without the
 * identity file): the open refuses while journal.id is there; with it
 * removed (the operator accepts the file) the marks still fail the actor. */
Test(regress, a_dropped_table_is_detected, .timeout = 120)
{
    char *dir = pers_tmpdir();
    write_events(dir, "gone", 3);
    sql_on(dir, "DROP TABLE events");
    troupe_journal *j;
    cr_assert_eq(troupe_journal_open_sqlite(dir, TROUPE_SQLITE_FULL, &j), TROUPE_ECORRUPT);
    char err[512];
    cr_assert_eq(troupe_journal_open_error(err, sizeof err), 0);
    cr_assert(strstr(err, "table events of journal") && strstr(err, "is missing"), "%s", err);
    char idp[512];
    snprintf(idp, sizeof idp, "%s/journal.id", dir);
    cr_assert_eq(unlink(idp), 0);
    expect_regression(dir, "gone", "seq 3 was committed, the journal ends at seq 0");
    pers_rmdir(dir);
}

/* The high-water table dropped: the open refuses (the marks are gone). */
Test(regress, a_dropped_mark_table_is_detected, .timeout = 120)
{
    char *dir = pers_tmpdir();
    write_events(dir, "m", 2);
    sql_on(dir, "DROP TABLE troupe_hwm");
    troupe_journal *j;
    cr_assert_eq(troupe_journal_open_sqlite(dir, TROUPE_SQLITE_FULL, &j), TROUPE_ECORRUPT);
    char err[512];
    cr_assert_eq(troupe_journal_open_error(err, sizeof err), 0);
    cr_assert(strstr(err, "table troupe_hwm"), "%s", err);
    pers_rmdir(dir);
}

/* A zero-length journal file (SQLite reads it as a new, empty database):
 * the identity file names a journal it is not. */
Test(regress, a_zero_length_file_is_detected, .timeout = 120)
{
    char *dir = pers_tmpdir();
    write_events(dir, "z", 4);
    char path[512];
    snprintf(path, sizeof path, "%s/journal.db", dir);
    cr_assert_eq(truncate(path, 0), 0);
    snprintf(path, sizeof path, "%s/journal.db-wal", dir);
    unlink(path);
    for (int i = 0; i < 2; i++) { /* refused, and still refused: the open changed nothing */
        troupe_journal *j;
        cr_assert_eq(troupe_journal_open_sqlite(dir, TROUPE_SQLITE_FULL, &j), TROUPE_ECORRUPT);
        char err[512];
        cr_assert_eq(troupe_journal_open_error(err, sizeof err), 0);
        cr_assert(strstr(err, "journal went backwards") && strstr(err, "has no journal id") &&
                  strstr(err, "journal.id names journal"), "%s", err);
    }
    struct stat st;
    snprintf(path, sizeof path, "%s/journal.db", dir);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_size, 0);
    pers_rmdir(dir);
}

/* Another journal's file put in place of this one's. */
Test(regress, a_replaced_file_is_detected, .timeout = 120)
{
    char *a = pers_tmpdir(), *b = pers_tmpdir();
    write_events(a, "x", 1);
    write_events(b, "x", 1);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cp '%s/journal.db' '%s/journal.db' && rm -f '%s/journal.db-wal'", b,
             a, a);
    cr_assert_eq(system(cmd), 0);
    troupe_journal *j;
    cr_assert_eq(troupe_journal_open_sqlite(a, TROUPE_SQLITE_FULL, &j), TROUPE_ECORRUPT);
    char err[512];
    cr_assert_eq(troupe_journal_open_error(err, sizeof err), 0);
    cr_assert(strstr(err, "is journal") && strstr(err, "names journal"), "%s", err);
    pers_rmdir(a);
    pers_rmdir(b);
}

/* A row numbered <= 0 sorts before every read's range: refused, not
 * skipped. */
Test(regress, a_row_with_seq_0_or_below_is_refused, .timeout = 120)
{
    char *dir = pers_tmpdir();
    write_events(dir, "neg", 3);
    sql_on(dir, "INSERT INTO events SELECT pid, -1, schema, data, crc FROM events"
                " WHERE pid = 'neg' AND seq = 1");
    expect_regression(dir, "neg", "event of neg has seq -1: not a positive integer");
    sql_on(dir, "UPDATE events SET seq = 0 WHERE pid = 'neg' AND seq = -1");
    expect_regression(dir, "neg", "has seq 0");
    pers_rmdir(dir);
}

/* A journal written before marks and identity existed (no meta tables, no
 * journal.id) is adopted: an id is given, the marks are rebuilt from its
 * rows, and losses after that are caught. */
Test(regress, an_older_journal_is_adopted, .timeout = 120)
{
    char *dir = pers_tmpdir();
    write_events(dir, "old", 5);
    sql_on(dir, "DROP TABLE troupe_meta; DROP TABLE troupe_hwm");
    char idp[512];
    snprintf(idp, sizeof idp, "%s/journal.id", dir);
    cr_assert_eq(unlink(idp), 0);
    write_events(dir, "old", 1); /* recovers 5, adds the 6th */
    cr_assert_eq(access(idp, R_OK), 0);
    sql_on(dir, "DELETE FROM events WHERE pid = 'old' AND seq >= 5");
    expect_regression(dir, "old", "seq 6 was committed, the journal ends at seq 4");
    pers_rmdir(dir);
}
