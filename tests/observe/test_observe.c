/* tests/observe/test_observe.c — introspection (actors, workers) and the
 * Prometheus metrics, through the public API; and, white-box, the two
 * seams observe uses: the metrics writers features register
 * (obs_metrics_register) and the supervisor's query functions. */
#include <criterion/criterion.h>
#include <pthread.h>

#include "../supervisor/sv_support.h"
#include "observe/prom.h"
#include "troupe_config.h" /* TROUPE_HAVE_MIGRATE */
#include "supervisor/sv.h"

/* A growing buffer the metrics writer appends to. */
typedef struct textbuf {
    char *p;
    size_t n, cap;
} textbuf;

static int tb_write(void *ud, const char *d, size_t n)
{
    textbuf *b = ud;
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            return TROUPE_ENOMEM;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}

static char *metrics(troupe_system *sys, int per_name)
{
    textbuf b = {0};
    troupe_metrics_opts o;
    troupe_metrics_opts_defaults(&o);
    o.per_name = per_name;
    cr_assert_eq(troupe_metrics_write(sys, &o, tb_write, &b), 0);
    cr_assert_not_null(b.p);
    return b.p;
}

/* The value of the sample line that starts with `series ` (exact), or -1. */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, series, n) == 0 && l[n] == ' ')
            return strtod(l + n + 1, NULL);
    return -1;
}

static void tell_n(troupe_system *sys, troupe_ref r, uint32_t type, int n)
{
    for (int i = 0; i < n; i++)
        cr_assert_eq(troupe_tell(sys, r, type, NULL, 0), 0);
}

static int other_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    (void)state;
    (void)tt_is_probe(ctx, m);
    return 0;
}

static const troupe_behaviour other_beh = {.name = "other", .handle = other_handle};

Test(observe, actor_list_by_type_excludes_runtime_actors, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_system *sys = tt_system(2);
    kid_arg a = {&e, 1};
    troupe_ref k1 = tt_spawn(sys, &kid_beh, &a, NULL), k2 = tt_spawn(sys, &kid_beh, &a, NULL);
    troupe_ref d = tt_spawn(sys, &other_beh, NULL, NULL);
    troupe_ref out[8];
    size_t total = 0;
    cr_assert_eq(troupe_actor_list(sys, "kid", out, 8, &total), 0);
    cr_assert_eq(total, 2);
    cr_assert(out[0].id == k1.id || out[1].id == k1.id);
    cr_assert(out[0].id == k2.id || out[1].id == k2.id);
    cr_assert_eq(troupe_actor_list(sys, NULL, out, 1, &total), 0);
    cr_assert_eq(total, 3, "the dead-letter and health actors are not listed");
    cr_assert_eq(troupe_actor_list(sys, "nobody", NULL, 0, &total), 0);
    cr_assert_eq(total, 0);
    cr_assert_eq(troupe_actor_list(sys, NULL, NULL, 1, &total), TROUPE_EINVAL);
    cr_assert_eq(troupe_actor_list(NULL, NULL, out, 1, &total), TROUPE_EINVAL);
    cr_assert_eq(troupe_actor_list(sys, NULL, out, 1, NULL), TROUPE_EINVAL);
    troupe_stop(sys, d);
    tt_wait_dead(sys, d);
    cr_assert_eq(troupe_actor_list(sys, NULL, NULL, 0, &total), 0);
    cr_assert_eq(total, 2);
    troupe_system_destroy(sys);
    env_fini(&e);
}

Test(observe, actor_info_shows_type_name_counters, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_system *sys = tt_system(2);
    kid_arg a = {&e, 1};
    troupe_ref r = tt_spawn(sys, &kid_beh, &a, NULL);
    cr_assert_eq(troupe_register(sys, "alice", r), 0);
    tell_n(sys, r, K_COUNT, 10);
    ping_ok(sys, r);
    troupe_actor_info ai;
    cr_assert_eq(troupe_actor_info_get(sys, r, &ai), 0);
    cr_assert_eq(ai.ref.id, r.id);
    cr_assert_str_eq(ai.type, "kid");
    cr_assert_str_eq(ai.name, "alice");
    cr_assert_eq(ai.mailbox.accepted, 11);
    cr_assert_eq(ai.mailbox.handled, 11);
    cr_assert_eq(ai.supervised, 0);
    cr_assert_eq(ai.health.status, TROUPE_HEALTH_UNKNOWN);
    cr_assert_str_eq(troupe_actor_state_name(ai.state), ai.state == TROUPE_ACTOR_IDLE ? "idle" : "active");
    troupe_stop(sys, r);
    tt_wait_dead(sys, r);
    cr_assert_eq(troupe_actor_info_get(sys, r, &ai), TROUPE_ENOACTOR);
    cr_assert_eq(troupe_actor_info_get(sys, TROUPE_REF_NONE, &ai), TROUPE_ENOACTOR);
    cr_assert_eq(troupe_actor_info_get(sys, r, NULL), TROUPE_EINVAL);
    cr_assert_eq(troupe_actor_info_get(NULL, r, &ai), TROUPE_EINVAL);
    troupe_system_destroy(sys);
    env_fini(&e);
}

Test(observe, worker_info_counts_runs_and_checks_index, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_system *sys = tt_system(2);
    kid_arg a = {&e, 1};
    troupe_ref r = tt_spawn(sys, &kid_beh, &a, NULL);
    for (int i = 0; i < 20; i++)
        ping_ok(sys, r);
    uint64_t runs = 0;
    for (uint32_t i = 0; i < 2; i++) {
        troupe_worker_info wi;
        cr_assert_eq(troupe_worker_info_get(sys, i, &wi), 0);
        cr_assert_eq(wi.index, i);
        cr_assert_eq(wi.stalled, 0);
        runs += wi.runs;
    }
    cr_assert_geq(runs, 1);
    char *t = metrics(sys, 0);
    double mruns = sample(t, "troupe_worker_runs_total{worker=\"0\"}") +
                   sample(t, "troupe_worker_runs_total{worker=\"1\"}");
    cr_assert_geq(mruns, (double)runs, "the metric reads the same counters");
    free(t);
    troupe_worker_info wi;
    cr_assert_eq(troupe_worker_info_get(sys, 2, &wi), TROUPE_EINVAL);
    cr_assert_eq(troupe_worker_info_get(sys, 0, NULL), TROUPE_EINVAL);
    troupe_system_destroy(sys);
    env_fini(&e);
}

/* Totals by type keep what ended actors did. */
static uint64_t live_actors(troupe_system *sys)
{
    troupe_system_stats st;
    cr_assert_eq(troupe_system_stats_get(sys, &st), 0);
    return st.actors_live;
}

Test(observe, type_totals_outlive_actors, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_system *sys = tt_system(2);
    kid_arg a = {&e, 1};
    for (int i = 0; i < 5; i++) {
        troupe_ref r = tt_spawn(sys, &kid_beh, &a, NULL);
        tell_n(sys, r, K_COUNT, 7);
        ping_ok(sys, r);
        troupe_stop(sys, r);
        tt_wait_dead(sys, r);
    }
    troupe_ref live = tt_spawn(sys, &kid_beh, &a, NULL);
    tell_n(sys, live, K_COUNT, 3);
    ping_ok(sys, live);
    /* troupe_alive turns 0 when an actor's mailbox closes; its end (the fold
     * into its type's totals, then the live count) completes just after, on
     * the thread that ran it. The count drops last: once it reads 1, the five
     * ends are complete (this failed once in CI, scraped in between). */
    wait_until(live_actors(sys) == 1);
    char *t = metrics(sys, 0);
    cr_assert_eq(sample(t, "troupe_messages_handled_total{type=\"kid\"}"), 5 * 8 + 4);
    cr_assert_eq(sample(t, "troupe_messages_sent_total{type=\"kid\"}"), 5 * 8 + 4);
    cr_assert_eq(sample(t, "troupe_actors{type=\"kid\"}"), 1);
    cr_assert_eq(sample(t, "troupe_actors_live"), 1);
    cr_assert_eq(sample(t, "troupe_actors_spawned_total"), 6);
    cr_assert(strstr(t, "# TYPE troupe_messages_handled_total counter\n"));
    free(t);
    troupe_system_destroy(sys);
    env_fini(&e);
}

static const troupe_behaviour odd_beh = {.name = "we\"ird\\na\nme", .handle = other_handle};

Test(observe, label_values_are_escaped, .timeout = 60)
{
    troupe_system *sys = tt_system(1);
    troupe_ref r = tt_spawn(sys, &odd_beh, NULL, NULL);
    tt_probe(sys, r);
    char *t = metrics(sys, 0);
    cr_assert_eq(sample(t, "troupe_actors{type=\"we\\\"ird\\\\na\\nme\"}"), 1, "%s", t);
    free(t);
    troupe_system_destroy(sys);
}

Test(observe, mailbox_gauges_and_drops, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_system *sys = tt_system(2);
    kid_arg a = {&e, 1};
    troupe_ref r = tt_spawn(sys, &kid_beh, &a, NULL);
    troupe_spawn_opts o = tt_opts(4, TROUPE_OVERFLOW_DROP_NEWEST);
    troupe_ref q = tt_spawn(sys, &kid_beh, &a, &o);
    tt_hold(sys, q, K_HOLD, &e.gate);
    tell_n(sys, q, K_COUNT, 6); /* 4 fit, 2 dropped */
    char *t = metrics(sys, 0);
    cr_assert_eq(sample(t, "troupe_messages_dropped_total{type=\"kid\"}"), 2);
    cr_assert_eq(sample(t, "troupe_mailbox_fill_ratio_max{type=\"kid\"}"), 1);
    cr_assert_eq(sample(t, "troupe_mailbox_depth{type=\"kid\"}"), 4);
    free(t);
    tt_gate_open(&e.gate);
    (void)r;
    troupe_system_destroy(sys);
    env_fini(&e);
}

Test(observe, per_name_series_are_opt_in, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_system *sys = tt_system(2);
    kid_arg a = {&e, 1};
    troupe_ref r = tt_spawn(sys, &kid_beh, &a, NULL);
    cr_assert_eq(troupe_register(sys, "bob", r), 0);
    tell_n(sys, r, K_COUNT, 4);
    ping_ok(sys, r);
    char *t = metrics(sys, 0);
    cr_assert_null(strstr(t, "troupe_actor_messages_handled_total"));
    free(t);
    t = metrics(sys, 1);
    cr_assert_eq(sample(t, "troupe_actor_messages_handled_total{name=\"bob\",type=\"kid\"}"), 5);
    cr_assert_eq(sample(t, "troupe_actor_mailbox_capacity{name=\"bob\",type=\"kid\"}"), 1000);
    free(t);
    troupe_system_destroy(sys);
    env_fini(&e);
}

static int fail_writer(void *ud, const char *d, size_t n)
{
    (void)d;
    (void)n;
    ++*(int *)ud;
    return -42;
}

Test(observe, writer_errors_stop_the_walk, .timeout = 60)
{
    troupe_system *sys = tt_system(1);
    int calls = 0;
    cr_assert_eq(troupe_metrics_write(sys, NULL, fail_writer, &calls), -42);
    cr_assert_eq(calls, 1, "nothing is written after the first error");
    cr_assert_eq(troupe_metrics_write(sys, NULL, NULL, NULL), TROUPE_EINVAL);
    cr_assert_eq(troupe_metrics_write(NULL, NULL, fail_writer, &calls), TROUPE_EINVAL);
    troupe_system_destroy(sys);
}

Test(observe, latency_histogram_is_cumulative, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_system *sys = tt_system(2);
    kid_arg a = {&e, 1};
    /* one run per ping (32 actors, each asked in turn): a worker times
     * its first user message, then one run in 64 — several samples */
    troupe_ref rs[32];
    for (int i = 0; i < 32; i++)
        rs[i] = tt_spawn(sys, &kid_beh, &a, NULL);
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < 32; i++)
            ping_ok(sys, rs[i]);
    char *t = metrics(sys, 0);
    double count = sample(t, "troupe_handle_duration_seconds_count");
    double inf = sample(t, "troupe_handle_duration_seconds_bucket{le=\"+Inf\"}");
    double b1 = sample(t, "troupe_handle_duration_seconds_bucket{le=\"1e-06\"}");
    double b2 = sample(t, "troupe_handle_duration_seconds_bucket{le=\"4e-06\"}");
    cr_assert_eq(troupe_metrics_enabled(), 1);
    cr_assert_gt(count, 0, "%s", t);
    cr_assert_eq(inf, count);
    cr_assert(b1 >= 0 && b1 <= b2 && b2 <= inf);
    cr_assert_geq(sample(t, "troupe_handle_duration_seconds_sum"), 0);
    free(t);
    troupe_system_destroy(sys);
    env_fini(&e);
}

Test(observe, restart_api_and_restart_metrics, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_system *sys = tt_system(2);
    kid_arg a = {&e, 1};
    troupe_child_spec s = kid_spec(&kid_beh, &a, TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
    troupe_ref r = start_kid(sys, root_of(sys), &s);
    cr_assert_eq(troupe_actor_restart(sys, r), 0);
    wait_until(restarts_of(sys, r) == 1);
    cr_assert_str_eq(info_of(sys, r).last_reason, "restart requested");
    cr_assert_eq(info_of(sys, r).exits_by_kind[TROUPE_EXIT_ERROR], 1);
    tell_ok(sys, r, K_PANIC);
    wait_until(restarts_of(sys, r) == 2);
    ping_ok(sys, r);
    troupe_actor_info ai;
    cr_assert_eq(troupe_actor_info_get(sys, r, &ai), 0);
    cr_assert_eq(ai.supervised, 1);
    cr_assert_eq(ai.restarts, 2);
    char *t = metrics(sys, 0);
    /* an operator's restart is counted apart, not as a failure */
    cr_assert_eq(sample(t, "troupe_restarts_total{reason=\"operator\"}"), 1);
    cr_assert_eq(sample(t, "troupe_restarts_total{reason=\"error\"}"), 0);
    cr_assert_eq(sample(t, "troupe_restarts_total{reason=\"panic\"}"), 1);
    cr_assert_eq(sample(t, "troupe_escalations_total"), 0);
    cr_assert_eq(sample(t, "troupe_supervised_actors"), 1);
    free(t);
    troupe_ref plain = tt_spawn(sys, &kid_beh, &a, NULL);
    cr_assert_eq(troupe_actor_restart(sys, plain), TROUPE_ENOTFOUND);
    cr_assert_eq(troupe_actor_restart(NULL, plain), TROUPE_EINVAL);
    troupe_system_destroy(sys);
    env_fini(&e);
}

Test(observe, names_of_states_and_health)
{
    cr_assert_str_eq(troupe_health_name(TROUPE_HEALTH_HEALTHY), "healthy");
    cr_assert_str_eq(troupe_health_name(TROUPE_HEALTH_UNHEALTHY), "unhealthy");
    cr_assert_str_eq(troupe_health_name((troupe_health)77), "unknown");
    cr_assert_str_eq(troupe_actor_state_name(TROUPE_ACTOR_RESTARTING), "restarting");
    cr_assert_str_eq(troupe_actor_state_name((troupe_actor_state)9), "unknown");
}

/* A feature's writer, as breaker/ and migrate/ register theirs. */
static void test_writer(pw *p, troupe_system *sys, void *ud)
{
    (void)sys;
    pw_head(p, (const char *)ud, "gauge", "Written by a test's registered writer.");
    pw_sample(p, (const char *)ud, 42);
}

static const char *after(const char *text, const char *a, const char *b)
{
    const char *x = strstr(text, a), *y = strstr(text, b);
    return x && y && x < y ? y : NULL;
}

Test(observe, registered_writers_follow_observe_and_features, .timeout = 60)
{
    troupe_system *sys = tt_system(1);
    troupe_breaker *b;
    cr_assert_eq(troupe_breaker_create(sys, "brk", NULL, &b), 0);
    troupe_breaker_permit pm;
    cr_assert_eq(troupe_breaker_acquire(b, 7, &pm), 0);
    cr_assert_eq(obs_metrics_register(sys, "test", test_writer, "test_metric"), 0);
    cr_assert_eq(obs_metrics_register(sys, "test", test_writer, "x"), TROUPE_EEXIST);
    cr_assert_eq(obs_metrics_register(sys, "breaker", test_writer, "x"), TROUPE_EEXIST);
    cr_assert_eq(obs_metrics_register(NULL, "t2", test_writer, "x"), TROUPE_EINVAL);
    cr_assert_eq(obs_metrics_register(sys, NULL, test_writer, "x"), TROUPE_EINVAL);
    cr_assert_eq(obs_metrics_register(sys, "t2", NULL, "x"), TROUPE_EINVAL);
    char *t = metrics(sys, 0);
    cr_assert_eq(sample(t, "test_metric"), 42);
    cr_assert_eq(sample(t, "troupe_breaker_state{breaker=\"brk\",key=\"7\"}"), 0);
    /* observe's families, then the features' in the order they registered
     * at create (breaker, migrate), then the test's */
    cr_assert_not_null(after(t, "# HELP troupe_worker_stranded", "# HELP troupe_breaker_state"));
#if TROUPE_HAVE_MIGRATE
    cr_assert_not_null(after(t, "# HELP troupe_breaker_rejected_total", "# HELP troupe_flags_loads_total"));
    cr_assert_not_null(after(t, "# HELP troupe_flags ", "# HELP test_metric"));
#else /* built without migrate/: no flags families at all */
    cr_assert_null(strstr(t, "troupe_flags"));
    cr_assert_not_null(after(t, "# HELP troupe_breaker_rejected_total", "# HELP test_metric"));
#endif
    free(t);
    troupe_breaker_cancel(b, &pm);
    troupe_breaker_destroy(b);
    troupe_system_destroy(sys);
}

typedef struct scraper {
    troupe_system *sys;
    atomic_bool stop;
    long scrapes;
} scraper;

static void *scrape_loop(void *arg)
{
    scraper *s = arg;
    do {
        textbuf b = {0};
        cr_assert_eq(troupe_metrics_write(s->sys, NULL, tb_write, &b), 0);
        free(b.p);
        s->scrapes++;
    } while (!atomic_load(&s->stop));
    return NULL;
}

/* Registration takes the writers' lock: a scrape on another thread sees a
 * writer whole or not at all (TSan checks the table's accesses). */
Test(observe, registration_is_safe_against_a_concurrent_scrape, .timeout = 60)
{
    static const char *names[] = {"reg_a", "reg_b", "reg_c", "reg_d", "reg_e", "reg_f",
                                  "reg_g", "reg_h", "reg_i", "reg_j", "reg_k", "reg_l"};
    enum { N = sizeof names / sizeof names[0] };
    troupe_system *sys = tt_system(1);
    scraper s = {.sys = sys};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, scrape_loop, &s), 0);
    for (int i = 0; i < N; i++)
        cr_assert_eq(obs_metrics_register(sys, names[i], test_writer, (void *)names[i]), 0);
    atomic_store(&s.stop, true);
    pthread_join(th, NULL);
    cr_assert_geq(s.scrapes, 1);
    char *t = metrics(sys, 0);
    for (int i = 0; i < N; i++)
        cr_assert_eq(sample(t, names[i]), 42, "%s", names[i]);
    for (int i = 1; i < N; i++) /* in registration order */
        cr_assert_lt(strstr(t, names[i - 1]), strstr(t, names[i]));
    free(t);
    troupe_system_destroy(sys);
}

/* What the supervisor answers observe about its children, while they
 * restart: copies that always name its children, with restarts that only
 * grow, and the same answers through troupe_actor_info_get. */
typedef struct seen {
    troupe_ref refs[4];
    uint64_t restarts[4];
    troupe_sup sup;
    int n, bad;
} seen;

static void check_view(const sv_child_view *c, void *ud)
{
    seen *s = ud;
    int k = 0;
    while (k < 4 && !troupe_ref_eq(s->refs[k], c->ref))
        k++;
    if (k == 4 || c->parent.id != s->sup.id || c->restarts < s->restarts[k])
        s->bad++;
    else
        s->restarts[k] = c->restarts;
    s->n++;
}

typedef struct panicker {
    troupe_system *sys;
    troupe_ref *refs;
    int rounds;
} panicker;

static void *panic_loop(void *arg)
{
    panicker *p = arg;
    for (int i = 0; i < p->rounds; i++)
        while (troupe_tell(p->sys, p->refs[i % 4], K_PANIC, NULL, 0) == TROUPE_EFULL)
            tt_sleep_ns(100000);
    return NULL;
}

static long restarts_sum(troupe_system *sys, const troupe_ref *r)
{
    long n = 0;
    for (int k = 0; k < 4; k++)
        n += restarts_of(sys, r[k]);
    return n;
}

Test(observe, supervisor_queries_while_children_restart, .timeout = 60)
{
    kid_env e;
    env_init(&e);
    troupe_system *sys = tt_system(2);
    seen s = {.sup = start_sup(sys, root_of(sys), TROUPE_ONE_FOR_ONE, 1000000, TROUPE_PERMANENT)};
    kid_arg a[4];
    for (int k = 0; k < 4; k++) {
        a[k] = (kid_arg){&e, k + 1};
        troupe_child_spec cs = kid_spec(&kid_beh, &a[k], TROUPE_PERMANENT, TROUPE_RESTART_ALWAYS);
        cs.policy.max_restarts = 0;
        s.refs[k] = start_kid(sys, s.sup, &cs);
    }
    panicker p = {sys, s.refs, (int)tt_scaled(400, 40)};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, panic_loop, &p), 0);
    for (int i = 0; i < 200; i++) {
        s.n = 0;
        cr_assert_eq(sv_visit_children(sys, s.sup, check_view, &s), 0);
        cr_assert_eq(s.n, 4);
        cr_assert_eq(s.bad, 0);
        sv_child_view v;
        cr_assert(sv_child_query(sys, s.refs[i % 4], &v));
        cr_assert_eq(v.parent.id, s.sup.id);
        troupe_actor_info ai;
        cr_assert_eq(troupe_actor_info_get(sys, s.refs[i % 4], &ai), 0);
        cr_assert_eq(ai.supervised, 1);
        cr_assert_eq(ai.parent.id, s.sup.id);
    }
    pthread_join(th, NULL);
    wait_until(restarts_sum(sys, s.refs) == p.rounds); /* every panic, one restart */
    for (int k = 0; k < 4; k++)
        ping_ok(sys, s.refs[k]);
    s.n = 0; /* the whole tree holds the same four */
    cr_assert_eq(sv_visit_children(sys, (troupe_sup){0}, check_view, &s), 0);
    cr_assert_eq(s.n, 4);
    cr_assert_eq(s.bad, 0);
    for (int k = 0; k < 4; k++)
        cr_assert_eq((long)s.restarts[k], restarts_of(sys, s.refs[k]));
    cr_assert_eq(sv_visit_children(sys, (troupe_sup){12345}, check_view, &s), TROUPE_ENOTFOUND);
    sv_child_view v;
    troupe_ref plain = tt_spawn(sys, &kid_beh, &a[0], NULL);
    cr_assert_not(sv_child_query(sys, plain, &v));
    cr_assert(sv_child_query(sys, s.refs[0], &v) && v.running);
    troupe_system_destroy(sys);
    env_fini(&e);
}
