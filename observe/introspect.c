/* observe/introspect.c — actors and workers as the API shows them.
 *
 * A reader walks the actor table without stopping anything: slots are
 * type-stable (core/table.h), a slot's generation and CLOSED bit come from
 * its tail word, and a behaviour pointer read between two tail loads that
 * agree belongs to that incarnation.
 */
#include <stdio.h>
#include <string.h>

#include "observe/obs.h"
#include "registry/entry.h"
#include "supervisor/evlog.h"
#include "supervisor/sv.h"

TROUPE_API const char *troupe_health_name(troupe_health h)
{
    switch (h) {
    case TROUPE_HEALTH_HEALTHY: return "healthy";
    case TROUPE_HEALTH_UNHEALTHY: return "unhealthy";
    default: return "unknown";
    }
}

TROUPE_API const char *troupe_actor_state_name(troupe_actor_state s)
{
    switch (s) {
    case TROUPE_ACTOR_IDLE: return "idle";
    case TROUPE_ACTOR_ACTIVE: return "active";
    case TROUPE_ACTOR_RESTARTING: return "restarting";
    default: return "unknown";
    }
}

const troupe_behaviour *obs_live_beh(troupe_system *sys, actor *a, uint64_t *ref)
{
    /* acquire: pairs with mb_open's release, which follows spawn's store
     * of beh; the second load tells whether the slot was reused meanwhile */
    uint64_t t = atomic_load_explicit(&a->mb.tail, memory_order_acquire);
    if ((t & TW_CLOSED) || tw_gen(t) == 0)
        return NULL;
    const troupe_behaviour *b = __atomic_load_n(&a->beh, __ATOMIC_RELAXED);
    atomic_thread_fence(memory_order_acquire);
    uint64_t t2 = atomic_load_explicit(&a->mb.tail, memory_order_relaxed);
    if ((t2 & TW_CLOSED) || tw_gen(t2) != tw_gen(t))
        return NULL;
    *ref = ref_make(sys, a->index, tw_gen(t)).id;
    return b;
}

static bool type_matches(const troupe_behaviour *b, const char *type)
{
    if (!b || obs_runtime_beh(b))
        return false;
    return !type || (b->name && strcmp(b->name, type) == 0);
}

TROUPE_API int troupe_actor_list(troupe_system *sys, const char *type, troupe_ref *out,
                                 size_t cap, size_t *total)
{
    if (!sys || !total || (cap && !out))
        return TROUPE_EINVAL;
    size_t n = 0;
    uint32_t high = table_high(&sys->actors);
    for (uint32_t i = 1; i <= high; i++) {
        actor *a = table_get(&sys->actors, i);
        uint64_t ref;
        if (!a || !type_matches(obs_live_beh(sys, a, &ref), type))
            continue;
        if (n < cap)
            out[n].id = ref;
        n++;
    }
    *total = n;
    return 0;
}

/* The registered name of the live incarnation r of a, or "". */
static void name_of(actor *a, troupe_ref r, char *out, size_t cap)
{
    out[0] = '\0';
    actor_ext *x = ext_peek(a);
    if (!x)
        return;
    pthread_mutex_lock(&x->lock);
    const reg_entry *e = x->reg;
    if (e && ext_live_locked(a, x, r)) {
        /* acquire: pairs with the entry's publication (reg_entry.len) */
        uint32_t len = atomic_load_explicit(&e->len, memory_order_acquire);
        if (len >= cap)
            len = (uint32_t)cap - 1;
        memcpy(out, e->name, len);
        out[len] = '\0';
    }
    pthread_mutex_unlock(&x->lock);
}

void obs_failed(troupe_system *sys, actor *a, const troupe_failure *f)
{
    char name[TROUPE_NAME_MAX + 1], detail[TROUPE_REASON_MAX + 32];
    name_of(a, f->actor, name, sizeof name);
    const char *child = name[0] ? NULL : sv_child_name(a); /* the worker owns a */
    snprintf(detail, sizeof detail, "%s%s%s", troupe_failure_kind_name(f->kind),
             f->reason[0] ? ": " : "", f->reason);
    evlog_add(sys, TROUPE_EVENT_FAILURE, f->actor, child ? child : name, f->behaviour, detail);
}

/* The supervisor's part: asked of it (a copy made under its lock). */
static void sv_part(troupe_system *sys, troupe_ref r, troupe_actor_info *out)
{
    sv_child_view c;
    if (!sv_child_query(sys, r, &c))
        return;
    out->supervised = 1;
    out->parent = c.parent;
    out->restarts = c.restarts;
    if (!c.running)
        out->state = TROUPE_ACTOR_RESTARTING;
}

TROUPE_API int troupe_actor_info_get(troupe_system *sys, troupe_ref ref, troupe_actor_info *out)
{
    if (!sys || !out)
        return TROUPE_EINVAL;
    memset(out, 0, sizeof *out);
    actor *a = actor_lookup(sys, ref);
    uint64_t id;
    const troupe_behaviour *b = a ? obs_live_beh(sys, a, &id) : NULL;
    if (!b || id != ref.id)
        return TROUPE_ENOACTOR;
    out->ref = ref;
    snprintf(out->type, sizeof out->type, "%s", b->name ? b->name : "");
    name_of(a, ref, out->name, sizeof out->name);
    uint64_t t = atomic_load_explicit(&a->mb.tail, memory_order_relaxed);
    out->state = (t & TW_IDLE) ? TROUPE_ACTOR_IDLE : TROUPE_ACTOR_ACTIVE;
    sv_part(sys, ref, out);
    health_get(sys, ref, &out->health);
    int rc = troupe_actor_stats(sys, ref, &out->mailbox);
    return rc == 0 && obs_live_beh(sys, a, &id) == b && id == ref.id ? 0 : TROUPE_ENOACTOR;
}

TROUPE_API int troupe_worker_info_get(troupe_system *sys, uint32_t index, troupe_worker_info *out)
{
    if (!sys || !out || index >= sys->nworkers)
        return TROUPE_EINVAL;
    worker *w = &sys->workers[index];
    memset(out, 0, sizeof *out);
    out->index = index;
    out->cpu = w->cpu;
    /* relaxed: counters, each exact on its own */
    out->runs = atomic_load_explicit(&w->runs, memory_order_relaxed);
    out->steals = atomic_load_explicit(&w->steals, memory_order_relaxed);
    out->parks = atomic_load_explicit(&w->parks, memory_order_relaxed);
    out->runq_length = runq_length(&w->q);
    obs *o = sys->obs;
    if (o && o->stalled) {
        out->stalled = (int)atomic_load_explicit(&o->stalled[index], memory_order_relaxed);
        out->stalls = atomic_load_explicit(&o->stalls[index], memory_order_relaxed);
        out->stranded = atomic_load_explicit(&o->stranded[index], memory_order_relaxed);
        if (out->stalled)
            out->stalled_actor.id = atomic_load_explicit(&w->running, memory_order_relaxed);
    }
    return 0;
}
