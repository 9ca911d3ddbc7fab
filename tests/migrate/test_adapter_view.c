/* tests/migrate/test_adapter_view.c — adapters in actor mode with views:
 * READ ops answered from the view the actor publishes (no message), WRITE
 * ops through troupe_call; a thread reads its own acknowledged writes; the
 * flag flipped through every mode while threads read and write loses
 * nothing and runs nothing on both copies; bad defs refused. */
#include "../support.h"
#include "store.h"

typedef struct venv {
    troupe_system *sys;
    store obj;
    pthread_rwlock_t lock;
    troupe_ref actor;
    troupe_adapter ad;
} venv;

static void vstart(venv *e)
{
    memset(e, 0, sizeof *e);
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 2;
    cr_assert_eq(troupe_system_create(&e->sys, &cfg), 0);
    pthread_rwlock_init(&e->lock, NULL);
    cr_assert_eq(troupe_spawn(e->sys, &storev_beh, NULL, NULL, &e->actor), 0);
    troupe_adapter_config ac;
    troupe_adapter_config_defaults(&ac);
    ac.obj = &e->obj, ac.lock = &e->lock, ac.actor = e->actor;
    ac.timeout_ns = ASK_FOREVER_NS;
    cr_assert_eq(troupe_adapter_create(e->sys, &storev_def, &ac, &e->ad), 0);
}

static void vstop(venv *e)
{
    troupe_system_destroy(e->sys);
    pthread_rwlock_destroy(&e->lock);
}

static int vadd(venv *e, uint32_t idx, int64_t delta, int64_t *out)
{
    add_arg a = {idx, delta};
    return troupe_adapter_call(e->sys, e->ad, OP_ADD, idx, &a, sizeof a, out, sizeof *out, NULL);
}

static int vget(venv *e, uint32_t idx, int64_t *out)
{
    size_t n = 0;
    int rc = troupe_adapter_call(e->sys, e->ad, OP_GET, idx, &idx, sizeof idx, out, sizeof *out,
                                 &n);
    return rc == 0 && n != sizeof *out ? TROUPE_EINVAL : rc;
}

static void vmode(venv *e, troupe_adapter_mode m)
{
    cr_assert_eq(troupe_adapter_set_mode(e->sys, "storev", m, m == TROUPE_MODE_CANARY ? 50 : 0), 0);
}

Test(adapter_view, actor_mode_reads_come_from_the_view_and_see_own_writes)
{
    venv e;
    vstart(&e);
    int64_t v = 0;
    cr_assert_eq(vadd(&e, 1, 5, &v), 0); /* legacy */
    vmode(&e, TROUPE_MODE_ACTOR);
    cr_assert_eq(vget(&e, 1, &v), 0); /* the load published a view */
    cr_expect_eq(v, 5);
    for (int64_t i = 1; i <= 200; i++) {
        int64_t acked = 0;
        cr_assert_eq(vadd(&e, 2, 1, &acked), 0);
        cr_assert_eq(vget(&e, 2, &v), 0);
        cr_assert_eq(v, acked, "read %lld after acknowledged %lld", (long long)v,
                     (long long)acked);
    }
    cr_expect_eq(v, 200);
    cr_expect_eq(atomic_load(&actor_gets), 0, "a read went to the actor, not the view");
    troupe_adapter_info i;
    cr_assert_eq(troupe_adapter_info_get(e.sys, e.ad, &i), 0);
    cr_expect_eq(i.errors, 0);
    vmode(&e, TROUPE_MODE_LEGACY); /* stores the actor's copy back */
    cr_assert_eq(vget(&e, 2, &v), 0);
    cr_expect_eq(v, 200);
    cr_expect_eq(e.obj.bal[1], 5);
    vstop(&e);
}

/* ---- flipping under load, reads and writes --------------------------------------- */

typedef struct vload {
    venv *e;
    uint32_t idx;
    long n;
    _Atomic long *done;
    _Atomic int failed, stale;
} vload;

/* Only this thread writes idx: every read must return its last ack. */
static void *vhammer(void *p)
{
    vload *l = p;
    int64_t acked = 0, v = 0;
    for (long i = 0; i < l->n; i++) {
        if (vadd(l->e, l->idx, 1, &acked) != 0 || vget(l->e, l->idx, &v) != 0)
            atomic_store(&l->failed, 1);
        else if (v != acked || acked != i + 1)
            atomic_store(&l->stale, 1);
        atomic_fetch_add(l->done, 1);
    }
    return NULL;
}

Test(adapter_view, flipping_every_mode_under_reads_and_writes_loses_nothing)
{
    venv e;
    vstart(&e);
    atomic_store(&skew, -1);
    long per = tt_scaled(2000, 150);
    static const troupe_adapter_mode modes[] = {TROUPE_MODE_ACTOR, TROUPE_MODE_LEGACY,
                                                TROUPE_MODE_SHADOW, TROUPE_MODE_ACTOR,
                                                TROUPE_MODE_CANARY, TROUPE_MODE_LEGACY};
    _Atomic long done = 0;
    vload l[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        l[i] = (vload){&e, (uint32_t)i, per, &done, 0, 0};
        cr_assert_eq(pthread_create(&t[i], NULL, vhammer, &l[i]), 0);
    }
    for (int k = 0; atomic_load(&done) < 3 * per; k++)
        vmode(&e, modes[k % 6]);
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        cr_expect_eq(atomic_load(&l[i].failed), 0, "thread %d: a call failed", i);
        cr_expect_eq(atomic_load(&l[i].stale), 0, "thread %d: a read missed its own write", i);
    }
    vmode(&e, TROUPE_MODE_LEGACY);
    int64_t v = 0;
    for (uint32_t i = 0; i < 3; i++) {
        cr_assert_eq(vget(&e, i, &v), 0);
        cr_expect_eq(v, per, "balance %u", i); /* every acknowledged add, once */
    }
    troupe_adapter_info i;
    cr_assert_eq(troupe_adapter_info_get(e.sys, e.ad, &i), 0);
    cr_expect_eq(i.mismatches, 0);
    cr_expect_eq(i.switch_failures, 0);
    vstop(&e);
}

/* ---- bad input ------------------------------------------------------------------- */

static troupe_adapter_op bad_ops[2];
static troupe_adapter_def bad_def;

static int create_bad(venv *e)
{
    troupe_adapter_config ac;
    troupe_adapter_config_defaults(&ac);
    ac.obj = &e->obj, ac.lock = &e->lock, ac.actor = e->actor;
    troupe_adapter ad;
    bad_def.ops = bad_ops;
    return troupe_adapter_create(e->sys, &bad_def, &ac, &ad);
}

Test(adapter_view, a_view_on_a_write_or_without_make_view_is_refused)
{
    venv e;
    vstart(&e);
    memcpy(bad_ops, storev_ops, sizeof bad_ops);
    bad_def = storev_def;
    bad_def.name = "bad";
    bad_ops[0].view = view_get; /* a write answered from a view */
    cr_expect_eq(create_bad(&e), TROUPE_EINVAL);
    bad_ops[0].view = NULL;
    bad_def.make_view = NULL; /* a view op, no view made */
    cr_expect_eq(create_bad(&e), TROUPE_EINVAL);
    bad_ops[1].view = NULL; /* no view at all: reads go through troupe_call */
    cr_expect_eq(create_bad(&e), 0);
    vstop(&e);
}
