/* persistence/backend.h — the storage behind event-sourced actors: one
 * small vtable, three implementations (memory.c, sqlite.c, pg.c).
 *
 * A backend stores, per persistence id (a string, 1..TROUPE_PERSIST_ID_MAX
 * bytes): events numbered 1, 2, 3, ... (seq, strictly increasing, no
 * gaps), and snapshots (a blob taken at some seq). Every stored event and
 * snapshot carries a checksum of its bytes (persistence/checksum.h) that
 * the backend writes with it and verifies when it reads: a mismatch, or a
 * row it cannot decode, is TROUPE_ECORRUPT with the id and seq in the
 * backend's error text — never garbage handed up.
 *
 * Threads: a backend is used by one thread at a time (the journal writer
 * thread writes; recovery reads on the thread that runs the actor's init,
 * through its own connection: open() is called once per thread that
 * needs one). Implementations need no locking of their own beyond that.
 *
 * Errors: 0 or a negative TROUPE_E* code; `err` (when not NULL) receives a
 * one-line text naming what failed (the SQL error, the path, the id and
 * seq). TROUPE_EIO for a failed write or read (full disk, read-only file,
 * lost connection), TROUPE_ECORRUPT for a bad checksum or row.
 */
#ifndef TROUPE_PERSISTENCE_BACKEND_H
#define TROUPE_PERSISTENCE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "troupe/error.h"

#define TROUPE_PERSIST_ID_MAX 128
#define BACKEND_ERR_MAX 256

/* One event to append: its owner, its number, its bytes (borrowed). */
typedef struct pevent {
    const char *pid;
    uint64_t seq;
    uint32_t schema;   /* the behaviour's schema version when written */
    const void *data;
    size_t len;
} pevent;

/* Called for each event read back, in seq order; a negative return stops
 * the read and is returned. data is valid during the call only. */
typedef int (*pevent_fn)(void *ud, uint64_t seq, uint32_t schema, const void *data, size_t len);

typedef struct backend backend;

typedef struct backend_ops {
    const char *name; /* "memory", "sqlite", "postgres" */
    /* Append n events (any mix of ids) in ONE transaction: all durable
     * when it returns 0, none when it fails (group commit). */
    int (*append)(backend *b, const pevent *ev, size_t n, char *err);
    /* Events of pid with seq > after, in order, to fn. */
    int (*read)(backend *b, const char *pid, uint64_t after, pevent_fn fn, void *ud, char *err);
    /* The highest seq stored for pid (0 if none). */
    int (*last_seq)(backend *b, const char *pid, uint64_t *seq, char *err);
    /* Store a snapshot of pid taken at seq (replaces older ones or keeps
     * them: load returns the one with the highest seq). */
    int (*save_snapshot)(backend *b, const char *pid, uint64_t seq, uint32_t schema,
                         const void *data, size_t len, char *err);
    /* The latest snapshot: *found = 0 when none. *data is malloc'ed, the
     * caller frees it. */
    int (*load_snapshot)(backend *b, const char *pid, int *found, uint64_t *seq,
                         uint32_t *schema, void **data, size_t *len, char *err);
    /* Delete pid's events with seq <= upto (retention). */
    int (*delete_upto)(backend *b, const char *pid, uint64_t upto, char *err);
    void (*close)(backend *b);
} backend_ops;

struct backend {
    const backend_ops *ops;
};

/* Backend configurations (include/troupe/persist.h has the public form). */
typedef struct sqlite_opts {
    const char *path;  /* the database file */
    int sync_full;     /* 1: synchronous=FULL (default), 0: NORMAL */
} sqlite_opts;

int backend_memory_open(void *store, backend **out, char *err);
void *backend_memory_store_new(void);
void backend_memory_store_free(void *store);
int backend_sqlite_open(const sqlite_opts *o, backend **out, char *err);
int backend_pg_open(const char *conninfo, backend **out, char *err);

#endif
