/* tests/http/test_events.c — GET /api/events (the event log) and GET
 * /api/journal against a real server (client.h): the reply's shape, paging
 * with since and limit, the actor filter, bad queries (400), the ring
 * going round (dropped), and the journal's counters after real commits.
 * Waits are hang guards (wait_until), never timing assertions. */
#include "../support.h"
#include "client.h"

#include <troupe/flags.h>
#include <troupe/http.h>
#include <troupe/persist.h>

/* Fails on every message: one failure event each (unsupervised: no more). */
static int fail_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    (void)ctx, (void)st, (void)msg;
    return TROUPE_EINVAL;
}

static const troupe_behaviour fail_beh = {.name = "failer", .handle = fail_handle};

typedef struct env {
    troupe_system *sys;
    troupe_journal *j;
    troupe_http *srv;
    int port;
} env;

static void start_env(env *e, bool journal)
{
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 2;
    e->j = NULL;
    if (journal) {
        cr_assert_eq(troupe_journal_open_memory(&e->j), 0);
        cfg.journal = e->j;
    }
    cr_assert_eq(troupe_system_create(&e->sys, &cfg), 0);
    troupe_http_config hc;
    troupe_http_config_defaults(&hc);
    cr_assert_eq(troupe_http_start(e->sys, &hc, &e->srv), 0);
    e->port = troupe_http_port(e->srv);
}

static void stop_env(env *e)
{
    troupe_http_stop(e->srv);
    troupe_system_destroy(e->sys);
    if (e->j)
        troupe_journal_close(e->j);
}

/* The number of events written so far (the log's last seq). */
static uint64_t last_seq(troupe_system *sys)
{
    troupe_events_page pg;
    cr_assert_eq(troupe_events_read(sys, UINT64_MAX, NULL, NULL, 0, &pg), 0);
    return pg.next;
}

/* n unsupervised actors, named prefix<i> when prefix is not NULL, each
 * failing once; returns when the log holds all n failures. */
static void fail_n(env *e, int n, const char *prefix)
{
    uint64_t before = last_seq(e->sys);
    for (int i = 0; i < n; i++) {
        troupe_ref r;
        cr_assert_eq(troupe_spawn(e->sys, &fail_beh, NULL, NULL, &r), 0);
        if (prefix) {
            char name[32];
            snprintf(name, sizeof name, "%s%d", prefix, i);
            cr_assert_eq(troupe_register(e->sys, name, r), 0);
        }
        cr_assert_eq(troupe_tell(e->sys, r, 1, NULL, 0), 0);
    }
    wait_until(last_seq(e->sys) >= before + (uint64_t)n);
}

static hc_resp get_ok(env *e, const char *path)
{
    hc_resp r = hc_get(e->port, path);
    cr_assert_eq(r.status, 200, "GET %s: %d\n%s", path, r.status, r.raw);
    cr_assert(strcmp(path, "/metrics") == 0 || json_valid(r.body), "GET %s: not JSON: %s", path,
              r.body);
    return r;
}

static int count_of(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* The number after "key": in s (the first one), or -1. */
static long long num_after(const char *s, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = strstr(s, k);
    return p ? strtoll(p + strlen(k), NULL, 10) : -1;
}

Test(http_events, shape_of_a_failure)
{
    env e;
    start_env(&e, false);
    fail_n(&e, 1, "broken");
    hc_resp r = get_ok(&e, "/api/events");
    cr_expect(strstr(r.body, "\"now_ns\":"), "%s", r.body);
    cr_expect_eq(num_after(r.body, "next"), 1, "%s", r.body);
    cr_expect_eq(num_after(r.body, "dropped"), 0, "%s", r.body);
    cr_expect(strstr(r.body, "\"events\":[{\"seq\":1,\"at_ns\":"), "%s", r.body);
    cr_expect(strstr(r.body, "\"kind\":\"failure\",\"actor\":\"broken0\",\"ref\":\"0x"), "%s",
              r.body);
    cr_expect(strstr(r.body, "\"behaviour\":\"failer\",\"detail\":\"error"), "%s", r.body);
    hc_free(&r);
    stop_env(&e);
}

Test(http_events, supervised_restart_is_logged)
{
    env e;
    start_env(&e, false);
    troupe_sup root;
    cr_assert_eq(troupe_sup_root(e.sys, &root), 0);
    troupe_child_spec cs;
    troupe_child_spec_defaults(&cs);
    cs.beh = &fail_beh;
    cs.name = "flaky";
    cs.policy.kind = TROUPE_RESTART_ALWAYS;
    troupe_ref ref;
    cr_assert_eq(troupe_sup_start_child(e.sys, root, &cs, &ref), 0);
    cr_assert_eq(troupe_tell(e.sys, ref, 1, NULL, 0), 0);
    wait_until(last_seq(e.sys) >= 2); /* its failure, then its restart */
    hc_resp r = get_ok(&e, "/api/events?actor=flaky");
    cr_expect(strstr(r.body, "\"kind\":\"failure\",\"actor\":\"flaky\""), "%s", r.body);
    cr_expect(strstr(r.body, "\"kind\":\"restart\",\"actor\":\"flaky\""), "%s", r.body);
    hc_free(&r);
    stop_env(&e);
}

Test(http_events, since_and_limit_page_through)
{
    env e;
    start_env(&e, false);
    fail_n(&e, 10, "p");
    hc_resp r = get_ok(&e, "/api/events?limit=3");
    cr_expect_eq(count_of(r.body, "\"seq\":"), 3, "%s", r.body);
    cr_expect_eq(num_after(r.body, "next"), 3, "%s", r.body);
    hc_free(&r);
    r = get_ok(&e, "/api/events?since=3&limit=3");
    cr_expect(strstr(r.body, "\"events\":[{\"seq\":4,"), "%s", r.body);
    cr_expect_eq(num_after(r.body, "next"), 6, "%s", r.body);
    hc_free(&r);
    r = get_ok(&e, "/api/events?since=6&limit=100");
    cr_expect_eq(count_of(r.body, "\"seq\":"), 4, "%s", r.body);
    cr_expect_eq(num_after(r.body, "next"), 10, "%s", r.body);
    hc_free(&r);
    r = get_ok(&e, "/api/events?since=10"); /* nothing new: next stays */
    cr_expect(strstr(r.body, "\"events\":[]"), "%s", r.body);
    cr_expect_eq(num_after(r.body, "next"), 10, "%s", r.body);
    hc_free(&r);
    stop_env(&e);
}

Test(http_events, actor_filter)
{
    env e;
    start_env(&e, false);
    fail_n(&e, 5, "f");
    hc_resp r = get_ok(&e, "/api/events?actor=f3");
    cr_expect_eq(count_of(r.body, "\"seq\":"), 1, "%s", r.body);
    cr_expect(strstr(r.body, "\"actor\":\"f3\""), "%s", r.body);
    cr_expect_eq(num_after(r.body, "next"), 5, "%s", r.body); /* scanned to the end */
    hc_free(&r);
    r = get_ok(&e, "/api/events?actor=nobody");
    cr_expect(strstr(r.body, "\"events\":[]"), "%s", r.body);
    hc_free(&r);
    stop_env(&e);
}

Test(http_events, bad_query_is_400)
{
    env e;
    start_env(&e, false);
    const char *bad[] = {"/api/events?since=abc", "/api/events?since=-1", "/api/events?since=",
                         "/api/events?limit=0", "/api/events?limit=513", "/api/events?limit=1x",
                         "/api/events?since=99999999999999999999999", "/api/events?actor=%zz"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hc_resp r = hc_get(e.port, bad[i]);
        cr_expect_eq(r.status, 400, "GET %s: %d\n%s", bad[i], r.status, r.raw);
        cr_expect(json_valid(r.body), "%s", r.body);
        hc_free(&r);
    }
    hc_resp r = hc_request(e.port, "POST", "/api/events", NULL);
    cr_expect_eq(r.status, 405, "%s", r.raw);
    hc_free(&r);
    stop_env(&e);
}

Test(http_events, ring_overflow_counts_dropped, .timeout = 120)
{
    env e;
    start_env(&e, false);
    int n = TROUPE_EVENTS_KEPT + 88;
    fail_n(&e, n, NULL);
    hc_resp r = get_ok(&e, "/api/events?limit=512");
    cr_expect_eq(num_after(r.body, "dropped"), 88, "%.300s", r.body);
    cr_expect(strstr(r.body, "\"events\":[{\"seq\":89,"), "%.300s", r.body);
    cr_expect_eq(count_of(r.body, "\"seq\":"), TROUPE_EVENTS_KEPT);
    cr_expect_eq(num_after(r.body, "next"), n, "%.300s", r.body);
    hc_free(&r);
    r = get_ok(&e, "/api/events?since=500&limit=1"); /* still kept: nothing lost */
    cr_expect_eq(num_after(r.body, "dropped"), 0, "%.300s", r.body);
    cr_expect(strstr(r.body, "\"events\":[{\"seq\":501,"), "%.300s", r.body);
    hc_free(&r);
    stop_env(&e);
}

Test(http_events, flag_changes_are_logged_once)
{
    env e;
    start_env(&e, false);
    int rc = troupe_flags_set(e.sys, "new.path", "25%");
    if (rc == TROUPE_ENOTSUP) { /* -Dmigrate=disabled */
        stop_env(&e);
        cr_skip_test("no flags in this build");
    }
    cr_assert_eq(rc, 0);
    cr_assert_eq(troupe_flags_set(e.sys, "new.path", "25%"), 0); /* the same value: no event */
    cr_assert_eq(troupe_flags_clear(e.sys, "new.path"), 0);      /* back to off: one */
    hc_resp r = get_ok(&e, "/api/events?actor=new.path");
    cr_expect_eq(count_of(r.body, "\"seq\":"), 2, "%s", r.body);
    cr_expect(strstr(r.body, "\"kind\":\"flag\",\"actor\":\"new.path\",\"ref\":null,"
                             "\"behaviour\":null,\"detail\":\"25% (from runtime)\""),
              "%s", r.body);
    cr_expect(strstr(r.body, "\"detail\":\"off (from none)\""), "%s", r.body);
    hc_free(&r);
    stop_env(&e);
}

Test(http_events, read_validates)
{
    troupe_event ev;
    troupe_events_page pg;
    cr_expect_eq(troupe_events_read(NULL, 0, NULL, &ev, 1, &pg), TROUPE_EINVAL);
    env e;
    start_env(&e, false);
    cr_expect_eq(troupe_events_read(e.sys, 0, NULL, NULL, 1, &pg), TROUPE_EINVAL);
    cr_expect_eq(troupe_events_read(e.sys, 0, NULL, &ev, 1, NULL), TROUPE_EINVAL);
    cr_expect_str_eq(troupe_event_kind_name(TROUPE_EVENT_FLAG), "flag");
    cr_expect_str_eq(troupe_event_kind_name((troupe_event_kind)99), "unknown");
    stop_env(&e);
}

/* ---- /api/journal ---- */

static int count_apply(troupe_ctx *ctx, void *st, const void *ev, size_t len)
{
    (void)ctx, (void)ev, (void)len;
    (*(long *)st)++;
    return 0;
}

static const troupe_persistence count_persist = {.apply = count_apply, .schema = 1};

static int count_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    (void)st, (void)msg;
    long one = 1;
    return troupe_persist(ctx, &one, sizeof one);
}

static const troupe_behaviour count_beh = {.name = "counter", .state_size = sizeof(long),
                                           .handle = count_handle, .persist = &count_persist};

Test(http_journal, counts_commits)
{
    env e;
    start_env(&e, true);
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.persistence_id = "c-1";
    troupe_ref r;
    cr_assert_eq(troupe_spawn(e.sys, &count_beh, NULL, &o, &r), 0);
    for (int i = 0; i < 20; i++)
        cr_assert_eq(troupe_tell(e.sys, r, 1, NULL, 0), 0);
    troupe_journal_metrics m;
    wait_until(troupe_journal_metrics_get(e.j, &m) == 0 && m.events >= 20);
    cr_expect_geq(m.commits, 1);
    cr_expect_leq(m.commits, 20);
    cr_expect_eq(m.failures, 0);
    cr_expect_eq(m.recoveries, 1); /* its start */
    uint64_t lat = 0, batch = 0;
    for (int i = 0; i < TROUPE_JOURNAL_LATENCY_BUCKETS; i++)
        lat += m.commit_ns_buckets[i];
    for (int i = 0; i < TROUPE_JOURNAL_BATCH_BUCKETS; i++)
        batch += m.batch_buckets[i];
    cr_expect_eq(lat, m.commits + m.failures);
    cr_expect_eq(batch, m.commits);
    hc_resp h = get_ok(&e, "/api/journal");
    cr_expect(strstr(h.body, "{\"journal\":true,\"commits\":"), "%s", h.body);
    cr_expect_geq(num_after(h.body, "events"), 20, "%s", h.body);
    cr_expect(strstr(h.body, "\"commit_seconds\":{\"le\":[0.0001,"), "%s", h.body);
    cr_expect(strstr(h.body, ",null],\"counts\":["), "%s", h.body);
    hc_free(&h);
    h = get_ok(&e, "/metrics");
    cr_expect(strstr(h.body, "\ntroupe_journal_commits_total "), "%s", h.body);
    cr_expect(strstr(h.body, "\ntroupe_journal_commit_duration_seconds_bucket{le=\"+Inf\"} "));
    cr_expect(strstr(h.body, "\ntroupe_journal_recovery_duration_seconds_count 1\n"));
    cr_expect(strstr(h.body, "\ntroupe_journal_events_total "));
    hc_free(&h);
    stop_env(&e);
}

Test(http_journal, none)
{
    env e;
    start_env(&e, false);
    hc_resp h = get_ok(&e, "/api/journal");
    cr_expect_str_eq(h.body, "{\"journal\":false}");
    hc_free(&h);
    h = get_ok(&e, "/metrics");
    cr_expect_null(strstr(h.body, "troupe_journal_"));
    hc_free(&h);
    troupe_journal_metrics m;
    cr_expect_eq(troupe_journal_metrics_get(NULL, &m), TROUPE_EINVAL);
    cr_expect_null(troupe_system_journal(e.sys));
    cr_expect_null(troupe_system_journal(NULL));
    stop_env(&e);
}
