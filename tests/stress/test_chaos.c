/* tests/stress/test_chaos.c — the chaos test (issue 3): a tree of 1,000
 * actors under message load with random panics; the process stays up,
 * every permanent actor is alive at the end, the accounting is exact and
 * nothing leaks.
 *
 * The tree (root: a million restarts per second, never escalates):
 *   A      ONE_FOR_ONE, kids 0..499: permanent, transient and temporary;
 *          restart policies ALWAYS, FIXED_DELAY 1 ms, EXPONENTIAL 50 µs..1 ms;
 *          some with drop_pending
 *   B0..9  ONE_FOR_ALL, 20 permanent kids each (500..699)
 *   C0..9  REST_FOR_ONE, 20 permanent kids each (700..899)
 *   D      ONE_FOR_ONE over E0..3: ONE_FOR_ONE, 25 permanent kids each
 *          (900..999), 20 restarts an hour at most: E escalates at every
 *          21st exit (sooner in a panic storm on all 25, which one sender
 *          sends now and then), and D restarts it with all its kids
 * Mailboxes: BLOCK (capacity 64 or 4), DROP_NEWEST, DROP_OLDEST and REJECT
 * (capacity 8), so that parking, drops and rejections all happen. Kids
 * that may end for good (transient, temporary) use BLOCK or REJECT only:
 * their counters die with them, and neither policy drops.
 *
 * Load: two plain threads send to random kids — work messages (inline,
 * 64-byte copies, pointer payloads), PANIC (about 1 in 500) and QUIT
 * (normal exit, 1 in 1000). A handler forwards a work message to a random
 * kid, one time in four, up to 3 hops.
 *
 * Duration: TROUPE_CHAOS_SECONDS if set, else 30 s — 5 s in sanitizer
 * builds (make test runs ASan and TSan too). The clock only ends the load;
 * no assertion reads it.
 *
 * Accounting, per kid i: senders (threads and handlers) count sends that
 * returned 0 (ok), TROUPE_EFULL (efull) and TROUPE_ENOACTOR from a kid that
 * ended (gone); the kid counts what its handler saw (seen), and of that the
 * PANICs and QUITs. The runtime counts a ring message as handled before
 * its handler runs, so a message that panicked is both handled and failed:
 *   ok       = handled + dropped + depth          (mailboxes survive restarts:
 *                                                   cumulative, checked)
 *   handled  = seen,  failed = panics,  rejected = efull
 * A kid with drop_pending loses its queue at each restart, and a kid that
 * ended lost its queue at the end: those messages are counted by the system
 * (messages_destroyed), which must equal the sum of both shortfalls.
 * The supervisor's records must agree too: PANIC and NORMAL exits, inits =
 * restarts + 1, each supervisor's restarts = its kids' restarts, one
 * restart of E by D per escalation, no escalation anywhere else. Every
 * pointer payload is destroyed exactly once, and ASan's leak check (in the
 * ASan build) sees that troupe_system_destroy leaves nothing behind.
 */
#include "../support.h"

#define NKIDS 1000
#define N_A 500
#define B_FIRST 500
#define C_FIRST 700
#define E_FIRST 900
#define GROUP_B 20
#define GROUP_E 25
#define NB 10
#define NC 10
#define NE 4
#define HOPS 3
#define STORM_EVERY 20000 /* sender 0's iterations between panic storms */
#define E_INTENSITY 20

enum { M_WORK = 1, M_BIG, M_PTR, M_PANIC, M_QUIT };

typedef struct chaos chaos;

typedef struct kid {
    chaos *c;
    troupe_ref ref;
    troupe_restart_type type;
    int overflow;
    int drop_pending;
    /* by senders */
    atomic_ulong ok, efull, gone;
    /* by the kid itself */
    atomic_ulong seen, panics, quits, inits;
} kid;

struct chaos {
    troupe_system *sys;
    kid kids[NKIDS];
    troupe_sup a, d, b[NB], cs[NC], e[NE];
    atomic_int stop;
    atomic_ulong sent;     /* sends that returned 0, probes aside */
    atomic_ulong worked;   /* messages handlers saw, probes aside */
    atomic_ulong unexpected;
    atomic_int last_unexpected;
    atomic_ulong ptr_made, ptr_freed;
    atomic_ulong failures; /* on_failure calls */
    atomic_ulong storms;
};

typedef struct work {
    uint64_t hops;
    uint64_t salt;
} work;

typedef struct big {
    work w;
    unsigned char pad[64 - sizeof(work)];
} big;

typedef struct item {
    chaos *c;
    work w;
} item;

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Each worker draws from its own generator. */
static _Thread_local uint64_t t_rng;

static uint64_t handler_rand(void)
{
    if (t_rng == 0)
        t_rng = 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)&t_rng;
    return rng_next(&t_rng);
}

static void item_dtor(void *p)
{
    item *it = p;
    atomic_fetch_add(&it->c->ptr_freed, 1);
    free(it);
}

static item *item_new(chaos *c, work w)
{
    item *it = malloc(sizeof *it);
    if (!it)
        abort();
    it->c = c;
    it->w = w;
    atomic_fetch_add(&c->ptr_made, 1);
    return it;
}

/* Count a send's outcome at its receiver. */
static void tally(chaos *c, kid *to, int rc)
{
    if (rc == 0) {
        atomic_fetch_add(&to->ok, 1);
        atomic_fetch_add(&c->sent, 1);
    } else if (rc == TROUPE_EFULL) {
        atomic_fetch_add(&to->efull, 1);
    } else if (rc == TROUPE_ENOACTOR && to->type != TROUPE_PERMANENT) {
        atomic_fetch_add(&to->gone, 1);
    } else {
        atomic_store(&c->last_unexpected, rc);
        atomic_fetch_add(&c->unexpected, 1);
    }
}

/* Send a work message of the given type; a pointer payload the runtime
 * refused is ours to free. */
static int send_work(chaos *c, kid *to, uint32_t type, work w, item *reuse)
{
    if (type == M_WORK)
        return troupe_tell(c->sys, to->ref, M_WORK, &w, sizeof w);
    if (type == M_BIG) {
        big b;
        memset(&b, (int)(w.salt & 0xFF), sizeof b);
        b.w = w;
        return troupe_tell(c->sys, to->ref, M_BIG, &b, sizeof b);
    }
    item *it = reuse ? reuse : item_new(c, w);
    it->w = w;
    int rc = troupe_tell_ptr(c->sys, to->ref, M_PTR, it, item_dtor);
    if (rc != 0)
        item_dtor(it);
    return rc;
}

static work work_of(const troupe_msg *m)
{
    if (m->type == M_PTR)
        return ((const item *)m->ptr)->w;
    work w;
    memcpy(&w, m->data, sizeof w); /* M_WORK, or the head of M_BIG */
    return w;
}

/* A little work, then one time in four pass it on. */
static void do_work(troupe_ctx *ctx, kid *k, const troupe_msg *m)
{
    chaos *c = k->c;
    work w = work_of(m);
    volatile unsigned x = 0;
    for (unsigned i = 0; i < 64; i++)
        x += i;
    (void)x;
    uint64_t r = handler_rand();
    if (w.hops == 0 || (r & 3) != 0)
        return;
    kid *to = &c->kids[(r >> 8) % NKIDS];
    w.hops--;
    item *it = m->type == M_PTR ? troupe_msg_take(ctx) : NULL;
    tally(c, to, send_work(c, to, m->type, w, it));
}

static int kid_init(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx;
    kid *k = (kid *)(uintptr_t)arg;
    *(kid **)state = k;
    atomic_fetch_add(&k->inits, 1);
    return 0;
}

static int kid_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    kid *k = *(kid **)state;
    atomic_fetch_add(&k->seen, 1);
    switch (m->type) {
    case M_PANIC:
        atomic_fetch_add(&k->panics, 1);
        atomic_fetch_add(&k->c->worked, 1);
        troupe_panic("chaos");
        return 0;
    case M_QUIT:
        atomic_fetch_add(&k->quits, 1);
        atomic_fetch_add(&k->c->worked, 1);
        return troupe_stop_self(ctx);
    case T_PROBE:
        return troupe_reply(ctx, T_PROBE, NULL, 0);
    case M_WORK:
    case M_BIG:
    case M_PTR:
        atomic_fetch_add(&k->c->worked, 1);
        do_work(ctx, k, m);
        return 0;
    default:
        tt_die("kid: message type %u", m->type);
    }
}

static const troupe_behaviour kid_beh = {
    .name = "chaos.kid", .state_size = sizeof(kid *), .init = kid_init, .handle = kid_handle};

static void on_failure(const troupe_failure *f, void *ud)
{
    (void)f;
    atomic_fetch_add(&((chaos *)ud)->failures, 1);
}

/* ---- building the tree ---------------------------------------------------------- */

static troupe_sup start_sup(chaos *c, troupe_sup parent, troupe_sup_strategy st,
                            uint32_t intensity, int64_t period_ns)
{
    troupe_sup_spec s;
    troupe_sup_spec_defaults(&s);
    s.strategy = st;
    s.intensity = intensity;
    s.period_ns = period_ns;
    troupe_sup out = {0};
    int rc = troupe_sup_start_supervisor(c->sys, parent, &s, &out);
    cr_assert_eq(rc, 0, "start_supervisor: %s", troupe_errname(rc));
    return out;
}

/* Restart type and mailbox of kid i (see the header). */
static void shape_kid(kid *k, int i)
{
    k->type = TROUPE_PERMANENT;
    if (i < N_A && i % 10 == 7)
        k->type = TROUPE_TRANSIENT;
    else if (i < N_A && i % 20 == 1)
        k->type = TROUPE_TEMPORARY;
    k->drop_pending = i < N_A && i % 10 == 5;
    k->overflow = TROUPE_OVERFLOW_BLOCK;
    if (i % 10 == 3 && i < E_FIRST)
        k->overflow = TROUPE_OVERFLOW_DROP_NEWEST;
    else if (i % 10 == 6 && i < E_FIRST)
        k->overflow = TROUPE_OVERFLOW_REJECT;
    else if (i % 20 == 9 && i < E_FIRST)
        k->overflow = TROUPE_OVERFLOW_DROP_OLDEST;
}

static troupe_child_spec kid_spec(kid *k, int i)
{
    troupe_child_spec s;
    troupe_child_spec_defaults(&s);
    s.beh = &kid_beh;
    s.arg = k; /* borrowed: arg_size 0 passes the pointer itself */
    s.restart = k->type;
    s.drop_pending = k->drop_pending;
    /* a kid always stops when told: a lost stop signal must hang the test
     * (the hang guard reports it), not end in a kill at a timeout */
    s.shutdown_ns = 3600 * (int64_t)S_NS;
    s.opts.overflow = k->overflow;
    s.opts.capacity = k->overflow != TROUPE_OVERFLOW_BLOCK ? 8 : i % 7 == 0 ? 4 : 64;
    switch (i % 6) {
    case 4:
        s.policy.kind = TROUPE_RESTART_FIXED_DELAY;
        s.policy.delay_ns = (int64_t)MS_NS;
        break;
    case 5:
        s.policy.kind = TROUPE_RESTART_EXPONENTIAL;
        s.policy.initial_ns = 50000;
        s.policy.max_ns = (int64_t)MS_NS;
        s.policy.multiplier = 2.0;
        s.policy.jitter = 0.2;
        s.policy.max_restarts = 0; /* no limit: chaos must not escalate here */
        break;
    default:
        s.policy.kind = TROUPE_RESTART_ALWAYS;
    }
    return s;
}

static troupe_sup parent_of(chaos *c, int i)
{
    if (i < B_FIRST)
        return c->a;
    if (i < C_FIRST)
        return c->b[(i - B_FIRST) / GROUP_B];
    if (i < E_FIRST)
        return c->cs[(i - C_FIRST) / GROUP_B];
    return c->e[(i - E_FIRST) / GROUP_E];
}

static void build_tree(chaos *c)
{
    troupe_sup root;
    cr_assert_eq(troupe_sup_root(c->sys, &root), 0);
    const int64_t second = (int64_t)S_NS, hour = 3600 * second;
    c->a = start_sup(c, root, TROUPE_ONE_FOR_ONE, 1000000, second);
    for (int i = 0; i < NB; i++)
        c->b[i] = start_sup(c, root, TROUPE_ONE_FOR_ALL, 1000000, second);
    for (int i = 0; i < NC; i++)
        c->cs[i] = start_sup(c, root, TROUPE_REST_FOR_ONE, 1000000, second);
    c->d = start_sup(c, root, TROUPE_ONE_FOR_ONE, 1000000, second);
    /* E: the 21st restart in an hour escalates — a count, not a rate, so
     * that whether it happens never depends on the machine's speed */
    for (int i = 0; i < NE; i++)
        c->e[i] = start_sup(c, c->d, TROUPE_ONE_FOR_ONE, E_INTENSITY, hour);
    for (int i = 0; i < NKIDS; i++) {
        kid *k = &c->kids[i];
        k->c = c;
        shape_kid(k, i);
        troupe_child_spec s = kid_spec(k, i);
        int rc = troupe_sup_start_child(c->sys, parent_of(c, i), &s, &k->ref);
        cr_assert_eq(rc, 0, "start kid %d: %s", i, troupe_errname(rc));
    }
}

/* ---- the load ------------------------------------------------------------------ */

typedef struct sender {
    chaos *c;
    uint64_t seed;
    int storms; /* this one sends the panic storms */
    pthread_t th;
} sender;

static void send_one(chaos *c, kid *to, uint64_t r)
{
    uint32_t pick = (uint32_t)(r >> 32) % 1024;
    if (pick < 2) {
        tally(c, to, troupe_tell(c->sys, to->ref, M_PANIC, NULL, 0));
    } else if (pick == 2) {
        tally(c, to, troupe_tell(c->sys, to->ref, M_QUIT, NULL, 0));
    } else {
        uint32_t type = pick % 8 == 0 ? M_BIG : pick % 8 == 1 ? M_PTR : M_WORK;
        work w = {.hops = HOPS, .salt = r};
        tally(c, to, send_work(c, to, type, w, NULL));
    }
}

/* PANIC to every kid of one E at once: more than its intensity allows. */
static void storm(chaos *c, uint64_t r)
{
    int first = E_FIRST + (int)(r % NE) * GROUP_E;
    for (int i = first; i < first + GROUP_E; i++)
        tally(c, &c->kids[i], troupe_tell(c->sys, c->kids[i].ref, M_PANIC, NULL, 0));
    atomic_fetch_add(&c->storms, 1);
}

static void *sender_main(void *p)
{
    sender *s = p;
    chaos *c = s->c;
    uint64_t rng = s->seed;
    for (long i = 1; !atomic_load_explicit(&c->stop, memory_order_relaxed); i++) {
        uint64_t r = rng_next(&rng);
        send_one(c, &c->kids[r % NKIDS], r);
        if (s->storms && i % STORM_EVERY == 0)
            storm(c, rng_next(&rng));
    }
    return NULL;
}

static double chaos_seconds(void)
{
    const char *e = getenv("TROUPE_CHAOS_SECONDS");
    if (e && *e) {
        double v = strtod(e, NULL);
        if (v > 0)
            return v;
    }
    return TT_ASAN || TT_TSAN ? 5.0 : 30.0;
}

static void run_load(chaos *c, double seconds)
{
    sender s[2] = {{c, 0x243F6A8885A308D3ull, 1, 0}, {c, 0x13198A2E03707344ull, 0, 0}};
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&s[i].th, NULL, sender_main, &s[i]), 0);
    uint64_t end = tt_now_ns() + (uint64_t)(seconds * 1e9);
    while (tt_now_ns() < end)
        tt_sleep_ns(50 * MS_NS);
    atomic_store(&c->stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(s[i].th, NULL);
}

/* ---- quiescence ------------------------------------------------------------------ */

/* Kids of A that must have ended for good: a temporary that panicked or
 * quit, a transient that quit (ONE_FOR_ONE: nothing else restarts them). */
static int must_be_dead(kid *k)
{
    if (k->type == TROUPE_TEMPORARY)
        return atomic_load(&k->panics) + atomic_load(&k->quits) > 0;
    if (k->type == TROUPE_TRANSIENT)
        return atomic_load(&k->quits) > 0;
    return 0;
}

/* Nothing queued anywhere, every kid that must end has ended, and its end
 * is complete (actors_live drops last in an actor's end, after its queued
 * messages were destroyed and counted). */
static int settled(chaos *c)
{
    uint64_t alive = 0;
    for (int i = 0; i < NKIDS; i++) {
        kid *k = &c->kids[i];
        troupe_mailbox_stats st;
        if (troupe_actor_stats(c->sys, k->ref, &st) == 0) {
            if (st.depth != 0 || must_be_dead(k))
                return 0;
            alive++;
        } else if (k->type == TROUPE_PERMANENT) {
            return 0; /* reported by the assertions after */
        }
    }
    troupe_system_stats ss;
    return troupe_system_stats_get(c->sys, &ss) == 0 && ss.actors_live == alive;
}

/* Probe every live kid (a round trip through its mailbox, behind whatever
 * it still holds, restarts included). If no work message was sent or seen
 * across the round and nothing is queued after it, no message is in flight:
 * a handler still running at the start of the round finished before its
 * own kid answered, and whatever it sent was counted by then. */
static int quiet_round(chaos *c)
{
    unsigned long sent = atomic_load(&c->sent), worked = atomic_load(&c->worked);
    for (int i = 0; i < NKIDS; i++) {
        kid *k = &c->kids[i];
        if (!troupe_alive(c->sys, k->ref))
            continue; /* settled: it must have ended */
        uint32_t rt = 0;
        int rc = troupe_ask(c->sys, k->ref, T_PROBE, NULL, 0, ASK_FOREVER_NS, &rt, NULL, 0, NULL);
        cr_assert_eq(rc, 0, "probe of kid %d: %s", i, troupe_errname(rc));
        atomic_fetch_add(&k->ok, 1);
    }
    return sent == atomic_load(&c->sent) && worked == atomic_load(&c->worked) && settled(c);
}

/* For a failure message: kids with queued messages or not running. */
static void report_stuck(chaos *c)
{
    int shown = 0;
    for (int i = 0; i < NKIDS && shown < 20; i++) {
        troupe_mailbox_stats st;
        troupe_child_info ci;
        if (troupe_actor_stats(c->sys, c->kids[i].ref, &st) != 0 ||
            troupe_child_info_get(c->sys, c->kids[i].ref, &ci) != 0 ||
            (st.depth == 0 && ci.state == TROUPE_CHILD_RUNNING))
            continue;
        fprintf(stderr, "  stuck: kid %d, %u queued, child state %d, %llu restarts\n", i,
                st.depth, (int)ci.state, (unsigned long long)ci.restarts);
        shown++;
    }
}

/* wait_until(settled(c)), saying what is stuck if it never settles */
static void wait_settled(chaos *c)
{
    uint64_t start = tt_now_ns();
    while (!settled(c)) {
        if (tt_now_ns() - start > HANG_LIMIT_NS) {
            report_stuck(c);
            cr_assert_fail("hang guard: the load did not settle in %u s", HANG_LIMIT_S);
        }
        tt_sleep_ns(MS_NS);
    }
}

static void drain(chaos *c)
{
    int rounds = 0;
    do {
        wait_settled(c);
        cr_assert_lt(++rounds, 100, "the load never came to rest");
    } while (!quiet_round(c));
}

/* ---- the checks ------------------------------------------------------------------ */

typedef struct totals {
    uint64_t shortfall; /* messages a kid lost to drop_pending or its end */
    uint64_t alive, panics, quits, sent_ok;
    uint64_t restarts_a;
} totals;

static void check_live_kid(chaos *c, int i, totals *t)
{
    kid *k = &c->kids[i];
    troupe_mailbox_stats st = tt_stats(c->sys, k->ref);
    troupe_child_info ci;
    int rc = troupe_child_info_get(c->sys, k->ref, &ci);
    cr_assert_eq(rc, 0, "child_info of kid %d: %s", i, troupe_errname(rc));
    uint64_t ok = atomic_load(&k->ok), seen = atomic_load(&k->seen);
    uint64_t panics = atomic_load(&k->panics), quits = atomic_load(&k->quits);
    cr_assert_eq(st.handled, seen, "kid %d: handled %llu, its handler saw %llu", i,
                 (unsigned long long)st.handled, (unsigned long long)seen);
    cr_assert_eq(st.failed, panics, "kid %d: failed %llu, panics %llu", i,
                 (unsigned long long)st.failed, (unsigned long long)panics);
    cr_assert_eq(st.rejected, atomic_load(&k->efull), "kid %d: rejected", i);
    cr_assert_eq(atomic_load(&k->gone), 0, "kid %d: alive, a send found it gone", i);
    cr_assert_eq(st.depth, 0u, "kid %d: depth", i);
    if (k->overflow == TROUPE_OVERFLOW_BLOCK || k->overflow == TROUPE_OVERFLOW_REJECT)
        cr_assert_eq(st.dropped, 0u, "kid %d: dropped with a policy that never drops", i);
    uint64_t kept = st.handled + st.dropped + st.depth;
    if (k->drop_pending) {
        cr_assert_geq(ok, kept, "kid %d: %llu sent, %llu kept", i, (unsigned long long)ok,
                      (unsigned long long)kept);
        t->shortfall += ok - kept;
    } else {
        cr_assert_eq(ok, kept, "kid %d: sent %llu != handled %llu + dropped %llu + queued %u", i,
                     (unsigned long long)ok, (unsigned long long)st.handled,
                     (unsigned long long)st.dropped, st.depth);
    }
    cr_assert_eq(ci.state, TROUPE_CHILD_RUNNING, "kid %d: state %d", i, (int)ci.state);
    cr_assert_eq(ci.exits_by_kind[TROUPE_EXIT_PANIC], panics, "kid %d: panic exits", i);
    cr_assert_eq(ci.exits_by_kind[TROUPE_EXIT_NORMAL], quits, "kid %d: normal exits", i);
    cr_assert_eq(ci.exits_by_kind[TROUPE_EXIT_KILLED], 0, "kid %d: killed", i);
    cr_assert_eq(ci.restarts + 1, atomic_load(&k->inits), "kid %d: %llu restarts, %lu inits",
                 i, (unsigned long long)ci.restarts, atomic_load(&k->inits));
    if (i < N_A) { /* ONE_FOR_ONE: its own exits only; a transient alive never quit */
        cr_assert_eq(ci.restarts, panics + quits, "kid %d: restarts", i);
        t->restarts_a += ci.restarts;
    }
    t->alive++;
}

/* A kid of A that ended: its counters went with it; it never dropped (BLOCK
 * or REJECT), so what it did not handle was destroyed at its end. */
static void check_dead_kid(chaos *c, int i, totals *t)
{
    kid *k = &c->kids[i];
    cr_assert_neq(k->type, TROUPE_PERMANENT, "permanent kid %d is gone", i);
    cr_assert(must_be_dead(k), "kid %d ended without a panic or a quit", i);
    uint64_t ok = atomic_load(&k->ok), seen = atomic_load(&k->seen);
    cr_assert_geq(ok, seen, "kid %d", i);
    t->shortfall += ok - seen;
    if (k->type == TROUPE_TRANSIENT) /* restarted after each panic, then quit */
        t->restarts_a += atomic_load(&k->panics);
    cr_assert_eq(troupe_tell(c->sys, k->ref, M_WORK, &(work){0}, sizeof(work)),
                 TROUPE_ENOACTOR);
}

static uint64_t kid_restarts(chaos *c, int i)
{
    troupe_child_info ci;
    cr_assert_eq(troupe_child_info_get(c->sys, c->kids[i].ref, &ci), 0);
    return ci.restarts;
}

static troupe_sup_info sup_info(chaos *c, troupe_sup s)
{
    troupe_sup_info si;
    int rc = troupe_sup_info_get(c->sys, s, &si);
    cr_assert_eq(rc, 0, "sup_info: %s", troupe_errname(rc));
    return si;
}

/* Each supervisor restarted exactly what its kids count; only the E's
 * escalated, and D restarted an E once per escalation. */
static void check_sups(chaos *c, const totals *t)
{
    troupe_sup root;
    cr_assert_eq(troupe_sup_root(c->sys, &root), 0);
    cr_assert_eq(sup_info(c, root).escalations, 0);
    troupe_sup_info a = sup_info(c, c->a);
    cr_assert_eq(a.restarts, t->restarts_a, "A restarted %llu, its kids count %llu",
                 (unsigned long long)a.restarts, (unsigned long long)t->restarts_a);
    cr_assert_eq(a.escalations, 0);
    for (int g = 0; g < NB + NC; g++) {
        troupe_sup s = g < NB ? c->b[g] : c->cs[g - NB];
        int first = g < NB ? B_FIRST + g * GROUP_B : C_FIRST + (g - NB) * GROUP_B;
        uint64_t sum = 0;
        for (int i = first; i < first + GROUP_B; i++)
            sum += kid_restarts(c, i);
        troupe_sup_info si = sup_info(c, s);
        cr_assert_eq(si.restarts, sum, "group %d restarted %llu, its kids count %llu", g,
                     (unsigned long long)si.restarts, (unsigned long long)sum);
        cr_assert_eq(si.escalations, 0, "group %d escalated", g);
        cr_assert_eq(si.children, GROUP_B);
    }
    uint64_t esc = 0;
    for (int i = 0; i < NE; i++) {
        troupe_sup_info si = sup_info(c, c->e[i]);
        cr_assert_eq(si.children, GROUP_E);
        /* every exit before the first escalation counted toward it */
        uint64_t exits = 0;
        for (int k = E_FIRST + i * GROUP_E; k < E_FIRST + (i + 1) * GROUP_E; k++)
            exits += atomic_load(&c->kids[k].panics) + atomic_load(&c->kids[k].quits);
        if (exits > E_INTENSITY)
            cr_assert_gt(si.escalations, 0, "E%d: %llu exits, no escalation", i,
                         (unsigned long long)exits);
        esc += si.escalations;
    }
    troupe_sup_info d = sup_info(c, c->d);
    cr_assert_eq(d.escalations, 0);
    cr_assert_eq(d.restarts, esc, "D restarted %llu E's, they escalated %llu times",
                 (unsigned long long)d.restarts, (unsigned long long)esc);
}

static void check_all(chaos *c)
{
    totals t = {0};
    for (int i = 0; i < NKIDS; i++) {
        kid *k = &c->kids[i];
        if (troupe_alive(c->sys, k->ref))
            check_live_kid(c, i, &t);
        else
            check_dead_kid(c, i, &t);
        t.panics += atomic_load(&k->panics);
        t.quits += atomic_load(&k->quits);
        t.sent_ok += atomic_load(&k->ok);
    }
    troupe_system_stats ss = tt_sys_stats(c->sys);
    cr_assert_eq(ss.messages_destroyed, t.shortfall,
                 "destroyed %llu, kids lost %llu (drop_pending, ends)",
                 (unsigned long long)ss.messages_destroyed, (unsigned long long)t.shortfall);
    cr_assert_eq(ss.actors_live, t.alive);
    cr_assert_eq(ss.actors_failed, t.panics);
    cr_assert_eq(atomic_load(&c->failures), t.panics);
    check_sups(c, &t);
    fprintf(stderr,
            "chaos: %llu messages accepted, %llu panics, %llu quits, %lu storms, "
            "%llu kids alive, %llu destroyed\n",
            (unsigned long long)t.sent_ok, (unsigned long long)t.panics,
            (unsigned long long)t.quits, atomic_load(&c->storms), (unsigned long long)t.alive,
            (unsigned long long)ss.messages_destroyed);
}

Test(stress_chaos, tree_of_1000_under_load_with_panics, .timeout = 0)
{
    chaos *c = calloc(1, sizeof *c);
    cr_assert_not_null(c);
    troupe_config cfg = tt_config(2, NULL);
    cfg.root_intensity = 1000000;
    cfg.root_period_ns = (int64_t)S_NS;
    cfg.block_timeout_ns = HANG_LIMIT_NS; /* a plain sender waits, never times out */
    cfg.on_failure = on_failure;
    cfg.on_failure_ud = c;
    c->sys = tt_system_cfg(&cfg);
    build_tree(c);
    run_load(c, chaos_seconds());
    if (atomic_load(&c->unexpected) != 0)
        report_stuck(c);
    cr_assert_eq(atomic_load(&c->unexpected), 0, "%lu sends failed unexpectedly, last: %s",
                 atomic_load(&c->unexpected), troupe_errname(atomic_load(&c->last_unexpected)));
    drain(c);
    check_all(c);
    troupe_system_destroy(c->sys);
    /* every pointer payload was destroyed exactly once: handled, dropped,
     * destroyed at an end or at destroy, or refused and freed by us */
    cr_assert_eq(atomic_load(&c->ptr_made), atomic_load(&c->ptr_freed));
    free(c);
}
