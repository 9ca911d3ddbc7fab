/* tests/persistence/test_failures.c — what a persistent actor does when the
 * storage fails it, on a real SQLite file: a full disk during a write, a
 * corrupt row, a missing event or a bad snapshot at recovery, a journal
 * that cannot be opened — and the texts that say so. */
#include <criterion/criterion.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pers_support.h"

static off_t fsize(const char *dir, const char *suffix)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/journal.db%s", dir, suffix);
    return stat(path, &st) == 0 ? st.st_size : 0;
}

/* A full disk, for real: RLIMIT_FSIZE makes the kernel refuse the WAL's
 * growth (EFBIG, as ENOSPC on a full file system; SIGXFSZ ignored). The
 * write fails the actor with kind PERSISTENCE; the unsaved event is not
 * applied, and the restarted actor has exactly what was acknowledged. */
Test(failures, full_disk_fails_the_actor_with_persistence, .timeout = 120)
{
    char *dir = pers_tmpdir();
    troupe_journal *j;
    cr_assert_eq(troupe_journal_open_sqlite(dir, TROUPE_SQLITE_FULL, &j), 0);
    troupe_system *sys = pers_system(j, 2);
    troupe_ref r = ledger_start_child(sys, "ledger-full");
    ledger model = {0};
    for (uint64_t v = 1; v <= 3; v++) {
        ledger_apply_value(&model, v);
        ledger_ask(sys, r, P_ADD, v);
    }
    off_t top = fsize(dir, "") > fsize(dir, "-wal") ? fsize(dir, "") : fsize(dir, "-wal");
    struct rlimit old, lim;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = (struct rlimit){.rlim_cur = (rlim_t)top, .rlim_max = old.rlim_max};
    signal(SIGXFSZ, SIG_IGN);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    uint64_t v = 4;
    cr_assert_eq(troupe_tell(sys, r, P_ADD, &v, sizeof v), 0);
    troupe_child_info ci;
    wait_until(troupe_child_info_get(sys, r, &ci) == 0 &&
               ci.exits_by_kind[TROUPE_EXIT_PERSISTENCE] == 1);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    cr_assert(strstr(ci.last_reason, "journal:"), "reason: %s", ci.last_reason);
    char err[256];
    cr_assert_eq(troupe_journal_last_error(j, err, sizeof err), 0);
    cr_assert(strlen(err) > 0);
    /* the metrics count it (troupe_journal_metrics_get): one failed
     * transaction, timed like the commits */
    troupe_journal_metrics m;
    cr_assert_eq(troupe_journal_metrics_get(j, &m), 0);
    cr_expect_geq(m.failures, 1);
    uint64_t timed = 0;
    for (int i = 0; i < TROUPE_JOURNAL_LATENCY_BUCKETS; i++)
        timed += m.commit_ns_buckets[i];
    cr_expect_eq(m.snapshots, 0); /* none taken here: every failure is a transaction's */
    cr_expect_eq(timed, m.commits + m.failures);
    wait_until(troupe_child_info_get(sys, r, &ci) == 0 && ci.restarts >= 1);
    ledger got = ledger_ask(sys, r, P_GET, 0);
    cr_assert_eq(memcmp(&got, &model, sizeof got), 0, "n %llu", (unsigned long long)got.n);
    ledger_apply_value(&model, 5);
    got = ledger_ask(sys, r, P_ADD, 5); /* room again */
    cr_assert_eq(memcmp(&got, &model, sizeof got), 0);
    troupe_system_destroy(sys);
    troupe_journal_close(j);
    pers_rmdir(dir);
}

/* Run one statement on the journal's file behind its back (pid ?1, seq ?2). */
static void tamper(const char *dir, const char *sql, const char *pid, int seq)
{
    char path[512];
    snprintf(path, sizeof path, "%s/journal.db", dir);
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, pid, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, seq);
    cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
    cr_assert_eq(sqlite3_changes(db), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void corrupt(const char *dir, const char *pid, int seq)
{
    tamper(dir, "UPDATE events SET data = zeroblob(8) WHERE pid = ?1 AND seq = ?2", pid, seq);
}

/* A corrupt row stops recovery with an error naming the id and the seq,
 * instead of applying garbage: on a first start (the spawn fails), and on
 * a restart (the re-init fails as PERSISTENCE with that reason). */
Test(failures, corrupt_row_stops_recovery_naming_id_and_seq, .timeout = 120)
{
    char *dir = pers_tmpdir();
    troupe_journal *j;
    cr_assert_eq(troupe_journal_open_sqlite(dir, TROUPE_SQLITE_FULL, &j), 0);
    troupe_config cfg = tt_config(2, NULL);
    cfg.journal = j;
    cfg.root_intensity = 1000;
    troupe_system *sys = tt_system_cfg(&cfg);
    troupe_ref r = ledger_start_child(sys, "ledger-bad");
    for (uint64_t v = 1; v <= 10; v++)
        ledger_ask(sys, r, P_ADD, v);
    corrupt(dir, "ledger-bad", 5);
    troupe_child_info ci;
    cr_assert_eq(troupe_tell(sys, r, P_PANIC, NULL, 0), 0);
    wait_until(troupe_child_info_get(sys, r, &ci) == 0 && ci.exits_by_kind[TROUPE_EXIT_PERSISTENCE] >= 1);
    cr_assert(strstr(ci.last_reason, "seq 5"), "reason: %s", ci.last_reason);
    cr_assert(strstr(ci.last_reason, "ledger-bad"), "reason: %s", ci.last_reason);
    cr_assert_eq(troupe_sup_terminate_child(sys, r), 0);
    tt_wait_dead(sys, r);
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.persistence_id = "ledger-bad";
    troupe_ref x;
    cr_assert_eq(troupe_spawn(sys, &ledger_beh, NULL, &o, &x), TROUPE_ECORRUPT);
    char err[256];
    cr_assert_eq(troupe_journal_last_error(j, err, sizeof err), 0);
    cr_assert(strstr(err, "seq 5") && strstr(err, "ledger-bad"), "%s", err);
    troupe_system_destroy(sys);
    troupe_journal_close(j);
    pers_rmdir(dir);
}

/* An event missing from the journal stops recovery with a reason naming
 * the missing seq (5), not the one found in its place (6). */
Test(failures, a_missing_event_is_named_by_its_seq)
{
    char *dir = pers_tmpdir();
    troupe_journal *j;
    cr_assert_eq(troupe_journal_open_sqlite(dir, TROUPE_SQLITE_FULL, &j), 0);
    troupe_config cfg = tt_config(2, NULL);
    cfg.journal = j;
    cfg.root_intensity = 1000;
    troupe_system *sys = tt_system_cfg(&cfg);
    troupe_ref r = ledger_start_child(sys, "ledger-gap");
    for (uint64_t v = 1; v <= 8; v++)
        ledger_ask(sys, r, P_ADD, v);
    tamper(dir, "DELETE FROM events WHERE pid = ?1 AND seq = ?2", "ledger-gap", 5);
    troupe_child_info ci;
    cr_assert_eq(troupe_tell(sys, r, P_PANIC, NULL, 0), 0);
    wait_until(troupe_child_info_get(sys, r, &ci) == 0 && ci.exits_by_kind[TROUPE_EXIT_PERSISTENCE] >= 1);
    cr_expect(strstr(ci.last_reason, "event seq 5 missing (the next stored is seq 6)"), "reason: %s",
              ci.last_reason);
    char err[256];
    cr_assert_eq(troupe_journal_last_error(j, err, sizeof err), 0);
    cr_expect(strstr(err, "seq 5 missing") && strstr(err, "ledger-gap"), "%s", err);
    troupe_journal_metrics m; /* its first start recovered; the restart's recovery failed */
    cr_assert_eq(troupe_journal_metrics_get(j, &m), 0);
    cr_expect_geq(m.recovery_failures, 1);
    cr_expect_geq(m.recoveries, 2);
    troupe_system_destroy(sys);
    troupe_journal_close(j);
    pers_rmdir(dir);
}

/* A snapshot that fails its checksum: the text names the snapshot and its
 * seq, and no made-up "seq 0". */
Test(failures, a_bad_snapshot_is_named_truthfully)
{
    char *dir = pers_tmpdir();
    troupe_journal *j;
    cr_assert_eq(troupe_journal_open_sqlite(dir, TROUPE_SQLITE_FULL, &j), 0);
    tamper(dir, "INSERT INTO snapshots(pid, seq, schema, data, crc) VALUES(?1, ?2, 1, zeroblob(24), 7)",
           "ledger-snap", 3);
    troupe_system *sys = pers_system(j, 2);
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.persistence_id = "ledger-snap";
    troupe_ref x;
    cr_assert_eq(troupe_spawn(sys, &ledger_beh, NULL, &o, &x), TROUPE_ECORRUPT);
    char err[256];
    cr_assert_eq(troupe_journal_last_error(j, err, sizeof err), 0);
    cr_expect(strstr(err, "snapshot") && strstr(err, "seq 3") && strstr(err, "ledger-snap"), "%s",
              err);
    cr_expect(!strstr(err, "seq 0"), "%s", err);
    troupe_system_destroy(sys);
    troupe_journal_close(j);
    pers_rmdir(dir);
}

/* A journal that cannot be opened: the code, and the reason (the path and
 * SQLite's message) from troupe_journal_open_error. */
Test(failures, a_failed_open_says_why)
{
    char *dir = pers_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/journal.db", dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    for (int i = 0; i < 512; i++)
        fputs("this is not a database, ", f);
    fclose(f);
    troupe_journal *j = (troupe_journal *)1;
    char err[256];
    cr_expect_eq(troupe_journal_open_sqlite(dir, TROUPE_SQLITE_FULL, &j), TROUPE_ECORRUPT);
    cr_expect_null(j);
    cr_assert_eq(troupe_journal_open_error(err, sizeof err), 0);
    cr_expect(strstr(err, path) && strstr(err, "not a database"), "%s", err);
    cr_expect_eq(troupe_journal_open_sqlite("/nonexistent-troupe/sub", TROUPE_SQLITE_FULL, &j),
                 TROUPE_EIO);
    cr_assert_eq(troupe_journal_open_error(err, sizeof err), 0);
    cr_expect(strstr(err, "/nonexistent-troupe/sub") && strstr(err, "No such file"), "%s", err);
    cr_expect_eq(troupe_journal_open_sqlite(NULL, TROUPE_SQLITE_FULL, &j), TROUPE_EINVAL);
    cr_assert_eq(troupe_journal_open_error(err, sizeof err), 0);
    cr_expect(strstr(err, "no directory"), "%s", err);
    cr_expect_eq(troupe_journal_open_error(NULL, 4), TROUPE_EINVAL);
    unlink(path);
    cr_assert_eq(troupe_journal_open_sqlite(dir, TROUPE_SQLITE_FULL, &j), 0);
    cr_assert_eq(troupe_journal_open_error(err, sizeof err), 0);
    cr_expect_str_eq(err, "", "a success clears it");
    troupe_journal_close(j);
    pers_rmdir(dir);
}
