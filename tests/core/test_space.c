/* tests/core/test_space.c — BLOCK from plain threads (core/space.c): a
 * sender that finds the ring full sleeps until the receiver's worker wakes
 * it. One wake word serves the whole system, so these check that a wake
 * for one mailbox loses no sender of another, that every message accepted
 * arrives in its sender's order, and that a sender whose receiver ends
 * hears so rather than sleeping on. The delays here only give a thread
 * time to block; no assertion depends on them. */
#include "../support.h"

enum { M_GATE = 1, M_VAL = 2 };

typedef struct rx_shared {
    tt_gate gate;
    tt_log log;
} rx_shared;

static int h_rx(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    rx_shared *sh = *(rx_shared **)state;
    if (tt_is_probe(ctx, m))
        return 0;
    if (m->type == M_GATE) {
        tt_gate_wait(&sh->gate);
    } else if (m->type == M_VAL) {
        long v;
        memcpy(&v, m->data, sizeof v);
        tt_log_add(&sh->log, v);
    }
    return 0;
}

static const troupe_behaviour rx = {
    .name = "space-rx", .state_size = sizeof(void *), .init = tt_init_arg, .handle = h_rx};

static troupe_system *sys_blocking(uint64_t block_timeout_ns)
{
    troupe_config cfg = tt_config(2, NULL);
    cfg.block_timeout_ns = block_timeout_ns;
    return tt_system_cfg(&cfg);
}

/* A receiver of `cap` slots, held in its gate: its ring only fills. */
static troupe_ref held(troupe_system *sys, rx_shared *sh, uint32_t cap)
{
    tt_gate_init(&sh->gate);
    tt_log_init(&sh->log);
    troupe_spawn_opts o = tt_opts(cap, TROUPE_OVERFLOW_BLOCK);
    troupe_ref r = tt_spawn(sys, &rx, sh, &o);
    tt_hold(sys, r, M_GATE, &sh->gate);
    return r;
}

typedef struct sender {
    troupe_system *sys;
    troupe_ref to;
    long id, n;
    atomic_long sent;
    atomic_int last_rc;
} sender;

#define VAL(id, i) ((id) * 1000000L + (i))

static void *send_all(void *p)
{
    sender *s = p;
    for (long i = 0; i < s->n; i++) {
        long v = VAL(s->id, i);
        int rc = troupe_tell(s->sys, s->to, M_VAL, &v, sizeof v);
        atomic_store(&s->last_rc, rc);
        if (rc)
            return NULL;
        atomic_fetch_add(&s->sent, 1);
    }
    return NULL;
}

/* Each sender's values arrive whole and in its order. */
static void expect_each_in_order(rx_shared *sh, const long *want, int ns)
{
    long next[8] = {0};
    size_t len = tt_log_len(&sh->log);
    for (size_t i = 0; i < len; i++) {
        long v = tt_log_at(&sh->log, i), id = v / 1000000L, seq = v % 1000000L;
        cr_assert(id >= 0 && id < ns, "value %ld from no sender", v);
        cr_assert_eq(seq, next[id], "sender %ld: %ld after %ld", id, seq, next[id] - 1);
        next[id]++;
    }
    for (int i = 0; i < ns; i++)
        cr_expect_eq(next[i], want[i], "sender %d: %ld of %ld arrived", i, next[i], want[i]);
}

Test(space, threads_blocked_on_two_mailboxes_all_get_in_in_order)
{
    enum { CAP = 4, NS = 4 };
    long n = tt_scaled(400, 60);
    troupe_system *sys = sys_blocking(HANG_LIMIT_NS);
    rx_shared a, b;
    troupe_ref ra = held(sys, &a, CAP), rb = held(sys, &b, CAP);
    sender ss[NS];
    pthread_t th[NS];
    for (int i = 0; i < NS; i++) {
        ss[i] = (sender){.sys = sys, .to = i % 2 ? rb : ra, .id = i, .n = n};
        cr_assert_eq(pthread_create(&th[i], NULL, send_all, &ss[i]), 0);
    }
    /* both rings full: every sender is in, or on its way to, the wait */
    wait_until(tt_stats(sys, ra).depth == CAP && tt_stats(sys, rb).depth == CAP);
    tt_sleep_ns(20 * MS_NS);
    tt_gate_open(&a.gate); /* one receiver first: its wakes must not strand b's senders */
    wait_until(tt_log_len(&a.log) == (size_t)(2 * n));
    tt_gate_open(&b.gate);
    for (int i = 0; i < NS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < NS; i++)
        cr_expect_eq(atomic_load(&ss[i].last_rc), 0, "sender %d: %s", i,
                     troupe_errname(atomic_load(&ss[i].last_rc)));
    tt_probe(sys, ra), tt_probe(sys, rb);
    /* a got the even senders' values, b the odd ones' */
    long want_a[NS], want_b[NS];
    for (int i = 0; i < NS; i++)
        want_a[i] = i % 2 ? 0 : n, want_b[i] = i % 2 ? n : 0;
    expect_each_in_order(&a, want_a, NS);
    expect_each_in_order(&b, want_b, NS);
    cr_expect_eq(tt_stats(sys, ra).rejected + tt_stats(sys, rb).rejected, 0u);
    troupe_system_destroy(sys);
    tt_gate_destroy(&a.gate), tt_gate_destroy(&b.gate);
    tt_log_fini(&a.log), tt_log_fini(&b.log);
}

/* The receiver ends while a thread waits for room in its ring: the sender
 * hears TROUPE_ENOACTOR (the worker that ran the stop wakes it), not the
 * end of its block timeout, which is the hang limit here. */
Test(space, a_thread_blocked_on_an_actor_that_ends_hears_enoactor)
{
    enum { CAP = 2 };
    troupe_system *sys = sys_blocking(4 * HANG_LIMIT_NS);
    rx_shared a;
    troupe_ref r = held(sys, &a, CAP);
    sender s = {.sys = sys, .to = r, .id = 0, .n = CAP + 1};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, send_all, &s), 0);
    wait_until(atomic_load(&s.sent) == CAP);
    tt_sleep_ns(20 * MS_NS); /* time to block: the ring is full either way */
    cr_assert_eq(troupe_stop(sys, r), 0);
    tt_gate_open(&a.gate); /* the stop goes before the queued messages */
    pthread_join(th, NULL);
    cr_expect_eq(atomic_load(&s.sent), CAP, "a send got past a full ring");
    cr_expect_eq(atomic_load(&s.last_rc), TROUPE_ENOACTOR, "got %s",
                 troupe_errname(atomic_load(&s.last_rc)));
    cr_expect_eq(tt_log_len(&a.log), 0u, "the stop ran after a queued message");
    troupe_system_destroy(sys);
    tt_gate_destroy(&a.gate);
    tt_log_fini(&a.log);
}

/* A capacity of one: the wake comes only when the ring is empty (half of
 * one slot is none), and every message still gets through in order. */
Test(space, capacity_one_hands_over_every_message)
{
    long n = tt_scaled(2000, 200);
    troupe_system *sys = sys_blocking(HANG_LIMIT_NS);
    rx_shared a;
    troupe_ref r = held(sys, &a, 1);
    sender s = {.sys = sys, .to = r, .id = 0, .n = n};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, send_all, &s), 0);
    wait_until(atomic_load(&s.sent) == 1);
    tt_gate_open(&a.gate);
    pthread_join(th, NULL);
    cr_expect_eq(atomic_load(&s.last_rc), 0, "%s", troupe_errname(atomic_load(&s.last_rc)));
    tt_probe(sys, r);
    long want[1] = {n};
    expect_each_in_order(&a, want, 1);
    troupe_system_destroy(sys);
    tt_gate_destroy(&a.gate);
    tt_log_fini(&a.log);
}
