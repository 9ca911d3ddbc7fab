/* tests/migrate/test_adapter.c — the legacy adapter: every mode, shadow's
 * mismatch counting with a deliberate difference, canary's exact share
 * (the key hash is deterministic), switching the flag under load from
 * several threads (no call lost, none applied twice in actor mode), the
 * harness's record and replay, metrics and HTTP, and bad input. A real
 * object behind a real rwlock, a real actor, a manual clock. */
#include "../support.h"
#include "../http/client.h"
#include "store.h"

#include <troupe/http.h>

typedef struct aenv {
    troupe_system *sys;
    troupe_clock *clk;
    store obj;
    pthread_rwlock_t lock;
    troupe_ref actor;
    troupe_adapter ad;
} aenv;

static void start_with(aenv *e, const troupe_adapter_config *over)
{
    memset(e, 0, sizeof *e);
    cr_assert_eq(troupe_clock_create_manual(&e->clk, 0), 0);
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 2;
    cfg.clock = e->clk;
    cr_assert_eq(troupe_system_create(&e->sys, &cfg), 0);
    pthread_rwlock_init(&e->lock, NULL);
    cr_assert_eq(troupe_spawn(e->sys, &store_beh, NULL, NULL, &e->actor), 0);
    troupe_adapter_config ac;
    if (over)
        ac = *over;
    else
        troupe_adapter_config_defaults(&ac);
    ac.obj = &e->obj, ac.lock = &e->lock, ac.actor = e->actor;
    ac.timeout_ns = ASK_FOREVER_NS;
    cr_assert_eq(troupe_adapter_create(e->sys, &store_def, &ac, &e->ad), 0);
}

static void start(aenv *e) { start_with(e, NULL); }

static void stop(aenv *e)
{
    troupe_system_destroy(e->sys);
    troupe_clock_destroy(e->clk);
    pthread_rwlock_destroy(&e->lock);
}

static int add(aenv *e, uint32_t idx, int64_t delta, uint64_t key, int64_t *out)
{
    add_arg a = {idx, delta};
    int64_t v = 0;
    size_t n = 0;
    int rc = troupe_adapter_call(e->sys, e->ad, OP_ADD, key, &a, sizeof a, &v, sizeof v, &n);
    if (out)
        *out = v;
    return rc;
}

static int64_t get(aenv *e, uint32_t idx, uint64_t key)
{
    int64_t v = -1;
    cr_assert_eq(troupe_adapter_call(e->sys, e->ad, OP_GET, key, &idx, sizeof idx, &v, sizeof v,
                                     NULL), 0);
    return v;
}

static void mode(aenv *e, troupe_adapter_mode m, uint32_t pct)
{
    cr_assert_eq(troupe_adapter_set_mode(e->sys, "store", m, pct), 0);
}

static troupe_adapter_info info(aenv *e)
{
    troupe_adapter_info i;
    cr_assert_eq(troupe_adapter_info_get(e->sys, e->ad, &i), 0);
    return i;
}

/* ---- modes ------------------------------------------------------------------------- */

Test(adapter, legacy_is_the_default_and_leaves_the_actor_alone)
{
    aenv e;
    start(&e);
    int64_t v;
    for (int i = 1; i <= 10; i++)
        cr_assert_eq(add(&e, 2, 5, (uint64_t)i, &v), 0);
    cr_expect_eq(v, 50);
    cr_expect_eq(e.obj.bal[2], 50);
    cr_expect_eq(get(&e, 2, 0), 50);
    cr_expect_eq(atomic_load(&actor_apps), 0);
    troupe_adapter_info i = info(&e);
    cr_expect_eq(i.mode, TROUPE_MODE_LEGACY);
    cr_expect_str_eq(i.copies, "legacy");
    cr_expect_eq(i.served_legacy, 11);
    cr_expect_eq(i.served_actor + i.compared + i.mismatches + i.switches, 0);
    stop(&e);
}

Test(adapter, actor_mode_loads_the_object_then_leaves_it_alone)
{
    aenv e;
    start(&e);
    e.obj.bal[1] = 100; /* state from before the migration */
    mode(&e, TROUPE_MODE_ACTOR, 0);
    int64_t v;
    uint64_t legacy_before = atomic_load(&legacy_apps);
    cr_assert_eq(add(&e, 1, 1, 0, &v), 0);
    cr_expect_eq(v, 101, "the actor started from the object's state");
    for (int i = 0; i < 9; i++)
        cr_assert_eq(add(&e, 1, 1, 0, NULL), 0);
    cr_expect_eq(atomic_load(&legacy_apps), legacy_before);
    cr_expect_eq(e.obj.bal[1], 100, "actor mode never touches the object");
    troupe_adapter_info i = info(&e);
    cr_expect_str_eq(i.copies, "actor");
    cr_expect_eq(i.served_actor, 10);
    cr_expect_eq(i.switches, 1);
    cr_expect(i.actor_share == 1.0);
    /* back to legacy: the actor's state is stored into the object first */
    mode(&e, TROUPE_MODE_LEGACY, 0);
    cr_expect_eq(get(&e, 1, 0), 110);
    cr_expect_eq(e.obj.bal[1], 110);
    cr_expect_eq(info(&e).switches, 2);
    stop(&e);
}

typedef struct seen {
    _Atomic int n;
    char op[16], text[320];
} seen;

static void on_mismatch(const troupe_adapter_mismatch *m, void *ud)
{
    seen *s = ud;
    if (atomic_fetch_add(&s->n, 1) == 0) {
        snprintf(s->op, sizeof s->op, "%s", m->op);
        snprintf(s->text, sizeof s->text, "%s", m->text);
    }
}

Test(adapter, shadow_runs_both_and_counts_every_mismatch)
{
    seen s = {0};
    troupe_adapter_config ac;
    troupe_adapter_config_defaults(&ac);
    ac.on_mismatch = on_mismatch, ac.on_mismatch_ud = &s;
    aenv e;
    start_with(&e, &ac);
    e.obj.bal[0] = 7;
    mode(&e, TROUPE_MODE_SHADOW, 0);
    for (int i = 0; i < 20; i++)
        cr_assert_eq(add(&e, 0, 1, (uint64_t)i, NULL), 0);
    cr_expect_eq(get(&e, 0, 0), 27);
    cr_expect_eq(info(&e).mismatches, 0);
    atomic_store(&skew, 3); /* the actor now adds one too many to balance 3 */
    int64_t v;
    for (int i = 0; i < 5; i++)
        cr_assert_eq(add(&e, 3, 10, 99, &v), 0);
    cr_expect_eq(v, 50, "the caller gets the legacy result");
    cr_expect_eq(e.obj.bal[3], 50);
    troupe_adapter_info i = info(&e);
    cr_expect_eq(i.mismatches, 5 + 0, "every add differs (later gets would too)");
    cr_expect_eq(i.compared, 26);
    cr_expect_eq(i.served_legacy, 26);
    cr_expect_eq(atomic_load(&s.n), 5);
    cr_expect_str_eq(s.op, "add");
    cr_expect(strstr(s.text, "add key 99: legacy rc=0 balance=10, actor rc=0 balance=11"), "%s", s.text);
    cr_expect(strstr(i.last_mismatch, "legacy rc=0 balance=50, actor rc=0 balance=55"), "%s",
              i.last_mismatch);
    cr_assert_eq(troupe_adapter_call(e.sys, e.ad, OP_GET, 0, &(uint32_t){3}, sizeof(uint32_t), &v,
                                     sizeof v, NULL), 0);
    cr_expect_eq(info(&e).mismatches, 6, "the copies now differ on reads too");
    stop(&e);
}

/* With a key-hash rollout the share of a known key set is exact. */
Test(adapter, canary_sends_exactly_the_flags_keys_to_the_actor)
{
    aenv e;
    start(&e);
    mode(&e, TROUPE_MODE_CANARY, 30);
    const troupe_flag *f;
    cr_assert_eq(troupe_flag_find(e.sys, "adapter.store", &f), 0);
    unsigned want = 0;
    for (uint64_t k = 0; k < 500; k++) {
        get(&e, 0, k);
        want += (unsigned)troupe_flag_on(f, k);
    }
    troupe_adapter_info i = info(&e);
    cr_expect_eq(i.served_actor, want);
    cr_expect_eq(i.served_legacy, 500 - want);
    cr_expect(want > 100 && want < 200, "about 30%%: %u", want);
    cr_expect_eq(i.mode, TROUPE_MODE_CANARY);
    cr_expect_eq(i.percent, 30);
    /* writes go to both copies; canary keys get the actor's answer */
    atomic_store(&skew, 5);
    unsigned actor_answers = 0;
    for (uint64_t k = 0; k < 200; k++) {
        int64_t before = e.obj.bal[5], v;
        cr_assert_eq(add(&e, 5, 1, k, &v), 0);
        actor_answers += v != before + 1;
        cr_assert_eq((v != before + 1), troupe_flag_on(f, k), "key %llu", (unsigned long long)k);
    }
    cr_expect_eq(e.obj.bal[5], 200, "every write reached the object");
    cr_expect_eq(info(&e).mismatches, 200);
    cr_expect_gt(actor_answers, 0);
    stop(&e);
}

/* ---- switching under load ------------------------------------------------------------ */

typedef struct load {
    aenv *e;
    uint32_t idx;
    long n;
    _Atomic long *done;
    _Atomic int failed;
} load;

static void *hammer(void *p)
{
    load *l = p;
    for (long i = 0; i < l->n; i++) {
        if (add(l->e, l->idx, 1, (uint64_t)i, NULL) != 0)
            atomic_store(&l->failed, 1);
        atomic_fetch_add(l->done, 1);
    }
    return NULL;
}

/* Threads add while the main thread flips the flag through `modes`; then
 * the object, after a last switch to legacy, must hold every add. */
static void flip_under_load(aenv *e, const troupe_adapter_mode *modes, int nmodes, long per)
{
    _Atomic long done = 0;
    load l[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        l[i] = (load){e, (uint32_t)i, per, &done, 0};
        cr_assert_eq(pthread_create(&t[i], NULL, hammer, &l[i]), 0);
    }
    for (int k = 0; atomic_load(&done) < 3 * per; k++)
        mode(e, modes[k % nmodes], modes[k % nmodes] == TROUPE_MODE_CANARY ? 50 : 0);
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
        cr_expect_eq(atomic_load(&l[i].failed), 0);
    }
    mode(e, TROUPE_MODE_LEGACY, 0);
    for (uint32_t i = 0; i < 3; i++)
        cr_expect_eq(get(e, i, 0), per, "balance %u", i);
}

Test(adapter, legacy_actor_flips_under_load_lose_nothing_and_apply_once)
{
    aenv e;
    start(&e);
    long per = tt_scaled(3000, 200);
    const troupe_adapter_mode modes[] = {TROUPE_MODE_ACTOR, TROUPE_MODE_LEGACY};
    flip_under_load(&e, modes, 2, per);
    /* each add ran on exactly one copy: legacy or actor, never both */
    cr_expect_eq(atomic_load(&legacy_apps) + atomic_load(&actor_apps), (uint64_t)(3 * per));
    troupe_adapter_info i = info(&e);
    cr_expect_eq(i.served_legacy + i.served_actor, (uint64_t)(3 * per + 3));
    cr_expect_eq(i.compared, 0);
    cr_expect_eq(i.switch_failures, 0);
    stop(&e);
}

Test(adapter, every_mode_flipping_under_load_keeps_the_copies_equal)
{
    aenv e;
    start(&e);
    long per = tt_scaled(2000, 150);
    const troupe_adapter_mode modes[] = {TROUPE_MODE_SHADOW, TROUPE_MODE_CANARY, TROUPE_MODE_ACTOR,
                                         TROUPE_MODE_SHADOW, TROUPE_MODE_LEGACY};
    flip_under_load(&e, modes, 5, per);
    troupe_adapter_info i = info(&e);
    cr_expect_eq(i.mismatches, 0, "%s", i.last_mismatch);
    cr_expect_eq(i.switch_failures, 0);
    stop(&e);
}

/* ---- the harness --------------------------------------------------------------------- */

Test(adapter, a_recorded_trace_replays_through_both_paths)
{
    aenv a, b;
    start(&a);
    troupe_adapter_trace *t;
    cr_assert_eq(troupe_adapter_trace_create(&t), 0);
    cr_assert_eq(troupe_adapter_record(a.sys, a.ad, t), 0);
    for (int i = 0; i < 40; i++) {
        cr_assert_eq(add(&a, (uint32_t)(i % 4), i, (uint64_t)i, NULL), 0);
        get(&a, (uint32_t)(i % 4), (uint64_t)i);
    }
    cr_assert_eq(troupe_adapter_record(a.sys, a.ad, NULL), 0);
    add(&a, 0, 1, 0, NULL); /* not recorded */
    cr_expect_eq(troupe_adapter_trace_length(t), 80);
    stop(&a);
    start(&b);
    troupe_replay_report r;
    cr_assert_eq(troupe_adapter_replay(b.sys, b.ad, t, &r), 0);
    cr_expect_eq(r.calls, 80);
    cr_expect_eq(r.mismatches, 0);
    cr_expect_eq(r.first_mismatch, UINT64_MAX);
    cr_expect_eq(r.legacy_errors + r.actor_errors, 0);
    cr_expect_gt(r.legacy_ns + r.actor_ns, 0); /* measured, not judged */
    cr_expect_eq(b.obj.bal[1], 10 * 19, "1 + 5 + ... + 37");
    cr_expect_str_eq(info(&b).copies, "both");
    /* the same trace against an actor that is wrong for balance 2 */
    atomic_store(&skew, 2);
    stop(&b);
    start(&b);
    cr_assert_eq(troupe_adapter_replay(b.sys, b.ad, t, &r), 0);
    cr_expect_eq(r.first_mismatch, 4, "the first add to balance 2 is call 4");
    cr_expect_eq(r.mismatches, 20);
    stop(&b);
    troupe_adapter_trace_destroy(t);
}

Test(adapter, a_built_trace_is_checked_before_anything_runs)
{
    aenv e;
    start(&e);
    troupe_adapter_trace *t;
    cr_assert_eq(troupe_adapter_trace_create(&t), 0);
    add_arg a = {1, 4};
    cr_assert_eq(troupe_adapter_trace_add(t, OP_ADD, 1, &a, sizeof a), 0);
    cr_assert_eq(troupe_adapter_trace_add(t, OP_COUNT, 2, NULL, 0), 0); /* no such op */
    troupe_replay_report r;
    cr_expect_eq(troupe_adapter_replay(e.sys, e.ad, t, &r), TROUPE_EINVAL);
    cr_expect_eq(e.obj.bal[1], 0);
    cr_expect_eq(troupe_adapter_trace_add(t, 0, 0, NULL, 5), TROUPE_EINVAL);
    cr_expect_eq(troupe_adapter_trace_add(NULL, 0, 0, NULL, 0), TROUPE_EINVAL);
    troupe_adapter_trace *u;
    cr_assert_eq(troupe_adapter_trace_create(&u), 0);
    cr_assert_eq(troupe_adapter_record(e.sys, e.ad, t), 0);
    cr_expect_eq(troupe_adapter_record(e.sys, e.ad, u), TROUPE_EBUSY);
    cr_assert_eq(troupe_adapter_record(e.sys, e.ad, NULL), 0);
    troupe_adapter_trace_destroy(u);
    troupe_adapter_trace_destroy(t);
    stop(&e);
}

/* ---- bad input ------------------------------------------------------------------------ */

Test(adapter, create_rejects_bad_definitions_and_leaves_nothing)
{
    aenv e;
    start(&e);
    troupe_adapter_config ac;
    troupe_adapter_config_defaults(&ac);
    ac.obj = &e.obj, ac.lock = &e.lock, ac.actor = e.actor;
    troupe_adapter h;
    cr_expect_eq(troupe_adapter_create(e.sys, &store_def, &ac, &h), TROUPE_EEXIST);
    troupe_adapter_def d = store_def;
    d.name = "other";
    troupe_adapter_op ops[2] = {store_ops[0], store_ops[1]};
    d.ops = ops;
    ops[1].msg_type = MSG_ADD;
    cr_expect_eq(troupe_adapter_create(e.sys, &d, &ac, &h), TROUPE_EINVAL, "duplicate msg type");
    ops[1] = store_ops[1], ops[1].legacy = NULL;
    cr_expect_eq(troupe_adapter_create(e.sys, &d, &ac, &h), TROUPE_EINVAL, "no legacy impl");
    ops[1] = store_ops[1], ops[1].msg_type = MSG_SYNC;
    cr_expect_eq(troupe_adapter_create(e.sys, &d, &ac, &h), TROUPE_EINVAL, "sync's type");
    ops[1] = store_ops[1];
    d.name = "has.dot";
    cr_expect_eq(troupe_adapter_create(e.sys, &d, &ac, &h), TROUPE_EINVAL);
    d.name = "other", d.nops = 0;
    cr_expect_eq(troupe_adapter_create(e.sys, &d, &ac, &h), TROUPE_EINVAL);
    d.nops = 2, d.load = NULL;
    cr_expect_eq(troupe_adapter_create(e.sys, &d, &ac, &h), TROUPE_EINVAL);
    d.load = store_load;
    ac.actor = TROUPE_REF_NONE;
    cr_expect_eq(troupe_adapter_create(e.sys, &d, &ac, &h), TROUPE_EINVAL);
    ac.actor = e.actor, ac.reserved[0] = 1;
    cr_expect_eq(troupe_adapter_create(e.sys, &d, &ac, &h), TROUPE_EINVAL);
    ac.reserved[0] = 0, ac.lock = NULL;
    cr_expect_eq(troupe_adapter_create(e.sys, &d, &ac, &h), TROUPE_EINVAL);
    cr_expect_eq(troupe_adapter_create(NULL, &d, &ac, &h), TROUPE_EINVAL);
    size_t total;
    cr_assert_eq(troupe_adapter_list(e.sys, NULL, 0, &total), 0);
    cr_expect_eq(total, 1, "nothing was left behind");
    stop(&e);
}

static _Atomic int from_handler_rc = 1;
static troupe_adapter handler_target;

static int calls_adapter(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    (void)st, (void)msg;
    int64_t v;
    uint32_t idx = 0;
    atomic_store(&from_handler_rc,
                 troupe_adapter_call(troupe_ctx_system(ctx), handler_target, OP_GET, 0, &idx,
                                     sizeof idx, &v, sizeof v, NULL));
    return 0;
}

static const troupe_behaviour caller_beh = {.name = "caller", .handle = calls_adapter};

Test(adapter, stale_handles_unknown_ops_and_handlers_fail_cleanly)
{
    aenv e;
    start(&e);
    int64_t v;
    uint32_t idx = 0, op;
    cr_expect_eq(troupe_adapter_call(e.sys, e.ad, 7, 0, &idx, sizeof idx, &v, sizeof v, NULL),
                 TROUPE_EINVAL);
    cr_expect_eq(troupe_adapter_call(e.sys, e.ad, OP_GET, 0, NULL, 4, &v, sizeof v, NULL),
                 TROUPE_EINVAL);
    cr_expect_eq(troupe_adapter_op_index(e.sys, e.ad, "get", &op), 0);
    cr_expect_eq(op, OP_GET);
    cr_expect_eq(troupe_adapter_op_index(e.sys, e.ad, "nope", &op), TROUPE_ENOTFOUND);
    troupe_adapter found;
    cr_expect_eq(troupe_adapter_find(e.sys, "store", &found), 0);
    cr_expect_eq(found.id, e.ad.id);
    cr_expect_eq(troupe_adapter_call(e.sys, (troupe_adapter){0}, OP_GET, 0, &idx, 4, &v, 8, NULL),
                 TROUPE_ENOTFOUND);
    handler_target = e.ad;
    troupe_ref c;
    cr_assert_eq(troupe_spawn(e.sys, &caller_beh, NULL, NULL, &c), 0);
    cr_assert_eq(troupe_tell(e.sys, c, 1, NULL, 0), 0);
    wait_until(atomic_load(&from_handler_rc) != 1);
    cr_expect_eq(atomic_load(&from_handler_rc), TROUPE_ESTATE);
    troupe_adapter old = e.ad;
    cr_assert_eq(troupe_adapter_destroy(e.sys, old), 0);
    cr_expect_eq(troupe_adapter_destroy(e.sys, old), TROUPE_ENOTFOUND);
    cr_expect_eq(add(&e, 0, 1, 0, NULL), TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_adapter_find(e.sys, "store", &found), TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_adapter_set_mode(e.sys, "store", TROUPE_MODE_ACTOR, 0), TROUPE_ENOTFOUND);
    troupe_adapter_config ac;
    troupe_adapter_config_defaults(&ac);
    ac.obj = &e.obj, ac.lock = &e.lock, ac.actor = e.actor;
    cr_assert_eq(troupe_adapter_create(e.sys, &store_def, &ac, &e.ad), 0); /* same slot again */
    troupe_adapter_info i;
    cr_expect_eq(troupe_adapter_info_get(e.sys, old, &i), TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_adapter_call(e.sys, old, OP_GET, 0, &idx, 4, &v, 8, NULL), TROUPE_ENOTFOUND);
    cr_expect_eq(get(&e, 0, 0), 0, "the new one works");
    cr_expect_eq(troupe_adapter_set_mode(e.sys, "store", TROUPE_MODE_SHADOW, 5), TROUPE_EINVAL);
    stop(&e);
}

Test(adapter, a_failed_switch_changes_nothing_and_is_retried_on_the_clock)
{
    aenv e;
    start(&e);
    cr_assert_eq(troupe_stop(e.sys, e.actor), 0);
    wait_until(!troupe_alive(e.sys, e.actor));
    mode(&e, TROUPE_MODE_ACTOR, 0);
    int64_t v;
    cr_assert_eq(add(&e, 4, 2, 0, &v), 0, "served by the object while the actor is gone");
    cr_expect_eq(v, 2);
    cr_assert_eq(add(&e, 4, 2, 0, &v), 0);
    troupe_adapter_info i = info(&e);
    cr_expect_eq(i.switch_failures, 1, "no second try before its time");
    cr_expect_str_eq(i.copies, "legacy");
    cr_expect_eq(i.served_legacy, 2);
    cr_assert_eq(troupe_clock_advance(e.clk, 2 * S_NS), 0);
    cr_assert_eq(add(&e, 4, 2, 0, &v), 0);
    cr_expect_eq(info(&e).switch_failures, 2);
    cr_expect_eq(e.obj.bal[4], 6);
    stop(&e);
}

/* ---- metrics and HTTP ------------------------------------------------------------------- */

static int grow_write(void *ud, const char *data, size_t len)
{
    char **buf = ud;
    size_t have = *buf ? strlen(*buf) : 0;
    char *p = realloc(*buf, have + len + 1);
    if (!p)
        return TROUPE_ENOMEM;
    memcpy(p + have, data, len);
    p[have + len] = '\0';
    *buf = p;
    return 0;
}

Test(adapter, metrics_and_the_http_api_show_the_migration)
{
    aenv e;
    start(&e);
    for (int i = 0; i < 3; i++)
        add(&e, 0, 1, 0, NULL);
    char *text = NULL;
    cr_assert_eq(troupe_metrics_write(e.sys, NULL, grow_write, &text), 0);
    cr_expect(strstr(text, "troupe_adapter_calls_total{adapter=\"store\",served=\"legacy\"} 3\n"));
    cr_expect(strstr(text, "troupe_adapter_actor_share{adapter=\"store\"} 0\n"));
    cr_expect(strstr(text, "troupe_adapter_duration_seconds_count{adapter=\"store\",path=\"legacy\"}"));
    cr_expect(strstr(text, "troupe_flags_loads_total{result=\"ok\"}"));
    free(text);
    troupe_http_config hc;
    troupe_http_config_defaults(&hc);
    hc.token = "tk";
    troupe_http *srv;
    cr_assert_eq(troupe_http_start(e.sys, &hc, &srv), 0);
    int port = troupe_http_port(srv);
    const char *body = "{\"value\": \"actor\"}";
    char req[512];
    snprintf(req, sizeof req,
             "POST /api/flags/adapter.store HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
             "Authorization: Bearer tk\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
    hc_resp r = hc_raw(port, req, strlen(req));
    cr_expect_eq(r.status, 200, "%s", r.raw);
    hc_free(&r);
    add(&e, 0, 1, 0, NULL);
    r = hc_get(port, "/api/adapters");
    cr_expect_eq(r.status, 200);
    cr_expect(json_valid(r.body), "%s", r.body);
    cr_expect(strstr(r.body, "\"name\":\"store\",\"mode\":\"actor\",\"percent\":100,\"copies\":\"actor\""),
              "%s", r.body);
    cr_expect(strstr(r.body, "\"served_legacy\":3,\"served_actor\":1"), "%s", r.body);
    hc_free(&r);
    troupe_http_stop(srv);
    stop(&e);
}
