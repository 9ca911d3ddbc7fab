/* tests/core/test_tell_many.c — troupe_tell_many: a burst to one actor.
 * Every message delivered once and in order (from plain threads racing,
 * from a handler mixed with troupe_tell), partial acceptance at a full
 * mailbox under each overflow policy, bad input. */
#include <limits.h>

#include "../support.h"

enum { M_ITEM = 1, M_HOLD, M_BURST };

#define SENDERS 2
#define BIG 100 /* a payload over TROUPE_INLINE_MAX: a heap copy */

/* {sender, seq}, then a pattern of seq's low byte up to the size */
typedef struct item {
    uint32_t sender;
    uint32_t seq;
} item;

typedef struct shared {
    atomic_long count;
    atomic_long bad; /* out of order, torn, or from nowhere */
    uint32_t next[SENDERS + 1];
    tt_gate *gate;
    tt_log log; /* the seqs handled, in order */
} shared;

typedef struct sender_st {
    shared *sh;
    troupe_ref to;
    uint32_t n;
} sender_st;

static int h_recv(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    shared *sh = *(shared **)state;
    if (tt_is_probe(ctx, m))
        return 0;
    if (m->type == M_HOLD) {
        tt_gate_wait(sh->gate);
        return 0;
    }
    item it;
    if (m->type != M_ITEM || m->size < sizeof it) {
        atomic_fetch_add(&sh->bad, 1);
        return 0;
    }
    memcpy(&it, m->data, sizeof it);
    const uint8_t *p = m->data;
    if (it.sender > SENDERS || it.seq != sh->next[it.sender] ||
        (m->size > sizeof it && p[m->size - 1] != (uint8_t)it.seq))
        atomic_fetch_add(&sh->bad, 1);
    if (it.sender <= SENDERS)
        sh->next[it.sender] = it.seq + 1;
    tt_log_add(&sh->log, it.seq);
    atomic_fetch_add(&sh->count, 1);
    return 0;
}

static const troupe_behaviour recv_beh = {
    .name = "tm.recv", .state_size = sizeof(void *), .init = tt_init_arg, .handle = h_recv};

/* Items seq0.. of `sender`, sizes alternating inline / heap; bufs holds
 * the payloads (n * BIG bytes). */
static void make_items(troupe_batch_msg *b, uint8_t *bufs, uint32_t sender, uint32_t seq0, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = bufs + i * BIG;
        item it = {sender, seq0 + (uint32_t)i};
        size_t len = (it.seq % 3 == 0) ? BIG : 16;
        memset(p, (uint8_t)it.seq, len);
        memcpy(p, &it, sizeof it);
        b[i] = (troupe_batch_msg){.type = M_ITEM, .data = p, .len = len};
    }
}

/* From a handler: a burst by troupe_tell, then by troupe_tell_many, then
 * by troupe_tell again: one sender's order across both calls. */
static int h_sender(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    sender_st *s = state;
    if (tt_is_probe(ctx, m))
        return 0;
    troupe_system *sys = troupe_ctx_system(ctx);
    static _Thread_local troupe_batch_msg b[300];
    static _Thread_local uint8_t bufs[300 * BIG];
    uint32_t seq = 0;
    make_items(b, bufs, SENDERS, 0, 300);
    for (; seq < 5; seq++)
        if (troupe_tell(sys, s->to, M_ITEM, b[seq].data, b[seq].len))
            return -1;
    int got = troupe_tell_many(sys, s->to, b + 5, 290);
    if (got != 290)
        return -1;
    for (seq = 295; seq < 300; seq++)
        if (troupe_tell(sys, s->to, M_ITEM, b[seq].data, b[seq].len))
            return -1;
    (void)m;
    return 0;
}

static int i_sender(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx;
    *(sender_st *)state = *(const sender_st *)arg;
    return 0;
}

static const troupe_behaviour sender_beh = {
    .name = "tm.sender", .state_size = sizeof(sender_st), .init = i_sender, .handle = h_sender};

static void shared_init(shared *sh, tt_gate *g)
{
    memset(sh, 0, sizeof *sh);
    tt_log_init(&sh->log);
    sh->gate = g;
}

typedef struct thread_arg {
    troupe_system *sys;
    troupe_ref to;
    uint32_t sender;
    uint32_t total;
    atomic_int *errors;
} thread_arg;

static void *plain_sender(void *p)
{
    thread_arg *a = p;
    enum { BATCH = 200 };
    troupe_batch_msg *b = malloc(BATCH * sizeof *b);
    uint8_t *bufs = malloc(BATCH * BIG);
    for (uint32_t seq = 0; b && bufs && seq < a->total;) {
        size_t n = a->total - seq < 1 + seq % BATCH ? a->total - seq : 1 + seq % BATCH;
        make_items(b, bufs, a->sender, seq, n);
        int got = troupe_tell_many(a->sys, a->to, b, n);
        if (got <= 0) { /* BLOCK waits for room: never short here */
            atomic_fetch_add(a->errors, 1);
            break;
        }
        seq += (uint32_t)got;
    }
    free(b);
    free(bufs);
    return NULL;
}

Test(tell_many, plain_threads_every_message_once_in_order)
{
    troupe_system *sys = tt_system(2);
    shared sh;
    shared_init(&sh, NULL);
    troupe_spawn_opts o = tt_opts(256, TROUPE_OVERFLOW_BLOCK); /* small: full often */
    troupe_ref r = tt_spawn(sys, &recv_beh, &sh, &o);
    uint32_t total = (uint32_t)tt_scaled(20000, 2000);
    atomic_int errors = 0;
    pthread_t th[SENDERS];
    thread_arg ta[SENDERS];
    for (uint32_t i = 0; i < SENDERS; i++) {
        ta[i] = (thread_arg){sys, r, i, total, &errors};
        cr_assert_eq(pthread_create(&th[i], NULL, plain_sender, &ta[i]), 0);
    }
    for (uint32_t i = 0; i < SENDERS; i++)
        pthread_join(th[i], NULL);
    cr_assert_eq(atomic_load(&errors), 0);
    tt_probe(sys, r);
    cr_expect_eq(atomic_load(&sh.count), (long)total * SENDERS);
    cr_expect_eq(atomic_load(&sh.bad), 0);
    cr_expect_eq(tt_stats(sys, r).accepted, (uint64_t)total * SENDERS + 1); /* + the probe */
    troupe_system_destroy(sys);
    tt_log_fini(&sh.log);
}

Test(tell_many, from_a_handler_in_order_with_tell)
{
    troupe_system *sys = tt_system(2);
    shared sh;
    shared_init(&sh, NULL);
    troupe_ref r = tt_spawn(sys, &recv_beh, &sh, NULL);
    sender_st arg = {&sh, r, 300};
    troupe_ref s = tt_spawn(sys, &sender_beh, &arg, NULL);
    cr_assert_eq(troupe_tell(sys, s, M_BURST, NULL, 0), 0);
    wait_until(atomic_load(&sh.count) == 300);
    cr_expect_eq(atomic_load(&sh.bad), 0);
    for (size_t i = 0; i < 300; i++)
        cr_expect_eq(tt_log_at(&sh.log, i), (long)i);
    troupe_system_destroy(sys);
    tt_log_fini(&sh.log);
}

/* A receiver of capacity 8 held in its handler, then a burst of 20 from
 * this thread: what it returns, then what the receiver gets once let go. */
#define CAP 8
#define BURST 20

typedef struct full_case {
    troupe_system *sys;
    shared sh;
    tt_gate g;
    troupe_ref r;
    troupe_batch_msg b[BURST];
    uint8_t bufs[BURST * BIG];
} full_case;

static void full_system(full_case *f, uint64_t block_ns)
{
    troupe_config cfg = tt_config(2, NULL);
    if (block_ns)
        cfg.block_timeout_ns = block_ns;
    f->sys = tt_system_cfg(&cfg);
}

static void full_hold(full_case *f, int policy, troupe_ref redirect_to)
{
    tt_gate_init(&f->g);
    shared_init(&f->sh, &f->g);
    troupe_spawn_opts o = tt_opts(CAP, policy);
    o.redirect_to = redirect_to;
    f->r = tt_spawn(f->sys, &recv_beh, &f->sh, &o);
    tt_hold(f->sys, f->r, M_HOLD, &f->g);
    make_items(f->b, f->bufs, 0, 0, BURST);
}

static void full_begin(full_case *f, int policy)
{
    full_system(f, 0);
    full_hold(f, policy, TROUPE_REF_NONE);
}

/* Let the receiver go; its log must be seqs first..last. */
static void full_expect(full_case *f, uint32_t first, uint32_t last)
{
    tt_gate_open(&f->g);
    /* drained first: a probe sent into a full ring would meet the policy */
    wait_until(atomic_load(&f->sh.count) == (long)(last - first + 1));
    tt_probe(f->sys, f->r);
    cr_expect_eq(atomic_load(&f->sh.bad), first ? 1 : 0); /* a gap is "out of order" once */
    cr_assert_eq(tt_log_len(&f->sh.log), (size_t)(last - first + 1));
    for (uint32_t i = first; i <= last; i++)
        cr_expect_eq(tt_log_at(&f->sh.log, i - first), (long)i);
}

static void full_end(full_case *f)
{
    troupe_system_destroy(f->sys);
    tt_gate_destroy(&f->g);
    tt_log_fini(&f->sh.log);
}

Test(tell_many, full_reject_accepts_a_prefix)
{
    static full_case f;
    full_begin(&f, TROUPE_OVERFLOW_REJECT);
    cr_expect_eq(troupe_tell_many(f.sys, f.r, f.b, BURST), CAP);
    cr_expect_eq(troupe_tell_many(f.sys, f.r, f.b + CAP, BURST - CAP), TROUPE_EFULL);
    cr_expect_eq(tt_stats(f.sys, f.r).rejected, 2u);
    full_expect(&f, 0, CAP - 1);
    full_end(&f);
}

Test(tell_many, full_drop_newest_drops_the_tail)
{
    static full_case f;
    full_begin(&f, TROUPE_OVERFLOW_DROP_NEWEST);
    cr_expect_eq(troupe_tell_many(f.sys, f.r, f.b, BURST), BURST);
    cr_expect_eq(tt_stats(f.sys, f.r).dropped, (uint64_t)(BURST - CAP));
    full_expect(&f, 0, CAP - 1);
    full_end(&f);
}

Test(tell_many, full_drop_oldest_keeps_the_newest)
{
    static full_case f;
    full_begin(&f, TROUPE_OVERFLOW_DROP_OLDEST);
    cr_expect_eq(troupe_tell_many(f.sys, f.r, f.b, BURST), BURST);
    cr_expect_eq(tt_stats(f.sys, f.r).dropped, (uint64_t)(BURST - CAP));
    full_expect(&f, BURST - CAP, BURST - 1);
    full_end(&f);
}

Test(tell_many, full_redirect_sends_the_rest_on)
{
    static full_case f;
    static shared other;
    shared_init(&other, NULL);
    full_system(&f, 0);
    troupe_ref o = tt_spawn(f.sys, &recv_beh, &other, NULL);
    full_hold(&f, TROUPE_OVERFLOW_REDIRECT, o);
    cr_expect_eq(troupe_tell_many(f.sys, f.r, f.b, BURST), BURST);
    cr_expect_eq(tt_stats(f.sys, f.r).redirected, (uint64_t)(BURST - CAP));
    tt_probe(f.sys, o);
    cr_assert_eq(tt_log_len(&other.log), (size_t)(BURST - CAP));
    for (uint32_t i = 0; i < BURST - CAP; i++)
        cr_expect_eq(tt_log_at(&other.log, i), (long)(CAP + i));
    full_expect(&f, 0, CAP - 1);
    full_end(&f);
    tt_log_fini(&other.log);
}

Test(tell_many, full_block_plain_thread_times_out_after_a_prefix)
{
    static full_case f;
    full_system(&f, 2 * MS_NS); /* the wait is not measured, only its end */
    full_hold(&f, TROUPE_OVERFLOW_BLOCK, TROUPE_REF_NONE);
    cr_expect_eq(troupe_tell_many(f.sys, f.r, f.b, BURST), CAP);
    cr_expect_eq(troupe_tell_many(f.sys, f.r, f.b + CAP, BURST - CAP), TROUPE_ETIMEDOUT);
    full_expect(&f, 0, CAP - 1);
    full_end(&f);
}

Test(tell_many, full_block_from_a_handler_parks_the_rest)
{
    static full_case f;
    full_begin(&f, TROUPE_OVERFLOW_BLOCK);
    sender_st arg = {&f.sh, f.r, 300};
    troupe_ref s = tt_spawn(f.sys, &sender_beh, &arg, NULL);
    cr_assert_eq(troupe_tell(f.sys, s, M_BURST, NULL, 0), 0);
    wait_until(tt_stats(f.sys, f.r).parked > 0);
    tt_gate_open(&f.g);
    wait_until(atomic_load(&f.sh.count) == 300);
    cr_expect_eq(atomic_load(&f.sh.bad), 0);
    for (size_t i = 0; i < 300; i++)
        cr_expect_eq(tt_log_at(&f.sh.log, i), (long)i);
    full_end(&f);
}

Test(tell_many, bad_input_sends_nothing)
{
    troupe_system *sys = tt_system(1);
    shared sh;
    shared_init(&sh, NULL);
    troupe_ref r = tt_spawn(sys, &recv_beh, &sh, NULL);
    troupe_batch_msg b[3];
    uint8_t bufs[3 * BIG];
    make_items(b, bufs, 0, 0, 3);
    cr_expect_eq(troupe_tell_many(NULL, r, b, 3), TROUPE_EINVAL);
    cr_expect_eq(troupe_tell_many(sys, r, NULL, 3), TROUPE_EINVAL);
    cr_expect_eq(troupe_tell_many(sys, r, b, (size_t)INT_MAX + 1), TROUPE_EINVAL);
    cr_expect_eq(troupe_tell_many(sys, r, NULL, 0), 0);
    troupe_batch_msg bad = b[2];
    b[2].type = TROUPE_MSG_SYSTEM;
    cr_expect_eq(troupe_tell_many(sys, r, b, 3), TROUPE_EINVAL);
    b[2] = bad;
    b[2].data = NULL;
    cr_expect_eq(troupe_tell_many(sys, r, b, 3), TROUPE_EINVAL);
    b[2] = bad;
    b[2].len = TROUPE_COPY_MAX + 1;
    cr_expect_eq(troupe_tell_many(sys, r, b, 3), TROUPE_EINVAL);
    b[2] = bad;
    b[2].reserved = 1;
    cr_expect_eq(troupe_tell_many(sys, r, b, 3), TROUPE_EINVAL);
    b[2] = bad;
    cr_expect_eq(tt_stats(sys, r).accepted, 0u); /* no prefix of a bad batch went */
    cr_expect_eq(troupe_tell_many(sys, TROUPE_REF_NONE, b, 3), TROUPE_ENOACTOR);
    cr_expect_eq(troupe_tell_many(sys, r, b, 3), 3);
    tt_probe(sys, r);
    cr_expect_eq(atomic_load(&sh.count), 3);
    cr_assert_eq(troupe_stop(sys, r), 0);
    tt_wait_dead(sys, r);
    cr_expect_eq(troupe_tell_many(sys, r, b, 3), TROUPE_ENOACTOR);
    cr_expect_eq(troupe_system_shutdown(sys, HANG_LIMIT_NS), 0);
    cr_expect_eq(troupe_tell_many(sys, r, b, 3), TROUPE_ESHUTDOWN);
    troupe_system_destroy(sys);
    tt_log_fini(&sh.log);
}
