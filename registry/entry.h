/* registry/entry.h — the registry's tables and entries, shared by
 * registry.c (writes) and lookup.c (reads). Internal.
 *
 * `names`, a cds_lfht bound to the urcu-bp flavour (include/troupe/
 * registry.h says why bp), maps a name to its entry (unique keys,
 * add_unique). The lookup by behaviour goes through `groups`, a second
 * cds_lfht mapping a behaviour pointer to its group: the list of the
 * entries registered with that behaviour. (Not one cds_lfht with duplicate
 * keys: cds_lfht keeps identical hashes in one chain that every add and del
 * walks, so a behaviour with 100k names would make each registration cost
 * 100k steps.) A group's list is read lock-free (RCU) and written under the
 * group's own mutex, which no reader takes. Groups live until the registry
 * is destroyed: there are as many as behaviours ever registered. Both
 * tables are sized by resize.c (at most one item per bucket), not by
 * cds_lfht's own auto-resize.
 *
 * An entry is immutable once published; it leaves the name table and its
 * group's list, and is freed with call_rcu after a grace period, so a
 * reader inside a read-side section may use what it found until the
 * section ends.
 *
 * Who removes and frees an entry: the thread that takes it out of its
 * actor's ext (x->reg, under x->lock) — troupe_unregister, or
 * ext_on_finish -> registry_forget when the actor ends. Exactly one does.
 * Besides, troupe_register may unlink the name node of an entry whose
 * actor has ended (so that the name is free again at once); its owner then
 * finds that node gone, which cds_lfht_del tells, and frees as usual.
 *
 * Locks, in order: x->lock (an actor's ext), then a group's lock. Readers
 * take neither, and no lock is held across a wait for a grace period
 * (nothing here waits for one but registry_destroy).
 */
#ifndef TROUPE_REGISTRY_ENTRY_H
#define TROUPE_REGISTRY_ENTRY_H

#include <string.h>

#include <urcu/urcu-bp.h>
/* the flavour's header comes first: rculfhash.h expects it */
#include <urcu/rculfhash.h>

#include "core/system.h"
#include "troupe/registry.h"

#if defined(TROUPE_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

/* A table and what sizing it takes (resize.c). */
typedef struct reg_table {
    struct cds_lfht *ht;
    /* items in ht; seq_cst updates (resize.c's Dekker pair) */
    alignas(CACHELINE) _Atomic uint64_t count;
    _Atomic unsigned long size;  /* buckets, as last resized to */
    _Atomic bool resizing;       /* a resize is queued or running */
    struct rcu_head rcu;         /* ... on the call_rcu thread */
} reg_table;

#define REG_MIN_BUCKETS 64

/* Name removals, counted per stripe of the hash space (cache.c): a
 * thread's cached lookup of a name stays valid while its stripe's count
 * has not moved. Registrations move nothing (names are unique: a name can
 * only get a new actor after its old entry was removed). 4096 stripes of
 * 4 bytes: one removal invalidates 1/4096 of every cache. */
#define REG_STRIPES 4096

struct registry {
    reg_table names;  /* name -> entry (unique); count = the registry's size */
    reg_table groups; /* behaviour pointer -> reg_group (unique) */
    int alloc_mode;   /* for the entries: core/alloc.h */
    /* this registry among all ever created, mixed: the caches' tag (a
     * cached name of a destroyed registry never matches a new one) */
    uint64_t serial;
    alignas(CACHELINE) _Atomic uint32_t stripe[REG_STRIPES];
};

static inline _Atomic uint32_t *reg_stripe(struct registry *r, uint64_t hash)
{
    return &r->stripe[(hash >> 32) & (REG_STRIPES - 1)];
}

/* A link of a group's list: `next` is read by lock-free readers (acquire),
 * written under the group's lock (release); `prev` is the writers' only. */
typedef struct reg_link {
    struct reg_link *_Atomic next;
    struct reg_link *prev;
} reg_link;

typedef struct reg_group {
    struct cds_lfht_node node; /* in `groups` */
    /* The publication word, as reg_entry.len: stored (release) last,
     * loaded (acquire) by readers before anything else. */
    const troupe_behaviour *_Atomic beh;
    pthread_mutex_t lock; /* writers of `members` */
    reg_link members;     /* circular, `members` is the sentinel */
    struct reg_group *gone; /* registry destroy's list */
} reg_group;

/* The rarely read part of an entry: one cache line just before the hot
 * part (reg_cold_of), so that a lookup by name touches the hot line only. */
typedef struct reg_cold {
    reg_link link;      /* in group->members */
    reg_group *group;   /* its behaviour's group */
    uint64_t at_ns;     /* the system clock at registration */
    struct rcu_head rcu; /* the deferred free */
    uint32_t size;      /* bytes allocated, from the cold line */
    int alloc_mode;
} reg_cold;

#define REG_COLD_SIZE CACHELINE
_Static_assert(sizeof(reg_cold) <= REG_COLD_SIZE, "the cold part is one line");

/* The hot part, 64-byte aligned: node, ref, actor, length and the first
 * 27 bytes of the name share one cache line. */
typedef struct reg_entry {
    struct cds_lfht_node node; /* in `names` */
    troupe_ref ref;
    /* ref's actor struct: type-stable (core/table.h), so keeping the
     * pointer saves a lookup the table's two levels would cost on every
     * liveness check; the generation check still decides. */
    actor *a;
    /* The publication word: stored (release) once everything else is
     * written, loaded (acquire) by every reader before it reads the rest.
     * cds_lfht publishes nodes with its own barriers, which C11 (and TSan)
     * do not see; this pair makes the hand-over explicit. */
    _Atomic uint32_t len;
    char name[]; /* len bytes and a NUL */
} reg_entry;

static inline reg_cold *reg_cold_of(const reg_entry *e)
{
    return (reg_cold *)((char *)e - REG_COLD_SIZE);
}

static inline reg_entry *reg_entry_of_cold(const reg_cold *c)
{
    return (reg_entry *)((char *)c + REG_COLD_SIZE);
}

static inline reg_entry *reg_entry_of_link(const reg_link *l)
{
    return reg_entry_of_cold(caa_container_of(l, reg_cold, link));
}

/* A name as looked up: its bytes (not necessarily NUL-terminated) and
 * length. */
typedef struct reg_key {
    const char *s;
    uint32_t n;
} reg_key;

/* Length of a valid name (1..TROUPE_NAME_MAX), else 0. One pass. */
static inline uint32_t reg_name_len(const char *name)
{
    if (!name)
        return 0;
    size_t n = strnlen(name, TROUPE_NAME_MAX + 1);
    return n <= TROUPE_NAME_MAX ? (uint32_t)n : 0;
}

/* ---- hashing: after wyhash (public domain), 8 bytes per multiply ------- */

#define REG_K0 0xa0761d6478bd642full
#define REG_K1 0xe7037ed1a0b428dbull
#define REG_K2 0x8ebc6af09c88c6e3ull

/* 64x64 -> 128-bit multiply, folded: every input bit reaches the output */
static inline uint64_t reg_mix(uint64_t a, uint64_t b)
{
    __uint128_t p = (__uint128_t)a * b;
    return (uint64_t)p ^ (uint64_t)(p >> 64);
}

static inline uint64_t reg_r8(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t reg_r4(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* n >= 1. Reads only s[0..n): short names with overlapping loads. */
static inline uint64_t reg_hash(const char *s, uint32_t n)
{
    uint64_t a, b, seed = REG_K0 ^ n;
    if (n >= 4 && n <= 16) {
        size_t q = (n >> 3) << 2; /* 0 for 4..7 bytes, 4 for 8..16 */
        a = reg_r4(s) << 32 | reg_r4(s + q);
        b = reg_r4(s + n - 4) << 32 | reg_r4(s + n - 4 - q);
    } else if (n < 4) {
        a = (uint64_t)(unsigned char)s[0] << 16 | (uint64_t)(unsigned char)s[n >> 1] << 8 |
            (unsigned char)s[n - 1];
        b = 0;
    } else {
        const char *p = s;
        for (uint32_t left = n; left > 16; left -= 16, p += 16)
            seed = reg_mix(reg_r8(p) ^ REG_K1, reg_r8(p + 8) ^ seed);
        a = reg_r8(s + n - 16);
        b = reg_r8(s + n - 8);
    }
    return reg_mix(REG_K2 ^ n, reg_mix(a ^ REG_K1, b ^ seed));
}

static inline unsigned long reg_hash_beh(const troupe_behaviour *beh)
{
    return (unsigned long)reg_mix((uint64_t)(uintptr_t)beh ^ REG_K1, REG_K2);
}

/* n >= 1 bytes of a and b equal? Overlapping word loads within [0, n):
 * names are short, and a call to memcmp costs more than the compare. */
static inline bool reg_name_eq(const char *a, const char *b, uint32_t n)
{
    if (n >= 8) {
        for (uint32_t i = 0; i + 8 < n; i += 8)
            if (reg_r8(a + i) != reg_r8(b + i))
                return false;
        return reg_r8(a + n - 8) == reg_r8(b + n - 8);
    }
    if (n >= 4)
        return reg_r4(a) == reg_r4(b) && reg_r4(a + n - 4) == reg_r4(b + n - 4);
    for (uint32_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

/* ---- matching (called by cds_lfht for nodes of the same hash) ------------ */

static inline int reg_match_name(struct cds_lfht_node *node, const void *key)
{
    const reg_entry *e = caa_container_of(node, reg_entry, node);
    const reg_key *k = key;
    /* acquire: pairs with reg_publish's release (name, ref, cold part) */
    uint32_t len = atomic_load_explicit(&e->len, memory_order_acquire);
    return len == k->n && reg_name_eq(e->name, k->s, len);
}

static inline int reg_match_group(struct cds_lfht_node *node, const void *key)
{
    const reg_group *g = caa_container_of(node, reg_group, node);
    /* acquire: pairs with group_new's release (the group's mutex and list
     * are initialised) */
    return atomic_load_explicit(&g->beh, memory_order_acquire) == key;
}

/* In a read-side section: the group of beh, or NULL. The group outlives
 * the section (groups are freed with the registry only). */
static inline reg_group *reg_find_group(struct registry *r, const troupe_behaviour *beh)
{
    struct cds_lfht_iter it;
    cds_lfht_lookup(r->groups.ht, reg_hash_beh(beh), reg_match_group, beh, &it);
    struct cds_lfht_node *node = cds_lfht_iter_get_node(&it);
    /* the match function already acquired the group */
    return node ? caa_container_of(node, reg_group, node) : NULL;
}

/* The entry under a node that a lookup or add_unique returned, its fields
 * made visible (add_unique's failure path runs no match on that node). */
static inline reg_entry *reg_entry_acquire(struct cds_lfht_node *node)
{
    if (!node)
        return NULL;
    reg_entry *e = caa_container_of(node, reg_entry, node);
    /* acquire: pairs with reg_publish's release */
    (void)atomic_load_explicit(&e->len, memory_order_acquire);
    return e;
}

/* ---- read-side sections ---------------------------------------------------- */

/* Under TSan: liburcu is not instrumented, so TSan cannot see that a grace
 * period orders every read-side section that could have seen an entry
 * before that entry's deferred free, nor that call_rcu hands its caller's
 * work to the callback. Each section's end and each call_rcu release, and
 * the callbacks acquire, one address standing for "the grace period" (the
 * flavour's descriptor: any fixed address would do). */
#if defined(TROUPE_TSAN)
#define REG_TSAN_GP ((void *)&urcu_bp_flavor)
#endif

static inline void reg_read_lock(void) { urcu_bp_read_lock(); }

static inline void reg_read_unlock(void)
{
#if defined(TROUPE_TSAN)
    __tsan_release(REG_TSAN_GP);
#endif
    urcu_bp_read_unlock();
}

/* ---- liveness ---------------------------------------------------------------- */

/* Is a (type-stable) still ref's incarnation and not closed? A hint, as
 * troupe_alive: it may end right after. */
static inline bool reg_actor_live(const actor *a, troupe_ref ref)
{
    /* acquire: pairs with mb_open's release of the generation and
     * mb_close's CLOSED */
    uint64_t t = atomic_load_explicit(&a->mb.tail, memory_order_acquire);
    return tw_gen(t) == ref_gen(ref) && !(t & TW_CLOSED);
}

/* e's actor if it is still e's incarnation and not closed, else NULL. */
static inline actor *reg_live_actor(const reg_entry *e)
{
    return reg_actor_live(e->a, e->ref) ? e->a : NULL;
}

/* In a read-side section: the entry named `k` (whose hash is h), or NULL. */
static inline reg_entry *reg_find_hashed(struct registry *r, const reg_key *k, uint64_t h)
{
    struct cds_lfht_iter it;
    cds_lfht_lookup(r->names.ht, (unsigned long)h, reg_match_name, k, &it);
    struct cds_lfht_node *node = cds_lfht_iter_get_node(&it);
    /* the match function already acquired the entry */
    return node ? caa_container_of(node, reg_entry, node) : NULL;
}

/* In a read-side section: the entry named `k`, or NULL. */
static inline reg_entry *reg_find(struct registry *r, const reg_key *k)
{
    return reg_find_hashed(r, k, reg_hash(k->s, k->n));
}


/* ---- each thread's lookup cache (cache.c) ------------------------------------ */

/* troupei_ names (tests/symbols.sh), as base/namespace.h gives the rest:
 * kept here so that adding them did not rebuild the whole tree */
#define reg_cache_get troupei_reg_cache_get
#define reg_cache_put troupei_reg_cache_put

/* The ref cached for k (hash h) by this thread, if the name's stripe has
 * seen no removal since and the actor is live; else NONE. No read-side
 * section: it touches only this thread's cache, the stripe and the
 * (type-stable) actor. */
troupe_ref reg_cache_get(struct registry *r, const reg_key *k, uint64_t h);
/* Remember that k (hash h) named ref (actor a) when its stripe read gen,
 * gen loaded before the table was searched. */
void reg_cache_put(struct registry *r, const reg_key *k, uint64_t h, uint32_t gen, troupe_ref ref,
                   actor *a);
/* A name left the table: move its stripe (after the unlink). */
static inline void reg_stripe_bump(struct registry *r, const reg_entry *e)
{
    /* relaxed: the length was published to us (it is constant) */
    uint32_t n = atomic_load_explicit(&e->len, memory_order_relaxed);
    /* release: the unlink before a cache user's acquire of the stripe
     * (reg_cache_get, and the fill's load in troupe_whereis) */
    atomic_fetch_add_explicit(reg_stripe(r, reg_hash(e->name, n)), 1, memory_order_release);
}

/* ---- sizing (resize.c) ------------------------------------------------------ */

/* After t's count changed: queue a resize if t is off its target size.
 * Any thread, outside a read-side section or in one; never waits. */
void reg_table_changed(reg_table *t);

/* ---- groups (group.c) ---------------------------------------------------- */

/* beh's group, created on first use; NULL on ENOMEM. Any thread. */
reg_group *reg_group_get(struct registry *r, const troupe_behaviour *beh);
/* Add / remove an entry (its cold part) to / from its group's list
 * (c->group, set before the entry was published); after a removal the
 * caller frees it after a grace period. Take the group's lock. */
void reg_group_add(reg_cold *c);
void reg_group_remove(reg_cold *c);
/* Registry destroy, no reader left: hand every entry still listed to
 * retire(), then free the groups. */
void reg_groups_destroy(struct registry *r, void (*retire)(struct registry *r, reg_cold *c));

#endif
