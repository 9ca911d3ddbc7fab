/* tests/group/test_router.c — routers over process groups (troupe/router.h):
 * each rule's choice, per-key order and stability of the hash rule,
 * supervised members restarting under load with nothing accepted lost,
 * broadcast, and bad input. */
#include "support.h"

#define T_SEQ 0x200u   /* payload: key, seq */
#define T_BOOM 0x201u  /* the member panics */
#define T_WHO 0x202u   /* ask: reply with the member's index */
#define T_HOLD 0x203u  /* the member waits at B.gate */
#define NMEM 4

typedef struct board {
    tt_gate *gate;
    atomic_long got[NMEM];     /* T_SEQ handled, by member index */
    atomic_long order_breaks;  /* a key's seq seen out of order */
    atomic_long last[64];      /* per key: the last seq handled */
    atomic_int next_index;
} board;

static board B;

typedef struct mem_state {
    int idx;
} mem_state;

static int mem_init(troupe_ctx *ctx, void *state, const void *arg)
{
    mem_state *s = state;
    s->idx = (int)(intptr_t)arg;
    int rc = troupe_group_join(troupe_ctx_system(ctx), "pool", troupe_self(ctx));
    return rc == TROUPE_EEXIST ? 0 : rc; /* a restart: still a member */
}

static int mem_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    mem_state *s = state;
    if (tt_is_probe(ctx, m))
        return 0;
    if (m->type == T_BOOM)
        troupe_panic("boom");
    if (m->type == T_HOLD)
        tt_gate_wait(B.gate);
    if (m->type == T_WHO)
        return troupe_reply(ctx, T_WHO, &s->idx, sizeof s->idx);
    if (m->type == T_SEQ && m->size == 2 * sizeof(long)) {
        long kv[2];
        memcpy(kv, m->data, sizeof kv);
        long prev = atomic_exchange(&B.last[kv[0] & 63], kv[1]);
        if (prev >= kv[1])
            atomic_fetch_add(&B.order_breaks, 1);
        atomic_fetch_add(&B.got[s->idx], 1);
    }
    return 0;
}

static const troupe_behaviour mem_beh = {
    .name = "pool.member", .state_size = sizeof(mem_state), .init = mem_init, .handle = mem_handle};

static void reset_board(void)
{
    memset(&B, 0, sizeof B);
    for (int i = 0; i < 64; i++)
        atomic_store(&B.last[i], -1);
}

static troupe_ref start_members(troupe_system *sys, troupe_ref *r, int n)
{
    for (int i = 0; i < n; i++)
        r[i] = tt_spawn(sys, &mem_beh, (void *)(intptr_t)i, NULL);
    return r[0];
}

static troupe_router *router(troupe_system *sys, troupe_route how)
{
    troupe_router *rt = NULL;
    cr_assert_eq(troupe_router_create(sys, "pool", how, &rt), 0);
    return rt;
}

static void probe_all(troupe_system *sys, troupe_ref *r, int n)
{
    for (int i = 0; i < n; i++)
        tt_probe(sys, r[i]);
}

Test(router, round_robin_takes_members_in_turn)
{
    reset_board();
    troupe_system *sys = tt_system(2);
    troupe_ref r[NMEM];
    start_members(sys, r, NMEM);
    troupe_router *rt = router(sys, TROUPE_ROUTE_ROUND_ROBIN);
    for (long i = 0; i < 400; i++) {
        long kv[2] = {i & 63, i};
        cr_assert_eq(troupe_router_tell(rt, 0, T_SEQ, kv, sizeof kv), 0);
    }
    probe_all(sys, r, NMEM);
    for (int i = 0; i < NMEM; i++)
        cr_expect_eq(atomic_load(&B.got[i]), 100, "member %d", i);
    troupe_router_destroy(rt);
    troupe_system_destroy(sys);
}

Test(router, hash_keeps_a_key_on_one_member_in_order_and_moves_only_a_leavers_keys)
{
    reset_board();
    troupe_system *sys = tt_system(2);
    troupe_ref r[NMEM];
    start_members(sys, r, NMEM);
    troupe_router *rt = router(sys, TROUPE_ROUTE_HASH);
    troupe_ref before[64], again;
    int used[NMEM] = {0};
    for (uint64_t k = 0; k < 64; k++) {
        cr_assert_eq(troupe_router_pick(rt, k, &before[k]), 0);
        cr_assert_eq(troupe_router_pick(rt, k, &again), 0);
        cr_expect_eq(again.id, before[k].id, "key %llu moved", (unsigned long long)k);
        for (int i = 0; i < NMEM; i++)
            used[i] += r[i].id == before[k].id;
    }
    for (int i = 0; i < NMEM; i++)
        cr_expect_gt(used[i], 0, "member %d has no key of 64", i);
    for (long i = 0; i < 2000; i++) { /* per key, in order */
        long kv[2] = {i % 8, i};
        cr_assert_eq(troupe_router_tell(rt, (uint64_t)(i % 8), T_SEQ, kv, sizeof kv), 0);
    }
    probe_all(sys, r, NMEM);
    cr_expect_eq(atomic_load(&B.order_breaks), 0);
    cr_assert_eq(troupe_group_leave(sys, "pool", r[1]), 0);
    for (uint64_t k = 0; k < 64; k++) {
        cr_assert_eq(troupe_router_pick(rt, k, &again), 0);
        cr_expect_neq(again.id, r[1].id);
        if (before[k].id != r[1].id)
            cr_expect_eq(again.id, before[k].id, "key %llu moved though its member stayed",
                         (unsigned long long)k);
    }
    troupe_router_destroy(rt);
    troupe_system_destroy(sys);
}

/* The power of two choices: a member held in its handler with a deep
 * mailbox is picked less than the idle one (the draws are a fixed
 * sequence: no flake). */
Test(router, smallest_avoids_a_deep_mailbox)
{
    reset_board();
    static tt_gate gate;
    tt_gate_init(&gate);
    B.gate = &gate;
    troupe_system *sys = tt_system(2);
    troupe_ref r[2];
    start_members(sys, r, 2);
    tt_hold(sys, r[0], T_HOLD, &gate);
    for (int i = 0; i < 50; i++)
        cr_assert_eq(troupe_tell(sys, r[0], T_WHO, NULL, 0), 0);
    troupe_router *rt = router(sys, TROUPE_ROUTE_SMALLEST);
    int deep = 0, idle = 0;
    for (int i = 0; i < 100; i++) {
        troupe_ref to;
        cr_assert_eq(troupe_router_pick(rt, 0, &to), 0);
        deep += to.id == r[0].id;
        idle += to.id == r[1].id;
    }
    cr_expect_eq(deep + idle, 100);
    cr_expect_lt(deep, idle, "deep %d idle %d", deep, idle);
    tt_gate_open(&gate);
    troupe_router_destroy(rt);
    troupe_system_destroy(sys);
    tt_gate_destroy(&gate);
}

/* Members supervised one_for_one panic while two threads tell through a
 * round-robin router: every tell the router accepted is handled (a
 * restart keeps the ref and the queued messages), and asks keep working. */
typedef struct load {
    troupe_router *rt;
    atomic_long accepted;
} load;

static void *teller(void *p)
{
    load *l = p;
    for (long i = 0; i < 3000; i++) {
        long kv[2] = {0, i};
        if (troupe_router_tell(l->rt, 0, T_SEQ, kv, sizeof kv) == 0)
            atomic_fetch_add(&l->accepted, 1);
        if (i % 1000 == 500) /* 6 restarts in all: within the root's intensity (10) */
            (void)troupe_router_tell(l->rt, 0, T_BOOM, NULL, 0);
    }
    return NULL;
}

Test(router, supervised_members_restart_under_load_and_lose_nothing_accepted)
{
    reset_board();
    troupe_system *sys = tt_system(2);
    troupe_sup root;
    cr_assert_eq(troupe_sup_root(sys, &root), 0);
    troupe_ref r[NMEM];
    for (int i = 0; i < NMEM; i++) {
        troupe_child_spec cs;
        troupe_child_spec_defaults(&cs);
        cs.beh = &mem_beh;
        cs.arg = (void *)(intptr_t)i;
        char name[16];
        snprintf(name, sizeof name, "m%d", i);
        cs.name = name;
        cs.policy.kind = TROUPE_RESTART_ALWAYS;
        cr_assert_eq(troupe_sup_start_child(sys, root, &cs, &r[i]), 0);
    }
    wait_until(({ size_t n = 0; troupe_group_members(sys, "pool", NULL, 0, &n); n; }) == NMEM);
    load l = {.rt = router(sys, TROUPE_ROUTE_ROUND_ROBIN)};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, teller, &l), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    long handled = 0;
    wait_until(({
        handled = 0;
        for (int i = 0; i < NMEM; i++)
            handled += atomic_load(&B.got[i]);
        handled == atomic_load(&l.accepted);
    }));
    cr_expect_eq(handled, 6000, "every tell was accepted (BLOCK mailboxes)");
    size_t n = 0;
    cr_assert_eq(troupe_group_members(sys, "pool", NULL, 0, &n), 0);
    cr_expect_eq(n, NMEM, "restarted members stay in the group");
    int who = -1;
    uint32_t rt_type = 0;
    cr_expect_eq(troupe_router_ask(l.rt, 0, T_WHO, NULL, 0, ASK_FOREVER_NS, &rt_type, &who,
                                   sizeof who, NULL), 0);
    cr_expect(who >= 0 && who < NMEM);
    troupe_router_destroy(l.rt);
    troupe_system_destroy(sys);
}

Test(router, broadcast_and_bad_input)
{
    reset_board();
    troupe_system *sys = tt_system(2);
    troupe_router *rt = NULL, *bc = router(sys, TROUPE_ROUTE_BROADCAST);
    troupe_ref to;
    /* no member yet */
    troupe_router *rr = router(sys, TROUPE_ROUTE_RANDOM);
    cr_expect_eq(troupe_router_pick(rr, 0, &to), TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_router_tell(rr, 0, T_SEQ, NULL, 0), TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_router_ask(rr, 0, T_WHO, NULL, 0, S_NS, NULL, NULL, 0, NULL),
                 TROUPE_ENOTFOUND);
    troupe_ref r[NMEM];
    start_members(sys, r, NMEM);
    long kv[2] = {1, 1};
    cr_assert_eq(troupe_router_tell(bc, 0, T_SEQ, kv, sizeof kv), 0);
    probe_all(sys, r, NMEM);
    for (int i = 0; i < NMEM; i++)
        cr_expect_eq(atomic_load(&B.got[i]), 1, "member %d", i);
    cr_expect_eq(troupe_router_pick(bc, 0, &to), TROUPE_EINVAL);
    cr_expect_eq(troupe_router_ask(bc, 0, T_WHO, NULL, 0, S_NS, NULL, NULL, 0, NULL),
                 TROUPE_EINVAL);
    cr_expect_eq(troupe_router_pick(rr, 0, &to), 0);
    cr_expect_eq(troupe_router_create(NULL, "pool", TROUPE_ROUTE_HASH, &rt), TROUPE_EINVAL);
    cr_expect_eq(troupe_router_create(sys, "", TROUPE_ROUTE_HASH, &rt), TROUPE_EINVAL);
    cr_expect_eq(troupe_router_create(sys, "pool", (troupe_route)9, &rt), TROUPE_EINVAL);
    cr_expect_eq(troupe_router_create(sys, "pool", TROUPE_ROUTE_HASH, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_router_pick(NULL, 0, &to), TROUPE_EINVAL);
    cr_expect_eq(troupe_router_pick(rr, 0, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_router_tell(NULL, 0, T_SEQ, NULL, 0), TROUPE_EINVAL);
    troupe_router_destroy(NULL);
    troupe_router_destroy(rr);
    troupe_router_destroy(bc);
    troupe_system_destroy(sys);
}
