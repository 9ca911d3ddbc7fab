/* tests/core/test_sched.c — scheduling: fairness, batches, many senders to
 * many actors. */
#include <limits.h>

#include "../support.h"

enum {
    M_SPIN = 1, /* re-tell self */
    M_PING,     /* tell the peer (state) M_PING */
    M_SEQ,      /* {src, seq} */
    M_LOG,      /* append the actor's tag to the shared log */
    M_GATE,
    M_SET_PEER,
};

typedef struct shared {
    atomic_long spins;
    atomic_long pings;
    atomic_int tell_errors;
    tt_gate gate;
    tt_log log;
} shared;

static void shared_init(shared *s)
{
    memset(s, 0, sizeof *s);
    tt_gate_init(&s->gate);
    tt_log_init(&s->log);
}

static void shared_fini(shared *s)
{
    tt_gate_destroy(&s->gate);
    tt_log_fini(&s->log);
}

typedef struct st {
    shared *sh;
    troupe_ref peer;
    long tag;
} st;

typedef struct init_arg {
    shared *sh;
    long tag;
} init_arg;

static int i_actor(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx;
    const init_arg *a = arg;
    st *s = state;
    s->sh = a->sh;
    s->tag = a->tag;
    return 0;
}

static int h_actor(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    st *s = state;
    shared *sh = s->sh;
    if (tt_is_probe(ctx, m))
        return 0;
    switch (m->type) {
    case M_SPIN:
        atomic_fetch_add(&sh->spins, 1);
        if (troupe_tell(troupe_ctx_system(ctx), troupe_self(ctx), M_SPIN, NULL, 0) != 0)
            atomic_fetch_add(&sh->tell_errors, 1);
        break;
    case M_SET_PEER:
        memcpy(&s->peer, m->data, sizeof s->peer);
        break;
    case M_PING:
        atomic_fetch_add(&sh->pings, 1);
        if (troupe_tell(troupe_ctx_system(ctx), s->peer, M_PING, NULL, 0) != 0)
            atomic_fetch_add(&sh->tell_errors, 1);
        break;
    case M_LOG:
        tt_log_add(&sh->log, s->tag);
        break;
    case M_GATE:
        tt_gate_wait(&sh->gate);
        break;
    default:
        tt_die("type %u", m->type);
    }
    return 0;
}

static const troupe_behaviour actor = {
    .name = "sched-actor",
    .state_size = sizeof(st),
    .init = i_actor,
    .handle = h_actor,
};

static troupe_ref spawn_tagged(troupe_system *sys, shared *sh, long tag,
                               const troupe_spawn_opts *o)
{
    init_arg a = {sh, tag};
    return tt_spawn(sys, &actor, &a, o);
}

/* ---- fairness ------------------------------------------------------------------------ */

Test(sched, self_flooding_actor_does_not_starve_others)
{
    troupe_system *sys = tt_system(1);
    shared sf, so;
    shared_init(&sf);
    shared_init(&so);
    troupe_ref f = spawn_tagged(sys, &sf, 1, NULL);
    troupe_ref o = spawn_tagged(sys, &so, 2, NULL);
    cr_assert_eq(troupe_tell(sys, f, M_SPIN, NULL, 0), 0);
    wait_until(atomic_load(&sf.spins) > 1000);
    /* The flooder is always runnable; the one worker must still serve o. */
    for (int i = 0; i < 20; i++)
        tt_probe(sys, o);
    long before = atomic_load(&sf.spins);
    wait_until(atomic_load(&sf.spins) > before + 100); /* and it still floods */
    cr_assert_eq(troupe_stop(sys, f), 0, "a stop reaches a flooding actor");
    tt_wait_dead(sys, f);
    cr_expect_eq(atomic_load(&sf.tell_errors), 0);
    tt_probe(sys, o);
    troupe_system_destroy(sys);
    shared_fini(&sf);
    shared_fini(&so);
}

Test(sched, ping_pong_pair_does_not_starve_others)
{
    /* Two actors waking each other: each wake lands in the LIFO slot; the
     * streak cap must let the rest of the run queue through. */
    troupe_system *sys = tt_system(1);
    shared sp, so;
    shared_init(&sp);
    shared_init(&so);
    troupe_ref a = spawn_tagged(sys, &sp, 1, NULL);
    troupe_ref b = spawn_tagged(sys, &sp, 2, NULL);
    troupe_ref o = spawn_tagged(sys, &so, 3, NULL);
    cr_assert_eq(troupe_tell(sys, a, M_SET_PEER, &b, sizeof b), 0);
    cr_assert_eq(troupe_tell(sys, b, M_SET_PEER, &a, sizeof a), 0);
    tt_probe(sys, a);
    tt_probe(sys, b);
    cr_assert_eq(troupe_tell(sys, a, M_PING, NULL, 0), 0);
    wait_until(atomic_load(&sp.pings) > 1000);
    for (int i = 0; i < 20; i++)
        tt_probe(sys, o);
    cr_assert_eq(troupe_stop(sys, a), 0);
    tt_wait_dead(sys, a);
    tt_probe(sys, b);
    troupe_system_destroy(sys);
    /* At most b's one ping to the stopped a failed; then the ball stopped. */
    cr_expect_leq(atomic_load(&sp.tell_errors), 1);
    shared_fini(&sp);
    shared_fini(&so);
}

Test(sched, many_flooders_on_two_workers)
{
    troupe_system *sys = tt_system(2);
    enum { F = 6 };
    shared sf, so;
    shared_init(&sf);
    shared_init(&so);
    troupe_ref f[F];
    for (int i = 0; i < F; i++) {
        f[i] = spawn_tagged(sys, &sf, i, NULL);
        cr_assert_eq(troupe_tell(sys, f[i], M_SPIN, NULL, 0), 0);
    }
    troupe_ref o = spawn_tagged(sys, &so, 99, NULL);
    wait_until(atomic_load(&sf.spins) > 5000);
    for (int i = 0; i < 20; i++)
        tt_probe(sys, o);
    cr_expect_eq(atomic_load(&sf.tell_errors), 0);
    troupe_system_destroy(sys); /* stops flooding actors too */
    shared_fini(&sf);
    shared_fini(&so);
}

Test(sched, queued_actors_interleave)
{
    /* One worker held on a gate while two batch=1 actors get N messages
     * each: once it is free, neither may run all of its messages before
     * the other runs one. (The scheduler may favour its local queue over
     * the injector for a bounded number of runs: N is well above that.) */
    troupe_system *sys = tt_system(1);
    shared sg, sl;
    shared_init(&sg);
    shared_init(&sl);
    troupe_spawn_opts o1 = tt_opts(0, -1);
    o1.batch = 1;
    troupe_ref g = spawn_tagged(sys, &sg, 0, NULL);
    troupe_ref a = spawn_tagged(sys, &sl, 1, &o1);
    troupe_ref b = spawn_tagged(sys, &sl, 2, &o1);
    cr_assert_eq(troupe_tell(sys, g, M_GATE, NULL, 0), 0);
    wait_until(tt_gate_waiting(&sg.gate) == 1);
    enum { N = 300 };
    for (int i = 0; i < N; i++) {
        cr_assert_eq(troupe_tell(sys, a, M_LOG, NULL, 0), 0);
        cr_assert_eq(troupe_tell(sys, b, M_LOG, NULL, 0), 0);
    }
    tt_gate_open(&sg.gate);
    wait_until(tt_log_len(&sl.log) == 2 * N);
    size_t first_a = 2 * N, last_a = 0, first_b = 2 * N, last_b = 0;
    for (size_t i = 0; i < 2 * N; i++) {
        long t = tt_log_at(&sl.log, i);
        if (t == 1) {
            if (first_a == 2 * N)
                first_a = i;
            last_a = i;
        } else {
            if (first_b == 2 * N)
                first_b = i;
            last_b = i;
        }
    }
    cr_expect_lt(first_b, last_a, "a ran all its messages before b ran one");
    cr_expect_lt(first_a, last_b, "b ran all its messages before a ran one");
    troupe_system_destroy(sys);
    shared_fini(&sg);
    shared_fini(&sl);
}

/* ---- many threads to many actors ---------------------------------------------------- */

enum { SRC_MAX = 8, ACT_MAX = 32 };

typedef struct seq_msg {
    int32_t src;
    int32_t pad;
    int64_t seq;
} seq_msg;

typedef struct counter_sh {
    atomic_long total;
    atomic_long errors;
    atomic_long next[ACT_MAX][SRC_MAX]; /* per actor, per source */
} counter_sh;

typedef struct counter_st {
    counter_sh *sh;
    int idx;
} counter_st;

typedef struct counter_arg {
    counter_sh *sh;
    int idx;
} counter_arg;

static int i_counter(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx;
    const counter_arg *a = arg;
    counter_st *s = state;
    s->sh = a->sh;
    s->idx = a->idx;
    return 0;
}

static int h_counter(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    counter_st *s = state;
    if (tt_is_probe(ctx, m))
        return 0;
    seq_msg q;
    if (m->type != M_SEQ || m->size != sizeof q)
        tt_die("counter: type %u size %u", m->type, m->size);
    memcpy(&q, m->data, sizeof q);
    atomic_long *next = &s->sh->next[s->idx][q.src];
    if (atomic_load(next) != q.seq)
        atomic_fetch_add(&s->sh->errors, 1);
    atomic_store(next, q.seq + 1);
    atomic_fetch_add(&s->sh->total, 1);
    return 0;
}

static const troupe_behaviour counter = {
    .name = "counter",
    .state_size = sizeof(counter_st),
    .init = i_counter,
    .handle = h_counter,
};

typedef struct prod_arg {
    troupe_system *sys;
    troupe_ref *to;
    int nto;
    int src;
    long per_actor;
    long fails;
} prod_arg;

static void *producer(void *p)
{
    prod_arg *a = p;
    for (long i = 0; i < a->per_actor; i++)
        for (int k = 0; k < a->nto; k++) {
            /* Visit the actors in a different order per source. */
            int j = (k * 7 + a->src * 3) % a->nto;
            seq_msg q = {a->src, 0, i};
            if (troupe_tell(a->sys, a->to[j], M_SEQ, &q, sizeof q) != 0)
                a->fails++;
        }
    return NULL;
}

static void many_to_many(uint32_t workers, int nsrc, int nact, long per_actor, uint32_t cap)
{
    troupe_config cfg = tt_config(workers, NULL);
    cfg.block_timeout_ns = HANG_LIMIT_NS;
    troupe_system *sys = tt_system_cfg(&cfg);
    counter_sh *sh = calloc(1, sizeof *sh);
    cr_assert_not_null(sh);
    troupe_ref to[ACT_MAX];
    troupe_spawn_opts o = tt_opts(cap, TROUPE_OVERFLOW_BLOCK);
    for (int i = 0; i < nact; i++) {
        counter_arg a = {sh, i};
        to[i] = tt_spawn(sys, &counter, &a, &o);
    }
    pthread_t th[SRC_MAX];
    prod_arg pa[SRC_MAX];
    for (int s = 0; s < nsrc; s++) {
        pa[s] = (prod_arg){sys, to, nact, s, per_actor, 0};
        cr_assert_eq(pthread_create(&th[s], NULL, producer, &pa[s]), 0);
    }
    for (int s = 0; s < nsrc; s++) {
        pthread_join(th[s], NULL);
        cr_expect_eq(pa[s].fails, 0, "producer %d: %ld failed tells", s, pa[s].fails);
    }
    long expected = (long)nsrc * nact * per_actor;
    wait_until(atomic_load(&sh->total) >= expected);
    for (int i = 0; i < nact; i++)
        tt_probe(sys, to[i]);
    cr_expect_eq(atomic_load(&sh->total), expected, "every message handled exactly once");
    cr_expect_eq(atomic_load(&sh->errors), 0, "per-sender order");
    for (int i = 0; i < nact; i++) {
        for (int s = 0; s < nsrc; s++)
            cr_expect_eq(atomic_load(&sh->next[i][s]), per_actor, "actor %d source %d", i, s);
        troupe_mailbox_stats ms = tt_stats(sys, to[i]);
        cr_expect_eq(ms.accepted, (uint64_t)(nsrc * per_actor + 1), "actor %d accepted", i);
        cr_expect_eq(ms.dropped + ms.rejected + ms.failed, 0u);
    }
    troupe_system_destroy(sys);
    free(sh);
}

Test(sched, many_threads_to_many_actors)
{
    many_to_many(2, 4, 16, tt_scaled(1000, 50), 0);
}

Test(sched, many_threads_to_many_small_mailboxes)
{
    many_to_many(2, 4, 8, tt_scaled(1000, 50), 4);
}

Test(sched, many_threads_one_worker)
{
    many_to_many(1, 3, 4, tt_scaled(1000, 50), 16);
}

/* ---- no runnable actor waits while a worker is parked ---------------------------------- */

/* Handlers that block until the test releases their round. */
typedef struct round_sh {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running;  /* handlers blocked in this round now */
    long released; /* rounds released so far */
    atomic_long done;
} round_sh;

static int h_round(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    round_sh *sh = *(round_sh **)state;
    if (tt_is_probe(ctx, m))
        return 0;
    long round;
    memcpy(&round, m->data, sizeof round);
    pthread_mutex_lock(&sh->mu);
    sh->running++;
    pthread_cond_broadcast(&sh->cv);
    uint64_t start = tt_now_ns();
    while (sh->released < round) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&sh->cv, &sh->mu, &ts);
        if (sh->released < round && tt_now_ns() - start > 2 * HANG_LIMIT_NS)
            tt_die("round %ld never released", round);
    }
    sh->running--;
    pthread_mutex_unlock(&sh->mu);
    atomic_fetch_add(&sh->done, 1);
    return 0;
}

static const troupe_behaviour round_beh = {
    .name = "round",
    .state_size = sizeof(round_sh *),
    .init = tt_init_arg,
    .handle = h_round,
};

/* Wait until `want` handlers of the round run at once, at most limit_ns
 * (real time); returns how many did. */
static int round_wait_running(round_sh *sh, int want, uint64_t limit_ns)
{
    uint64_t start = tt_now_ns();
    pthread_mutex_lock(&sh->mu);
    while (sh->running < want && tt_now_ns() - start < limit_ns) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 10 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&sh->cv, &sh->mu, &ts);
    }
    int n = sh->running;
    pthread_mutex_unlock(&sh->mu);
    return n;
}

/* Four workers, three actors whose handlers block: from a plain thread each
 * is told once, and all three must be running together — a parked worker
 * is woken for every runnable actor that no awake worker takes (a spinning
 * worker that takes one must not leave the others to nobody). Rounds start
 * both while workers still spin after the last round and once they parked.
 * Stranded work waits for ever, so 10 s per round cannot fail by slowness. */
Test(sched, blocked_handlers_never_strand_runnable_actors, .timeout = 300)
{
    enum { A = 3 };
    troupe_system *sys = tt_system(4);
    static round_sh sh; /* static: handlers may outlive a failed assertion */
    pthread_mutex_init(&sh.mu, NULL);
    pthread_cond_init(&sh.cv, NULL);
    troupe_ref r[A];
    for (int i = 0; i < A; i++)
        r[i] = tt_spawn(sys, &round_beh, &sh, NULL);
    long rounds = tt_scaled(200, 50);
    for (long round = 1; round <= rounds; round++) {
        if (round % 4 == 0)
            tt_sleep_ns(2 * MS_NS); /* the workers parked */
        for (int i = 0; i < A; i++)
            cr_assert_eq(troupe_tell(sys, r[i], M_GATE, &round, sizeof round), 0);
        int ran = round_wait_running(&sh, A, 10 * S_NS);
        pthread_mutex_lock(&sh.mu);
        sh.released = ran == A ? round : LONG_MAX; /* a failure lets every handler go */
        pthread_cond_broadcast(&sh.cv);
        pthread_mutex_unlock(&sh.mu);
        cr_assert_eq(ran, A, "round %ld: only %d of %d handlers ran within 10 s, on 4 workers",
                     round, ran, A);
        wait_until(atomic_load(&sh.done) == round * A);
    }
    troupe_system_destroy(sys);
    pthread_cond_destroy(&sh.cv);
    pthread_mutex_destroy(&sh.mu);
}
