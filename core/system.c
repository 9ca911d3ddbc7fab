/* core/system.c — core's own part of a system's life: its tables, workers,
 * asks and timers, starting and stopping the workers, asking every actor to
 * stop, and ending what is left. The composition root (runtime/system.c)
 * owns the public create, shutdown and destroy and calls these, in order,
 * around the subsystems above core; core calls none of them (core/hooks.h
 * is how it reaches them). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/ext.h"
#include "core/fault.h"
#include "core/probe.h"
#include "core/system.h"
#include "core/timer.h"
#include "core/topo.h"

/* The pools and no_env_deploy took their fields out of the reserved
 * bytes: the size (the ABI) is what it was before them. */
_Static_assert(sizeof(troupe_config) == 304, "troupe_config's size is ABI");
_Static_assert(sizeof(troupe_spawn_opts) == 56, "troupe_spawn_opts's size is ABI");

int core_config_check(const troupe_config *c)
{
    if (c->workers > TROUPE_MAX_WORKERS || c->mailbox_capacity == 0 ||
        c->mailbox_capacity > TROUPE_MAILBOX_MAX_CAPACITY || c->batch == 0 ||
        c->batch > TROUPE_MAX_BATCH || (unsigned)c->overflow > TROUPE_OVERFLOW_REDIRECT)
        return TROUPE_EINVAL;
    if (c->cpus && (c->ncpus == 0 || c->ncpus > TROUPE_MAX_WORKERS))
        return TROUPE_EINVAL;
    if (c->cpus && c->workers > c->ncpus)
        return TROUPE_EINVAL; /* every worker needs its CPU */
    if (c->spin_ns > 1000000000ull || c->shutdown_timeout_ns <= 0)
        return TROUPE_EINVAL;
    return pools_config_check(c);
}

static int init_workers(troupe_system *sys)
{
    sys->workers = talloc_aligned(0, sizeof(worker) * sys->nworkers);
    if (!sys->workers)
        return TROUPE_ENOMEM;
    memset(sys->workers, 0, sizeof(worker) * sys->nworkers);
    for (uint32_t i = 0; i < sys->nworkers; i++) {
        worker *w = &sys->workers[i];
        runq_init(&w->q);
        w->sys = sys;
        w->index = i;
    }
    pools_init_workers(sys);
    return topo_plan(sys);
}

/* ---- ref tags: which system a ref belongs to ------------------------------------- */

#define NTAGS (1u << REF_TAG_BITS)

static pthread_mutex_t tags_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t tags_live[NTAGS / 64]; /* bit t: a live system holds tag t */
static uint32_t tags_last;             /* the tag handed out last */

/* The next tag after the last one handed out that no live system holds
 * (never 0): two live systems always differ, and a destroyed system's tag
 * comes back as late as possible. TROUPE_EBUSY with NTAGS - 1 live. */
static int ref_tag_take(uint64_t *out)
{
    int rc = TROUPE_EBUSY;
    pthread_mutex_lock(&tags_lock);
    for (uint32_t i = 1; i <= NTAGS; i++) {
        uint32_t t = (tags_last + i) % NTAGS;
        if (t == 0 || (tags_live[t / 64] >> (t % 64) & 1))
            continue;
        tags_live[t / 64] |= 1ull << (t % 64);
        tags_last = t;
        *out = (uint64_t)t << REF_TAG_SHIFT;
        rc = 0;
        break;
    }
    pthread_mutex_unlock(&tags_lock);
    return rc;
}

static void ref_tag_give(uint64_t tag)
{
    uint32_t t = (uint32_t)(tag >> REF_TAG_SHIFT);
    if (!t)
        return; /* create failed before it had one */
    pthread_mutex_lock(&tags_lock);
    tags_live[t / 64] &= ~(1ull << (t % 64));
    pthread_mutex_unlock(&tags_lock);
}

troupe_system *core_new(void)
{
    troupe_system *sys = talloc_aligned(0, sizeof *sys);
    if (!sys)
        return NULL;
    memset(sys, 0, sizeof *sys);
    hooks_defaults(&sys->hooks);
    if (!(sys->probe = probe_tab_new())) {
        tfree_aligned(0, sys, sizeof *sys);
        return NULL;
    }
    return sys;
}

int core_init(troupe_system *sys, const troupe_config *cfg)
{
    sys->cfg = *cfg;
    sys->clock = cfg->clock;
    sys->alloc_mode = cfg->use_arena && alloc_arena_available();
    pthread_mutex_init(&sys->live_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&sys->live_cond, &ca);
    pthread_condattr_destroy(&ca);
    int rc;
    if ((rc = ref_tag_take(&sys->ref_tag)) ||
        (rc = table_init(&sys->actors, sizeof(actor))))
        return rc;
    if ((rc = pools_init(sys)) || (rc = init_workers(sys)) || (rc = asks_create(sys)) || (rc = timers_create(sys)))
        return rc;
    return 0;
}

int core_start(troupe_system *sys)
{
    int rc = dead_letter_spawn(sys);
    return rc ? rc : sched_start(sys);
}

/* Ask every live user actor to stop: a stop signal on its system lane. If
 * there is no memory for the signal's envelope, the actor is only made
 * runnable: run_actor stops any actor it runs while the system is shutting
 * down (no spawn can reuse a slot meanwhile, so the generation is stable). */
static void stop_all(troupe_system *sys, troupe_failure_kind why)
{
    uint32_t high = table_high(&sys->actors);
    for (uint32_t i = 1; i <= high; i++) {
        actor *a = table_get(&sys->actors, i);
        if (!a || i == ref_index(sys->dead_letter))
            continue;
        uint64_t t = atomic_load_explicit(&a->mb.tail, memory_order_acquire);
        if ((t & TW_CLOSED) || tw_gen(t) == 0)
            continue;
        tmsg m = {.type = SYSMSG_STOP, .corr = why};
        if (send_sys(sys, ref_make(sys, i, tw_gen(t)), &m) == TROUPE_ENOMEM &&
            (mb_kick_mpsc(&a->mb, tw_gen(t)) || mute_take_suspended(a)))
            sched_actor(sys, a);
    }
}

int alloc_mode_of(const struct troupe_system *sys)
{
    return sys->alloc_mode;
}

void system_begin_shutdown(troupe_system *sys)
{
    int expect = SYS_RUNNING;
    atomic_compare_exchange_strong(&sys->state, &expect, SYS_SHUTTING);
    /* relaxed: a hint for sends, as their load of it (send_msg) */
    atomic_fetch_or_explicit(&sys->send_gate, SEND_GATE_DOWN, memory_order_relaxed);
    /* every call (re)sends the stop signals; extra ones are dropped at
     * close */
    stop_all(sys, TROUPE_EXIT_SHUTDOWN);
}

static int wait_live_zero(troupe_system *sys, uint64_t timeout_ns)
{
    uint64_t abs = deadline_add(mono_ns(), timeout_ns); /* NEVER: no timeout */
    struct timespec ts = {(time_t)(abs / 1000000000ull), (long)(abs % 1000000000ull)};
    int rc = 0;
    pthread_mutex_lock(&sys->live_lock);
    while (atomic_load_explicit(&sys->live, memory_order_acquire) > 0 && rc == 0)
        rc = abs == DEADLINE_NEVER ? pthread_cond_wait(&sys->live_cond, &sys->live_lock)
                                   : pthread_cond_timedwait(&sys->live_cond, &sys->live_lock, &ts);
    bool done = atomic_load_explicit(&sys->live, memory_order_acquire) == 0;
    pthread_mutex_unlock(&sys->live_lock);
    return done ? 0 : TROUPE_ETIMEDOUT;
}

int core_shutdown(troupe_system *sys, uint64_t timeout_ns)
{
    system_begin_shutdown(sys);
    return wait_live_zero(sys, timeout_ns);
}

/* After the workers are joined: end whatever is still open. */
static void force_finish(troupe_system *sys)
{
    uint32_t high = sys->actors.top ? table_high(&sys->actors) : 0;
    for (uint32_t i = 1; i <= high; i++) {
        actor *a = table_get(&sys->actors, i);
        if (!a)
            continue;
        uint64_t t = atomic_load_explicit(&a->mb.tail, memory_order_acquire);
        if (!(t & TW_CLOSED) && tw_gen(t) != 0)
            actor_finish(sys, a, TROUPE_EXIT_SHUTDOWN);
    }
}

static void fin_actor(void *obj, void *ud)
{
    actor *a = obj;
    ext_free(ud, a);
    mb_free_ring(ud, &a->mb); /* kept by mb_close for the slot's next actor */
}

void core_halt(troupe_system *sys)
{
    atomic_store(&sys->state, SYS_DOWN);
    if (sys->workers)
        sched_stop(sys);
}

void core_finish(troupe_system *sys)
{
    timers_stop(sys);
    force_finish(sys);
    timers_destroy(sys);
    asks_destroy(sys);
}

void core_free(troupe_system *sys)
{
    if (sys->actors.top)
        table_destroy(&sys->actors, fin_actor, sys);
    if (sys->workers)
        for (uint32_t i = 0; i < sys->nworkers; i++)
            free(sys->workers[i].victims);
    pools_free(sys);
    tfree_aligned(0, sys->workers, sizeof(worker) * sys->nworkers);
    probe_tab_free(sys->probe);
    fault_sys_free(sys); /* after the timers stopped (core_finish) */
    pthread_mutex_destroy(&sys->live_lock);
    pthread_cond_destroy(&sys->live_cond);
    ref_tag_give(sys->ref_tag);
    tfree_aligned(0, sys, sizeof *sys);
}

TROUPE_API uint32_t troupe_system_workers(const troupe_system *sys)
{
    return sys ? sys->nworkers : 0;
}

TROUPE_API int troupe_system_stats_get(const troupe_system *sys, troupe_system_stats *out)
{
    if (!sys || !out)
        return TROUPE_EINVAL;
    memset(out, 0, sizeof *out);
    out->actors_live = atomic_load(&sys->live);
    out->actors_spawned = atomic_load(&sys->spawned);
    out->actors_failed = atomic_load(&sys->failed);
    out->messages_destroyed = atomic_load(&sys->destroyed);
    out->late_replies = atomic_load(&sys->late_replies);
    out->dead_letters = atomic_load(&sys->dead_letters);
    for (uint32_t i = 0; i < sys->nworkers; i++) {
        out->steals += atomic_load(&sys->workers[i].steals);
        out->parks += atomic_load(&sys->workers[i].parks);
        const adapt *ad = &sys->workers[i].ad; /* relaxed: samples (core/adapt.h) */
        out->starved_switches += atomic_load_explicit(&ad->switches, memory_order_relaxed);
        out->workers_starved += adapt_starved(ad);
    }
    return 0;
}
