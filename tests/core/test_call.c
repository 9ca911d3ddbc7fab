/* tests/core/test_call.c — troupe_call: a plain thread that finds the
 * receiver idle runs it itself (core/call.c). White-box where it must be
 * deterministic: the tests wait until the actor is idle (its tail word)
 * before a call that must run on the calling thread. */
#include <pthread.h>

#include "../../core/system.h"
#include "../persistence/pers_support.h"

enum {
    C_WHERE = 1, /* reply: 1 if run on the calling thread (the handler sees it) */
    C_PANIC,     /* troupe_panic */
    C_ERROR,     /* return an error */
    C_HOLD,      /* wait on the gate, then reply */
    C_INSIDE,    /* troupe_call from the handler: ESTATE */
    C_ECHO,      /* reply the payload */
    C_SEQ,       /* model: payload {sender, seq}; reply the sender's count */
    C_SUM,       /* model: reply the totals */
};

#define MAX_SENDERS 8

typedef struct cstate {
    struct shared *sh;
    uint64_t n[MAX_SENDERS]; /* messages handled per sender */
    uint64_t total, sum;
} cstate;

typedef struct shared {
    tt_gate gate;
    pthread_t caller; /* the thread expected to run C_WHERE */
    atomic_int inside, overlap, order_bad, inside_rc;
    atomic_int inits;
} shared;

static int c_init(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx;
    cstate *s = state;
    memset(s, 0, sizeof *s);
    s->sh = (shared *)arg;
    atomic_fetch_add(&s->sh->inits, 1);
    return 0;
}

static int c_model(troupe_ctx *ctx, cstate *s, const troupe_msg *m)
{
    uint64_t v[2];
    memcpy(v, m->data, sizeof v);
    if (v[0] >= MAX_SENDERS || v[1] != s->n[v[0]] + 1)
        atomic_fetch_add(&s->sh->order_bad, 1);
    s->n[v[0]] = v[1];
    s->total++;
    s->sum += v[1];
    if (m->type == C_SEQ) /* a call; C_SEQ + 100 is a tell */
        return troupe_reply(ctx, C_SEQ, &s->n[v[0]], sizeof(uint64_t));
    return 0;
}

static int c_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    cstate *s = state;
    if (tt_is_probe(ctx, m))
        return 0;
    if (atomic_exchange(&s->sh->inside, 1)) /* one message at a time */
        atomic_fetch_add(&s->sh->overlap, 1);
    int rc = 0;
    switch (m->type) {
    case C_WHERE: {
        int here = pthread_equal(pthread_self(), s->sh->caller) != 0;
        rc = troupe_reply(ctx, C_WHERE, &here, sizeof here);
        break;
    }
    case C_PANIC:
        atomic_store(&s->sh->inside, 0);
        troupe_panic("caller-run panic");
        break;
    case C_ERROR: rc = TROUPE_EIO; break;
    case C_HOLD:
        tt_gate_wait(&s->sh->gate);
        (void)troupe_reply(ctx, C_HOLD, NULL, 0); /* ESTATE when told */
        break;
    case C_INSIDE:
        atomic_store(&s->sh->inside_rc, troupe_call(troupe_ctx_system(ctx), troupe_self(ctx),
                                                    C_ECHO, NULL, 0, MS_NS, NULL, NULL, 0, NULL));
        rc = troupe_reply(ctx, C_INSIDE, NULL, 0);
        break;
    case C_ECHO: rc = troupe_reply(ctx, C_ECHO, m->data, m->size); break;
    case C_SEQ:
    case C_SEQ + 100: rc = c_model(ctx, s, m); break;
    case C_SUM: {
        uint64_t t[2] = {s->total, s->sum};
        rc = troupe_reply(ctx, C_SUM, t, sizeof t);
        break;
    }
    default: tt_die("call server: type %u", m->type);
    }
    atomic_store(&s->sh->inside, 0);
    return rc;
}

static const troupe_behaviour c_beh = {
    .name = "call", .state_size = sizeof(cstate), .init = c_init, .handle = c_handle};

static void shared_init(shared *sh)
{
    memset(sh, 0, sizeof *sh);
    tt_gate_init(&sh->gate);
    sh->caller = pthread_self();
}

/* The actor is idle: not scheduled, nothing queued (its tail word). */
static int is_idle(troupe_system *sys, troupe_ref r)
{
    actor *a = actor_lookup(sys, r);
    uint64_t t = a ? atomic_load(&a->mb.tail) : 0;
    return (t & TW_IDLE) && !(t & TW_CLOSED) && tw_gen(t) == ref_gen(r);
}

/* Handling-latency samples so far (every worker's histogram). */
static uint64_t lat_samples(troupe_system *sys)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < sys->nworkers; i++)
        for (int k = 0; k < LAT_BUCKETS; k++)
            n += atomic_load(&sys->workers[i].lat_bucket[k]);
    return n;
}

static int call_where(troupe_system *sys, troupe_ref r)
{
    int here = -1;
    cr_assert_eq(troupe_call(sys, r, C_WHERE, NULL, 0, ASK_FOREVER_NS, NULL, &here, sizeof here,
                             NULL),
                 0);
    return here;
}

Test(call, idle_actor_runs_on_the_calling_thread)
{
    troupe_system *sys = tt_system(1);
    shared sh;
    shared_init(&sh);
    troupe_ref r = tt_spawn(sys, &c_beh, &sh, NULL);
    uint64_t lat0 = lat_samples(sys);
    for (int i = 0; i < 70; i++) { /* more than one sampling period (64) */
        wait_until(is_idle(sys, r));
        cr_assert_eq(call_where(sys, r), 1, "call %d ran on a worker", i);
    }
#if TROUPE_METRICS
    cr_expect_gt(lat_samples(sys), lat0, "caller-runs are sampled in the latency histogram");
#else
    (void)lat0;
#endif
    /* troupe_ask keeps its hand-off: a worker runs it */
    int here = -1;
    wait_until(is_idle(sys, r));
    cr_assert_eq(troupe_ask(sys, r, C_WHERE, NULL, 0, ASK_FOREVER_NS, NULL, &here, sizeof here,
                            NULL),
                 0);
    cr_expect_eq(here, 0);
    /* a payload larger than the inline size survives the caller-run */
    char big[300], back[300];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)i;
    size_t len = 0;
    wait_until(is_idle(sys, r));
    cr_assert_eq(troupe_call(sys, r, C_ECHO, big, sizeof big, ASK_FOREVER_NS, NULL, back,
                             sizeof back, &len),
                 0);
    cr_expect_eq(len, sizeof big);
    cr_expect_arr_eq(back, big, sizeof big);
    cr_expect_eq(atomic_load(&sh.overlap), 0);
    troupe_system_destroy(sys);
}

Test(call, bad_input_and_from_a_handler)
{
    troupe_system *sys = tt_system(1);
    shared sh;
    shared_init(&sh);
    troupe_ref r = tt_spawn(sys, &c_beh, &sh, NULL);
    char b[4];
    cr_expect_eq(troupe_call(NULL, r, C_ECHO, NULL, 0, MS_NS, NULL, NULL, 0, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_call(sys, r, C_ECHO, NULL, 0, MS_NS, NULL, NULL, 4, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_call(sys, r, C_ECHO, NULL, 4, MS_NS, NULL, b, 4, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_call(sys, r, TROUPE_MSG_SYSTEM, NULL, 0, MS_NS, NULL, b, 4, NULL),
                 TROUPE_EINVAL);
    cr_expect_eq(troupe_call(sys, TROUPE_REF_NONE, C_ECHO, NULL, 0, MS_NS, NULL, b, 4, NULL),
                 TROUPE_ENOACTOR);
    /* from a handler, on a worker or on the calling thread alike: ESTATE */
    cr_assert_eq(troupe_ask(sys, r, C_INSIDE, NULL, 0, ASK_FOREVER_NS, NULL, NULL, 0, NULL), 0);
    cr_expect_eq(atomic_load(&sh.inside_rc), TROUPE_ESTATE);
    atomic_store(&sh.inside_rc, 0);
    wait_until(is_idle(sys, r));
    cr_assert_eq(troupe_call(sys, r, C_INSIDE, NULL, 0, ASK_FOREVER_NS, NULL, NULL, 0, NULL), 0);
    cr_expect_eq(atomic_load(&sh.inside_rc), TROUPE_ESTATE);
    troupe_ref gone = r;
    cr_assert_eq(troupe_stop(sys, r), 0);
    tt_wait_dead(sys, r);
    cr_expect_eq(troupe_call(sys, gone, C_ECHO, NULL, 0, MS_NS, NULL, b, 4, NULL), TROUPE_ENOACTOR);
    troupe_system_destroy(sys);
}

/* A busy actor: the request queues and the timeout holds as for an ask. */
Test(call, busy_actor_times_out_like_an_ask)
{
    troupe_system *sys = tt_system(1);
    shared sh;
    shared_init(&sh);
    troupe_ref r = tt_spawn(sys, &c_beh, &sh, NULL);
    cr_assert_eq(troupe_tell(sys, r, C_HOLD, NULL, 0), 0); /* a worker holds it */
    wait_until(tt_gate_waiting(&sh.gate) == 1);
    cr_expect_eq(troupe_call(sys, r, C_ECHO, NULL, 0, 5 * MS_NS, NULL, NULL, 0, NULL),
                 TROUPE_ETIMEDOUT);
    tt_gate_open(&sh.gate);
    tt_probe(sys, r);
    troupe_system_destroy(sys);
}

/* ---- a handler blocked on the calling thread holds up no other actor ---- */

typedef struct hold_arg {
    troupe_system *sys;
    troupe_ref r;
    atomic_int rc;
} hold_arg;

static void *hold_caller(void *p)
{
    hold_arg *h = p;
    atomic_store(&h->rc, troupe_call(h->sys, h->r, C_HOLD, NULL, 0, ASK_FOREVER_NS, NULL, NULL, 0,
                                     NULL));
    return NULL;
}

Test(call, blocked_caller_run_holds_up_no_other_actor)
{
    troupe_system *sys = tt_system(1);
    shared sh, sh2;
    shared_init(&sh);
    shared_init(&sh2);
    troupe_ref x = tt_spawn(sys, &c_beh, &sh, NULL);
    troupe_ref y = tt_spawn(sys, &c_beh, &sh2, NULL);
    wait_until(is_idle(sys, x));
    hold_arg h = {.sys = sys, .r = x};
    atomic_init(&h.rc, 12345);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, hold_caller, &h), 0);
    wait_until(tt_gate_waiting(&sh.gate) == 1);
    /* the only worker is free: y answers, from a call and an ask */
    char out[2] = {0};
    cr_assert_eq(troupe_ask(sys, y, C_ECHO, "y", 1, ASK_FOREVER_NS, NULL, out, 1, NULL), 0);
    cr_expect_eq(out[0], 'y');
    cr_assert_eq(troupe_call(sys, y, C_ECHO, "z", 1, ASK_FOREVER_NS, NULL, out, 1, NULL), 0);
    cr_expect_eq(out[0], 'z');
    /* x is busy on the other thread: a call to it queues behind the hold */
    cr_expect_eq(troupe_call(sys, x, C_ECHO, NULL, 0, 2 * MS_NS, NULL, NULL, 0, NULL),
                 TROUPE_ETIMEDOUT);
    tt_gate_open(&sh.gate);
    pthread_join(t, NULL);
    cr_expect_eq(atomic_load(&h.rc), 0);
    cr_expect_eq(atomic_load(&sh.overlap), 0);
    troupe_system_destroy(sys);
}

/* ---- failures on the calling thread are supervised ---- */

static troupe_ref start_child(troupe_system *sys, shared *sh)
{
    troupe_sup root;
    cr_assert_eq(troupe_sup_root(sys, &root), 0);
    troupe_child_spec cs;
    troupe_child_spec_defaults(&cs);
    cs.beh = &c_beh;
    cs.arg = sh;
    cs.policy.kind = TROUPE_RESTART_ALWAYS;
    troupe_ref r;
    cr_assert_eq(troupe_sup_start_child(sys, root, &cs, &r), 0);
    return r;
}

static uint64_t restarts_of(troupe_system *sys, troupe_ref r)
{
    troupe_child_info ci;
    return troupe_child_info_get(sys, r, &ci) == 0 ? ci.restarts : 0;
}

static void failure_case(uint32_t type, const char *what)
{
    troupe_system *sys = tt_system(1);
    shared sh;
    shared_init(&sh);
    troupe_ref r = start_child(sys, &sh);
    wait_until(is_idle(sys, r));
    uint64_t failed0 = tt_sys_stats(sys).actors_failed;
    cr_expect_eq(troupe_call(sys, r, type, NULL, 0, ASK_FOREVER_NS, NULL, NULL, 0, NULL),
                 TROUPE_EFAILED, "%s on the calling thread: EFAILED at once", what);
    cr_expect_eq(tt_sys_stats(sys).actors_failed, failed0 + 1, "the failure was reported");
    wait_until(restarts_of(sys, r) == 1);
    wait_until(atomic_load(&sh.inits) == 2);
    /* the restarted incarnation answers, on the calling thread again */
    wait_until(is_idle(sys, r));
    cr_expect_eq(call_where(sys, r), 1);
    troupe_system_destroy(sys);
}

Test(call, panic_on_the_calling_thread_is_supervised) { failure_case(C_PANIC, "a panic"); }

Test(call, error_on_the_calling_thread_is_supervised) { failure_case(C_ERROR, "an error"); }

/* ---- a persistent actor called on the calling thread persists ---- */

Test(call, persistent_actor_persists_when_caller_runs)
{
    troupe_journal *j = NULL;
    cr_assert_eq(troupe_journal_open_memory(&j), 0);
    troupe_system *sys = pers_system(j, 1);
    troupe_ref r = ledger_spawn(sys, "call-ledger");
    for (uint64_t v = 1; v <= 5; v++) {
        ledger out = {0};
        size_t n = 0;
        wait_until(is_idle(sys, r)); /* so this thread runs it */
        /* the reply comes from apply, once the event is durable */
        cr_assert_eq(troupe_call(sys, r, P_ADD, &v, sizeof v, ASK_FOREVER_NS, NULL, &out,
                                 sizeof out, &n),
                     0);
        cr_assert_eq(n, sizeof out);
        cr_expect_eq(out.n, v);
    }
    ledger got = ledger_ask(sys, r, P_GET, 0);
    cr_expect_eq(got.n, 5u);
    cr_expect_eq(got.sum, 15u);
    troupe_system_destroy(sys);
    /* recovery on a fresh system reads the five events back */
    sys = pers_system(j, 1);
    r = ledger_spawn(sys, "call-ledger");
    got = ledger_ask(sys, r, P_GET, 0);
    cr_expect_eq(got.n, 5u);
    cr_expect_eq(got.sum, 15u);
    troupe_system_destroy(sys);
    troupe_journal_close(j);
}

/* ---- the model: plain threads and a worker at once ---- */

#define MODEL_THREADS 4

typedef struct model_arg {
    troupe_system *sys;
    troupe_ref r;
    uint64_t id, n;
    atomic_int bad;
} model_arg;

/* Each thread: tells and calls mixed (tell-then-call included), one
 * sequence per sender; every call's reply is exactly its sequence. */
static void *model_thread(void *p)
{
    model_arg *m = p;
    uint64_t seed = m->id * 7919 + 1;
    for (uint64_t s = 1; s <= m->n; s++) {
        uint64_t v[2] = {m->id, s};
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        if ((seed >> 33) % 3 == 0) {
            int rc;
            while ((rc = troupe_tell(m->sys, m->r, C_SEQ + 100, v, sizeof v)) == TROUPE_EFULL)
                ;
            if (rc)
                atomic_fetch_add(&m->bad, 1);
            continue;
        }
        uint64_t got = 0;
        int rc = troupe_call(m->sys, m->r, C_SEQ, v, sizeof v, ASK_FOREVER_NS, NULL, &got,
                             sizeof got, NULL);
        if (rc || got != s)
            atomic_fetch_add(&m->bad, 1);
    }
    return NULL;
}

/* A worker-side sender: an actor that tells the target its own sequence. */
typedef struct pump {
    troupe_ref target;
    uint64_t n;
} pump;

static int pump_init(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx;
    memcpy(state, arg, sizeof(pump));
    return 0;
}

static int pump_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    pump *p = state;
    if (tt_is_probe(ctx, m))
        return 0;
    for (uint64_t s = 1; s <= p->n; s++) {
        uint64_t v[2] = {MODEL_THREADS, s};
        if (troupe_tell(troupe_ctx_system(ctx), p->target, C_SEQ + 100, v, sizeof v))
            tt_die("pump tell");
    }
    return 0;
}

static const troupe_behaviour pump_beh = {
    .name = "pump", .state_size = sizeof(pump), .init = pump_init, .handle = pump_handle};

Test(call, model_many_callers_and_a_worker)
{
    troupe_system *sys = tt_system(2);
    shared sh;
    shared_init(&sh);
    troupe_spawn_opts o = tt_opts(1u << 17, TROUPE_OVERFLOW_REJECT); /* > all the tells */
    troupe_ref r = tt_spawn(sys, &c_beh, &sh, &o);
    uint64_t n = (uint64_t)tt_scaled(20000, 500);
    pump pu = {.target = r, .n = n};
    troupe_ref pr = tt_spawn(sys, &pump_beh, &pu, NULL);
    model_arg m[MODEL_THREADS];
    pthread_t t[MODEL_THREADS];
    for (uint64_t i = 0; i < MODEL_THREADS; i++) {
        m[i] = (model_arg){.sys = sys, .r = r, .id = i, .n = n};
        cr_assert_eq(pthread_create(&t[i], NULL, model_thread, &m[i]), 0);
    }
    cr_assert_eq(troupe_tell(sys, pr, 1, NULL, 0), 0);
    for (int i = 0; i < MODEL_THREADS; i++) {
        pthread_join(t[i], NULL);
        cr_expect_eq(atomic_load(&m[i].bad), 0, "thread %d: a call failed or was answered wrong", i);
    }
    tt_probe(sys, pr);
    uint64_t senders = MODEL_THREADS + 1, tot[2] = {0};
    /* the pump's tells may still be queued: the totals reach the model */
    for (;;) {
        cr_assert_eq(troupe_call(sys, r, C_SUM, NULL, 0, ASK_FOREVER_NS, NULL, tot, sizeof tot,
                                 NULL),
                     0);
        if (tot[0] == senders * n)
            break;
        cr_assert_lt(tot[0], senders * n);
        tt_sleep_ns(1000000);
    }
    cr_expect_eq(tot[1], senders * (n * (n + 1) / 2), "the sum of every sequence");
    cr_expect_eq(atomic_load(&sh.order_bad), 0, "each sender's order held");
    cr_expect_eq(atomic_load(&sh.overlap), 0, "one message at a time");
    troupe_system_destroy(sys);
}

/* Tell, tell, call from one thread while a worker holds the actor: the
 * call is answered after both tells were handled (its reply counts 3). */
Test(call, a_call_does_not_overtake_earlier_tells)
{
    troupe_system *sys = tt_system(1);
    shared sh;
    shared_init(&sh);
    troupe_ref r = tt_spawn(sys, &c_beh, &sh, NULL);
    cr_assert_eq(troupe_tell(sys, r, C_HOLD, NULL, 0), 0);
    wait_until(tt_gate_waiting(&sh.gate) == 1);
    for (uint64_t s = 1; s <= 2; s++) {
        uint64_t v[2] = {0, s};
        cr_assert_eq(troupe_tell(sys, r, C_SEQ + 100, v, sizeof v), 0);
    }
    tt_gate_open(&sh.gate);
    uint64_t v[2] = {0, 3}, got = 0;
    cr_assert_eq(troupe_call(sys, r, C_SEQ, v, sizeof v, ASK_FOREVER_NS, NULL, &got, sizeof got,
                             NULL),
                 0);
    cr_expect_eq(got, 3u);
    /* and once idle, a tell then a call from this thread: the tell goes
     * to a worker, the call queues behind it (or runs it here first) */
    wait_until(is_idle(sys, r));
    v[1] = 4;
    cr_assert_eq(troupe_tell(sys, r, C_SEQ + 100, v, sizeof v), 0);
    v[1] = 5;
    cr_assert_eq(troupe_call(sys, r, C_SEQ, v, sizeof v, ASK_FOREVER_NS, NULL, &got, sizeof got,
                             NULL),
                 0);
    cr_expect_eq(got, 5u);
    cr_expect_eq(atomic_load(&sh.order_bad), 0);
    troupe_system_destroy(sys);
}

/* One thread's calls reuse one ask record (core/ask.c's per-thread cache):
 * a call that timed out leaves its late reply to a stale generation, never
 * to the next call; and a record cached for a destroyed system is not
 * reused by the next system, even one at the same address. */
Test(call, reused_record_across_timeouts_and_systems)
{
    for (int round = 0; round < 3; round++) {
        troupe_system *sys = tt_system(1);
        shared sh;
        shared_init(&sh);
        troupe_ref r = tt_spawn(sys, &c_beh, &sh, NULL);
        cr_assert_eq(troupe_tell(sys, r, C_HOLD, NULL, 0), 0); /* a worker holds it */
        wait_until(tt_gate_waiting(&sh.gate) == 1);
        int v = 7, back = 0;
        cr_expect_eq(troupe_call(sys, r, C_ECHO, &v, sizeof v, MS_NS, NULL, &back, sizeof back,
                                 NULL),
                     TROUPE_ETIMEDOUT);
        tt_gate_open(&sh.gate); /* the timed-out request is answered late */
        for (int i = 0; i < 100; i++) {
            v = i + 100 * round;
            back = -1;
            cr_assert_eq(troupe_call(sys, r, C_ECHO, &v, sizeof v, ASK_FOREVER_NS, NULL, &back,
                                     sizeof back, NULL),
                         0);
            cr_assert_eq(back, v, "call %d got another call's reply", i);
            back = -1; /* troupe_ask shares the cache */
            cr_assert_eq(troupe_ask(sys, r, C_ECHO, &v, sizeof v, ASK_FOREVER_NS, NULL, &back,
                                    sizeof back, NULL),
                         0);
            cr_assert_eq(back, v);
        }
        troupe_system_destroy(sys);
    }
}
