/* persistence/pg_wait.c — every libpq call of the PostgreSQL backend,
 * bounded by a deadline of troupe's own (pgb.deadline_ns).
 *
 * A blocking libpq call waits as long as the kernel's TCP does: through a
 * network partition, a SIGSTOPped server or a dead host, for many minutes
 * (libpq has no timeout of its own but connect_timeout, and keepalives
 * see nothing while data is unacknowledged). So the connection is
 * nonblocking and every wait is a poll() against the deadline, armed at
 * the start of each backend operation (pg_arm). At the deadline the call
 * fails, the connection — now mid-protocol — is marked timed out and
 * broken, no libpq call touches it again, and the next operation resets
 * it (pg_ready). The journal fails the batch's actors, as for any failed
 * transaction: an append that timed out is never acknowledged. It may
 * still commit if the server had the whole of it (as for a connection
 * lost after the commit was sent): not acknowledged, yet stored — but not
 * from bytes still in our socket: the reset discards them (pg_wait_reset).
 */
#include "persistence/pg_int.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void pg_arm(pgb *p)
{
    p->deadline_ns = now_ns() + (uint64_t)p->timeout_ms * 1000000ull;
}

/* Wait until the socket is ready for ev; 0, or -1 at the deadline
 * (p->timed_out) or with no socket: the connection is then given up. */
static int pg_poll(pgb *p, short ev)
{
    while (!p->timed_out && PQsocket(p->conn) >= 0) {
        uint64_t now = now_ns();
        if (now >= p->deadline_ns) {
            p->timed_out = 1;
            break;
        }
        uint64_t ms = (p->deadline_ns - now + 999999) / 1000000;
        struct pollfd f = {.fd = PQsocket(p->conn), .events = ev};
        int r = poll(&f, 1, ms > 60000 ? 60000 : (int)ms);
        if (r > 0)
            return 0;
        if (r < 0 && errno != EINTR)
            break;
    }
    p->broken = 1;
    return -1;
}

/* Everything queued reaches the socket: 0, or -1 (timed out or lost). */
static int pg_flush(pgb *p)
{
    int f;
    while ((f = PQflush(p->conn)) == 1) {
        if (pg_poll(p, POLLOUT | POLLIN) < 0)
            return -1;
        if (!PQconsumeInput(p->conn)) /* the server may answer while we send */
            return -1;
    }
    return f == 0 ? 0 : -1;
}

static int pg_sent(pgb *p, int queued)
{
    return queued && pg_flush(p) == 0 ? 0 : -1;
}

int pg_wait_send(pgb *p, const char *sql)
{
    return p->timed_out ? -1 : pg_sent(p, PQsendQuery(p->conn, sql));
}

/* The next result, as PQgetResult, but waiting at most until the
 * deadline: NULL at the end of the results, on a lost connection, or at
 * the deadline (p->timed_out). */
PGresult *pg_wait_result(pgb *p)
{
    if (p->timed_out)
        return NULL;
    while (PQisBusy(p->conn)) {
        if (pg_poll(p, POLLIN) < 0 || !PQconsumeInput(p->conn))
            return NULL;
    }
    return PQgetResult(p->conn);
}

/* PQexec's answer: every result read, the first error kept (else the
 * last result); a COPY's start ends the reading (the caller streams). */
static PGresult *pg_collect(pgb *p)
{
    PGresult *r, *keep = NULL;
    while ((r = pg_wait_result(p)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        bool err = st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE;
        bool kept_err = keep && PQresultStatus(keep) == PGRES_FATAL_ERROR;
        if (kept_err && !err) {
            PQclear(r);
            continue;
        }
        PQclear(keep);
        keep = r;
        if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT)
            break;
    }
    return keep;
}

PGresult *pg_wait_exec(pgb *p, const char *sql)
{
    return pg_wait_send(p, sql) == 0 ? pg_collect(p) : NULL;
}

PGresult *pg_wait_prepared(pgb *p, const char *st, int n, const char *const *vals,
                           const int *lens, const int *formats)
{
    if (p->timed_out)
        return NULL;
    return pg_sent(p, PQsendQueryPrepared(p->conn, st, n, vals, lens, formats, 1)) == 0
               ? pg_collect(p)
               : NULL;
}

PGresult *pg_wait_prepare(pgb *p, const char *name, const char *sql, int n, const Oid *types)
{
    if (p->timed_out)
        return NULL;
    return pg_sent(p, PQsendPrepare(p->conn, name, sql, n, types)) == 0 ? pg_collect(p) : NULL;
}

/* PQputCopyData, retried while libpq's buffer is full: 1 or -1. */
int pg_wait_put(pgb *p, const char *buf, int n)
{
    int r;
    while (!p->timed_out && (r = PQputCopyData(p->conn, buf, n)) == 0) {
        if (pg_poll(p, POLLOUT) < 0 || PQflush(p->conn) < 0)
            return -1;
    }
    return p->timed_out || r != 1 ? -1 : 1;
}

/* PQputCopyEnd, then everything flushed: 1 or -1. */
int pg_wait_put_end(pgb *p, const char *errmsg)
{
    int r;
    while (!p->timed_out && (r = PQputCopyEnd(p->conn, errmsg)) == 0) {
        if (pg_poll(p, POLLOUT) < 0 || PQflush(p->conn) < 0)
            return -1;
    }
    return !p->timed_out && r == 1 && pg_flush(p) == 0 ? 1 : -1;
}

/* Connect (or reset: again to the same server) with the socket polled as
 * PQconnectPoll asks: 0, or -1 at the deadline or on failure. */
static int pg_poll_connect(pgb *p, PostgresPollingStatusType (*step)(PGconn *))
{
    PostgresPollingStatusType s = PGRES_POLLING_WRITING;
    while (s != PGRES_POLLING_OK && s != PGRES_POLLING_FAILED) {
        if (pg_poll(p, s == PGRES_POLLING_READING ? POLLIN : POLLOUT) < 0)
            return -1;
        s = step(p->conn);
    }
    if (s != PGRES_POLLING_OK || PQsetnonblocking(p->conn, 1) != 0)
        return -1;
    p->timed_out = p->broken = 0;
    return 0;
}

int pg_wait_connect(pgb *p, const char *conninfo)
{
    if (!(p->conn = PQconnectStart(conninfo)))
        return TROUPE_ENOMEM;
    if (PQstatus(p->conn) == CONNECTION_BAD)
        return TROUPE_EIO;
    return pg_poll_connect(p, PQconnectPoll) == 0 ? 0 : TROUPE_EIO;
}

int pg_wait_reset(pgb *p)
{
    /* A call given up mid-way: the socket is closed with what it still
     * holds unsent discarded (linger 0), so a transaction reported failed
     * is not completed by TCP after a partition heals. */
    struct linger off = {.l_onoff = 1, .l_linger = 0};
    if (p->timed_out && PQsocket(p->conn) >= 0)
        (void)setsockopt(PQsocket(p->conn), SOL_SOCKET, SO_LINGER, &off, sizeof off);
    p->timed_out = 0; /* a new socket: polled afresh */
    if (!PQresetStart(p->conn))
        return TROUPE_EIO;
    return pg_poll_connect(p, PQresetPoll) == 0 ? 0 : TROUPE_EIO;
}
