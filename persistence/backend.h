/* persistence/backend.h — the storage behind event-sourced actors: one
 * small vtable, three implementations (memory.c, sqlite.c, pg.c).
 *
 * A backend stores, per persistence id (a string, 1..TROUPE_PERSIST_ID_MAX
 * bytes): events numbered 1, 2, 3, ... (seq, strictly increasing), and
 * snapshots (a blob taken at some seq). Every stored event and snapshot
 * carries a checksum (persistence/checksum.h: backend_crc, over the id, the
 * seq, the schema and the bytes) that the backend writes with it and
 * verifies when it reads: a mismatch, or a row it cannot decode, is
 * TROUPE_ECORRUPT with the id and seq in the backend's error text — never
 * garbage handed up.
 *
 * What a backend guarantees, and what it leaves to its caller:
 *  - (pid, seq) is unique: appending one that is stored already fails the
 *    whole batch with TROUPE_EEXIST (none of the batch is stored);
 *  - seq numbering is the caller's: a gap is stored as given (the journal
 *    writer numbers events, the backend does not check continuity);
 *    seq 0 and seq > INT64_MAX are TROUPE_EINVAL (SQL integers are signed);
 *  - reads return what is stored, in seq order.
 *
 * Threads: a backend is used by one thread at a time (the journal writer
 * thread writes; recovery reads on the thread that runs the actor's init,
 * through its own connection: open() is called once per thread that
 * needs one). Implementations need no locking of their own beyond that
 * (the memory store, shared by every backend opened on it, has a mutex).
 *
 * Errors: 0 or a negative TROUPE_E* code; `err` (when not NULL, at least
 * BACKEND_ERR_MAX bytes) receives a one-line text naming what failed (the
 * SQL error, the path, the id and seq). TROUPE_EINVAL for bad arguments
 * (NULL, an empty or too long id, seq 0, data NULL with len > 0, len >
 * BACKEND_DATA_MAX), TROUPE_EIO for a failed write or read (full disk,
 * read-only file, lost connection), TROUPE_ECORRUPT for a bad checksum or
 * row, TROUPE_ENOMEM.
 */
#ifndef TROUPE_PERSISTENCE_BACKEND_H
#define TROUPE_PERSISTENCE_BACKEND_H

#include "base/namespace.h"

#include <stddef.h>
#include <stdint.h>

#include "troupe/error.h"

#define TROUPE_PERSIST_ID_MAX 128
#define BACKEND_ERR_MAX 256
/* Bytes per event or snapshot a backend accepts (SQLite binds an int). */
#define BACKEND_DATA_MAX (256u << 20)

/* One event to append: its owner, its number, its bytes (borrowed). */
typedef struct pevent {
    const char *pid;
    uint64_t seq;
    uint32_t schema;   /* the behaviour's schema version when written */
    const void *data;
    size_t len;
    /* 0: unguarded. Else the writer's ownership epoch of pid: the event is
     * stored only if the guard table holds (pid, epoch = guard) at commit
     * (append_guarded; set by the layer above, see README.md, "Guards"). */
    uint64_t guard;
} pevent;

/* Called for each event read back, in seq order; a negative return stops
 * the read and is returned. data is valid during the call only. */
typedef int (*pevent_fn)(void *ud, uint64_t seq, uint32_t schema, const void *data, size_t len);

typedef struct backend backend;

typedef struct backend_ops {
    const char *name; /* "memory", "sqlite", "postgres" */
    /* Append n events (any mix of ids) in ONE transaction: all durable
     * when it returns 0, none when it fails (group commit). n == 0: 0. */
    int (*append)(backend *b, const pevent *ev, size_t n, char *err);
    /* Optional (NULL: this backend cannot guard). append, with a check in
     * the SAME transaction: for each event with guard != 0, a row of
     * `table` (columns pid text, epoch bigint) with that pid and epoch must
     * exist; it is share-locked until the commit, so an ownership change
     * (an UPDATE of the row) either waits for this transaction or is seen
     * by it. If a check fails nothing is written, fenced[i] = 1 for every
     * event of a pid whose check failed (fenced has n bytes, zeroed by the
     * caller) and the answer is TROUPE_EFENCED. */
    int (*append_guarded)(backend *b, const pevent *ev, size_t n, const char *table,
                          unsigned char *fenced, char *err);
    /* Events of pid with seq > after, in order, to fn. */
    int (*read)(backend *b, const char *pid, uint64_t after, pevent_fn fn, void *ud, char *err);
    /* The highest seq of pid written: of its events, or of its latest
     * snapshot when delete_upto removed every event after it (0 if none). */
    int (*last_seq)(backend *b, const char *pid, uint64_t *seq, char *err);
    /* Store a snapshot of pid taken at seq (one at that seq replaces the
     * old one; older ones are deleted; load returns the highest seq). */
    int (*save_snapshot)(backend *b, const char *pid, uint64_t seq, uint32_t schema,
                         const void *data, size_t len, char *err);
    /* The latest snapshot: *found = 0 when none. *data is malloc'ed (also
     * for len 0), the caller frees it. */
    int (*load_snapshot)(backend *b, const char *pid, int *found, uint64_t *seq,
                         uint32_t *schema, void **data, size_t *len, char *err);
    /* Delete pid's events with seq <= upto (retention); snapshots stay. */
    int (*delete_upto)(backend *b, const char *pid, uint64_t upto, char *err);
    /* Optional (NULL: this backend keeps no high-water mark). The highest
     * seq of pid ever committed (0 if none), kept apart from the events and
     * updated in the same transaction as their append, so that events lost
     * later (deleted rows, a dropped and recreated table) show as a mark
     * above what recovery finds. Also TROUPE_ECORRUPT when a stored event
     * or snapshot of pid has seq <= 0 (reads never reach such a row). */
    int (*high_water)(backend *b, const char *pid, uint64_t *seq, char *err);
    /* Optional (NULL: each append is durable when it returns). Make every
     * append that returned before this call durable; called by another
     * thread than the appends' (the journal's syncer) while the next batch
     * is appended, and never at the same time as close. */
    int (*sync)(backend *b, char *err);
    void (*close)(backend *b);
} backend_ops;

struct backend {
    const backend_ops *ops;
    /* 1: append returns before its events are durable and ops->sync makes
     * them so (SQLite FULL's writer: docs/PERFORMANCE.md, "a second batch
     * in flight"); 0: durable on return */
    int deferred_sync;
};

/* Backend configurations (include/troupe/persist.h has the public form). */
typedef struct sqlite_opts {
    const char *path;  /* the database file */
    int sync_full;     /* 1: synchronous=FULL (default), 0: NORMAL */
    int readonly;      /* 1: open for reading only (SQLITE_OPEN_READONLY):
                          what a file the process may not write gives */
    /* NULL, or the sidecar file that keeps the journal's identity (its
     * random id, also in the meta table) outside the database: when it
     * exists, a database without that id (emptied, recreated, replaced) or
     * with a table missing fails the open with TROUPE_ECORRUPT; when not,
     * it is written. Set for the journal writer's connection only. */
    const char *idfile;
    /* 1 (with sync_full): commit without syncing and leave the WAL's sync
     * to ops->sync, so that the next transaction is written while the last
     * one syncs. Set for the journal writer's connection only. */
    int defer_sync;
} sqlite_opts;

/* The memory store: shared by every backend opened on it (a mutex
 * inside), so that what one wrote the others read. Free it after closing
 * every backend opened on it. */
void *backend_memory_store_new(void);
void backend_memory_store_free(void *store);
int backend_memory_open(void *store, backend **out, char *err);
/* For tests: flip a bit of the stored event (pid, seq), or of pid's latest
 * snapshot, so that its next read fails its checksum. TROUPE_ENOTFOUND
 * when there is no such row. */
int backend_memory_corrupt(void *store, const char *pid, uint64_t seq);
int backend_memory_corrupt_snapshot(void *store, const char *pid);

int backend_sqlite_open(const sqlite_opts *o, backend **out, char *err);
/* conninfo: a libpq connection string. The tables troupe_events and
 * troupe_snapshots are created on first use. */
int backend_pg_open(const char *conninfo, backend **out, char *err);
/* backend_pg_open, holding the database to the journal id in the file
 * idfile (NULL: none): written when missing; when it names another id (a
 * database recreated, restored or replaced) the open fails with
 * TROUPE_ECORRUPT. Every open fails so when a table of a journal that has
 * an id is gone (pg_meta.c). Set for the journal writer's connection. */
#define backend_pg_open_id troupei_backend_pg_open_id /* (not in base/namespace.h: local) */
int backend_pg_open_id(const char *conninfo, const char *idfile, backend **out, char *err);

/* persistence/backend.c: what every implementation checks and writes. */
/* printf into err (when not NULL), truncated to BACKEND_ERR_MAX. */
void backend_errf(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 0, or TROUPE_EINVAL with a text: b NULL; pid NULL, empty or too long. */
int backend_check_pid(const backend *b, const char *pid, char *err);
/* backend_check_pid, then: a seq outside 1..INT64_MAX, data NULL with
 * len > 0, len > BACKEND_DATA_MAX. */
int backend_check_row(const backend *b, const char *pid, uint64_t seq, const void *data,
                      size_t len, char *err);
/* Every event of a batch through backend_check_row. */
int backend_check_events(const backend *b, const pevent *ev, size_t n, char *err);

/* A row read back: its bytes belong to the store (valid until its next
 * call). backend_take copies it out for load_snapshot's caller. */
typedef struct prow {
    uint64_t seq;
    uint32_t schema;
    const void *data;
    size_t len;
} prow;
int backend_take(const prow *r, uint64_t *seq, uint32_t *schema, void **data, size_t *len);

#endif
