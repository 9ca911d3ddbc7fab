/* registry/cache.c — each thread's cache of the names it looked up.
 *
 * Why: a lookup through cds_lfht costs an urcu-bp read-side section (two
 * library calls) and a walk of dependent loads through the split-ordered
 * list; most programs look up the same few names again and again. A hit
 * here costs the hash, one name compare in this thread's own memory, a
 * load of the name's stripe and the liveness load of the actor — no
 * read-side section, nothing written to a shared line.
 *
 * Why a hit is right: a cached (name -> ref) stays true until the name's
 * entry leaves the table (names are unique, so it cannot get another actor
 * first). Every removal moves the name's stripe (reg_stripe_bump) after
 * the unlink; the fill read that stripe before searching the table, so a
 * removal that the search might have missed moves the stripe past the
 * cached value. The liveness check (generation, CLOSED) is the same as the
 * table's: an ended actor is never returned, even before its name is gone.
 *
 * Memory: 1024 sets of 2 slots of 64 bytes (128 KiB) and their tags
 * (16 KiB), allocated at a
 * thread's first lookup and freed at its exit (a pthread key). Names over
 * RC_NAME bytes are not cached. The slots hold no pointer into the
 * registry (entries are freed after a grace period that a cache knows
 * nothing of), only the actor pointer, which stays valid (core/table.h:
 * actors are type-stable).
 */
#include <pthread.h>
#include <stdlib.h>

#include "registry/entry.h"

#define RC_SETS 1024u /* a power of two */
#define RC_WAYS 2
#define RC_NAME 32u

typedef struct rc_slot {
    uint64_t tag;    /* the name's hash ^ the registry's serial (and in rc_cache.tags) */
    troupe_ref ref;
    actor *a;
    uint32_t gen;    /* the name's stripe when the fill began */
    uint32_t len;    /* 0: empty */
    char name[RC_NAME];
} rc_slot;

_Static_assert(sizeof(rc_slot) == CACHELINE, "a slot is one line");

/* The tags again, apart (16 KiB): a lookup reads one line of them and
 * then only the slot that matches, not both ways' lines. */
/* a whole number of lines: aligned_alloc wants a multiple of the alignment */
typedef struct rc_cache {
    alignas(CACHELINE) rc_slot set[RC_SETS][RC_WAYS];
    uint64_t tags[RC_SETS][RC_WAYS];
    /* recent hits and fills, halved every RC_DECAY fills: a thread that
     * looks up far more names than the cache holds fills only one miss in
     * RC_SAMPLE, so that the fills (128 bytes written to a cold set) do
     * not slow a lookup the cache cannot help */
    uint32_t hits, fills;
} rc_cache;

_Static_assert(sizeof(rc_cache) % CACHELINE == 0, "aligned_alloc's size rule");

#define RC_DECAY 4096u
#define RC_SAMPLE 16u

static TROUPE_TLS rc_cache *my_cache;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static bool cache_key_ok;

static void cache_free(void *p)
{
    my_cache = NULL;
    free(p);
}

static void cache_key_init(void)
{
    cache_key_ok = pthread_key_create(&cache_key, cache_free) == 0;
}

/* This thread's cache, made on first use; NULL if it cannot be (then the
 * thread looks up through the table only). */
static rc_cache *cache_mine(void)
{
    if (likely(my_cache != NULL))
        return my_cache;
    pthread_once(&cache_once, cache_key_init);
    if (!cache_key_ok)
        return NULL;
    rc_cache *c = aligned_alloc(CACHELINE, sizeof *c);
    if (!c)
        return NULL;
    memset(c, 0, sizeof *c);
    if (pthread_setspecific(cache_key, c) != 0) {
        free(c);
        return NULL;
    }
    return my_cache = c;
}

static inline bool slot_is(const rc_slot *s, uint64_t tag, const reg_key *k)
{
    return s->tag == tag && s->len == k->n && reg_name_eq(s->name, k->s, k->n);
}

troupe_ref reg_cache_get(struct registry *r, const reg_key *k, uint64_t h)
{
    rc_cache *c = my_cache;
    if (!c)
        return TROUPE_REF_NONE;
    size_t i = h & (RC_SETS - 1);
    uint64_t tag = h ^ r->serial;
    for (int w = 0; w < RC_WAYS; w++) {
        const rc_slot *s = &c->set[i][w];
        if (c->tags[i][w] != tag || !slot_is(s, tag, k))
            continue;
        /* acquire: pairs with reg_stripe_bump's release (the removal it
         * counts happened before) */
        if (atomic_load_explicit(reg_stripe(r, h), memory_order_acquire) != s->gen)
            return TROUPE_REF_NONE;
        if (!reg_actor_live(s->a, s->ref))
            return TROUPE_REF_NONE;
        c->hits++;
        return s->ref;
    }
    return TROUPE_REF_NONE;
}

/* Most lookups missing (fills over 4x hits): fill a sample only. */
static bool worth_filling(rc_cache *c)
{
    if (++c->fills >= RC_DECAY) {
        c->fills >>= 1;
        c->hits >>= 1;
    }
    return c->fills <= 4 * c->hits + 64 || c->fills % RC_SAMPLE == 0;
}

void reg_cache_put(struct registry *r, const reg_key *k, uint64_t h, uint32_t gen, troupe_ref ref,
                   actor *a)
{
    if (k->n > RC_NAME)
        return;
    rc_cache *c = cache_mine();
    if (!c || !worth_filling(c))
        return;
    rc_slot *set = c->set[h & (RC_SETS - 1)];
    uint64_t tag = h ^ r->serial;
    /* the name's own slot if it has one, else the older way goes: the
     * newest fill lands in way 0 */
    size_t i = h & (RC_SETS - 1);
    if (!slot_is(&set[0], tag, k)) {
        set[1] = set[0];
        c->tags[i][1] = c->tags[i][0];
    }
    c->tags[i][0] = tag;
    rc_slot *s = &set[0];
    s->tag = tag;
    s->ref = ref;
    s->a = a;
    s->gen = gen;
    s->len = k->n;
    memcpy(s->name, k->s, k->n);
}
