/* tests/core/test_destroy.c — shutdown and destroy with work in flight:
 * every payload destroyed exactly once, nothing leaked (ASan runs this). */
#include "../support.h"

enum {
    M_GATE = 1,
    M_PTR,    /* pointer payload: count, do not take (the runtime destroys it) */
    M_BYTES,  /* copied payload: count */
    M_SEND,   /* tell `n` tracked pointers to `to` */
    M_ASK,    /* troupe_ask_async `to` with a long timeout */
    M_HOLD,   /* ask: gate, then reply */
};

typedef struct shared {
    tt_gate gate;
    atomic_int handled;
    atomic_int stops;
    atomic_int stop_kind;
    atomic_int send_errors;
    atomic_int sends_done;
    atomic_int replies;
    atomic_int reply_rc;
} shared;

static void shared_init(shared *s)
{
    memset(s, 0, sizeof *s);
    tt_gate_init(&s->gate);
    atomic_init(&s->stop_kind, -1);
    atomic_init(&s->reply_rc, 12345);
}

typedef struct send_req {
    troupe_ref to;
    int n;
    tt_tracker *tr;
} send_req;

static int h_x(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    shared *sh = *(shared **)state;
    if (tt_is_probe(ctx, m))
        return 0;
    switch (m->type) {
    case M_GATE:
        tt_gate_wait(&sh->gate);
        return 0;
    case M_PTR:
    case M_BYTES:
        atomic_fetch_add(&sh->handled, 1);
        return 0;
    case M_SEND: {
        send_req rq;
        memcpy(&rq, m->data, sizeof rq);
        for (int i = 0; i < rq.n; i++) {
            tt_item *it = tt_item_new(rq.tr, i);
            if (troupe_tell_ptr(troupe_ctx_system(ctx), rq.to, M_PTR, it, tt_item_dtor) != 0) {
                atomic_fetch_add(&sh->send_errors, 1);
                tt_item_free(it);
            }
        }
        atomic_fetch_add(&sh->sends_done, 1);
        return 0;
    }
    case M_ASK: {
        troupe_ref to;
        memcpy(&to, m->data, sizeof to);
        if (troupe_ask_async(ctx, to, M_HOLD, NULL, 0, 1000 * S_NS, NULL) != 0)
            atomic_fetch_add(&sh->send_errors, 1);
        atomic_fetch_add(&sh->sends_done, 1);
        return 0;
    }
    case M_HOLD:
        tt_gate_wait(&sh->gate);
        atomic_store(&sh->reply_rc, troupe_reply(ctx, M_HOLD, "r", 1));
        atomic_fetch_add(&sh->replies, 1);
        return 0;
    }
    atomic_fetch_add(&sh->handled, 1);
    return 0;
}

static void s_x(troupe_ctx *ctx, void *state, troupe_failure_kind why)
{
    (void)ctx;
    shared *sh = *(shared **)state;
    tt_note_stop(&sh->stops, &sh->stop_kind, why);
}

static const troupe_behaviour xb = {
    .name = "x",
    .state_size = sizeof(void *),
    .init = tt_init_arg,
    .handle = h_x,
    .stop = s_x,
};

enum { NX = 4, PER = 50 };

/* Queue pointer, inline and heap-copied payloads to NX actors while the
 * only worker is held by g. */
static long queue_work(troupe_system *sys, troupe_ref *x, tt_tracker *tr)
{
    char big[1000];
    memset(big, 'b', sizeof big);
    long ptrs = 0;
    for (int i = 0; i < NX; i++)
        for (int k = 0; k < PER; k++) {
            cr_assert_eq(troupe_tell_ptr(sys, x[i], M_PTR, tt_item_new(tr, k), tt_item_dtor), 0);
            ptrs++;
            cr_assert_eq(troupe_tell(sys, x[i], M_BYTES, big, 8), 0);           /* inline */
            cr_assert_eq(troupe_tell(sys, x[i], M_BYTES, big, sizeof big), 0); /* heap */
        }
    return ptrs;
}

/* Initialise sh and spawn an xb actor on it (system defaults). */
static troupe_ref spawn_x(troupe_system *sys, shared *sh)
{
    shared_init(sh);
    return tt_spawn(sys, &xb, sh, NULL);
}

/* g (on sg) holds the only worker in its gate while NX actors (on sx)
 * get queue_work() tracked by tr. Returns the number of pointer payloads. */
static long held_with_work(troupe_system *sys, shared *sg, shared *sx, tt_tracker *tr)
{
    tt_tracker_init(tr);
    troupe_ref g = spawn_x(sys, sg);
    troupe_ref x[NX];
    for (int i = 0; i < NX; i++)
        x[i] = spawn_x(sys, &sx[i]);
    tt_hold(sys, g, M_GATE, &sg->gate);
    return queue_work(sys, x, tr);
}

/* After destroy: each of the NX actors saw its stop once; free all. */
static void expect_stopped_and_fini(shared *sg, shared *sx, tt_tracker *tr)
{
    for (int i = 0; i < NX; i++) {
        cr_expect_eq(atomic_load(&sx[i].stops), 1);
        tt_gate_destroy(&sx[i].gate);
    }
    tt_gate_destroy(&sg->gate);
    tt_tracker_fini(tr);
}

Test(destroy, queued_payloads_destroyed_once_after_a_timed_out_shutdown)
{
    troupe_system *sys = tt_system(1);
    shared sg, sx[NX];
    tt_tracker tr;
    long ptrs = held_with_work(sys, &sg, sx, &tr);

    /* g cannot stop while held: the shutdown times out. */
    cr_expect_eq(troupe_system_shutdown(sys, 1 * MS_NS), TROUPE_ETIMEDOUT);
    tt_gate_open(&sg.gate);
    troupe_system_destroy(sys);

    cr_expect_eq(tt_destroyed(&tr), ptrs, "every pointer payload destroyed exactly once");
    for (int i = 0; i < NX; i++) {
        cr_expect_eq(atomic_load(&sx[i].handled), 0,
                     "actor %d: its stop comes before its user messages", i);
        cr_expect_eq(atomic_load(&sx[i].stops), 1, "actor %d: stop callback once", i);
        cr_expect_eq(atomic_load(&sx[i].stop_kind), TROUPE_EXIT_SHUTDOWN);
        tt_gate_destroy(&sx[i].gate);
    }
    cr_expect_eq(atomic_load(&sg.stops), 1);
    tt_gate_destroy(&sg.gate);
    tt_tracker_fini(&tr);
}

Test(destroy, shutdown_accounts_for_every_queued_message)
{
    troupe_system *sys = tt_system(1);
    shared sg, sx[NX];
    tt_tracker tr;
    long ptrs = held_with_work(sys, &sg, sx, &tr);
    long total = ptrs * 3; /* each round: one pointer, one inline, one heap */
    troupe_system_stats before = tt_sys_stats(sys);

    /* Let the worker go, then shut down at once: any message is either
     * handled or destroyed by the shutdown, never both, never neither. */
    tt_gate_open(&sg.gate);
    cr_assert_eq(troupe_system_shutdown(sys, HANG_LIMIT_NS), 0);
    long handled = 0;
    for (int i = 0; i < NX; i++)
        handled += atomic_load(&sx[i].handled);
    troupe_system_stats after = tt_sys_stats(sys);
    cr_expect_eq((long)(after.messages_destroyed - before.messages_destroyed), total - handled,
                 "handled %ld of %ld", handled, total);
    cr_expect_eq(tt_destroyed(&tr), ptrs, "pointer payloads: destroyed once, handled or not");
    cr_expect_eq(after.actors_live, 0u);
    troupe_system_destroy(sys);
    cr_expect_eq(tt_destroyed(&tr), ptrs);
    expect_stopped_and_fini(&sg, sx, &tr);
}

Test(destroy, destroy_right_after_opening_the_gate)
{
    troupe_system *sys = tt_system(1);
    shared sg, sx[NX];
    tt_tracker tr;
    long ptrs = held_with_work(sys, &sg, sx, &tr);
    tt_gate_open(&sg.gate);
    troupe_system_destroy(sys); /* races the worker on purpose */
    cr_expect_eq(tt_destroyed(&tr), ptrs);
    expect_stopped_and_fini(&sg, sx, &tr);
}

Test(destroy, parked_messages_are_destroyed_once)
{
    enum { C = 2, N = 10 };
    troupe_system *sys = tt_system(2);
    shared sr, ss;
    shared_init(&sr);
    tt_tracker tr;
    tt_tracker_init(&tr);
    troupe_spawn_opts o = tt_opts(C, TROUPE_OVERFLOW_BLOCK);
    troupe_ref r = tt_spawn(sys, &xb, &sr, &o);
    troupe_ref s = spawn_x(sys, &ss);
    tt_hold(sys, r, M_GATE, &sr.gate);
    send_req rq = {r, N, &tr};
    cr_assert_eq(troupe_tell(sys, s, M_SEND, &rq, sizeof rq), 0);
    wait_until(atomic_load(&ss.sends_done) == 1);
    cr_expect_eq(atomic_load(&ss.send_errors), 0);
    /* the parked burst is pushed when the sender's handler ends, just after
     * sends_done was set inside it */
    wait_until(tt_stats(sys, r).depth == (uint32_t)N);
    uint32_t depth = tt_stats(sys, r).depth;
    cr_expect_eq(depth, (uint32_t)N, "depth is ring + parked: %u", depth);
    cr_expect_eq(troupe_system_shutdown(sys, 1 * MS_NS), TROUPE_ETIMEDOUT);
    tt_gate_open(&sr.gate);
    troupe_system_destroy(sys);
    cr_expect_eq(tt_destroyed(&tr), N, "ring and parked payloads destroyed exactly once");
    cr_expect_leq(atomic_load(&sr.handled), N);
    tt_gate_destroy(&sr.gate);
    tt_gate_destroy(&ss.gate);
    tt_tracker_fini(&tr);
}

Test(destroy, pending_async_ask_and_late_reply_after_shutdown)
{
    troupe_clock *clk;
    troupe_system *sys = tt_system_manual(2, 0, &clk);
    shared sc, ss;
    troupe_ref c = spawn_x(sys, &sc);
    troupe_ref s = spawn_x(sys, &ss);
    cr_assert_eq(troupe_tell(sys, c, M_ASK, &s, sizeof s), 0);
    wait_until(tt_gate_waiting(&ss.gate) == 1);
    cr_expect_eq(atomic_load(&sc.send_errors), 0);
    /* A pending ask (with its timeout timer) and a held reply at shutdown. */
    cr_expect_eq(troupe_system_shutdown(sys, 1 * MS_NS), TROUPE_ETIMEDOUT);
    tt_gate_open(&ss.gate);
    wait_until(atomic_load(&ss.replies) == 1);
    /* The asker is gone: the reply is dropped (0 or a clean error). */
    int rc = atomic_load(&ss.reply_rc);
    cr_expect(rc == 0 || rc == TROUPE_ENOACTOR || rc == TROUPE_ESHUTDOWN, "reply: %s",
              troupe_errname(rc));
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
    tt_gate_destroy(&sc.gate);
    tt_gate_destroy(&ss.gate);
}

Test(destroy, messages_destroyed_counts_only_messages)
{
    /* Repeated stop requests are control signals, not messages: only the
     * three user messages are destroyed undelivered. */
    troupe_system *sys = tt_system(1);
    shared sg, sx;
    troupe_ref g = spawn_x(sys, &sg);
    troupe_ref x = spawn_x(sys, &sx);
    tt_hold(sys, g, M_GATE, &sg.gate);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(troupe_tell(sys, x, M_BYTES, "m", 1), 0);
    uint64_t before = tt_sys_stats(sys).messages_destroyed;
    for (int i = 0; i < 3; i++) {
        int rc = troupe_stop(sys, x);
        cr_expect(rc == 0 || rc == TROUPE_ENOACTOR);
    }
    tt_gate_open(&sg.gate);
    tt_wait_dead(sys, x);
    wait_until(atomic_load(&sx.stops) == 1);
    /* not alive (CLOSED) comes before its queue is drained; the live count
     * drops last, once the actor is completely finished */
    wait_until(tt_sys_stats(sys).actors_live == 1);
    cr_expect_eq(atomic_load(&sx.handled), 0, "the stop is served first");
    uint64_t destroyed = tt_sys_stats(sys).messages_destroyed - before;
    cr_expect_eq(destroyed, 3u, "only the 3 user messages count as destroyed, not %lu",
                 (unsigned long)destroyed);
    troupe_system_destroy(sys);
    tt_gate_destroy(&sg.gate);
    tt_gate_destroy(&sx.gate);
}

Test(destroy, many_idle_actors)
{
    troupe_system *sys = tt_system(2);
    enum { N = 2000 };
    shared sh;
    shared_init(&sh);
    for (int i = 0; i < N; i++) {
        troupe_ref r = tt_spawn(sys, &xb, &sh, NULL);
        if (i % 2 == 0) /* half of them with a mailbox allocated */
            cr_assert_eq(troupe_tell(sys, r, M_BYTES, "x", 1), 0);
    }
    cr_expect_eq(tt_sys_stats(sys).actors_live, (uint64_t)N);
    troupe_system_destroy(sys);
    cr_expect_eq(atomic_load(&sh.stops), N);
    tt_gate_destroy(&sh.gate);
}

Test(destroy, create_destroy_cycles)
{
    for (int i = 0; i < 20; i++) {
        troupe_system *sys = tt_system((uint32_t)(i % 3) + 1);
        shared sh;
        troupe_ref r = spawn_x(sys, &sh);
        cr_assert_eq(troupe_tell(sys, r, M_BYTES, "x", 1), 0);
        if (i % 2)
            tt_probe(sys, r);
        troupe_system_destroy(sys);
        cr_expect_eq(atomic_load(&sh.stops), 1);
        tt_gate_destroy(&sh.gate);
    }
}
