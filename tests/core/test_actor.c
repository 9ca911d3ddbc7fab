/* tests/core/test_actor.c — spawn, tell, ask basics, stop, stale refs,
 * sender, pointer payload ownership, per-sender FIFO. */
#include "../support.h"

enum {
    M_ADD = 1,   /* int64 payload: sum += it */
    M_GET,       /* ask: reply the sum */
    M_COUNT,     /* count only */
    M_STOP_SELF, /* troupe_stop_self */
    M_SENDER,    /* record msg->sender */
    M_FWD,       /* payload: a troupe_ref: tell it M_SENDER */
    M_PTR,       /* pointer payload: record, do not take */
    M_PTR_TAKE,  /* pointer payload: take it */
    M_SEQ,       /* payload: {src, seq}: check per-source order */
    M_BLOB,      /* any payload: checksum it */
    M_TAKE_NONE, /* copied payload: troupe_msg_take must give NULL */
    M_HOLD,      /* wait on sh->gate */
};

typedef struct shared {
    atomic_long sum;
    atomic_int count;
    atomic_int stops;
    atomic_int stop_kind;
    atomic_int after_stop;   /* messages handled after a stop_self */
    atomic_uint_least64_t sender;
    atomic_int senders_seen;
    atomic_int ptr_seen;
    atomic_int ptr_size_ok;
    atomic_int take_none_ok;
    void *_Atomic taken;
    atomic_long seq_errors;
    atomic_long seq_next[8];
    atomic_int init_calls;
    atomic_int stop_self_rc;
    atomic_int fwd_rc;
    atomic_uint_least64_t blob_sum;
    atomic_uint blob_size;
    tt_gate *gate;
    atomic_int downs; /* TROUPE_MSG_DOWN received */
} shared;

typedef struct st {
    shared *sh;
    int stopping;
} st;

static void shared_init(shared *sh)
{
    memset(sh, 0, sizeof *sh);
    atomic_init(&sh->stop_kind, -1);
    atomic_init(&sh->stop_self_rc, 12345);
    atomic_init(&sh->fwd_rc, 12345);
}

typedef struct seq_msg {
    int32_t src;
    int32_t pad;
    int64_t seq;
} seq_msg;

static int h_main(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    st *s = state;
    shared *sh = s->sh;
    if (s->stopping)
        atomic_fetch_add(&sh->after_stop, 1);
    if (tt_is_probe(ctx, m))
        return 0;
    switch (m->type) {
    case M_ADD: {
        int64_t v;
        if (m->size != sizeof v || m->data == NULL)
            tt_die("M_ADD size %u", m->size);
        memcpy(&v, m->data, sizeof v);
        atomic_fetch_add(&sh->sum, (long)v);
        break;
    }
    case M_GET: {
        int64_t v = atomic_load(&sh->sum);
        if (troupe_reply(ctx, M_GET, &v, sizeof v) != 0)
            tt_die("reply");
        break;
    }
    case M_COUNT:
        atomic_fetch_add(&sh->count, 1);
        break;
    case M_STOP_SELF:
        s->stopping = 1;
        atomic_store(&sh->stop_self_rc, troupe_stop_self(ctx));
        break;
    case M_SENDER:
        atomic_store(&sh->sender, m->sender.id);
        atomic_fetch_add(&sh->senders_seen, 1);
        break;
    case M_FWD: {
        troupe_ref to;
        memcpy(&to, m->data, sizeof to);
        atomic_store(&sh->fwd_rc, troupe_tell(troupe_ctx_system(ctx), to, M_SENDER, NULL, 0));
        break;
    }
    case M_PTR:
        if (m->ptr == NULL)
            tt_die("M_PTR without ptr");
        if (m->size == 0 && m->data == NULL)
            atomic_fetch_add(&sh->ptr_size_ok, 1);
        atomic_fetch_add(&sh->ptr_seen, 1);
        break;
    case M_PTR_TAKE: {
        void *p = troupe_msg_take(ctx);
        if (p == NULL || p != m->ptr)
            tt_die("take gave %p, ptr %p", p, m->ptr);
        /* A second take: the payload is ours already. */
        if (troupe_msg_take(ctx) != NULL)
            tt_die("second take returned the pointer again");
        atomic_store(&sh->taken, p);
        atomic_fetch_add(&sh->ptr_seen, 1);
        break;
    }
    case M_SEQ: {
        seq_msg q;
        memcpy(&q, m->data, sizeof q);
        if (q.src < 0 || q.src >= 8)
            tt_die("bad src");
        long want = atomic_load(&sh->seq_next[q.src]);
        if (q.seq != want)
            atomic_fetch_add(&sh->seq_errors, 1);
        atomic_store(&sh->seq_next[q.src], (long)q.seq + 1);
        break;
    }
    case M_BLOB: {
        uint64_t h = 1469598103934665603ull;
        const unsigned char *p = m->data;
        for (uint32_t i = 0; i < m->size; i++)
            h = (h ^ p[i]) * 1099511628211ull;
        atomic_store(&sh->blob_sum, h);
        atomic_store(&sh->blob_size, m->size);
        break;
    }
    case TROUPE_MSG_DOWN:
        atomic_fetch_add(&sh->downs, 1);
        break;
    case M_TAKE_NONE:
        atomic_store(&sh->take_none_ok, troupe_msg_take(ctx) == NULL && m->ptr == NULL);
        break;
    case M_HOLD:
        tt_gate_wait(sh->gate);
        break;
    default:
        tt_die("unexpected type %u", m->type);
    }
    return 0;
}

static int i_main(troupe_ctx *ctx, void *state, const void *arg)
{
    tt_init_arg(ctx, state, arg);
    atomic_fetch_add(&((st *)state)->sh->init_calls, 1);
    return 0;
}

static void s_main(troupe_ctx *ctx, void *state, troupe_failure_kind why)
{
    (void)ctx;
    shared *sh = ((st *)state)->sh;
    tt_note_stop(&sh->stops, &sh->stop_kind, why);
}

static const troupe_behaviour main_beh = {
    .name = "main",
    .state_size = sizeof(st),
    .init = i_main,
    .handle = h_main,
    .stop = s_main,
};

/* Initialise sh and spawn a main_beh actor on it (opts may be NULL). */
static troupe_ref spawn_main(troupe_system *sys, shared *sh, const troupe_spawn_opts *opts)
{
    shared_init(sh);
    return tt_spawn(sys, &main_beh, sh, opts);
}

/* ---- spawn / tell / ask ---------------------------------------------------- */

Test(actor, spawn_tell_ask_basics)
{
    troupe_system *sys = tt_system(2);
    shared sh;
    troupe_ref r = spawn_main(sys, &sh, NULL);
    cr_expect_eq(atomic_load(&sh.init_calls), 1, "init ran in spawn, before the ref came back");
    cr_expect_eq(troupe_alive(sys, r), 1);
    for (int64_t i = 1; i <= 100; i++)
        cr_assert_eq(troupe_tell(sys, r, M_ADD, &i, sizeof i), 0);
    int64_t got = -1;
    uint32_t type = 0;
    size_t len = 0;
    cr_assert_eq(troupe_ask(sys, r, M_GET, NULL, 0, ASK_FOREVER_NS, &type, &got, sizeof got, &len),
                 0);
    cr_expect_eq(type, M_GET);
    cr_expect_eq(len, sizeof got);
    cr_expect_eq(got, 5050);
    troupe_mailbox_stats ms = tt_stats(sys, r);
    cr_expect_eq(ms.accepted, 101u, "100 tells + 1 ask");
    cr_expect_geq(ms.handled, 100u);
    cr_expect_eq(ms.capacity, 1000u, "the system default capacity");
    cr_expect_eq(ms.dropped + ms.rejected + ms.redirected + ms.parked + ms.failed, 0u);
    troupe_system_destroy(sys);
}

Test(actor, stats_of_a_fresh_actor)
{
    troupe_system *sys = tt_system(1);
    shared sh;
    troupe_spawn_opts o = tt_opts(37, TROUPE_OVERFLOW_REJECT);
    troupe_ref r = spawn_main(sys, &sh, &o);
    troupe_mailbox_stats ms = tt_stats(sys, r);
    cr_expect_eq(ms.capacity, 37u);
    cr_expect_eq(ms.depth, 0u);
    cr_expect_eq(ms.accepted + ms.handled + ms.dropped + ms.rejected + ms.redirected + ms.parked +
                     ms.failed,
                 0u);
    cr_expect_eq(troupe_actor_stats(sys, r, NULL), TROUPE_EINVAL);
    troupe_system_destroy(sys);
}

Test(actor, payload_sizes_round_trip)
{
    troupe_system *sys = tt_system(2);
    shared sh;
    troupe_ref r = spawn_main(sys, &sh, NULL);
    static const size_t sizes[] = {0, 1, 7, 23, 24, 25, 64, 1000, 4096, 65536, TROUPE_COPY_MAX};
    unsigned char *buf = malloc(TROUPE_COPY_MAX);
    cr_assert_not_null(buf);
    for (size_t i = 0; i < TROUPE_COPY_MAX; i++)
        buf[i] = (unsigned char)(i * 131u + 7u);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        cr_assert_eq(troupe_tell(sys, r, M_BLOB, n ? buf : NULL, n), 0, "size %zu", n);
        /* Scribble over the source: the runtime copied it. */
        buf[0] ^= 0xff;
        tt_probe(sys, r);
        buf[0] ^= 0xff;
        cr_expect_eq(atomic_load(&sh.blob_size), (unsigned)n, "size %zu", n);
        cr_expect_eq(atomic_load(&sh.blob_sum), tt_fnv(buf, n), "content of size %zu", n);
    }
    free(buf);
    troupe_system_destroy(sys);
}

Test(actor, bad_tells_are_einval)
{
    troupe_system *sys = tt_system(1);
    shared sh;
    troupe_ref r = spawn_main(sys, &sh, NULL);
    cr_expect_eq(troupe_tell(sys, r, M_BLOB, "x", (size_t)TROUPE_COPY_MAX + 1), TROUPE_EINVAL);
    cr_expect_eq(troupe_tell(sys, r, TROUPE_MSG_SYSTEM, NULL, 0), TROUPE_EINVAL);
    cr_expect_eq(troupe_tell(sys, r, TROUPE_MSG_ASK_TIMEOUT, NULL, 0), TROUPE_EINVAL);
    cr_expect_eq(troupe_tell(sys, r, 0xFFFFFFFFu, NULL, 0), TROUPE_EINVAL);
    cr_expect_eq(troupe_tell_ptr(sys, r, TROUPE_MSG_SYSTEM, &sh, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_ask(sys, r, TROUPE_MSG_SYSTEM, NULL, 0, 1, NULL, NULL, 0, NULL),
                 TROUPE_EINVAL);
    cr_expect_eq(troupe_tell(NULL, r, M_COUNT, NULL, 0), TROUPE_EINVAL);
    cr_expect_eq(troupe_tell(sys, TROUPE_REF_NONE, M_COUNT, NULL, 0), TROUPE_ENOACTOR);
    /* A ref that was never issued. */
    cr_expect_eq(troupe_tell(sys, (troupe_ref){0x00ABCDEF00001234ull}, M_COUNT, NULL, 0),
                 TROUPE_ENOACTOR);
    tt_probe(sys, r);
    cr_expect_eq(atomic_load(&sh.count), 0);
    troupe_system_destroy(sys);
}

static int h_only(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    (void)ctx;
    (void)state;
    (void)m;
    return 0;
}

Test(actor, bad_spawns_are_einval)
{
    troupe_system *sys = tt_system(1);
    shared sh;
    shared_init(&sh);
    troupe_ref r;
    static const troupe_behaviour no_handle = {.name = "no-handle", .state_size = 8};

    r.id = 99;
    cr_expect_eq(troupe_spawn(NULL, &main_beh, &sh, NULL, &r), TROUPE_EINVAL);
    r.id = 99;
    cr_expect_eq(troupe_spawn(sys, NULL, &sh, NULL, &r), TROUPE_EINVAL);
    cr_expect(troupe_ref_is_none(r), "*out is NONE on error");
    cr_expect_eq(troupe_spawn(sys, &main_beh, &sh, NULL, NULL), TROUPE_EINVAL);
    r.id = 99;
    cr_expect_eq(troupe_spawn(sys, &no_handle, NULL, NULL, &r), TROUPE_EINVAL);
    cr_expect(troupe_ref_is_none(r));

    troupe_spawn_opts o = tt_opts(TROUPE_MAILBOX_MAX_CAPACITY + 1, -1);
    r.id = 99;
    cr_expect_eq(troupe_spawn(sys, &main_beh, &sh, &o, &r), TROUPE_EINVAL, "capacity > max");
    cr_expect(troupe_ref_is_none(r));
    o = tt_opts(0, TROUPE_OVERFLOW_REDIRECT + 1);
    cr_expect_eq(troupe_spawn(sys, &main_beh, &sh, &o, &r), TROUPE_EINVAL, "unknown policy");
    o = tt_opts(0, -2);
    cr_expect_eq(troupe_spawn(sys, &main_beh, &sh, &o, &r), TROUPE_EINVAL, "policy -2");
    o = tt_opts(0, -1);
    o.batch = TROUPE_MAX_BATCH + 1;
    cr_expect_eq(troupe_spawn(sys, &main_beh, &sh, &o, &r), TROUPE_EINVAL, "batch > max");

    cr_expect_eq(atomic_load(&sh.init_calls), 0, "init never ran for a refused spawn");
    cr_expect_eq(tt_sys_stats(sys).actors_live, 0u);

    /* A behaviour with only a handler and no state is fine. */
    static const troupe_behaviour minimal = {.name = "minimal", .handle = h_only};
    troupe_ref m = tt_spawn(sys, &minimal, NULL, NULL);
    cr_expect_eq(troupe_tell(sys, m, M_COUNT, NULL, 0), 0);
    troupe_system_destroy(sys);
}

/* ---- init failure ------------------------------------------------------------ */

static atomic_int fail_init_stops;
static atomic_int fail_init_handles;

static int i_fail(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx;
    /* The state is zeroed and writable during init. */
    memset(state, 0x11, 64);
    return *(const int *)arg;
}

static int h_fail(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    (void)ctx;
    (void)state;
    (void)m;
    atomic_fetch_add(&fail_init_handles, 1);
    return 0;
}

static void s_fail(troupe_ctx *ctx, void *state, troupe_failure_kind why)
{
    (void)ctx;
    (void)state;
    (void)why;
    atomic_fetch_add(&fail_init_stops, 1);
}

static const troupe_behaviour failing_init = {
    .name = "failing-init",
    .state_size = 64,
    .init = i_fail,
    .handle = h_fail,
    .stop = s_fail,
};

Test(actor, init_failure_returns_its_code)
{
    troupe_system *sys = tt_system(1);
    static const int codes[] = {-42, TROUPE_ENOMEM, -1000};
    for (size_t i = 0; i < 3; i++) {
        troupe_ref r = {77};
        int rc = troupe_spawn(sys, &failing_init, &codes[i], NULL, &r);
        cr_expect_eq(rc, codes[i], "spawn returns init's code");
        cr_expect(troupe_ref_is_none(r), "*out is NONE");
    }
    troupe_system_stats st = tt_sys_stats(sys);
    cr_expect_eq(st.actors_live, 0u);
    /* Nothing was started: no handler and no stop callback ran. */
    int ok = 0;
    troupe_ref r = tt_spawn(sys, &failing_init, &ok, NULL);
    cr_expect_eq(tt_sys_stats(sys).actors_live, 1u);
    cr_assert_eq(troupe_stop(sys, r), 0);
    tt_wait_dead(sys, r);
    troupe_system_destroy(sys);
    cr_expect_eq(atomic_load(&fail_init_handles), 0);
    cr_expect_eq(atomic_load(&fail_init_stops), 1, "only the started actor's stop ran");
}

/* ---- stop and stale refs ---------------------------------------------------- */

Test(actor, stop_then_everything_is_enoactor)
{
    troupe_system *sys = tt_system(2);
    shared sh;
    troupe_ref r = spawn_main(sys, &sh, NULL);
    cr_assert_eq(troupe_stop(sys, r), 0);
    tt_wait_dead(sys, r);
    wait_until(atomic_load(&sh.stops) == 1);
    cr_expect_eq(atomic_load(&sh.stop_kind), TROUPE_EXIT_NORMAL);

    cr_expect_eq(troupe_tell(sys, r, M_COUNT, NULL, 0), TROUPE_ENOACTOR);
    cr_expect_eq(troupe_ask(sys, r, M_GET, NULL, 0, ASK_FOREVER_NS, NULL, NULL, 0, NULL),
                 TROUPE_ENOACTOR);
    troupe_mailbox_stats ms;
    cr_expect_eq(troupe_actor_stats(sys, r, &ms), TROUPE_ENOACTOR);
    cr_expect_eq(troupe_stop(sys, r), TROUPE_ENOACTOR);
    tt_tracker tr;
    tt_tracker_init(&tr);
    tt_item *it = tt_item_new(&tr, 1);
    cr_expect_eq(troupe_tell_ptr(sys, r, M_PTR, it, tt_item_dtor), TROUPE_ENOACTOR);
    cr_expect_eq(tt_destroyed(&tr), 0, "caller keeps the payload on ENOACTOR");
    tt_item_free(it);

    troupe_system_destroy(sys);
    cr_expect_eq(atomic_load(&sh.stops), 1, "stop ran once");
    cr_expect_eq(atomic_load(&sh.count), 0);
    tt_tracker_fini(&tr);
}

Test(actor, stale_ref_never_reaches_a_new_actor)
{
    troupe_system *sys = tt_system(2);
    enum { ROUNDS = 64 };
    shared *sh = calloc(ROUNDS, sizeof *sh);
    troupe_ref *old = calloc(ROUNDS, sizeof *old);
    cr_assert(sh && old);
    for (int i = 0; i < ROUNDS; i++) {
        shared_init(&sh[i]);
        /* Spawn, stop, wait: the slot is free for the next spawn. */
        old[i] = tt_spawn(sys, &main_beh, &sh[i], NULL);
        for (int j = 0; j < i; j++)
            cr_expect_neq(old[i].id, old[j].id, "refs are never reused");
        cr_assert_eq(troupe_stop(sys, old[i]), 0);
        tt_wait_dead(sys, old[i]);
        /* Every old ref fails, none reaches the live actor of this round
         * (which may sit in the same slot). */
        troupe_ref live = tt_spawn(sys, &main_beh, &sh[i], NULL);
        for (int j = 0; j <= i; j++) {
            cr_expect_eq(troupe_tell(sys, old[j], M_COUNT, NULL, 0), TROUPE_ENOACTOR);
            cr_expect_eq(troupe_alive(sys, old[j]), 0);
        }
        tt_probe(sys, live);
        cr_expect_eq(atomic_load(&sh[i].count), 0, "a stale tell reached the new actor");
        cr_assert_eq(troupe_stop(sys, live), 0);
        tt_wait_dead(sys, live);
    }
    troupe_system_destroy(sys);
    free(sh);
    free(old);
}

Test(actor, stop_self)
{
    troupe_system *sys = tt_system(2);
    shared sh;
    troupe_ref r = spawn_main(sys, &sh, NULL);
    cr_assert_eq(troupe_tell(sys, r, M_COUNT, NULL, 0), 0);
    cr_assert_eq(troupe_tell(sys, r, M_STOP_SELF, NULL, 0), 0);
    /* Messages behind the stop: each is accepted (then destroyed, never
     * handled) or refused with ENOACTOR (the caller keeps it). */
    tt_tracker tr;
    tt_tracker_init(&tr);
    long accepted = 0;
    for (int i = 0; i < 20; i++) {
        tt_item *it = tt_item_new(&tr, i);
        int rc = troupe_tell_ptr(sys, r, M_PTR, it, tt_item_dtor);
        cr_assert(rc == 0 || rc == TROUPE_ENOACTOR, "tell_ptr: %s", troupe_errname(rc));
        if (rc == 0)
            accepted++;
        else
            tt_item_free(it);
    }
    tt_wait_dead(sys, r);
    cr_expect_eq(atomic_load(&sh.stop_self_rc), 0);
    cr_expect_eq(atomic_load(&sh.count), 1);
    cr_expect_eq(atomic_load(&sh.after_stop), 0, "nothing handled after stop_self");
    cr_expect_eq(atomic_load(&sh.ptr_seen), 0);
    wait_until(atomic_load(&sh.stops) == 1);
    cr_expect_eq(atomic_load(&sh.stop_kind), TROUPE_EXIT_NORMAL);
    wait_until(tt_destroyed(&tr) == accepted);
    cr_expect_eq(troupe_tell(sys, r, M_COUNT, NULL, 0), TROUPE_ENOACTOR);
    troupe_system_destroy(sys);
    cr_expect_eq(tt_destroyed(&tr), accepted, "each accepted payload destroyed exactly once");
    cr_expect_eq(atomic_load(&sh.stops), 1);
    tt_tracker_fini(&tr);
}

/* A stop is served before the user messages already queued: sent while a
 * handler holds the actor, it takes effect when that handler returns, and
 * none of the messages queued behind it is handled (they are destroyed). */
static void stop_before_queued(uint32_t batch)
{
    troupe_system *sys = tt_system(2);
    shared sh;
    tt_gate g;
    tt_gate_init(&g);
    troupe_spawn_opts o = tt_opts(0, -1);
    o.batch = batch;
    troupe_ref r = spawn_main(sys, &sh, &o);
    sh.gate = &g;
    tt_hold(sys, r, M_HOLD, &g);
    enum { N = 200 };
    for (int i = 0; i < N; i++)
        cr_assert_eq(troupe_tell(sys, r, M_COUNT, NULL, 0), 0);
    cr_assert_eq(troupe_stop(sys, r), 0);
    tt_gate_open(&g);
    tt_wait_dead(sys, r);
    wait_until(atomic_load(&sh.stops) == 1);
    cr_expect_eq(atomic_load(&sh.count), 0, "batch %u: %d queued messages handled after the stop",
                 batch, atomic_load(&sh.count));
    cr_expect_eq(atomic_load(&sh.stop_kind), TROUPE_EXIT_NORMAL);
    /* counted once the ended actor's mailbox is emptied, after it is gone */
    wait_until(tt_sys_stats(sys).messages_destroyed >= (uint64_t)N);
    troupe_system_destroy(sys);
    tt_gate_destroy(&g);
}

Test(actor, stop_is_served_before_queued_messages)
{
    stop_before_queued(0);   /* the system's default batch */
    stop_before_queued(1);
    stop_before_queued(TROUPE_MAX_BATCH);
}

/* Trapped, the stop is the next message, ahead of the queued ones; the
 * actor decides to end there. */
static int h_trap(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    shared *sh = ((st *)state)->sh;
    if (m->type == M_HOLD)
        tt_gate_wait(sh->gate);
    else if (m->type == M_COUNT)
        atomic_fetch_add(&sh->count, 1);
    else if (m->type == TROUPE_MSG_STOP) {
        atomic_store(&sh->after_stop, atomic_load(&sh->count)); /* handled before it */
        atomic_store(&sh->stop_self_rc, troupe_stop_self(ctx));
    }
    return 0;
}

static const troupe_behaviour trap_beh = {
    .name = "trap",
    .state_size = sizeof(st),
    .init = i_main,
    .handle = h_trap,
    .stop = s_main,
    .flags = TROUPE_BEH_TRAP_STOP,
};

Test(actor, trapped_stop_comes_before_queued_messages)
{
    troupe_system *sys = tt_system(2);
    shared sh;
    shared_init(&sh);
    tt_gate g;
    tt_gate_init(&g);
    sh.gate = &g;
    troupe_ref r = tt_spawn(sys, &trap_beh, &sh, NULL);
    tt_hold(sys, r, M_HOLD, &g);
    for (int i = 0; i < 50; i++)
        cr_assert_eq(troupe_tell(sys, r, M_COUNT, NULL, 0), 0);
    cr_assert_eq(troupe_stop(sys, r), 0);
    tt_gate_open(&g);
    tt_wait_dead(sys, r);
    wait_until(atomic_load(&sh.stops) == 1);
    cr_expect_eq(atomic_load(&sh.stop_self_rc), 0);
    cr_expect_eq(atomic_load(&sh.after_stop), 0, "messages handled before the trapped stop");
    cr_expect_eq(atomic_load(&sh.count), 0, "messages handled after stop_self");
    troupe_system_destroy(sys);
    tt_gate_destroy(&g);
}

Test(actor, stop_callback_runs_once_even_if_stopped_twice)
{
    troupe_system *sys = tt_system(2);
    shared sh;
    troupe_ref r = spawn_main(sys, &sh, NULL);
    int rc1 = troupe_stop(sys, r);
    int rc2 = troupe_stop(sys, r);
    cr_expect_eq(rc1, 0);
    cr_expect(rc2 == 0 || rc2 == TROUPE_ENOACTOR, "second stop: %s", troupe_errname(rc2));
    tt_wait_dead(sys, r);
    wait_until(atomic_load(&sh.stops) >= 1);
    troupe_system_destroy(sys);
    cr_expect_eq(atomic_load(&sh.stops), 1);
    cr_expect_eq(atomic_load(&sh.stop_kind), TROUPE_EXIT_NORMAL);
}

Test(actor, stop_and_stop_self_race)
{
    troupe_system *sys = tt_system(2);
    shared sh;
    troupe_ref r = spawn_main(sys, &sh, NULL);
    cr_assert_eq(troupe_tell(sys, r, M_STOP_SELF, NULL, 0), 0);
    int rc = troupe_stop(sys, r);
    cr_expect(rc == 0 || rc == TROUPE_ENOACTOR);
    tt_wait_dead(sys, r);
    troupe_system_destroy(sys);
    cr_expect_eq(atomic_load(&sh.stops), 1, "one stop callback whichever stop won");
    cr_expect_eq(atomic_load(&sh.stop_kind), TROUPE_EXIT_NORMAL);
}

/* ---- sender -------------------------------------------------------------------- */

Test(actor, sender_is_the_sending_actor_or_none)
{
    troupe_system *sys = tt_system(2);
    shared sa, sb;
    troupe_ref a = spawn_main(sys, &sa, NULL);
    troupe_ref b = spawn_main(sys, &sb, NULL);

    /* From a plain thread: NONE. */
    atomic_store(&sb.sender, 0xDEADull);
    cr_assert_eq(troupe_tell(sys, b, M_SENDER, NULL, 0), 0);
    tt_probe(sys, b);
    cr_expect_eq(atomic_load(&sb.senders_seen), 1);
    cr_expect_eq(atomic_load(&sb.sender), 0u, "sender from a thread is NONE");

    /* From a's handler: a. */
    cr_assert_eq(troupe_tell(sys, a, M_FWD, &b, sizeof b), 0);
    wait_until(atomic_load(&sb.senders_seen) == 2);
    cr_expect_eq(atomic_load(&sa.fwd_rc), 0);
    cr_expect_eq(atomic_load(&sb.sender), a.id, "sender is the sending actor");

    /* An actor telling itself. */
    cr_assert_eq(troupe_tell(sys, a, M_FWD, &a, sizeof a), 0);
    wait_until(atomic_load(&sa.senders_seen) == 1);
    cr_expect_eq(atomic_load(&sa.sender), a.id);
    troupe_system_destroy(sys);
}

/* ---- pointer payloads ----------------------------------------------------------- */

Test(actor, tell_ptr_dtor_runs_once_after_handling)
{
    troupe_system *sys = tt_system(2);
    shared sh;
    shared_init(&sh);
    tt_tracker tr;
    tt_tracker_init(&tr);
    troupe_ref r = tt_spawn(sys, &main_beh, &sh, NULL);
    enum { N = 50 };
    for (int i = 0; i < N; i++)
        cr_assert_eq(troupe_tell_ptr(sys, r, M_PTR, tt_item_new(&tr, i), tt_item_dtor), 0);
    tt_probe(sys, r);
    cr_expect_eq(atomic_load(&sh.ptr_seen), N);
    cr_expect_eq(atomic_load(&sh.ptr_size_ok), N, "a ptr message has size 0 and data NULL");
    wait_until(tt_destroyed(&tr) == N);
    /* NULL dtor: nothing to free, nothing called. */
    static int not_owned = 5;
    cr_assert_eq(troupe_tell_ptr(sys, r, M_PTR, &not_owned, NULL), 0);
    tt_probe(sys, r);
    cr_expect_eq(atomic_load(&sh.ptr_seen), N + 1);
    troupe_system_destroy(sys);
    cr_expect_eq(tt_destroyed(&tr), N, "each payload destroyed exactly once");
    long *log;
    size_t n = tt_tracker_log(&tr, &log);
    cr_assert_eq(n, (size_t)N);
    char seen[N] = {0};
    for (size_t i = 0; i < n; i++) {
        cr_assert(log[i] >= 0 && log[i] < N);
        cr_expect_eq(seen[log[i]], 0, "value %ld destroyed twice", log[i]);
        seen[log[i]] = 1;
    }
    free(log);
    tt_tracker_fini(&tr);
}

Test(actor, msg_take_transfers_ownership)
{
    troupe_system *sys = tt_system(2);
    shared sh;
    shared_init(&sh);
    tt_tracker tr;
    tt_tracker_init(&tr);
    troupe_ref r = tt_spawn(sys, &main_beh, &sh, NULL);
    tt_item *it = tt_item_new(&tr, 42);
    cr_assert_eq(troupe_tell_ptr(sys, r, M_PTR_TAKE, it, tt_item_dtor), 0);
    tt_probe(sys, r);
    cr_expect_eq(atomic_load(&sh.ptr_seen), 1);
    cr_expect_eq(atomic_load(&sh.taken), (void *)it, "the handler took our pointer");
    cr_assert_eq(troupe_tell(sys, r, M_TAKE_NONE, "abc", 3), 0);
    tt_probe(sys, r);
    cr_expect_eq(atomic_load(&sh.take_none_ok), 1, "take on a copied payload gives NULL");
    troupe_system_destroy(sys);
    cr_expect_eq(tt_destroyed(&tr), 0, "a taken payload is never destroyed by the runtime");
    tt_item_dtor(it); /* ours now */
    cr_expect_eq(tt_destroyed(&tr), 1);
    tt_tracker_fini(&tr);
}

/* ---- order ------------------------------------------------------------------------- */

typedef struct fifo_arg {
    troupe_system *sys;
    troupe_ref to;
    int src;
    long n;
    atomic_long *fails;
} fifo_arg;

static void *fifo_sender(void *p)
{
    fifo_arg *a = p;
    for (long i = 0; i < a->n; i++) {
        seq_msg q = {a->src, 0, i};
        if (troupe_tell(a->sys, a->to, M_SEQ, &q, sizeof q) != 0)
            atomic_fetch_add(a->fails, 1);
    }
    return NULL;
}

Test(actor, per_sender_fifo_from_threads)
{
    troupe_system *sys = tt_system(2);
    shared sh;
    troupe_ref r = spawn_main(sys, &sh, NULL);
    enum { T = 4 };
    long n = tt_scaled(5000, 200);
    atomic_long fails;
    atomic_init(&fails, 0);
    pthread_t th[T];
    fifo_arg args[T];
    for (int t = 0; t < T; t++) {
        args[t] = (fifo_arg){sys, r, t, n, &fails};
        cr_assert_eq(pthread_create(&th[t], NULL, fifo_sender, &args[t]), 0);
    }
    for (int t = 0; t < T; t++)
        pthread_join(th[t], NULL);
    cr_assert_eq(atomic_load(&fails), 0);
    tt_probe(sys, r);
    cr_expect_eq(atomic_load(&sh.seq_errors), 0, "per-sender order broken");
    for (int t = 0; t < T; t++)
        cr_expect_eq(atomic_load(&sh.seq_next[t]), n, "sender %d: all messages arrived", t);
    troupe_system_destroy(sys);
}

/* An actor that sends a numbered stream to another actor. */
enum { M_EMIT = 100 };

typedef struct emit_req {
    troupe_ref to;
    int32_t src;
    int32_t n;
} emit_req;

static int h_emitter(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    (void)state;
    if (tt_is_probe(ctx, m))
        return 0;
    if (m->type != M_EMIT)
        tt_die("emitter: type %u", m->type);
    emit_req rq;
    memcpy(&rq, m->data, sizeof rq);
    for (int32_t i = 0; i < rq.n; i++) {
        seq_msg q = {rq.src, 0, i};
        if (troupe_tell(troupe_ctx_system(ctx), rq.to, M_SEQ, &q, sizeof q) != 0)
            tt_die("emitter tell failed");
    }
    return 0;
}

static const troupe_behaviour emitter = {.name = "emitter", .handle = h_emitter};

Test(actor, per_sender_fifo_from_actors)
{
    troupe_system *sys = tt_system(2);
    shared sh;
    troupe_ref r = spawn_main(sys, &sh, NULL);
    enum { E = 3 };
    int32_t n = (int32_t)tt_scaled(3000, 200);
    troupe_ref e[E];
    for (int i = 0; i < E; i++) {
        e[i] = tt_spawn(sys, &emitter, NULL, NULL);
        emit_req rq = {r, i, n};
        cr_assert_eq(troupe_tell(sys, e[i], M_EMIT, &rq, sizeof rq), 0);
    }
    for (int i = 0; i < E; i++)
        wait_until(atomic_load(&sh.seq_next[i]) == n);
    tt_probe(sys, r);
    cr_expect_eq(atomic_load(&sh.seq_errors), 0, "per-sender order broken");
    troupe_system_destroy(sys);
}

/* ---- a ref names an actor of one system ------------------------------------------------- */

#define REF_LOW54 ((1ull << 54) - 1) /* index and generation: the rest is the tag */

/* Every call that takes a ref, given system A's ref in system B, where an
 * actor sits in the same slot with the same generation: each fails as for
 * a stopped actor, and B's actor sees nothing. (Before: the tell returned 0
 * and B's actor handled it; info described it; stop stopped it.) */
Test(actor, a_ref_of_another_system_names_nothing_there)
{
    troupe_system *a_sys = tt_system(1), *b_sys = tt_system(1);
    shared sa, sb;
    troupe_ref ra = spawn_main(a_sys, &sa, NULL), rb = spawn_main(b_sys, &sb, NULL);
    cr_assert_eq(ra.id & REF_LOW54, rb.id & REF_LOW54, "premise: same slot, same generation");
    cr_expect_neq(ra.id, rb.id, "two live systems tag their refs apart");

    cr_expect_eq(troupe_tell(b_sys, ra, M_COUNT, NULL, 0), TROUPE_ENOACTOR);
    tt_item *it = tt_item_new(NULL, 1);
    cr_expect_eq(troupe_tell_ptr(b_sys, ra, M_PTR, it, NULL), TROUPE_ENOACTOR);
    tt_item_free(it);
    cr_expect_eq(troupe_ask(b_sys, ra, M_GET, NULL, 0, ASK_FOREVER_NS, NULL, NULL, 0, NULL),
                 TROUPE_ENOACTOR);
    cr_expect_eq(troupe_alive(b_sys, ra), 0);
    troupe_mailbox_stats ms;
    cr_expect_eq(troupe_actor_stats(b_sys, ra, &ms), TROUPE_ENOACTOR);
    troupe_actor_info info;
    cr_expect_eq(troupe_actor_info_get(b_sys, ra, &info), TROUPE_ENOACTOR);
    cr_expect_eq(troupe_register(b_sys, "foreign", ra), TROUPE_ENOACTOR);
    uint64_t mon = 0;
    cr_expect_eq(troupe_monitor(b_sys, ra, rb, &mon), TROUPE_ENOACTOR, "a foreign watcher");
    /* a foreign target is "already gone": DOWN (noproc) to the watcher, and
     * no monitor on B's actor in that slot */
    cr_expect_eq(troupe_monitor(b_sys, rb, ra, &mon), 0);
    cr_expect_eq(troupe_demonitor(b_sys, rb, mon), TROUPE_ENOTFOUND, "B's actor was monitored");
    cr_expect_eq(troupe_stop(b_sys, ra), TROUPE_ENOACTOR);

    wait_until(atomic_load(&sb.downs) == 1); /* the noproc DOWN */
    tt_probe(b_sys, rb);
    cr_expect_eq(atomic_load(&sb.count), 0, "B's actor handled a message sent to A's");
    cr_expect_eq(atomic_load(&sb.ptr_seen), 0);
    cr_expect_eq(atomic_load(&sb.stops), 0, "B's actor was stopped by A's ref");
    cr_expect_eq(troupe_alive(b_sys, rb), 1);
    troupe_ref named;
    cr_expect_eq(troupe_whereis(b_sys, "foreign", &named), TROUPE_ENOTFOUND);
    /* and each still works in its own system */
    cr_expect_eq(troupe_tell(a_sys, ra, M_COUNT, NULL, 0), 0);
    tt_probe(a_sys, ra);
    cr_expect_eq(atomic_load(&sa.count), 1);
    troupe_system_destroy(b_sys);
    troupe_system_destroy(a_sys);
}

/* A ref with any bit outside its index and generation changed (the tag,
 * or the index's bits the table never uses) names nothing. */
Test(actor, a_ref_with_flipped_bits_names_nothing)
{
    troupe_system *sys = tt_system(1);
    shared sh;
    troupe_ref r = spawn_main(sys, &sh, NULL);
    const int bits[] = {26, 29, 31, 54, 55, 60, 62, 63};
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++) {
        troupe_ref bad = {r.id ^ (1ull << bits[i])};
        cr_expect_eq(troupe_tell(sys, bad, M_COUNT, NULL, 0), TROUPE_ENOACTOR, "bit %d", bits[i]);
        cr_expect_eq(troupe_alive(sys, bad), 0, "bit %d", bits[i]);
        cr_expect_eq(troupe_stop(sys, bad), TROUPE_ENOACTOR, "bit %d", bits[i]);
    }
    troupe_ref untagged = {r.id & REF_LOW54};
    cr_expect_eq(troupe_tell(sys, untagged, M_COUNT, NULL, 0), TROUPE_ENOACTOR, "no tag");
    tt_probe(sys, r);
    cr_expect_eq(atomic_load(&sh.count), 0);
    cr_expect_eq(atomic_load(&sh.stops), 0);
    cr_expect_eq(troupe_tell(sys, r, M_COUNT, NULL, 0), 0, "the ref itself still works");
    tt_probe(sys, r);
    cr_expect_eq(atomic_load(&sh.count), 1);
    troupe_system_destroy(sys);
}
