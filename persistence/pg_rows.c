/* persistence/pg_rows.c — the PostgreSQL backend's prepared statements:
 * reading events (page by page), last_seq, snapshots, retention. Every
 * parameter and result is in binary format: bytea as its bytes, integers
 * in network order, no text escaping either way. */
#include "persistence/pg_int.h"

#include <stdlib.h>
#include <string.h>

#include "persistence/checksum.h"

/* Parameter types (pg_type OIDs), so that binary values mean one thing. */
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT4 23
#define OID_TEXT 25

/* A page of a read holds at most this many rows, and about this many
 * bytes (the page shrinks when events are big): bounded memory for a
 * replay of any length, few round trips for small events. */
#define PG_PAGE_ROWS 10000
#define PG_PAGE_BYTES (32u << 20)

typedef struct pg_stmt {
    const char *name, *sql;
    int n;
    Oid types[5];
} pg_stmt;

static const pg_stmt pg_stmts[] = {
    {PG_ST_READ, "SELECT seq, schema, data, crc FROM troupe_events WHERE pid = $1 AND seq > $2"
                 " ORDER BY seq LIMIT $3", 3, {OID_TEXT, OID_INT8, OID_INT8}},
    {PG_ST_LAST, "SELECT GREATEST(COALESCE((SELECT max(seq) FROM troupe_events WHERE pid = $1), 0),"
                 " COALESCE((SELECT max(seq) FROM troupe_snapshots WHERE pid = $1), 0))",
     1, {OID_TEXT}},
    {PG_ST_SNAP_SAVE, "WITH prune AS (DELETE FROM troupe_snapshots WHERE pid = $1 AND seq < $2)"
                      " INSERT INTO troupe_snapshots (pid, seq, schema, data, crc)"
                      " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (pid, seq) DO UPDATE"
                      " SET schema = EXCLUDED.schema, data = EXCLUDED.data, crc = EXCLUDED.crc",
     5, {OID_TEXT, OID_INT8, OID_INT4, OID_BYTEA, OID_INT8}},
    {PG_ST_SNAP_LOAD, "SELECT seq, schema, data, crc FROM troupe_snapshots WHERE pid = $1"
                      " ORDER BY seq DESC LIMIT 1", 1, {OID_TEXT}},
    {PG_ST_DELETE, "DELETE FROM troupe_events WHERE pid = $1 AND seq <= $2", 2,
     {OID_TEXT, OID_INT8}},
    /* the mark (pg_meta.c), and the lowest seq <= 0 among pid's events and
     * snapshots (NULL if none): such a row sorts before every read's range */
    {PG_ST_HWM, "SELECT COALESCE((SELECT seq FROM troupe_hwm WHERE pid = $1), 0),"
                " (SELECT min(seq) FROM troupe_events WHERE pid = $1 AND seq <= 0),"
                " (SELECT min(seq) FROM troupe_snapshots WHERE pid = $1 AND seq <= 0)",
     1, {OID_TEXT}},
};

int pg_prepare_all(pgb *p, char *err)
{
    for (size_t i = 0; i < sizeof pg_stmts / sizeof pg_stmts[0]; i++) {
        const pg_stmt *s = &pg_stmts[i];
        PGresult *r = pg_wait_prepare(p, s->name, s->sql, s->n, s->types);
        int code = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : pg_fail(p, r, "prepare", err);
        PQclear(r);
        if (code < 0)
            return code;
    }
    return 0;
}

/* Row i of r: (seq int8, schema int4, data bytea, crc int8), checked. */
static int pg_decode(const PGresult *r, int i, const char *pid, const char *what, prow *out,
                     char *err)
{
    int ok = !PQgetisnull(r, i, 0) && PQgetlength(r, i, 0) == 8 && !PQgetisnull(r, i, 1) &&
             PQgetlength(r, i, 1) == 4 && !PQgetisnull(r, i, 2) && !PQgetisnull(r, i, 3) &&
             PQgetlength(r, i, 3) == 8;
    uint64_t seq = ok ? pg_get((const unsigned char *)PQgetvalue(r, i, 0), 8) : 0;
    if (!ok) {
        backend_errf(err, "postgres: %s %s seq %llu: a column is NULL or of the wrong type", what,
                     pid, (unsigned long long)seq);
        return TROUPE_ECORRUPT;
    }
    /* bigint is signed: a stored seq <= 0 (as SQLite's reader refuses it) must
     * not pass as a huge unsigned one, whatever its checksum (no MAC) says */
    if (seq == 0 || seq > (uint64_t)INT64_MAX) {
        backend_errf(err, "postgres: %s %s seq %lld: out of range (1..2^63-1)", what, pid,
                     (long long)seq);
        return TROUPE_ECORRUPT;
    }
    out->seq = seq;
    out->schema = (uint32_t)pg_get((const unsigned char *)PQgetvalue(r, i, 1), 4);
    out->data = PQgetvalue(r, i, 2);
    out->len = (size_t)PQgetlength(r, i, 2);
    uint64_t crc = pg_get((const unsigned char *)PQgetvalue(r, i, 3), 8);
    if (backend_crc(pid, out->seq, out->schema, out->data, out->len) != crc) {
        backend_errf(err, "postgres: %s %s seq %llu: checksum mismatch", what, pid,
                     (unsigned long long)seq);
        return TROUPE_ECORRUPT;
    }
    return 0;
}

/* Hand one page's rows to fn; *after moves to the last seq seen. */
static int pg_page_rows(const PGresult *r, const char *pid, uint64_t *after, size_t *bytes,
                        pevent_fn fn, void *ud, char *err)
{
    for (int i = 0; i < PQntuples(r); i++) {
        prow row;
        int rc = pg_decode(r, i, pid, "event", &row, err);
        if (rc == 0)
            rc = fn(ud, row.seq, row.schema, row.data, row.len);
        if (rc < 0)
            return rc;
        *after = row.seq;
        *bytes += row.len;
    }
    return 0;
}

/* The next page's row count from this page's mean row size. */
static int pg_page_size(size_t bytes, int rows)
{
    size_t per_row = rows ? bytes / (size_t)rows + 1 : 1;
    if (per_row * PG_PAGE_ROWS <= PG_PAGE_BYTES)
        return PG_PAGE_ROWS;
    return (int)(PG_PAGE_BYTES / per_row) + 1;
}

/* One page: 1 when it was full (more may follow), 0 at the end, < 0. */
static int pg_page(pgb *p, const char *pid, uint64_t *after, pevent_fn fn, void *ud, char *err)
{
    unsigned char a[8], lim[8];
    pg_put64(a, *after);
    pg_put64(lim, (uint64_t)p->page);
    const char *vals[3] = {pid, (const char *)a, (const char *)lim};
    const int lens[3] = {(int)strlen(pid), 8, 8};
    PGresult *r;
    int rc = pg_call(p, PG_ST_READ, 3, vals, lens, PGRES_TUPLES_OK, &r, "read", err);
    if (rc < 0)
        return rc;
    size_t bytes = 0;
    int rows = PQntuples(r), full = rows == p->page;
    rc = pg_page_rows(r, pid, after, &bytes, fn, ud, err);
    PQclear(r);
    p->page = pg_page_size(bytes, rows);
    return rc < 0 ? rc : full;
}

int pg_read(backend *b, const char *pid, uint64_t after, pevent_fn fn, void *ud, char *err)
{
    int rc = backend_check_pid(b, pid, err);
    if (rc == 0 && !fn) {
        backend_errf(err, "postgres read: fn is NULL");
        rc = TROUPE_EINVAL;
    }
    pgb *p = (pgb *)b;
    if (rc < 0 || after >= (uint64_t)INT64_MAX || (rc = pg_ready(p, "read", err)) < 0)
        return rc;
    p->page = PG_PAGE_ROWS;
    while ((rc = pg_page(p, pid, &after, fn, ud, err)) == 1)
        ;
    return rc;
}

int pg_last_seq(backend *b, const char *pid, uint64_t *seq, char *err)
{
    int rc = backend_check_pid(b, pid, err);
    pgb *p = (pgb *)b;
    if (rc == 0 && !seq)
        rc = TROUPE_EINVAL;
    if (rc < 0 || (rc = pg_ready(p, "last_seq", err)) < 0)
        return rc;
    const char *vals[1] = {pid};
    const int lens[1] = {(int)strlen(pid)};
    PGresult *r;
    if ((rc = pg_call(p, PG_ST_LAST, 1, vals, lens, PGRES_TUPLES_OK, &r, "last_seq", err)) < 0)
        return rc;
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) && PQgetlength(r, 0, 0) == 8)
        *seq = pg_get((const unsigned char *)PQgetvalue(r, 0, 0), 8);
    else {
        backend_errf(err, "postgres last_seq: %s: an answer that is not one bigint", pid);
        rc = TROUPE_ECORRUPT;
    }
    PQclear(r);
    return rc;
}

int pg_save_snapshot(backend *b, const char *pid, uint64_t seq, uint32_t schema,
                     const void *data, size_t len, char *err)
{
    int rc = backend_check_row(b, pid, seq, data, len, err);
    pgb *p = (pgb *)b;
    if (rc < 0 || (rc = pg_ready(p, "save_snapshot", err)) < 0)
        return rc;
    unsigned char s[8], v[4], c[8];
    pg_put64(s, seq);
    pg_put32(v, schema);
    pg_put64(c, backend_crc(pid, seq, schema, data, len));
    const char *vals[5] = {pid, (const char *)s, (const char *)v, len ? data : "", (const char *)c};
    const int lens[5] = {(int)strlen(pid), 8, 4, (int)len, 8};
    PGresult *r;
    rc = pg_call(p, PG_ST_SNAP_SAVE, 5, vals, lens, PGRES_COMMAND_OK, &r, "save_snapshot", err);
    if (rc == 0)
        PQclear(r);
    return rc;
}

int pg_load_snapshot(backend *b, const char *pid, int *found, uint64_t *seq, uint32_t *schema,
                     void **data, size_t *len, char *err)
{
    int rc = backend_check_pid(b, pid, err);
    pgb *p = (pgb *)b;
    if (rc == 0 && (!found || !seq || !schema || !data || !len))
        rc = TROUPE_EINVAL;
    if (rc < 0 || (*found = 0, rc = pg_ready(p, "load_snapshot", err)) < 0)
        return rc;
    const char *vals[1] = {pid};
    const int lens[1] = {(int)strlen(pid)};
    PGresult *r;
    rc = pg_call(p, PG_ST_SNAP_LOAD, 1, vals, lens, PGRES_TUPLES_OK, &r, "load_snapshot", err);
    if (rc < 0)
        return rc;
    prow row;
    if (PQntuples(r) == 1 && (rc = pg_decode(r, 0, pid, "snapshot of", &row, err)) == 0) {
        if ((rc = backend_take(&row, seq, schema, data, len)) < 0)
            backend_errf(err, "postgres load_snapshot: out of memory (%s)", pid);
        *found = rc == 0;
    }
    PQclear(r);
    return rc;
}

int pg_delete_upto(backend *b, const char *pid, uint64_t upto, char *err)
{
    int rc = backend_check_pid(b, pid, err);
    pgb *p = (pgb *)b;
    if (rc < 0 || upto == 0 || (rc = pg_ready(p, "delete_upto", err)) < 0)
        return rc;
    unsigned char u[8];
    pg_put64(u, upto > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : upto);
    const char *vals[2] = {pid, (const char *)u};
    const int lens[2] = {(int)strlen(pid), 8};
    PGresult *r;
    rc = pg_call(p, PG_ST_DELETE, 2, vals, lens, PGRES_COMMAND_OK, &r, "delete_upto", err);
    if (rc == 0)
        PQclear(r);
    return rc;
}

/* Column c of the mark's answer: 1 and *v when a bigint, 0 when NULL. */
static int pg_int8_at(const PGresult *r, int c, int64_t *v)
{
    if (PQgetisnull(r, 0, c) || PQgetlength(r, 0, c) != 8)
        return 0;
    *v = (int64_t)pg_get((const unsigned char *)PQgetvalue(r, 0, c), 8);
    return 1;
}

int pg_high_water(backend *b, const char *pid, uint64_t *seq, char *err)
{
    int rc = backend_check_pid(b, pid, err);
    pgb *p = (pgb *)b;
    if (rc == 0 && !seq)
        rc = TROUPE_EINVAL;
    if (rc < 0 || (*seq = 0, rc = pg_ready(p, "high_water", err)) < 0)
        return rc;
    const char *vals[1] = {pid};
    const int lens[1] = {(int)strlen(pid)};
    PGresult *r;
    if ((rc = pg_call(p, PG_ST_HWM, 1, vals, lens, PGRES_TUPLES_OK, &r, "high_water", err)) < 0)
        return rc;
    int64_t mark = 0, ev = 0, snap = 0;
    int bad_ev = PQntuples(r) == 1 && pg_int8_at(r, 1, &ev);
    int bad_snap = PQntuples(r) == 1 && pg_int8_at(r, 2, &snap);
    if (PQntuples(r) != 1 || !pg_int8_at(r, 0, &mark)) {
        backend_errf(err, "postgres high_water: %s: an answer that is not one bigint", pid);
        rc = TROUPE_ECORRUPT;
    } else if (bad_ev || bad_snap) {
        backend_errf(err, "postgres: %s %s has seq %lld: not a positive integer",
                     bad_ev ? "event of" : "snapshot of", pid, (long long)(bad_ev ? ev : snap));
        rc = TROUPE_ECORRUPT;
    } else
        *seq = mark > 0 ? (uint64_t)mark : 0;
    PQclear(r);
    return rc;
}
