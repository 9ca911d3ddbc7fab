/* core/pool.c — worker pools (include/troupe/pool.h, docs/POOLS.md): the
 * pools a config describes, where an actor belongs (its pool, its pinned
 * worker), placing a runnable actor there, and a blocking pool's growth.
 *
 * The default pool is always sys->pools[0] and its workers come first
 * (worker 0 is the default pool's): with no pools configured a system is
 * exactly what it was before pools, one pool of cfg.workers.
 *
 * Placement is checked where an actor is run, not where it is scheduled:
 * the hot send path keeps putting the receiver in the sending worker's
 * LIFO slot, and a worker that takes an actor that is not its own (another
 * pool's, or pinned elsewhere: AF_PLACED on a default worker, anything on
 * another pool's) hands it to its place instead of running it
 * (run_special). Only the default pool's workers fill their LIFO slot with
 * any actor (tls_state.sys); the others schedule by placement, so that a
 * handler blocked in a blocking pool holds no default actor behind it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/ext.h"
#include "core/system.h"
#include "core/topo.h"

TROUPE_API void troupe_pool_config_defaults(troupe_pool_config *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->pin = 1;
}

static bool name_ok(const char *n)
{
    size_t len = n ? strnlen(n, TROUPE_POOL_NAME_MAX + 1) : 0;
    if (len == 0 || len > TROUPE_POOL_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = n[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-'))
            return false;
    }
    return true;
}

/* Slots a pool's config asks for: its workers, or a blocking pool's bound. */
static uint32_t pool_workers(const troupe_pool_config *p)
{
    if (p->workers)
        return p->workers;
    if (p->blocking)
        return 1;
    return p->cpus ? (uint32_t)p->ncpus : topo_cores();
}

static uint32_t pool_slots(const troupe_pool_config *p)
{
    uint32_t w = pool_workers(p);
    if (!p->blocking)
        return w;
    return p->max_workers ? p->max_workers : 4 * w;
}

static int pool_check(const troupe_pool_config *p)
{
    if (!name_ok(p->name))
        return TROUPE_EINVAL;
    if (p->cpus ? p->ncpus == 0 || p->ncpus > TROUPE_MAX_WORKERS : p->ncpus != 0)
        return TROUPE_EINVAL; /* an empty CPU set */
    for (size_t i = 0; p->cpus && i < p->ncpus; i++)
        if (!topo_cpu_known(p->cpus[i]))
            return TROUPE_EINVAL; /* a CPU the machine lacks */
    if (p->workers > TROUPE_MAX_WORKERS || p->spin_ns > 1000000000ull ||
        p->batch > TROUPE_MAX_BATCH || (p->blocking && p->max_workers &&
                                         p->max_workers < pool_workers(p)))
        return TROUPE_EINVAL;
    return 0;
}

int pools_config_check(const troupe_config *c)
{
    if (!c->pools)
        return c->npools ? TROUPE_EINVAL : 0;
    if (c->npools == 0 || c->npools > TROUPE_MAX_POOLS)
        return TROUPE_EINVAL;
    uint32_t slots = 0;
    for (size_t i = 0; i < c->npools; i++) {
        int rc = pool_check(&c->pools[i]);
        if (rc)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->pools[i].name, c->pools[j].name) == 0)
                return TROUPE_EINVAL; /* a duplicate name */
        slots += pool_slots(&c->pools[i]);
        if (slots > TROUPE_MAX_WORKERS)
            return TROUPE_EINVAL;
    }
    return 0;
}

/* The default pool of a config without pools: today's workers, cpus, pin. */
static void legacy_pool(const troupe_config *c, troupe_pool_config *p)
{
    troupe_pool_config_defaults(p);
    p->name = TROUPE_POOL_DEFAULT;
    p->workers = c->workers ? c->workers : c->cpus ? (uint32_t)c->ncpus : topo_cores();
    p->cpus = c->cpus;
    p->ncpus = c->cpus ? c->ncpus : 0;
    p->pin = c->pin;
}

static int pool_fill(troupe_system *sys, pool *p, const troupe_pool_config *pc, uint32_t first)
{
    snprintf(p->name, sizeof p->name, "%s", pc->name);
    p->sys = sys;
    p->first = first;
    p->n = pool_slots(pc);
    p->initial = pool_workers(pc);
    atomic_init(&p->nstarted, 0);
    p->spin_ns = pc->spin_ns ? pc->spin_ns : sys->cfg.spin_ns;
    p->batch = pc->batch;
    p->pin = pc->pin;
    p->blocking = pc->blocking != 0;
    pthread_mutex_init(&p->inj.lock, NULL);
    pthread_mutex_init(&p->grow_lock, NULL);
    if (!pc->cpus)
        return 0;
    if (!(p->cpus = sys_calloc(pc->ncpus, sizeof *p->cpus)))
        return TROUPE_ENOMEM;
    memcpy(p->cpus, pc->cpus, pc->ncpus * sizeof *p->cpus);
    p->ncpus = (uint32_t)pc->ncpus;
    return 0;
}

/* The configs in pool order: the default ("default", else the first)
 * first, the others as given. */
static const troupe_pool_config *pool_cfg_at(const troupe_config *c, size_t i)
{
    size_t d = 0;
    for (size_t k = 0; k < c->npools; k++)
        if (strcmp(c->pools[k].name, TROUPE_POOL_DEFAULT) == 0)
            d = k;
    if (i == 0)
        return &c->pools[d];
    return &c->pools[i <= d ? i - 1 : i];
}

int pools_init(troupe_system *sys)
{
    const troupe_config *c = &sys->cfg;
    troupe_pool_config legacy;
    legacy_pool(c, &legacy);
    sys->npools = c->pools ? (uint32_t)c->npools : 1;
    sys->pools = talloc_aligned(0, sizeof(pool) * sys->npools);
    if (!sys->pools)
        return TROUPE_ENOMEM;
    memset(sys->pools, 0, sizeof(pool) * sys->npools);
    uint32_t first = 0;
    for (uint32_t i = 0; i < sys->npools; i++) {
        pool *p = &sys->pools[i];
        p->index = i;
        int rc = pool_fill(sys, p, c->pools ? pool_cfg_at(c, i) : &legacy, first);
        if (rc)
            return rc;
        first += p->n;
    }
    sys->nworkers = first;
    return 0;
}

void pools_init_workers(troupe_system *sys)
{
    for (uint32_t k = 0; k < sys->npools; k++) {
        pool *p = &sys->pools[k];
        for (uint32_t i = p->first; i < p->first + p->n; i++) {
            worker *w = &sys->workers[i];
            w->pool = p;
            w->run_mask = k == 0 ? AF_RUN_SPECIAL : 0xFFFFu;
            pthread_mutex_init(&w->pin.lock, NULL);
        }
    }
}

void pools_free(troupe_system *sys)
{
    for (uint32_t k = 0; sys->pools && k < sys->npools; k++) {
        pool *p = &sys->pools[k];
        free(p->cpus);
        pthread_mutex_destroy(&p->inj.lock);
        pthread_mutex_destroy(&p->grow_lock);
    }
    for (uint32_t i = 0; sys->workers && i < sys->nworkers; i++)
        if (sys->workers[i].pool)
            pthread_mutex_destroy(&sys->workers[i].pin.lock);
    tfree_aligned(0, sys->pools, sizeof(pool) * sys->npools);
    sys->pools = NULL;
}

/* The first threads: a blocking pool's initial workers, every other
 * pool's all. */
int pools_start(troupe_system *sys)
{
    for (uint32_t k = 0; k < sys->npools; k++) {
        pool *p = &sys->pools[k];
        for (uint32_t i = 0; i < p->initial; i++) {
            worker *w = &sys->workers[p->first + i];
            if (pthread_create(&w->thread, NULL, sched_worker_main, w) != 0)
                return TROUPE_ESYS;
            w->started = true;
            /* release: the walkers of the pool's workers see a started one */
            atomic_store_explicit(&p->nstarted, i + 1, memory_order_release);
        }
    }
    return 0;
}

/* ---- placement ---------------------------------------------------------------------- */

void injq_push(injq *q, actor *head, actor *tail, uint32_t n)
{
    pthread_mutex_lock(&q->lock);
    tail->next = NULL;
    if (q->tail)
        q->tail->next = head;
    else
        q->head = head;
    q->tail = tail;
    /* relaxed: a hint (injq.len); the mutex orders the list */
    atomic_fetch_add_explicit(&q->len, n, memory_order_relaxed);
    pthread_mutex_unlock(&q->lock);
}

actor *injq_pop(injq *q)
{
    if (atomic_load_explicit(&q->len, memory_order_relaxed) == 0)
        return NULL;
    pthread_mutex_lock(&q->lock);
    actor *a = q->head;
    if (a) {
        q->head = a->next;
        if (!q->head)
            q->tail = NULL;
        atomic_fetch_sub_explicit(&q->len, 1, memory_order_relaxed); /* as injq_push */
    }
    pthread_mutex_unlock(&q->lock);
    return a;
}

uint32_t sched_pinned(const actor *a)
{
    if (!(a->flags & AF_PLACED))
        return 0;
    actor_ext *x = ext_peek(a);
    /* relaxed: set at spawn, published by mb_open's release */
    return x ? atomic_load_explicit(&x->pin, memory_order_relaxed) : 0;
}

bool placed_here(const worker *w, const actor *a)
{
    if (a->home != w->pool->index)
        return false;
    uint32_t pin = sched_pinned(a);
    return !pin || (pin == w->index + 1 && !w->caller);
}

/* Wake the one worker a pinned actor waits for. Store buffering against
 * park() (store parked, load pin.len, both seq_cst), made with seq_cst
 * operations rather than a fence, which TSan cannot model: the RMW of
 * pin.len reads the push's count, and either it precedes park()'s load in
 * the single order (which then sees the actor) or the store of parked
 * precedes this CAS (which then sees parked and wakes it). */
static void pin_wake(troupe_system *sys, worker *w)
{
    /* seq_cst: against park()'s seq_cst load of pin.len (above) */
    atomic_fetch_add_explicit(&w->pin.len, 0, memory_order_seq_cst);
    uint32_t one = 1;
    /* seq_cst: against park()'s seq_cst store of parked; claims the wake-up */
    if (atomic_compare_exchange_strong_explicit(&w->parked, &one, 0, memory_order_seq_cst,
                                                memory_order_seq_cst)) {
        atomic_fetch_sub_explicit(&w->pool->n_parked, 1, memory_order_relaxed);
        futex_wake_u32(&w->parked, 1);
    }
    (void)sys;
}

void sched_place(troupe_system *sys, actor *a)
{
    uint32_t pin = sched_pinned(a);
    if (pin && !sys->manual) {
        worker *w = &sys->workers[pin - 1];
        injq_push(&w->pin, a, a, 1);
        pin_wake(sys, w);
        return;
    }
    /* a test kit's thread runs the default pool's injector alone */
    pool *p = sys->manual ? &sys->pools[0] : &sys->pools[a->home];
    injq_push(&p->inj, a, a, 1);
    pool_notify(p);
}

/* ---- a blocking pool's growth -------------------------------------------------------- */

/* Every started worker of p is inside a handler (a sample: one between
 * two runs will look for work itself). */
static bool all_busy(pool *p, troupe_system *sys, uint32_t started)
{
    for (uint32_t i = 0; i < started; i++)
        /* relaxed: the owner's sample (worker.running) */
        if (!atomic_load_explicit(&sys->workers[p->first + i].running, memory_order_relaxed))
            return false;
    return true;
}

void pool_maybe_grow(pool *p)
{
    troupe_system *sys = p->sys;
    /* acquire: pairs with the grower's release store of nstarted */
    uint32_t started = atomic_load_explicit(&p->nstarted, memory_order_acquire);
    if (started >= p->n || started == 0 || !all_busy(p, sys, started))
        return;
    /* not a trylock: a worker just started by a grower that still holds
     * the lock must see the new count, or its own growth would be lost */
    pthread_mutex_lock(&p->grow_lock);
    started = atomic_load_explicit(&p->nstarted, memory_order_relaxed); /* ours, under the lock */
    /* acquire: sched_stop's store; it takes grow_lock before it joins */
    if (started < p->n && all_busy(p, sys, started) &&
        !atomic_load_explicit(&sys->stopping, memory_order_acquire)) {
        worker *w = &sys->workers[p->first + started];
        if (pthread_create(&w->thread, NULL, sched_worker_main, w) == 0) {
            w->started = true;
            /* release: see pool_maybe_grow's load */
            atomic_store_explicit(&p->nstarted, started + 1, memory_order_release);
        }
    }
    pthread_mutex_unlock(&p->grow_lock);
}

/* ---- spawning into a pool -------------------------------------------------------------- */

static int pool_find(troupe_system *sys, const char *name)
{
    for (uint32_t k = 0; k < sys->npools; k++)
        if (strcmp(sys->pools[k].name, name) == 0)
            return (int)k;
    return TROUPE_ENOTFOUND;
}

const char *pool_name_of(troupe_system *sys, const char *name)
{
    int k = pool_find(sys, name);
    return k < 0 ? NULL : sys->pools[k].name;
}

/* The spawning actor's pool when a handler (or an init) of this system
 * spawns, else the default. */
static uint8_t parent_pool(troupe_system *sys)
{
    troupe_ctx *c = troupei_tls.ctx;
    return c && c->sys == sys && c->a ? c->a->home : 0;
}

int pool_resolve(troupe_system *sys, const troupe_spawn_opts *o, uint8_t *home, uint32_t *pin)
{
    int k = parent_pool(sys);
    if (o && o->pool && (k = pool_find(sys, o->pool)) < 0)
        return k;
    pool *p = &sys->pools[k];
    *home = (uint8_t)k;
    *pin = 0;
    if (!o || !o->pin)
        return 0;
    if (o->pin_worker >= p->n || (p->blocking && o->pin_worker >= p->initial))
        return TROUPE_EINVAL; /* a worker the pool does not have (yet) */
    *pin = sys->manual ? 0 : p->first + o->pin_worker + 1;
    return 0;
}

/* ---- queries ---------------------------------------------------------------------------- */

static uint32_t pool_queued(troupe_system *sys, pool *p)
{
    uint32_t n = atomic_load_explicit(&p->inj.len, memory_order_relaxed); /* a sample */
    for (uint32_t i = p->first; i < p->first + p->n; i++)
        n += runq_length(&sys->workers[i].q) +
             atomic_load_explicit(&sys->workers[i].pin.len, memory_order_relaxed);
    return n;
}

TROUPE_API int troupe_pool_info_get(troupe_system *sys, const char *name, troupe_pool_info *out)
{
    if (!sys || !out)
        return TROUPE_EINVAL;
    int k = name ? pool_find(sys, name) : 0;
    if (k < 0)
        return k;
    pool *p = &sys->pools[k];
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", p->name);
    /* acquire: as pool_maybe_grow's */
    uint32_t started = atomic_load_explicit(&p->nstarted, memory_order_acquire);
    out->workers = started;
    out->max_workers = p->n;
    out->first_worker = p->first;
    out->blocking = p->blocking;
    for (uint32_t i = 0; i < p->n && i < 64; i++)
        out->cpus[out->ncpus++] = sys->workers[p->first + i].cpu;
    out->runq_length = pool_queued(sys, p);
    out->configured = p->initial;
    /* relaxed: samples of the scheduler's counts (pool_notify's hints);
     * nothing is read through them */
    out->parked = atomic_load_explicit(&p->n_parked, memory_order_relaxed);
    out->spinning = atomic_load_explicit(&p->n_spinning, memory_order_relaxed);
    for (uint32_t i = 0; i < started; i++)
        /* relaxed: a sample of the owner's word */
        out->blocked += atomic_load_explicit(&sys->workers[p->first + i].running,
                                             memory_order_relaxed) != 0;
    return 0;
}

TROUPE_API int troupe_system_pools(troupe_system *sys, const char **names, size_t max)
{
    if (!sys || (!names && max))
        return TROUPE_EINVAL;
    for (uint32_t k = 0; k < sys->npools && k < max; k++)
        names[k] = sys->pools[k].name;
    return (int)sys->npools;
}

TROUPE_API const char *troupe_current_pool(void)
{
    worker *w = troupei_tls.w;
    return w && w->pool && !w->caller ? w->pool->name : NULL;
}
