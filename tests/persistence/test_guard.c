/* tests/persistence/test_guard.c — append guards (persistence/guard.h) on
 * the PostgreSQL backend, below any cluster: an event is stored only while
 * the guard table holds its writer's epoch, in the append's transaction.
 * Runs under run_pg.sh (TROUPE_PG_CONNINFO); each test has its own ids. */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "persistence/backend.h"

static PGconn *admin;
static backend *b;

static const char *conninfo(void)
{
    const char *c = getenv("TROUPE_PG_CONNINFO");
    cr_assert(c, "run through tests/persistence/run_pg.sh");
    return c;
}

static void sql(const char *q)
{
    PGresult *r = PQexec(admin, q);
    ExecStatusType st = PQresultStatus(r);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", q,
              PQresultErrorMessage(r));
    PQclear(r);
}

static void setup(void)
{
    admin = PQconnectdb(conninfo());
    cr_assert_eq(PQstatus(admin), CONNECTION_OK);
    PQclear(PQexec(admin, "SET client_min_messages = warning"));
    sql("CREATE TABLE IF NOT EXISTS guard_t (pid text PRIMARY KEY, epoch bigint NOT NULL)");
    char err[BACKEND_ERR_MAX];
    cr_assert_eq(backend_pg_open(conninfo(), &b, err), 0, "%s", err);
}

static void teardown(void)
{
    b->ops->close(b);
    PQfinish(admin);
}

TestSuite(guard, .init = setup, .fini = teardown);

static uint64_t stored(const char *pid)
{
    uint64_t seq = 0;
    char err[BACKEND_ERR_MAX];
    cr_assert_eq(b->ops->last_seq(b, pid, &seq, err), 0, "%s", err);
    return seq;
}

Test(guard, the_current_epoch_writes)
{
    sql("INSERT INTO guard_t VALUES ('g1', 7)");
    pevent ev[2] = {{.pid = "g1", .seq = 1, .schema = 1, .data = "a", .len = 1, .guard = 7},
                    {.pid = "g1", .seq = 2, .schema = 1, .data = "b", .len = 1, .guard = 7}};
    unsigned char fenced[2] = {0};
    char err[BACKEND_ERR_MAX];
    cr_expect_eq(b->ops->append_guarded(b, ev, 2, "guard_t", fenced, err), 0, "%s", err);
    cr_expect_eq(stored("g1"), 2);
    cr_expect(!fenced[0] && !fenced[1]);
}

/* A stale epoch, a missing row: nothing of the batch is written, and only
 * the events of the failing id are marked; the others go in a retry. */
Test(guard, a_stale_epoch_writes_nothing_and_marks_only_its_events)
{
    sql("INSERT INTO guard_t VALUES ('g2', 3), ('g3', 1)");
    pevent ev[4] = {{.pid = "g3", .seq = 1, .schema = 1, .data = "x", .len = 1, .guard = 1},
                    {.pid = "g2", .seq = 1, .schema = 1, .data = "y", .len = 1, .guard = 2},
                    {.pid = "g4", .seq = 1, .schema = 1, .data = "z", .len = 1, .guard = 1},
                    {.pid = "u", .seq = 1, .schema = 1, .data = "w", .len = 1}};
    unsigned char fenced[4] = {0};
    char err[BACKEND_ERR_MAX] = "";
    cr_expect_eq(b->ops->append_guarded(b, ev, 4, "guard_t", fenced, err), TROUPE_EFENCED);
    cr_expect(strstr(err, "fenced"), "%s", err);
    cr_expect(!fenced[0] && fenced[1] && fenced[2] && !fenced[3]);
    cr_expect_eq(stored("g3") + stored("g2") + stored("g4") + stored("u"), 0, "nothing written");
    /* the connection is usable: the kept events go through */
    pevent kept[2] = {ev[0], ev[3]};
    unsigned char f2[2] = {0};
    cr_expect_eq(b->ops->append_guarded(b, kept, 2, "guard_t", f2, err), 0, "%s", err);
    cr_expect_eq(stored("g3"), 1);
    cr_expect_eq(stored("u"), 1);
}

/* An ownership change committed before the append is seen by it. */
Test(guard, an_epoch_bumped_before_the_append_fences_it)
{
    sql("INSERT INTO guard_t VALUES ('g5', 1)");
    pevent e1 = {.pid = "g5", .seq = 1, .schema = 1, .data = "a", .len = 1, .guard = 1};
    unsigned char f = 0;
    char err[BACKEND_ERR_MAX];
    cr_assert_eq(b->ops->append_guarded(b, &e1, 1, "guard_t", &f, err), 0, "%s", err);
    sql("UPDATE guard_t SET epoch = 2 WHERE pid = 'g5'");
    pevent e2 = {.pid = "g5", .seq = 2, .schema = 1, .data = "b", .len = 1, .guard = 1};
    cr_expect_eq(b->ops->append_guarded(b, &e2, 1, "guard_t", &f, err), TROUPE_EFENCED);
    cr_expect_eq(f, 1);
    cr_expect_eq(stored("g5"), 1);
    e2.guard = 2;
    f = 0;
    cr_expect_eq(b->ops->append_guarded(b, &e2, 1, "guard_t", &f, err), 0, "%s", err);
    cr_expect_eq(stored("g5"), 2);
}

Test(guard, bad_arguments)
{
    pevent e = {.pid = "g6", .seq = 1, .schema = 1, .data = "a", .len = 1, .guard = 1};
    unsigned char f = 0;
    char err[BACKEND_ERR_MAX];
    cr_expect_eq(b->ops->append_guarded(b, &e, 1, NULL, &f, err), TROUPE_EINVAL);
    cr_expect_eq(b->ops->append_guarded(b, &e, 1, "guard_t", NULL, err), TROUPE_EINVAL);
    cr_expect_eq(b->ops->append_guarded(b, &e, 0, "guard_t", &f, err), 0);
    cr_expect_eq(stored("g6"), 0);
}

/* The race that matters: an ownership change in flight (updated, not yet
 * committed) while the append checks. The append waits on the row lock;
 * when the change commits, it re-reads the row and is fenced; when the
 * change rolls back, it writes. */
typedef struct appender {
    pevent e;
    unsigned char fenced;
    int rc;
    char err[BACKEND_ERR_MAX];
} appender;

static void *append_thread(void *arg)
{
    appender *a = arg;
    a->rc = b->ops->append_guarded(b, &a->e, 1, "guard_t", &a->fenced, a->err);
    return NULL;
}

/* Bounded: until some session waits on a lock (the appender), 10 s. */
static void wait_for_lock_waiter(void)
{
    for (int i = 0; i < 1000; i++) {
        PGresult *r = PQexec(admin, "SELECT count(*) FROM pg_stat_activity"
                                    " WHERE wait_event_type = 'Lock'");
        int n = atoi(PQgetvalue(r, 0, 0));
        PQclear(r);
        if (n > 0)
            return;
        usleep(10 * 1000);
    }
    cr_assert_fail("the append never waited for the row lock");
}

static void race(const char *pid, const char *end, int want_rc, uint64_t want_stored)
{
    char q[160];
    snprintf(q, sizeof q, "INSERT INTO guard_t VALUES ('%s', 1)", pid);
    sql(q);
    PGconn *owner = PQconnectdb(conninfo());
    snprintf(q, sizeof q, "BEGIN; UPDATE guard_t SET epoch = 2 WHERE pid = '%s'", pid);
    PQclear(PQexec(owner, q));
    appender a = {.e = {.pid = pid, .seq = 1, .schema = 1, .data = "a", .len = 1, .guard = 1}};
    pthread_t t;
    pthread_create(&t, NULL, append_thread, &a);
    wait_for_lock_waiter();
    PQclear(PQexec(owner, end));
    pthread_join(t, NULL);
    PQfinish(owner);
    cr_expect_eq(a.rc, want_rc, "%s: %s", end, a.err);
    cr_expect_eq(a.fenced, want_rc == TROUPE_EFENCED);
    cr_expect_eq(stored(pid), want_stored);
}

Test(guard, a_change_committed_while_the_append_waits_fences_it)
{
    race("g7", "COMMIT", TROUPE_EFENCED, 0);
}

Test(guard, a_change_rolled_back_while_the_append_waits_lets_it_write)
{
    race("g8", "ROLLBACK", 0, 1);
}
