/* migrate/switch.c — moving an adapter between the copies it keeps
 * (legacy, both, actor) when its flag moved.
 *
 * A switch, serialised by tr_mu: store the state PAUSED (new calls wait on
 * wait_cv), wait for the calls in flight to leave (switch_drain), bring the
 * copy that was not kept up to date — the actor loads the object, or stores
 * its copy into it, while the object's write lock is held (plain legacy
 * code may still use the object directly) — then store the new state and
 * wake the waiting calls. A failed sync leaves the copies as they were. */
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/system.h"
#include "migrate/mig.h"

#define RETRY_NS 1000000000ull /* a failed switch is tried again after 1 s */

uint32_t copies_of(troupe_adapter_mode m)
{
    return m == TROUPE_MODE_LEGACY ? COPIES_LEGACY
           : m == TROUPE_MODE_ACTOR ? COPIES_ACTOR
                                    : COPIES_BOTH;
}

cmode mode_now(adapter *ad)
{
    /* relaxed: a replay sets it before it switches; a call that misses it
     * runs the flag's mode on copies that fit it */
    if (atomic_load_explicit(&ad->forced, memory_order_relaxed))
        return (cmode){TROUPE_MODE_SHADOW, 0};
    troupe_flag_value v = troupe_flag_read(ad->flag);
    switch (v.kind) {
    case TROUPE_FLAG_ON:
    case TROUPE_FLAG_ACTOR: return (cmode){TROUPE_MODE_ACTOR, 100};
    case TROUPE_FLAG_SHADOW: return (cmode){TROUPE_MODE_SHADOW, 0};
    case TROUPE_FLAG_PERCENT:
    case TROUPE_FLAG_CANARY: return (cmode){TROUPE_MODE_CANARY, v.percent};
    default: return (cmode){TROUPE_MODE_LEGACY, 0};
    }
}

void switch_wait(adapter *ad, uint64_t paused)
{
    pthread_mutex_lock(&ad->wait_mu);
    /* acquire: pairs with the release store made under wait_mu */
    while (atomic_load_explicit(&ad->state, memory_order_acquire) == paused)
        pthread_cond_wait(&ad->wait_cv, &ad->wait_mu);
    pthread_mutex_unlock(&ad->wait_mu);
}

void switch_drain(adapter *ad)
{
    for (unsigned spins = 0;; spins++) {
        uint64_t sum = 0;
        for (int i = 0; i < NSHARD; i++) /* seq_cst: pairs with adapter_enter's increment */
            sum += atomic_load_explicit(&ad->shards[i].word, memory_order_seq_cst) & INFL_MASK;
        if (sum == 0)
            return;
        if (spins < 64) {
            sched_yield();
        } else {
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        }
    }
}

/* The switch gave up waiting: expire the ticket, or — if the actor claimed
 * it first — wait until its sync is done (the write lock is still held,
 * so it never runs unprotected). Either way the switch fails: the copies
 * it would have made are not trusted. */
static int sync_abandon(adapter *ad, uint64_t seq, int rc)
{
    uint64_t open = seq << 2 | TK_OPEN;
    /* acq_rel: pairs with the actor's claim CAS in serve_sync */
    if (atomic_compare_exchange_strong_explicit(&ad->ticket, &open, seq << 2 | TK_EXPIRED,
                                                memory_order_acq_rel, memory_order_acquire))
        return rc;
    /* acquire: pairs with the actor's release store of DONE. Bounded: a
     * load or store that panicked never says DONE (its handler is over). */
    uint64_t t = ad->cfg.timeout_ns;
    uint64_t until = deadline_add(mono_ns(), t > UINT64_MAX / 4 ? UINT64_MAX : 4 * t);
    while (atomic_load_explicit(&ad->ticket, memory_order_acquire) != (seq << 2 | TK_DONE)) {
        if (mono_ns() > until) {
            fprintf(stderr, "troupe: adapter %s: a sync claimed by the actor never ended\n",
                    ad->name);
            break;
        }
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    return rc;
}

/* Ask the actor to load the object or store into it. */
static int sync_ask(adapter *ad, uint32_t dir)
{
    uint64_t seq = ++ad->ticket_seq;
    /* release: the ticket's new sequence before the message that names it */
    atomic_store_explicit(&ad->ticket, seq << 2 | TK_OPEN, memory_order_release);
    syncmsg msg = {dir, 0, ad->cfg.obj, &ad->ticket, seq};
    char reply[16];
    size_t len = 0;
    int rc = troupe_ask(ad->sys, ad->cfg.actor, ad->def->sync_type, &msg, sizeof msg,
                        ad->cfg.timeout_ns, NULL, reply, sizeof reply, &len);
    if (rc == 0 && len < sizeof(int32_t))
        rc = TROUPE_EINVAL; /* not an answer of troupe_adapter_serve */
    if (rc) /* sent, maybe: make sure it never runs later */
        return sync_abandon(ad, seq, rc);
    int32_t code;
    memcpy(&code, reply, sizeof code);
    return code;
}

static int sync_copies(adapter *ad, uint32_t from, uint32_t to)
{
    uint32_t dir = from == COPIES_LEGACY && to != COPIES_LEGACY  ? TROUPE_ADAPTER_SYNC_LOAD
                   : from == COPIES_ACTOR && to != COPIES_ACTOR ? TROUPE_ADAPTER_SYNC_STORE
                                                                : 0;
    if (!dir)
        return 0;
    pthread_rwlock_wrlock(ad->lock);
    int rc = sync_ask(ad, dir);
    pthread_rwlock_unlock(ad->lock);
    return rc;
}

static void account(adapter *ad, uint32_t from, uint32_t to, int rc)
{
    static const char *const names[] = {"legacy", "both", "actor"};
    if (rc == 0) {
        atomic_fetch_add_explicit(&ad->switches, 1, memory_order_relaxed); /* relaxed: a counter */
        atomic_store_explicit(&ad->retry_at, 0, memory_order_relaxed);     /* relaxed: a hint */
        return;
    }
    atomic_fetch_add_explicit(&ad->switch_failures, 1, memory_order_relaxed); /* a counter */
    atomic_store_explicit(&ad->retry_at, mig_now(ad->sys) + RETRY_NS, memory_order_relaxed);
    fprintf(stderr, "troupe: adapter %s: switch from %s to %s copies failed: %s\n", ad->name,
            names[from], names[to], troupe_strerror(rc));
}

int switch_copies(adapter *ad, uint64_t seen, uint32_t want)
{
    pthread_mutex_lock(&ad->tr_mu);
    /* acquire: pairs with the stores below and in destroy */
    uint64_t s = atomic_load_explicit(&ad->state, memory_order_acquire);
    if (s != seen || st_copies(s) == want) { /* another thread switched (or destroyed) */
        pthread_mutex_unlock(&ad->tr_mu);
        return 0;
    }
    uint32_t gen = st_gen(s), ep = st_epoch(s), from = st_copies(s);
    /* seq_cst: pairs with adapter_enter's increment then load */
    atomic_store_explicit(&ad->state, st_make(gen, ep + 1, from) | ST_PAUSED, memory_order_seq_cst);
    switch_drain(ad);
    int rc = sync_copies(ad, from, want);
    pthread_mutex_lock(&ad->wait_mu);
    /* release: pairs with the acquire loads of adapter_enter and switch_wait */
    atomic_store_explicit(&ad->state, st_make(gen, ep + 2, rc ? from : want), memory_order_release);
    pthread_cond_broadcast(&ad->wait_cv);
    pthread_mutex_unlock(&ad->wait_mu);
    account(ad, from, want, rc);
    pthread_mutex_unlock(&ad->tr_mu);
    return rc;
}
