/* tests/core/test_model.c — a model test of troupe_call and its kin.
 *
 * One supervised "account" actor is called by plain threads and by client
 * actors through every path: troupe_call, troupe_ask, call queues (wait,
 * and an eventfd queue with several calls in flight), troupe_ask_cb,
 * troupe_tell, deferred replies (troupe_reply_defer/troupe_reply_to), asks
 * from handlers (troupe_ask_async), and its published view. Some requests
 * panic (seeded, printed); the supervisor restarts the account each time.
 *
 * Why the model is exact across restarts: the account's ledger lives
 * outside the actor (the spawn argument, only ever touched by its handler,
 * one message at a time), so a restart loses only what the incarnation
 * held: its deferred tokens, whose asks then fail with TROUPE_EFAILED and
 * were never applied. A request is applied exactly when it is answered 0
 * (tells are applied unless they panic; a panic request never applies).
 * Checked: every sender's applied sum equals the ledger's, receipt order
 * per sender is strictly increasing, every call completes exactly once with
 * 0 or a code, replies are never crossed, and view reads are never torn. */
#include "../support.h"

#include <poll.h>
#include <pthread.h>

enum {
    M_OP = 1, /* apply amount, reply {seq, balance} */
    M_PANIC,  /* panic before applying */
    M_DEFER,  /* defer, apply at the next M_FLUSH */
    M_FLUSH,  /* tell to self: apply and answer the deferred ones */
    M_KICK,   /* client actor: start its asks */
};

#define SENDERS 6      /* 4 plain threads + 2 client actors */
#define THREADS 4
#define MAX_DEFER 64
#define INFLIGHT 8
#define CALL_TIMEOUT (60ull * 1000000000ull) /* liveness, never expected */

typedef struct op {
    int32_t sender, pad;
    int64_t seq, amount;
} op;

typedef struct answer {
    int64_t seq, applied;
} answer;

typedef struct ledger {
    int64_t applied[SENDERS];  /* handler only */
    int64_t last_seq[SENDERS]; /* handler only */
    atomic_long order_bad, inits;
} ledger;

typedef struct view {
    int64_t total, neg, ver;
} view;

typedef struct acct_state {
    ledger *lg;
    int ndefer;
    troupe_reply_token tok[MAX_DEFER];
    op pend[MAX_DEFER];
    int64_t ver;
} acct_state;

static void publish(troupe_ctx *ctx, acct_state *s)
{
    view *v = malloc(sizeof *v);
    if (!v)
        return;
    int64_t t = 0;
    for (int i = 0; i < SENDERS; i++)
        t += s->lg->applied[i];
    *v = (view){t, -t, ++s->ver};
    if (troupe_view_publish(ctx, v, free))
        free(v);
}

static int acct_init(troupe_ctx *ctx, void *st, const void *arg)
{
    acct_state *s = st;
    s->lg = (ledger *)arg;
    atomic_fetch_add(&s->lg->inits, 1);
    publish(ctx, s);
    return 0;
}

static int apply_reply(troupe_ctx *ctx, acct_state *s, const op *o, const troupe_reply_token *t)
{
    s->lg->applied[o->sender] += o->amount;
    answer a = {o->seq, s->lg->applied[o->sender]};
    if (t)
        return troupe_reply_to(troupe_ctx_system(ctx), *t, M_OP, &a, sizeof a);
    troupe_reply(ctx, M_OP, &a, sizeof a); /* a tell: ESTATE, nothing to answer */
    return 0;
}

static void flush(troupe_ctx *ctx, acct_state *s)
{
    for (int i = 0; i < s->ndefer; i++)
        cr_assert_eq(apply_reply(ctx, s, &s->pend[i], &s->tok[i]), 0);
    s->ndefer = 0;
}

static int acct_handle(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    acct_state *s = st;
    op o;
    if (m->type == M_FLUSH) {
        flush(ctx, s);
        publish(ctx, s);
        return 0;
    }
    if (m->size != sizeof o)
        return 0;
    memcpy(&o, m->data, sizeof o);
    if (o.seq <= s->lg->last_seq[o.sender])
        atomic_fetch_add(&s->lg->order_bad, 1);
    s->lg->last_seq[o.sender] = o.seq;
    if (m->type == M_PANIC)
        troupe_panic("model: requested panic");
    if (m->type == M_DEFER && s->ndefer < MAX_DEFER) {
        cr_assert_eq(troupe_reply_defer(ctx, &s->tok[s->ndefer]), 0);
        s->pend[s->ndefer++] = o;
        if (s->ndefer == 1)
            troupe_tell(troupe_ctx_system(ctx), troupe_self(ctx), M_FLUSH, NULL, 0);
        return 0;
    }
    apply_reply(ctx, s, &o, NULL);
    publish(ctx, s);
    return 0;
}

static const troupe_behaviour acct_beh = {
    .name = "model.account",
    .state_size = sizeof(acct_state),
    .init = acct_init,
    .handle = acct_handle,
};

/* ---- the senders' side -------------------------------------------------- */

typedef struct world {
    troupe_system *sys;
    troupe_ref acct;
    ledger lg;
    uint64_t seed;
    long ops;
    int64_t expect[SENDERS]; /* each sender's own sum of applied requests */
    atomic_long torn, views, failed, cb_twice;
} world;

typedef struct sender {
    world *w;
    int id;
    int64_t seq;
    uint64_t rng;
} sender;

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* The request a sender makes next: panics 1 in 40. */
static uint32_t next_op(sender *s, op *o, int may_defer)
{
    o->sender = s->id;
    o->pad = 0;
    o->seq = ++s->seq;
    o->amount = (int64_t)(rnd(&s->rng) % 1000) + 1;
    uint64_t r = rnd(&s->rng) % 40;
    if (r == 0) {
        o->amount = 0;
        return M_PANIC;
    }
    return (may_defer && r < 8) ? M_DEFER : M_OP;
}

/* The outcome of one answered request: rc 0 applies it, else a code. */
static void settle(sender *s, uint32_t type, const op *o, int rc, const answer *a)
{
    if (rc == 0) {
        cr_assert_neq(type, M_PANIC, "a panic request was answered");
        cr_assert_eq(a->seq, o->seq, "crossed reply: sent %lld got %lld", (long long)o->seq,
                     (long long)a->seq);
        s->w->expect[s->id] += o->amount;
        return;
    }
    /* A failure is only ever the panic itself or a deferred token lost in it. */
    cr_assert(rc == TROUPE_EFAILED && (type == M_PANIC || type == M_DEFER),
              "sender %d seq %lld type %u: rc %d", s->id, (long long)o->seq, type, rc);
    atomic_fetch_add(&s->w->failed, 1);
}

static void do_sync(sender *s, int use_call)
{
    op o;
    answer a = {0};
    uint32_t t = next_op(s, &o, 1), rt;
    size_t len = 0;
    world *w = s->w;
    int rc = use_call ? troupe_call(w->sys, w->acct, t, &o, sizeof o, CALL_TIMEOUT, &rt, &a,
                                    sizeof a, &len)
                      : troupe_ask(w->sys, w->acct, t, &o, sizeof o, CALL_TIMEOUT, &rt, &a,
                                   sizeof a, &len);
    if (rc == 0)
        cr_assert_eq(len, sizeof a);
    settle(s, t, &o, rc, &a);
}

static void do_tell(sender *s)
{
    op o;
    uint32_t t = next_op(s, &o, 0);
    cr_assert_eq(troupe_tell(s->w->sys, s->w->acct, t, &o, sizeof o), 0);
    if (t != M_PANIC)
        s->w->expect[s->id] += o.amount; /* a restart keeps the queued tells */
}

static void take_result(sender *s, troupe_callq *q, troupe_call_id c, uint32_t t, const op *o)
{
    answer a = {0};
    size_t len = 0;
    int rc = troupe_call_result(q, c, NULL, &a, sizeof a, &len);
    cr_assert_neq(rc, TROUPE_EBUSY);
    settle(s, t, o, rc, &a);
    cr_assert_eq(troupe_call_release(q, c), 0);
    cr_assert_eq(troupe_call_release(q, c), TROUPE_ENOTFOUND, "released twice");
}

static void do_callq(sender *s, troupe_callq *q)
{
    op o;
    troupe_call_id c;
    uint32_t t = next_op(s, &o, 1);
    cr_assert_eq(troupe_ask_start(q, s->w->acct, t, &o, sizeof o, CALL_TIMEOUT, NULL, &c), 0);
    cr_assert_eq(troupe_call_wait(q, c, UINT64_MAX), 0);
    take_result(s, q, c, t, &o);
}

/* Several calls in flight, completions taken from the eventfd queue. */
static void do_fdq(sender *s, troupe_callq *q)
{
    op o[INFLIGHT];
    uint32_t t[INFLIGHT];
    int seen[INFLIGHT] = {0};
    troupe_call_id c[INFLIGHT];
    for (int i = 0; i < INFLIGHT; i++) {
        t[i] = next_op(s, &o[i], 1);
        cr_assert_eq(troupe_ask_start(q, s->w->acct, t[i], &o[i], sizeof o[i], CALL_TIMEOUT,
                                      (void *)(intptr_t)i, &c[i]), 0);
    }
    for (int done = 0, polls = 0; done < INFLIGHT; polls++) {
        cr_assert_lt(polls, 100000, "calls never completed"); /* bound: the calls' timeout */
        struct pollfd p = {.fd = troupe_callq_fd(q), .events = POLLIN};
        cr_assert_geq(poll(&p, 1, 1000), 0);
        troupe_call_id got;
        void *ud;
        while (troupe_callq_next(q, &got, &ud) == 0) {
            int i = (int)(intptr_t)ud;
            cr_assert(i >= 0 && i < INFLIGHT && !seen[i] && got.id == c[i].id, "listed twice");
            seen[i] = 1;
            take_result(s, q, got, t[i], &o[i]);
            done++;
        }
    }
}

typedef struct cb_box {
    atomic_int calls, rc;
    answer a;
} cb_box;

static void on_reply(void *ud, int rc, uint32_t type, const void *data, size_t len)
{
    (void)type;
    cb_box *b = ud;
    if (rc == 0 && len == sizeof b->a)
        memcpy(&b->a, data, sizeof b->a);
    atomic_store(&b->rc, rc);
    /* release: pairs with the acquire in do_cb's wait */
    atomic_fetch_add_explicit(&b->calls, 1, memory_order_release);
}

static void do_cb(sender *s)
{
    op o;
    cb_box b = {0};
    uint32_t t = next_op(s, &o, 1);
    cr_assert_eq(troupe_ask_cb(s->w->sys, s->w->acct, t, &o, sizeof o, CALL_TIMEOUT, on_reply, &b),
                 0);
    /* acquire: pairs with the release in on_reply */
    for (long i = 0; atomic_load_explicit(&b.calls, memory_order_acquire) == 0; i++) {
        cr_assert_lt(i, 6000000L, "callback never ran"); /* bound: the call's own timeout */
        tt_sleep_ns(10000);
    }
    tt_sleep_ns(1000);
    cr_assert_eq(atomic_load(&b.calls), 1, "callback ran twice");
    settle(s, t, &o, atomic_load(&b.rc), &b.a);
}

static void read_one(const void *vp, void *ud)
{
    const view *v = vp;
    world *w = ud;
    if (v->total != -v->neg)
        atomic_fetch_add(&w->torn, 1);
    atomic_fetch_add(&w->views, 1);
}

static void do_view(sender *s)
{
    int rc = troupe_view_read(s->w->sys, s->w->acct, read_one, s->w);
    /* ENOTFOUND: read between an incarnation's end and its restart's init */
    cr_assert(rc == 0 || rc == TROUPE_ENOTFOUND, "view read: %d", rc);
}

static void *thread_main(void *arg)
{
    sender *s = arg;
    troupe_callq *q, *fq;
    cr_assert_eq(troupe_callq_create(s->w->sys, 0, &q), 0);
    cr_assert_eq(troupe_callq_create(s->w->sys, TROUPE_CALLQ_FD, &fq), 0);
    for (long i = 0; i < s->w->ops; i++) {
        switch (rnd(&s->rng) % 7) {
        case 0: do_sync(s, 1); break;
        case 1: do_sync(s, 0); break;
        case 2: do_callq(s, q); break;
        case 3: if (i % 8 == 0) do_fdq(s, fq); else do_sync(s, 1); break;
        case 4: do_cb(s); break;
        case 5: do_tell(s); break;
        default: do_view(s); break;
        }
    }
    troupe_callq_destroy(q);
    troupe_callq_destroy(fq);
    return NULL;
}

/* ---- client actors: asks from a handler, several in flight -------------- */

typedef struct client_arg {
    sender *s;
    atomic_int *done;
} client_arg;

typedef struct client_state {
    client_arg a;
    long sent, answered;
    uint64_t id[INFLIGHT];
    uint32_t type[INFLIGHT];
    op o[INFLIGHT];
} client_state;

static int client_init(troupe_ctx *ctx, void *st, const void *arg)
{
    (void)ctx;
    ((client_state *)st)->a = *(const client_arg *)arg;
    return 0;
}

static void client_send(troupe_ctx *ctx, client_state *c, int slot)
{
    sender *s = c->a.s;
    c->type[slot] = next_op(s, &c->o[slot], 1);
    cr_assert_eq(troupe_ask_async(ctx, s->w->acct, c->type[slot], &c->o[slot], sizeof c->o[slot],
                                  CALL_TIMEOUT, &c->id[slot]), 0);
    c->sent++;
}

static int client_slot(client_state *c, uint64_t corr)
{
    for (int i = 0; i < INFLIGHT; i++)
        if (c->id[i] == corr && corr != 0)
            return i;
    return -1;
}

static void client_answer(troupe_ctx *ctx, client_state *c, const troupe_msg *m)
{
    int i = client_slot(c, m->corr);
    cr_assert_geq(i, 0, "a reply for no ask in flight (answered twice?)");
    answer a = {0};
    int32_t rc = 0;
    if (m->type == TROUPE_MSG_ASK_FAILED)
        memcpy(&rc, m->data, sizeof rc);
    else if (m->size == sizeof a)
        memcpy(&a, m->data, sizeof a);
    cr_assert_neq(m->type, TROUPE_MSG_ASK_TIMEOUT, "ask timed out");
    settle(c->a.s, c->type[i], &c->o[i], rc, &a);
    c->id[i] = 0;
    if (++c->answered == c->a.s->w->ops)
        /* release: pairs with the acquire in the test's wait */
        atomic_fetch_add_explicit(c->a.done, 1, memory_order_release);
    else if (c->sent < c->a.s->w->ops)
        client_send(ctx, c, i);
}

static int client_handle(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    client_state *c = st;
    if (m->type == M_KICK) {
        for (int i = 0; i < INFLIGHT && c->sent < c->a.s->w->ops; i++)
            client_send(ctx, c, i);
        return 0;
    }
    client_answer(ctx, c, m);
    return 0;
}

static const troupe_behaviour client_beh = {
    .name = "model.client",
    .state_size = sizeof(client_state),
    .init = client_init,
    .handle = client_handle,
};

/* ---- the test ----------------------------------------------------------- */

static uint64_t pick_seed(void)
{
    const char *e = getenv("TROUPE_MODEL_SEED");
    uint64_t seed = (e && *e) ? strtoull(e, NULL, 0) : tt_now_ns();
    fprintf(stderr, "test_model: seed %llu (TROUPE_MODEL_SEED=%llu reproduces it)\n",
            (unsigned long long)seed, (unsigned long long)seed);
    return seed | 1;
}

static troupe_ref start_account(world *w)
{
    troupe_sup root, sub;
    troupe_sup_spec ss;
    troupe_sup_spec_defaults(&ss);
    ss.intensity = 1000000; /* panics are the workload, not a reason to give up */
    ss.period_ns = 1000000000;
    cr_assert_eq(troupe_sup_root(w->sys, &root), 0);
    cr_assert_eq(troupe_sup_start_supervisor(w->sys, root, &ss, &sub), 0);
    troupe_child_spec cs;
    troupe_child_spec_defaults(&cs);
    cs.beh = &acct_beh;
    cs.arg = &w->lg;
    cs.policy.kind = TROUPE_RESTART_ALWAYS;
    cs.policy.max_restarts = 0;
    cs.health_interval_ns = -1;
    troupe_ref r;
    cr_assert_eq(troupe_sup_start_child(w->sys, sub, &cs, &r), 0);
    return r;
}

/* Wait until the account has handled everything sent (the last flush and
 * tells): a final call from each thread sender is ordered after its tells. */
static void drain(world *w, sender *ss)
{
    for (int i = 0; i < THREADS; i++) {
        op o = {.sender = i, .seq = ++ss[i].seq, .amount = 0};
        answer a;
        cr_assert_eq(troupe_call(w->sys, w->acct, M_OP, &o, sizeof o, CALL_TIMEOUT, NULL, &a,
                                 sizeof a, NULL), 0);
    }
}

static void check(world *w)
{
    int64_t total = 0;
    for (int i = 0; i < SENDERS; i++) {
        cr_assert_eq(w->lg.applied[i], w->expect[i], "sender %d: ledger %lld, model %lld", i,
                     (long long)w->lg.applied[i], (long long)w->expect[i]);
        total += w->expect[i];
    }
    cr_assert_eq(atomic_load(&w->lg.order_bad), 0, "a sender's order broke");
    cr_assert_eq(atomic_load(&w->torn), 0, "a torn view");
    cr_assert_eq(troupe_view_read(w->sys, w->acct, read_one, w), 0);
    fprintf(stderr, "test_model: total %lld, %ld failed with a code, %ld views, %ld inits\n",
            (long long)total, atomic_load(&w->failed), atomic_load(&w->views),
            atomic_load(&w->lg.inits));
}

Test(model, every_path_with_panics_and_restarts, .timeout = 120)
{
    static world w;
    memset(&w, 0, sizeof w);
    w.seed = pick_seed();
    w.ops = tt_scaled(3000, 200);
    w.sys = tt_system(2);
    w.acct = start_account(&w);
    sender ss[SENDERS];
    for (int i = 0; i < SENDERS; i++)
        ss[i] = (sender){.w = &w, .id = i, .rng = w.seed * (2 * (uint64_t)i + 3)};
    atomic_int done = 0;
    for (int i = THREADS; i < SENDERS; i++) {
        client_arg ca = {&ss[i], &done};
        troupe_ref c = tt_spawn(w.sys, &client_beh, &ca, NULL);
        cr_assert_eq(troupe_tell(w.sys, c, M_KICK, NULL, 0), 0);
    }
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, thread_main, &ss[i]), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    /* acquire: pairs with the release in client_answer; bounded by the calls' timeout */
    for (long i = 0; atomic_load_explicit(&done, memory_order_acquire) < SENDERS - THREADS; i++) {
        cr_assert_lt(i, 12000L, "client actors never finished");
        tt_sleep_ns(10000000);
    }
    drain(&w, ss);
    check(&w);
    troupe_system_destroy(w.sys);
}
