/* tests/stress/test_stress.c — the concurrent paths at scale, with exact
 * accounting. Sizes scale with TROUPE_TEST_SCALE (default 1) and shrink
 * under TSan/ASan (see tt_scale in support.h): each case is meant to take
 * a few seconds at most on 2 cores. */
#include "../support.h"

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

enum {
    M_PTR = 1,   /* tt_item: terminal (count) or forward (tag != 0) */
    M_STOP_SELF, /* troupe_stop_self */
    M_ECHO,      /* ask: reply int64 + 1 */
    M_SLOW_ECHO, /* ask: spin a little, reply int64 + 1 */
    M_ASYNC_GO,  /* client: n async asks */
};

/* ---- 1. producers to mixed-policy actors ------------------------------------------- */

enum { NACT = 12, NFWD = 2, NPROD = 4 };

typedef struct acct_sh {
    atomic_long terminal;     /* handled and not forwarded */
    atomic_long forwarded;
    atomic_long fwd_fail;
    troupe_ref targets[NACT]; /* set before any message */
} acct_sh;

static int h_acct(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    acct_sh *sh = *(acct_sh **)state;
    if (m->type != M_PTR || m->ptr == NULL)
        tt_die("acct: type %u", m->type);
    tt_item *it = m->ptr;
    if (it->tag != 0) {
        /* Forward to a BLOCK actor: an actor sender is parked, never
         * refused, so this must succeed. */
        troupe_ref to = sh->targets[(it->tag - 1) % NACT];
        it->tag = 0;
        tt_item *mine = troupe_msg_take(ctx);
        int rc = troupe_tell_ptr(troupe_ctx_system(ctx), to, M_PTR, mine, tt_item_dtor);
        if (rc != 0) {
            atomic_fetch_add(&sh->fwd_fail, 1);
            tt_item_dtor(mine); /* counted as destroyed, not delivered */
        }
        atomic_fetch_add(&sh->forwarded, 1);
        return 0;
    }
    /* A little work so that small mailboxes do overflow. */
    volatile unsigned x = 0;
    for (int i = 0; i < 200; i++)
        x += (unsigned)i;
    (void)x;
    atomic_fetch_add(&sh->terminal, 1);
    return 0;
}

static const troupe_behaviour acct = {
    .name = "acct",
    .state_size = sizeof(void *),
    .init = tt_init_arg,
    .handle = h_acct,
};

static long sum_dropped(troupe_system *sys, const troupe_ref *act, int n)
{
    long d = 0;
    for (int i = 0; i < n; i++)
        d += (long)tt_stats(sys, act[i]).dropped;
    return d;
}

typedef struct acct_prod {
    troupe_system *sys;
    troupe_ref *act; /* NACT terminal + NFWD forwarders */
    tt_tracker *tr;
    long n;
    uint64_t seed;
    long ok, efull, other;
} acct_prod;

static void *acct_producer(void *p)
{
    acct_prod *a = p;
    for (long i = 0; i < a->n; i++) {
        uint64_t r = rng_next(&a->seed);
        int k = (int)(r % (NACT + NFWD));
        tt_item *it = tt_item_new(a->tr, i);
        if (k >= NACT)
            it->tag = 1 + (uint64_t)(((r >> 16) % (NACT / 4)) * 4); /* a BLOCK actor */
        int rc = troupe_tell_ptr(a->sys, a->act[k], M_PTR, it, tt_item_dtor);
        if (rc == 0) {
            a->ok++;
        } else {
            tt_item_free(it);
            if (rc == TROUPE_EFULL)
                a->efull++;
            else
                a->other++;
        }
    }
    return NULL;
}

Test(stress, producers_to_mixed_policies_exact_accounting)
{
    troupe_config cfg = tt_config(2, NULL);
    cfg.block_timeout_ns = HANG_LIMIT_NS;
    troupe_system *sys = tt_system_cfg(&cfg);
    acct_sh sh;
    memset(&sh, 0, sizeof sh);
    tt_tracker tr;
    tt_tracker_init(&tr);
    troupe_ref act[NACT + NFWD];
    static const int pol[4] = {TROUPE_OVERFLOW_BLOCK, TROUPE_OVERFLOW_REJECT,
                               TROUPE_OVERFLOW_DROP_NEWEST, TROUPE_OVERFLOW_DROP_OLDEST};
    for (int i = 0; i < NACT; i++) {
        troupe_spawn_opts o = tt_opts(i % 4 == 0 ? 64 : 8, pol[i % 4]);
        act[i] = tt_spawn(sys, &acct, &sh, &o);
        sh.targets[i] = act[i];
    }
    for (int i = 0; i < NFWD; i++) {
        troupe_spawn_opts o = tt_opts(64, TROUPE_OVERFLOW_BLOCK);
        act[NACT + i] = tt_spawn(sys, &acct, &sh, &o);
    }
    long n = tt_scaled(600000, 5000);
    pthread_t th[NPROD];
    acct_prod pa[NPROD];
    for (int i = 0; i < NPROD; i++) {
        pa[i] = (acct_prod){sys, act, &tr, n, 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1), 0, 0, 0};
        cr_assert_eq(pthread_create(&th[i], NULL, acct_producer, &pa[i]), 0);
    }
    long ok = 0, efull = 0, other = 0;
    for (int i = 0; i < NPROD; i++) {
        pthread_join(th[i], NULL);
        ok += pa[i].ok;
        efull += pa[i].efull;
        other += pa[i].other;
    }
    cr_expect_eq(other, 0, "only 0 or EFULL are possible here");
    cr_expect_eq(ok + efull + other, NPROD * n);

    /* Wait until every accepted message has reached its end: handled by a
     * terminal actor or dropped (forwards end at a terminal actor). */
    wait_until(atomic_load(&sh.terminal) + sum_dropped(sys, act, NACT + NFWD) == ok);
    cr_expect_eq(atomic_load(&sh.fwd_fail), 0, "a BLOCK forward from an actor failed");

    uint64_t s_handled = 0, s_dropped = 0, s_rejected = 0, s_accepted = 0, s_parked = 0;
    for (int i = 0; i < NACT + NFWD; i++) {
        troupe_mailbox_stats ms = tt_stats(sys, act[i]);
        s_handled += ms.handled;
        s_dropped += ms.dropped;
        s_rejected += ms.rejected;
        s_accepted += ms.accepted;
        s_parked += ms.parked;
        cr_expect_eq(ms.failed, 0u);
        cr_expect_eq(ms.depth, 0u, "actor %d still has messages", i);
        if (pol[i % 4] == TROUPE_OVERFLOW_BLOCK || i >= NACT)
            cr_expect_eq(ms.dropped + ms.rejected, 0u, "a BLOCK actor lost messages");
    }
    long fwd = atomic_load(&sh.forwarded);
    long term = atomic_load(&sh.terminal);
    /* Every attempt: handled at its end, dropped, or rejected. */
    cr_expect_eq(NPROD * n, term + (long)s_dropped + (long)s_rejected,
                 "sent %ld fwd %ld term %ld dropped %lu rejected %lu", NPROD * n, fwd, term,
                 (unsigned long)s_dropped, (unsigned long)s_rejected);
    cr_expect_eq((long)s_rejected, efull, "stats.rejected == EFULL returns");
    cr_expect_eq((long)s_handled, term + fwd, "stats.handled == handler runs");
    /* a handler counts before its message is destroyed (after it returns):
     * the last destructors may still be running */
    wait_until(tt_destroyed(&tr) >= ok);
    cr_expect_eq(tt_destroyed(&tr), ok, "every accepted payload destroyed exactly once");
    cr_log_info("stress accounting: sent %ld ok %ld efull %ld fwd %ld dropped %lu parked %lu "
                "accepted %lu",
                NPROD * n, ok, efull, fwd, (unsigned long)s_dropped, (unsigned long)s_parked,
                (unsigned long)s_accepted);
    troupe_system_destroy(sys);
    cr_expect_eq(tt_destroyed(&tr), ok);
    tt_tracker_fini(&tr);
}

/* ---- 2. spawn/stop churn with senders on possibly stale refs --------------------------- */

enum { SLOTS = 16, NSEND = 3 };

typedef struct churn_sh {
    atomic_uint_least64_t slot[SLOTS]; /* ref ids */
    atomic_int done;
    atomic_long handled_ptr;
    atomic_long handled_stop;
    atomic_long misdelivered;
    atomic_long stops;
} churn_sh;

static int h_churn(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    churn_sh *sh = *(churn_sh **)state;
    if (m->type == M_PTR) {
        tt_item *it = m->ptr;
        if (it == NULL || it->tag != troupe_self(ctx).id)
            atomic_fetch_add(&sh->misdelivered, 1);
        atomic_fetch_add(&sh->handled_ptr, 1);
        return 0;
    }
    if (m->type == M_STOP_SELF) {
        atomic_fetch_add(&sh->handled_stop, 1);
        if (troupe_stop_self(ctx) != 0)
            tt_die("stop_self failed");
        return 0;
    }
    tt_die("churn: type %u", m->type);
}

static void s_churn(troupe_ctx *ctx, void *state, troupe_failure_kind why)
{
    (void)ctx;
    (void)why;
    churn_sh *sh = *(churn_sh **)state;
    atomic_fetch_add(&sh->stops, 1);
}

static const troupe_behaviour churn_beh = {
    .name = "churn",
    .state_size = sizeof(void *),
    .init = tt_init_arg,
    .handle = h_churn,
    .stop = s_churn,
};

typedef struct churn_sender {
    troupe_system *sys;
    churn_sh *sh;
    tt_tracker *tr;
    uint64_t seed;
    long ok, enoactor, other;
} churn_sender;

static void *churn_send(void *p)
{
    churn_sender *a = p;
    while (!atomic_load(&a->sh->done)) {
        for (int k = 0; k < 64; k++) {
            int s = (int)(rng_next(&a->seed) % SLOTS);
            troupe_ref r = {atomic_load(&a->sh->slot[s])};
            tt_item *it = tt_item_new(a->tr, 0);
            it->tag = r.id;
            int rc = troupe_tell_ptr(a->sys, r, M_PTR, it, tt_item_dtor);
            if (rc == 0) {
                a->ok++;
            } else {
                tt_item_free(it);
                if (rc == TROUPE_ENOACTOR)
                    a->enoactor++;
                else
                    a->other++;
            }
        }
    }
    return NULL;
}

Test(stress, spawn_stop_churn_with_stale_sends)
{
    troupe_config cfg = tt_config(2, NULL);
    cfg.block_timeout_ns = HANG_LIMIT_NS;
    troupe_system *sys = tt_system_cfg(&cfg);
    churn_sh sh;
    memset(&sh, 0, sizeof sh);
    tt_tracker tr;
    tt_tracker_init(&tr);
    troupe_system_stats base = tt_sys_stats(sys);
    long spawned = 0;
    for (int i = 0; i < SLOTS; i++) {
        atomic_store(&sh.slot[i], tt_spawn(sys, &churn_beh, &sh, NULL).id);
        spawned++;
    }
    pthread_t th[NSEND];
    churn_sender cs[NSEND];
    for (int i = 0; i < NSEND; i++) {
        cs[i] = (churn_sender){sys, &sh, &tr, 0xC0FFEEull * (uint64_t)(i + 7), 0, 0, 0};
        cr_assert_eq(pthread_create(&th[i], NULL, churn_send, &cs[i]), 0);
    }
    long rounds = tt_scaled(40000, 500);
    long stop_ok = 0, stop_noactor = 0, self_ok = 0, self_noactor = 0, bad = 0;
    uint64_t seed = 12345;
    for (long i = 0; i < rounds; i++) {
        int s = (int)(rng_next(&seed) % SLOTS);
        troupe_ref old = {atomic_load(&sh.slot[s])};
        int rc;
        if (i % 3 == 0) {
            rc = troupe_tell(sys, old, M_STOP_SELF, NULL, 0);
            if (rc == 0)
                self_ok++;
            else if (rc == TROUPE_ENOACTOR)
                self_noactor++;
            else
                bad++;
        } else {
            rc = troupe_stop(sys, old);
            if (rc == 0)
                stop_ok++;
            else if (rc == TROUPE_ENOACTOR)
                stop_noactor++;
            else
                bad++;
        }
        troupe_ref fresh;
        rc = troupe_spawn(sys, &churn_beh, &sh, NULL, &fresh);
        cr_assert_eq(rc, 0, "spawn: %s", troupe_errname(rc));
        spawned++;
        atomic_store(&sh.slot[s], fresh.id);
    }
    atomic_store(&sh.done, 1);
    long ok = 0, enoactor = 0, other = 0;
    for (int i = 0; i < NSEND; i++) {
        pthread_join(th[i], NULL);
        ok += cs[i].ok;
        enoactor += cs[i].enoactor;
        other += cs[i].other;
    }
    cr_expect_eq(bad, 0);
    cr_expect_eq(other, 0, "a send returned neither 0 nor ENOACTOR");

    troupe_system_stats before = tt_sys_stats(sys);
    cr_expect_eq(before.actors_spawned - base.actors_spawned, (uint64_t)spawned);
    cr_assert_eq(troupe_system_shutdown(sys, HANG_LIMIT_NS), 0);
    troupe_system_stats st = tt_sys_stats(sys);
    cr_expect_eq(st.actors_live, 0u);
    cr_expect_eq(atomic_load(&sh.stops), spawned, "one stop callback per actor");
    cr_expect_eq(atomic_load(&sh.misdelivered), 0, "a message reached the wrong actor");
    long handled = atomic_load(&sh.handled_ptr) + atomic_load(&sh.handled_stop);
    cr_expect_eq(ok + self_ok, handled + (long)st.messages_destroyed,
                 "accepted %ld = handled %ld + destroyed %lu", ok + self_ok, handled,
                 (unsigned long)st.messages_destroyed);
    cr_expect_eq(tt_destroyed(&tr), ok, "every accepted payload destroyed exactly once");
    cr_log_info("churn: spawned %ld sends ok %ld stale %ld stops %ld/%ld self %ld/%ld", spawned,
                ok, enoactor, stop_ok, stop_noactor, self_ok, self_noactor);
    troupe_system_destroy(sys);
    cr_expect_eq(tt_destroyed(&tr), ok);
    tt_tracker_fini(&tr);
}

/* ---- 3. ask storm ------------------------------------------------------------------------ */

typedef struct echo_sh {
    atomic_long handled;
} echo_sh;

static int h_echo(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    echo_sh *sh = *(echo_sh **)state;
    if (tt_is_probe(ctx, m))
        return 0;
    int64_t v;
    if ((m->type != M_ECHO && m->type != M_SLOW_ECHO) || m->size != sizeof v)
        tt_die("echo: type %u size %u", m->type, m->size);
    memcpy(&v, m->data, sizeof v);
    if (m->type == M_SLOW_ECHO) {
        volatile unsigned x = 0;
        for (unsigned i = 0; i < (unsigned)(v % 4000); i++)
            x += i;
        (void)x;
    }
    v++;
    /* Count first: once the asker has its reply, the count includes it. */
    atomic_fetch_add(&sh->handled, 1);
    if (troupe_reply(ctx, m->type, &v, sizeof v) != 0)
        tt_die("echo reply failed");
    return 0;
}

static const troupe_behaviour echo = {
    .name = "echo",
    .state_size = sizeof(void *),
    .init = tt_init_arg,
    .handle = h_echo,
};

enum { NECHO = 6, NASKER = 4 };

typedef struct asker {
    troupe_system *sys;
    troupe_ref *to;
    int nto;
    long n;
    uint32_t type;
    uint64_t timeout_ns;
    uint64_t seed;
    long ok, timedout, wrong, other;
} asker;

static void *ask_loop(void *p)
{
    asker *a = p;
    for (long i = 0; i < a->n; i++) {
        int k = (int)(rng_next(&a->seed) % (uint64_t)a->nto);
        int64_t v = (int64_t)(rng_next(&a->seed) >> 2), got = 0;
        uint32_t type = 0;
        size_t len = 0;
        int rc = troupe_ask(a->sys, a->to[k], a->type, &v, sizeof v, a->timeout_ns, &type, &got,
                            sizeof got, &len);
        if (rc == 0) {
            a->ok++;
            if (got != v + 1 || type != a->type || len != sizeof got)
                a->wrong++;
        } else if (rc == TROUPE_ETIMEDOUT) {
            a->timedout++;
        } else {
            a->other++;
        }
    }
    return NULL;
}

Test(stress, ask_storm)
{
    troupe_system *sys = tt_system(2);
    echo_sh sh;
    atomic_init(&sh.handled, 0);
    troupe_ref e[NECHO];
    for (int i = 0; i < NECHO; i++)
        e[i] = tt_spawn(sys, &echo, &sh, NULL);
    long n = tt_scaled(30000, 500);
    pthread_t th[NASKER];
    asker a[NASKER];
    for (int i = 0; i < NASKER; i++) {
        a[i] = (asker){.sys = sys, .to = e, .nto = NECHO, .n = n, .type = M_ECHO,
                       .timeout_ns = ASK_FOREVER_NS, .seed = 777u + (uint64_t)i * 1000003u};
        cr_assert_eq(pthread_create(&th[i], NULL, ask_loop, &a[i]), 0);
    }
    for (int i = 0; i < NASKER; i++) {
        pthread_join(th[i], NULL);
        cr_expect_eq(a[i].ok, n, "asker %d: %ld ok, %ld timed out, %ld other", i, a[i].ok,
                     a[i].timedout, a[i].other);
        cr_expect_eq(a[i].wrong, 0, "asker %d got wrong replies", i);
    }
    cr_expect_eq(atomic_load(&sh.handled), NASKER * n);
    cr_expect_eq(tt_sys_stats(sys).late_replies, 0u);
    troupe_system_destroy(sys);
}

Test(stress, ask_timeouts_race_replies_exactly_once)
{
    /* Tiny timeouts against replies of varying delay: each ask ends as a
     * delivered reply or a timeout, and each timeout's reply is counted
     * late — never both, never neither. */
    troupe_system *sys = tt_system(2);
    echo_sh sh;
    atomic_init(&sh.handled, 0);
    troupe_ref e[2];
    for (int i = 0; i < 2; i++)
        e[i] = tt_spawn(sys, &echo, &sh, NULL);
    long n = tt_scaled(20000, 300);
    pthread_t th[NASKER];
    asker a[NASKER];
    for (int i = 0; i < NASKER; i++) {
        a[i] = (asker){.sys = sys, .to = e, .nto = 2, .n = n, .type = M_SLOW_ECHO,
                       .timeout_ns = (uint64_t)(5 + 10 * i) * 1000u,
                       .seed = 31u + (uint64_t)i * 7919u};
        cr_assert_eq(pthread_create(&th[i], NULL, ask_loop, &a[i]), 0);
    }
    long ok = 0, timedout = 0;
    for (int i = 0; i < NASKER; i++) {
        pthread_join(th[i], NULL);
        cr_expect_eq(a[i].other, 0);
        cr_expect_eq(a[i].wrong, 0, "asker %d got wrong replies", i);
        ok += a[i].ok;
        timedout += a[i].timedout;
    }
    cr_expect_eq(ok + timedout, NASKER * n);
    wait_until(atomic_load(&sh.handled) == NASKER * n);
    wait_until((long)tt_sys_stats(sys).late_replies >= timedout);
    for (int i = 0; i < 2; i++)
        tt_probe(sys, e[i]); /* nothing in flight any more */
    cr_expect_eq((long)tt_sys_stats(sys).late_replies, timedout,
                 "late replies must equal timeouts (ok %ld, timed out %ld)", ok, timedout);
    cr_log_info("ask race: ok %ld timed out %ld", ok, timedout);
    troupe_system_destroy(sys);
}

/* Async asks between actors. */

typedef struct client_sh {
    atomic_long replies;
    atomic_long wrong;
    atomic_long ask_fail;
    atomic_long timeouts;
} client_sh;

typedef struct go_req {
    troupe_ref to[NECHO];
    int32_t n;
} go_req;

typedef struct client_st {
    client_sh *sh;
} client_st;

static int h_client(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    client_sh *sh = ((client_st *)state)->sh;
    if (tt_is_probe(ctx, m))
        return 0;
    if (m->type == M_ASYNC_GO) {
        go_req rq;
        memcpy(&rq, m->data, sizeof rq);
        for (int32_t i = 0; i < rq.n; i++) {
            int64_t v = i;
            if (troupe_ask_async(ctx, rq.to[i % NECHO], M_ECHO, &v, sizeof v, 1000 * S_NS,
                                 NULL) != 0)
                atomic_fetch_add(&sh->ask_fail, 1);
        }
        return 0;
    }
    if (m->type == M_ECHO) {
        if (m->size != sizeof(int64_t))
            atomic_fetch_add(&sh->wrong, 1);
        atomic_fetch_add(&sh->replies, 1);
        return 0;
    }
    if (m->type == TROUPE_MSG_ASK_TIMEOUT) {
        atomic_fetch_add(&sh->timeouts, 1);
        return 0;
    }
    tt_die("client: type %u", m->type);
}

static const troupe_behaviour client = {
    .name = "client",
    .state_size = sizeof(client_st),
    .init = tt_init_arg,
    .handle = h_client,
};

Test(stress, async_ask_storm_between_actors)
{
    troupe_clock *clk;
    cr_assert_eq(troupe_clock_create_manual(&clk, 0), 0); /* no timeout ever fires */
    troupe_config cfg = tt_config(2, clk);
    troupe_system *sys = tt_system_cfg(&cfg);
    echo_sh esh;
    atomic_init(&esh.handled, 0);
    go_req rq;
    memset(&rq, 0, sizeof rq);
    for (int i = 0; i < NECHO; i++)
        rq.to[i] = tt_spawn(sys, &echo, &esh, NULL);
    enum { NCLIENT = 4 };
    client_sh csh[NCLIENT];
    troupe_ref c[NCLIENT];
    rq.n = (int32_t)tt_scaled(500, 50);
    long rounds = tt_scaled(200, 5);
    for (int i = 0; i < NCLIENT; i++) {
        memset(&csh[i], 0, sizeof csh[i]);
        c[i] = tt_spawn(sys, &client, &csh[i], NULL);
    }
    for (long r = 0; r < rounds; r++)
        for (int i = 0; i < NCLIENT; i++)
            cr_assert_eq(troupe_tell(sys, c[i], M_ASYNC_GO, &rq, sizeof rq), 0);
    for (int i = 0; i < NCLIENT; i++) {
        wait_until(atomic_load(&csh[i].replies) + atomic_load(&csh[i].ask_fail) ==
                   rounds * rq.n);
        tt_probe(sys, c[i]);
        cr_expect_eq(atomic_load(&csh[i].ask_fail), 0);
        cr_expect_eq(atomic_load(&csh[i].wrong), 0);
        cr_expect_eq(atomic_load(&csh[i].timeouts), 0);
        cr_expect_eq(atomic_load(&csh[i].replies), rounds * rq.n);
    }
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
}
