/* migrate/mig.h — what the files of migrate/ share: the flag table
 * (flags.c, flags_file.c), the adapters (adapter.c, switch.c, shadow.c,
 * harness.c, info.c) and the system's list of both (sys->mig).
 * Nothing here is API (include/troupe/flags.h and adapter.h are). */
#ifndef TROUPE_MIGRATE_MIG_H
#define TROUPE_MIGRATE_MIG_H

#include <pthread.h>
#include <stdio.h>

#include "core/common.h"
#include "troupe/adapter.h"
#include "troupe/flags.h"

/* ---- flags --------------------------------------------------------------------- */

/* Layers of a flag's value, by source (troupe_flag_source). */
enum { LAYER_FILE = 1, LAYER_RUNTIME = 2, LAYER_ENV = 3, NLAYER = 4 };

/* One flag. Structs are type-stable: allocated once, freed with the
 * system; a forgotten flag's struct (no value, not bound by
 * troupe_flag_find) goes to the spare list and is reused for another name,
 * under flags.seq (see flags.c), so a lock-free reader that still holds it
 * reads valid memory and retries. `word` is the value in force, packed
 * (fv_pack). */
#define NAME_WORDS ((TROUPE_FLAG_NAME_MAX + 1) / 8)
struct troupe_flag {
    _Atomic uint32_t word; /* release-stored by writers (flag_publish__), acquire-loaded by readers */
    bool pinned;           /* handed out by troupe_flag_find: never forgotten (under the lock) */
    bool in_file;          /* a load's scratch: named by the version being applied (under the lock) */
    _Atomic uint64_t salt; /* hash of the name: the rollout's buckets (relaxed, under flags.seq) */
    _Atomic(struct troupe_flag *) next; /* the bucket's chain (release store under the lock) */
    _Atomic uint64_t key[NAME_WORDS];   /* the name, zero-padded: what lock-free lookups compare */
    char name[TROUPE_FLAG_NAME_MAX + 1]; /* the same, for writers (under the lock) */
    struct troupe_flag *spare;           /* the spare list (under the lock) */
    /* the layers, under flags.lock */
    bool has[NLAYER];
    troupe_flag_value layer[NLAYER];
};

#define NBUCKET TROUPE_FLAGS_MAX /* name chains: one flag per bucket on average, at most */

/* The identity of the file as last read: a change of any field reloads. */
typedef struct fident {
    bool valid;
    uint64_t dev, ino, size;
    int64_t mtime_ns;
} fident;

/* Two locks, so that no reader of the flags ever waits for the file:
 * cfg_lock serialises loads, reloads and the watcher, and guards the
 * configuration (path, poll, watch, the file's identity); the file is read
 * and parsed under it alone. lock guards the table and the layers, the
 * prefix, the error and the counters, and is held only to check and
 * commit a version already parsed, or for a set, clear, get or list. Order:
 * cfg_lock, then lock. */
typedef struct flags {
    troupe_system *sys;                 /* set once at create: the event log's (flag_publish__) */
    pthread_mutex_t cfg_lock;
    pthread_mutex_t lock;
    _Atomic(troupe_flag *) head[NBUCKET]; /* release store under the lock, acquire load */
    /* Odd while a spare struct is rewritten for a new name (under the
     * lock): a lookup that overlapped one retries. */
    _Atomic uint64_t seq;
    troupe_flag *all[TROUPE_FLAGS_MAX]; /* in the order they were named, under the lock */
    _Atomic uint32_t n;                 /* flags in the table (written under the lock) */
    troupe_flag *spare;                 /* forgotten structs, to reuse (under the lock) */
    _Atomic uint64_t gen;               /* changes published (relaxed counter) */
    char *path;                         /* the file, NULL = none (cfg_lock) */
    uint64_t poll_ns;                   /* cfg_lock */
    char prefix[33];
    fident seen;                        /* cfg_lock */
    char error[320];
    uint64_t reloads, reload_failures;
    troupe_ref watcher;                 /* cfg_lock, from here on */
    troupe_timer timer;
    bool watching;
} flags;

static inline uint32_t fv_pack(troupe_flag_value v) { return (uint32_t)v.kind | v.percent << 8; }

static inline troupe_flag_value fv_unpack(uint32_t w)
{
    return (troupe_flag_value){(troupe_flag_kind)(w & 0xFF), w >> 8};
}

static inline bool fv_is_mode(troupe_flag_kind k) { return k >= TROUPE_FLAG_LEGACY; }

/* Reasons a value's text is refused (flags.c, value_parse). */
enum { VAL_OK = 0, VAL_BAD = 1, VAL_RANGE = 2 };

/* flags.c */
uint64_t flag_hash(const char *s, size_t n);
bool flag_bucket_on(uint64_t salt, uint32_t percent, uint64_t key);
bool flag_name_ok(const char *s, size_t n);
bool flag_name_is_adapter(const char *name);
int value_parse(const char *s, size_t n, troupe_flag_value *out);
troupe_flag *flag_lookup__(flags *f, const char *name, size_t n); /* caller holds the lock */
troupe_flag *flag_create__(flags *f, const char *name, size_t n); /* caller holds the lock */
void flag_publish__(flags *f, troupe_flag *fl);
void flags_forget_unused__(flags *f); /* caller holds the lock */
/* Lock-free: the value word and salt of the flag `name`; false if none. */
bool flag_peek(flags *f, const char *name, size_t n, uint32_t *word, uint64_t *salt);
void flags_table_free(flags *f);
int flag_env__(flags *f, const char *name, troupe_flag_value *out, bool *found);
int flags_set_value(troupe_system *sys, const char *name, troupe_flag_value v);

/* flags_parse.c: a version of the file, parsed */
typedef struct fentry {
    char name[TROUPE_FLAG_NAME_MAX + 1];
    troupe_flag_value v;
    int line;
} fentry;

typedef struct parsed {
    fentry *e;
    size_t n;
    char *err;
    size_t errcap;
    const char *label;
} parsed;

/* Parse text[0..len) into p->e (malloc'ed, the caller frees it); on a
 * broken rule, TROUPE_EINVAL and the text into p->err. */
int parse_text(parsed *p, const char *text, size_t len);

/* flags_file.c */
int flags_reload__(troupe_system *sys, flags *f); /* caller holds cfg_lock */
int flags_watch_start(troupe_system *sys, flags *f); /* caller holds cfg_lock */
void flags_init(flags *f);
void flags_free(flags *f);

/* ---- adapters ------------------------------------------------------------------- */

/* Which copies are kept (the adapter's state word, bits 0-1). */
enum { COPIES_LEGACY = 0, COPIES_BOTH = 1, COPIES_ACTOR = 2 };

/* state word: copies (2 bits) | PAUSED | DEAD | epoch (32 bits, from bit 8)
 * | generation (24 bits, from bit 40). */
#define ST_PAUSED 4ull
#define ST_DEAD 8ull
#define GEN_BITS 24
static inline uint64_t st_make(uint32_t gen, uint32_t epoch, uint32_t copies)
{
    return (uint64_t)gen << 40 | (uint64_t)epoch << 8 | copies;
}
static inline uint32_t st_gen(uint64_t s) { return (uint32_t)(s >> 40); }
static inline uint32_t st_epoch(uint64_t s) { return (uint32_t)(s >> 8); }
static inline uint32_t st_copies(uint64_t s) { return (uint32_t)(s & 3); }

enum { PATH_LEGACY = 0, PATH_ACTOR = 1 };
#define NSHARD 16
#define LATB TROUPE_ADAPTER_LAT_BUCKETS

/* Per-thread counters (a thread picks shard tls_shard % NSHARD): calls in
 * flight and what they did. One cache line each. `word` holds the calls in
 * flight (low INFL_BITS) and, above, the calls served by the legacy path:
 * a legacy call's leave is one add of LEG_UNIT - 1. */
#define INFL_BITS 24
#define INFL_MASK ((1ull << INFL_BITS) - 1)
#define LEG_UNIT (1ull << INFL_BITS)
typedef struct ashard {
    alignas(CACHELINE) _Atomic uint64_t word;
    _Atomic uint64_t served_actor, compared, mismatches, errors;
} ashard;

typedef struct adapter {
    alignas(CACHELINE) _Atomic uint64_t state;
    const troupe_flag *flag;   /* "adapter.<name>" */
    _Atomic uint32_t forced;   /* replays running: the mode is SHADOW */
    _Atomic(struct troupe_adapter_trace *) rec;
    const troupe_adapter_def *def;
    troupe_adapter_config cfg;
    pthread_rwlock_t *lock;    /* cfg.lock, typed (the API keeps it void *) */
    troupe_system *sys;
    uint32_t index;
    char name[TROUPE_ADAPTER_NAME_MAX + 1];
    _Atomic uint64_t retry_at; /* no switch before this (system clock) */
    ashard shards[NSHARD];
    alignas(CACHELINE) _Atomic uint64_t lat[2][LATB], lat_sum[2];
    _Atomic uint64_t switches, switch_failures;
    /* the sync in progress: seq << 2 | TK_* (see switch.c) */
    _Atomic uint64_t ticket;
    uint64_t ticket_seq; /* under tr_mu */
    pthread_mutex_t tr_mu;     /* switches, destroy, replay's hold */
    pthread_mutex_t wait_mu;   /* with wait_cv: calls waiting out a switch */
    pthread_cond_t wait_cv;
    pthread_mutex_t rec_mu;    /* the recording, the last mismatch */
    char last_mismatch[256];
    uint32_t logged;
} adapter;

/* The system's flags and adapters (sys->mig). Adapter structs are
 * type-stable: allocated once per slot, freed with the system, so a stale
 * handle always reads valid memory and finds another generation. */
struct migrate {
    flags fl;
    pthread_mutex_t lock; /* the slot table below */
    _Atomic(adapter *) slots[TROUPE_ADAPTERS_MAX]; /* release store under the lock, acquire load */
    bool used[TROUPE_ADAPTERS_MAX];
    uint32_t gens[TROUPE_ADAPTERS_MAX];
};

/* A sync as the actor receives it. The ticket makes a sync that arrives
 * after its switch gave up (an ask timeout) a no-op: the actor claims it
 * (OPEN -> CLAIMED) before it runs it, the switcher expires it (OPEN ->
 * EXPIRED) when it stops waiting; exactly one of the two CASes wins. */
typedef struct syncmsg {
    uint32_t dir, pad;
    void *obj;
    _Atomic uint64_t *ticket;
    uint64_t seq;
} syncmsg;
enum { TK_OPEN = 0, TK_CLAIMED = 1, TK_DONE = 2, TK_EXPIRED = 3 };

/* A call's mode once read: the mode and, for CANARY, the share. */
typedef struct cmode {
    troupe_adapter_mode mode;
    uint32_t percent;
} cmode;

/* One call's arguments and where its result goes. */
typedef struct acall {
    uint32_t op;
    uint64_t key;
    const void *arg;
    size_t len;
    void *res;
    size_t cap;
    size_t *res_len;
    int served; /* set by the path: PATH_LEGACY, PATH_ACTOR, or -1 (failed) */
} acall;

/* adapter.c */
adapter *adapter_at(troupe_system *sys, troupe_adapter h, uint32_t *gen);
int adapter_enter(adapter *ad, uint32_t gen, ashard *sh, uint64_t *out);
void adapter_leave(ashard *sh);
int adapter_use(troupe_system *sys, troupe_adapter h, adapter **ad, ashard **sh);
void adapter_leave_served(adapter *ad, ashard *sh, int served);
ashard *adapter_shard(adapter *ad);
bool adapter_name_live(troupe_system *sys, const char *name);
void adapters_destroy(struct migrate *m);

/* switch.c */
int switch_copies(adapter *ad, uint64_t seen, uint32_t want);
void switch_drain(adapter *ad);
void switch_wait(adapter *ad, uint64_t paused);
uint32_t copies_of(troupe_adapter_mode m);
cmode mode_now(adapter *ad);

/* shadow.c */
int path_legacy(adapter *ad, acall *c, bool timed);
int path_actor(adapter *ad, acall *c, bool timed);
/* What a call on both paths saw, for the harness. */
typedef struct bothout {
    uint64_t ns[2]; /* legacy (lock wait included), actor */
    bool mismatch;
    int actor_rc;
} bothout;
int path_both(adapter *ad, acall *c, bool serve_actor, bool timed, bothout *out);
int ask_op(adapter *ad, const troupe_adapter_op *op, const acall *c, void *buf, size_t cap,
           size_t *len, int *rc);

/* info.c */
void lat_add(adapter *ad, int path, uint64_t ns);
int lat_bucket(uint64_t ns);
uint64_t lat_bound(int k);
void info_fill(adapter *ad, troupe_adapter h, troupe_adapter_info *out);

/* harness.c */
void trace_record(adapter *ad, const acall *c);

/* system hooks (core/system.c) */
int migrate_create(troupe_system *sys);
/* migrate/metrics.c: register the adapters' and flags' metric families
 * with observe (from migrate_create). */
int mig_metrics_register(troupe_system *sys);
void migrate_destroy(troupe_system *sys);

uint64_t mig_now(troupe_system *sys);

#endif
