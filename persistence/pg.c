/* persistence/pg.c — the PostgreSQL backend (libpq): the connection, its
 * errors and its one reconnect, the schema, and append.
 *
 * Append is one COPY ... FROM STDIN in binary format. A single statement
 * is atomic on its own (autocommit: no BEGIN/COMMIT round trips), COPY
 * is the server's fastest way in (no per-row statement: the rows stream
 * into the table), and the binary format carries the blobs as they are
 * (no escaping) and the integers in 4 or 8 bytes. Two round trips per
 * batch whatever its size: the COPY starts, then the rows and the end. A
 * pipeline of n prepared INSERTs would make the same round trips but n
 * statement executions on the server; a multi-row INSERT would need n x 5
 * parameters or arrays built in binary. A duplicate (pid, seq) fails the
 * whole COPY: none of the batch is stored.
 *
 * Every libpq call is bounded on the client's clock (pg_wait.c): a
 * partition or a stopped server fails the operation within
 * PG_TIMEOUT_MS, never blocks the journal's writer for TCP's minutes.
 *
 * Tables are troupe_events and troupe_snapshots (prefixed: the database
 * is the application's), with troupe_hwm and troupe_meta (pg_meta.c: the
 * marks and identity that show a journal gone backwards), created on
 * first use under an advisory lock so that two connections opening at
 * once do not race on the catalog.
 */
#include "core/alloc.h"
#include "persistence/backend.h"

#include <stdlib.h>
#include <string.h>

#include "persistence/checksum.h"
#include "persistence/pg_int.h"

static const char pg_copy_sql[] =
    "COPY troupe_events (pid, seq, schema, data, crc) FROM STDIN (FORMAT binary)";

/* libpq's messages span lines ("ERROR:  ...\nDETAIL:  ..."): one line. */
static void one_line(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (; *in && o + 1 < cap; in++) {
        char c = (*in == '\n' || *in == '\t') ? ' ' : *in;
        if (c != ' ' || (o > 0 && out[o - 1] != ' '))
            out[o++] = c;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = 0;
}

static int pg_code(const char *state, const char **what)
{
    *what = "";
    if (state && strcmp(state, "23505") == 0) {
        *what = "already stored: ";
        return TROUPE_EEXIST;
    }
    if (state && strcmp(state, "53100") == 0)
        *what = "disk full: ";
    else if (state && strncmp(state, "08", 2) == 0)
        *what = "connection failure: ";
    return TROUPE_EIO;
}

int pg_fail(pgb *p, const PGresult *res, const char *op, char *err)
{
    if (p->timed_out) { /* pg_wait.c: mid-call at the deadline */
        p->broken = 1;
        backend_errf(err, "postgres %s: timed out: no answer within %u ms", op, p->timeout_ms);
        return TROUPE_EIO;
    }
    const char *m = res ? PQresultErrorMessage(res) : "";
    char msg[BACKEND_ERR_MAX];
    one_line(*m ? m : PQerrorMessage(p->conn), msg, sizeof msg);
    if (PQstatus(p->conn) == CONNECTION_BAD) {
        p->broken = 1;
        backend_errf(err, "postgres %s: connection lost: %s", op, msg);
        return TROUPE_EIO;
    }
    const char *what;
    int code = pg_code(res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL, &what);
    backend_errf(err, "postgres %s: %s%s", op, what, msg);
    return code;
}

int pg_call(pgb *p, const char *st, int n, const char *const *vals, const int *lens,
            ExecStatusType want, PGresult **out, const char *op, char *err)
{
    static const int binary[5] = {1, 1, 1, 1, 1};
    pg_arm(p); /* one call of many (a read's pages): each gets the whole bound */
    PGresult *r = pg_wait_prepared(p, st, n, vals, lens, binary);
    if (PQresultStatus(r) == want) {
        *out = r;
        return 0;
    }
    int code = pg_fail(p, r, op, err);
    PQclear(r);
    return code;
}

/* A simple query that returns no rows (the schema, BEGIN, COMMIT). */
int pg_exec(pgb *p, const char *sql, const char *op, char *err)
{
    PGresult *r = pg_wait_exec(p, sql);
    int code = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : pg_fail(p, r, op, err);
    PQclear(r);
    return code;
}

int pg_ready(pgb *p, const char *op, char *err)
{
    pg_arm(p); /* the operation's deadline, reconnecting included */
    if (!p->broken && PQstatus(p->conn) == CONNECTION_OK)
        return 0;
    if (pg_wait_reset(p) != 0) {
        char msg[BACKEND_ERR_MAX];
        one_line(p->timed_out ? "timed out" : PQerrorMessage(p->conn), msg, sizeof msg);
        backend_errf(err, "postgres %s: connection lost, reconnecting failed: %s", op, msg);
        return TROUPE_EIO;
    }
    p->broken = 0;
    return pg_prepare_all(p, err); /* a new session has none of them */
}

/* One tuple of the binary COPY: five fields, each its length then its
 * bytes; the blob goes from the caller's buffer, not copied into ours. */
static int pg_copy_row(pgb *p, const pevent *e)
{
    unsigned char h[2 + 4 + TROUPE_PERSIST_ID_MAX + 12 + 8 + 4], t[12];
    size_t n = strlen(e->pid), o = 0;
    h[o++] = 0;
    h[o++] = 5;
    pg_put32(h + o, (uint32_t)n);
    memcpy(h + o + 4, e->pid, n);
    o += 4 + n;
    pg_put32(h + o, 8);
    pg_put64(h + o + 4, e->seq);
    pg_put32(h + o + 12, 4);
    pg_put32(h + o + 16, e->schema);
    pg_put32(h + o + 20, (uint32_t)e->len);
    o += 24;
    pg_put32(t, 8);
    pg_put64(t + 4, backend_crc(e->pid, e->seq, e->schema, e->data, e->len));
    return pg_wait_put(p, (const char *)h, (int)o) == 1 &&
           (e->len == 0 || pg_wait_put(p, e->data, (int)e->len) == 1) &&
           pg_wait_put(p, (const char *)t, sizeof t) == 1;
}

static int pg_copy_rows(pgb *p, const pevent *ev, size_t n)
{
    static const char head[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
    static const char trailer[2] = {(char)0xff, (char)0xff};
    int ok = pg_wait_put(p, head, sizeof head) == 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = pg_copy_row(p, &ev[i]);
    return ok && pg_wait_put(p, trailer, sizeof trailer) == 1;
}

/* The COPY's outcome; then libpq is drained so the next call starts clean. */
static int pg_copy_end(pgb *p, int sent, char *err)
{
    int code = 0;
    if (pg_wait_put_end(p, sent ? NULL : "troupe: a row could not be sent") != 1)
        code = pg_fail(p, NULL, "append", err);
    PGresult *r = pg_wait_result(p);
    if (code == 0 && PQresultStatus(r) != PGRES_COMMAND_OK)
        code = pg_fail(p, r, "append", err);
    while (r) {
        PQclear(r);
        r = pg_wait_result(p);
    }
    return code;
}

/* The rows of ev in one COPY into troupe_events, or (pg_guard.c, inside
 * its transaction) into the table of copy_sql. */
int pg_copy_to(pgb *p, const char *copy_sql, const pevent *ev, size_t n, char *err)
{
    PGresult *r = pg_wait_exec(p, copy_sql ? copy_sql : pg_copy_sql);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        int rc = pg_fail(p, r, "append", err);
        PQclear(r);
        return rc;
    }
    PQclear(r);
    return pg_copy_end(p, pg_copy_rows(p, ev, n), err);
}

static int pg_append(backend *b, const pevent *ev, size_t n, char *err)
{
    int rc = backend_check_events(b, ev, n, err);
    pgb *p = (pgb *)b;
    if (rc < 0 || n == 0 || (rc = pg_ready(p, "append", err)) < 0)
        return rc;
    return pg_copy_to(p, NULL, ev, n, err);
}

void pg_set_timeout(backend *b, uint32_t ms)
{
    ((pgb *)b)->timeout_ms = ms;
}

static void pg_close(backend *b)
{
    pgb *p = (pgb *)b;
    if (!p)
        return;
    PQfinish(p->conn);
    free(p);
}

static const backend_ops pg_ops = {
    .name = "postgres",
    .append = pg_append,
    .append_guarded = pg_append_guarded,
    .read = pg_read,
    .last_seq = pg_last_seq,
    .save_snapshot = pg_save_snapshot,
    .load_snapshot = pg_load_snapshot,
    .delete_upto = pg_delete_upto,
    .high_water = pg_high_water,
    .close = pg_close,
};

/* CREATE TABLE IF NOT EXISTS says "already exists, skipping" as a NOTICE,
 * which libpq would print on stderr. */
static void pg_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static int pg_connect(pgb *p, const char *conninfo, const char *idfile, char *err)
{
    p->timeout_ms = PG_TIMEOUT_MS;
    pg_arm(p); /* connecting, the schema and the statements: one bound */
    int rc = pg_wait_connect(p, conninfo);
    if (rc == TROUPE_ENOMEM) {
        backend_errf(err, "postgres open: out of memory");
        return TROUPE_ENOMEM;
    }
    if (rc < 0) {
        char msg[BACKEND_ERR_MAX];
        one_line(p->timed_out ? "timed out" : PQerrorMessage(p->conn), msg, sizeof msg);
        backend_errf(err, "postgres open: cannot connect: %s", msg);
        return TROUPE_EIO;
    }
    PQsetNoticeProcessor(p->conn, pg_quiet, NULL);
    rc = pg_open_schema(p, idfile, err);
    return rc < 0 ? rc : pg_prepare_all(p, err);
}

int backend_pg_open(const char *conninfo, backend **out, char *err)
{
    return backend_pg_open_id(conninfo, NULL, out, err);
}

int backend_pg_open_id(const char *conninfo, const char *idfile, backend **out, char *err)
{
    if (!conninfo || !out) {
        backend_errf(err, "postgres open: %s is NULL", conninfo ? "out" : "conninfo");
        return TROUPE_EINVAL;
    }
    pgb *p = sys_calloc(1, sizeof *p);
    if (!p) {
        backend_errf(err, "postgres open: out of memory");
        return TROUPE_ENOMEM;
    }
    p->base.ops = &pg_ops;
    int rc = pg_connect(p, conninfo, idfile, err);
    if (rc < 0) {
        pg_close(&p->base);
        return rc;
    }
    *out = &p->base;
    return 0;
}
