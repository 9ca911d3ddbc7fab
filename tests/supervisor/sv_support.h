/* tests/supervisor/sv_support.h — the test actor and helpers shared by the
 * supervision suites.
 *
 * The test actor ("kid") obeys its messages: PANIC panics, FAIL returns an
 * error, QUIT stops itself, PING answers an ask with "pong", COUNT counts,
 * HOLD blocks its worker on a gate. Its init and stop callbacks write its id
 * to logs, so that tests see exactly who started and stopped, in order. */
#ifndef TROUPE_TESTS_SV_SUPPORT_H
#define TROUPE_TESTS_SV_SUPPORT_H

#include "support.h"

enum { K_PANIC = 1, K_FAIL, K_QUIT, K_PING, K_COUNT, K_HOLD, K_PONG };

typedef struct kid_env {
    tt_log starts;     /* id at every init */
    tt_log stops;      /* id * 100 + why at every stop callback */
    tt_log downs;      /* kind * 1000 + id of the actor, at every DOWN */
    atomic_long counted;
    atomic_int fail_init; /* > 0: that many inits fail (then succeed) */
    tt_gate gate;
} kid_env;

typedef struct kid_arg {
    kid_env *env;
    long id;
} kid_arg;

typedef struct kid_state {
    kid_env *env;
    long id;
} kid_state;

static int kid_init(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx;
    const kid_arg *a = arg;
    kid_state *s = state;
    s->env = a->env;
    s->id = a->id;
    if (atomic_load(&a->env->fail_init) > 0 && atomic_fetch_sub(&a->env->fail_init, 1) > 0)
        troupe_panic("init refused");
    tt_log_add(&a->env->starts, a->id);
    return 0;
}

static int kid_handle(troupe_ctx *ctx, void *state, const troupe_msg *msg)
{
    kid_state *s = state;
    switch (msg->type) {
    case K_PANIC:
        troupe_panic("boom");
        return 0;
    case K_FAIL:
        return TROUPE_EFAILED;
    case K_QUIT:
        return troupe_stop_self(ctx);
    case K_PING:
        return troupe_reply(ctx, K_PONG, "pong", 4);
    case K_COUNT:
        atomic_fetch_add(&s->env->counted, 1);
        return 0;
    case K_HOLD:
        tt_gate_wait(&s->env->gate);
        return 0;
    case TROUPE_MSG_DOWN: {
        const troupe_down *d = msg->data;
        tt_log_add(&s->env->downs, (long)d->kind * 1000 + (long)(d->actor.id & 0xFFFF));
        return 0;
    }
    default:
        return 0; /* TROUPE_MSG_STOP when trapping: ignored on purpose */
    }
}

static void kid_stop(troupe_ctx *ctx, void *state, troupe_failure_kind why)
{
    (void)ctx;
    kid_state *s = state;
    tt_log_add(&s->env->stops, s->id * 100 + (long)why);
}

static const troupe_behaviour kid_beh = {.name = "kid",
                                         .state_size = sizeof(kid_state),
                                         .init = kid_init,
                                         .handle = kid_handle,
                                         .stop = kid_stop};

/* The same, deaf to stop signals (they arrive as TROUPE_MSG_STOP). */
static const troupe_behaviour deaf_beh = {.name = "deaf",
                                          .state_size = sizeof(kid_state),
                                          .init = kid_init,
                                          .handle = kid_handle,
                                          .stop = kid_stop,
                                          .flags = TROUPE_BEH_TRAP_STOP};

static inline void env_init(kid_env *e)
{
    memset(e, 0, sizeof *e);
    tt_log_init(&e->starts);
    tt_log_init(&e->stops);
    tt_log_init(&e->downs);
    tt_gate_init(&e->gate);
}

static inline void env_fini(kid_env *e)
{
    tt_log_fini(&e->starts);
    tt_log_fini(&e->stops);
    tt_log_fini(&e->downs);
    tt_gate_destroy(&e->gate);
}

static inline troupe_child_spec kid_spec(const troupe_behaviour *beh, kid_arg *arg,
                                         troupe_restart_type type, troupe_restart_kind kind)
{
    troupe_child_spec s;
    troupe_child_spec_defaults(&s);
    s.beh = beh;
    s.arg = arg;
    s.arg_size = sizeof *arg;
    s.restart = type;
    s.policy.kind = kind;
    return s;
}

static inline troupe_ref start_kid(troupe_system *sys, troupe_sup sup, const troupe_child_spec *s)
{
    troupe_ref r = TROUPE_REF_NONE;
    int rc = troupe_sup_start_child(sys, sup, s, &r);
    cr_assert_eq(rc, 0, "start_child: %s", troupe_errname(rc));
    return r;
}

static inline troupe_sup start_sup(troupe_system *sys, troupe_sup parent, troupe_sup_strategy st,
                                   uint32_t intensity, troupe_restart_type type)
{
    troupe_sup_spec s;
    troupe_sup_spec_defaults(&s);
    s.strategy = st;
    s.intensity = intensity;
    s.restart = type;
    troupe_sup out = {0};
    int rc = troupe_sup_start_supervisor(sys, parent, &s, &out);
    cr_assert_eq(rc, 0, "start_supervisor: %s", troupe_errname(rc));
    return out;
}

static inline troupe_sup root_of(troupe_system *sys)
{
    troupe_sup r;
    cr_assert_eq(troupe_sup_root(sys, &r), 0);
    return r;
}

static inline troupe_child_info info_of(troupe_system *sys, troupe_ref r)
{
    troupe_child_info ci;
    int rc = troupe_child_info_get(sys, r, &ci);
    cr_assert_eq(rc, 0, "child_info: %s", troupe_errname(rc));
    return ci;
}

/* restarts so far, or -1 when r is no longer a supervised child */
static inline long restarts_of(troupe_system *sys, troupe_ref r)
{
    troupe_child_info ci;
    return troupe_child_info_get(sys, r, &ci) == 0 ? (long)ci.restarts : -1;
}

static inline int state_of(troupe_system *sys, troupe_ref r)
{
    troupe_child_info ci;
    return troupe_child_info_get(sys, r, &ci) == 0 ? (int)ci.state : -1;
}

static inline troupe_sup_info sup_info(troupe_system *sys, troupe_sup s)
{
    troupe_sup_info si;
    int rc = troupe_sup_info_get(sys, s, &si);
    cr_assert_eq(rc, 0, "sup_info: %s", troupe_errname(rc));
    return si;
}

static inline uint64_t escalations_of(troupe_system *sys, troupe_sup s)
{
    troupe_sup_info si;
    return troupe_sup_info_get(sys, s, &si) == 0 ? si.escalations : 0;
}

/* An ask that must be answered "pong" by r. */
static inline void ping_ok(troupe_system *sys, troupe_ref r)
{
    char buf[8] = {0};
    size_t n = 0;
    uint32_t type = 0;
    int rc = troupe_ask(sys, r, K_PING, NULL, 0, ASK_FOREVER_NS, &type, buf, sizeof buf, &n);
    cr_assert_eq(rc, 0, "ask: %s", troupe_errname(rc));
    cr_assert_eq(type, K_PONG);
    cr_assert_eq(n, 4);
    cr_assert_eq(memcmp(buf, "pong", 4), 0);
}

static inline void tell_ok(troupe_system *sys, troupe_ref r, uint32_t type)
{
    int rc = troupe_tell(sys, r, type, NULL, 0);
    cr_assert_eq(rc, 0, "tell: %s", troupe_errname(rc));
}

#endif
