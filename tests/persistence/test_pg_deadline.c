/* tests/persistence/test_pg_deadline.c — the PostgreSQL backend's calls
 * are bounded on the client's clock (persistence/pg_wait.c). The server
 * process serving the backend's connection is stopped (SIGSTOP: it reads
 * nothing and answers nothing, as across a partition); each operation then
 * fails with TROUPE_EIO "timed out" instead of waiting for it, writes
 * nothing, and the next operation reconnects (a new server process) and
 * succeeds. The process is resumed (SIGCONT) before each test ends.
 * Runs under run_pg.sh (TROUPE_PG_CONNINFO). */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "persistence/backend.h"
#include "persistence/pg_int.h"

static PGconn *admin;

static const char *conninfo(void)
{
    const char *c = getenv("TROUPE_PG_CONNINFO");
    cr_assert(c, "run through tests/persistence/run_pg.sh");
    return c;
}

static void setup(void)
{
    admin = PQconnectdb(conninfo());
    cr_assert_eq(PQstatus(admin), CONNECTION_OK);
    PQclear(PQexec(admin, "SET client_min_messages = warning"));
    PQclear(PQexec(admin, "CREATE TABLE IF NOT EXISTS deadline_g (pid text PRIMARY KEY,"
                          " epoch bigint NOT NULL)"));
}

static void teardown(void)
{
    PQfinish(admin);
}

TestSuite(pg_deadline, .init = setup, .fini = teardown);

/* A backend whose connection is named `app`, each call bounded at 1.5 s. */
static backend *open_named(const char *app)
{
    char ci[1024];
    snprintf(ci, sizeof ci, "%s application_name=%s", conninfo(), app);
    backend *b = NULL;
    char err[BACKEND_ERR_MAX];
    cr_assert_eq(backend_pg_open(ci, &b, err), 0, "%s", err);
    pg_set_timeout(b, 1500);
    return b;
}

/* The server process of the connection named app. */
static pid_t server_of(const char *app)
{
    char q[256];
    snprintf(q, sizeof q, "SELECT pid FROM pg_stat_activity WHERE application_name = '%s'", app);
    PGresult *r = PQexec(admin, q);
    cr_assert_eq(PQntuples(r), 1, "%s", PQresultErrorMessage(r));
    pid_t pid = (pid_t)atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return pid;
}

static pevent ev(const char *pid, uint64_t seq, uint64_t guard)
{
    static const char data[] = "deadline";
    return (pevent){.pid = pid, .seq = seq, .schema = 1, .data = data, .len = sizeof data,
                    .guard = guard};
}

static uint64_t last(backend *b, const char *pid)
{
    uint64_t seq = 0;
    char err[BACKEND_ERR_MAX];
    cr_assert_eq(b->ops->last_seq(b, pid, &seq, err), 0, "%s", err);
    return seq;
}

Test(pg_deadline, an_append_to_a_stopped_server_fails_in_time_and_the_next_one_reconnects)
{
    backend *b = open_named("troupe_dl_append");
    char err[BACKEND_ERR_MAX] = "";
    pevent e1 = ev("dl/append", 1, 0), e2 = ev("dl/append", 2, 0);
    cr_assert_eq(b->ops->append(b, &e1, 1, err), 0, "%s", err);
    pid_t srv = server_of("troupe_dl_append");
    cr_assert_eq(kill(srv, SIGSTOP), 0);
    int rc = b->ops->append(b, &e2, 1, err); /* blocked for good without the deadline */
    cr_expect_eq(rc, TROUPE_EIO);
    cr_expect(strstr(err, "timed out") != NULL, "%s", err);
    /* a new connection (a new server process): nothing of the failed one */
    cr_expect_eq(last(b, "dl/append"), 1);
    cr_expect_eq(b->ops->append(b, &e2, 1, err), 0, "%s", err);
    kill(srv, SIGCONT);
    cr_expect_eq(last(b, "dl/append"), 2);
    b->ops->close(b);
}

Test(pg_deadline, a_guarded_append_to_a_stopped_server_fails_fences_nothing_writes_nothing)
{
    PQclear(PQexec(admin, "INSERT INTO deadline_g VALUES ('dl/guarded', 7)"));
    backend *b = open_named("troupe_dl_guarded");
    char err[BACKEND_ERR_MAX] = "";
    pevent e1 = ev("dl/guarded", 1, 7);
    unsigned char fenced[1] = {0};
    pid_t srv = server_of("troupe_dl_guarded");
    cr_assert_eq(kill(srv, SIGSTOP), 0);
    int rc = b->ops->append_guarded(b, &e1, 1, "deadline_g", fenced, err);
    cr_expect_eq(rc, TROUPE_EIO);
    cr_expect_eq(fenced[0], 0); /* not refused: not answered */
    cr_expect(strstr(err, "timed out") != NULL, "%s", err);
    cr_expect_eq(last(b, "dl/guarded"), 0);
    cr_expect_eq(b->ops->append_guarded(b, &e1, 1, "deadline_g", fenced, err), 0, "%s", err);
    kill(srv, SIGCONT);
    cr_expect_eq(last(b, "dl/guarded"), 1);
    b->ops->close(b);
}

static int count_ev(void *ud, uint64_t seq, uint32_t schema, const void *data, size_t len)
{
    (void)seq, (void)schema, (void)data, (void)len;
    ++*(int *)ud;
    return 0;
}

Test(pg_deadline, a_read_from_a_stopped_server_fails_in_time)
{
    backend *b = open_named("troupe_dl_read");
    char err[BACKEND_ERR_MAX] = "";
    pevent e[2] = {ev("dl/read", 1, 0), ev("dl/read", 2, 0)};
    cr_assert_eq(b->ops->append(b, e, 2, err), 0, "%s", err);
    pid_t srv = server_of("troupe_dl_read");
    cr_assert_eq(kill(srv, SIGSTOP), 0);
    int n = 0;
    cr_expect_eq(b->ops->read(b, "dl/read", 0, count_ev, &n, err), TROUPE_EIO);
    cr_expect(strstr(err, "timed out") != NULL, "%s", err);
    n = 0;
    cr_expect_eq(b->ops->read(b, "dl/read", 0, count_ev, &n, err), 0, "%s", err);
    cr_expect_eq(n, 2);
    kill(srv, SIGCONT);
    b->ops->close(b);
}
