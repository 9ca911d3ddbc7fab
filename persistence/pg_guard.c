/* persistence/pg_guard.c — the PostgreSQL backend's guarded append
 * (backend.h, append_guarded): the events of an actor are stored only
 * while the guard table still names the writer's ownership epoch.
 *
 * One transaction: BEGIN, one SELECT ... FOR SHARE per guarded persistence
 * id, the COPY, COMMIT. The share lock is what makes the check safe: an
 * ownership change is an UPDATE of the guard row, which conflicts with it.
 * Either the change commits first, and our SELECT (READ COMMITTED re-reads
 * a row updated under it) no longer finds the epoch: nothing is written;
 * or our lock is first, the change waits for our commit, and the new owner
 * recovers from a journal that holds our events. A writer paused inside
 * the transaction holds the lock at most PG_GUARD_IDLE_MS: the server ends
 * an idle transaction (its commit then fails, nothing written), so a new
 * owner's claim does not wait for a process that may never resume.
 */
#include "persistence/pg_int.h"

#include <stdio.h>
#include <string.h>

#define PG_GUARD_IDLE_MS 1000
#define PG_GUARD_STMT_MS 5000

static const char pg_begin[] =
    "BEGIN; SET LOCAL idle_in_transaction_session_timeout = 1000;"
    " SET LOCAL statement_timeout = 5000";
_Static_assert(PG_GUARD_IDLE_MS == 1000 && PG_GUARD_STMT_MS == 5000, "pg_begin's literals");

/* Does `table` hold (pid, epoch)? 1 yes (row locked), 0 no, < 0 error. */
static int pg_guard_one(pgb *p, const char *table, const char *pid, uint64_t epoch, char *err)
{
    char sql[160], e[24];
    snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE pid = $1 AND epoch = $2::bigint FOR SHARE",
             table);
    snprintf(e, sizeof e, "%llu", (unsigned long long)epoch);
    const char *vals[2] = {pid, e};
    PGresult *r = PQexecParams(p->conn, sql, 2, NULL, vals, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) == 1
                                                  : pg_fail(p, r, "append (guard)", err);
    PQclear(r);
    return rc;
}

/* Was pid's guard checked earlier in the batch (same pid, same epoch)? */
static long pg_seen(const pevent *ev, size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (ev[k].guard == ev[i].guard && strcmp(ev[k].pid, ev[i].pid) == 0)
            return (long)k;
    return -1;
}

/* Check every guard; mark the events of a failed one. 0, EFENCED, < 0. */
static int pg_guards(pgb *p, const pevent *ev, size_t n, const char *table,
                     unsigned char *fenced, char *err)
{
    int refused = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ev[i].guard)
            continue;
        long k = pg_seen(ev, i);
        int ok = k >= 0 ? !fenced[k] : pg_guard_one(p, table, ev[i].pid, ev[i].guard, err);
        if (ok < 0)
            return ok;
        fenced[i] = !ok;
        refused |= !ok;
    }
    if (refused)
        backend_errf(err, "postgres append: fenced: an ownership epoch in %s is no longer the"
                          " writer's", table);
    return refused ? TROUPE_EFENCED : 0;
}

static void pg_rollback(pgb *p)
{
    if (!p->broken && PQstatus(p->conn) == CONNECTION_OK)
        PQclear(PQexec(p->conn, "ROLLBACK"));
}

int pg_append_guarded(backend *b, const pevent *ev, size_t n, const char *table,
                      unsigned char *fenced, char *err)
{
    int rc = backend_check_events(b, ev, n, err);
    pgb *p = (pgb *)b;
    if (rc == 0 && (!table || !fenced)) {
        backend_errf(err, "postgres append: %s is NULL", table ? "fenced" : "table");
        rc = TROUPE_EINVAL;
    }
    if (rc < 0 || n == 0 || (rc = pg_ready(p, "append", err)) < 0)
        return rc;
    if ((rc = pg_exec(p, pg_begin, "append (begin)", err)) < 0)
        return rc;
    rc = pg_guards(p, ev, n, table, fenced, err);
    if (rc == 0)
        rc = pg_copy(p, ev, n, err);
    if (rc == 0)
        return pg_exec(p, "COMMIT", "append (commit)", err);
    pg_rollback(p);
    return rc;
}
