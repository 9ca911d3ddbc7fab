/* tests/core/test_ask.c — troupe_ask, troupe_ask_async, troupe_reply,
 * timeouts and late replies. */
#include "../support.h"

enum {
    M_ECHO = 1,     /* ask: reply M_ECHO_R with the same payload */
    M_ECHO_R,       /* the reply type */
    M_IGNORE,       /* ask that is never answered */
    M_HOLD,         /* ask: wait on the gate, then reply M_HOLD_R */
    M_HOLD_R,
    M_TELL_REPLY,   /* a tell: troupe_reply must be ESTATE */
    M_DOUBLE_REPLY, /* ask: reply twice, the second must be ESTATE */
    M_ASK_INSIDE,   /* blocking troupe_ask from a handler: ESTATE */
    M_EMPTY,        /* ask: reply with no payload */
    M_GO,           /* client: troupe_ask_async per go_req */
    M_BLOCK,        /* client: wait on the client's gate */
    M_OTHER,        /* client: just count */
};

/* ---- the server ---------------------------------------------------------------- */

typedef struct server_sh {
    tt_gate gate;
    atomic_int handled;
    atomic_int hold_reply_rc;
    atomic_int hold_done;
    atomic_int tell_reply_rc;
    atomic_int second_reply_rc;
    atomic_int first_reply_rc;
    atomic_int ask_inside_rc;
    atomic_int ask_async_from_thread_rc;
} server_sh;

static void server_sh_init(server_sh *s)
{
    memset(s, 0, sizeof *s);
    tt_gate_init(&s->gate);
    atomic_init(&s->hold_reply_rc, 12345);
    atomic_init(&s->tell_reply_rc, 12345);
    atomic_init(&s->second_reply_rc, 12345);
    atomic_init(&s->first_reply_rc, 12345);
    atomic_init(&s->ask_inside_rc, 12345);
}

static int h_server(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    server_sh *sh = *(server_sh **)state;
    if (tt_is_probe(ctx, m))
        return 0;
    switch (m->type) {
    case M_ECHO:
        if (troupe_reply(ctx, M_ECHO_R, m->data, m->size) != 0)
            tt_die("echo reply");
        break;
    case M_IGNORE:
        break;
    case M_HOLD:
        tt_gate_wait(&sh->gate);
        atomic_store(&sh->hold_reply_rc, troupe_reply(ctx, M_HOLD_R, "late", 4));
        atomic_store(&sh->hold_done, 1);
        break;
    case M_TELL_REPLY:
        atomic_store(&sh->tell_reply_rc, troupe_reply(ctx, M_ECHO_R, NULL, 0));
        break;
    case M_DOUBLE_REPLY:
        atomic_store(&sh->first_reply_rc, troupe_reply(ctx, M_ECHO_R, "one", 3));
        atomic_store(&sh->second_reply_rc, troupe_reply(ctx, M_ECHO_R, "two", 3));
        break;
    case M_ASK_INSIDE: {
        troupe_ref self = troupe_self(ctx);
        atomic_store(&sh->ask_inside_rc, troupe_ask(troupe_ctx_system(ctx), self, M_ECHO, NULL,
                                                    0, 1 * MS_NS, NULL, NULL, 0, NULL));
        break;
    }
    case M_EMPTY:
        if (troupe_reply(ctx, M_EMPTY, NULL, 0) != 0)
            tt_die("empty reply");
        break;
    default:
        tt_die("server: type %u", m->type);
    }
    atomic_fetch_add(&sh->handled, 1);
    return 0;
}

static const troupe_behaviour server = {
    .name = "server",
    .state_size = sizeof(void *),
    .init = tt_init_arg,
    .handle = h_server,
};

/* ---- the client: asks from a handler ---------------------------------------------- */

typedef struct go_req {
    troupe_ref to;
    uint32_t type;
    int then_gate; /* after asking, wait on the client's gate (only when
                    * nothing the ask wakes must run on this worker) */
    uint64_t timeout_ns;
    char data[8];
} go_req;

typedef struct client_sh {
    tt_gate gate;
    atomic_int ask_rc;
    atomic_int asks;
    atomic_uint_least64_t ask_id[4];
    atomic_int replies;
    atomic_int timeouts;
    atomic_uint_least64_t reply_corr;
    atomic_uint_least64_t timeout_corr;
    atomic_uint reply_type;
    char reply_data[16];
    atomic_uint reply_size;
    atomic_int other;
} client_sh;

static void client_sh_init(client_sh *c)
{
    memset(c, 0, sizeof *c);
    tt_gate_init(&c->gate);
    atomic_init(&c->ask_rc, 12345);
}

static int h_client(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    client_sh *sh = *(client_sh **)state;
    if (tt_is_probe(ctx, m))
        return 0;
    if (m->type == M_GO) {
        go_req rq;
        memcpy(&rq, m->data, sizeof rq);
        uint64_t id = 0;
        int rc = troupe_ask_async(ctx, rq.to, rq.type, rq.data, strlen(rq.data), rq.timeout_ns,
                                  &id);
        int k = atomic_fetch_add(&sh->asks, 1);
        if (k < 4)
            atomic_store(&sh->ask_id[k], id);
        atomic_store(&sh->ask_rc, rc);
        if (rq.then_gate)
            tt_gate_wait(&sh->gate);
        return 0;
    }
    if (m->type == M_BLOCK) {
        tt_gate_wait(&sh->gate);
        return 0;
    }
    if (m->type == TROUPE_MSG_ASK_TIMEOUT) {
        atomic_store(&sh->timeout_corr, m->corr);
        atomic_fetch_add(&sh->timeouts, 1);
        return 0;
    }
    if (m->type == M_ECHO_R || m->type == M_HOLD_R || m->type == M_EMPTY) {
        size_t n = m->size < sizeof sh->reply_data ? m->size : sizeof sh->reply_data;
        if (n)
            memcpy(sh->reply_data, m->data, n);
        atomic_store(&sh->reply_size, m->size);
        atomic_store(&sh->reply_type, m->type);
        atomic_store(&sh->reply_corr, m->corr);
        atomic_fetch_add(&sh->replies, 1);
        return 0;
    }
    atomic_fetch_add(&sh->other, 1);
    return 0;
}

static const troupe_behaviour client = {
    .name = "client",
    .state_size = sizeof(void *),
    .init = tt_init_arg,
    .handle = h_client,
};

static void go(troupe_system *sys, troupe_ref c, troupe_ref to, uint32_t type, const char *data,
               uint64_t timeout_ns, int then_gate)
{
    go_req rq;
    memset(&rq, 0, sizeof rq);
    rq.to = to;
    rq.type = type;
    rq.timeout_ns = timeout_ns;
    rq.then_gate = then_gate;
    strncpy(rq.data, data, sizeof rq.data - 1);
    cr_assert_eq(troupe_tell(sys, c, M_GO, &rq, sizeof rq), 0);
}

/* Initialise ss and spawn a server on it. */
static troupe_ref spawn_server(troupe_system *sys, server_sh *ss)
{
    server_sh_init(ss);
    return tt_spawn(sys, &server, ss, NULL);
}

/* Initialise cs and spawn a client on it (opts may be NULL). */
static troupe_ref spawn_client(troupe_system *sys, client_sh *cs, const troupe_spawn_opts *opts)
{
    client_sh_init(cs);
    return tt_spawn(sys, &client, cs, opts);
}

/* Destroy the system, then the clock (unless NULL), then the gates of ss
 * and cs (unless NULL). */
static void finish(troupe_system *sys, troupe_clock *clk, server_sh *ss, client_sh *cs)
{
    troupe_system_destroy(sys);
    if (clk)
        troupe_clock_destroy(clk);
    tt_gate_destroy(&ss->gate);
    if (cs)
        tt_gate_destroy(&cs->gate);
}

/* ---- asks from a plain thread ------------------------------------------------------- */

Test(ask, from_a_thread_returns_reply_payload_and_type)
{
    troupe_system *sys = tt_system(2);
    server_sh ss;
    troupe_ref s = spawn_server(sys, &ss);

    char buf[32];
    memset(buf, 0, sizeof buf);
    uint32_t type = 0;
    size_t len = 0;
    cr_assert_eq(troupe_ask(sys, s, M_ECHO, "hello", 5, ASK_FOREVER_NS, &type, buf, sizeof buf,
                            &len),
                 0);
    cr_expect_eq(type, M_ECHO_R);
    cr_expect_eq(len, 5u);
    cr_expect_arr_eq(buf, "hello", 5);

    /* Optional outputs may be NULL. */
    cr_expect_eq(troupe_ask(sys, s, M_ECHO, "x", 1, ASK_FOREVER_NS, NULL, NULL, 0, NULL), 0);

    /* An empty reply. */
    len = 99;
    type = 0;
    cr_expect_eq(troupe_ask(sys, s, M_EMPTY, NULL, 0, ASK_FOREVER_NS, &type, buf, sizeof buf,
                            &len),
                 0);
    cr_expect_eq(type, M_EMPTY);
    cr_expect_eq(len, 0u);
    finish(sys, NULL, &ss, NULL);
}

Test(ask, large_and_truncated_replies)
{
    troupe_system *sys = tt_system(2);
    server_sh ss;
    troupe_ref s = spawn_server(sys, &ss);
    enum { BIG = 5000 };
    char *src = malloc(BIG), *dst = malloc(BIG);
    cr_assert(src && dst);
    for (int i = 0; i < BIG; i++)
        src[i] = (char)(i * 7 + 1);

    size_t len = 0;
    memset(dst, 0, BIG);
    cr_assert_eq(troupe_ask(sys, s, M_ECHO, src, BIG, ASK_FOREVER_NS, NULL, dst, BIG, &len), 0);
    cr_expect_eq(len, (size_t)BIG);
    cr_expect_arr_eq(dst, src, BIG);

    /* A reply_cap smaller than the reply: TROUPE_ETRUNC, never a silent
     * truncation; the first reply_cap bytes, and *reply_len still gets the
     * full size (issue 13: this returned 0 before). */
    memset(dst, 0x55, BIG);
    len = 0;
    cr_assert_eq(troupe_ask(sys, s, M_ECHO, src, BIG, ASK_FOREVER_NS, NULL, dst, 10, &len),
                 TROUPE_ETRUNC);
    cr_expect_eq(len, (size_t)BIG);
    cr_expect_arr_eq(dst, src, 10);
    for (int i = 10; i < BIG; i++)
        cr_assert_eq(dst[i], 0x55, "byte %d written past reply_cap", i);

    /* reply_cap 0 with a buffer: nothing copied, size reported, ETRUNC. */
    memset(dst, 0x55, 16);
    len = 0;
    cr_assert_eq(troupe_ask(sys, s, M_ECHO, src, 16, ASK_FOREVER_NS, NULL, dst, 0, &len),
                 TROUPE_ETRUNC);
    cr_expect_eq(len, 16u);
    cr_expect_eq(dst[0], 0x55);

    /* No buffer at all: the payload is not wanted, 0. */
    len = 0;
    cr_assert_eq(troupe_ask(sys, s, M_ECHO, src, 16, ASK_FOREVER_NS, NULL, NULL, 0, &len), 0);
    cr_expect_eq(len, 16u);
    free(src);
    free(dst);
    finish(sys, NULL, &ss, NULL);
}

Test(ask, never_answered_times_out)
{
    troupe_system *sys = tt_system(2);
    server_sh ss;
    troupe_ref s = spawn_server(sys, &ss);
    char buf[8] = "sentinl";
    size_t len = 777;
    int rc = troupe_ask(sys, s, M_IGNORE, NULL, 0, 5 * MS_NS, NULL, buf, sizeof buf, &len);
    cr_expect_eq(rc, TROUPE_ETIMEDOUT);
    cr_expect_str_eq(buf, "sentinl", "no reply was written");
    tt_probe(sys, s);
    cr_expect_eq(atomic_load(&ss.handled), 1);
    cr_expect_eq(tt_sys_stats(sys).late_replies, 0u, "no reply at all is not a late reply");
    cr_expect_eq(troupe_alive(sys, s), 1, "a timeout does not hurt the actor");
    finish(sys, NULL, &ss, NULL);
}

Test(ask, timeout_then_late_reply_is_counted)
{
    troupe_system *sys = tt_system(2);
    server_sh ss;
    troupe_ref s = spawn_server(sys, &ss);
    char buf[8] = "sentinl";
    uint32_t type = 4242;
    /* The handler cannot reply before we open the gate, so the ask must
     * time out, whatever the machine's speed. */
    int rc = troupe_ask(sys, s, M_HOLD, NULL, 0, 10 * MS_NS, &type, buf, sizeof buf, NULL);
    cr_assert_eq(rc, TROUPE_ETIMEDOUT);
    cr_expect_eq(tt_sys_stats(sys).late_replies, 0u);
    wait_until(tt_gate_waiting(&ss.gate) == 1);
    tt_gate_open(&ss.gate);
    wait_until(atomic_load(&ss.hold_done) == 1);
    cr_expect_eq(atomic_load(&ss.hold_reply_rc), 0, "a late reply returns 0");
    wait_until(tt_sys_stats(sys).late_replies == 1);
    cr_expect_str_eq(buf, "sentinl", "the late reply must not be written to the caller");
    cr_expect_eq(type, 4242u);
    tt_probe(sys, s);
    cr_expect_eq(tt_sys_stats(sys).late_replies, 1u);
    finish(sys, NULL, &ss, NULL);
}

Test(ask, to_a_stopped_actor_is_enoactor)
{
    troupe_system *sys = tt_system(1);
    server_sh ss;
    troupe_ref s = spawn_server(sys, &ss);
    cr_assert_eq(troupe_stop(sys, s), 0);
    tt_wait_dead(sys, s);
    cr_expect_eq(troupe_ask(sys, s, M_ECHO, "x", 1, ASK_FOREVER_NS, NULL, NULL, 0, NULL),
                 TROUPE_ENOACTOR);
    finish(sys, NULL, &ss, NULL);
}

/* ---- troupe_reply misuse --------------------------------------------------------------- */

Test(ask, reply_outside_an_ask_is_estate)
{
    troupe_system *sys = tt_system(2);
    server_sh ss;
    troupe_ref s = spawn_server(sys, &ss);
    cr_assert_eq(troupe_tell(sys, s, M_TELL_REPLY, NULL, 0), 0);
    tt_probe(sys, s);
    cr_expect_eq(atomic_load(&ss.tell_reply_rc), TROUPE_ESTATE);
    /* From a plain thread there is no handler at all. */
    cr_expect_neq(troupe_reply(NULL, M_ECHO_R, NULL, 0), 0);
    finish(sys, NULL, &ss, NULL);
}

Test(ask, second_reply_is_estate)
{
    troupe_system *sys = tt_system(2);
    server_sh ss;
    troupe_ref s = spawn_server(sys, &ss);
    char buf[8] = {0};
    size_t len = 0;
    cr_assert_eq(troupe_ask(sys, s, M_DOUBLE_REPLY, NULL, 0, ASK_FOREVER_NS, NULL, buf,
                            sizeof buf, &len),
                 0);
    cr_expect_eq(len, 3u);
    cr_expect_arr_eq(buf, "one", 3, "the first reply wins");
    tt_probe(sys, s);
    cr_expect_eq(atomic_load(&ss.first_reply_rc), 0);
    cr_expect_eq(atomic_load(&ss.second_reply_rc), TROUPE_ESTATE);
    cr_expect_eq(tt_sys_stats(sys).late_replies, 0u, "a refused reply is not a late reply");
    finish(sys, NULL, &ss, NULL);
}

Test(ask, blocking_ask_from_a_handler_is_estate)
{
    troupe_system *sys = tt_system(2);
    server_sh ss;
    troupe_ref s = spawn_server(sys, &ss);
    cr_assert_eq(troupe_tell(sys, s, M_ASK_INSIDE, NULL, 0), 0);
    tt_probe(sys, s);
    cr_expect_eq(atomic_load(&ss.ask_inside_rc), TROUPE_ESTATE);
    /* Refused before sending: the actor never got an M_ECHO. */
    cr_expect_eq(atomic_load(&ss.handled), 1);
    finish(sys, NULL, &ss, NULL);
}

Test(ask, ask_async_outside_a_handler_fails)
{
    uint64_t id = 0;
    cr_expect_neq(troupe_ask_async(NULL, TROUPE_REF_NONE, M_ECHO, NULL, 0, 1, &id), 0);
}

/* ---- troupe_ask_async --------------------------------------------------------------------- */

Test(ask, async_reply_arrives_as_a_message_with_corr)
{
    troupe_clock *clk;
    troupe_system *sys = tt_system_manual(2, 1000, &clk);
    server_sh ss;
    client_sh cs;
    troupe_ref s = spawn_server(sys, &ss);
    troupe_ref c = spawn_client(sys, &cs, NULL);

    go(sys, c, s, M_ECHO, "ping", 1 * S_NS, 0);
    wait_until(atomic_load(&cs.replies) == 1);
    cr_expect_eq(atomic_load(&cs.ask_rc), 0);
    cr_expect_eq(atomic_load(&cs.reply_type), M_ECHO_R, "the reply has the replier's type");
    cr_expect_eq(atomic_load(&cs.reply_corr), atomic_load(&cs.ask_id[0]), "corr == ask id");
    cr_expect_eq(atomic_load(&cs.reply_size), 4u);
    cr_expect_arr_eq(cs.reply_data, "ping", 4);

    /* Exactly one of reply / timeout: moving past the deadline now
     * delivers nothing more. */
    cr_assert_eq(troupe_clock_advance(clk, 5 * S_NS), 0);
    tt_probe(sys, c);
    cr_expect_eq(atomic_load(&cs.timeouts), 0);
    cr_expect_eq(atomic_load(&cs.replies), 1);
    cr_expect_eq(atomic_load(&cs.other), 0);
    finish(sys, clk, &ss, &cs);
}

Test(ask, async_ids_are_distinct)
{
    troupe_clock *clk;
    troupe_system *sys = tt_system_manual(2, 0, &clk);
    server_sh ss;
    client_sh cs;
    troupe_ref s = spawn_server(sys, &ss);
    troupe_ref c = spawn_client(sys, &cs, NULL);
    for (int i = 0; i < 4; i++)
        go(sys, c, s, M_ECHO, "x", 1 * S_NS, 0);
    wait_until(atomic_load(&cs.replies) == 4);
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            cr_expect_neq(atomic_load(&cs.ask_id[i]), atomic_load(&cs.ask_id[j]));
    finish(sys, clk, &ss, &cs);
}

Test(ask, async_timeout_once_then_late_reply_counted_not_delivered)
{
    troupe_clock *clk;
    /* Two workers: the server blocks one on its gate, the client runs on
     * the other. */
    troupe_system *sys = tt_system_manual(2, 0, &clk);
    server_sh ss;
    client_sh cs;
    troupe_ref s = spawn_server(sys, &ss);
    troupe_ref c = spawn_client(sys, &cs, NULL);

    go(sys, c, s, M_HOLD, "", 1 * S_NS, 0);
    wait_until(tt_gate_waiting(&ss.gate) == 1);
    tt_probe(sys, c);
    cr_assert_eq(atomic_load(&cs.ask_rc), 0);

    /* Not yet due. */
    cr_assert_eq(troupe_clock_advance(clk, 500 * MS_NS), 0);
    tt_probe(sys, c);
    cr_expect_eq(atomic_load(&cs.timeouts), 0, "timeout before its deadline");

    /* Past the deadline: exactly one timeout message, corr = ask id. */
    cr_assert_eq(troupe_clock_advance(clk, 600 * MS_NS), 0);
    wait_until(atomic_load(&cs.timeouts) >= 1);
    cr_expect_eq(atomic_load(&cs.timeout_corr), atomic_load(&cs.ask_id[0]));
    cr_assert_eq(troupe_clock_advance(clk, 10 * S_NS), 0);
    tt_probe(sys, c);
    cr_expect_eq(atomic_load(&cs.timeouts), 1, "exactly one timeout");

    /* Now the late reply: counted, not delivered. */
    tt_gate_open(&ss.gate);
    wait_until(atomic_load(&ss.hold_done) == 1);
    cr_expect_eq(atomic_load(&ss.hold_reply_rc), 0);
    wait_until(tt_sys_stats(sys).late_replies == 1);
    tt_probe(sys, c);
    cr_expect_eq(atomic_load(&cs.replies), 0, "a late reply must not be delivered");
    cr_expect_eq(atomic_load(&cs.timeouts), 1);
    cr_expect_eq(atomic_load(&cs.other), 0);
    finish(sys, clk, &ss, &cs);
}

Test(ask, async_ask_to_a_stopped_actor_is_enoactor)
{
    troupe_system *sys = tt_system(2);
    server_sh ss;
    client_sh cs;
    troupe_ref s = spawn_server(sys, &ss);
    troupe_ref c = spawn_client(sys, &cs, NULL);
    cr_assert_eq(troupe_stop(sys, s), 0);
    tt_wait_dead(sys, s);
    go(sys, c, s, M_ECHO, "x", 1 * S_NS, 0);
    tt_probe(sys, c);
    cr_expect_eq(atomic_load(&cs.ask_rc), TROUPE_ENOACTOR);
    cr_expect_eq(atomic_load(&cs.replies) + atomic_load(&cs.timeouts), 0,
                 "a refused ask delivers nothing");
    finish(sys, NULL, &ss, &cs);
}

Test(ask, reply_reaches_a_full_mailbox)
{
    /* Replies travel on the system lane: a full REJECT mailbox does not
     * refuse them. Manual clock: the ask never times out here. */
    troupe_clock *clk;
    troupe_system *sys = tt_system_manual(2, 0, &clk);
    server_sh ss;
    client_sh cs;
    troupe_ref s = spawn_server(sys, &ss);
    troupe_spawn_opts o = tt_opts(2, TROUPE_OVERFLOW_REJECT);
    troupe_ref c = spawn_client(sys, &cs, &o);

    /* 1. The client asks the server, which holds the ask on its gate
     *    (blocking one worker). */
    go(sys, c, s, M_HOLD, "", 1 * S_NS, 0);
    wait_until(tt_gate_waiting(&ss.gate) == 1);
    /* 2. The client blocks on its own gate (the other worker). */
    cr_assert_eq(troupe_tell(sys, c, M_BLOCK, NULL, 0), 0);
    wait_until(tt_gate_waiting(&cs.gate) == 1);
    /* 3. Fill the client's ring. */
    int accepted = 0, rc = 0;
    for (int i = 0; i < 16 && rc == 0; i++) {
        rc = troupe_tell(sys, c, M_OTHER, NULL, 0);
        if (rc == 0)
            accepted++;
    }
    cr_expect_eq(rc, TROUPE_EFULL, "the client's ring is full");
    cr_expect_leq(accepted, 2);
    /* 4. The server replies into the full mailbox. */
    tt_gate_open(&ss.gate);
    wait_until(atomic_load(&ss.hold_done) == 1);
    cr_expect_eq(atomic_load(&ss.hold_reply_rc), 0);
    /* 5. The client runs again and gets the reply. */
    tt_gate_open(&cs.gate);
    wait_until(atomic_load(&cs.replies) == 1);
    cr_expect_eq(atomic_load(&cs.reply_type), M_HOLD_R);
    cr_expect_eq(atomic_load(&cs.reply_corr), atomic_load(&cs.ask_id[0]));
    cr_expect_arr_eq(cs.reply_data, "late", 4);
    wait_until(atomic_load(&cs.other) == accepted);
    cr_expect_eq(tt_sys_stats(sys).late_replies, 0u);
    finish(sys, clk, &ss, &cs);
}

/* ---- a timeout of UINT64_MAX: forever ------------------------------------------------ */

static void *open_once_waiting(void *p)
{
    server_sh *ss = p;
    while (tt_gate_waiting(&ss->gate) != 1) /* bounded by the test's own hang guard */
        tt_sleep_ns(100000);
    tt_gate_open(&ss->gate);
    return NULL;
}

/* mono_ns() + UINT64_MAX wrapped: the ask timed out after 0 ms. */
Test(ask, a_timeout_of_forever_waits_for_the_reply)
{
    troupe_system *sys = tt_system(2);
    server_sh ss;
    troupe_ref s = spawn_server(sys, &ss);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, open_once_waiting, &ss), 0);
    char buf[8] = {0};
    uint32_t type = 0;
    size_t len = 0;
    int rc = troupe_ask(sys, s, M_HOLD, NULL, 0, UINT64_MAX, &type, buf, sizeof buf, &len);
    pthread_join(th, NULL);
    cr_expect_eq(rc, 0, "ask: %s", troupe_errname(rc));
    cr_expect_eq(type, M_HOLD_R);
    cr_expect_eq(len, 4u);
    cr_expect_arr_eq(buf, "late", 4);
    cr_expect_eq(tt_sys_stats(sys).late_replies, 0u);
    finish(sys, NULL, &ss, NULL);
}

/* An async ask with timeout UINT64_MAX: its timer's deadline saturates,
 * so no advance of the manual clock, however large, times it out, and the
 * reply (sent once the test lets the server go) is delivered. */
Test(ask, async_timeout_of_forever_survives_any_clock_advance)
{
    troupe_clock *clk;
    troupe_system *sys = tt_system_manual(2, 1000, &clk);
    server_sh ss;
    client_sh cs;
    troupe_ref s = spawn_server(sys, &ss);
    troupe_ref c = spawn_client(sys, &cs, NULL);
    go(sys, c, s, M_HOLD, "", UINT64_MAX, 0);
    wait_until(tt_gate_waiting(&ss.gate) == 1);
    tt_probe(sys, c);
    cr_assert_eq(atomic_load(&cs.ask_rc), 0);
    cr_assert_eq(troupe_clock_advance(clk, 1), 0);
    cr_assert_eq(troupe_clock_advance(clk, UINT64_MAX / 2), 0);
    cr_assert_eq(troupe_clock_advance(clk, UINT64_MAX), 0);
    tt_probe(sys, c);
    cr_expect_eq(atomic_load(&cs.timeouts), 0, "forever timed out");
    tt_gate_open(&ss.gate);
    wait_until(atomic_load(&ss.hold_done) == 1);
    tt_probe(sys, c); /* the reply was sent before hold_done */
    cr_expect_eq(atomic_load(&cs.replies), 1, "the reply is delivered");
    cr_expect_eq(atomic_load(&cs.reply_type), M_HOLD_R);
    cr_expect_eq(atomic_load(&cs.reply_corr), atomic_load(&cs.ask_id[0]));
    cr_expect_eq(atomic_load(&cs.timeouts), 0);
    cr_expect_eq(tt_sys_stats(sys).late_replies, 0u);
    finish(sys, clk, &ss, &cs);
}

/* ---- an ask the mailbox drops fails at once -------------------------------------- */

typedef struct cb_out {
    atomic_int rc;
    atomic_int done;
} cb_out;

static void record_cb(void *ud, int rc, uint32_t type, const void *data, size_t len)
{
    (void)type;
    (void)data;
    (void)len;
    cb_out *o = ud;
    atomic_store(&o->rc, rc);
    atomic_store(&o->done, 1);
}

/* A server of capacity 1 under `policy`, held in an M_HOLD ask (its own
 * callback in *held) with one M_IGNORE tell queued behind it: full. */
static troupe_ref full_server(troupe_system *sys, server_sh *ss, int policy, cb_out *held)
{
    server_sh_init(ss);
    troupe_spawn_opts o = tt_opts(1, policy);
    troupe_ref s = tt_spawn(sys, &server, ss, &o);
    cr_assert_eq(troupe_ask_cb(sys, s, M_HOLD, NULL, 0, UINT64_MAX, record_cb, held), 0);
    wait_until(tt_gate_waiting(&ss->gate) == 1);
    cr_assert_eq(troupe_tell(sys, s, M_IGNORE, NULL, 0), 0);
    return s;
}

static void release_server(troupe_system *sys, server_sh *ss, cb_out *held)
{
    tt_gate_open(&ss->gate);
    wait_until(atomic_load(&held->done) == 1);
    cr_expect_eq(atomic_load(&held->rc), 0);
    troupe_system_destroy(sys);
}

/* Before: the asker waited for its whole timeout (here: forever). */
Test(ask, dropped_as_the_newest_fails_at_once_with_efull)
{
    troupe_system *sys = tt_system(2);
    server_sh ss;
    cb_out held = {0}, dropped = {0};
    troupe_ref s = full_server(sys, &ss, TROUPE_OVERFLOW_DROP_NEWEST, &held);
    uint64_t dropped_before = tt_stats(sys, s).dropped;
    cr_assert_eq(troupe_ask_cb(sys, s, M_ECHO, "x", 1, UINT64_MAX, record_cb, &dropped), 0);
    wait_until(atomic_load(&dropped.done) == 1);
    cr_expect_eq(atomic_load(&dropped.rc), TROUPE_EFULL);
    cr_expect_eq(tt_stats(sys, s).dropped, dropped_before + 1);
    /* a plain thread's blocking ask and call hear it the same way */
    cr_expect_eq(troupe_ask(sys, s, M_ECHO, "x", 1, UINT64_MAX, NULL, NULL, 0, NULL), TROUPE_EFULL);
    cr_expect_eq(troupe_call(sys, s, M_ECHO, "x", 1, UINT64_MAX, NULL, NULL, 0, NULL), TROUPE_EFULL);
    release_server(sys, &ss, &held);
}

Test(ask, evicted_as_the_oldest_fails_at_once_with_efull)
{
    troupe_system *sys = tt_system(2);
    server_sh ss;
    server_sh_init(&ss);
    troupe_spawn_opts o = tt_opts(1, TROUPE_OVERFLOW_DROP_OLDEST);
    troupe_ref s = tt_spawn(sys, &server, &ss, &o);
    cb_out held = {0}, evicted = {0};
    cr_assert_eq(troupe_ask_cb(sys, s, M_HOLD, NULL, 0, UINT64_MAX, record_cb, &held), 0);
    wait_until(tt_gate_waiting(&ss.gate) == 1);
    cr_assert_eq(troupe_ask_cb(sys, s, M_ECHO, "x", 1, UINT64_MAX, record_cb, &evicted), 0);
    cr_expect_eq(atomic_load(&evicted.done), 0, "queued, not answered");
    cr_assert_eq(troupe_tell(sys, s, M_IGNORE, NULL, 0), 0); /* evicts the queued ask */
    wait_until(atomic_load(&evicted.done) == 1);
    cr_expect_eq(atomic_load(&evicted.rc), TROUPE_EFULL);
    release_server(sys, &ss, &held);
}

Test(ask, redirected_to_the_dead_letters_fails_at_once_with_enoactor)
{
    troupe_system *sys = tt_system(2);
    server_sh ss;
    cb_out held = {0}, dead = {0};
    troupe_ref s = full_server(sys, &ss, TROUPE_OVERFLOW_REDIRECT, &held);
    cr_assert_eq(troupe_ask_cb(sys, s, M_ECHO, "x", 1, UINT64_MAX, record_cb, &dead), 0);
    wait_until(atomic_load(&dead.done) == 1);
    cr_expect_eq(atomic_load(&dead.rc), TROUPE_ENOACTOR);
    cr_expect_geq(tt_sys_stats(sys).dead_letters, 1u);
    release_server(sys, &ss, &held);
}
