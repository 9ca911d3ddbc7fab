/* supervisor/api.c — the public supervision calls: specs and their checks,
 * building the tree, shutdown requests, and an operator's restart. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "supervisor/sv.h"
#include "troupe/observe.h"
#include "troupe/registry.h"

#define MS 1000000ll
#define ARG_MAX (64u * 1024u)

TROUPE_API void troupe_restart_policy_defaults(troupe_restart_policy *p)
{
    if (!p)
        return;
    *p = (troupe_restart_policy){.kind = TROUPE_RESTART_EXPONENTIAL,
                                 .initial_ns = 100 * MS,
                                 .max_ns = 60000 * MS,
                                 .multiplier = 2.0,
                                 .max_restarts = 10};
}

TROUPE_API void troupe_child_spec_defaults(troupe_child_spec *s)
{
    if (!s)
        return;
    memset(s, 0, sizeof *s);
    s->restart = TROUPE_PERMANENT;
    s->policy.kind = TROUPE_RESTART_DEFAULT;
    troupe_spawn_opts_defaults(&s->opts);
}

TROUPE_API void troupe_sup_spec_defaults(troupe_sup_spec *s)
{
    if (!s)
        return;
    memset(s, 0, sizeof *s);
    s->strategy = TROUPE_ONE_FOR_ONE;
    s->intensity = 10;
    s->period_ns = 60000 * MS;
    s->restart = TROUPE_PERMANENT;
}

int sv_check_policy(const troupe_restart_policy *p)
{
    switch (p->kind) {
    case TROUPE_RESTART_DEFAULT:
    case TROUPE_RESTART_ALWAYS:
    case TROUPE_RESTART_NEVER:
        return 0;
    case TROUPE_RESTART_EXPONENTIAL:
        if (p->initial_ns < 0 || p->max_ns < p->initial_ns || !(p->multiplier >= 1.0) ||
            !isfinite(p->multiplier) || !(p->jitter >= 0.0 && p->jitter <= 1.0))
            return TROUPE_EINVAL;
        return 0;
    case TROUPE_RESTART_FIXED_DELAY:
        return p->delay_ns < 0 ? TROUPE_EINVAL : 0;
    default:
        return TROUPE_EINVAL;
    }
}

static bool restart_type_ok(troupe_restart_type t)
{
    return (unsigned)t <= TROUPE_TEMPORARY;
}

static int check_child(const troupe_child_spec *s)
{
    if (!s->beh || !s->beh->handle || !restart_type_ok(s->restart) || s->shutdown_ns < 0 ||
        s->arg_size > ARG_MAX || (s->arg_size && !s->arg))
        return TROUPE_EINVAL;
    if (s->name && (!s->name[0] || strlen(s->name) > TROUPE_NAME_MAX))
        return TROUPE_EINVAL;
    return sv_check_policy(&s->policy);
}

static int check_sup(const troupe_sup_spec *s)
{
    if ((unsigned)s->strategy > TROUPE_REST_FOR_ONE || s->period_ns <= 0 ||
        s->intensity > 1000000 || !restart_type_ok(s->restart) || s->shutdown_ns < 0)
        return TROUPE_EINVAL;
    return 0;
}

TROUPE_API int troupe_sup_root(troupe_system *sys, troupe_sup *out)
{
    if (!sys || !out)
        return TROUPE_EINVAL;
    out->id = sys->sv->root->id;
    return 0;
}

static sv_child *child_new(const troupe_child_spec *spec)
{
    sv_child *c = sys_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->spec = *spec;
    if (spec->arg_size) {
        if (!(c->arg_copy = sys_malloc(spec->arg_size)))
            goto fail;
        memcpy(c->arg_copy, spec->arg, spec->arg_size);
        c->spec.arg = c->arg_copy;
    }
    if (spec->name && !(c->spec.name = c->name_copy = sys_strdup(spec->name)))
        goto fail;
    return c;
fail:
    free(c->arg_copy);
    free(c);
    return NULL;
}

/* 0 if sup takes new children now. Lock held. */
static int node_open(sv *s, troupe_sup id, sv_node **out)
{
    sv_node *n = sv_node_get(s, id);
    if (!n)
        return TROUPE_ENOTFOUND;
    if (n->state != SUP_RUNNING && n->state != SUP_RESTARTING)
        return TROUPE_ESHUTDOWN;
    *out = n;
    return 0;
}

/* Spawn held, then link it: only a linked child is let go. The name is
 * registered before init (spawn_held), as OTP does: a taken name runs no
 * callback, and a failed init releases it. */
static int start_actor(sv *s, troupe_sup parent, sv_child *c, troupe_ref *out)
{
    troupe_ref ref;
    int rc = spawn_held(s->sys, c->spec.beh, c->spec.arg, &c->spec.opts, c, c->spec.name, &ref);
    if (rc)
        return rc;
    actor *a = actor_lookup(s->sys, ref);
    c->a = a;
    c->ref = ref;
    sv_node *n;
    pthread_mutex_lock(&s->lock);
    if ((rc = node_open(s, parent, &n)) == 0) {
        c->state = CH_RUNNING;
        c->started_at = sv_now(s);
        sv_link_child(n, c);
    }
    pthread_mutex_unlock(&s->lock);
    if (rc) {
        actor_end(s->sys, a, TROUPE_EXIT_SHUTDOWN, true, NULL);
        return rc;
    }
    *out = ref;
    actor_release(s->sys, a);
    return 0;
}

TROUPE_API int troupe_sup_start_child(troupe_system *sys, troupe_sup parent,
                                      const troupe_child_spec *spec, troupe_ref *out)
{
    if (!out)
        return TROUPE_EINVAL;
    *out = TROUPE_REF_NONE;
    if (!sys || !spec)
        return TROUPE_EINVAL;
    int rc = check_child(spec);
    if (rc)
        return rc;
    sv *s = sys->sv;
    sv_node *n;
    pthread_mutex_lock(&s->lock); /* fail early, before init runs */
    rc = node_open(s, parent, &n);
    pthread_mutex_unlock(&s->lock);
    if (rc)
        return rc;
    sv_child *c = child_new(spec);
    if (!c)
        return TROUPE_ENOMEM;
    /* the spec's pool for every restart: the system's copy of its name
     * (an unknown one is left to fail the start) */
    if (spec->opts.pool && pool_name_of(sys, spec->opts.pool))
        c->spec.opts.pool = pool_name_of(sys, spec->opts.pool);
    if ((rc = start_actor(s, parent, c, out)))
        sv_child_free(c);
    return rc;
}

TROUPE_API int troupe_sup_start_supervisor(troupe_system *sys, troupe_sup parent,
                                           const troupe_sup_spec *spec, troupe_sup *out)
{
    if (!sys || !spec || !out)
        return TROUPE_EINVAL;
    out->id = 0;
    int rc = check_sup(spec);
    if (rc)
        return rc;
    sv *s = sys->sv;
    sv_node *pn, *n = NULL;
    sv_child *c = sys_calloc(1, sizeof *c);
    if (!c)
        return TROUPE_ENOMEM;
    pthread_mutex_lock(&s->lock);
    if ((rc = node_open(s, parent, &pn)) == 0 && !(n = sv_node_new(s, spec)))
        rc = TROUPE_ENOMEM;
    if (rc == 0) {
        c->sup = n;
        c->spec.restart = spec->restart;
        c->spec.shutdown_ns = spec->shutdown_ns;
        c->state = CH_RUNNING;
        c->started_at = sv_now(s);
        n->self = c;
        sv_link_child(pn, c);
        out->id = n->id;
    }
    pthread_mutex_unlock(&s->lock);
    if (rc)
        free(c);
    return rc;
}

static bool below(const sv_node *p, const sv_node *n)
{
    for (; p; p = p->self ? p->self->parent : NULL)
        if (p == n)
            return true;
    return false;
}

TROUPE_API int troupe_sup_move(troupe_system *sys, troupe_sup sup, troupe_sup new_parent)
{
    if (!sys)
        return TROUPE_EINVAL;
    sv *s = sys->sv;
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    sv_node *n = sv_node_get(s, sup), *p = sv_node_get(s, new_parent);
    if (!n || !p)
        rc = TROUPE_ENOTFOUND;
    else if (!n->self || below(p, n)) /* the root, or a cycle */
        rc = TROUPE_EINVAL;
    else if (n->state != SUP_RUNNING || p->state != SUP_RUNNING ||
             n->self->parent->state != SUP_RUNNING)
        rc = TROUPE_EBUSY;
    if (rc == 0) {
        sv_unlink_child(n->self);
        sv_link_child(p, n->self);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

TROUPE_API int troupe_sup_shutdown(troupe_system *sys, troupe_sup sup, troupe_shutdown_cb cb,
                                   void *ud)
{
    if (!sys)
        return TROUPE_EINVAL;
    sv *s = sys->sv;
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    sv_node *n = sv_node_get(s, sup);
    if (!n)
        rc = TROUPE_ENOTFOUND;
    else if (n->state != SUP_RUNNING)
        rc = TROUPE_EBUSY;
    else
        sv_shutdown_node(s, n, cb, ud);
    pthread_mutex_unlock(&s->lock);
    return rc;
}


TROUPE_API int troupe_sup_terminate_child(troupe_system *sys, troupe_ref child)
{
    if (!sys)
        return TROUPE_EINVAL;
    sv *s = sys->sv;
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    sv_child *c = sv_child_by_ref(sys, child);
    if (!c || !c->parent)
        rc = TROUPE_ENOTFOUND;
    else if (c->remove)
        rc = TROUPE_EBUSY;
    else
        sv_terminate(s, c);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* troupe/observe.h. A running child is marked, so that the supervisor
 * thread knows the ERROR exit its stop causes was asked for (strategy.c:
 * by_operator); one waiting out a backoff is restarted here. */
TROUPE_API int troupe_actor_restart(troupe_system *sys, troupe_ref ref)
{
    if (!sys)
        return TROUPE_EINVAL;
    sv *s = sys->sv;
    pthread_mutex_lock(&s->lock);
    sv_child *c = sv_child_by_ref(sys, ref);
    int rc = c && c->parent && !c->remove ? sv_operator_restart(s, c) : TROUPE_ENOTFOUND;
    pthread_mutex_unlock(&s->lock);
    if (rc)
        return rc > 0 ? 0 : rc;
    /* core/run.c gives an ERROR stop the reason "restart requested" */
    tmsg m = {.type = SYSMSG_STOP, .corr = TROUPE_EXIT_ERROR};
    return send_sys(sys, ref, &m);
}
