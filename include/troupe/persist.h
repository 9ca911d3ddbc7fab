/* troupe/persist.h — event-sourced actors: state that comes back, exactly
 * as acknowledged, after a restart or a crash of the whole process.
 *
 * A persistent behaviour is a troupe_behaviour whose `persist` points at a
 * troupe_persistence. Its handler does not change state directly: it calls
 * troupe_persist(ctx, event) with an event that describes the change. The
 * event goes to the journal's writer thread, which batches the events of
 * many actors into one transaction (group commit); once it is durable, the
 * runtime calls `apply` on the actor's worker, in order. Until every event
 * it persisted is durable and applied, the actor handles no further user
 * messages (they wait in its mailbox) — yet no worker waits: the actor is
 * parked and the writer schedules it again.
 *
 * An ask answered by a handler that persisted: the reply is deferred to the
 * apply of the last event that handler persisted (troupe_reply from
 * `apply`), so the asker hears "done" only once the change is durable.
 *
 * Recovery runs on every start and every restart, right after `init`: the
 * latest snapshot (`restore`), then the events after it (`apply`), in
 * order, each checked against its checksum. Events and snapshots written
 * by an older schema version pass through `upgrade` first. A snapshot is
 * taken every `snapshot_every` events; events older than the snapshot
 * minus `retention` are deleted.
 *
 * Failures: a journal write that fails fails the actor with kind
 * TROUPE_EXIT_PERSISTENCE and the backend's text as reason; its supervisor
 * decides (the unsaved state is gone with the incarnation: the restart
 * recovers what is durable). A corrupt or unreadable row stops recovery:
 * the start fails with TROUPE_ECORRUPT (TROUPE_EIO for a read that
 * failed), the reason naming the persistence id and the sequence number.
 *
 * Threads: troupe_persist from a handler only. Journals from any thread.
 */
#ifndef TROUPE_PERSIST_H
#define TROUPE_PERSIST_H

#include <stddef.h>
#include <stdint.h>

#include "troupe/export.h"
#include "troupe/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TROUPE_PERSIST_ID_MAX 128
#define TROUPE_EVENT_MAX (16u << 20) /* bytes per event or snapshot */

/* What troupe_persistence.upgrade converts. */
typedef enum troupe_persist_kind { TROUPE_PERSIST_EVENT = 0, TROUPE_PERSIST_SNAPSHOT = 1 } troupe_persist_kind;

typedef struct troupe_persistence {
    /* Required. Apply one durable event to the state (recovery, and after
     * troupe_persist). A negative return fails the actor (or the
     * recovery). May call troupe_reply (the deferred reply, see above). */
    int (*apply)(troupe_ctx *ctx, void *state, const void *event, size_t len);
    /* Optional (no snapshots without it). Serialise the state into a
     * malloc'ed buffer (*data, *len); troupe frees it with free(). */
    int (*snapshot)(troupe_ctx *ctx, void *state, void **data, size_t *len);
    /* Required with snapshot. Load the state from a snapshot. */
    int (*restore)(troupe_ctx *ctx, void *state, const void *data, size_t len);
    /* The schema version events and snapshots are written with (>= 1). */
    uint32_t schema;
    /* Optional. Convert an event or snapshot written by version `from`
     * (< schema) into the current form: a malloc'ed buffer (*out, *out_len)
     * troupe frees. Without it an older row fails recovery (ECORRUPT). */
    int (*upgrade)(troupe_persist_kind kind, uint32_t from, const void *in, size_t in_len,
                   void **out, size_t *out_len);
    /* Snapshot every N events (0 = 100). */
    uint32_t snapshot_every;
    /* Keep this many events before the latest snapshot (0 = 1000;
     * UINT64_MAX = keep everything). */
    uint64_t retention;
} troupe_persistence;

/* Append `event` (copied) durably, then apply it. From a handler of a
 * persistent actor only. TROUPE_ESTATE elsewhere; TROUPE_EINVAL for a NULL
 * event with len > 0 or len > TROUPE_EVENT_MAX; TROUPE_ENOMEM. */
TROUPE_API int troupe_persist(troupe_ctx *ctx, const void *event, size_t len);

/* Reply to the ask being handled once the events this handler persisted
 * are durable and applied (right away if it persisted none): the payload
 * is copied now and sent then — for a handler that knows its answer before
 * the events are applied. From a handler only; TROUPE_ESTATE elsewhere or
 * when the message is not an ask, TROUPE_EINVAL for a bad payload;
 * TROUPE_ENOMEM. */
TROUPE_API int troupe_persist_reply(troupe_ctx *ctx, uint32_t type, const void *data, size_t len);

/* The sequence number of the last event applied to this actor (0 before
 * any). From its callbacks. */
TROUPE_API uint64_t troupe_persist_seq(const troupe_ctx *ctx);

/* A journal: where a system's persistent actors write. Created by the
 * caller, given to troupe_config.journal (borrowed: it must outlive every
 * system using it), closed with troupe_journal_close after them. */
typedef struct troupe_journal troupe_journal;

typedef enum troupe_sqlite_sync {
    TROUPE_SQLITE_FULL = 0,   /* fsync at every commit: nothing acknowledged is lost */
    TROUPE_SQLITE_NORMAL = 1, /* may lose the last transactions on power loss
                                 (never on a process crash) */
} troupe_sqlite_sync;

/* Opening a journal returns 0 (and *out) or a negative code:
 * TROUPE_EINVAL (bad arguments), TROUPE_EIO (the directory cannot be
 * created, the file cannot be opened or written, the server cannot be
 * reached), TROUPE_ECORRUPT (the file is not a usable database),
 * TROUPE_ENOMEM, TROUPE_ESYS, TROUPE_ENOTSUP (a SQLite or PostgreSQL
 * journal in a library built without it: -Dpersistence-sqlite=disabled,
 * -Dpersistence-postgres=disabled; nothing is created). The reason — the path or server and the
 * database's own message — is then given by troupe_journal_open_error on
 * the same thread. */

/* SQLite: the database file `journal.db` under the directory `dir`
 * (created if missing), WAL mode, and `journal.id`, the journal's random
 * identity, written when missing and checked at every open: a database
 * that is not the journal it names (emptied, truncated to zero bytes,
 * recreated, replaced) or that lost one of its tables is refused with
 * TROUPE_ECORRUPT ("journal went backwards"; persistence/README.md says
 * what to do). Errors (see above): TROUPE_EINVAL (NULL dir or out, an
 * empty dir, a bad sync mode), TROUPE_EIO, TROUPE_ECORRUPT, TROUPE_ENOMEM,
 * TROUPE_ESYS, TROUPE_ENOTSUP. */
TROUPE_API int troupe_journal_open_sqlite(const char *dir, troupe_sqlite_sync sync,
                                          troupe_journal **out);
/* PostgreSQL: a libpq connection string; the tables are created on first
 * use. A journal that lost rows (deleted, the table truncated, dropped and
 * recreated) fails the actors it concerns at recovery, with kind
 * PERSISTENCE; one that lost a table is refused (TROUPE_ECORRUPT). Errors
 * (see above): TROUPE_EINVAL (NULL conninfo or out), TROUPE_EIO,
 * TROUPE_ECORRUPT, TROUPE_ENOMEM, TROUPE_ESYS, TROUPE_ENOTSUP. */
TROUPE_API int troupe_journal_open_postgres(const char *conninfo, troupe_journal **out);
/* PostgreSQL, held to its identity: the journal's random id is kept in the
 * database (troupe_meta) and in the file `idfile` on this machine, written
 * when missing and compared at every open: a database that is not the
 * journal the file names (dropped and recreated, restored from an older
 * dump, another database in the conninfo) is refused with TROUPE_ECORRUPT
 * ("journal went backwards"; persistence/README.md says what to do).
 * Without the file (troupe_journal_open_postgres) the per-id high-water
 * marks still catch rows deleted, a table truncated or recreated, and a
 * table of the journal missing, but not a recreated database. Errors
 * (see above): TROUPE_EINVAL (NULL conninfo or out, an empty idfile;
 * NULL idfile is troupe_journal_open_postgres), TROUPE_EIO,
 * TROUPE_ECORRUPT, TROUPE_ENOMEM, TROUPE_ESYS, TROUPE_ENOTSUP. */
TROUPE_API int troupe_journal_open_postgres_id(const char *conninfo, const char *idfile,
                                               troupe_journal **out);
/* In memory, for tests of the layers above (lost with the process).
 * Errors: TROUPE_EINVAL (NULL out), TROUPE_ENOMEM, TROUPE_ESYS. */
TROUPE_API int troupe_journal_open_memory(troupe_journal **out);
/* Stop the writer thread after what is queued, close. NULL is accepted. */
TROUPE_API void troupe_journal_close(troupe_journal *j);

/* Counters of a journal. */
typedef struct troupe_journal_stats {
    uint64_t events;       /* events written */
    uint64_t commits;      /* transactions */
    uint64_t snapshots;    /* snapshots written */
    uint64_t failures;     /* failed transactions */
    uint64_t max_batch;    /* most events in one transaction */
    /* events refused because their writer's ownership epoch was no longer
     * current (cluster actors: docs/CLUSTER.md); each failed its actor with
     * TROUPE_EFENCED */
    uint64_t fenced;
} troupe_journal_stats;

/* Copy the journal's counters into *out. Errors: TROUPE_EINVAL (NULL j or
 * out). */
TROUPE_API int troupe_journal_stats_get(troupe_journal *j, troupe_journal_stats *out);

/* ---- journal metrics (docs/METRICS.md: troupe_journal_*) ----
 * Histograms as Prometheus keeps them: bucket i counts the observations of
 * at most the i-th bound (not cumulative here; the last bucket is +Inf). */
#define TROUPE_JOURNAL_LATENCY_BUCKETS 12
/* Commit latency bounds, ns: one append transaction, as the writer saw it. */
#define TROUPE_JOURNAL_LATENCY_BOUNDS_NS                                                   \
    {100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 25000000, 50000000,      \
     100000000, 250000000}
#define TROUPE_JOURNAL_BATCH_BUCKETS 10
/* Events per commit bounds. */
#define TROUPE_JOURNAL_BATCH_BOUNDS {1, 2, 4, 8, 16, 32, 64, 256, 1024}
#define TROUPE_JOURNAL_RECOVERY_BUCKETS 7
/* Recovery time bounds, ns: one actor's snapshot and events read back. */
#define TROUPE_JOURNAL_RECOVERY_BOUNDS_NS                                                  \
    {1000000, 10000000, 100000000, 1000000000, 10000000000ull, 60000000000ull}

typedef struct troupe_journal_metrics {
    uint64_t commits;        /* transactions that committed */
    uint64_t events;         /* events in them */
    uint64_t failures;       /* transactions and snapshots that failed */
    uint64_t snapshots;
    uint64_t commit_ns_sum;  /* the latency of every commit attempt, failed too */
    uint64_t commit_ns_buckets[TROUPE_JOURNAL_LATENCY_BUCKETS];
    uint64_t batch_buckets[TROUPE_JOURNAL_BATCH_BUCKETS]; /* events per commit */
    uint64_t recoveries;         /* actors recovered (starts and restarts) */
    uint64_t recovery_failures;  /* of them, the ones that failed */
    uint64_t recovery_ns_sum;
    uint64_t recovery_ns_buckets[TROUPE_JOURNAL_RECOVERY_BUCKETS];
    /* of the failed recoveries, the ones that found the journal gone
     * backwards: fewer events than were committed, or a seq <= 0 row */
    uint64_t regressions;
    unsigned char reserved[56];
} troupe_journal_metrics;

/* Copy the journal's metrics into *out. Errors: TROUPE_EINVAL (NULL j or
 * out). */
TROUPE_API int troupe_journal_metrics_get(troupe_journal *j, troupe_journal_metrics *out);

typedef struct troupe_system troupe_system;

/* The journal sys was created with (troupe_config.journal), or NULL when
 * it has none (or sys is NULL). */
TROUPE_API troupe_journal *troupe_system_journal(troupe_system *sys);

/* The text of the journal's last error ("" if none), copied into buf
 * (truncated to cap - 1 bytes). 0, or TROUPE_EINVAL (NULL j or buf, cap 0). */
TROUPE_API int troupe_journal_last_error(troupe_journal *j, char *buf, size_t cap);

/* Why the calling thread's last troupe_journal_open_* call failed, e.g.
 * "sqlite open: corrupt database: file is not a database
 * (/var/lib/app/journal.db)"; "" if it succeeded. Thread-local, like
 * errno: kept until the thread's next open. Copied into buf (truncated to
 * cap - 1 bytes); 0, or TROUPE_EINVAL (NULL buf, cap 0). */
TROUPE_API int troupe_journal_open_error(char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_PERSIST_H */
