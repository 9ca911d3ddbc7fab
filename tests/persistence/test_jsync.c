/* tests/persistence/test_jsync.c — a second batch in flight (persistence/
 * jsync.c): an SQLite FULL journal commits a batch without syncing, and its
 * syncer acknowledges it after the WAL's fdatasync while the writer commits
 * the next. On a real file: many actors persisting at once get every
 * acknowledgement and find every event after the journal is reopened; the
 * counts of the stats hold; the injected sync fault is still drawn per
 * commit; a system torn down with batches in flight leaves exactly the
 * committed events, each actor's a prefix of what it was sent. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <unistd.h>

#include "pers_support.h"

#define NACT 40
#define PER 25

static troupe_journal *open_full(const char *dir)
{
    troupe_journal *j = NULL;
    int rc = troupe_journal_open_sqlite(dir, TROUPE_SQLITE_FULL, &j);
    cr_assert_eq(rc, 0, "journal: %s", troupe_errname(rc));
    return j;
}

static void pid_of(char *buf, size_t cap, int i) { snprintf(buf, cap, "jsync-%d", i); }

static ledger values_1_to(uint64_t n)
{
    ledger l = {0};
    for (uint64_t v = 1; v <= n; v++)
        ledger_apply_value(&l, v);
    return l;
}

/* NACT actors, each told the values 1..per (all sent before any is
 * acknowledged, so the batches hold many actors and overlap). */
static void spawn_and_tell(troupe_system *sys, troupe_ref *r, uint64_t per)
{
    char pid[32];
    for (int i = 0; i < NACT; i++) {
        pid_of(pid, sizeof pid, i);
        r[i] = ledger_spawn(sys, pid);
    }
    for (uint64_t v = 1; v <= per; v++)
        for (int i = 0; i < NACT; i++)
            cr_assert_eq(troupe_tell(sys, r[i], P_ADD, &v, sizeof v), 0);
}

/* Each actor recovered from the journal reopened: its ledger. */
static void recovered(const char *dir, ledger *out)
{
    troupe_journal *j = open_full(dir);
    troupe_system *sys = pers_system(j, 2);
    char pid[32];
    for (int i = 0; i < NACT; i++) {
        pid_of(pid, sizeof pid, i);
        out[i] = ledger_ask(sys, ledger_spawn(sys, pid), P_GET, 0);
    }
    troupe_system_destroy(sys);
    troupe_journal_close(j);
}

Test(jsync, many_actors_at_once_every_event_acknowledged_and_in_the_file, .timeout = 180)
{
    char *dir = pers_tmpdir();
    troupe_journal *j = open_full(dir);
    troupe_system *sys = pers_system(j, 2);
    troupe_ref r[NACT];
    spawn_and_tell(sys, r, PER);
    ledger want = values_1_to(PER);
    for (int i = 0; i < NACT; i++) { /* a GET waits behind every ADD's ack */
        ledger got = ledger_ask(sys, r[i], P_GET, 0);
        cr_assert_eq(memcmp(&got, &want, sizeof want), 0, "actor %d: n %llu", i,
                     (unsigned long long)got.n);
    }
    troupe_journal_stats st;
    cr_assert_eq(troupe_journal_stats_get(j, &st), 0);
    cr_expect_eq(st.events, (uint64_t)NACT * PER);
    cr_expect_eq(st.failures, 0);
    cr_expect(st.commits >= 1 && st.commits <= st.events, "commits %llu",
              (unsigned long long)st.commits);
    troupe_system_destroy(sys);
    troupe_journal_close(j);
    ledger back[NACT];
    recovered(dir, back);
    for (int i = 0; i < NACT; i++)
        cr_expect_eq(memcmp(&back[i], &want, sizeof want), 0, "reopened, actor %d: n %llu", i,
                     (unsigned long long)back[i].n);
    pers_rmdir(dir);
}

/* Torn down at once: whatever was committed is in the file, each actor's
 * events a prefix of 1..PER, and their sum what the stats counted. */
Test(jsync, a_system_destroyed_with_batches_in_flight_keeps_exactly_what_it_committed,
     .timeout = 180)
{
    char *dir = pers_tmpdir();
    troupe_journal *j = open_full(dir);
    troupe_system *sys = pers_system(j, 2);
    troupe_ref r[NACT];
    spawn_and_tell(sys, r, PER);
    troupe_system_destroy(sys); /* waits for the journal's answers */
    troupe_journal_stats st;
    cr_assert_eq(troupe_journal_stats_get(j, &st), 0);
    troupe_journal_close(j);
    ledger back[NACT];
    recovered(dir, back);
    uint64_t sum = 0;
    for (int i = 0; i < NACT; i++) {
        cr_assert_leq(back[i].n, PER);
        ledger prefix = values_1_to(back[i].n);
        cr_expect_eq(memcmp(&back[i], &prefix, sizeof prefix), 0, "actor %d: not 1..%llu", i,
                     (unsigned long long)back[i].n);
        sum += back[i].n;
    }
    cr_expect_eq(sum, st.events, "recovered %llu, committed %llu", (unsigned long long)sum,
                 (unsigned long long)st.events);
    pers_rmdir(dir);
}

/* The sync fault is drawn by the syncer once per commit: after two commits
 * acknowledged the third fails its actor; that event may be stored
 * (durability unknown), never acknowledged. */
Test(jsync, the_sync_fault_comes_after_the_count_of_commits, .timeout = 120)
{
    char *dir = pers_tmpdir();
    troupe_journal *j = open_full(dir);
    troupe_system *sys = pers_system(j, 2);
    troupe_ref r = ledger_start_child(sys, "jsync-count");
    cr_assert_eq(troupe_fault_journal(TROUPE_FAULT_JOURNAL_SYNC, 2), 0);
    ledger_ask(sys, r, P_ADD, 1);
    ledger_ask(sys, r, P_ADD, 2);
    uint64_t v = 3;
    cr_assert_eq(troupe_tell(sys, r, P_ADD, &v, sizeof v), 0);
    troupe_child_info ci;
    wait_until(troupe_child_info_get(sys, r, &ci) == 0 &&
               ci.exits_by_kind[TROUPE_EXIT_PERSISTENCE] == 1);
    cr_assert_eq(troupe_fault_journal(TROUPE_FAULT_JOURNAL_SYNC, -1), 0);
    cr_expect(strstr(ci.last_reason, "sync"), "reason: %s", ci.last_reason);
    wait_until(troupe_child_info_get(sys, r, &ci) == 0 && ci.restarts >= 1);
    ledger got = ledger_ask(sys, r, P_GET, 0);
    cr_expect(got.n == 2 || got.n == 3, "n %llu", (unsigned long long)got.n);
    troupe_journal_stats st;
    cr_assert_eq(troupe_journal_stats_get(j, &st), 0);
    cr_expect_geq(st.failures, 1);
    troupe_system_destroy(sys);
    troupe_journal_close(j);
    pers_rmdir(dir);
}

/* NORMAL syncs nothing per commit: no syncer, the same answers. */
Test(jsync, a_normal_journal_acknowledges_the_same_way, .timeout = 120)
{
    char *dir = pers_tmpdir();
    troupe_journal *j = NULL;
    cr_assert_eq(troupe_journal_open_sqlite(dir, TROUPE_SQLITE_NORMAL, &j), 0);
    troupe_system *sys = pers_system(j, 2);
    troupe_ref r[NACT];
    spawn_and_tell(sys, r, 5);
    ledger want = values_1_to(5);
    for (int i = 0; i < NACT; i++) {
        ledger got = ledger_ask(sys, r[i], P_GET, 0);
        cr_expect_eq(memcmp(&got, &want, sizeof want), 0, "actor %d", i);
    }
    troupe_system_destroy(sys);
    troupe_journal_close(j);
    pers_rmdir(dir);
}
