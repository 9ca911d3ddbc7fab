/* tests/trace/trace_prog.c MODE ENDPOINT — the traced workloads that
 * tests/trace/run.sh checks against its OTLP receiver. Prints what it
 * did as `key=value` lines; exits non-zero when its own counts are off.
 *   chain    root -> A -> B -> C (tells), then an ask of D (protobuf)
 *   json     the same in OTLP/JSON
 *   retry    chain, the receiver answers 503 first (retries: 4)
 *   sample   10000 roots at ratio 0.25, seed 7
 *   down     100 roots into a queue of 16 at a closed port: 84 dropped
 *            by the full queue, 16 by the failed export (no timing: the
 *            exporter sends only on flush here)
 *   restart  a supervised actor fails on a traced message and restarts
 *   call     root, then a troupe_call this thread runs itself: the CLIENT
 *            span ends after the SERVER span (it covers the wait); then an
 *            ask its handler never answers: its CLIENT span ends with the
 *            timeout, failed
 *   failover the cluster's failover hook (core/hooks.h) called as
 *            cluster/failover.c calls it, outside and inside a root */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <troupe/troupe.h>

#include "core/system.h" /* sys->hooks.trace_failover: the failover mode */

enum { M_HOP = 1, M_ASK, M_ASK_R, M_FAIL };

static troupe_ref next[4];
static atomic_int done;

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int h_hop(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    int i = *(int *)state;
    if (m->type == M_ASK)
        return troupe_reply(ctx, M_ASK_R, "ok", 2);
    if (m->type == M_FAIL)
        return TROUPE_EFAILED; /* the supervisor restarts it */
    if (m->type == M_HOP) {
        if (i < 2)
            return troupe_tell(troupe_ctx_system(ctx), next[i + 1], M_HOP, NULL, 0);
        atomic_store(&done, 1);
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

static void must(int rc, const char *what)
{
    if (rc) {
        fprintf(stderr, "trace_prog: %s: %s\n", what, troupe_strerror(rc));
        exit(2);
    }
}

static void wait_done(void)
{
    for (int i = 0; i < 30000 && !atomic_load(&done); i++)
        pause_ms(1);
    if (!atomic_load(&done)) {
        fprintf(stderr, "trace_prog: the chain did not finish\n");
        exit(2);
    }
}

static void chain(troupe_system *sys)
{
    for (int i = 0; i < 4; i++)
        must(troupe_spawn(sys, &hop_beh, &i, NULL, &next[i]), "spawn");
    char tp[TROUPE_TRACEPARENT_SIZE];
    must(troupe_trace_start(sys, "root"), "start");
    must(troupe_trace_traceparent(tp, sizeof tp), "traceparent");
    printf("root=%s\n", tp);
    must(troupe_tell(sys, next[0], M_HOP, NULL, 0), "tell");
    wait_done();
    uint32_t rt;
    char buf[8];
    size_t rl;
    must(troupe_ask(sys, next[3], M_ASK, NULL, 0, 30000000000ull, &rt, buf, sizeof buf, &rl), "ask");
    must(troupe_trace_end(sys), "end");
}

static void restart(troupe_system *sys)
{
    troupe_sup root;
    must(troupe_sup_root(sys, &root), "root sup");
    troupe_child_spec spec;
    troupe_child_spec_defaults(&spec);
    int idx = 3;
    spec.beh = &hop_beh;
    spec.arg = &idx;
    spec.arg_size = sizeof idx;
    troupe_ref child;
    must(troupe_sup_start_child(sys, root, &spec, &child), "child");
    must(troupe_trace_start(sys, "root"), "start");
    must(troupe_tell(sys, child, M_FAIL, NULL, 0), "tell");
    must(troupe_trace_end(sys), "end");
    /* the restart's span is recorded when the supervisor re-inits it */
    troupe_child_info ci = {0};
    for (int i = 0; i < 30000; i++) {
        if (troupe_child_info_get(sys, child, &ci) == 0 && ci.restarts >= 1)
            break;
        pause_ms(1);
    }
    printf("restarts=%u\n", (unsigned)ci.restarts);
}

static void call(troupe_system *sys)
{
    int idx = 3;
    must(troupe_spawn(sys, &hop_beh, &idx, NULL, &next[3]), "spawn");
    char tp[TROUPE_TRACEPARENT_SIZE];
    must(troupe_trace_start(sys, "root"), "start");
    must(troupe_trace_traceparent(tp, sizeof tp), "traceparent");
    printf("root=%s\n", tp);
    uint32_t rt;
    char buf[8];
    size_t rl;
    must(troupe_call(sys, next[3], M_ASK, NULL, 0, 30000000000ull, &rt, buf, sizeof buf, &rl),
         "call");
    /* M_HOP at the last hop: handled, never answered */
    int rc = troupe_ask(sys, next[3], M_HOP, NULL, 0, 50000000ull, &rt, buf, sizeof buf, &rl);
    printf("unanswered=%d\n", rc);
    must(troupe_trace_end(sys), "end");
}

static void failover(troupe_system *sys)
{
    int idx = 3;
    must(troupe_spawn(sys, &hop_beh, &idx, NULL, &next[3]), "spawn");
    sys->hooks.trace_failover(sys, next[3], "account", "node-x"); /* a root of its own */
    char tp[TROUPE_TRACEPARENT_SIZE];
    must(troupe_trace_start(sys, "root"), "start");
    must(troupe_trace_traceparent(tp, sizeof tp), "traceparent");
    printf("root=%s\n", tp);
    sys->hooks.trace_failover(sys, next[3], "account", "node-x"); /* under the root */
    must(troupe_trace_end(sys), "end");
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: trace_prog MODE ENDPOINT\n");
        return 2;
    }
    const char *mode = argv[1];
    troupe_system *sys;
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 2;
    must(troupe_system_create(&sys, &cfg), "create");
    troupe_trace_config tc;
    troupe_trace_config_defaults(&tc);
    tc.endpoint = argv[2];
    tc.seed = 7;
    tc.batch_ms = 20;
    tc.node = "node-a";
    tc.json = !strcmp(mode, "json");
    if (!strcmp(mode, "sample"))
        tc.sample_ratio = 0.25;
    if (!strcmp(mode, "down")) {
        tc.queue = 16;
        tc.batch_ms = 3600000; /* only the flush sends */
        tc.batch_size = 65536;
        tc.max_retries = 1;
    }
    must(troupe_trace_enable(sys, &tc), "enable");
    int rc = 0;
    if (!strcmp(mode, "chain") || !strcmp(mode, "json") || !strcmp(mode, "retry")) {
        chain(sys);
    } else if (!strcmp(mode, "sample")) {
        for (int i = 0; i < 10000; i++) {
            must(troupe_trace_start(sys, "root"), "start");
            must(troupe_trace_end(sys), "end");
        }
    } else if (!strcmp(mode, "down")) {
        for (int i = 0; i < 100; i++) {
            must(troupe_trace_start(sys, "root"), "start");
            must(troupe_trace_end(sys), "end");
        }
    } else if (!strcmp(mode, "restart")) {
        restart(sys);
    } else if (!strcmp(mode, "call")) {
        call(sys);
    } else if (!strcmp(mode, "failover")) {
        failover(sys);
    } else {
        fprintf(stderr, "trace_prog: unknown mode %s\n", mode);
        return 2;
    }
    /* the chain's last handler span ends just after it set `done`: flush
     * until the spans expected are in (bounded) */
    uint64_t want = !strcmp(mode, "down")       ? 100
                    : !strcmp(mode, "restart")  ? 4
                    : !strcmp(mode, "call")     ? 5
                    : !strcmp(mode, "failover") ? 3
                                                : 9;
    troupe_trace_stats st;
    for (int i = 0; i < 300; i++) {
        troupe_trace_flush(sys, 60000);
        must(troupe_trace_stats_get(sys, &st), "stats");
        if (!strcmp(mode, "sample") ||
            st.spans_exported + st.dropped_queue + st.dropped_export >= want)
            break;
        pause_ms(10);
    }
    printf("exported=%llu dropped_queue=%llu dropped_export=%llu failures=%llu\n",
           (unsigned long long)st.spans_exported, (unsigned long long)st.dropped_queue,
           (unsigned long long)st.dropped_export, (unsigned long long)st.export_failures);
    if (!strcmp(mode, "down") &&
        (st.spans_exported != 0 || st.dropped_queue != 84 || st.dropped_export != 16))
        rc = 1;
    if (!strcmp(mode, "retry") && st.export_failures < 1)
        rc = 1;
    troupe_system_destroy(sys);
    return rc;
}
