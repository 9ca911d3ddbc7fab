/* troupe/adapter.h — legacy adapters: move state guarded by a
 * pthread_rwlock_t into an actor one flag flip at a time.
 *
 * An adapter wraps an existing object, the rwlock that guards it, and its
 * operations. Each operation has two implementations: the legacy one, run
 * on the object under the lock (read or write, as the op declares), and the
 * actor one, run by an actor on its own copy of the state when the adapter
 * asks it (the actor's handler hands adapter messages to
 * troupe_adapter_serve). The flag "adapter.<name>" (troupe/flags.h) picks
 * the path of every call, read once per call:
 *
 *   legacy (off)     the legacy implementation under the lock;
 *   shadow           both: the legacy one under the lock, then the actor's
 *                    (asked while the lock is still held, so the actor sees
 *                    the writes in the order the object did); the caller
 *                    gets the legacy result; the two results are compared
 *                    and every difference is counted and reported with the
 *                    op and both results;
 *   canary NN% (NN%) reads go to the actor for NN% of the keys and to the
 *                    legacy object for the rest; writes run on both copies
 *                    as in shadow and the caller gets the actor's result
 *                    for canary keys; differences are counted as in shadow;
 *   actor (on)       the actor only; the object and its lock are untouched.
 *                    WRITE ops (and READ ops without a view) go through
 *                    troupe_call: the calling thread runs the handler when
 *                    the actor is idle, no hand-off. READ ops with a view
 *                    (troupe_adapter_op.view, def.make_view) are answered
 *                    from the actor's published view, no message, no lock.
 *
 * The view's consistency: a snapshot, never torn, published in the handler
 * before the reply of the write that made it. So a thread reads its own
 * acknowledged writes, and every write acknowledged to anyone before the
 * read began; it may also see a write whose reply is still on its way (the
 * view is published first). Views exist in actor mode only: a switch waits
 * for the reads in flight like any call, and the load that enters actor
 * mode publishes a fresh view.
 *
 * The copies. legacy uses the object only, actor the actor's copy only,
 * shadow and canary keep both in step. When the flag moves between these
 * three, the first call that sees it switches the adapter: new calls wait,
 * the calls in flight finish, then the copy that was not kept is brought up
 * to date — the actor loads the object (legacy -> shadow/canary/actor) or
 * stores its copy into it (actor -> anything else), under the write lock —
 * and calls go on in the new mode. So no call is lost, none runs twice, and
 * a call in actor mode never touches the object. The migration order is
 * legacy -> shadow (compare, expect no mismatch) -> canary NN% (serve some
 * reads from the actor) -> actor; switching back at any step is safe, and
 * from actor it writes the actor's state back into the object first. When a
 * switch fails (the actor does not answer the sync), nothing changes: the
 * calls go on in the mode the copies allow, the failure is counted, and the
 * switch is tried again after 1 s of the system's clock.
 *
 * When the adapter is created the object is the truth: it starts in legacy
 * and loads the actor at the first switch. Calls come from plain threads
 * only (an ask blocks); an adapter call from a handler fails with
 * TROUPE_ESTATE before anything runs.
 *
 * Thread safety: every call from any thread (calls: plain threads only).
 * Handles are small values like refs: a destroyed adapter's handle fails
 * with TROUPE_ENOTFOUND, never touches another adapter.
 * Ownership: the def and its ops are borrowed (they must outlive the
 * adapter: static const is the usual form); the object and the lock are
 * borrowed until troupe_adapter_destroy returns (the system never frees
 * them); names are copied; traces are the caller's.
 */
#ifndef TROUPE_ADAPTER_H
#define TROUPE_ADAPTER_H

#include <pthread.h> /* for the caller's lock; this header needs no name from it */
#include <stddef.h>
#include <stdint.h>

#include "troupe/export.h"
#include "troupe/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct troupe_system troupe_system;

/* An adapter's handle; zero is none. */
typedef struct troupe_adapter {
    uint64_t id;
} troupe_adapter;

/* Longest adapter name (its flag is "adapter." + name). */
#define TROUPE_ADAPTER_NAME_MAX 48
/* Most adapters alive in one system at once. */
#define TROUPE_ADAPTERS_MAX 64
/* Most operations per adapter. */
#define TROUPE_ADAPTER_OPS_MAX 64
/* Largest result an operation returns. */
#define TROUPE_ADAPTER_RESULT_MAX (64u << 10)
/* Latency histogram buckets: upper bounds 256 ns << k (k = 0..18), then +Inf. */
#define TROUPE_ADAPTER_LAT_BUCKETS 20

typedef enum troupe_adapter_mode {
    TROUPE_MODE_LEGACY = 0,
    TROUPE_MODE_SHADOW = 1,
    TROUPE_MODE_CANARY = 2,
    TROUPE_MODE_ACTOR = 3,
} troupe_adapter_mode;

typedef enum troupe_adapter_access {
    TROUPE_ADAPTER_READ = 0,  /* legacy side under the read lock */
    TROUPE_ADAPTER_WRITE = 1, /* legacy side under the write lock */
} troupe_adapter_access;

/* One result, as compare and format see it. */
typedef struct troupe_adapter_result {
    int rc;           /* what the implementation returned */
    const void *data; /* its result bytes */
    size_t len;
} troupe_adapter_result;

/* The legacy implementation: called with the lock held as declared. Write
 * up to res_cap bytes of result to res and their count to *res_len.
 * Returns 0 or its own code (negative for a failure: prefer TROUPE_E*). */
typedef int (*troupe_legacy_fn)(void *obj, const void *arg, size_t arg_len, void *res,
                                size_t res_cap, size_t *res_len);
/* The actor implementation: the same contract, on the actor's state, in
 * its handler (through troupe_adapter_serve). */
typedef int (*troupe_actor_fn)(troupe_ctx *ctx, void *state, const void *arg, size_t arg_len,
                               void *res, size_t res_cap, size_t *res_len);

typedef struct troupe_adapter_op {
    const char *name;              /* "import_block": logs, metrics, the harness */
    troupe_adapter_access access;
    uint32_t msg_type;             /* the actor message (< TROUPE_MSG_SYSTEM, unique) */
    troupe_legacy_fn legacy;       /* required */
    troupe_actor_fn actor;         /* required */
    size_t result_max;             /* largest result, 0..TROUPE_ADAPTER_RESULT_MAX */
    /* Optional: 0 when the two results agree. NULL = same rc and bytes. */
    int (*compare)(const troupe_adapter_result *legacy, const troupe_adapter_result *actor);
    /* Optional: write one result as text for the mismatch report (NUL
     * terminated, at most cap bytes). NULL = the rc and the first bytes in hex. */
    void (*format)(const troupe_adapter_result *r, char *buf, size_t cap);
    /* Optional, READ ops only: answer from the actor's published view
     * (troupe_adapter_def.make_view) with the contract of `actor`, in the
     * calling thread, without a message and without a lock. NULL = the op
     * goes through troupe_call like a write. */
    int (*view)(const void *view, const void *arg, size_t arg_len, void *res, size_t res_cap,
                size_t *res_len);
} troupe_adapter_op;

/* Which way a sync goes (troupe_adapter_def.load / store). */
#define TROUPE_ADAPTER_SYNC_LOAD 1u
#define TROUPE_ADAPTER_SYNC_STORE 2u

typedef struct troupe_adapter_def {
    const char *name;  /* 1..TROUPE_ADAPTER_NAME_MAX of [A-Za-z0-9_-] */
    const troupe_adapter_op *ops;
    uint32_t nops;     /* 1..TROUPE_ADAPTER_OPS_MAX; op i is called as i */
    /* The actor message that carries a sync (differs from every op's). */
    uint32_t sync_type;
    /* In the actor's handler, while the switching thread holds the write
     * lock and no call runs: make the state a copy of the object (load) or
     * write the state into the object (store). 0 or a negative code (the
     * switch is then abandoned). Both required. */
    int (*load)(troupe_ctx *ctx, void *state, const void *obj);
    int (*store)(troupe_ctx *ctx, void *state, void *obj);
    /* Optional: an immutable copy of (the readable part of) state, made in
     * the actor's handler by troupe_adapter_serve after every WRITE op and
     * every load, and published with troupe_view_publish before the reply
     * is sent. NULL (or NULL returned: out of memory) = no new view; a READ
     * op whose view cannot be read goes through troupe_call. Required when
     * an op has `view`. free_view frees one (NULL: nothing to free). */
    void *(*make_view)(const void *state);
    void (*free_view)(void *view);
} troupe_adapter_def;

/* A difference seen in shadow or canary, as reported to on_mismatch. */
typedef struct troupe_adapter_mismatch {
    const char *adapter, *op; /* names */
    uint32_t op_index;
    uint64_t key;
    troupe_adapter_result legacy, actor; /* actor.rc may be an ask's error */
    const char *text;         /* "adapter chain: import_block key 7: legacy ... actor ..." */
} troupe_adapter_mismatch;

typedef struct troupe_adapter_config {
    void *obj;                 /* the legacy object (borrowed) */
    /* Its lock (borrowed): a pthread_rwlock_t *. Declared void * because
     * glibc's <pthread.h> names pthread_rwlock_t only under POSIX feature
     * macros (_POSIX_C_SOURCE >= 200112L, _XOPEN_SOURCE, _GNU_SOURCE), which
     * a program built with -std=c11 alone does not define: the header must
     * not depend on them. `cfg.lock = &lock;` reads the same in C and C++. */
    void *lock;
    troupe_ref actor;          /* the actor with the other copy; its handler
                                  calls troupe_adapter_serve */
    uint64_t timeout_ns;       /* per ask, > 0 (5 s) */
    /* Time one call in this many per thread (16); 1 = every call. */
    uint32_t sample_every;
    /* Called for every mismatch, in the calling thread (all pointers valid
     * during the call only). NULL = the first 100 go to stderr. */
    void (*on_mismatch)(const troupe_adapter_mismatch *m, void *ud);
    void *on_mismatch_ud;
    uint8_t reserved[32];      /* zero */
} troupe_adapter_config;

/* A library built with -Dmigrate=disabled keeps every function below; the
 * ones that create, call or report answer TROUPE_ENOTSUP (troupe/flags.h,
 * "Built without them"). */

/* timeout 5 s, sample 1 in 16, stderr; obj, lock and actor left empty. */
TROUPE_API void troupe_adapter_config_defaults(troupe_adapter_config *cfg);

/* An adapter on sys. Errors: TROUPE_EINVAL (NULL sys/def/cfg/out, a bad
 * name or op, no obj/lock, the actor NONE, duplicate msg types),
 * TROUPE_EEXIST (an adapter of that name is alive), TROUPE_ENOMEM
 * (TROUPE_ADAPTERS_MAX alive, or out of memory), TROUPE_ESHUTDOWN.
 * Nothing is left behind on error. */
TROUPE_API int troupe_adapter_create(troupe_system *sys, const troupe_adapter_def *def,
                                     const troupe_adapter_config *cfg, troupe_adapter *out);

/* Wait for the calls in flight, then forget the adapter: later calls with
 * its handle fail with TROUPE_ENOTFOUND. The object and the actor are left
 * as they are (in actor mode the object is stale: store it first by
 * switching to legacy if it is still needed). TROUPE_ENOTFOUND if stale. */
TROUPE_API int troupe_adapter_destroy(troupe_system *sys, troupe_adapter ad);

/* Run operation `op` with arg[0..arg_len) on the path the flag picks.
 * `key` picks the canary share (the same key, the same path at a given
 * percentage): a block height, an account, a request id. The result goes to
 * res (res_cap bytes; *res_len its length, may be NULL).
 * Returns the implementation's code, or: TROUPE_EINVAL (NULL sys, an
 * unknown op, NULL arg with arg_len > 0, NULL res with res_cap > 0),
 * TROUPE_ENOTFOUND (a stale handle), TROUPE_ESTATE (from a handler),
 * an ask's error on the actor path (TROUPE_ETIMEDOUT, TROUPE_ENOACTOR...). */
TROUPE_API int troupe_adapter_call(troupe_system *sys, troupe_adapter ad, uint32_t op,
                                   uint64_t key, const void *arg, size_t arg_len, void *res,
                                   size_t res_cap, size_t *res_len);

/* The live adapter named `name`. TROUPE_ENOTFOUND if none; TROUPE_EINVAL
 * for a NULL argument. */
TROUPE_API int troupe_adapter_find(troupe_system *sys, const char *name, troupe_adapter *out);

/* The index of the op named `op`. TROUPE_ENOTFOUND if it has none (or the
 * handle is stale); TROUPE_EINVAL for a NULL argument. */
TROUPE_API int troupe_adapter_op_index(troupe_system *sys, troupe_adapter ad, const char *op,
                                       uint32_t *out);

/* Set the flag "adapter.<name>" at run time (troupe_flags_set). percent is
 * for CANARY (0..100) and must be 0 for the others. TROUPE_ENOTFOUND (no
 * such adapter), TROUPE_EINVAL (a bad mode or percent), TROUPE_ESTATE
 * (pinned by the environment). */
TROUPE_API int troupe_adapter_set_mode(troupe_system *sys, const char *name,
                                       troupe_adapter_mode mode, uint32_t percent);

/* Latency of one path: sampled calls (cfg.sample_every). */
typedef struct troupe_adapter_latency {
    uint64_t count, sum_ns;
    uint64_t buckets[TROUPE_ADAPTER_LAT_BUCKETS]; /* not cumulative */
    uint64_t p50_ns, p99_ns; /* upper bounds of the buckets holding them; 0 if none */
} troupe_adapter_latency;

typedef struct troupe_adapter_info {
    troupe_adapter handle;
    char name[TROUPE_ADAPTER_NAME_MAX + 1];
    troupe_adapter_mode mode;  /* what the flag says now */
    uint32_t percent;          /* CANARY's share */
    /* The copies kept now: "legacy", "both", "actor" (the mode takes
     * effect at the next call). */
    const char *copies;
    uint64_t served_legacy;    /* calls answered with the legacy result */
    uint64_t served_actor;     /* calls answered with the actor's result */
    uint64_t compared;         /* calls run on both copies and compared */
    uint64_t mismatches;
    uint64_t errors;           /* calls that failed in the adapter (an ask) */
    uint64_t switches, switch_failures;
    double actor_share;        /* served_actor / all served (0 if none) */
    troupe_adapter_latency legacy, actor; /* per path */
    char last_mismatch[256];   /* "" if none */
} troupe_adapter_info;

/* The figures of adapter `ad`. Errors: TROUPE_EINVAL (NULL sys or out),
 * TROUPE_ENOTFOUND (a stale handle: the adapter was destroyed). */
TROUPE_API int troupe_adapter_info_get(troupe_system *sys, troupe_adapter ad,
                                       troupe_adapter_info *out);

/* Every live adapter: the first min(cap, *total) into out[]. Errors:
 * TROUPE_EINVAL (NULL sys or total, NULL out with cap > 0). */
TROUPE_API int troupe_adapter_list(troupe_system *sys, troupe_adapter_info *out, size_t cap,
                                   size_t *total);

/* In the actor's handler: run the adapter message msg (an op or a sync)
 * on state and reply. Returns 1 if it was one (handled; an implementation's
 * failure travels in the reply), 0 if msg is not an adapter message of
 * def, TROUPE_EINVAL for NULL arguments or a malformed sync. */
TROUPE_API int troupe_adapter_serve(troupe_ctx *ctx, const troupe_adapter_def *def, void *state,
                                    const troupe_msg *msg);

/* "legacy", "shadow", "canary", "actor"; "unknown" otherwise. Static. */
TROUPE_API const char *troupe_adapter_mode_name(troupe_adapter_mode m);

/* ---- the testing harness ---------------------------------------------------
 *
 * A trace is a list of calls (op, key, argument bytes): built by hand with
 * troupe_adapter_trace_add, or recorded from live calls. troupe_adapter_replay
 * runs every call of a trace, in order, on both paths of an adapter — the
 * legacy implementation under the lock, then the actor — compares the
 * results as shadow does, and times each path. The adapter is held in
 * shadow for the replay, whatever its flag says (other callers' calls go
 * through shadow meanwhile); the copies are synced first if needed. */
typedef struct troupe_adapter_trace troupe_adapter_trace;

typedef struct troupe_replay_report {
    uint64_t calls, mismatches;
    uint64_t first_mismatch;  /* index of the first, UINT64_MAX if none */
    uint64_t legacy_errors, actor_errors; /* negative codes returned */
    uint64_t legacy_ns, actor_ns;         /* total time on each path */
    uint64_t legacy_p50_ns, legacy_p99_ns, actor_p50_ns, actor_p99_ns;
} troupe_replay_report;

/* An empty trace, the caller's: free it with troupe_adapter_trace_destroy.
 * Errors: TROUPE_EINVAL (NULL out), TROUPE_ENOMEM. */
TROUPE_API int troupe_adapter_trace_create(troupe_adapter_trace **out);
TROUPE_API void troupe_adapter_trace_destroy(troupe_adapter_trace *t);
/* Append a call (arg copied, at most TROUPE_COPY_MAX bytes). Errors:
 * TROUPE_EINVAL (NULL t, NULL arg with arg_len > 0, arg_len too big),
 * TROUPE_ENOMEM. */
TROUPE_API int troupe_adapter_trace_add(troupe_adapter_trace *t, uint32_t op, uint64_t key,
                                        const void *arg, size_t arg_len);
TROUPE_API size_t troupe_adapter_trace_length(const troupe_adapter_trace *t);

/* Record every later call of the adapter into t (appended), until called
 * again with t NULL. The trace must outlive the recording. TROUPE_EBUSY if
 * it already records into another trace. */
TROUPE_API int troupe_adapter_record(troupe_system *sys, troupe_adapter ad,
                                     troupe_adapter_trace *t);

/* Replay t through both paths of ad (see above) into *out. Errors:
 * TROUPE_EINVAL (NULL, a call of an op the adapter lacks: nothing is run),
 * TROUPE_ENOTFOUND, TROUPE_ESTATE (from a handler), a failed sync. */
TROUPE_API int troupe_adapter_replay(troupe_system *sys, troupe_adapter ad,
                                     const troupe_adapter_trace *t, troupe_replay_report *out);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_ADAPTER_H */
