/* persistence/pg_int.h — what pg.c (connection, errors, append) and
 * pg_rows.c (the prepared statements that read and delete) share. */
#ifndef TROUPE_PERSISTENCE_PG_INT_H
#define TROUPE_PERSISTENCE_PG_INT_H

#include <libpq-fe.h>

#include "persistence/backend.h"

/* Each operation of the backend (an append, a page of a read, ...) gets
 * this long on the client's own clock (pg_wait.c). */
#define PG_TIMEOUT_MS 5000

typedef struct pgb {
    backend base;
    PGconn *conn;
    int broken; /* the connection was lost: the next call resets it first */
    int timed_out; /* the deadline passed mid-call: no libpq call on it until reset */
    int page;   /* rows per page of a read (shrinks for big events) */
    uint32_t timeout_ms;  /* PG_TIMEOUT_MS; tests shorten it (pg_set_timeout) */
    uint64_t deadline_ns; /* CLOCK_MONOTONIC: the current operation's end (pg_arm) */
} pgb;

/* Prepared statements, by name: created at connect (and reconnect). */
#define PG_ST_READ "troupe_read"
#define PG_ST_LAST "troupe_last"
#define PG_ST_SNAP_SAVE "troupe_snap_save"
#define PG_ST_SNAP_LOAD "troupe_snap_load"
#define PG_ST_DELETE "troupe_delete"
#define PG_ST_HWM "troupe_hwm"

/* Binary parameters and results are big-endian (network order). */
static inline void pg_put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (24 - 8 * i));
}

static inline void pg_put64(unsigned char *p, uint64_t v)
{
    pg_put32(p, (uint32_t)(v >> 32));
    pg_put32(p + 4, (uint32_t)v);
}

static inline uint64_t pg_get(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* The troupe code of a failed call (res may be NULL), its text into err;
 * a lost connection marks the backend broken. */
int pg_fail(pgb *p, const PGresult *res, const char *op, char *err);
/* Before every call: reconnect once if the last one lost the connection. */
int pg_ready(pgb *p, const char *op, char *err);
/* Run a prepared statement with binary parameters and results; 0 with
 * *out (PQclear it) when its status is `want`, else pg_fail's code. */
int pg_call(pgb *p, const char *st, int n, const char *const *vals, const int *lens,
            ExecStatusType want, PGresult **out, const char *op, char *err);
/* Prepare the statements of pg_rows.c on p->conn. */
int pg_prepare_all(pgb *p, char *err);

/* A simple query that returns no rows. */
int pg_exec(pgb *p, const char *sql, const char *op, char *err);
/* The events in one binary COPY into troupe_events (copy_sql NULL) or the
 * table of copy_sql (a COPY ... FROM STDIN (FORMAT binary) of the same
 * five columns); on its own, a transaction. */
int pg_copy_to(pgb *p, const char *copy_sql, const pevent *ev, size_t n, char *err);

/* pg_wait.c: libpq on a nonblocking connection, every wait a poll()
 * against p->deadline_ns. On the deadline a call fails (NULL or -1) and
 * p->timed_out and p->broken are set: pg_fail reports it, pg_ready resets
 * the connection before the next operation. */
void pg_arm(pgb *p); /* deadline_ns = now + timeout_ms */
int pg_wait_connect(pgb *p, const char *conninfo); /* 0, TROUPE_EIO, TROUPE_ENOMEM */
int pg_wait_reset(pgb *p);                         /* 0 or TROUPE_EIO */
int pg_wait_send(pgb *p, const char *sql);         /* PQsendQuery, flushed: 0 or -1 */
PGresult *pg_wait_result(pgb *p);                  /* PQgetResult */
PGresult *pg_wait_exec(pgb *p, const char *sql);   /* PQexec */
PGresult *pg_wait_prepared(pgb *p, const char *st, int n, const char *const *vals,
                           const int *lens, const int *formats); /* PQexecPrepared, binary */
PGresult *pg_wait_prepare(pgb *p, const char *name, const char *sql, int n, const Oid *types);
int pg_wait_put(pgb *p, const char *buf, int n);     /* PQputCopyData: 1 or -1 */
int pg_wait_put_end(pgb *p, const char *errmsg);     /* PQputCopyEnd, flushed: 1 or -1 */
/* Tests: each operation's bound, in ms (b: a PostgreSQL backend). */
void pg_set_timeout(backend *b, uint32_t ms);

/* pg_guard.c: backend_ops.append_guarded */
int pg_append_guarded(backend *b, const pevent *ev, size_t n, const char *table,
                      unsigned char *fenced, char *err);

/* pg_rows.c */
int pg_read(backend *b, const char *pid, uint64_t after, pevent_fn fn, void *ud, char *err);
int pg_last_seq(backend *b, const char *pid, uint64_t *seq, char *err);
int pg_save_snapshot(backend *b, const char *pid, uint64_t seq, uint32_t schema,
                     const void *data, size_t len, char *err);
int pg_load_snapshot(backend *b, const char *pid, int *found, uint64_t *seq, uint32_t *schema,
                     void **data, size_t *len, char *err);
int pg_delete_upto(backend *b, const char *pid, uint64_t upto, char *err);
/* backend_ops.high_water: the mark pg_meta.c's trigger keeps */
int pg_high_water(backend *b, const char *pid, uint64_t *seq, char *err);

/* pg_meta.c: under the advisory lock, in one transaction: refuse a journal
 * that lost a table (its id names it) or that is not the one idfile (NULL:
 * no file) names (TROUPE_ECORRUPT, why in err); create the tables and the
 * trigger that keeps the marks; give a new journal its id and marks; write
 * idfile when it is missing. */
int pg_open_schema(pgb *p, const char *idfile, char *err);

#endif
