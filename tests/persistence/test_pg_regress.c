/* tests/persistence/test_pg_regress.c — a PostgreSQL journal that goes
 * backwards is noticed, on a real server (run_pg.sh starts it): the last
 * rows deleted behind its back, the events table truncated, dropped and
 * recreated, dropped for good, the database recreated, a row numbered
 * <= 0. Each fails the actor with kind PERSISTENCE (counted in the
 * regressions metric) or the open, instead of handing the actor an older
 * state; the normal path — close, reopen, recover — is not affected. Each
 * test starts from a database without troupe's tables (--jobs=1). */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <unistd.h>

#include "pers_support.h"
#include "persistence/backend.h"

static const char *conninfo(void)
{
    const char *c = getenv("TROUPE_PG_CONNINFO");
    cr_assert(c, "run through tests/persistence/run_pg.sh");
    return c;
}

/* Statements run behind the journal's back, on dbname (NULL: the test's). */
static void sql_in(const char *dbname, const char *q)
{
    char ci[1024];
    snprintf(ci, sizeof ci, "%s%s%s", conninfo(), dbname ? " dbname=" : "", dbname ? dbname : "");
    PGconn *c = PQconnectdb(ci);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    PGresult *r = PQexec(c, q);
    ExecStatusType st = PQresultStatus(r);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", q,
              PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
}

static void sql(const char *q)
{
    sql_in(NULL, q);
}

static void fresh(void)
{
    sql("DROP TABLE IF EXISTS troupe_events, troupe_snapshots, troupe_hwm, troupe_meta;"
        "DROP FUNCTION IF EXISTS troupe_hwm_raise()");
}

static char *dir;   /* the test's own: the identity file */
static char idp[512];

static void setup(void)
{
    fresh();
    dir = pers_tmpdir();
    snprintf(idp, sizeof idp, "%s/journal.id", dir);
}

static void teardown(void)
{
    pers_rmdir(dir);
}

TestSuite(pg_regress, .init = setup, .fini = teardown, .timeout = 120);

static int open_j(troupe_journal **j)
{
    return troupe_journal_open_postgres_id(conninfo(), idp, j);
}

static troupe_system *sys_on(troupe_journal *j)
{
    troupe_config cfg = tt_config(2, NULL);
    cfg.journal = j;
    cfg.root_intensity = 1000; /* restarts that keep failing must not end the test's root */
    return tt_system_cfg(&cfg);
}

/* n events of ledger `pid` on a journal opened and closed again. */
static void write_events(const char *pid, uint64_t n)
{
    troupe_journal *j;
    cr_assert_eq(open_j(&j), 0);
    troupe_system *sys = pers_system(j, 2);
    troupe_ref r = ledger_spawn(sys, pid);
    for (uint64_t v = 1; v <= n; v++)
        ledger_ask(sys, r, P_ADD, v);
    troupe_system_destroy(sys);
    troupe_journal_close(j);
}

/* The spawn, and a supervised start, fail with TROUPE_ECORRUPT and a
 * reason that holds `want`; the counter counts both. */
static void expect_regression(const char *pid, const char *want)
{
    troupe_journal *j;
    cr_assert_eq(open_j(&j), 0);
    troupe_system *sys = sys_on(j);
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.persistence_id = pid;
    troupe_ref x;
    cr_assert_eq(troupe_spawn(sys, &ledger_beh, NULL, &o, &x), TROUPE_ECORRUPT);
    char err[512];
    cr_assert_eq(troupe_journal_last_error(j, err, sizeof err), 0);
    cr_assert(strstr(err, want) && strstr(err, pid), "%s", err);
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
    cr_expect_eq(m.regressions, 2);
    troupe_system_destroy(sys);
    troupe_journal_close(j);
}

/* The open is refused with TROUPE_ECORRUPT and a text that holds want. */
static void expect_refused(const char *want)
{
    troupe_journal *j;
    cr_assert_eq(open_j(&j), TROUPE_ECORRUPT);
    char err[512];
    cr_assert_eq(troupe_journal_open_error(err, sizeof err), 0);
    cr_assert(strstr(err, "journal went backwards") && strstr(err, want), "%s", err);
}

static void read_id(char id[64])
{
    FILE *f = fopen(idp, "r");
    cr_assert_not_null(f);
    cr_assert_not_null(fgets(id, 64, f));
    fclose(f);
    cr_assert_eq(strlen(id), 33, "%s", id); /* 32 hex digits and a newline */
}

/* Closed and reopened twice, the journal recovers what it wrote; the
 * identity file is written once and kept; nothing counts as a regression,
 * snapshots and retention included (250 events: snapshots every 100). */
Test(pg_regress, the_normal_path_recovers_and_counts_nothing)
{
    char id1[64], id2[64];
    write_events("ok", 250);
    read_id(id1);
    write_events("ok", 3);
    troupe_journal *j;
    cr_assert_eq(open_j(&j), 0);
    troupe_system *sys = pers_system(j, 2);
    cr_assert_eq(ledger_ask(sys, ledger_spawn(sys, "ok"), P_GET, 0).n, 253);
    troupe_journal_metrics m;
    cr_assert_eq(troupe_journal_metrics_get(j, &m), 0);
    cr_assert_eq(m.regressions, 0);
    cr_assert_eq(m.recovery_failures, 0);
    troupe_system_destroy(sys);
    troupe_journal_close(j);
    read_id(id2);
    cr_assert_str_eq(id1, id2);
}

Test(pg_regress, deleted_last_rows_are_detected)
{
    write_events("tail", 8);
    sql("DELETE FROM troupe_events WHERE pid = 'tail' AND seq >= 7");
    expect_regression("tail", "journal went backwards: seq 8 was committed, the journal ends"
                              " at seq 6");
}

Test(pg_regress, a_truncated_table_is_detected)
{
    write_events("trunc", 5);
    sql("TRUNCATE troupe_events");
    expect_regression("trunc", "seq 5 was committed, the journal ends at seq 0");
}

/* Dropped and recreated empty (the trigger went with it: the next open
 * puts it back, and the marks it kept before still hold). */
Test(pg_regress, a_dropped_and_recreated_table_is_detected)
{
    write_events("re", 4);
    sql("DROP TABLE troupe_events; CREATE TABLE troupe_events (pid text COLLATE \"C\" NOT NULL,"
        " seq bigint NOT NULL, schema integer NOT NULL, data bytea NOT NULL,"
        " crc bigint NOT NULL, PRIMARY KEY (pid, seq))");
    expect_regression("re", "seq 4 was committed, the journal ends at seq 0");
    write_events("after", 2); /* the trigger is back: new marks are kept */
    sql("DELETE FROM troupe_events WHERE pid = 'after' AND seq = 2");
    expect_regression("after", "seq 2 was committed, the journal ends at seq 1");
}

/* A restart of a running actor sees it too, as kind PERSISTENCE, in the
 * child's info and in the event log. */
Test(pg_regress, a_restart_fails_with_kind_persistence)
{
    troupe_journal *j;
    cr_assert_eq(open_j(&j), 0);
    troupe_system *sys = sys_on(j);
    troupe_ref r = ledger_start_child(sys, "live");
    for (uint64_t v = 1; v <= 4; v++)
        ledger_ask(sys, r, P_ADD, v);
    sql("DELETE FROM troupe_events WHERE pid = 'live' AND seq = 4");
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
    troupe_journal_metrics m;
    cr_assert_eq(troupe_journal_metrics_get(j, &m), 0);
    cr_assert_geq(m.regressions, 1);
    cr_assert_eq(troupe_sup_terminate_child(sys, r), 0);
    troupe_system_destroy(sys);
    troupe_journal_close(j);
}

/* A table dropped and not recreated: every open refuses (with or without
 * the identity file), and creates nothing in its place. */
Test(pg_regress, a_dropped_table_is_refused)
{
    write_events("gone", 3);
    sql("DROP TABLE troupe_events");
    expect_refused("table troupe_events of journal");
    cr_assert_eq(unlink(idp), 0);
    expect_refused("is missing");
    sql("DROP TABLE troupe_hwm; CREATE TABLE troupe_events (pid text, seq bigint, schema integer,"
        " data bytea, crc bigint)");
    expect_refused("table troupe_hwm of journal");
}

/* The database dropped and created again (or restored from an older dump):
 * the identity file names a journal it is not. Without the file the
 * recreated database is a new journal: not detected (README.md). */
Test(pg_regress, a_recreated_database_is_refused)
{
    write_events("db", 2);
    sql_in("postgres", "DROP DATABASE troupe_test WITH (FORCE)");
    sql_in("postgres", "CREATE DATABASE troupe_test");
    for (int i = 0; i < 2; i++) /* refused, and still refused: the open changed nothing */
        expect_refused("has no journal id");
    cr_assert_eq(unlink(idp), 0); /* the operator accepts the database as it is */
    troupe_journal *j;
    cr_assert_eq(open_j(&j), 0); /* a new journal: a new id, a new file */
    troupe_system *sys = pers_system(j, 2);
    cr_assert_eq(ledger_ask(sys, ledger_spawn(sys, "db"), P_GET, 0).n, 0); /* from nothing */
    troupe_system_destroy(sys);
    troupe_journal_close(j);
    cr_assert_eq(access(idp, R_OK), 0);
    sql("UPDATE troupe_meta SET value = '0123456789abcdef0123456789abcdef'");
    expect_refused("is journal 0123456789abcdef0123456789abcdef");
}

/* A row numbered <= 0 sorts before every read's range: refused, not
 * skipped. */
Test(pg_regress, a_row_with_seq_0_or_below_is_refused)
{
    write_events("neg", 3);
    sql("INSERT INTO troupe_events SELECT pid, -1, schema, data, crc FROM troupe_events"
        " WHERE pid = 'neg' AND seq = 1");
    expect_regression("neg", "event of neg has seq -1: not a positive integer");
    sql("UPDATE troupe_events SET seq = 0 WHERE pid = 'neg' AND seq = -1");
    expect_regression("neg", "has seq 0");
}

/* A journal written before the marks and the identity (no troupe_meta, no
 * troupe_hwm, no trigger) is adopted: an id, marks rebuilt from its rows,
 * losses after that caught. */
Test(pg_regress, an_older_journal_is_adopted)
{
    write_events("old", 5);
    sql("DROP TABLE troupe_meta, troupe_hwm; DROP FUNCTION troupe_hwm_raise() CASCADE");
    cr_assert_eq(unlink(idp), 0);
    write_events("old", 1); /* recovers 5, adds the 6th */
    cr_assert_eq(access(idp, R_OK), 0);
    sql("DELETE FROM troupe_events WHERE pid = 'old' AND seq >= 5");
    expect_regression("old", "seq 6 was committed, the journal ends at seq 4");
}

/* The mark moves with the guarded append too (its INSERT runs inside a
 * WITH), and not with a fenced one, which stores nothing. */
Test(pg_regress, a_guarded_append_raises_the_mark_too)
{
    sql("CREATE TABLE IF NOT EXISTS regress_guard (pid text PRIMARY KEY, epoch bigint NOT NULL);"
        "INSERT INTO regress_guard VALUES ('g', 7) ON CONFLICT (pid) DO UPDATE SET epoch = 7");
    char err[BACKEND_ERR_MAX] = "";
    backend *b;
    cr_assert_eq(backend_pg_open(conninfo(), &b, err), 0, "%s", err);
    pevent ev[3] = {{.pid = "g", .seq = 1, .data = "a", .len = 1, .guard = 7},
                    {.pid = "g", .seq = 2, .data = "b", .len = 1, .guard = 7},
                    {.pid = "g", .seq = 3, .data = "c", .len = 1, .guard = 8}};
    unsigned char fenced[3] = {0};
    cr_assert_eq(b->ops->append_guarded(b, ev, 2, "regress_guard", fenced, err), 0, "%s", err);
    uint64_t mark = 0;
    cr_assert_eq(b->ops->high_water(b, "g", &mark, err), 0, "%s", err);
    cr_assert_eq(mark, 2);
    cr_assert_eq(b->ops->append_guarded(b, ev + 2, 1, "regress_guard", fenced, err),
                 TROUPE_EFENCED);
    cr_assert_eq(b->ops->high_water(b, "g", &mark, err), 0, "%s", err);
    cr_assert_eq(mark, 2);
    cr_assert_eq(b->ops->append(b, ev + 2, 1, err), 0, "%s", err);
    cr_assert_eq(b->ops->high_water(b, "g", &mark, err), 0, "%s", err);
    cr_assert_eq(mark, 3);
    b->ops->close(b);
    sql("DROP TABLE regress_guard");
}
