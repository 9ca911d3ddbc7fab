/* migrate/adapter.c — adapters: the slot table and handles, create and
 * destroy, and the call: enter (count the call in flight), read the mode,
 * switch the copies if the flag moved, run the path, leave.
 *
 * Calls in flight are counted per thread shard. A call increments its
 * shard (seq_cst) and then checks that the state word is still the one it
 * read; a switch or a destroy stores a new state (seq_cst) and then waits
 * for the sum of the shards to reach zero. This is a Dekker pair: either
 * the call sees the new state and backs out, or the switch sees the call
 * and waits for it. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/system.h"
#include "migrate/mig.h"

static _Atomic uint32_t next_shard; /* relaxed: a thread's shard needs only to differ often */
static TROUPE_TLS uint32_t my_shard;

ashard *adapter_shard(adapter *ad)
{
    if (unlikely(!my_shard))
        my_shard = atomic_fetch_add_explicit(&next_shard, 1, memory_order_relaxed) + 1;
    return &ad->shards[my_shard % NSHARD];
}

uint64_t mig_now(troupe_system *sys) { return troupe_clock_now(sys->clock); }

/* ---- handles ----------------------------------------------------------------------- */

static troupe_adapter handle_of(uint32_t index, uint32_t gen)
{
    return (troupe_adapter){(uint64_t)gen << 32 | (index + 1)};
}

adapter *adapter_at(troupe_system *sys, troupe_adapter h, uint32_t *gen)
{
    uint32_t i = (uint32_t)h.id - 1;
    if (!sys || i >= TROUPE_ADAPTERS_MAX)
        return NULL;
    *gen = (uint32_t)(h.id >> 32);
    /* acquire: pairs with the release store in take_slot */
    return atomic_load_explicit(&sys->mig->slots[i], memory_order_acquire);
}

int adapter_enter(adapter *ad, uint32_t gen, ashard *sh, uint64_t *out)
{
    for (;;) {
        /* acquire: pairs with the release stores of switch_copies and destroy */
        uint64_t s = atomic_load_explicit(&ad->state, memory_order_acquire);
        if (st_gen(s) != gen || (s & ST_DEAD))
            return TROUPE_ENOTFOUND;
        if (s & ST_PAUSED) {
            switch_wait(ad, s);
            continue;
        }
        /* seq_cst: the increment, then the state load — pairs with the
         * switch's seq_cst state store, then its loads of the counts */
        atomic_fetch_add_explicit(&sh->word, 1, memory_order_seq_cst);
        if (atomic_load_explicit(&ad->state, memory_order_seq_cst) == s) {
            *out = s;
            return 0;
        }
        adapter_leave(sh);
    }
}

void adapter_leave(ashard *sh)
{
    /* release: the call's effects before the switch that waits for zero
     * (pairs with the acquire loads in switch_drain) */
    atomic_fetch_sub_explicit(&sh->word, 1, memory_order_release);
}

/* The adapter a handle names, entered (leave it with adapter_leave). */
int adapter_use(troupe_system *sys, troupe_adapter h, adapter **ad, ashard **sh)
{
    uint32_t gen;
    uint64_t s;
    if (!sys)
        return TROUPE_EINVAL;
    if (!(*ad = adapter_at(sys, h, &gen)))
        return TROUPE_ENOTFOUND;
    *sh = adapter_shard(*ad);
    return adapter_enter(*ad, gen, *sh, &s);
}

/* Leave, counting what served the call (one RMW for a legacy one). */
void adapter_leave_served(adapter *ad, ashard *sh, int served)
{
    (void)ad;
    if (served == PATH_LEGACY) { /* release: as adapter_leave */
        atomic_fetch_add_explicit(&sh->word, LEG_UNIT - 1, memory_order_release);
        return;
    }
    /* relaxed: counters */
    atomic_fetch_add_explicit(served == PATH_ACTOR ? &sh->served_actor : &sh->errors, 1,
                              memory_order_relaxed);
    adapter_leave(sh);
}

/* ---- the table -------------------------------------------------------------------- */

static bool name_live__(struct migrate *m, const char *name)
{
    for (int i = 0; i < TROUPE_ADAPTERS_MAX; i++)
        if (m->used[i] && strcmp(atomic_load_explicit(&m->slots[i], memory_order_relaxed)->name,
                                 name) == 0) /* relaxed: under the lock */
            return true;
    return false;
}

bool adapter_name_live(troupe_system *sys, const char *name)
{
    struct migrate *m = sys->mig;
    pthread_mutex_lock(&m->lock);
    bool live = name_live__(m, name);
    pthread_mutex_unlock(&m->lock);
    return live;
}

static adapter *slot_new(void)
{
    adapter *ad = talloc_aligned(0, sizeof *ad);
    if (!ad)
        return NULL;
    memset(ad, 0, sizeof *ad);
    pthread_mutex_init(&ad->tr_mu, NULL);
    pthread_mutex_init(&ad->wait_mu, NULL);
    pthread_cond_init(&ad->wait_cv, NULL);
    pthread_mutex_init(&ad->rec_mu, NULL);
    return ad;
}

/* A free slot (its struct allocated on first use), marked used. */
static int take_slot(struct migrate *m, const char *name, uint32_t *index)
{
    if (name_live__(m, name))
        return TROUPE_EEXIST;
    for (uint32_t i = 0; i < TROUPE_ADAPTERS_MAX; i++) {
        if (m->used[i])
            continue;
        if (!atomic_load_explicit(&m->slots[i], memory_order_relaxed)) { /* relaxed: under the lock */
            adapter *ad = slot_new();
            if (!ad)
                return TROUPE_ENOMEM;
            /* release: pairs with the acquire in adapter_at */
            atomic_store_explicit(&m->slots[i], ad, memory_order_release);
        }
        m->used[i] = true;
        *index = i;
        return 0;
    }
    return TROUPE_ENOMEM;
}

/* ---- create and destroy -------------------------------------------------------------- */

static bool adapter_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > TROUPE_ADAPTER_NAME_MAX)
        return false;
    return flag_name_ok(s, n) && !strchr(s, '.');
}

static bool op_ok(const troupe_adapter_def *def, uint32_t i)
{
    const troupe_adapter_op *op = &def->ops[i];
    if (!op->name || !op->legacy || !op->actor || op->result_max > TROUPE_ADAPTER_RESULT_MAX ||
        (unsigned)op->access > TROUPE_ADAPTER_WRITE || op->msg_type >= TROUPE_MSG_SYSTEM ||
        op->msg_type == def->sync_type)
        return false;
    /* a view answers reads only, and needs the actor to make one */
    if (op->view && (op->access != TROUPE_ADAPTER_READ || !def->make_view))
        return false;
    for (uint32_t j = 0; j < i; j++)
        if (def->ops[j].msg_type == op->msg_type)
            return false;
    return true;
}

static int check_def(const troupe_adapter_def *def, const troupe_adapter_config *cfg)
{
    if (!def || !cfg || !adapter_name_ok(def->name) || !def->ops || def->nops == 0 ||
        def->nops > TROUPE_ADAPTER_OPS_MAX || !def->load || !def->store ||
        def->sync_type >= TROUPE_MSG_SYSTEM)
        return TROUPE_EINVAL;
    for (uint32_t i = 0; i < def->nops; i++)
        if (!op_ok(def, i))
            return TROUPE_EINVAL;
    for (size_t i = 0; i < sizeof cfg->reserved; i++)
        if (cfg->reserved[i])
            return TROUPE_EINVAL;
    if (!cfg->obj || !cfg->lock || troupe_ref_is_none(cfg->actor) || cfg->timeout_ns == 0 ||
        cfg->sample_every == 0)
        return TROUPE_EINVAL;
    return 0;
}

TROUPE_API void troupe_adapter_config_defaults(troupe_adapter_config *cfg)
{
    if (cfg)
        *cfg = (troupe_adapter_config){.timeout_ns = 5000000000ull, .sample_every = 16};
}

/* Fill a taken slot; the state (LEGACY, a new generation) goes last. */
static void adapter_init(adapter *ad, troupe_system *sys, const troupe_adapter_def *def,
                         const troupe_adapter_config *cfg, const troupe_flag *flag, uint32_t gen)
{
    ad->def = def, ad->cfg = *cfg, ad->sys = sys, ad->flag = flag;
    ad->lock = (pthread_rwlock_t *)cfg->lock; /* documented as one in troupe/adapter.h */
    snprintf(ad->name, sizeof ad->name, "%s", def->name);
    /* relaxed: nobody reaches the slot's new generation before the state
     * store below. The in-flight bits of `word` are left alone: a stale
     * caller backing out may still decrement what it incremented. */
    for (int i = 0; i < NSHARD; i++) {
        ashard *sh = &ad->shards[i];
        atomic_fetch_and_explicit(&sh->word, INFL_MASK, memory_order_relaxed);
        atomic_store_explicit(&sh->served_actor, 0, memory_order_relaxed);
        atomic_store_explicit(&sh->compared, 0, memory_order_relaxed);
        atomic_store_explicit(&sh->mismatches, 0, memory_order_relaxed);
        atomic_store_explicit(&sh->errors, 0, memory_order_relaxed);
    }
    for (int p = 0; p < 2; p++) {
        for (int k = 0; k < LATB; k++)
            atomic_store_explicit(&ad->lat[p][k], 0, memory_order_relaxed);
        atomic_store_explicit(&ad->lat_sum[p], 0, memory_order_relaxed);
    }
    atomic_store_explicit(&ad->switches, 0, memory_order_relaxed);
    atomic_store_explicit(&ad->switch_failures, 0, memory_order_relaxed);
    atomic_store_explicit(&ad->retry_at, 0, memory_order_relaxed);
    atomic_store_explicit(&ad->forced, 0, memory_order_relaxed);
    atomic_store_explicit(&ad->rec, NULL, memory_order_relaxed);
    ad->last_mismatch[0] = '\0', ad->logged = 0;
    /* release: pairs with the acquire in adapter_enter (a handle of this
     * generation finds everything above written) */
    atomic_store_explicit(&ad->state, st_make(gen, 0, COPIES_LEGACY), memory_order_release);
}

TROUPE_API int troupe_adapter_create(troupe_system *sys, const troupe_adapter_def *def,
                                     const troupe_adapter_config *cfg, troupe_adapter *out)
{
    if (!sys || !out || check_def(def, cfg))
        return TROUPE_EINVAL;
    /* relaxed: a hint, as for breakers (a late create is freed by destroy) */
    if (atomic_load_explicit(&sys->state, memory_order_relaxed) != SYS_RUNNING)
        return TROUPE_ESHUTDOWN;
    char fname[TROUPE_FLAG_NAME_MAX + 1];
    snprintf(fname, sizeof fname, "adapter.%s", def->name);
    const troupe_flag *flag;
    int rc = troupe_flag_find(sys, fname, &flag);
    struct migrate *m = sys->mig;
    uint32_t i = 0;
    pthread_mutex_lock(&m->lock);
    if (rc == 0 && (rc = take_slot(m, def->name, &i)) == 0) {
        uint32_t gen = m->gens[i] = (m->gens[i] + 1) & ((1u << GEN_BITS) - 1);
        if (gen == 0)
            gen = m->gens[i] = 1;
        adapter_init(atomic_load_explicit(&m->slots[i], memory_order_relaxed), sys, def, cfg,
                     flag, gen); /* relaxed: under the lock */
        *out = handle_of(i, gen);
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

TROUPE_API int troupe_adapter_destroy(troupe_system *sys, troupe_adapter h)
{
    uint32_t gen;
    adapter *ad = adapter_at(sys, h, &gen);
    if (!ad)
        return TROUPE_ENOTFOUND;
    pthread_mutex_lock(&ad->tr_mu);
    uint64_t s = atomic_load_explicit(&ad->state, memory_order_acquire); /* pairs with adapter_init */
    int rc = st_gen(s) != gen || (s & ST_DEAD) ? TROUPE_ENOTFOUND : 0;
    if (rc == 0) {
        pthread_mutex_lock(&ad->wait_mu);
        /* seq_cst: pairs with adapter_enter's increment then load */
        atomic_store_explicit(&ad->state, s | ST_DEAD, memory_order_seq_cst);
        pthread_cond_broadcast(&ad->wait_cv);
        pthread_mutex_unlock(&ad->wait_mu);
        switch_drain(ad);
        pthread_mutex_lock(&sys->mig->lock);
        sys->mig->used[(uint32_t)h.id - 1] = false;
        pthread_mutex_unlock(&sys->mig->lock);
    }
    pthread_mutex_unlock(&ad->tr_mu);
    return rc;
}

/* ---- the call ---------------------------------------------------------------------- */

static TROUPE_TLS uint32_t sample_left; /* calls until the next timed one */

static int run_mode(adapter *ad, acall *c, cmode m)
{
    bool timed = sample_left-- <= 1;
    if (timed)
        sample_left = ad->cfg.sample_every;
    bool canary;
    switch (m.mode) {
    case TROUPE_MODE_LEGACY: return path_legacy(ad, c, timed);
    case TROUPE_MODE_ACTOR: return path_actor(ad, c, timed);
    case TROUPE_MODE_SHADOW: return path_both(ad, c, false, timed, NULL);
    default:
        canary = flag_bucket_on(ad->flag->salt, m.percent, c->key);
        if (ad->def->ops[c->op].access == TROUPE_ADAPTER_READ)
            return canary ? path_actor(ad, c, timed) : path_legacy(ad, c, timed);
        return path_both(ad, c, canary, timed, NULL);
    }
}

/* The mode a call runs in: the flag's, or — while a failed switch waits for
 * its retry — the one the copies kept now allow. */
static int pick_mode(adapter *ad, uint64_t s, cmode *m)
{
    *m = mode_now(ad);
    uint32_t want = copies_of(m->mode);
    if (want == st_copies(s))
        return 0;
    /* relaxed: a hint; the switch itself re-checks under tr_mu */
    if (mig_now(ad->sys) < atomic_load_explicit(&ad->retry_at, memory_order_relaxed)) {
        static const troupe_adapter_mode fallback[] = {TROUPE_MODE_LEGACY, TROUPE_MODE_SHADOW,
                                                       TROUPE_MODE_ACTOR};
        *m = (cmode){fallback[st_copies(s)], 0};
        return 0;
    }
    return 1; /* switch first */
}

TROUPE_API int troupe_adapter_call(troupe_system *sys, troupe_adapter h, uint32_t op,
                                   uint64_t key, const void *arg, size_t arg_len, void *res,
                                   size_t res_cap, size_t *res_len)
{
    uint32_t gen;
    if (!sys || (!arg && arg_len) || (!res && res_cap) || arg_len > TROUPE_COPY_MAX)
        return TROUPE_EINVAL;
    if (troupei_tls.ctx)
        return TROUPE_ESTATE;
    adapter *ad = adapter_at(sys, h, &gen);
    if (!ad)
        return TROUPE_ENOTFOUND;
    ashard *sh = adapter_shard(ad);
    acall c = {op, key, arg, arg_len, res, res_cap, res_len, -1};
    for (;;) {
        uint64_t s;
        cmode m;
        int rc = adapter_enter(ad, gen, sh, &s);
        if (rc)
            return rc;
        if (op >= ad->def->nops) {
            adapter_leave(sh);
            return TROUPE_EINVAL;
        }
        if (pick_mode(ad, s, &m) == 0) {
            if (unlikely(atomic_load_explicit(&ad->rec, memory_order_relaxed))) /* relaxed: a hint */
                trace_record(ad, &c);
            rc = run_mode(ad, &c, m);
            adapter_leave_served(ad, sh, c.served);
            return rc;
        }
        adapter_leave(sh);
        switch_copies(ad, s, copies_of(m.mode));
    }
}

/* ---- lookups ------------------------------------------------------------------------ */

TROUPE_API int troupe_adapter_find(troupe_system *sys, const char *name, troupe_adapter *out)
{
    if (!sys || !out || !adapter_name_ok(name))
        return TROUPE_EINVAL;
    struct migrate *m = sys->mig;
    int rc = TROUPE_ENOTFOUND;
    pthread_mutex_lock(&m->lock);
    for (uint32_t i = 0; i < TROUPE_ADAPTERS_MAX && rc; i++) {
        adapter *ad = atomic_load_explicit(&m->slots[i], memory_order_relaxed); /* under the lock */
        if (m->used[i] && strcmp(ad->name, name) == 0) {
            *out = handle_of(i, m->gens[i]);
            rc = 0;
        }
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

TROUPE_API int troupe_adapter_op_index(troupe_system *sys, troupe_adapter h, const char *op,
                                       uint32_t *out)
{
    adapter *ad;
    ashard *sh;
    if (!op || !out)
        return TROUPE_EINVAL;
    int rc = adapter_use(sys, h, &ad, &sh);
    if (rc)
        return rc;
    rc = TROUPE_ENOTFOUND;
    for (uint32_t i = 0; i < ad->def->nops && rc; i++)
        if (strcmp(ad->def->ops[i].name, op) == 0)
            *out = i, rc = 0;
    adapter_leave(sh);
    return rc;
}

TROUPE_API int troupe_adapter_set_mode(troupe_system *sys, const char *name,
                                       troupe_adapter_mode mode, uint32_t percent)
{
    static const troupe_flag_kind kinds[] = {TROUPE_FLAG_LEGACY, TROUPE_FLAG_SHADOW,
                                             TROUPE_FLAG_CANARY, TROUPE_FLAG_ACTOR};
    if (!sys || !adapter_name_ok(name) || (unsigned)mode > TROUPE_MODE_ACTOR || percent > 100 ||
        (mode != TROUPE_MODE_CANARY && percent != 0))
        return TROUPE_EINVAL;
    char fname[TROUPE_FLAG_NAME_MAX + 1];
    snprintf(fname, sizeof fname, "adapter.%s", name);
    uint32_t pct = mode == TROUPE_MODE_ACTOR ? 100 : percent;
    return flags_set_value(sys, fname, (troupe_flag_value){kinds[mode], pct});
}

TROUPE_API const char *troupe_adapter_mode_name(troupe_adapter_mode m)
{
    static const char *const names[] = {"legacy", "shadow", "canary", "actor"};
    return (unsigned)m <= TROUPE_MODE_ACTOR ? names[m] : "unknown";
}

/* ---- the system's side ------------------------------------------------------------------ */

int migrate_create(troupe_system *sys)
{
    struct migrate *m = sys_calloc(1, sizeof *m);
    if (!m)
        return TROUPE_ENOMEM;
    pthread_mutex_init(&m->lock, NULL);
    flags_init(&m->fl);
    m->fl.sys = sys;
    sys->mig = m; /* freed by migrate_destroy, also when this fails */
    return mig_metrics_register(sys);
}

/* After the workers stopped: free every slot and every flag. */
void migrate_destroy(troupe_system *sys)
{
    struct migrate *m = sys->mig;
    if (!m)
        return;
    for (int i = 0; i < TROUPE_ADAPTERS_MAX; i++) {
        adapter *ad = atomic_load_explicit(&m->slots[i], memory_order_relaxed); /* alone now */
        if (!ad)
            continue;
        pthread_mutex_destroy(&ad->tr_mu);
        pthread_mutex_destroy(&ad->wait_mu);
        pthread_cond_destroy(&ad->wait_cv);
        pthread_mutex_destroy(&ad->rec_mu);
        tfree_aligned(0, ad, sizeof *ad);
    }
    flags_free(&m->fl);
    pthread_mutex_destroy(&m->lock);
    free(m);
    sys->mig = NULL;
}
