/* tests/mailbox/test_mailbox.c — the bounded mailbox: order, wrap-around,
 * capacity, every overflow policy, parking of actor senders.
 *
 * Filling a mailbox deterministically: the receiver is sent M_GATE first
 * and its handler blocks on a gate (one worker held). Once the gate reports
 * a waiter, the receiver takes nothing more until the test opens the gate,
 * so the next `capacity` messages fill its ring exactly. Senders are plain
 * threads (the test's) on a 2-worker system unless said otherwise. */
#include "../support.h"

enum {
    M_GATE = 1, /* wait on the gate */
    M_VAL,      /* int64 copied payload: log it */
    M_PTR,      /* tt_item pointer payload: take it, log its value, free it */
    M_SEND,     /* send_req: tell a run of M_VAL (or M_PTR) to a target */
    M_MARK,     /* log -1 */
};

typedef struct shared {
    tt_gate gate;
    tt_log log;
    atomic_int send_errors;
    atomic_int sends_done;
    atomic_int last_send_rc;
    atomic_int stops;
    atomic_int stop_kind;
} shared;

static void shared_init(shared *s)
{
    memset(s, 0, sizeof *s);
    tt_gate_init(&s->gate);
    tt_log_init(&s->log);
    atomic_init(&s->stop_kind, -1);
}

static void shared_fini(shared *s)
{
    tt_gate_destroy(&s->gate);
    tt_log_fini(&s->log);
}

typedef struct send_req {
    troupe_ref to;
    int64_t first;
    int32_t n;
    int32_t use_ptr; /* send tt_items from this tracker */
    tt_tracker *tr;
} send_req;

static int h_rx(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    shared *sh = *(shared **)state;
    if (tt_is_probe(ctx, m))
        return 0;
    switch (m->type) {
    case M_GATE:
        tt_gate_wait(&sh->gate);
        break;
    case M_VAL: {
        int64_t v;
        if (m->size != sizeof v)
            tt_die("M_VAL size %u", m->size);
        memcpy(&v, m->data, sizeof v);
        tt_log_add(&sh->log, (long)v);
        break;
    }
    case M_PTR: {
        tt_item *it = troupe_msg_take(ctx);
        if (!it)
            tt_die("M_PTR without a pointer");
        tt_log_add(&sh->log, it->value);
        tt_item_free(it);
        break;
    }
    case M_MARK:
        tt_log_add(&sh->log, -1);
        break;
    case M_SEND: {
        send_req rq;
        memcpy(&rq, m->data, sizeof rq);
        troupe_system *sys = troupe_ctx_system(ctx);
        for (int32_t i = 0; i < rq.n; i++) {
            int64_t v = rq.first + i;
            int rc;
            if (rq.use_ptr) {
                tt_item *it = tt_item_new(rq.tr, (long)v);
                rc = troupe_tell_ptr(sys, rq.to, M_PTR, it, tt_item_dtor);
                if (rc != 0)
                    tt_item_free(it);
            } else {
                rc = troupe_tell(sys, rq.to, M_VAL, &v, sizeof v);
            }
            if (rc != 0) {
                atomic_fetch_add(&sh->send_errors, 1);
                atomic_store(&sh->last_send_rc, rc);
            }
        }
        atomic_fetch_add(&sh->sends_done, 1);
        break;
    }
    default:
        tt_die("rx: type %u", m->type);
    }
    return 0;
}

static void s_rx(troupe_ctx *ctx, void *state, troupe_failure_kind why)
{
    (void)ctx;
    shared *sh = *(shared **)state;
    tt_note_stop(&sh->stops, &sh->stop_kind, why);
}

static const troupe_behaviour rx = {
    .name = "rx",
    .state_size = sizeof(void *),
    .init = tt_init_arg,
    .handle = h_rx,
    .stop = s_rx,
};

/* ---- helpers ------------------------------------------------------------------------- */

static troupe_system *sys_with(uint32_t workers, uint64_t block_timeout_ns)
{
    troupe_config cfg = tt_config(workers, NULL);
    cfg.block_timeout_ns = block_timeout_ns;
    return tt_system_cfg(&cfg);
}

static int tell_val(troupe_system *sys, troupe_ref to, int64_t v)
{
    return troupe_tell(sys, to, M_VAL, &v, sizeof v);
}

/* Hold the receiver in its gate: from now on its ring only fills. */
static void hold(troupe_system *sys, troupe_ref r, shared *sh)
{
    tt_hold(sys, r, M_GATE, &sh->gate);
}

/* Initialise sh (and tr, unless NULL) and spawn an rx receiver on them
 * with the given capacity and overflow policy. */
static troupe_ref spawn_rx(troupe_system *sys, shared *sh, tt_tracker *tr, uint32_t capacity,
                           int overflow)
{
    shared_init(sh);
    if (tr)
        tt_tracker_init(tr);
    troupe_spawn_opts o = tt_opts(capacity, overflow);
    return tt_spawn(sys, &rx, sh, &o);
}

/* Initialise sh and spawn an rx actor on it with the system's defaults. */
static troupe_ref spawn_plain(troupe_system *sys, shared *sh)
{
    shared_init(sh);
    return tt_spawn(sys, &rx, sh, NULL);
}

/* spawn_rx, then hold the receiver in its gate. */
static troupe_ref held_rx(troupe_system *sys, shared *sh, tt_tracker *tr, uint32_t capacity,
                          int overflow)
{
    troupe_ref r = spawn_rx(sys, sh, tr, capacity, overflow);
    hold(sys, r, sh);
    return r;
}

/* Destroy the system, then free sh (and tr, unless NULL). */
static void finish(troupe_system *sys, shared *sh, tt_tracker *tr)
{
    troupe_system_destroy(sys);
    shared_fini(sh);
    if (tr)
        tt_tracker_fini(tr);
}

/* Fill with pointer items valued first..first+n-1; every send must succeed. */
static void fill_ptr(troupe_system *sys, troupe_ref r, tt_tracker *tr, long first, int n)
{
    for (int i = 0; i < n; i++) {
        tt_item *it = tt_item_new(tr, first + i);
        int rc = troupe_tell_ptr(sys, r, M_PTR, it, tt_item_dtor);
        cr_assert_eq(rc, 0, "filling message %d of %d: %s", i + 1, n, troupe_errname(rc));
    }
}

/* The log holds exactly first, first+1, ..., first+n-1. */
static void expect_run(shared *sh, long first, size_t n)
{
    cr_expect_eq(tt_log_len(&sh->log), n);
    for (size_t i = 0; i < n; i++) {
        long got = tt_log_at(&sh->log, i);
        if (got != first + (long)i) {
            cr_expect_eq(got, first + (long)i, "position %zu", i);
            return;
        }
    }
}

/* Open sh's gate, wait until its log holds n values, probe r first if
 * `probe`, then expect the log to be first..first+n-1. */
static void release(troupe_system *sys, troupe_ref r, shared *sh, long first, size_t n, int probe)
{
    tt_gate_open(&sh->gate);
    wait_until(tt_log_len(&sh->log) == n);
    if (probe)
        tt_probe(sys, r);
    expect_run(sh, first, n);
}

/* ---- order and wrap-around ------------------------------------------------------------ */

static void stream_through(uint32_t capacity, long n, uint32_t workers)
{
    troupe_system *sys = sys_with(workers, HANG_LIMIT_NS);
    shared sh;
    troupe_ref r = spawn_rx(sys, &sh, NULL, capacity, TROUPE_OVERFLOW_BLOCK);
    cr_expect_eq(tt_stats(sys, r).capacity, capacity);
    for (long i = 0; i < n; i++) {
        int rc = tell_val(sys, r, i);
        cr_assert_eq(rc, 0, "message %ld: %s", i, troupe_errname(rc));
    }
    wait_until(tt_log_len(&sh.log) == (size_t)n);
    expect_run(&sh, 0, (size_t)n);
    troupe_mailbox_stats ms = tt_stats(sys, r);
    cr_expect_eq(ms.accepted, (uint64_t)n);
    cr_expect_eq(ms.handled, (uint64_t)n);
    cr_expect_eq(ms.dropped + ms.rejected + ms.redirected + ms.parked + ms.failed, 0u);
    finish(sys, &sh, NULL);
}

Test(mailbox, fifo_and_wrap_around_capacity_8)
{
    stream_through(8, tt_scaled(8 * 1000, 8 * 60), 2);
}

Test(mailbox, fifo_and_wrap_around_capacity_not_a_power_of_two)
{
    stream_through(5, tt_scaled(5 * 1000, 5 * 60), 2);
}

Test(mailbox, capacity_1_works)
{
    stream_through(1, tt_scaled(3000, 200), 2);
}

Test(mailbox, capacity_1_on_one_worker)
{
    stream_through(1, tt_scaled(2000, 200), 1);
}

Test(mailbox, capacity_1_holds_exactly_one)
{
    troupe_system *sys = sys_with(2, HANG_LIMIT_NS);
    shared sh;
    troupe_ref r = held_rx(sys, &sh, NULL, 1, TROUPE_OVERFLOW_REJECT);
    cr_expect_eq(tell_val(sys, r, 1), 0);
    cr_expect_eq(tell_val(sys, r, 2), TROUPE_EFULL);
    release(sys, r, &sh, 1, 1, 0);
    finish(sys, &sh, NULL);
}

/* ---- REJECT --------------------------------------------------------------------------------- */

Test(mailbox, reject_refuses_and_the_caller_keeps_the_payload)
{
    enum { C = 8 };
    troupe_system *sys = sys_with(2, HANG_LIMIT_NS);
    shared sh;
    tt_tracker tr;
    troupe_ref r = held_rx(sys, &sh, &tr, C, TROUPE_OVERFLOW_REJECT);
    fill_ptr(sys, r, &tr, 1, C);
    troupe_mailbox_stats ms = tt_stats(sys, r);
    cr_expect_eq(ms.depth, (uint32_t)C);
    cr_expect_eq(ms.rejected, 0u);

    tt_item *extra = tt_item_new(&tr, 100);
    cr_expect_eq(troupe_tell_ptr(sys, r, M_PTR, extra, tt_item_dtor), TROUPE_EFULL);
    cr_expect_eq(tt_destroyed(&tr), 0, "a refused payload is not destroyed");
    cr_expect_eq(extra->value, 100, "and still ours"); /* ASan: not freed */
    tt_item_free(extra);
    cr_expect_eq(tell_val(sys, r, 101), TROUPE_EFULL);
    cr_expect_eq(troupe_ask(sys, r, M_VAL, NULL, 0, ASK_FOREVER_NS, NULL, NULL, 0, NULL),
                 TROUPE_EFULL, "an ask meets the policy too");
    ms = tt_stats(sys, r);
    cr_expect_eq(ms.rejected, 3u);
    cr_expect_eq(ms.depth, (uint32_t)C);

    release(sys, r, &sh, 1, C, 0);
    /* Room again. */
    cr_expect_eq(tell_val(sys, r, C + 1), 0);
    wait_until(tt_log_len(&sh.log) == C + 1);
    cr_expect_eq(tt_destroyed(&tr), 0);
    finish(sys, &sh, &tr);
}

Test(mailbox, system_default_capacity_and_policy_apply)
{
    troupe_config cfg = tt_config(2, NULL);
    cfg.mailbox_capacity = 3;
    cfg.overflow = TROUPE_OVERFLOW_REJECT;
    troupe_system *sys = tt_system_cfg(&cfg);
    shared sh;
    troupe_ref r = spawn_plain(sys, &sh);
    cr_expect_eq(tt_stats(sys, r).capacity, 3u);
    hold(sys, r, &sh);
    for (int i = 0; i < 3; i++)
        cr_expect_eq(tell_val(sys, r, i), 0);
    cr_expect_eq(tell_val(sys, r, 3), TROUPE_EFULL);
    release(sys, r, &sh, 0, 3, 0);
    finish(sys, &sh, NULL);
}

/* ---- DROP_NEWEST / DROP_OLDEST ----------------------------------------------------------- */

Test(mailbox, drop_newest_destroys_the_incoming)
{
    enum { C = 8 };
    troupe_system *sys = sys_with(2, HANG_LIMIT_NS);
    shared sh;
    tt_tracker tr;
    troupe_ref r = held_rx(sys, &sh, &tr, C, TROUPE_OVERFLOW_DROP_NEWEST);
    fill_ptr(sys, r, &tr, 1, C);
    cr_expect_eq(troupe_tell_ptr(sys, r, M_PTR, tt_item_new(&tr, 100), tt_item_dtor), 0,
                 "DROP_NEWEST returns 0");
    cr_expect_eq(troupe_tell_ptr(sys, r, M_PTR, tt_item_new(&tr, 101), tt_item_dtor), 0);
    cr_expect_eq(tell_val(sys, r, 102), 0);
    wait_until(tt_destroyed(&tr) == 2);
    long *log;
    size_t n = tt_tracker_log(&tr, &log);
    cr_assert_eq(n, 2u);
    cr_expect_eq(log[0], 100);
    cr_expect_eq(log[1], 101);
    free(log);
    troupe_mailbox_stats ms = tt_stats(sys, r);
    cr_expect_eq(ms.dropped, 3u);
    cr_expect_eq(ms.rejected, 0u);
    cr_expect_eq(ms.depth, (uint32_t)C);

    release(sys, r, &sh, 1, C, 1);
    cr_expect_eq(tt_destroyed(&tr), 2);
    finish(sys, &sh, &tr);
}

Test(mailbox, drop_oldest_destroys_the_oldest_and_keeps_order)
{
    enum { C = 8 };
    troupe_system *sys = sys_with(2, HANG_LIMIT_NS);
    shared sh;
    tt_tracker tr;
    troupe_ref r = held_rx(sys, &sh, &tr, C, TROUPE_OVERFLOW_DROP_OLDEST);
    fill_ptr(sys, r, &tr, 1, C);
    /* Two more: 1 and 2 make room, C+1 and C+2 are kept. */
    cr_expect_eq(troupe_tell_ptr(sys, r, M_PTR, tt_item_new(&tr, C + 1), tt_item_dtor), 0);
    cr_expect_eq(troupe_tell_ptr(sys, r, M_PTR, tt_item_new(&tr, C + 2), tt_item_dtor), 0);
    wait_until(tt_destroyed(&tr) == 2);
    long *log;
    size_t n = tt_tracker_log(&tr, &log);
    cr_assert_eq(n, 2u);
    cr_expect_eq(log[0], 1, "the oldest goes first");
    cr_expect_eq(log[1], 2);
    free(log);
    troupe_mailbox_stats ms = tt_stats(sys, r);
    cr_expect_eq(ms.dropped, 2u);
    cr_expect_eq(ms.depth, (uint32_t)C);

    release(sys, r, &sh, 3, C, 1); /* 3 .. C+2, in order */
    cr_expect_eq(tt_destroyed(&tr), 2);
    finish(sys, &sh, &tr);
}

Test(mailbox, drop_oldest_many_times_the_capacity)
{
    enum { C = 4, EXTRA = 50 };
    troupe_system *sys = sys_with(2, HANG_LIMIT_NS);
    shared sh;
    tt_tracker tr;
    troupe_ref r = held_rx(sys, &sh, &tr, C, TROUPE_OVERFLOW_DROP_OLDEST);
    fill_ptr(sys, r, &tr, 1, C + EXTRA);
    wait_until(tt_destroyed(&tr) == EXTRA);
    long *log;
    size_t n = tt_tracker_log(&tr, &log);
    cr_assert_eq(n, (size_t)EXTRA);
    for (size_t i = 0; i < n; i++)
        cr_expect_eq(log[i], (long)i + 1, "drop order, position %zu", i);
    free(log);
    release(sys, r, &sh, EXTRA + 1, C, 1);
    cr_expect_eq(tt_stats(sys, r).dropped, (uint64_t)EXTRA);
    finish(sys, &sh, &tr);
}

/* ---- BLOCK from plain threads --------------------------------------------------------------- */

Test(mailbox, block_from_a_thread_times_out_and_the_caller_keeps_the_payload)
{
    enum { C = 4 };
    troupe_system *sys = sys_with(2, 2 * MS_NS);
    shared sh;
    tt_tracker tr;
    troupe_ref r = held_rx(sys, &sh, &tr, C, TROUPE_OVERFLOW_BLOCK);
    fill_ptr(sys, r, &tr, 1, C);
    /* The receiver cannot take anything before the gate opens: the send
     * must time out, whatever the timeout. */
    tt_item *extra = tt_item_new(&tr, 100);
    cr_expect_eq(troupe_tell_ptr(sys, r, M_PTR, extra, tt_item_dtor), TROUPE_ETIMEDOUT);
    cr_expect_eq(tt_destroyed(&tr), 0, "the caller keeps the payload");
    cr_expect_eq(extra->value, 100);
    tt_item_free(extra);
    cr_expect_eq(tt_stats(sys, r).rejected, 1u, "a BLOCK timeout counts as rejected");
    release(sys, r, &sh, 1, C, 1);
    finish(sys, &sh, &tr);
}

typedef struct blocker_arg {
    troupe_system *sys;
    troupe_ref to;
    long first, n;
    atomic_long sent; /* successful sends so far */
    atomic_long fails;
    tt_tracker *tr;
} blocker_arg;

static void *blocker(void *p)
{
    blocker_arg *a = p;
    for (long i = 0; i < a->n; i++) {
        tt_item *it = tt_item_new(a->tr, a->first + i);
        if (troupe_tell_ptr(a->sys, a->to, M_PTR, it, tt_item_dtor) == 0) {
            atomic_fetch_add(&a->sent, 1);
        } else {
            atomic_fetch_add(&a->fails, 1);
            tt_item_free(it);
        }
    }
    return NULL;
}

static void block_until_the_gate_opens(uint64_t block_timeout_ns)
{
    enum { C = 4, K = 20 };
    troupe_system *sys = sys_with(2, block_timeout_ns);
    shared sh;
    tt_tracker tr;
    troupe_ref r = held_rx(sys, &sh, &tr, C, TROUPE_OVERFLOW_BLOCK);
    blocker_arg a = {.sys = sys, .to = r, .first = 1, .n = C + K, .tr = &tr};
    atomic_init(&a.sent, 0);
    atomic_init(&a.fails, 0);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, blocker, &a), 0);
    wait_until(atomic_load(&a.sent) == C);
    /* Give the sender time to block on the full ring (not an assertion on
     * time: whatever it does meanwhile, it cannot get past the bound). */
    tt_sleep_ns(20 * MS_NS);
    cr_expect_eq(atomic_load(&a.sent), C, "a send got past a full BLOCK mailbox");
    cr_expect_eq(atomic_load(&a.fails), 0);
    cr_expect_eq(tt_stats(sys, r).depth, (uint32_t)C);
    tt_gate_open(&sh.gate);
    pthread_join(th, NULL);
    cr_expect_eq(atomic_load(&a.sent), C + K);
    cr_expect_eq(atomic_load(&a.fails), 0);
    wait_until(tt_log_len(&sh.log) == C + K);
    tt_probe(sys, r);
    expect_run(&sh, 1, C + K);
    troupe_mailbox_stats ms = tt_stats(sys, r);
    cr_expect_eq(ms.rejected + ms.dropped, 0u);
    cr_expect_eq(tt_destroyed(&tr), 0);
    finish(sys, &sh, &tr);
}

Test(mailbox, block_from_a_thread_succeeds_once_the_gate_opens)
{
    block_until_the_gate_opens(HANG_LIMIT_NS);
}

/* block_timeout_ns = UINT64_MAX is forever (mono_ns() + it wrapped: every
 * send to the full ring timed out at once). */
Test(mailbox, block_timeout_of_forever_waits_for_room)
{
    block_until_the_gate_opens(UINT64_MAX);
}

/* ---- BLOCK from actor senders: parked, muted, never blocked ------------------------------ */

Test(mailbox, block_from_an_actor_on_one_worker_parks_and_loses_nothing)
{
    /* One worker: while the sender's handler runs, the receiver cannot
     * run, so its ring fills after C sends. If a send blocked the worker
     * the test would hang (hang guard); per the contract it parks. */
    enum { C = 4, N = 3 * C + 1 };
    troupe_system *sys = sys_with(1, HANG_LIMIT_NS);
    shared srx, stx, so;
    troupe_ref r = spawn_rx(sys, &srx, NULL, C, TROUPE_OVERFLOW_BLOCK);
    troupe_ref s = spawn_plain(sys, &stx);
    troupe_ref other = spawn_plain(sys, &so);
    send_req rq = {.to = r, .first = 1, .n = N};
    cr_assert_eq(troupe_tell(sys, s, M_SEND, &rq, sizeof rq), 0);
    wait_until(atomic_load(&stx.sends_done) == 1);
    cr_expect_eq(atomic_load(&stx.send_errors), 0, "an actor's BLOCK send failed (rc %d)",
                 atomic_load(&stx.last_send_rc));
    wait_until(tt_log_len(&srx.log) == N);
    tt_probe(sys, r);
    expect_run(&srx, 1, N);
    troupe_mailbox_stats ms = tt_stats(sys, r);
    cr_expect_geq(ms.parked, 1u, "the sender was parked at least once");
    cr_expect_eq(ms.rejected + ms.dropped, 0u);
    cr_expect_eq(ms.depth, 0u);
    /* Everyone runs again: the sender is no longer muted. */
    tt_probe(sys, s);
    tt_probe(sys, other);
    cr_assert_eq(troupe_tell(sys, s, M_MARK, NULL, 0), 0);
    wait_until(tt_log_len(&stx.log) == 1);
    finish(sys, &srx, NULL);
    shared_fini(&stx);
    shared_fini(&so);
}

Test(mailbox, block_from_an_actor_mutes_the_sender_not_its_worker)
{
    /* Two workers: the receiver holds one in its gate. The sender overfills
     * it from the other; its last message is parked and it is muted: its
     * own mailbox is not served, but its worker still runs other actors. */
    enum { C = 4 };
    troupe_system *sys = sys_with(2, HANG_LIMIT_NS);
    shared srx, stx, so;
    tt_tracker tr;
    troupe_ref r = spawn_rx(sys, &srx, &tr, C, TROUPE_OVERFLOW_BLOCK);
    troupe_ref s = spawn_plain(sys, &stx);
    troupe_ref other = spawn_plain(sys, &so);
    hold(sys, r, &srx);

    send_req rq = {.to = r, .first = 1, .n = C + 1, .use_ptr = 1, .tr = &tr};
    cr_assert_eq(troupe_tell(sys, s, M_SEND, &rq, sizeof rq), 0);
    wait_until(atomic_load(&stx.sends_done) == 1); /* the handler returned: not blocked */
    cr_expect_eq(atomic_load(&stx.send_errors), 0, "rc %d", atomic_load(&stx.last_send_rc));
    /* a handler's parked burst reaches the receiver when the handler ends,
     * just after sends_done was set inside it */
    wait_until(tt_stats(sys, r).parked >= 1);
    troupe_mailbox_stats ms = tt_stats(sys, r);
    cr_expect_geq(ms.parked, 1u);
    cr_expect_eq(ms.depth, (uint32_t)C + 1, "depth counts the ring and the parked message");

    /* The sender is muted: a message to it waits. */
    cr_assert_eq(troupe_tell(sys, s, M_MARK, NULL, 0), 0);
    /* The free worker still runs other actors. */
    for (int i = 0; i < 5; i++)
        tt_probe(sys, other);
    cr_assert_eq(troupe_tell(sys, other, M_MARK, NULL, 0), 0);
    wait_until(tt_log_len(&so.log) == 1);
    cr_expect_eq(tt_log_len(&stx.log), 0u, "a muted sender ran");

    /* Open the gate: the receiver takes everything, in order, the sender
     * is unmuted and handles its message. */
    release(sys, r, &srx, 1, C + 1, 0);
    wait_until(tt_log_len(&stx.log) == 1);
    cr_expect_eq(tt_log_at(&stx.log, 0), -1);
    cr_expect_eq(tt_destroyed(&tr), 0);
    finish(sys, &srx, &tr);
    shared_fini(&stx);
    shared_fini(&so);
}

Test(mailbox, block_self_send_overflow_does_not_deadlock)
{
    /* An actor overfilling its own BLOCK mailbox: it is both the muted
     * sender and the receiver that must take the parked messages. */
    enum { C = 4, N = 4 * C };
    troupe_system *sys = sys_with(1, HANG_LIMIT_NS);
    shared sh;
    troupe_ref r = spawn_rx(sys, &sh, NULL, C, TROUPE_OVERFLOW_BLOCK);
    send_req rq = {.to = r, .first = 1, .n = N};
    cr_assert_eq(troupe_tell(sys, r, M_SEND, &rq, sizeof rq), 0);
    wait_until(atomic_load(&sh.sends_done) == 1);
    cr_expect_eq(atomic_load(&sh.send_errors), 0, "rc %d", atomic_load(&sh.last_send_rc));
    wait_until(tt_log_len(&sh.log) == N);
    expect_run(&sh, 1, N);
    tt_probe(sys, r);
    finish(sys, &sh, NULL);
}

Test(mailbox, block_mutual_overflow_between_two_actors_completes)
{
    /* a and b each overfill the other's BLOCK mailbox from one handler, on
     * one worker: a parks into b and is muted; b then runs (its ring still
     * full of a's messages), parks into a and is muted too. Neither may
     * stay muted forever: the contract is "loses nothing", not "stalls". */
    enum { C = 4, N = 3 * C };
    troupe_system *sys = sys_with(1, HANG_LIMIT_NS);
    shared sa, sb, sg;
    troupe_ref g = spawn_plain(sys, &sg);
    troupe_ref a = spawn_rx(sys, &sa, NULL, C, TROUPE_OVERFLOW_BLOCK);
    troupe_ref b = spawn_rx(sys, &sb, NULL, C, TROUPE_OVERFLOW_BLOCK);
    /* Hold the worker so that both requests are queued before either runs. */
    hold(sys, g, &sg);
    send_req ra = {.to = b, .first = 1, .n = N};
    send_req rb = {.to = a, .first = 1, .n = N};
    cr_assert_eq(troupe_tell(sys, a, M_SEND, &ra, sizeof ra), 0);
    cr_assert_eq(troupe_tell(sys, b, M_SEND, &rb, sizeof rb), 0);
    tt_gate_open(&sg.gate);
    wait_until(atomic_load(&sa.sends_done) == 1 && atomic_load(&sb.sends_done) == 1);
    cr_expect_eq(atomic_load(&sa.send_errors) + atomic_load(&sb.send_errors), 0);
    wait_until(tt_log_len(&sa.log) == N && tt_log_len(&sb.log) == N);
    expect_run(&sa, 1, N);
    expect_run(&sb, 1, N);
    finish(sys, &sa, NULL);
    shared_fini(&sb);
    shared_fini(&sg);
}

/* ---- REDIRECT ---------------------------------------------------------------------------------- */

Test(mailbox, redirect_to_an_actor)
{
    enum { C = 4 };
    troupe_system *sys = sys_with(2, HANG_LIMIT_NS);
    shared srx, stg;
    tt_tracker tr;
    troupe_ref target = spawn_plain(sys, &stg);
    shared_init(&srx);
    tt_tracker_init(&tr);
    troupe_spawn_opts o = tt_opts(C, TROUPE_OVERFLOW_REDIRECT);
    o.redirect_to = target;
    troupe_ref r = tt_spawn(sys, &rx, &srx, &o);
    hold(sys, r, &srx);
    for (int i = 1; i <= C; i++)
        cr_assert_eq(tell_val(sys, r, i), 0);
    cr_expect_eq(tell_val(sys, r, 100), 0);
    cr_expect_eq(tell_val(sys, r, 101), 0);
    cr_expect_eq(troupe_tell_ptr(sys, r, M_PTR, tt_item_new(&tr, 102), tt_item_dtor), 0);
    wait_until(tt_log_len(&stg.log) == 3);
    expect_run(&stg, 100, 3);
    troupe_mailbox_stats ms = tt_stats(sys, r);
    cr_expect_eq(ms.redirected, 3u);
    cr_expect_eq(ms.rejected + ms.dropped, 0u);
    cr_expect_eq(tt_destroyed(&tr), 0, "the target took the pointer");
    release(sys, r, &srx, 1, C, 0);
    finish(sys, &srx, &tr);
    shared_fini(&stg);
}

Test(mailbox, redirect_to_the_dead_letter_actor)
{
    enum { C = 4 };
    troupe_system *sys = sys_with(2, HANG_LIMIT_NS);
    shared srx;
    tt_tracker tr;
    /* redirect_to NONE */
    troupe_ref r = spawn_rx(sys, &srx, &tr, C, TROUPE_OVERFLOW_REDIRECT);
    uint64_t before = tt_sys_stats(sys).dead_letters;
    hold(sys, r, &srx);
    for (int i = 1; i <= C; i++)
        cr_assert_eq(tell_val(sys, r, i), 0);
    cr_expect_eq(troupe_tell_ptr(sys, r, M_PTR, tt_item_new(&tr, 100), tt_item_dtor), 0);
    cr_expect_eq(tell_val(sys, r, 101), 0);
    wait_until(tt_sys_stats(sys).dead_letters == before + 2);
    wait_until(tt_destroyed(&tr) == 1); /* the dead-letter actor destroys it */
    cr_expect_eq(tt_stats(sys, r).redirected, 2u);
    release(sys, r, &srx, 1, C, 1);
    cr_expect_eq(tt_sys_stats(sys).dead_letters, before + 2);
    troupe_system_destroy(sys);
    cr_expect_eq(tt_destroyed(&tr), 1);
    shared_fini(&srx);
    tt_tracker_fini(&tr);
}

/* ---- a full mailbox still takes its stop ----------------------------------------------------- */

Test(mailbox, stop_reaches_a_full_mailbox_and_queued_payloads_are_destroyed)
{
    enum { C = 4 };
    troupe_system *sys = sys_with(2, HANG_LIMIT_NS);
    shared sh;
    tt_tracker tr;
    troupe_ref r = held_rx(sys, &sh, &tr, C, TROUPE_OVERFLOW_REJECT);
    fill_ptr(sys, r, &tr, 1, C);
    cr_assert_eq(tell_val(sys, r, 99), TROUPE_EFULL);
    cr_expect_eq(troupe_stop(sys, r), 0, "the system lane has no bound");
    tt_gate_open(&sh.gate);
    tt_wait_dead(sys, r);
    /* The run in progress may finish its batch; whatever it did not
     * handle is destroyed by the stop. Each payload exactly one way. */
    wait_until(tt_log_len(&sh.log) + (size_t)tt_destroyed(&tr) == C);
    wait_until(atomic_load(&sh.stops) == 1);
    cr_expect_eq(atomic_load(&sh.stop_kind), TROUPE_EXIT_NORMAL);
    size_t handled = tt_log_len(&sh.log);
    troupe_system_destroy(sys);
    cr_expect_eq(handled + (size_t)tt_destroyed(&tr), (size_t)C);
    expect_run(&sh, 1, handled);
    shared_fini(&sh);
    tt_tracker_fini(&tr);
}

/* ---- many producers to one actor -------------------------------------------------------------- */

enum { P = 4 };

typedef struct mp_arg {
    troupe_system *sys;
    troupe_ref to;
    int src;
    long n;
    long fails;
} mp_arg;

static void *mp_producer(void *p)
{
    mp_arg *a = p;
    for (long i = 0; i < a->n; i++) {
        /* value = src * 1e9 + seq: the receiver splits it back */
        int64_t v = (int64_t)a->src * 1000000000ll + i;
        if (troupe_tell(a->sys, a->to, M_VAL, &v, sizeof v) != 0)
            a->fails++;
    }
    return NULL;
}

static void many_producers(uint32_t capacity)
{
    troupe_system *sys = sys_with(2, HANG_LIMIT_NS);
    shared sh;
    troupe_ref r = spawn_rx(sys, &sh, NULL, capacity, TROUPE_OVERFLOW_BLOCK);
    long n = tt_scaled(5000, 300);
    pthread_t th[P];
    mp_arg a[P];
    for (int i = 0; i < P; i++) {
        a[i] = (mp_arg){sys, r, i, n, 0};
        cr_assert_eq(pthread_create(&th[i], NULL, mp_producer, &a[i]), 0);
    }
    for (int i = 0; i < P; i++) {
        pthread_join(th[i], NULL);
        cr_expect_eq(a[i].fails, 0);
    }
    wait_until(tt_log_len(&sh.log) == (size_t)(P * n));
    tt_probe(sys, r);
    cr_assert_eq(tt_log_len(&sh.log), (size_t)(P * n), "total exact");
    long next[P] = {0};
    long order_errors = 0;
    for (size_t i = 0; i < (size_t)(P * n); i++) {
        long v = tt_log_at(&sh.log, i);
        int src = (int)(v / 1000000000l);
        long seq = v % 1000000000l;
        cr_assert(src >= 0 && src < P);
        if (seq != next[src])
            order_errors++;
        next[src] = seq + 1;
    }
    cr_expect_eq(order_errors, 0, "per-producer order");
    for (int i = 0; i < P; i++)
        cr_expect_eq(next[i], n);
    troupe_mailbox_stats ms = tt_stats(sys, r);
    cr_expect_eq(ms.accepted, (uint64_t)(P * n + 1));
    cr_expect_eq(ms.rejected + ms.dropped + ms.redirected, 0u);
    finish(sys, &sh, NULL);
}

Test(mailbox, many_producers_small_mailbox)
{
    many_producers(16);
}

Test(mailbox, many_producers_capacity_1)
{
    many_producers(1);
}

Test(mailbox, many_producers_default_mailbox)
{
    many_producers(0);
}

/* ---- a muted sender still takes its stop -------------------------------------------------------- */

Test(mailbox, stop_reaches_a_muted_sender_while_its_receiver_is_held)
{
    /* The sender overfills a gated BLOCK receiver and is suspended (muted)
     * with a message parked there. A stop must not wait for the receiver:
     * the system lane takes a suspended actor back. */
    enum { C = 4 };
    troupe_system *sys = sys_with(2, HANG_LIMIT_NS);
    shared srx, stx;
    troupe_ref r = spawn_rx(sys, &srx, NULL, C, TROUPE_OVERFLOW_BLOCK);
    troupe_ref s = spawn_plain(sys, &stx);
    hold(sys, r, &srx);
    send_req rq = {.to = r, .first = 1, .n = C + 1};
    cr_assert_eq(troupe_tell(sys, s, M_SEND, &rq, sizeof rq), 0);
    wait_until(atomic_load(&stx.sends_done) == 1);
    /* the parked burst is pushed when the handler ends (after sends_done) */
    wait_until(tt_stats(sys, r).parked >= 1);
    cr_expect_geq(tt_stats(sys, r).parked, 1u, "the sender was muted");
    cr_assert_eq(troupe_stop(sys, s), 0);
    wait_until(atomic_load(&stx.stops) == 1); /* while the receiver is still held */
    cr_expect_eq(atomic_load(&stx.stop_kind), TROUPE_EXIT_NORMAL);
    /* the stop callback runs before the mailbox closes: dead comes after */
    tt_wait_dead(sys, s);
    tt_gate_open(&srx.gate);
    wait_until(tt_log_len(&srx.log) == C + 1); /* the parked message was not lost */
    expect_run(&srx, 1, C + 1);
    finish(sys, &srx, NULL);
    shared_fini(&stx);
}

/* ---- a slot's ring is kept for its next actor ------------------------------------------ */

/* Actors that reuse one slot (the table reuses the last freed index first)
 * reuse its ring when the capacity fits, and get a new one when it does
 * not: each sees exactly its own messages, in order, and its own counts,
 * although the ring is not zeroed between them (positions go on). */
Test(mailbox, a_reused_slot_keeps_its_ring_and_counts_only_its_own)
{
    troupe_system *sys = sys_with(2, HANG_LIMIT_NS);
    const uint32_t caps[5] = {8, 8, 100, 100, 8};
    const long sends[5] = {13, 5, 250, 1, 21};
    uint32_t index = 0;
    for (int k = 0; k < 5; k++) {
        shared sh;
        troupe_ref r = spawn_rx(sys, &sh, NULL, caps[k], TROUPE_OVERFLOW_BLOCK);
        if (k > 0)
            cr_assert_eq((uint32_t)r.id, index, "the slot is reused");
        index = (uint32_t)r.id;
        for (long i = 0; i < sends[k]; i++)
            cr_assert_eq(tell_val(sys, r, 1000 * k + i), 0);
        wait_until(tt_log_len(&sh.log) == (size_t)sends[k]);
        expect_run(&sh, 1000 * k, (size_t)sends[k]);
        troupe_mailbox_stats ms = tt_stats(sys, r);
        cr_expect_eq(ms.accepted, (uint64_t)sends[k], "actor %d accepted", k);
        cr_expect_eq(ms.handled, (uint64_t)sends[k]);
        cr_expect_eq(ms.depth, 0u);
        cr_assert_eq(troupe_stop(sys, r), 0);
        /* dead (closed) comes first; the slot returns to the table just
         * before the live count drops */
        wait_until(tt_sys_stats(sys).actors_live == 0);
        shared_fini(&sh);
    }
    troupe_system_destroy(sys);
}

/* ---- DROP_OLDEST under contention ------------------------------------------------------------ */

enum { DO_SENDERS = 16, DO_CAP = 1 };
#define DO_SPLIT 1000000000l /* value = sender * DO_SPLIT + seq */

typedef struct do_arg {
    troupe_system *sys;
    troupe_ref to;
    tt_tracker *tr;
    int src;
    long n;
    long fails;
} do_arg;

static void *do_sender(void *p)
{
    do_arg *a = p;
    for (long i = 0; i < a->n; i++) {
        tt_item *it = tt_item_new(a->tr, a->src * DO_SPLIT + i);
        if (troupe_tell_ptr(a->sys, a->to, M_PTR, it, tt_item_dtor) != 0) {
            tt_item_free(it);
            a->fails++;
        }
    }
    return NULL;
}

/* Per sender: every dropped message is older than every kept one (the
 * kept ones are a suffix of what it sent, in order). */
static void expect_drops_older_than_kept(long *dropped, size_t nd, shared *sh, long n)
{
    long max_dropped[DO_SENDERS], min_kept[DO_SENDERS], last_kept[DO_SENDERS];
    for (int s = 0; s < DO_SENDERS; s++)
        max_dropped[s] = -1, min_kept[s] = n, last_kept[s] = -1;
    for (size_t i = 0; i < nd; i++) {
        int s = (int)(dropped[i] / DO_SPLIT);
        long seq = dropped[i] % DO_SPLIT;
        if (seq > max_dropped[s])
            max_dropped[s] = seq;
    }
    for (size_t i = 0; i < tt_log_len(&sh->log); i++) {
        long v = tt_log_at(&sh->log, i);
        int s = (int)(v / DO_SPLIT);
        long seq = v % DO_SPLIT;
        cr_expect_gt(seq, last_kept[s], "sender %d: kept messages in order", s);
        last_kept[s] = seq;
        if (seq < min_kept[s])
            min_kept[s] = seq;
    }
    for (int s = 0; s < DO_SENDERS; s++)
        cr_expect_lt(max_dropped[s], min_kept[s],
                     "sender %d: message %ld was dropped but the older %ld was kept", s,
                     max_dropped[s], min_kept[s]);
}

/* Many threads hammer a tiny DROP_OLDEST mailbox whose receiver is held:
 * every send gets in, and each makes room by destroying the oldest queued
 * message — never the incoming one — so what is left at the end is the
 * newest, and the counts are exact. */
Test(mailbox, drop_oldest_under_contention_always_drops_the_oldest)
{
    troupe_system *sys = sys_with(2, HANG_LIMIT_NS);
    shared sh;
    tt_tracker tr;
    troupe_ref r = held_rx(sys, &sh, &tr, DO_CAP, TROUPE_OVERFLOW_DROP_OLDEST);
    long n = tt_scaled(20000, 2000);
    pthread_t th[DO_SENDERS];
    do_arg a[DO_SENDERS];
    for (int i = 0; i < DO_SENDERS; i++) {
        a[i] = (do_arg){sys, r, &tr, i, n, 0};
        cr_assert_eq(pthread_create(&th[i], NULL, do_sender, &a[i]), 0);
    }
    for (int i = 0; i < DO_SENDERS; i++) {
        pthread_join(th[i], NULL);
        cr_expect_eq(a[i].fails, 0);
    }
    long total = DO_SENDERS * n;
    troupe_mailbox_stats ms = tt_stats(sys, r);
    cr_expect_eq(ms.accepted, (uint64_t)total + 1, "every send entered the ring (+ the gate)");
    cr_expect_eq(ms.dropped, (uint64_t)(total - DO_CAP), "one oldest dropped per send past full");
    cr_expect_eq(tt_destroyed(&tr), total - DO_CAP);
    tt_gate_open(&sh.gate);
    wait_until(tt_log_len(&sh.log) + (size_t)tt_destroyed(&tr) >= (size_t)total);
    tt_probe(sys, r);
    cr_expect_eq(tt_log_len(&sh.log), (size_t)DO_CAP, "the newest are kept");
    ms = tt_stats(sys, r);
    cr_expect_eq(ms.accepted, ms.handled + ms.dropped, "accepted = handled + dropped");
    long *dropped;
    size_t nd = tt_tracker_log(&tr, &dropped);
    expect_drops_older_than_kept(dropped, nd, &sh, n);
    free(dropped);
    finish(sys, &sh, &tr);
}

/* The same with a receiver that keeps taking: nothing is lost or counted
 * twice, and each sender's messages are handled in order. */
Test(mailbox, drop_oldest_under_contention_counts_exactly_while_draining)
{
    troupe_system *sys = sys_with(2, HANG_LIMIT_NS);
    shared sh;
    tt_tracker tr;
    troupe_ref r = spawn_rx(sys, &sh, &tr, DO_CAP, TROUPE_OVERFLOW_DROP_OLDEST);
    long n = tt_scaled(20000, 2000);
    pthread_t th[DO_SENDERS];
    do_arg a[DO_SENDERS];
    for (int i = 0; i < DO_SENDERS; i++) {
        a[i] = (do_arg){sys, r, &tr, i, n, 0};
        cr_assert_eq(pthread_create(&th[i], NULL, do_sender, &a[i]), 0);
    }
    for (int i = 0; i < DO_SENDERS; i++) {
        pthread_join(th[i], NULL);
        cr_expect_eq(a[i].fails, 0);
    }
    long total = DO_SENDERS * n;
    wait_until(tt_log_len(&sh.log) + (size_t)tt_destroyed(&tr) >= (size_t)total);
    tt_probe(sys, r);
    troupe_mailbox_stats ms = tt_stats(sys, r);
    cr_expect_eq(ms.accepted, (uint64_t)total + 1, "every send entered the ring (+ the probe)");
    cr_expect_eq(tt_log_len(&sh.log) + (size_t)tt_destroyed(&tr), (size_t)total);
    cr_expect_eq(ms.dropped, (uint64_t)tt_destroyed(&tr));
    cr_expect_eq(ms.handled, (uint64_t)tt_log_len(&sh.log) + 1);
    long last[DO_SENDERS];
    for (int s = 0; s < DO_SENDERS; s++)
        last[s] = -1;
    for (size_t i = 0; i < tt_log_len(&sh.log); i++) {
        long v = tt_log_at(&sh.log, i);
        cr_expect_gt(v % DO_SPLIT, last[v / DO_SPLIT], "per-sender order");
        last[v / DO_SPLIT] = v % DO_SPLIT;
    }
    finish(sys, &sh, &tr);
}
