/* migrate/flags_table.c — the names of the flags: a fixed array of buckets,
 * each a chain of flags, read without a lock.
 *
 * Flags come and go: a name no version of the file uses any more, with no
 * run-time or environment value and not bound by troupe_flag_find, is
 * forgotten (unlinked from its chain) when the next version is applied, or
 * when a new name finds the table full (a cleared run-time value); so a
 * file whose names change version after version never fills the table. A forgotten struct is never freed
 * while the system lives — a reader may still hold it — but kept on a spare
 * list and reused for the next new name. Its reuse rewrites the name, salt,
 * value and chain link under a sequence counter (flags.seq, a seqlock):
 * odd while the rewrite runs. A lock-free lookup reads the counter before
 * and after; if it moved, the lookup may have compared a half-written name
 * or followed a link into another chain, and it starts again. Reuse happens
 * only at a load, a set or a find of a new name, so retries are rare; a
 * lookup that overlaps none is as before: a walk of one short chain.
 * Writers hold flags.lock throughout. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "migrate/mig.h"

static void name_key(const char *name, size_t n, uint64_t key[NAME_WORDS])
{
    memset(key, 0, NAME_WORDS * sizeof key[0]);
    memcpy(key, name, n); /* n <= TROUPE_FLAG_NAME_MAX: the last byte stays 0 */
}

/* The words up to the one holding the name's terminating NUL decide: a
 * stored name equal to them has its NUL at the same place (no name holds a
 * NUL), and both are zero-padded beyond. */
static bool key_eq(const troupe_flag *fl, const uint64_t key[NAME_WORDS], size_t n)
{
    for (size_t i = 0; i <= n / 8; i++)
        /* relaxed: validated by flags.seq (flag_peek) or under the lock */
        if (atomic_load_explicit(&fl->key[i], memory_order_relaxed) != key[i])
            return false;
    return true;
}

static _Atomic(troupe_flag *) *bucket(flags *f, uint64_t salt) { return &f->head[salt % NBUCKET]; }

troupe_flag *flag_lookup__(flags *f, const char *name, size_t n)
{
    uint64_t key[NAME_WORDS];
    name_key(name, n, key);
    /* relaxed: under the lock, which every writer of the chains holds */
    troupe_flag *fl = atomic_load_explicit(bucket(f, flag_hash(name, n)), memory_order_relaxed);
    while (fl && !key_eq(fl, key, n))
        fl = atomic_load_explicit(&fl->next, memory_order_relaxed);
    return fl;
}

/* One try: the flag named by key in the chain of salt h, its word and salt. */
static troupe_flag *peek_once(flags *f, const uint64_t *key, size_t n, uint64_t h,
                              uint32_t *word, uint64_t *salt, bool *lost)
{
    /* acquire: pairs with the release stores that link a flag (flag_create__) */
    troupe_flag *fl = atomic_load_explicit(bucket(f, h), memory_order_acquire);
    unsigned steps = 0;
    while (fl && !key_eq(fl, key, n) && ++steps <= TROUPE_FLAGS_MAX)
        fl = atomic_load_explicit(&fl->next, memory_order_acquire); /* same pairing */
    *lost = steps > TROUPE_FLAGS_MAX; /* longer than any chain: led astray by a reuse */
    /* acquire: pairs with the release store in flag_publish__ */
    *word = fl ? atomic_load_explicit(&fl->word, memory_order_acquire) : 0;
    *salt = fl ? atomic_load_explicit(&fl->salt, memory_order_relaxed) : 0; /* under seq */
    return fl;
}

bool flag_peek(flags *f, const char *name, size_t n, uint32_t *word, uint64_t *salt)
{
    uint64_t key[NAME_WORDS], h = flag_hash(name, n);
    name_key(name, n, key);
    for (unsigned spins = 0;; spins++) {
        /* acquire: pairs with the release store that ends a rewrite (reuse) */
        uint64_t s = atomic_load_explicit(&f->seq, memory_order_acquire);
        bool lost = false;
        troupe_flag *fl = (s & 1) ? NULL : peek_once(f, key, n, h, word, salt, &lost);
        /* acquire fence: the loads above come before the second read of
         * seq; pairs with name_struct's release stores of the fields (reuse) */
        atomic_thread_fence(memory_order_acquire);
        if (!(s & 1) && !lost && atomic_load_explicit(&f->seq, memory_order_relaxed) == s)
            return fl != NULL;
        if (spins % 64 == 63)
            sched_yield(); /* the writer was preempted mid-rewrite */
        else
            cpu_relax();
    }
}

/* Name a struct: fresh (not reachable yet) or spare (reachable by stale
 * readers: under an odd seq, which makes them retry). */
static void name_struct(flags *f, troupe_flag *fl, const char *name, size_t n, bool reused)
{
    uint64_t key[NAME_WORDS], h = flag_hash(name, n);
    name_key(name, n, key);
    uint64_t s = atomic_load_explicit(&f->seq, memory_order_relaxed); /* relaxed: under the lock */
    if (reused) /* relaxed: the release stores below carry it */
        atomic_store_explicit(&f->seq, s + 1, memory_order_relaxed);
    /* release (not a release fence, which gcc's TSan cannot model): a
     * reader whose loads see any field below, then its acquire fence in
     * flag_peek, also sees the odd seq stored before it and retries */
    for (int i = 0; i < NAME_WORDS; i++)
        atomic_store_explicit(&fl->key[i], key[i], memory_order_release);
    atomic_store_explicit(&fl->salt, h, memory_order_release);
    atomic_store_explicit(&fl->word, fv_pack((troupe_flag_value){TROUPE_FLAG_OFF, 0}),
                          memory_order_release); /* published below */
    /* relaxed: the release store to the bucket (or to seq) publishes it */
    atomic_store_explicit(&fl->next, atomic_load_explicit(bucket(f, h), memory_order_relaxed),
                          memory_order_relaxed);
    if (reused) /* release: pairs with the acquire load of seq in flag_peek */
        atomic_store_explicit(&f->seq, s + 2, memory_order_release);
    memset(fl->name, 0, sizeof fl->name);
    memcpy(fl->name, name, n);
    fl->pinned = fl->in_file = false;
    memset(fl->has, 0, sizeof fl->has);
}

troupe_flag *flag_create__(flags *f, const char *name, size_t n)
{
    uint32_t idx = atomic_load_explicit(&f->n, memory_order_relaxed); /* relaxed: under the lock */
    if (idx >= TROUPE_FLAGS_MAX) { /* full: make room from the unused, if any */
        flags_forget_unused__(f);
        if ((idx = atomic_load_explicit(&f->n, memory_order_relaxed)) >= TROUPE_FLAGS_MAX)
            return NULL; /* relaxed: under the lock */
    }
    troupe_flag *fl = f->spare;
    bool reused = fl != NULL;
    if (reused)
        f->spare = fl->spare;
    else if (!(fl = sys_calloc(1, sizeof *fl)))
        return NULL;
    name_struct(f, fl, name, n, reused);
    bool found;
    troupe_flag_value ev;
    if (flag_env__(f, fl->name, &ev, &found) == 0 && found) /* a bad one fails the next load */
        fl->has[LAYER_ENV] = true, fl->layer[LAYER_ENV] = ev;
    flag_publish__(f, fl);
    f->all[idx] = fl;
    /* release: the flag, named and valued, before it is found; pairs with
     * the acquire loads in peek_once */
    atomic_store_explicit(bucket(f, atomic_load_explicit(&fl->salt, memory_order_relaxed)), fl,
                          memory_order_release);
    atomic_store_explicit(&f->n, idx + 1, memory_order_relaxed); /* relaxed: read under the lock */
    return fl;
}

/* Take fl out of its chain. A reader standing on it still follows its next
 * link (unchanged until a reuse, which makes that reader retry). */
static void unlink_flag(flags *f, troupe_flag *fl)
{
    _Atomic(troupe_flag *) *at = bucket(f, atomic_load_explicit(&fl->salt, memory_order_relaxed));
    troupe_flag *cur;
    /* relaxed loads: under the lock */
    while ((cur = atomic_load_explicit(at, memory_order_relaxed)) != fl)
        at = &cur->next;
    /* release: pairs with the acquire loads in peek_once (the successor is
     * published already; this keeps the chain's stores ordered) */
    atomic_store_explicit(at, atomic_load_explicit(&fl->next, memory_order_relaxed),
                          memory_order_release);
}

static bool unused(const troupe_flag *fl)
{
    return !fl->pinned && !fl->has[LAYER_FILE] && !fl->has[LAYER_RUNTIME] && !fl->has[LAYER_ENV];
}

void flags_forget_unused__(flags *f)
{
    uint32_t n = atomic_load_explicit(&f->n, memory_order_relaxed); /* relaxed: under the lock */
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n; i++) {
        troupe_flag *fl = f->all[i];
        if (!unused(fl)) {
            f->all[kept++] = fl;
            continue;
        }
        flag_publish__(f, fl); /* off: what a reader still holding it reads */
        unlink_flag(f, fl);
        fl->spare = f->spare;
        f->spare = fl;
    }
    atomic_store_explicit(&f->n, kept, memory_order_relaxed); /* relaxed: read under the lock */
}

void flags_table_free(flags *f)
{
    uint32_t n = atomic_load_explicit(&f->n, memory_order_relaxed); /* relaxed: no one else left */
    for (uint32_t i = 0; i < n; i++)
        free(f->all[i]);
    while (f->spare) {
        troupe_flag *next = f->spare->spare;
        free(f->spare);
        f->spare = next;
    }
}
