/* tests/core/test_async.c — troupe/async.h: calls by callback and through
 * call queues (an epoll loop on the queue's eventfd), deferred replies,
 * asks failed fast (panic, stop, escalation), truncation, views (read from
 * many threads while the actor publishes), and bad input. */
#include "../support.h"

#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

enum {
    M_ECHO = 1, /* ask: reply with the payload */
    M_DEFER,    /* ask: defer, keep the token in the shared struct */
    M_FLUSH,    /* tell: answer the kept token (payload: int64) */
    M_PANIC,    /* panic */
    M_BLOCK,    /* wait on the gate */
    M_IGNORE,   /* ask never answered, never deferred */
    M_MISUSE,   /* ask: defer twice, reply after defer */
    M_PUBLISH,  /* tell: publish a view {n, 2n} (payload: int64 n) */
    M_WITHDRAW, /* tell: publish NULL */
    M_GO,       /* asker: troupe_ask_async(target, M_PANIC) */
    M_WHO,      /* ask: reply with the handling thread's pthread_t */
};

typedef struct shared {
    tt_gate gate;
    _Atomic uint64_t token;
    atomic_int defer2_rc, reply_after_rc, tell_defer_rc;
    atomic_int failed_type, failed_code;
    troupe_ref target;
} shared;

typedef struct srv_state {
    shared *sh;
} srv_state;

static _Atomic long views_freed;

typedef struct pair {
    int64_t a, b;
} pair;

static void pair_free(void *p)
{
    atomic_fetch_add(&views_freed, 1);
    free(p);
}

static int publish(troupe_ctx *ctx, int64_t n)
{
    pair *p = malloc(sizeof *p);
    if (!p)
        return -1;
    p->a = n;
    p->b = 2 * n;
    int rc = troupe_view_publish(ctx, p, pair_free);
    if (rc)
        free(p);
    return rc;
}

static int misuse(troupe_ctx *ctx, shared *sh)
{
    troupe_reply_token t1, t2;
    int rc = troupe_reply_defer(ctx, &t1);
    atomic_store(&sh->defer2_rc, troupe_reply_defer(ctx, &t2));
    atomic_store(&sh->reply_after_rc, troupe_reply(ctx, M_ECHO, NULL, 0));
    if (rc == 0)
        rc = troupe_reply_to(troupe_ctx_system(ctx), t1, M_ECHO, NULL, 0);
    return rc;
}

static int srv_handle(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    shared *sh = ((srv_state *)st)->sh;
    troupe_reply_token t;
    int64_t v = 0;
    if (m->size == sizeof v)
        memcpy(&v, m->data, sizeof v);
    switch (m->type) {
    case M_ECHO:
        return troupe_reply(ctx, M_ECHO, m->data, m->size);
    case M_DEFER:
        if (troupe_reply_defer(ctx, &t))
            return -1;
        atomic_store(&sh->token, t.id);
        return 0;
    case M_FLUSH:
        t.id = atomic_load(&sh->token);
        return troupe_reply_to(troupe_ctx_system(ctx), t, M_ECHO, &v, sizeof v);
    case M_PANIC:
        troupe_panic("asked to");
        return 0;
    case M_BLOCK:
        atomic_store(&sh->tell_defer_rc, troupe_reply_defer(ctx, &t));
        tt_gate_wait(&sh->gate);
        return 0;
    case M_MISUSE:
        return misuse(ctx, sh);
    case M_PUBLISH:
        return publish(ctx, v);
    case M_WITHDRAW:
        return troupe_view_publish(ctx, NULL, NULL);
    case M_WHO: {
        pthread_t me = pthread_self();
        return troupe_reply(ctx, M_WHO, &me, sizeof me);
    }
    default:
        return 0;
    }
}

static int srv_init(troupe_ctx *ctx, void *st, const void *arg)
{
    (void)ctx;
    ((srv_state *)st)->sh = (shared *)arg;
    return 0;
}

static const troupe_behaviour srv_beh = {.name = "async.server",
                                         .state_size = sizeof(srv_state),
                                         .init = srv_init,
                                         .handle = srv_handle};

static shared *shared_new(void)
{
    shared *sh = calloc(1, sizeof *sh);
    cr_assert_not_null(sh);
    tt_gate_init(&sh->gate);
    return sh;
}

static void shared_free(shared *sh)
{
    tt_gate_destroy(&sh->gate);
    free(sh);
}

/* ---- callbacks ----------------------------------------------------------- */

typedef struct cb_rec {
    atomic_int calls;
    atomic_int rc;
    int64_t value;
} cb_rec;

static void on_done(void *ud, int rc, uint32_t type, const void *data, size_t len)
{
    cb_rec *c = ud;
    if (rc == 0 && (type != M_ECHO || len != sizeof c->value))
        tt_die("callback: type %u len %zu", type, len);
    if (rc == 0)
        memcpy(&c->value, data, len);
    atomic_store(&c->rc, rc);
    atomic_fetch_add(&c->calls, 1);
}

Test(async, callback_completes_once_with_the_reply_or_the_timeout)
{
    troupe_clock *clk;
    cr_assert_eq(troupe_clock_create_manual(&clk, 1000), 0);
    troupe_config cfg = tt_config(2, clk);
    troupe_system *sys = tt_system_cfg(&cfg);
    shared *sh = shared_new();
    troupe_ref s = tt_spawn(sys, &srv_beh, sh, NULL);
    cb_rec a = {0}, b = {0};
    int64_t v = 42;
    cr_assert_eq(troupe_ask_cb(sys, s, M_ECHO, &v, sizeof v, S_NS, on_done, &a), 0);
    wait_until(atomic_load(&a.calls) == 1);
    cr_expect_eq(atomic_load(&a.rc), 0);
    cr_expect_eq(a.value, 42);
    /* never answered: the timeout, on the system's clock */
    cr_assert_eq(troupe_ask_cb(sys, s, M_IGNORE, NULL, 0, S_NS, on_done, &b), 0);
    wait_until(tt_stats(sys, s).handled >= 2);
    cr_expect_eq(atomic_load(&b.calls), 0);
    troupe_clock_advance(clk, 2 * S_NS);
    wait_until(atomic_load(&b.calls) == 1);
    cr_expect_eq(atomic_load(&b.rc), TROUPE_ETIMEDOUT);
    troupe_system_destroy(sys);
    cr_expect_eq(atomic_load(&a.calls), 1);
    cr_expect_eq(atomic_load(&b.calls), 1);
    troupe_clock_destroy(clk);
    shared_free(sh);
}

/* ---- call queues --------------------------------------------------------- */

enum { INFLIGHT = 64 };

Test(async, an_epoll_loop_collects_many_calls_in_flight_from_one_thread)
{
    troupe_system *sys = tt_system(2);
    shared *sh = shared_new();
    troupe_ref s = tt_spawn(sys, &srv_beh, sh, NULL);
    troupe_callq *q;
    cr_assert_eq(troupe_callq_create(sys, TROUPE_CALLQ_FD, &q), 0);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN};
    cr_assert_eq(epoll_ctl(ep, EPOLL_CTL_ADD, troupe_callq_fd(q), &ev), 0);
    static int64_t vals[INFLIGHT];
    for (int64_t i = 0; i < INFLIGHT; i++) {
        troupe_call_id c;
        vals[i] = i * 10;
        cr_assert_eq(troupe_ask_start(q, s, M_ECHO, &vals[i], sizeof vals[i], HANG_LIMIT_NS,
                                      &vals[i], &c),
                     0);
    }
    int got = 0;
    bool seen[INFLIGHT] = {0};
    uint64_t t0 = tt_now_ns();
    while (got < INFLIGHT) {
        cr_assert_lt(tt_now_ns() - t0, HANG_LIMIT_NS, "hang guard: %d of %d", got, INFLIGHT);
        if (epoll_wait(ep, &ev, 1, 1000) != 1)
            continue;
        troupe_call_id c;
        void *ud;
        int rc;
        while ((rc = troupe_callq_next(q, &c, &ud)) == 0) {
            int64_t *want = ud, v = -1;
            size_t len = 0;
            cr_assert_eq(troupe_call_result(q, c, NULL, &v, sizeof v, &len), 0);
            cr_expect_eq(v, *want);
            cr_expect_eq(len, sizeof v);
            cr_assert_not(seen[want - vals], "call %td completed twice", want - vals);
            seen[want - vals] = true;
            cr_assert_eq(troupe_call_release(q, c), 0);
            got++;
        }
        cr_assert_eq(rc, TROUPE_EBUSY);
    }
    cr_expect_eq(epoll_wait(ep, &ev, 1, 0), 0, "the fd stays readable with nothing listed");
    close(ep);
    troupe_callq_destroy(q);
    troupe_system_destroy(sys);
    shared_free(sh);
}

Test(async, wait_poll_result_release_and_truncation)
{
    troupe_system *sys = tt_system(2);
    shared *sh = shared_new();
    troupe_ref s = tt_spawn(sys, &srv_beh, sh, NULL);
    troupe_callq *q;
    cr_assert_eq(troupe_callq_create(sys, 0, &q), 0);
    char src[100], dst[100];
    for (int i = 0; i < 100; i++)
        src[i] = (char)(i + 1);
    troupe_call_id c;
    cr_assert_eq(troupe_ask_start(q, s, M_ECHO, src, sizeof src, HANG_LIMIT_NS, NULL, &c), 0);
    cr_assert_eq(troupe_call_wait(q, c, HANG_LIMIT_NS), 0);
    cr_expect_eq(troupe_call_poll(q, c), 0);
    size_t len = 0;
    uint32_t type = 0;
    /* too small: an error that cannot be missed, nothing consumed */
    cr_expect_eq(troupe_call_result(q, c, &type, dst, 10, &len), TROUPE_ETRUNC);
    cr_expect_eq(len, sizeof src);
    cr_expect_eq(troupe_call_result(q, c, &type, dst, sizeof dst, &len), 0);
    cr_expect_eq(type, M_ECHO);
    cr_expect_arr_eq(dst, src, sizeof src);
    cr_expect_eq(troupe_call_result(q, c, NULL, NULL, 0, NULL), 0, "payload not wanted");
    cr_expect_eq(troupe_call_release(q, c), 0);
    /* released: the generation tells */
    cr_expect_eq(troupe_call_release(q, c), TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_call_poll(q, c), TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_call_wait(q, c, 0), TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_call_result(q, c, NULL, NULL, 0, NULL), TROUPE_ENOTFOUND);
    /* in flight: EBUSY, then a release cancels it (the late reply counted) */
    cr_assert_eq(troupe_ask_start(q, s, M_DEFER, NULL, 0, HANG_LIMIT_NS, NULL, &c), 0);
    cr_expect_eq(troupe_call_poll(q, c), TROUPE_EBUSY);
    cr_expect_eq(troupe_call_wait(q, c, 1000), TROUPE_EBUSY);
    cr_expect_eq(troupe_call_result(q, c, NULL, NULL, 0, NULL), TROUPE_EBUSY);
    wait_until(atomic_load(&sh->token) == c.id);
    cr_expect_eq(troupe_call_release(q, c), 0);
    troupe_reply_token t = {atomic_load(&sh->token)};
    cr_expect_eq(troupe_reply_to(sys, t, M_ECHO, NULL, 0), TROUPE_ENOTFOUND);
    troupe_system_stats st;
    troupe_system_stats_get(sys, &st);
    cr_expect_eq(st.late_replies, 1);
    troupe_callq_destroy(q);
    troupe_system_destroy(sys);
    shared_free(sh);
}

Test(async, bad_input_gives_clear_errors)
{
    troupe_system *sys = tt_system(1);
    shared *sh = shared_new();
    troupe_ref s = tt_spawn(sys, &srv_beh, sh, NULL);
    troupe_callq *q, *q2;
    troupe_call_id c = {0}, none = {0};
    cr_expect_eq(troupe_callq_create(NULL, 0, &q), TROUPE_EINVAL);
    cr_expect_eq(troupe_callq_create(sys, 0, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_callq_create(sys, 0x80, &q), TROUPE_EINVAL);
    cr_assert_eq(troupe_callq_create(sys, 0, &q), 0);
    cr_assert_eq(troupe_callq_create(sys, TROUPE_CALLQ_FD, &q2), 0);
    cr_expect_eq(troupe_callq_fd(NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_callq_fd(q), TROUPE_ENOTSUP);
    cr_expect_eq(troupe_callq_next(q, &c, NULL), TROUPE_ENOTSUP);
    cr_expect_eq(troupe_callq_next(NULL, &c, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_callq_next(q2, NULL, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_callq_next(q2, &c, NULL), TROUPE_EBUSY);
    cr_expect_eq(troupe_ask_start(NULL, s, M_ECHO, NULL, 0, S_NS, NULL, &c), TROUPE_EINVAL);
    cr_expect_eq(troupe_ask_start(q, s, M_ECHO, NULL, 0, S_NS, NULL, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_ask_start(q, s, TROUPE_MSG_SYSTEM, NULL, 0, S_NS, NULL, &c),
                 TROUPE_EINVAL);
    cr_expect_eq(troupe_ask_start(q, s, M_ECHO, NULL, 5, S_NS, NULL, &c), TROUPE_EINVAL);
    cr_expect_eq(troupe_ask_start(q, TROUPE_REF_NONE, M_ECHO, NULL, 0, S_NS, NULL, &c),
                 TROUPE_ENOACTOR);
    cr_expect_eq(c.id, 0u);
    cr_expect_eq(troupe_ask_cb(NULL, s, M_ECHO, NULL, 0, S_NS, on_done, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_ask_cb(sys, s, M_ECHO, NULL, 0, S_NS, NULL, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_call_poll(NULL, none), TROUPE_EINVAL);
    cr_expect_eq(troupe_call_poll(q, none), TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_call_wait(NULL, none, 0), TROUPE_EINVAL);
    cr_expect_eq(troupe_call_result(NULL, none, NULL, NULL, 0, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_call_result(q, none, NULL, NULL, 4, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_call_release(NULL, none), TROUPE_EINVAL);
    cr_expect_eq(troupe_call_release(q, (troupe_call_id){~0ull}), TROUPE_ENOTFOUND);
    /* a call of another queue is not this one's */
    cr_assert_eq(troupe_ask_start(q2, s, M_ECHO, NULL, 0, HANG_LIMIT_NS, NULL, &c), 0);
    cr_expect_eq(troupe_call_poll(q, c), TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_call_release(q, c), TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_call_release(q2, c), 0);
    /* tokens and views */
    troupe_reply_token t = {0};
    cr_expect_eq(troupe_reply_defer(NULL, &t), TROUPE_EINVAL);
    cr_expect_eq(troupe_reply_to(NULL, t, M_ECHO, NULL, 0), TROUPE_EINVAL);
    cr_expect_eq(troupe_reply_to(sys, t, M_ECHO, NULL, 0), TROUPE_EINVAL);
    cr_expect_eq(troupe_reply_to(sys, (troupe_reply_token){~0ull}, M_ECHO, NULL, 0),
                 TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_view_publish(NULL, NULL, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_view_read(NULL, s, NULL, NULL), TROUPE_EINVAL);
    troupe_callq_destroy(NULL);
    troupe_callq_destroy(q);
    troupe_callq_destroy(q2);
    troupe_system_destroy(sys);
    shared_free(sh);
}

/* A handle used after its release (its slot free, or reused by a newer
 * call), released twice, or completed twice (a token answered twice):
 * clear errors, never the newer call's state. */
Test(async, released_handles_and_twice_used_tokens_give_clear_errors)
{
    troupe_system *sys = tt_system(1);
    shared *sh = shared_new();
    troupe_ref s = tt_spawn(sys, &srv_beh, sh, NULL);
    troupe_callq *q;
    cr_assert_eq(troupe_callq_create(sys, TROUPE_CALLQ_FD, &q), 0);
    troupe_call_id old, fresh, got;
    int64_t v = 5, back = 0;
    cr_assert_eq(troupe_ask_start(q, s, M_ECHO, &v, sizeof v, HANG_LIMIT_NS, NULL, &old), 0);
    cr_assert_eq(troupe_call_wait(q, old, UINT64_MAX), 0);
    cr_expect_eq(troupe_call_release(q, old), 0);
    cr_expect_eq(troupe_call_release(q, old), TROUPE_ENOTFOUND, "released twice");
    cr_expect_eq(troupe_call_poll(q, old), TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_call_wait(q, old, UINT64_MAX), TROUPE_ENOTFOUND, "wait on a freed one");
    cr_expect_eq(troupe_call_result(q, old, NULL, &back, sizeof back, NULL), TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_callq_next(q, &got, NULL), TROUPE_EBUSY, "a released call is not listed");
    /* the slot's next call: the stale handle still names nothing */
    cr_assert_eq(troupe_ask_start(q, s, M_DEFER, NULL, 0, HANG_LIMIT_NS, NULL, &fresh), 0);
    cr_expect_neq(fresh.id, old.id);
    wait_until(atomic_load(&sh->token) != 0);
    cr_expect_eq(troupe_call_wait(q, old, 0), TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_call_release(q, old), TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_call_poll(q, fresh), TROUPE_EBUSY, "the new call untouched");
    /* completed twice: the second answer finds no ask */
    troupe_reply_token t = {atomic_load(&sh->token)};
    cr_expect_eq(troupe_reply_to(sys, t, M_ECHO, &v, sizeof v), 0);
    cr_expect_eq(troupe_reply_to(sys, t, M_ECHO, &v, sizeof v), TROUPE_ENOTFOUND);
    cr_assert_eq(troupe_call_wait(q, fresh, UINT64_MAX), 0);
    cr_expect_eq(troupe_call_result(q, fresh, NULL, &back, sizeof back, NULL), 0);
    cr_expect_eq(back, 5);
    cr_expect_eq(troupe_callq_next(q, &got, NULL), 0);
    cr_expect_eq(got.id, fresh.id);
    cr_expect_eq(troupe_callq_next(q, &got, NULL), TROUPE_EBUSY, "listed once");
    cr_expect_eq(troupe_call_release(q, fresh), 0);
    troupe_system_destroy(sys);
    /* after the system: the fd-based queue answers, its handles are gone */
    cr_expect_eq(troupe_call_wait(q, fresh, UINT64_MAX), TROUPE_ESHUTDOWN);
    cr_expect_eq(troupe_ask_start(q, s, M_ECHO, NULL, 0, S_NS, NULL, &got), TROUPE_ESHUTDOWN);
    cr_expect_eq(troupe_callq_next(q, &got, NULL), TROUPE_ESHUTDOWN);
    troupe_callq_destroy(q);
    shared_free(sh);
}

Test(async, a_queue_outlives_its_system)
{
    troupe_system *sys = tt_system(1);
    shared *sh = shared_new();
    troupe_ref s = tt_spawn(sys, &srv_beh, sh, NULL);
    troupe_callq *q;
    cr_assert_eq(troupe_callq_create(sys, TROUPE_CALLQ_FD, &q), 0);
    troupe_call_id c;
    cb_rec cb = {0};
    cr_assert_eq(troupe_ask_start(q, s, M_IGNORE, NULL, 0, UINT64_MAX, NULL, &c), 0);
    cr_assert_eq(troupe_ask_cb(sys, s, M_IGNORE, NULL, 0, UINT64_MAX, on_done, &cb), 0);
    wait_until(tt_stats(sys, s).handled >= 2);
    troupe_system_destroy(sys);
    /* the pending callback completed once, with the system's end */
    cr_expect_eq(atomic_load(&cb.calls), 1);
    cr_expect_eq(atomic_load(&cb.rc), TROUPE_ESHUTDOWN);
    struct pollfd p = {.fd = troupe_callq_fd(q), .events = POLLIN};
    cr_expect_eq(poll(&p, 1, 0), 1, "the loop hears the system's end");
    cr_expect_eq(troupe_callq_next(q, &c, NULL), TROUPE_ESHUTDOWN);
    cr_expect_eq(troupe_ask_start(q, s, M_ECHO, NULL, 0, S_NS, NULL, &c), TROUPE_ESHUTDOWN);
    cr_expect_eq(troupe_call_poll(q, c), TROUPE_ESHUTDOWN);
    cr_expect_eq(troupe_call_wait(q, c, 0), TROUPE_ESHUTDOWN);
    cr_expect_eq(troupe_call_release(q, c), TROUPE_ENOTFOUND);
    troupe_callq_destroy(q);
    shared_free(sh);
}

/* ---- deferred replies ---------------------------------------------------- */

typedef struct replier {
    troupe_system *sys;
    troupe_reply_token t;
    int rc, rc2;
} replier;

static void *reply_thread(void *arg)
{
    replier *r = arg;
    int64_t v = 7;
    r->rc = troupe_reply_to(r->sys, r->t, M_ECHO, &v, sizeof v);
    r->rc2 = troupe_reply_to(r->sys, r->t, M_ECHO, &v, sizeof v);
    return NULL;
}

static pthread_t who_answered(troupe_callq *q, troupe_call_id c)
{
    pthread_t who;
    size_t len = 0;
    cr_assert_eq(troupe_call_result(q, c, NULL, &who, sizeof who, &len), 0);
    cr_assert_eq(len, sizeof who);
    return who;
}

/* TROUPE_CALLQ_RUN_HERE: a start that finds the actor idle runs it on the
 * starting thread, complete and listed when the start returns; a busy
 * actor is served by its worker as without the flag. */
Test(async, run_here_completes_an_idle_call_on_the_calling_thread)
{
    troupe_system *sys = tt_system(2);
    shared *sh = shared_new();
    troupe_ref s = tt_spawn(sys, &srv_beh, sh, NULL);
    troupe_callq *q;
    cr_assert_eq(troupe_callq_create(sys, 4u, &q), TROUPE_EINVAL, "an unknown flag");
    cr_assert_eq(troupe_callq_create(sys, TROUPE_CALLQ_FD | TROUPE_CALLQ_RUN_HERE, &q), 0);
    for (int i = 0; i < 3; i++) {
        troupe_call_id c, got;
        cr_assert_eq(troupe_ask_start(q, s, M_WHO, NULL, 0, UINT64_MAX, NULL, &c), 0);
        cr_expect_eq(troupe_call_poll(q, c), 0, "complete when the start returned");
        cr_expect(pthread_equal(who_answered(q, c), pthread_self()), "run on this thread");
        cr_assert_eq(troupe_callq_next(q, &got, NULL), 0);
        cr_expect_eq(got.id, c.id);
        cr_assert_eq(troupe_call_release(q, c), 0);
    }
    cr_assert_eq(troupe_tell(sys, s, M_BLOCK, NULL, 0), 0);
    wait_until(tt_gate_waiting(&sh->gate) == 1);
    troupe_call_id c;
    cr_assert_eq(troupe_ask_start(q, s, M_WHO, NULL, 0, UINT64_MAX, NULL, &c), 0);
    cr_expect_eq(troupe_call_poll(q, c), TROUPE_EBUSY, "busy: queued for its worker");
    tt_gate_open(&sh->gate);
    cr_assert_eq(troupe_call_wait(q, c, UINT64_MAX), 0);
    cr_expect_not(pthread_equal(who_answered(q, c), pthread_self()), "run by its worker");
    cr_assert_eq(troupe_call_release(q, c), 0);
    troupe_callq_destroy(q);
    troupe_system_destroy(sys);
    shared_free(sh);
}

Test(defer, a_later_message_or_another_thread_answers)
{
    troupe_system *sys = tt_system(2);
    shared *sh = shared_new();
    troupe_ref s = tt_spawn(sys, &srv_beh, sh, NULL);
    troupe_callq *q;
    cr_assert_eq(troupe_callq_create(sys, 0, &q), 0);
    troupe_call_id c;
    int64_t v = 99, got = 0;
    /* from a later message of the same actor */
    cr_assert_eq(troupe_ask_start(q, s, M_DEFER, NULL, 0, HANG_LIMIT_NS, NULL, &c), 0);
    cr_assert_eq(troupe_tell(sys, s, M_FLUSH, &v, sizeof v), 0);
    cr_assert_eq(troupe_call_wait(q, c, HANG_LIMIT_NS), 0);
    cr_expect_eq(troupe_call_result(q, c, NULL, &got, sizeof got, NULL), 0);
    cr_expect_eq(got, 99);
    troupe_call_release(q, c);
    /* from a plain thread; the second reply is a clear error */
    cr_assert_eq(troupe_ask_start(q, s, M_DEFER, NULL, 0, HANG_LIMIT_NS, NULL, &c), 0);
    wait_until(atomic_load(&sh->token) == c.id);
    replier r = {.sys = sys, .t = {c.id}};
    pthread_t th;
    pthread_create(&th, NULL, reply_thread, &r);
    pthread_join(th, NULL);
    cr_expect_eq(r.rc, 0);
    cr_expect_eq(r.rc2, TROUPE_ENOTFOUND);
    cr_assert_eq(troupe_call_wait(q, c, HANG_LIMIT_NS), 0);
    cr_expect_eq(troupe_call_result(q, c, NULL, &got, sizeof got, NULL), 0);
    cr_expect_eq(got, 7);
    troupe_call_release(q, c);
    /* the sync ask too */
    int64_t sync_v = 0;
    atomic_store(&sh->token, 0);
    cr_assert_eq(troupe_ask(sys, s, M_MISUSE, NULL, 0, HANG_LIMIT_NS, NULL, &sync_v,
                            sizeof sync_v, NULL),
                 0);
    cr_expect_eq(atomic_load(&sh->defer2_rc), TROUPE_ESTATE, "a second defer");
    cr_expect_eq(atomic_load(&sh->reply_after_rc), TROUPE_ESTATE, "troupe_reply after defer");
    cr_assert_eq(troupe_tell(sys, s, M_BLOCK, NULL, 0), 0);
    wait_until(tt_gate_waiting(&sh->gate) == 1);
    cr_expect_eq(atomic_load(&sh->tell_defer_rc), TROUPE_ESTATE, "defer on a tell");
    tt_gate_open(&sh->gate);
    troupe_callq_destroy(q);
    troupe_system_destroy(sys);
    shared_free(sh);
}

/* ---- failing fast -------------------------------------------------------- */

Test(failfast, a_panic_while_handling_fails_the_ask_at_once)
{
    troupe_system *sys = tt_system(2);
    shared *sh = shared_new();
    troupe_ref s = tt_spawn(sys, &srv_beh, sh, NULL);
    /* a timeout far beyond the hang guard: only the failure can end it */
    cr_expect_eq(troupe_ask(sys, s, M_PANIC, NULL, 0, UINT64_MAX, NULL, NULL, 0, NULL),
                 TROUPE_EFAILED);
    troupe_system_destroy(sys);
    shared_free(sh);
}

Test(failfast, a_held_token_fails_when_its_holder_panics)
{
    troupe_system *sys = tt_system(2);
    shared *sh = shared_new();
    troupe_ref s = tt_spawn(sys, &srv_beh, sh, NULL);
    troupe_callq *q;
    cr_assert_eq(troupe_callq_create(sys, 0, &q), 0);
    troupe_call_id c;
    cr_assert_eq(troupe_ask_start(q, s, M_DEFER, NULL, 0, UINT64_MAX, NULL, &c), 0);
    wait_until(atomic_load(&sh->token) == c.id);
    cr_assert_eq(troupe_tell(sys, s, M_PANIC, NULL, 0), 0);
    cr_assert_eq(troupe_call_wait(q, c, HANG_LIMIT_NS), 0);
    cr_expect_eq(troupe_call_result(q, c, NULL, NULL, 0, NULL), TROUPE_EFAILED);
    troupe_callq_destroy(q);
    troupe_system_destroy(sys);
    shared_free(sh);
}

Test(failfast, a_stop_fails_the_queued_and_held_asks)
{
    troupe_system *sys = tt_system(2);
    shared *sh = shared_new();
    troupe_ref s = tt_spawn(sys, &srv_beh, sh, NULL);
    troupe_callq *q;
    cr_assert_eq(troupe_callq_create(sys, 0, &q), 0);
    troupe_call_id held, queued[3];
    cr_assert_eq(troupe_ask_start(q, s, M_DEFER, NULL, 0, UINT64_MAX, NULL, &held), 0);
    cr_assert_eq(troupe_tell(sys, s, M_BLOCK, NULL, 0), 0);
    wait_until(tt_gate_waiting(&sh->gate) == 1);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(troupe_ask_start(q, s, M_ECHO, NULL, 0, UINT64_MAX, NULL, &queued[i]), 0);
    cr_assert_eq(troupe_stop(sys, s), 0);
    tt_gate_open(&sh->gate);
    cr_assert_eq(troupe_call_wait(q, held, HANG_LIMIT_NS), 0);
    cr_expect_eq(troupe_call_result(q, held, NULL, NULL, 0, NULL), TROUPE_ENOACTOR);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(troupe_call_wait(q, queued[i], HANG_LIMIT_NS), 0);
        cr_expect_eq(troupe_call_result(q, queued[i], NULL, NULL, 0, NULL), TROUPE_ENOACTOR);
    }
    troupe_callq_destroy(q);
    troupe_system_destroy(sys);
    shared_free(sh);
}

/* A sibling panics under NEVER: its supervisor gives up and stops the
 * holder, whose held ask fails at once. */
Test(failfast, an_escalation_fails_the_held_ask)
{
    troupe_system *sys = tt_system(2);
    shared *sh = shared_new();
    troupe_sup root, sub;
    troupe_sup_spec ss;
    troupe_sup_spec_defaults(&ss);
    ss.restart = TROUPE_TEMPORARY;
    cr_assert_eq(troupe_sup_root(sys, &root), 0);
    cr_assert_eq(troupe_sup_start_supervisor(sys, root, &ss, &sub), 0);
    troupe_child_spec cs;
    troupe_child_spec_defaults(&cs);
    cs.beh = &srv_beh;
    cs.arg = sh;
    cs.policy.kind = TROUPE_RESTART_NEVER;
    troupe_ref holder, crasher;
    cs.name = "async.holder";
    cr_assert_eq(troupe_sup_start_child(sys, sub, &cs, &holder), 0);
    cs.name = "async.crasher";
    cr_assert_eq(troupe_sup_start_child(sys, sub, &cs, &crasher), 0);
    troupe_callq *q;
    cr_assert_eq(troupe_callq_create(sys, 0, &q), 0);
    troupe_call_id c;
    cr_assert_eq(troupe_ask_start(q, holder, M_DEFER, NULL, 0, UINT64_MAX, NULL, &c), 0);
    wait_until(atomic_load(&sh->token) == c.id);
    cr_assert_eq(troupe_tell(sys, crasher, M_PANIC, NULL, 0), 0);
    cr_assert_eq(troupe_call_wait(q, c, HANG_LIMIT_NS), 0);
    int rc = troupe_call_result(q, c, NULL, NULL, 0, NULL);
    cr_expect(rc == TROUPE_ENOACTOR || rc == TROUPE_EFAILED, "%s", troupe_errname(rc));
    wait_until(!troupe_alive(sys, holder)); /* ended for good, not restarted */
    troupe_callq_destroy(q);
    troupe_system_destroy(sys);
    shared_free(sh);
}

/* A handler's own ask hears of the failure as a message. */
static int asker_handle(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    shared *sh = ((srv_state *)st)->sh;
    if (m->type == M_GO)
        return troupe_ask_async(ctx, sh->target, M_PANIC, NULL, 0, UINT64_MAX, NULL);
    if (m->type == TROUPE_MSG_ASK_FAILED && m->size == sizeof(int32_t)) {
        int32_t code;
        memcpy(&code, m->data, sizeof code);
        atomic_store(&sh->failed_code, code);
    }
    atomic_store(&sh->failed_type, (int)(m->type - TROUPE_MSG_SYSTEM));
    return 0;
}

static const troupe_behaviour asker_beh = {.name = "async.asker",
                                           .state_size = sizeof(srv_state),
                                           .init = srv_init,
                                           .handle = asker_handle};

Test(failfast, a_handler_ask_gets_ask_failed)
{
    troupe_system *sys = tt_system(2);
    shared *sh = shared_new(), *sh2 = shared_new();
    sh2->target = tt_spawn(sys, &srv_beh, sh, NULL);
    troupe_ref a = tt_spawn(sys, &asker_beh, sh2, NULL);
    cr_assert_eq(troupe_tell(sys, a, M_GO, NULL, 0), 0);
    wait_until(atomic_load(&sh2->failed_type) != 0);
    cr_expect_eq(atomic_load(&sh2->failed_type), (int)(TROUPE_MSG_ASK_FAILED - TROUPE_MSG_SYSTEM));
    cr_expect_eq(atomic_load(&sh2->failed_code), TROUPE_EFAILED);
    troupe_system_destroy(sys);
    shared_free(sh);
    shared_free(sh2);
}

/* ---- views --------------------------------------------------------------- */

static void read_pair(const void *view, void *ud)
{
    *(pair *)ud = *(const pair *)view;
}

Test(view, published_read_replaced_withdrawn_and_freed)
{
    atomic_store(&views_freed, 0);
    troupe_system *sys = tt_system(2);
    shared *sh = shared_new();
    troupe_ref s = tt_spawn(sys, &srv_beh, sh, NULL);
    pair p = {0};
    cr_expect_eq(troupe_view_read(sys, s, read_pair, &p), TROUPE_ENOTFOUND);
    for (int64_t n = 1; n <= 3; n++) {
        cr_assert_eq(troupe_tell(sys, s, M_PUBLISH, &n, sizeof n), 0);
        wait_until(troupe_view_read(sys, s, read_pair, &p) == 0 && p.a == n);
        cr_expect_eq(p.b, 2 * n);
    }
    cr_assert_eq(troupe_tell(sys, s, M_WITHDRAW, NULL, 0), 0);
    wait_until(troupe_view_read(sys, s, read_pair, &p) == TROUPE_ENOTFOUND);
    int64_t n = 4;
    cr_assert_eq(troupe_tell(sys, s, M_PUBLISH, &n, sizeof n), 0);
    wait_until(troupe_view_read(sys, s, read_pair, &p) == 0);
    cr_assert_eq(troupe_stop(sys, s), 0);
    /* retired as the incarnation ends (its mailbox closes just before) */
    wait_until(troupe_view_read(sys, s, read_pair, &p) == TROUPE_ENOTFOUND);
    troupe_system_destroy(sys);
    cr_expect_eq(atomic_load(&views_freed), 4, "every view freed once");
    shared_free(sh);
}

/* Replaced views are freed while the actor lives: they reach RCU in
 * batches (core/view.c, RETIRE_BATCH = 32), so of 100 publishes at most the
 * current view and 31 retired ones wait — memory stays bounded however
 * long the actor publishes. The rest go when the incarnation ends. */
Test(view, replaced_views_are_freed_while_the_actor_lives)
{
    atomic_store(&views_freed, 0);
    troupe_system *sys = tt_system(2);
    shared *sh = shared_new();
    troupe_ref s = tt_spawn(sys, &srv_beh, sh, NULL);
    for (int64_t n = 1; n <= 100; n++)
        cr_assert_eq(troupe_tell(sys, s, M_PUBLISH, &n, sizeof n), 0);
    pair p = {0};
    wait_until(troupe_view_read(sys, s, read_pair, &p) == 0 && p.a == 100);
    wait_until(atomic_load(&views_freed) >= 100 - 1 - 31);
    cr_expect(troupe_alive(sys, s));
    cr_assert_eq(troupe_stop(sys, s), 0);
    troupe_system_destroy(sys);
    cr_expect_eq(atomic_load(&views_freed), 100, "every view freed once");
    shared_free(sh);
}

typedef struct reader {
    troupe_system *sys;
    troupe_ref ref;
    atomic_bool *stop;
    long reads;
    bool torn;
} reader;

static void *read_loop(void *arg)
{
    reader *r = arg;
    int64_t last = 0;
    while (!atomic_load(r->stop)) {
        pair p;
        if (troupe_view_read(r->sys, r->ref, read_pair, &p) != 0)
            continue;
        r->reads++;
        if (p.b != 2 * p.a || p.a < last)
            r->torn = true;
        last = p.a;
    }
    return NULL;
}

Test(view, many_threads_read_while_the_actor_publishes)
{
    atomic_store(&views_freed, 0);
    troupe_system *sys = tt_system(2);
    shared *sh = shared_new();
    troupe_ref s = tt_spawn(sys, &srv_beh, sh, NULL);
    enum { READERS = 4 };
    long publishes = tt_scaled(TT_TSAN ? 2000 : 20000, 200);
    atomic_bool stop = false;
    reader rd[READERS];
    pthread_t th[READERS];
    for (int i = 0; i < READERS; i++) {
        rd[i] = (reader){.sys = sys, .ref = s, .stop = &stop};
        pthread_create(&th[i], NULL, read_loop, &rd[i]);
    }
    for (int64_t n = 1; n <= publishes; n++)
        while (troupe_tell(sys, s, M_PUBLISH, &n, sizeof n) == TROUPE_EFULL)
            sched_yield();
    pair p = {0};
    wait_until(troupe_view_read(sys, s, read_pair, &p) == 0 && p.a == publishes);
    atomic_store(&stop, true);
    for (int i = 0; i < READERS; i++) {
        pthread_join(th[i], NULL);
        cr_expect_not(rd[i].torn, "reader %d saw a torn or older view", i);
    }
    troupe_system_destroy(sys);
    cr_expect_eq(atomic_load(&views_freed), publishes, "every view freed once, none leaked");
    shared_free(sh);
}

/* ---- many threads, each its own queue, cancelling half its calls while
 *      their replies race in (run under TSan in the concurrency suite) ---- */

typedef struct caller {
    troupe_system *sys;
    troupe_ref to;
    long calls, got;
    bool bad;
} caller;

static void *call_loop(void *arg)
{
    caller *c = arg;
    troupe_callq *q;
    if (troupe_callq_create(c->sys, TROUPE_CALLQ_FD, &q))
        tt_die("callq_create");
    long kept = 0;
    for (int64_t i = 0; i < c->calls; i++) {
        troupe_call_id call;
        if (troupe_ask_start(q, c->to, M_ECHO, &i, sizeof i, HANG_LIMIT_NS, (void *)(intptr_t)i,
                             &call))
            tt_die("ask_start");
        if (i % 2 && troupe_call_release(q, call)) /* cancel, racing the reply */
            tt_die("release");
        kept += !(i % 2);
    }
    uint64_t t0 = tt_now_ns();
    while (c->got < kept && tt_now_ns() - t0 < HANG_LIMIT_NS) {
        struct pollfd p = {.fd = troupe_callq_fd(q), .events = POLLIN};
        poll(&p, 1, 100);
        troupe_call_id call;
        void *ud;
        while (troupe_callq_next(q, &call, &ud) == 0) {
            int64_t v = -1, want = (intptr_t)ud;
            if (want % 2 || troupe_call_result(q, call, NULL, &v, sizeof v, NULL) || v != want)
                c->bad = true; /* a released call listed, or a wrong reply */
            troupe_call_release(q, call);
            c->got++;
        }
    }
    troupe_callq_destroy(q);
    return NULL;
}

Test(async, threads_cancel_calls_while_replies_race_in)
{
    troupe_system *sys = tt_system(2);
    shared *sh = shared_new();
    troupe_ref s = tt_spawn(sys, &srv_beh, sh, NULL);
    enum { CALLERS = 4 };
    caller c[CALLERS];
    pthread_t th[CALLERS];
    for (int i = 0; i < CALLERS; i++) {
        c[i] = (caller){.sys = sys, .to = s, .calls = tt_scaled(TT_TSAN ? 400 : 4000, 100)};
        pthread_create(&th[i], NULL, call_loop, &c[i]);
    }
    for (int i = 0; i < CALLERS; i++) {
        pthread_join(th[i], NULL);
        cr_expect_not(c[i].bad, "caller %d", i);
        cr_expect_eq(c[i].got, (c[i].calls + 1) / 2, "caller %d: every kept call once", i);
    }
    troupe_system_destroy(sys);
    shared_free(sh);
}
