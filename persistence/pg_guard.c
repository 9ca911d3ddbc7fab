/* persistence/pg_guard.c — the PostgreSQL backend's guarded append
 * (backend.h, append_guarded): the events of an actor are stored only
 * while the guard table still names the writer's ownership epoch.
 *
 * One transaction: BEGIN, one SELECT ... FOR SHARE over every guarded
 * (persistence id, epoch) of the batch (two arrays, one round trip), the
 * COPY, COMMIT. The share lock is what makes the check safe: an
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
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

#define PG_GUARD_IDLE_MS 1000
#define PG_GUARD_STMT_MS 5000

static const char pg_begin[] =
    "BEGIN; SET LOCAL idle_in_transaction_session_timeout = 1000;"
    " SET LOCAL statement_timeout = 5000";
_Static_assert(PG_GUARD_IDLE_MS == 1000 && PG_GUARD_STMT_MS == 5000, "pg_begin's literals");

/* The distinct (pid, epoch) pairs of a batch: the event that stands for
 * each pair, and each guarded event's pair (-1: unguarded). A hash of the
 * pairs, so a batch of 8192 events costs 8192 probes, not n^2 compares. */
typedef struct pairs {
    size_t n, *first;
    long *of;
    unsigned char *passed;
} pairs;

static uint64_t pair_hash(const pevent *e)
{
    uint64_t h = 14695981039346656037ull ^ e->guard;
    for (const char *c = e->pid; *c; c++)
        h = (h ^ (uint8_t)*c) * 1099511628211ull;
    return h;
}

static int pairs_build(pairs *g, const pevent *ev, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    long *slot = sys_malloc(cap * sizeof *slot);
    g->first = sys_malloc(n * sizeof *g->first);
    g->of = sys_malloc(n * sizeof *g->of);
    g->passed = sys_calloc(n, 1);
    if (!slot || !g->first || !g->of || !g->passed) {
        free(slot);
        return TROUPE_ENOMEM;
    }
    memset(slot, 0xff, cap * sizeof *slot); /* -1: empty */
    for (size_t i = 0; i < n; i++) {
        g->of[i] = -1;
        size_t h = ev[i].guard ? (size_t)pair_hash(&ev[i]) & (cap - 1) : 0;
        while (ev[i].guard && slot[h] >= 0 &&
               (ev[g->first[slot[h]]].guard != ev[i].guard ||
                strcmp(ev[g->first[slot[h]]].pid, ev[i].pid) != 0))
            h = (h + 1) & (cap - 1);
        if (ev[i].guard && slot[h] < 0) {
            slot[h] = (long)g->n;
            g->first[g->n++] = i;
        }
        if (ev[i].guard)
            g->of[i] = slot[h];
    }
    free(slot);
    return 0;
}

static void pairs_free(pairs *g)
{
    free(g->first);
    free(g->of);
    free(g->passed);
}

/* An array literal element: "..." with " and \ escaped. */
static char *put_quoted(char *o, const char *s)
{
    *o++ = '"';
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            *o++ = '\\';
        *o++ = *s;
    }
    *o++ = '"';
    return o;
}

/* The pairs as two array literals, {"pid",...} and {epoch,...}. */
static int pairs_literals(const pairs *g, const pevent *ev, char **pids, char **epochs)
{
    size_t np = 3, ne = 3;
    for (size_t k = 0; k < g->n; k++) {
        np += 2 * strlen(ev[g->first[k]].pid) + 3;
        ne += 21;
    }
    char *a = sys_malloc(np), *b = sys_malloc(ne), *o = a, *q = b;
    if (!a || !b) {
        free(a);
        free(b);
        return TROUPE_ENOMEM;
    }
    *o++ = '{';
    *q++ = '{';
    for (size_t k = 0; k < g->n; k++) {
        o = put_quoted(o, ev[g->first[k]].pid);
        q += snprintf(q, 22, "%llu", (unsigned long long)ev[g->first[k]].guard);
        *o++ = k + 1 < g->n ? ',' : '}';
        *q++ = k + 1 < g->n ? ',' : '}';
    }
    if (g->n == 0)
        *o++ = '}', *q++ = '}';
    *o = *q = '\0';
    *pids = a;
    *epochs = b;
    return 0;
}

/* One statement for every pair: the rows still at their epoch, locked
 * FOR SHARE until the commit; g->passed[k] for each pair found. */
static int pg_check(pgb *p, const char *table, pairs *g, const pevent *ev, char *err)
{
    char sql[320], *pids, *epochs;
    snprintf(sql, sizeof sql,
             "SELECT g.i FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS g(pid, epoch, i)"
             " JOIN %s o ON o.pid = g.pid AND o.epoch = g.epoch FOR SHARE OF o", table);
    int rc = pairs_literals(g, ev, &pids, &epochs);
    if (rc < 0)
        return rc;
    const char *vals[2] = {pids, epochs};
    PGresult *r = PQexecParams(p->conn, sql, 2, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = pg_fail(p, r, "append (guard)", err);
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        long k = strtol(PQgetvalue(r, i, 0), NULL, 10) - 1;
        if (k >= 0 && (size_t)k < g->n)
            g->passed[k] = 1;
    }
    PQclear(r);
    free(pids);
    free(epochs);
    return rc;
}

/* Check every guard; mark the events of a failed one. 0, EFENCED, < 0. */
static int pg_guards(pgb *p, const pevent *ev, size_t n, const char *table,
                     unsigned char *fenced, char *err)
{
    pairs g = {0};
    int rc = pairs_build(&g, ev, n);
    if (rc == 0)
        rc = pg_check(p, table, &g, ev, err);
    int refused = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        fenced[i] = g.of[i] >= 0 && !g.passed[g.of[i]];
        refused |= fenced[i];
    }
    pairs_free(&g);
    if (rc < 0)
        return rc;
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
