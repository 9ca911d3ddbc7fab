/* tests/testkit/test_testkit.c — the deterministic test kit
 * (include/troupe/testkit.h): one seed gives one order and one final state
 * (100 runs), two seeds give two orders, a seed replays step for step,
 * stepping by hand, timers on the manual clock, a panic and its restart,
 * asks, and the errors of bad input. Public API only; no thread, no sleep:
 * every handler runs on the test's thread, so the world below needs no
 * atomics. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <troupe/troupe.h>

enum { M_SETUP = 1, M_TOKEN, M_ADD, M_SUM, M_TICK, M_GET, M_INC, M_BOOM, M_NOREPLY, M_STEP };

#define NODES 4
#define MS 1000000ull

/* What the handlers saw, in order: a hash of (node, type, value). */
static struct {
    uint64_t log;
    uint64_t entries;
    int step_rc; /* troupe_testkit_step called from a handler */
    troupe_testkit *kit;
} world;

static void log_add(uint64_t node, uint64_t type, uint64_t v)
{
    uint64_t x[3] = {node, type, v};
    const unsigned char *p = (const unsigned char *)x;
    for (size_t i = 0; i < sizeof x; i++) {
        world.log ^= p[i];
        world.log *= 0x100000001b3ull;
    }
    world.entries++;
}

/* ---- the workload: a store, and nodes passing tokens round a ring ---- */

static int store_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    int64_t *sum = state, v = 0;
    if (m->size == sizeof v)
        memcpy(&v, m->data, sizeof v);
    if (m->type == M_ADD)
        *sum += v;
    if (m->type == M_ADD || m->type == M_GET)
        return troupe_reply(ctx, M_SUM, sum, sizeof *sum) == TROUPE_ESTATE ? 0 : 0;
    if (m->type == M_NOREPLY)
        return 0; /* an ask never answered */
    return 0;
}

static const troupe_behaviour store_beh = {
    .name = "store", .state_size = sizeof(int64_t), .handle = store_handle};

typedef struct node {
    int64_t id;
    troupe_ref next, store;
} node;

static int node_init(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx;
    ((node *)state)->id = *(const int64_t *)arg;
    return 0;
}

static int node_token(troupe_ctx *ctx, node *n, int64_t v)
{
    troupe_system *sys = troupe_ctx_system(ctx);
    if (v > 0) {
        int64_t w = v - 1;
        troupe_tell(sys, n->next, M_TOKEN, &w, sizeof w);
    }
    if (v % 3 == 0) /* an ask; its reply comes back as M_SUM */
        troupe_ask_async(ctx, n->store, M_ADD, &v, sizeof v, 1000 * MS, NULL);
    if (v % 4 == 0) /* a timer, due after v ms + the node's id */
        troupe_send_after(sys, troupe_self(ctx), M_TICK, &v, sizeof v,
                          (uint64_t)(v + n->id + 1) * MS, NULL);
    return 0;
}

static int node_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    node *n = state;
    int64_t v = 0;
    if (m->type == M_SETUP) {
        memcpy(&n->next, m->data, sizeof n->next);
        memcpy(&n->store, (const char *)m->data + sizeof n->next, sizeof n->store);
        return 0;
    }
    if (m->size == sizeof v)
        memcpy(&v, m->data, sizeof v);
    log_add((uint64_t)n->id, m->type, (uint64_t)v);
    return m->type == M_TOKEN ? node_token(ctx, n, v) : 0;
}

static const troupe_behaviour node_beh = {
    .name = "node", .state_size = sizeof(node), .init = node_init, .handle = node_handle};

static troupe_testkit *kit_new(uint64_t seed)
{
    troupe_testkit_config cfg;
    troupe_testkit_config_defaults(&cfg);
    cfg.seed = seed;
    troupe_testkit *kit = NULL;
    cr_assert_eq(troupe_testkit_create(&kit, &cfg), 0);
    memset(&world, 0, sizeof world);
    world.kit = kit;
    return kit;
}

typedef struct outcome {
    uint64_t hash, steps, log, entries;
    int64_t sum;
    troupe_testkit_step_info trace[4096];
    size_t ntrace;
} outcome;

static void spawn_ring(troupe_system *sys, troupe_ref *store, troupe_ref nodes[NODES])
{
    cr_assert_eq(troupe_spawn(sys, &store_beh, NULL, NULL, store), 0);
    for (int64_t i = 0; i < NODES; i++)
        cr_assert_eq(troupe_spawn(sys, &node_beh, &i, NULL, &nodes[i]), 0);
    for (int i = 0; i < NODES; i++) {
        troupe_ref two[2] = {nodes[(i + 1) % NODES], *store};
        cr_assert_eq(troupe_tell(sys, nodes[i], M_SETUP, two, sizeof two), 0);
    }
}

/* The workload under one seed, to its end: tokens, asks, timers. */
static void run_workload(uint64_t seed, outcome *o)
{
    troupe_testkit *kit = kit_new(seed);
    troupe_system *sys = troupe_testkit_system(kit);
    troupe_ref store, nodes[NODES];
    spawn_ring(sys, &store, nodes);
    for (int i = 0; i < NODES; i++) {
        int64_t v = 6 + i;
        cr_assert_eq(troupe_tell(sys, nodes[i], M_TOKEN, &v, sizeof v), 0);
    }
    cr_assert_eq(troupe_testkit_run_until_idle(kit, 100000, NULL), 0);
    for (int t = 0; t < 20; t++) { /* the timers, one ms at a time */
        cr_assert_eq(troupe_testkit_advance(kit, MS), 0);
        cr_assert_eq(troupe_testkit_run_until_idle(kit, 100000, NULL), 0);
    }
    cr_assert_eq(troupe_testkit_ask(kit, store, M_GET, NULL, 0, 1000, NULL, &o->sum,
                                    sizeof o->sum, NULL),
                 0);
    cr_assert_eq(troupe_testkit_trace_hash(kit, &o->hash, &o->steps), 0);
    cr_assert_eq(troupe_testkit_trace(kit, o->trace, 4096, &o->ntrace), 0);
    cr_assert_lt(o->ntrace, 4096);
    o->log = world.log;
    o->entries = world.entries;
    troupe_testkit_destroy(kit);
}

static bool same_step(const troupe_testkit_step_info *a, const troupe_testkit_step_info *b)
{
    return a->index == b->index && a->slot == b->slot && a->type == b->type &&
           a->handled == b->handled && a->ready == b->ready;
}

static outcome first, other;

Test(testkit, one_seed_one_order_100_runs)
{
    run_workload(42, &first);
    cr_assert_gt(first.steps, 50);
    /* every token, every timer and every ask's reply was handled */
    cr_assert_gt(first.entries, 40);
    for (int run = 1; run < 100; run++) {
        run_workload(42, &other);
        cr_assert_eq(other.hash, first.hash, "run %d: another order", run);
        cr_assert_eq(other.steps, first.steps);
        cr_assert_eq(other.ntrace, first.ntrace);
        for (size_t i = 0; i < first.ntrace; i++)
            cr_assert(same_step(&other.trace[i], &first.trace[i]), "run %d step %zu", run, i);
        cr_assert_eq(other.log, first.log, "run %d: handlers saw another order", run);
        cr_assert_eq(other.entries, first.entries);
        cr_assert_eq(other.sum, first.sum);
    }
}

Test(testkit, two_seeds_two_orders)
{
    run_workload(1, &first);
    run_workload(2, &other);
    cr_assert_neq(other.hash, first.hash, "seeds 1 and 2 ran the same order");
    cr_assert_neq(other.log, first.log);
    /* the order differs; what the workload computes does not */
    cr_assert_eq(other.sum, first.sum);
    cr_assert_eq(other.entries, first.entries);
}

Test(testkit, replay_a_seed)
{
    /* a "failing" seed found by a sweep is run again: the same steps */
    uint64_t hashes[8];
    for (uint64_t s = 0; s < 8; s++) {
        run_workload(1000 + s, &first);
        hashes[s] = first.hash;
    }
    run_workload(1005, &other);
    cr_assert_eq(other.hash, hashes[5]);
    run_workload(1005, &first);
    cr_assert_eq(first.ntrace, other.ntrace);
    for (size_t i = 0; i < first.ntrace; i++)
        cr_assert(same_step(&first.trace[i], &other.trace[i]));
    size_t distinct = 0;
    for (int i = 0; i < 8; i++) {
        bool seen = false;
        for (int j = 0; j < i; j++)
            seen |= hashes[j] == hashes[i];
        distinct += !seen;
    }
    cr_assert_gt(distinct, 1);
}

/* ---- step by step ---- */

Test(testkit, step_by_step)
{
    troupe_testkit *kit = kit_new(7);
    troupe_system *sys = troupe_testkit_system(kit);
    troupe_ref store, nodes[NODES];
    spawn_ring(sys, &store, nodes);
    cr_assert_eq(troupe_testkit_run_until_idle(kit, 0, NULL), 0);
    troupe_testkit_step_info st;
    cr_assert_eq(troupe_testkit_step(kit, &st), 0, "idle: nothing to run");
    int64_t v = 1; /* node 0 handles 1, then node 1 handles 0 */
    cr_assert_eq(troupe_tell(sys, nodes[0], M_TOKEN, &v, sizeof v), 0);
    cr_assert_eq(troupe_testkit_step(kit, &st), 1);
    cr_assert(troupe_ref_eq(st.actor, nodes[0]));
    cr_assert_eq(st.type, M_TOKEN);
    cr_assert_eq(st.handled, 1);
    cr_assert_eq(st.ready, 1);
    cr_assert_eq(troupe_testkit_step(kit, &st), 1);
    cr_assert(troupe_ref_eq(st.actor, nodes[1]));
    cr_assert_eq(st.type, M_TOKEN);
    /* v 0: an ask to the store (0 % 3), and a timer (0 % 4) */
    cr_assert_eq(troupe_testkit_step(kit, &st), 1);
    cr_assert(troupe_ref_eq(st.actor, store));
    cr_assert_eq(st.type, M_ADD);
    cr_assert_eq(troupe_testkit_step(kit, &st), 1); /* the reply, on node 1's system lane */
    cr_assert(troupe_ref_eq(st.actor, nodes[1]));
    cr_assert_eq(troupe_testkit_step(kit, &st), 0);
    /* the test orders the steps itself: three ready, node 2 first */
    for (int i = 0; i < 3; i++) {
        int64_t big = 1000 + i; /* no chain: 1000 % 3, % 4 ... only tells */
        cr_assert_eq(troupe_tell(sys, nodes[i], M_TICK, &big, sizeof big), 0);
    }
    cr_assert_eq(troupe_testkit_step_actor(kit, nodes[2], &st), 1);
    cr_assert(troupe_ref_eq(st.actor, nodes[2]));
    cr_assert_eq(st.ready, 3);
    cr_assert_eq(troupe_testkit_step_actor(kit, nodes[2], &st), TROUPE_ENOTFOUND,
                 "not ready any more");
    uint64_t n = 0;
    cr_assert_eq(troupe_testkit_run_until_idle(kit, 1, &n), TROUPE_EBUSY, "the bound");
    cr_assert_eq(n, 1);
    cr_assert_eq(troupe_testkit_run_until_idle(kit, 0, &n), 0);
    cr_assert_eq(n, 1);
    troupe_testkit_destroy(kit);
}

/* ---- timers on the manual clock ---- */

Test(testkit, timers_fire_on_advance_in_deadline_order)
{
    troupe_testkit *kit = kit_new(3);
    troupe_system *sys = troupe_testkit_system(kit);
    troupe_ref store, nodes[NODES];
    spawn_ring(sys, &store, nodes);
    cr_assert_eq(troupe_testkit_run_until_idle(kit, 0, NULL), 0);
    /* deadlines 30, 10, 20 ms: the steps come as 10, 20, 30 */
    int64_t at[3] = {30, 10, 20};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(troupe_send_after(sys, nodes[i], M_TICK, &at[i], sizeof at[i],
                                       (uint64_t)at[i] * MS, NULL),
                     0);
    uint64_t n = 0;
    cr_assert_eq(troupe_testkit_advance(kit, 10 * MS - 1), 0);
    cr_assert_eq(troupe_testkit_run_until_idle(kit, 0, &n), 0);
    cr_assert_eq(n, 0, "nothing due before 10 ms");
    cr_assert_eq(troupe_clock_now(troupe_testkit_clock(kit)), 10 * MS - 1);
    cr_assert_eq(troupe_testkit_advance(kit, 1), 0);
    troupe_testkit_step_info st;
    cr_assert_eq(troupe_testkit_step(kit, &st), 1);
    cr_assert(troupe_ref_eq(st.actor, nodes[1]));
    cr_assert_eq(st.type, M_TICK);
    cr_assert_eq(troupe_testkit_step(kit, &st), 0);
    cr_assert_eq(troupe_testkit_advance(kit, 100 * MS), 0); /* both due: one step each */
    cr_assert_eq(troupe_testkit_run_until_idle(kit, 0, &n), 0);
    cr_assert_eq(n, 2);
    troupe_testkit_destroy(kit);
}

/* ---- a panic, and the restart by the supervisor ---- */

static int frag_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    int64_t *count = state;
    log_add(0, m->type, (uint64_t)*count);
    if (m->type == M_INC)
        ++*count;
    if (m->type == M_BOOM)
        troupe_panic("boom");
    if (m->type == M_GET)
        troupe_reply(ctx, M_SUM, count, sizeof *count);
    return 0;
}

static const troupe_behaviour frag_beh = {
    .name = "fragile", .state_size = sizeof(int64_t), .handle = frag_handle};

/* The default policy (exponential, jittered): the advances it takes until
 * the restart, and the kit's hash. */
static void panic_run(uint64_t seed, uint64_t *advances, uint64_t *hash)
{
    troupe_testkit *kit = kit_new(seed);
    troupe_system *sys = troupe_testkit_system(kit);
    troupe_sup root;
    cr_assert_eq(troupe_sup_root(sys, &root), 0);
    troupe_child_spec spec;
    troupe_child_spec_defaults(&spec);
    spec.beh = &frag_beh;
    troupe_ref child;
    cr_assert_eq(troupe_sup_start_child(sys, root, &spec, &child), 0);
    cr_assert_eq(troupe_tell(sys, child, M_INC, NULL, 0), 0);
    cr_assert_eq(troupe_tell(sys, child, M_BOOM, NULL, 0), 0);
    cr_assert_eq(troupe_tell(sys, child, M_INC, NULL, 0), 0); /* kept for the next one */
    cr_assert_eq(troupe_testkit_run_until_idle(kit, 0, NULL), 0);
    troupe_child_info ci;
    cr_assert_eq(troupe_child_info_get(sys, child, &ci), 0);
    cr_assert_eq(ci.state, TROUPE_CHILD_BACKOFF);
    cr_assert_eq(ci.exits_by_kind[TROUPE_EXIT_PANIC], 1);
    *advances = 0;
    while (ci.restarts == 0 && *advances < 1000) {
        cr_assert_eq(troupe_testkit_advance(kit, MS), 0);
        cr_assert_eq(troupe_testkit_run_until_idle(kit, 0, NULL), 0);
        cr_assert_eq(troupe_child_info_get(sys, child, &ci), 0);
        ++*advances;
    }
    cr_assert_eq(ci.restarts, 1);
    int64_t count = -1;
    cr_assert_eq(troupe_testkit_ask(kit, child, M_GET, NULL, 0, 0, NULL, &count, sizeof count,
                                    NULL),
                 0);
    cr_assert_eq(count, 1, "a fresh state, and the message kept across the restart");
    size_t n = 0;
    troupe_testkit_step_info tr[64];
    cr_assert_eq(troupe_testkit_trace(kit, tr, 64, &n), 0);
    bool restart_step = false;
    for (size_t i = 0; i < n && i < 64; i++)
        restart_step |= tr[i].type == TROUPE_TESTKIT_RESTART;
    cr_assert(restart_step, "the re-init is a step of its own");
    cr_assert_eq(troupe_testkit_trace_hash(kit, hash, NULL), 0);
    troupe_testkit_destroy(kit);
}

Test(testkit, panic_and_restart_are_deterministic)
{
    uint64_t adv1, h1, adv2, h2;
    panic_run(11, &adv1, &h1);
    uint64_t log1 = world.log;
    cr_assert_geq(adv1, 50, "the backoff's 100 ms, jittered");
    cr_assert_leq(adv1, 150);
    for (int i = 0; i < 5; i++) {
        panic_run(11, &adv2, &h2);
        cr_assert_eq(adv2, adv1, "the jitter comes from the seed");
        cr_assert_eq(h2, h1);
        cr_assert_eq(world.log, log1);
    }
}

/* ---- asks ---- */

Test(testkit, ask_runs_the_system_until_the_reply)
{
    troupe_testkit *kit = kit_new(5);
    troupe_system *sys = troupe_testkit_system(kit);
    troupe_ref store;
    cr_assert_eq(troupe_spawn(sys, &store_beh, NULL, NULL, &store), 0);
    int64_t v = 5, sum = 0;
    uint32_t type = 0;
    cr_assert_eq(troupe_testkit_ask(kit, store, M_ADD, &v, sizeof v, 0, &type, &sum, sizeof sum,
                                    NULL),
                 0);
    cr_assert_eq(type, M_SUM);
    cr_assert_eq(sum, 5);
    /* never answered: the system goes idle, the ask fails at once */
    cr_assert_eq(troupe_testkit_ask(kit, store, M_NOREPLY, NULL, 0, 0, NULL, NULL, 0, NULL),
                 TROUPE_ETIMEDOUT);
    char small[2];
    cr_assert_eq(troupe_testkit_ask(kit, store, M_GET, NULL, 0, 0, NULL, small, sizeof small,
                                    NULL),
                 TROUPE_ETRUNC);
    /* the plain waiting calls would wait for a thread that is not there */
    cr_assert_eq(troupe_ask(sys, store, M_GET, NULL, 0, MS, NULL, NULL, 0, NULL), TROUPE_ESTATE);
    cr_assert_eq(troupe_call(sys, store, M_GET, NULL, 0, MS, NULL, NULL, 0, NULL), TROUPE_ESTATE);
    cr_assert_eq(troupe_system_shutdown(sys, MS), TROUPE_ESTATE);
    troupe_system_destroy(sys); /* ignored: the kit's */
    cr_assert_eq(troupe_testkit_ask(kit, store, M_GET, NULL, 0, 0, NULL, &sum, sizeof sum, NULL),
                 0);
    cr_assert_eq(sum, 5);
    troupe_testkit_destroy(kit);
}

/* ---- bad input ---- */

static int stepper_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    (void)ctx;
    (void)state;
    (void)m;
    world.step_rc = troupe_testkit_step(world.kit, NULL);
    return 0;
}

static const troupe_behaviour stepper_beh = {.name = "stepper", .handle = stepper_handle};

static uint64_t fixed_now(void *ud)
{
    (void)ud;
    return 1;
}

Test(testkit, bad_input_fails_clearly)
{
    troupe_testkit_config cfg;
    troupe_testkit_config_defaults(&cfg);
    cr_assert_eq(troupe_testkit_create(NULL, &cfg), TROUPE_EINVAL);
    troupe_testkit *kit = NULL;
    cfg.trace_capacity = (1u << 24) + 1;
    cr_assert_eq(troupe_testkit_create(&kit, &cfg), TROUPE_EINVAL);
    cr_assert_null(kit);
    troupe_testkit_config_defaults(&cfg);
    cfg.system.batch = 0;
    cr_assert_eq(troupe_testkit_create(&kit, &cfg), TROUPE_EINVAL, "the system's own checks");
    troupe_clock *mono;
    cr_assert_eq(troupe_clock_create(&mono, fixed_now, NULL), 0);
    troupe_testkit_config_defaults(&cfg);
    cfg.system.clock = mono;
    cr_assert_eq(troupe_testkit_create(&kit, &cfg), TROUPE_EINVAL, "a clock that is not manual");
    troupe_clock_destroy(mono);
    troupe_testkit_config_defaults(&cfg);
    cfg.system.journal = (struct troupe_journal *)&cfg; /* never read: refused first */
    cr_assert_eq(troupe_testkit_create(&kit, &cfg), TROUPE_ENOTSUP);

    /* NULL */
    cr_assert_eq(troupe_testkit_step(NULL, NULL), TROUPE_ENOTFOUND);
    cr_assert_eq(troupe_testkit_run_until_idle(NULL, 0, NULL), TROUPE_ENOTFOUND);
    cr_assert_eq(troupe_testkit_advance(NULL, 1), TROUPE_ENOTFOUND);
    cr_assert_eq(troupe_testkit_trace_hash(NULL, NULL, NULL), TROUPE_ENOTFOUND);
    cr_assert_null(troupe_testkit_system(NULL));
    cr_assert_null(troupe_testkit_clock(NULL));
    troupe_testkit_destroy(NULL);
    troupe_testkit_config_defaults(NULL);

    /* a normal system where a kit is expected */
    troupe_system *plain;
    troupe_config pc;
    troupe_config_defaults(&pc);
    pc.workers = 1;
    cr_assert_eq(troupe_system_create(&plain, &pc), 0);
    troupe_testkit *of = NULL;
    cr_assert_eq(troupe_testkit_of(plain, &of), TROUPE_ESTATE);
    cr_assert_eq(troupe_testkit_of(NULL, &of), TROUPE_EINVAL);
    cr_assert_eq(troupe_testkit_step((troupe_testkit *)plain, NULL), TROUPE_ENOTFOUND);
    troupe_testkit_destroy((troupe_testkit *)plain); /* ignored */
    troupe_system_destroy(plain);

    kit = kit_new(1);
    cr_assert_eq(troupe_testkit_of(troupe_testkit_system(kit), &of), 0);
    cr_assert_eq(of, kit);
    size_t n;
    cr_assert_eq(troupe_testkit_trace(kit, NULL, 0, NULL), TROUPE_EINVAL);
    cr_assert_eq(troupe_testkit_trace(kit, NULL, 1, &n), TROUPE_EINVAL);
    cr_assert_eq(troupe_testkit_ask(kit, TROUPE_REF_NONE, M_GET, NULL, 0, 0, NULL, NULL, 0, NULL),
                 TROUPE_ENOACTOR);
    cr_assert_eq(troupe_testkit_ask(kit, TROUPE_REF_NONE, M_GET, NULL, 4, 0, NULL, NULL, 0, NULL),
                 TROUPE_EINVAL);
    cr_assert_eq(troupe_testkit_step_actor(kit, TROUPE_REF_NONE, NULL), TROUPE_ENOTFOUND);

    /* from a handler: refused, the handler's run is not nested */
    troupe_ref st;
    cr_assert_eq(troupe_spawn(troupe_testkit_system(kit), &stepper_beh, NULL, NULL, &st), 0);
    cr_assert_eq(troupe_tell(troupe_testkit_system(kit), st, M_STEP, NULL, 0), 0);
    cr_assert_eq(troupe_testkit_step(kit, NULL), 1);
    cr_assert_eq(world.step_rc, TROUPE_ESTATE);

    /* a destroyed kit */
    troupe_testkit_destroy(kit);
    cr_assert_eq(troupe_testkit_step(kit, NULL), TROUPE_ENOTFOUND);
    cr_assert_eq(troupe_testkit_run_until_idle(kit, 0, NULL), TROUPE_ENOTFOUND);
    cr_assert_eq(troupe_testkit_ask(kit, st, M_GET, NULL, 0, 0, NULL, NULL, 0, NULL),
                 TROUPE_ENOTFOUND);
    cr_assert_eq(troupe_testkit_trace(kit, NULL, 0, &n), TROUPE_ENOTFOUND);
    cr_assert_null(troupe_testkit_system(kit));
    troupe_testkit_destroy(kit); /* twice: ignored */
}

Test(testkit, destroy_ends_a_busy_system)
{
    /* work left queued, timers pending, a supervised child: destroy runs
     * the shutdown on this thread and frees it all (ASan checks) */
    troupe_testkit *kit = kit_new(9);
    troupe_system *sys = troupe_testkit_system(kit);
    troupe_ref store, nodes[NODES];
    spawn_ring(sys, &store, nodes);
    int64_t v = 12;
    cr_assert_eq(troupe_tell(sys, nodes[0], M_TOKEN, &v, sizeof v), 0);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(troupe_testkit_step(kit, NULL), 1);
    troupe_sup root;
    cr_assert_eq(troupe_sup_root(sys, &root), 0);
    troupe_child_spec spec;
    troupe_child_spec_defaults(&spec);
    spec.beh = &frag_beh;
    troupe_ref child;
    cr_assert_eq(troupe_sup_start_child(sys, root, &spec, &child), 0);
    cr_assert_eq(troupe_tell(sys, child, M_INC, NULL, 0), 0);
    troupe_testkit_destroy(kit);
}

Test(testkit, trace_keeps_the_latest_steps)
{
    troupe_testkit_config cfg;
    troupe_testkit_config_defaults(&cfg);
    cfg.seed = 4;
    cfg.trace_capacity = 8;
    troupe_testkit *kit;
    cr_assert_eq(troupe_testkit_create(&kit, &cfg), 0);
    troupe_system *sys = troupe_testkit_system(kit);
    troupe_ref store, nodes[NODES];
    spawn_ring(sys, &store, nodes);
    int64_t v = 9;
    cr_assert_eq(troupe_tell(sys, nodes[0], M_TOKEN, &v, sizeof v), 0);
    uint64_t ran = 0, steps = 0, hash = 0;
    cr_assert_eq(troupe_testkit_run_until_idle(kit, 0, &ran), 0);
    cr_assert_eq(troupe_testkit_trace_hash(kit, &hash, &steps), 0);
    cr_assert_gt(steps, 8);
    troupe_testkit_step_info tr[8];
    size_t n = 0;
    cr_assert_eq(troupe_testkit_trace(kit, NULL, 0, &n), 0, "how many, without a buffer");
    cr_assert_eq(n, 8);
    cr_assert_eq(troupe_testkit_trace(kit, tr, 8, &n), 0);
    for (size_t i = 0; i < 8; i++)
        cr_assert_eq(tr[i].index, steps - 8 + i, "oldest first, the last ones");
    troupe_testkit_destroy(kit);

    cfg.trace_capacity = 0; /* nothing kept, the hash still made */
    cr_assert_eq(troupe_testkit_create(&kit, &cfg), 0);
    sys = troupe_testkit_system(kit);
    spawn_ring(sys, &store, nodes);
    cr_assert_eq(troupe_tell(sys, nodes[0], M_TOKEN, &v, sizeof v), 0);
    cr_assert_eq(troupe_testkit_run_until_idle(kit, 0, NULL), 0);
    uint64_t hash0 = 0, steps0 = 0;
    cr_assert_eq(troupe_testkit_trace_hash(kit, &hash0, &steps0), 0);
    cr_assert_eq(troupe_testkit_trace(kit, tr, 8, &n), 0);
    cr_assert_eq(n, 0);
    cr_assert_eq(steps0, steps);
    cr_assert_eq(hash0, hash, "the same seed: the same steps whatever is kept");
    troupe_testkit_destroy(kit);
}

/* ---- an escalation: the root gives up, the system shuts down ---- */

Test(testkit, escalation_shuts_the_system_down_on_the_kit_thread)
{
    troupe_testkit_config cfg;
    troupe_testkit_config_defaults(&cfg);
    cfg.seed = 8;
    cfg.system.root_intensity = 1; /* the second restart in the period escalates */
    troupe_testkit *kit;
    cr_assert_eq(troupe_testkit_create(&kit, &cfg), 0);
    troupe_system *sys = troupe_testkit_system(kit);
    troupe_sup root;
    cr_assert_eq(troupe_sup_root(sys, &root), 0);
    troupe_child_spec spec;
    troupe_child_spec_defaults(&spec);
    spec.beh = &frag_beh;
    spec.policy.kind = TROUPE_RESTART_ALWAYS;
    troupe_ref child;
    cr_assert_eq(troupe_sup_start_child(sys, root, &spec, &child), 0);
    int rc = 0;
    for (int i = 0; i < 4 && rc == 0; i++) {
        rc = troupe_tell(sys, child, M_BOOM, NULL, 0);
        cr_assert_eq(troupe_testkit_run_until_idle(kit, 0, NULL), 0);
    }
    cr_assert_eq(rc, TROUPE_ESHUTDOWN, "the system went down after the root gave up");
    troupe_system_stats st;
    cr_assert_eq(troupe_system_stats_get(sys, &st), 0);
    cr_assert_eq(st.actors_live, 0);
    troupe_testkit_destroy(kit);
}
