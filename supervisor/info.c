/* supervisor/info.c — restart tracking and the tree, as the API shows them,
 * and the questions other folders ask about the children (observe/,
 * persistence/): every query takes the tree's lock for the copy only, and
 * hands out copies, never the tree's structs. */
#include <string.h>

#include "supervisor/sv.h"


static void fill_child(sv *s, const sv_child *c, troupe_child_info *out)
{
    uint64_t now = sv_now(s);
    memset(out, 0, sizeof *out);
    out->ref = c->ref;
    out->parent.id = c->parent ? c->parent->id : 0;
    out->state = (troupe_child_state)c->state;
    out->restart = c->spec.restart;
    out->restarts = c->restarts;
    out->restarts_since_reset = c->since_reset;
    /* the running incarnation counts once it has been up long enough */
    bool up_stable = c->state == CH_RUNNING && c->restarts &&
                     now - c->started_at >= (uint64_t)s->sys->cfg.stable_ns;
    out->stable_restarts = c->stable + up_stable;
    out->success_rate = c->restarts ? (double)out->stable_restarts / (double)c->restarts : 1.0;
    memcpy(out->last_restart_ns, c->hist, sizeof c->hist);
    out->nlast = c->nhist;
    memcpy(out->exits_by_kind, c->by_kind, sizeof c->by_kind);
    out->started_at_ns = c->started_at;
    out->next_delay_ns = sv_next_delay(s, c);
    out->last_kind = c->last_kind;
    memcpy(out->last_reason, c->last_reason, sizeof out->last_reason);
}

TROUPE_API int troupe_child_info_get(troupe_system *sys, troupe_ref ref, troupe_child_info *out)
{
    if (!sys || !out)
        return TROUPE_EINVAL;
    sv *s = sys->sv;
    int rc = TROUPE_ENOTFOUND;
    pthread_mutex_lock(&s->lock);
    sv_child *c = sv_child_by_ref(sys, ref);
    if (c) {
        fill_child(s, c, out);
        rc = 0;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

TROUPE_API int troupe_sup_info_get(troupe_system *sys, troupe_sup sup, troupe_sup_info *out)
{
    if (!sys || !out)
        return TROUPE_EINVAL;
    sv *s = sys->sv;
    int rc = TROUPE_ENOTFOUND;
    pthread_mutex_lock(&s->lock);
    sv_node *n = sv_node_get(s, sup);
    if (n) {
        memset(out, 0, sizeof *out);
        out->parent.id = n->self && n->self->parent ? n->self->parent->id : 0;
        out->strategy = n->spec.strategy;
        out->children = n->nchildren;
        out->restarts = n->restarts;
        out->restart_decisions = n->decisions;
        out->operator_restarts = n->op_restarts;
        out->escalations = n->escalations;
        out->shutting_down = n->state == SUP_SHUTTING || n->state == SUP_DOWN;
        memcpy(out->name, n->name, sizeof out->name);
        rc = 0;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

TROUPE_API int troupe_sup_children(troupe_system *sys, troupe_sup sup, troupe_sup_child *out,
                                   size_t cap, size_t *total)
{
    if (!sys || !total || (cap && !out))
        return TROUPE_EINVAL;
    sv *s = sys->sv;
    int rc = TROUPE_ENOTFOUND;
    pthread_mutex_lock(&s->lock);
    sv_node *n = sv_node_get(s, sup);
    if (n) {
        size_t i = 0;
        for (sv_child *c = n->first; c; c = c->next, i++)
            if (i < cap)
                out[i] = c->sup ? (troupe_sup_child){.sup = {c->sup->id}}
                                : (troupe_sup_child){.ref = c->ref};
        *total = i;
        rc = 0;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void sv_totals(troupe_system *sys, uint64_t by_kind[TROUPE_EXIT_KINDS], uint64_t *by_operator,
               uint64_t *escalations, uint32_t *supervisors, uint32_t *actors)
{
    sv *s = sys->sv;
    *supervisors = *actors = 0;
    pthread_mutex_lock(&s->lock);
    memcpy(by_kind, s->restarts_by, sizeof s->restarts_by);
    *by_operator = s->restarts_operator;
    *escalations = s->escalations_total;
    for (uint32_t i = 0; i < s->nnodes; i++) {
        sv_node *n = s->nodes[i];
        if (!n)
            continue;
        (*supervisors)++;
        for (sv_child *c = n->first; c; c = c->next)
            *actors += c->sup == NULL;
    }
    pthread_mutex_unlock(&s->lock);
}

static void view_of(const sv_child *c, sv_child_view *out)
{
    *out = (sv_child_view){.ref = c->ref,
                           .parent = {c->parent ? c->parent->id : 0},
                           .health_interval = c->spec.health_interval_ns,
                           .restarts = c->restarts,
                           .running = c->state == CH_RUNNING};
}

bool sv_child_query(troupe_system *sys, troupe_ref ref, sv_child_view *out)
{
    sv *s = sys->sv;
    pthread_mutex_lock(&s->lock);
    sv_child *c = sv_child_by_ref(sys, ref);
    if (c)
        view_of(c, out);
    pthread_mutex_unlock(&s->lock);
    return c != NULL;
}

static void visit(sv_node *n, sv_child_fn fn, void *ud)
{
    if (n->state != SUP_RUNNING)
        return;
    for (sv_child *c = n->first; c; c = c->next) {
        sv_child_view v;
        if (c->sup) {
            visit(c->sup, fn, ud);
        } else if (!c->remove) {
            view_of(c, &v);
            fn(&v, ud);
        }
    }
}

int sv_visit_children(troupe_system *sys, troupe_sup sup, sv_child_fn fn, void *ud)
{
    sv *s = sys->sv;
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    sv_node *n = sup.id ? sv_node_get(s, sup) : s->root;
    if (n)
        visit(n, fn, ud);
    else
        rc = sup.id ? TROUPE_ENOTFOUND : 0; /* no root: create failed early */
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* The name a persistent child is journalled under: its spec's (copied at
 * start, kept until the entry is freed, after the actor has ended). */
const char *sv_child_name(const actor *a)
{
    actor_ext *x = ext_peek(a);
    /* relaxed: set in the ext before init runs, on this thread */
    sv_child *c = x ? atomic_load_explicit(&x->child, memory_order_relaxed) : NULL;
    return c ? c->spec.name : NULL;
}

void sv_heartbeat(troupe_system *sys, uint64_t *beats, bool *busy)
{
    sv *s = sys->sv;
    /* relaxed: samples (see sv_main); a pass that moved shows in beats */
    *beats = atomic_load_explicit(&s->beats, memory_order_relaxed);
    *busy = atomic_load_explicit(&s->in_pass, memory_order_relaxed) ||
            atomic_load_explicit(&s->wake, memory_order_relaxed) !=
                atomic_load_explicit(&s->taken, memory_order_relaxed);
}
