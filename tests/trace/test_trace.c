/* tests/trace/test_trace.c — trace contexts: traceparent parsing and
 * formatting, bad input, the API's states, and propagation through a
 * chain of three actors and an ask (each handler records the context it
 * runs in). The exporter points at a closed loopback port here: what it
 * does with the spans is tests/trace/run.sh's part, against a real OTLP
 * receiver; here only the counts must add up. */
#include "../support.h"

#define TP_OK "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

Test(trace_parse, good_and_round_trip)
{
    uint8_t tid[16], sid[8], fl = 9;
    cr_assert_eq(troupe_trace_parse(TP_OK, tid, sid, &fl), 0);
    cr_assert_eq(tid[0], 0x4b);
    cr_assert_eq(tid[15], 0x36);
    cr_assert_eq(sid[0], 0x00);
    cr_assert_eq(sid[7], 0xb7);
    cr_assert_eq(fl, 1);
}

Test(trace_parse, bad_input)
{
    static const char *bad[] = {
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",     /* short */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",   /* long */
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    /* version */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    /* upper case */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    /* zero trace id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    /* zero span id */
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    /* dash */
        "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",    /* not hex */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0z",
    };
    uint8_t tid[16], sid[8], fl;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(troupe_trace_parse(bad[i], tid, sid, &fl), TROUPE_EINVAL, "%s", bad[i]);
    cr_expect_eq(troupe_trace_parse(NULL, tid, sid, &fl), TROUPE_EINVAL);
    cr_expect_eq(troupe_trace_parse(TP_OK, NULL, sid, &fl), TROUPE_EINVAL);
}

static troupe_trace_config closed_port(void)
{
    troupe_trace_config c;
    troupe_trace_config_defaults(&c);
    c.endpoint = "http://127.0.0.1:9/v1/traces"; /* discard: nothing listens */
    c.max_retries = 0;
    c.timeout_ms = 2000;
    c.batch_ms = 5;
    c.seed = 42;
    return c;
}

Test(trace_api, states)
{
    troupe_system *sys = tt_system(2);
    char tp[TROUPE_TRACEPARENT_SIZE];
    cr_assert_eq(troupe_trace_start(sys, "root"), TROUPE_ESTATE); /* not enabled */
    cr_assert_eq(troupe_trace_traceparent(tp, sizeof tp), TROUPE_ENOTFOUND);
    cr_assert_eq(troupe_trace_traceparent(tp, 10), TROUPE_EINVAL);
    troupe_trace_config c = closed_port();
    troupe_trace_config bad = c;
    bad.queue = 100; /* not a power of two */
    cr_assert_eq(troupe_trace_enable(sys, &bad), TROUPE_EINVAL);
    bad = c;
    bad.endpoint = NULL;
    cr_assert_eq(troupe_trace_enable(sys, &bad), TROUPE_EINVAL);
    cr_assert_eq(troupe_trace_enable(sys, &c), 0);
    cr_assert_eq(troupe_trace_enable(sys, &c), TROUPE_EEXIST);
    cr_assert_eq(troupe_trace_set_ratio(sys, 1.5), TROUPE_EINVAL);
    cr_assert_eq(troupe_trace_end(sys), TROUPE_ESTATE);
    cr_assert_eq(troupe_trace_continue(sys, "x", "00-zz"), TROUPE_EINVAL);
    cr_assert_eq(troupe_trace_continue(sys, "x", TP_OK), 0);
    cr_assert_eq(troupe_trace_start(sys, "again"), TROUPE_ESTATE); /* one open already */
    cr_assert_eq(troupe_trace_traceparent(tp, sizeof tp), 0);
    cr_assert_eq(strncmp(tp, TP_OK, 36), 0, "%s", tp); /* the same trace */
    cr_assert_neq(strcmp(tp + 36, TP_OK + 36), 0);     /* a span of its own */
    cr_assert_eq(troupe_trace_end(sys), 0);
    cr_assert_eq(troupe_trace_traceparent(tp, sizeof tp), TROUPE_ENOTFOUND);
    troupe_system_destroy(sys);
}

/* ---- propagation: main -> A -> B -> C (tells), then main asks D -------- */

enum { M_HOP = 1, M_ASK, M_ASK_R };

typedef struct chain_sh {
    char seen[4][TROUPE_TRACEPARENT_SIZE];
    atomic_int rc[4];
    atomic_int done;
    troupe_ref next[4];
} chain_sh;

static chain_sh sh;

static int h_hop(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    int i = *(int *)state;
    if (m->type == M_HOP || m->type == M_ASK) {
        atomic_store(&sh.rc[i], troupe_trace_traceparent(sh.seen[i], sizeof sh.seen[i]));
        if (m->type == M_ASK)
            return troupe_reply(ctx, M_ASK_R, "ok", 2);
        if (i < 2)
            return troupe_tell(troupe_ctx_system(ctx), sh.next[i + 1], M_HOP, NULL, 0);
        atomic_store(&sh.done, 1);
    }
    return 0;
}

static int i_hop(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx;
    *(int *)state = *(const int *)arg;
    return 0;
}

static const troupe_behaviour hop_beh = {
    .name = "hop", .state_size = sizeof(int), .init = i_hop, .handle = h_hop};

static void spawn_chain(troupe_system *sys)
{
    memset(&sh, 0, sizeof sh);
    for (int i = 0; i < 4; i++) {
        atomic_init(&sh.rc[i], 1);
        cr_assert_eq(troupe_spawn(sys, &hop_beh, &i, NULL, &sh.next[i]), 0);
    }
}

static void run_chain(troupe_system *sys)
{
    cr_assert_eq(troupe_tell(sys, sh.next[0], M_HOP, NULL, 0), 0);
    wait_until(atomic_load(&sh.done));
    uint32_t rt;
    char buf[8];
    size_t rl;
    cr_assert_eq(troupe_ask(sys, sh.next[3], M_ASK, NULL, 0, ASK_FOREVER_NS, &rt, buf, sizeof buf,
                            &rl),
                 0);
}

Test(trace_propagation, chain_and_ask)
{
    troupe_system *sys = tt_system(2);
    troupe_trace_config c = closed_port();
    cr_assert_eq(troupe_trace_enable(sys, &c), 0);
    spawn_chain(sys);
    char root[TROUPE_TRACEPARENT_SIZE];
    cr_assert_eq(troupe_trace_start(sys, "root"), 0);
    cr_assert_eq(troupe_trace_traceparent(root, sizeof root), 0);
    run_chain(sys);
    cr_assert_eq(troupe_trace_end(sys), 0);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(atomic_load(&sh.rc[i]), 0, "actor %d ran without a context", i);
        cr_expect_eq(strncmp(sh.seen[i], root, 36), 0, "%s vs %s", sh.seen[i], root);
        cr_expect_str_eq(sh.seen[i] + 52, "-01");
        for (int j = 0; j < i; j++)
            cr_expect_neq(strcmp(sh.seen[i], sh.seen[j]), 0);
        cr_expect_neq(strcmp(sh.seen[i], root), 0);
    }
    /* every span is accounted for: root, 3 sends, 3 handlings, ask, answer
     * (the last handler's span ends just after it flagged `done`: flush
     * until it is in, bounded by the hang guard) */
    troupe_trace_stats st;
    wait_until(troupe_trace_flush(sys, 20000) == 0 && troupe_trace_stats_get(sys, &st) == 0 &&
               st.spans_exported + st.dropped_queue + st.dropped_export >= 9);
    cr_expect_eq(st.spans_exported, 0);
    cr_expect_eq(st.spans_exported + st.dropped_queue + st.dropped_export, 9);
    cr_expect_geq(st.export_failures, 1);
    troupe_system_destroy(sys);
}

Test(trace_propagation, unsampled_root_carries_nothing)
{
    troupe_system *sys = tt_system(2);
    troupe_trace_config c = closed_port();
    c.sample_ratio = 0;
    cr_assert_eq(troupe_trace_enable(sys, &c), 0);
    spawn_chain(sys);
    char root[TROUPE_TRACEPARENT_SIZE];
    cr_assert_eq(troupe_trace_start(sys, "root"), 0);
    cr_assert_eq(troupe_trace_traceparent(root, sizeof root), 0);
    cr_expect_str_eq(root + 52, "-00");
    run_chain(sys);
    cr_assert_eq(troupe_trace_end(sys), 0);
    for (int i = 0; i < 4; i++)
        cr_expect_eq(atomic_load(&sh.rc[i]), TROUPE_ENOTFOUND);
    cr_assert_eq(troupe_trace_flush(sys, 20000), 0);
    troupe_trace_stats st;
    cr_assert_eq(troupe_trace_stats_get(sys, &st), 0);
    cr_expect_eq(st.spans_exported + st.dropped_queue + st.dropped_export, 0);
    troupe_system_destroy(sys);
}

Test(trace_propagation, continued_trace_keeps_its_id)
{
    troupe_system *sys = tt_system(2);
    troupe_trace_config c = closed_port();
    c.sample_ratio = 0; /* the parent's flag decides, not the ratio */
    cr_assert_eq(troupe_trace_enable(sys, &c), 0);
    spawn_chain(sys);
    cr_assert_eq(troupe_trace_continue(sys, "in", TP_OK), 0);
    run_chain(sys);
    cr_assert_eq(troupe_trace_end(sys), 0);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(atomic_load(&sh.rc[i]), 0);
        cr_expect_eq(strncmp(sh.seen[i], TP_OK, 36), 0);
    }
    troupe_system_destroy(sys);
}

/* ---- metrics: the counters on /metrics (docs/METRICS.md) ----------------- */

typedef struct text {
    char buf[1 << 17];
    size_t len;
} text;

static int collect(void *ud, const char *d, size_t n)
{
    text *t = ud;
    if (t->len + n >= sizeof t->buf)
        return TROUPE_ENOMEM;
    memcpy(t->buf + t->len, d, n);
    t->len += n;
    t->buf[t->len] = 0;
    return 0;
}

Test(trace_metrics, written_once_enabled)
{
    troupe_system *sys = tt_system(1);
    static text t;
    t.len = 0;
    t.buf[0] = 0;
    cr_assert_eq(troupe_metrics_write(sys, NULL, collect, &t), 0);
    cr_expect_null(strstr(t.buf, "troupe_trace_"), "nothing before troupe_trace_enable");
    troupe_trace_config c = closed_port();
    cr_assert_eq(troupe_trace_enable(sys, &c), 0);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(troupe_trace_start(sys, "root"), 0);
        cr_assert_eq(troupe_trace_end(sys), 0);
    }
    cr_assert_eq(troupe_trace_flush(sys, 20000), 0);
    t.len = 0;
    cr_assert_eq(troupe_metrics_write(sys, NULL, collect, &t), 0);
    cr_expect_not_null(strstr(t.buf, "troupe_trace_spans_exported_total 0\n"), "%s", t.buf);
    cr_expect_not_null(strstr(t.buf, "troupe_trace_spans_dropped_total{reason=\"export_failed\"} 3\n"));
    cr_expect_not_null(strstr(t.buf, "troupe_trace_spans_dropped_total{reason=\"queue_full\"} 0\n"));
    cr_expect_not_null(strstr(t.buf, "# TYPE troupe_trace_export_failures_total counter\n"));
    troupe_system_destroy(sys);
}

/* ---- the sampling ratio as the feature flag trace.sampling ---- */

/* How many of n new roots are sampled (their traceparent's flags). */
static int sampled_roots(troupe_system *sys, int n)
{
    int k = 0;
    char tp[TROUPE_TRACEPARENT_SIZE];
    for (int i = 0; i < n; i++) {
        cr_assert_eq(troupe_trace_start(sys, "root"), 0);
        cr_assert_eq(troupe_trace_traceparent(tp, sizeof tp), 0);
        k += strcmp(tp + 52, "-01") == 0;
        cr_assert_eq(troupe_trace_end(sys), 0);
    }
    return k;
}

Test(trace_sampling, the_flag_sets_the_ratio_at_run_time)
{
    troupe_system *sys = tt_system(1);
    troupe_trace_config c = closed_port();
    c.sample_ratio = 1.0;
    c.queue = 1u << 14; /* the spans of every root fit: none is lost to the test */
    cr_assert_eq(troupe_trace_enable(sys, &c), 0);
    int rc = troupe_flags_set(sys, "trace.sampling", "0%");
    if (rc == TROUPE_ENOTSUP) { /* built without migrate/: no flags */
        troupe_system_destroy(sys);
        cr_skip_test("flags not built");
    }
    cr_assert_eq(rc, 0);
    cr_expect_eq(sampled_roots(sys, 1000), 0, "0%%: nothing sampled");
    cr_assert_eq(troupe_flags_set(sys, "trace.sampling", "25%"), 0);
    /* seed 42, 1000 roots at 0.25: mean 250, sd 14; the bound is 7 sd */
    int k = sampled_roots(sys, 1000);
    cr_expect(k >= 150 && k <= 350, "25%%: %d of 1000", k);
    cr_assert_eq(troupe_flags_set(sys, "trace.sampling", "on"), 0);
    cr_expect_eq(sampled_roots(sys, 1000), 1000, "on: every root");
    cr_assert_eq(troupe_flags_set(sys, "trace.sampling", "off"), 0);
    cr_expect_eq(sampled_roots(sys, 1000), 0, "off: none");
    /* the flag wins over troupe_trace_set_ratio while it has a value */
    cr_assert_eq(troupe_trace_set_ratio(sys, 1.0), 0);
    cr_expect_eq(sampled_roots(sys, 100), 0);
    /* cleared: the configured ratio again */
    cr_assert_eq(troupe_flags_clear(sys, "trace.sampling"), 0);
    cr_expect_eq(sampled_roots(sys, 1000), 1000, "cleared: the ratio set (1.0)");
    cr_assert_eq(troupe_trace_set_ratio(sys, 0.0), 0);
    cr_expect_eq(sampled_roots(sys, 1000), 0, "cleared: the ratio set (0.0)");
    troupe_system_destroy(sys);
}
