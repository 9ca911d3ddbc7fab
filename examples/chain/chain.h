/* examples/chain/chain.h — the showcase's toy domain and what its files
 * share.
 *
 * A chain of blocks (height, parent hash, hash) and an execution engine
 * (balances moved by transfers), each in two implementations behind one
 * legacy adapter (troupe/adapter.h):
 *   LEGACY  a struct guarded by a pthread_rwlock_t, called from many
 *           threads (legacy.c);
 *   ACTOR   a supervised, persistent actor with its own copy (actors.c).
 * The domain itself (chain.c, engine.c) is pure functions on the structs
 * below, so both implementations run the very same rules and a difference
 * between them can only come from how calls reach the copies — which is
 * what the adapter's shadow mode checks.
 *
 * Every struct that travels (arguments, results, events, whole states) is
 * made of 64- and 32-bit fields in pairs: no padding, so results compare
 * byte for byte.
 */
#ifndef TROUPE_EXAMPLES_CHAIN_H
#define TROUPE_EXAMPLES_CHAIN_H

#include <pthread.h>
#include <stdint.h>

#include <troupe/troupe.h>

#define SEC 1000000000ull

/* ---- the chain (chain.c) ------------------------------------------------------------ */

/* Blocks kept in memory by each copy: the recent ones, as a node keeps its
 * unfinalised tail; older history lives in the journal (the actor's) and in
 * the running digest. Bounded, so a long run keeps a bounded state and a
 * bounded snapshot. */
#define CHAIN_WINDOW 256

typedef struct block {
    uint64_t height;
    uint64_t parent;     /* hash of the block at height - 1 */
    uint64_t hash;       /* block_hash() of the fields */
    uint64_t state_root; /* the engine's root its producer saw */
    uint32_t author;     /* producer or importer id */
    uint32_t ntx;        /* transfers applied for it */
} block;

typedef struct chain {
    uint64_t height;               /* the tip's */
    uint64_t digest;               /* every block hash from genesis to the tip, mixed in order */
    block recent[CHAIN_WINDOW];    /* block h at recent[h % CHAIN_WINDOW] */
} chain;

enum import_status { IMPORT_OK = 0, IMPORT_STALE = 1, IMPORT_BAD_PARENT = 2, IMPORT_BAD_HASH = 3 };

typedef struct import_result {
    uint32_t status; /* import_status */
    uint32_t pad;
    uint64_t height, tip; /* the chain's after the call */
} import_result;

typedef struct produce_arg {
    uint32_t author, ntx;
    uint64_t state_root;
} produce_arg;

typedef struct head_result {
    uint64_t height, tip, digest;
} head_result;

typedef struct get_result {
    uint32_t found, pad;
    block b;
} get_result;

typedef struct verify_result {
    uint64_t height, tip, digest;
    uint64_t checked; /* links checked in the window */
    uint64_t broken;  /* links or hashes that do not hold */
} verify_result;

uint64_t mix64(uint64_t h, uint64_t v);
uint64_t block_hash(const block *b);
void chain_genesis(chain *c);
const block *chain_tip(const chain *c);
/* Whether b may be appended (import_status). */
uint32_t chain_check(const chain *c, const block *b);
void chain_append(chain *c, const block *b);
/* The block a producer appends next. */
block chain_next(const chain *c, const produce_arg *a);
int chain_get(const chain *c, uint64_t height, block *out);
verify_result chain_verify(const chain *c);

/* The chain's ops. Write ops yield at most one event — the block to append —
 * that the legacy side applies at once and the actor persists first.
 * *ev's height is 0 when the call changes nothing. */
typedef int (*chain_write_fn)(const chain *c, const void *arg, size_t len, void *res, size_t cap,
                              size_t *rlen, block *ev);
int chain_op_import(const chain *c, const void *arg, size_t len, void *res, size_t cap,
                    size_t *rlen, block *ev);
int chain_op_produce(const chain *c, const void *arg, size_t len, void *res, size_t cap,
                     size_t *rlen, block *ev);
int chain_op_head(const chain *c, const void *arg, size_t len, void *res, size_t cap, size_t *rlen);
int chain_op_get(const chain *c, const void *arg, size_t len, void *res, size_t cap, size_t *rlen);
int chain_op_verify(const chain *c, const void *arg, size_t len, void *res, size_t cap,
                    size_t *rlen);

/* ---- the engine (engine.c) ---------------------------------------------------------- */

#define ACCOUNTS 64
#define INITIAL_BALANCE 1000000
#define TOTAL_SUPPLY ((int64_t)ACCOUNTS * INITIAL_BALANCE)
#define PAYLOAD_MAX 8

typedef struct engine {
    int64_t bal[ACCOUNTS];
    uint64_t payloads; /* executed so far */
    uint64_t root;     /* engine_root() of bal */
} engine;

typedef struct transfer {
    uint32_t from, to;
    int64_t amount;
} transfer;

typedef struct payload {
    uint64_t id;
    uint32_t n, author;
    transfer tx[PAYLOAD_MAX];
} payload;

typedef struct exec_result {
    uint32_t applied, rejected; /* a transfer the sender cannot cover is rejected */
    uint64_t root, payloads;
} exec_result;

typedef struct totals_result {
    int64_t supply; /* sum of the balances: TOTAL_SUPPLY, always */
    uint64_t root, payloads;
} totals_result;

void engine_genesis(engine *e);
uint64_t engine_root(const engine *e);
int payload_ok(const void *arg, size_t len);
exec_result engine_apply(engine *e, const payload *p);
totals_result engine_totals(const engine *e);

int engine_op_balance(const engine *e, const void *arg, size_t len, void *res, size_t cap,
                      size_t *rlen);
int engine_op_totals(const engine *e, const void *arg, size_t len, void *res, size_t cap,
                     size_t *rlen);

/* ---- the two implementations, behind their adapters ------------------------------- */

/* The ops, by index (troupe_adapter_call's op). */
enum { CHAIN_IMPORT = 0, CHAIN_PRODUCE, CHAIN_HEAD, CHAIN_GET, CHAIN_VERIFY, CHAIN_NOPS };
enum { ENGINE_EXECUTE = 0, ENGINE_BALANCE, ENGINE_TOTALS, ENGINE_NOPS };

/* Actor messages beside the adapters' (actors.c): an injected fault, and a
 * copy of the whole state (the checks, and the legacy object's start). */
enum {
    MSG_CHAIN_OP = 100, /* 100 + op */
    MSG_CHAIN_SYNC = 150,
    MSG_ENGINE_OP = 200, /* 200 + op */
    MSG_ENGINE_SYNC = 250,
    MSG_FAULT = 300,
    MSG_DUMP = 301,
};

/* legacy.c: the old code. Each object carries the lock its callers take. */
typedef struct legacy_chain {
    pthread_rwlock_t lock;
    chain c;
} legacy_chain;

typedef struct legacy_engine {
    pthread_rwlock_t lock;
    engine e;
} legacy_engine;

int legacy_chain_init(legacy_chain *lc);
int legacy_engine_init(legacy_engine *le);
void legacy_chain_destroy(legacy_chain *lc);
void legacy_engine_destroy(legacy_engine *le);

/* The legacy implementations (troupe_legacy_fn): obj is the chain or the
 * engine inside its legacy struct; the adapter holds the lock. */
#define LEGACY_FN(name) \
    int name(void *obj, const void *arg, size_t len, void *res, size_t cap, size_t *rlen)
LEGACY_FN(legacy_import);
LEGACY_FN(legacy_produce);
LEGACY_FN(legacy_head);
LEGACY_FN(legacy_get);
LEGACY_FN(legacy_verify);
LEGACY_FN(legacy_execute);
LEGACY_FN(legacy_balance);
LEGACY_FN(legacy_totals);

/* actors.c: the actor implementations (troupe_actor_fn), their syncs, and
 * the behaviours — persistent: the chain's events are its blocks, the
 * engine's its payloads. */
#define ACTOR_FN(name)                                                                   \
    int name(troupe_ctx *ctx, void *state, const void *arg, size_t len, void *res, size_t cap, \
             size_t *rlen)
ACTOR_FN(actor_import);
ACTOR_FN(actor_produce);
ACTOR_FN(actor_head);
ACTOR_FN(actor_get);
ACTOR_FN(actor_verify);
ACTOR_FN(actor_execute);
ACTOR_FN(actor_balance);
ACTOR_FN(actor_totals);
int chain_load(troupe_ctx *ctx, void *state, const void *obj);
int chain_store(troupe_ctx *ctx, void *state, void *obj);
int engine_load(troupe_ctx *ctx, void *state, const void *obj);
int engine_store(troupe_ctx *ctx, void *state, void *obj);
extern const troupe_behaviour chain_actor_beh, engine_actor_beh;

/* adapters.c: the ChainAdapter and the EngineAdapter. */
extern const troupe_adapter_def chain_adapter_def, engine_adapter_def;

/* memory.c: the same adapters over actors that keep their state in memory
 * only (each op is the legacy function on the actor's copy): the actor side
 * of the like-with-like figure. */
extern const troupe_adapter_def chain_mem_adapter_def, engine_mem_adapter_def;
extern const troupe_behaviour chain_mem_beh, engine_mem_beh;

#endif
