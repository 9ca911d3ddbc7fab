/* runtime/testkit.c — the test kit's life: the table of live kits, create
 * (a system in test mode: sys->manual), destroy (the orderly shutdown,
 * stepped on the caller's thread), and the trace of steps.
 *
 * Why a system in test mode is deterministic. Three kinds of thread move a
 * system: its workers, its supervisor thread and its timer thread. In test
 * mode the workers never start (core/sched.c: sched_start), so every
 * actor made runnable goes to the injector — a plain FIFO under a mutex —
 * and the kit's thread takes them from there one at a time
 * (runtime/testkit_run.c). The supervisor thread never starts either
 * (supervisor/sv.c): the kit applies its queue and deadlines (sv_pump)
 * before every step. The timer thread starts but never fires, because the
 * clock is manual: timers fire inside troupe_clock_advance, on the
 * caller's thread, in deadline order. The health monitor is off. What is
 * left is one thread whose every choice comes from the seed. The
 * supervisor's backoff jitter, seeded from the time in a normal system, is
 * seeded from the kit's seed too.
 *
 * Why the table of live kits: a test that steps a destroyed kit gets
 * TROUPE_ENOTFOUND instead of a use after free; the table is searched by
 * address and only a kit found there is touched.
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "core/timer.h"
#include "runtime/runtime.h"
#include "runtime/testkit.h"
#include "supervisor/sv.h"

#define TRACE_DEFAULT (1u << 16)
#define TRACE_MAX (1u << 24)
/* the shutdown's steps at destroy (the tree, then every actor) */
#define DOWN_STEPS 10000000ull

static pthread_mutex_t kits_lock = PTHREAD_MUTEX_INITIALIZER;
static troupe_testkit **kits; /* live kits; guarded by kits_lock */
static size_t nkits, capkits;

troupe_testkit *kit_find(const troupe_testkit *k)
{
    troupe_testkit *found = NULL;
    pthread_mutex_lock(&kits_lock);
    for (size_t i = 0; k && i < nkits; i++)
        if (kits[i] == k)
            found = kits[i];
    pthread_mutex_unlock(&kits_lock);
    return found;
}

static int kits_add(troupe_testkit *k)
{
    pthread_mutex_lock(&kits_lock);
    int rc = tr_grow((void **)&kits, &capkits, nkits + 1, sizeof *kits, 8);
    if (!rc)
        kits[nkits++] = k;
    pthread_mutex_unlock(&kits_lock);
    return rc;
}

/* true when k was live (and is no more): exactly one destroy proceeds */
static bool kits_remove(troupe_testkit *k)
{
    bool was = false;
    pthread_mutex_lock(&kits_lock);
    for (size_t i = 0; i < nkits; i++)
        if (kits[i] == k) {
            kits[i] = kits[--nkits];
            was = true;
            break;
        }
    if (!nkits) { /* the last one: no table left behind for leak checkers */
        free(kits);
        kits = NULL;
        capkits = 0;
    }
    pthread_mutex_unlock(&kits_lock);
    return was;
}

uint64_t kit_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

TROUPE_API void troupe_testkit_config_defaults(troupe_testkit_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->trace_capacity = TRACE_DEFAULT;
    troupe_config_defaults(&cfg->system);
}

/* The system's config as the kit runs it (see the header). */
static int kit_sys_config(const troupe_testkit_config *cfg, troupe_config *sc)
{
    if (cfg->trace_capacity > TRACE_MAX)
        return TROUPE_EINVAL;
    if (cfg->system.journal)
        return TROUPE_ENOTSUP; /* its writer is a thread of its own */
    if (cfg->system.clock && !clock_is_manual(cfg->system.clock))
        return TROUPE_EINVAL;
    *sc = cfg->system;
    sc->workers = 1;
    sc->pin = 0;
    sc->cpus = NULL;
    sc->ncpus = 0;
    sc->pools = NULL; /* one pool: the kit's thread runs every actor */
    sc->npools = 0;
    sc->health_interval_ns = 0;
    sc->stall_ns = 0;
    return 0;
}

static void kit_free(troupe_testkit *k)
{
    if (k->own_clock)
        troupe_clock_destroy(k->clock);
    free(k->ring);
    free(k->w);
    free(k);
}

/* The kit's own parts: the stand-in worker, the trace ring, the PRNG and
 * the clock. */
static int kit_parts(troupe_testkit *k, const troupe_testkit_config *cfg)
{
    k->cap = cfg->trace_capacity;
    /* aligned: a worker's fields are cache-line aligned (core/system.h) */
    if (posix_memalign((void **)&k->w, CACHELINE, sizeof *k->w))
        return TROUPE_ENOMEM;
    memset(k->w, 0, sizeof *k->w);
    if (k->cap && !(k->ring = sys_calloc(k->cap, sizeof *k->ring)))
        return TROUPE_ENOMEM;
    uint64_t x = cfg->seed;
    for (int i = 0; i < 4; i++)
        k->rng[i] = kit_splitmix(&x);
    k->hash = 0xcbf29ce484222325ull; /* FNV-1a's offset basis */
    k->clock = cfg->system.clock;
    if (!k->clock) {
        int rc = troupe_clock_create_manual(&k->clock, 0);
        if (rc)
            return rc;
        k->own_clock = true;
    }
    return 0;
}

static int kit_make(troupe_testkit *k, const troupe_testkit_config *cfg)
{
    troupe_config sc;
    int rc = kit_sys_config(cfg, &sc);
    if (rc || (rc = kit_parts(k, cfg)))
        return rc;
    sc.clock = k->clock;
    if ((rc = system_create_mode(&k->sys, &sc, true)))
        return rc;
    uint64_t x = cfg->seed ^ 0x5EEDull;
    k->sys->sv->rng = kit_splitmix(&x) | 1; /* the backoff jitter: never 0 */
    return kits_add(k);
}

TROUPE_API int troupe_testkit_create(troupe_testkit **out, const troupe_testkit_config *cfg)
{
    troupe_testkit_config def;
    if (!out)
        return TROUPE_EINVAL;
    *out = NULL;
    if (!cfg) {
        troupe_testkit_config_defaults(&def);
        cfg = &def;
    }
    troupe_testkit *k = sys_calloc(1, sizeof *k);
    if (!k)
        return TROUPE_ENOMEM;
    int rc = kit_make(k, cfg);
    if (rc) {
        if (k->sys)
            system_teardown(k->sys);
        kit_free(k);
        return rc;
    }
    *out = k;
    return 0;
}

/* The supervision tree's orderly shutdown, as sv_shutdown_root does it,
 * its waiting replaced by steps. A child that never stops (it traps the
 * stop and ignores it) is ended by the teardown. */
static void kit_tree_down(troupe_testkit *k)
{
    sv *s = k->sys->sv;
    sv_pump(k->sys);
    pthread_mutex_lock(&s->lock);
    if (s->root->state == SUP_RUNNING && s->root->nchildren)
        sv_shutdown_node(s, s->root, k->sys->cfg.on_shutdown_progress,
                         k->sys->cfg.on_shutdown_progress_ud);
    pthread_mutex_unlock(&s->lock);
    kit_run(k, DOWN_STEPS, NULL);
}

TROUPE_API void troupe_testkit_destroy(troupe_testkit *kit)
{
    if (troupei_tls.ctx || !kit_find(kit) || !kits_remove(kit))
        return;
    kit_tree_down(kit);
    system_begin_shutdown(kit->sys); /* every actor's stop, run below */
    kit_run(kit, DOWN_STEPS, NULL);
    sv_pump(kit->sys); /* the last exits */
    system_teardown(kit->sys);
    kit_free(kit);
}

TROUPE_API troupe_system *troupe_testkit_system(troupe_testkit *kit)
{
    troupe_testkit *k = kit_find(kit);
    return k ? k->sys : NULL;
}

TROUPE_API troupe_clock *troupe_testkit_clock(troupe_testkit *kit)
{
    troupe_testkit *k = kit_find(kit);
    return k ? k->clock : NULL;
}

TROUPE_API int troupe_testkit_of(troupe_system *sys, troupe_testkit **out)
{
    if (!sys || !out)
        return TROUPE_EINVAL;
    *out = NULL;
    pthread_mutex_lock(&kits_lock);
    for (size_t i = 0; i < nkits; i++)
        if (kits[i]->sys == sys)
            *out = kits[i];
    pthread_mutex_unlock(&kits_lock);
    return *out ? 0 : TROUPE_ESTATE;
}

static void hash_u64(uint64_t *h, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        *h ^= (v >> (8 * i)) & 0xFF;
        *h *= 0x100000001b3ull; /* FNV-1a's prime */
    }
}

void kit_record(troupe_testkit *k, const troupe_testkit_step_info *st)
{
    hash_u64(&k->hash, (uint64_t)st->slot << 32 | ref_gen(st->actor));
    hash_u64(&k->hash, (uint64_t)st->type << 32 | st->handled);
    hash_u64(&k->hash, st->ready);
    if (k->cap)
        k->ring[k->steps % k->cap] = *st;
    k->steps++;
}

TROUPE_API int troupe_testkit_trace(troupe_testkit *kit, troupe_testkit_step_info *out, size_t cap,
                                    size_t *n)
{
    troupe_testkit *k = kit_find(kit);
    if (!k)
        return TROUPE_ENOTFOUND;
    if (!n || (cap && !out))
        return TROUPE_EINVAL;
    uint64_t kept = k->steps < k->cap ? k->steps : k->cap;
    uint64_t first = k->steps - kept; /* the oldest kept step's index */
    for (uint64_t i = 0; i < kept && i < cap; i++)
        out[i] = k->ring[(first + i) % k->cap];
    *n = (size_t)kept;
    return 0;
}

TROUPE_API int troupe_testkit_trace_hash(troupe_testkit *kit, uint64_t *hash, uint64_t *steps)
{
    troupe_testkit *k = kit_find(kit);
    if (!k)
        return TROUPE_ENOTFOUND;
    if (hash)
        *hash = k->hash;
    if (steps)
        *steps = k->steps;
    return 0;
}
