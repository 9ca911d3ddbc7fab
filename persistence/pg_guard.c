/* persistence/pg_guard.c — the PostgreSQL backend's guarded append
 * (backend.h, append_guarded): the events of an actor are stored only
 * while the guard table still names the writer's ownership epoch.
 *
 * One transaction: BEGIN; the batch COPYed into a temporary table
 * (troupe_stage, emptied at commit); then ONE message of two statements,
 * so the server runs them back to back without waiting for us:
 *
 *   WITH ok AS (the batch's (pid, epoch) pairs joined with the guard
 *               table, FOR SHARE OF it),
 *        ins AS (INSERT INTO troupe_events SELECT * FROM troupe_stage
 *                WHERE every pair is in ok)
 *   SELECT the pairs in ok; COMMIT
 *
 * The share lock orders the append against an ownership change (an UPDATE
 * of the guard row): a change committed first makes the join miss its
 * pair, and nothing is inserted; a lock taken first makes the change wait
 * for our commit, so the new owner recovers from a journal that holds
 * these events. The lock is taken only by that last message: a writer
 * paused (SIGSTOP) while it streams the COPY holds no lock that a new
 * owner's claim or its appends would wait for (the staging table is its
 * own), and one paused between the two statements is "idle in
 * transaction", ended by the server after PG_GUARD_IDLE_MS.
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
    " SET LOCAL statement_timeout = 5000;"
    "CREATE TEMP TABLE IF NOT EXISTS troupe_stage (pid text COLLATE \"C\" NOT NULL,"
    " seq bigint NOT NULL, schema integer NOT NULL, data bytea NOT NULL, crc bigint NOT NULL)"
    " ON COMMIT DELETE ROWS";
_Static_assert(PG_GUARD_IDLE_MS == 1000 && PG_GUARD_STMT_MS == 5000, "pg_begin's literals");

static const char pg_stage_copy[] =
    "COPY troupe_stage (pid, seq, schema, data, crc) FROM STDIN (FORMAT binary)";

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

/* The check-and-insert and the COMMIT, as one message (see the top). */
static char *pg_final_sql(pgb *p, const char *table, const pairs *g, const char *pids,
                          const char *epochs)
{
    char *lp = PQescapeLiteral(p->conn, pids, strlen(pids));
    char *le = PQescapeLiteral(p->conn, epochs, strlen(epochs));
    size_t n = (lp ? strlen(lp) : 0) + (le ? strlen(le) : 0) + strlen(table) + 512;
    char *sql = lp && le ? sys_malloc(n) : NULL;
    if (sql)
        snprintf(sql, n,
                 "WITH ok AS (SELECT g.i FROM unnest(%s::text[], %s::bigint[]) WITH ORDINALITY"
                 " AS g(pid, epoch, i) JOIN %s o ON o.pid = g.pid AND o.epoch = g.epoch"
                 " FOR SHARE OF o), ins AS (INSERT INTO troupe_events SELECT * FROM troupe_stage"
                 " WHERE (SELECT count(*) FROM ok) = %zu RETURNING 1) SELECT i FROM ok; COMMIT",
                 lp, le, table, g->n);
    PQfreemem(lp);
    PQfreemem(le);
    return sql;
}

/* Each result of the final message: the pairs found, then COMMIT's. */
static int pg_final_results(pgb *p, pairs *g, char *err)
{
    int rc = 0, got = 0;
    PGresult *r;
    while ((r = pg_wait_result(p)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (rc == 0 && st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
            rc = pg_fail(p, r, "append (guarded)", err);
        for (int i = 0; rc == 0 && st == PGRES_TUPLES_OK && i < PQntuples(r); i++) {
            long k = strtol(PQgetvalue(r, i, 0), NULL, 10) - 1;
            if (k >= 0 && (size_t)k < g->n)
                g->passed[k] = 1;
        }
        got += st == PGRES_COMMAND_OK; /* COMMIT's: the transaction ended */
        PQclear(r);
    }
    return rc < 0 ? rc : got ? 0 : pg_fail(p, NULL, "append (commit)", err);
}

/* The final message for the pairs of g; the transaction is over after it
 * unless it failed (*open = 1: the caller rolls back). */
static int pg_check_insert(pgb *p, const char *table, pairs *g, const pevent *ev, int *open,
                           char *err)
{
    char *pids, *epochs;
    int rc = pairs_literals(g, ev, &pids, &epochs);
    if (rc < 0)
        return rc;
    char *sql = pg_final_sql(p, table, g, pids, epochs);
    free(pids);
    free(epochs);
    if (!sql)
        return TROUPE_ENOMEM;
    rc = pg_wait_send(p, sql) == 0 ? pg_final_results(p, g, err)
                                   : pg_fail(p, NULL, "append (guarded)", err);
    free(sql);
    *open = rc < 0;
    return rc;
}

/* Check every guard and insert, or mark the events of a failed one (the
 * commit then ends a transaction that inserted nothing). 0, EFENCED, < 0. */
static int pg_guards(pgb *p, const pevent *ev, size_t n, const char *table,
                     unsigned char *fenced, int *open, char *err)
{
    pairs g = {0};
    int rc = pairs_build(&g, ev, n);
    if (rc == 0)
        rc = pg_check_insert(p, table, &g, ev, open, err);
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
        PQclear(pg_wait_exec(p, "ROLLBACK"));
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
    int open = 1;
    rc = pg_copy_to(p, pg_stage_copy, ev, n, err);
    if (rc == 0)
        rc = pg_guards(p, ev, n, table, fenced, &open, err);
    if (open)
        pg_rollback(p);
    return rc;
}
