/* cluster/pgq.c — one libpq query with a deadline of troupe's own: the
 * connection is nonblocking and polled against the deadline, so no libpq
 * call holds the caller past it (a partition would otherwise block a
 * blocking PQexec for as long as TCP retries). */
#include "cluster/pgq.h"

#include <poll.h>

#include "core/common.h"

/* Wait until the socket is ready for ev or the deadline passes. */
static int wait_sock(PGconn *c, short ev, uint64_t deadline_ns)
{
    uint64_t now = mono_ns();
    if (now >= deadline_ns)
        return TROUPE_ETIMEDOUT;
    uint64_t ms = (deadline_ns - now + 999999) / 1000000;
    struct pollfd p = {.fd = PQsocket(c), .events = ev};
    int r = poll(&p, 1, ms > 60000 ? 60000 : (int)ms);
    return r < 0 ? TROUPE_ESYS : 0;
}

static int send_all(PGconn *c, uint64_t deadline_ns)
{
    int f;
    while ((f = PQflush(c)) == 1) {
        int rc = wait_sock(c, POLLOUT | POLLIN, deadline_ns);
        if (rc)
            return rc;
        if (!PQconsumeInput(c))
            return TROUPE_EIO;
    }
    return f == 0 ? 0 : TROUPE_EIO;
}

static int read_all(PGconn *c, uint64_t deadline_ns, PGresult **out)
{
    while (PQisBusy(c)) {
        int rc = wait_sock(c, POLLIN, deadline_ns);
        if (rc)
            return rc;
        if (!PQconsumeInput(c))
            return TROUPE_EIO;
    }
    PGresult *r, *last = NULL;
    while ((r = PQgetResult(c)) != NULL) { /* keep the last result only */
        PQclear(last);
        last = r;
    }
    *out = last;
    return last ? 0 : TROUPE_EIO;
}

int pgq_exec(PGconn *c, const char *sql, int n, const char *const *params, uint64_t deadline_ns,
             PGresult **out)
{
    *out = NULL;
    if (PQstatus(c) != CONNECTION_OK || PQsetnonblocking(c, 1) != 0)
        return TROUPE_EIO;
    /* no parameters: the simple protocol, which takes several statements */
    int sent = n == 0 ? PQsendQuery(c, sql)
                      : PQsendQueryParams(c, sql, n, NULL, params, NULL, NULL, 0);
    if (!sent)
        return TROUPE_EIO;
    int rc = send_all(c, deadline_ns);
    if (!rc)
        rc = read_all(c, deadline_ns, out);
    if (rc)
        return rc; /* the connection is mid-query: the caller drops it */
    ExecStatusType st = PQresultStatus(*out);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        PQclear(*out);
        *out = NULL;
        return TROUPE_EIO;
    }
    return 0;
}

/* CREATE ... IF NOT EXISTS says "already exists, skipping" as a NOTICE,
 * which libpq would print on stderr. */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

void pgq_quiet(PGconn *c)
{
    if (c)
        PQsetNoticeProcessor(c, quiet, NULL);
}

int pgq_run(PGconn **pc, const char *conninfo, const char *sql, int n, const char *const *params,
            uint64_t deadline_ns, PGresult **out)
{
    *out = NULL;
    if (!*pc && !(*pc = PQconnectdb(conninfo))) /* bounded by the conninfo's connect_timeout */
        return TROUPE_ENOMEM;
    pgq_quiet(*pc);
    int rc = PQstatus(*pc) == CONNECTION_OK ? pgq_exec(*pc, sql, n, params, deadline_ns, out)
                                            : TROUPE_EIO;
    if (rc == TROUPE_ETIMEDOUT || PQstatus(*pc) != CONNECTION_OK) {
        PQfinish(*pc); /* mid-query or lost: a fresh one next time */
        *pc = NULL;
    }
    return rc;
}
