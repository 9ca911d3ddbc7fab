/* tests/trace/trace_cluster.c ENDPOINT — a trace across two nodes, for
 * tests/trace/run_cluster.sh (inside tests/cluster/run_nats.sh: a real
 * PostgreSQL and NATS mesh, TROUPE_PG_CONNINFO, TROUPE_NATS_URL_1..2).
 * Nodes "node-a" and "node-b" are two systems of this process, each
 * tracing to ENDPOINT with its own node name. On node-a a plain thread
 * opens a root and, through remote refs to node-b's actor "srv", tells it
 * once and asks it once; srv's tell handler tells node-a's "sink" back.
 * Prints root=<traceparent>; check.py (mode cluster) checks the spans. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <troupe/troupe.h>

#define SEC 1000000000ull
enum { M_TELL = 1, M_ASK, M_ASK_R, M_BACK };

typedef struct node {
    troupe_system *sys;
    troupe_cluster *c;
} node;

static troupe_ref sink_remote; /* node-a's sink, as node-b sees it */
static atomic_int back;

static node *dump[2];
static void print_stats(void)
{
    for (int i = 0; i < 2; i++) {
        troupe_cluster_stats s;
        if (!dump[i] || troupe_cluster_stats_get(dump[i]->c, &s))
            continue;
        fprintf(stderr,
                "node %d: envs_out=%llu frames_in=%llu tells_in=%llu asks_in=%llu replies_in=%llu "
                "bad_envelopes=%llu deliver_failed=%llu late_replies=%llu stale=%llu\n",
                i, (unsigned long long)s.envs_out, (unsigned long long)s.frames_in,
                (unsigned long long)s.tells_in, (unsigned long long)s.asks_in,
                (unsigned long long)s.replies_in, (unsigned long long)s.bad_envelopes,
                (unsigned long long)s.deliver_failed, (unsigned long long)s.late_replies,
                (unsigned long long)s.stale_frames);
    }
}

static void must(int rc, const char *what)
{
    if (rc) {
        print_stats();
        fprintf(stderr, "trace_cluster: %s: %s\n", what, troupe_strerror(rc));
        exit(2);
    }
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int h_srv(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    (void)state;
    if (m->type == M_ASK)
        return troupe_reply(ctx, M_ASK_R, "ok", 2);
    if (m->type == M_TELL) /* a hop back to node-a: a grandchild there */
        return troupe_tell(troupe_ctx_system(ctx), sink_remote, M_BACK, NULL, 0);
    return 0;
}
static const troupe_behaviour srv_beh = {.name = "srv", .handle = h_srv};

static int h_sink(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    (void)ctx;
    (void)state;
    if (m->type == M_BACK)
        atomic_store(&back, 1);
    return 0;
}
static const troupe_behaviour sink_beh = {.name = "sink", .handle = h_sink};


static void node_up(node *n, const char *cluster, const char *name, const char *url,
                    const char *endpoint)
{
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 2;
    must(troupe_system_create(&n->sys, &cfg), "create");
    troupe_trace_config tc;
    troupe_trace_config_defaults(&tc);
    tc.endpoint = endpoint;
    tc.batch_ms = 20;
    tc.node = name;
    must(troupe_trace_enable(n->sys, &tc), "enable");
    troupe_cluster_config cc;
    troupe_cluster_config_defaults(&cc);
    cc.cluster = cluster;
    cc.node = name;
    cc.nats_urls = url;
    cc.pg_conninfo = getenv("TROUPE_PG_CONNINFO");
    must(troupe_cluster_create(n->sys, &cc, &n->c), "cluster create");
    must(troupe_cluster_join(n->c), "join");
}

static void flush_until(troupe_system *sys, uint64_t want)
{
    troupe_trace_stats st = {0};
    for (int i = 0; i < 300; i++) {
        troupe_trace_flush(sys, 60000);
        must(troupe_trace_stats_get(sys, &st), "stats");
        if (st.spans_exported >= want)
            return;
        pause_ms(10);
    }
    fprintf(stderr, "trace_cluster: %llu spans exported, %llu wanted\n",
            (unsigned long long)st.spans_exported, (unsigned long long)want);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *u1 = getenv("TROUPE_NATS_URL_1"), *u2 = getenv("TROUPE_NATS_URL_2");
    if (argc < 2 || !u1 || !u2 || !getenv("TROUPE_PG_CONNINFO")) {
        fprintf(stderr, "usage: trace_cluster ENDPOINT (inside tests/cluster/run_nats.sh)\n");
        return 2;
    }
    char cluster[32];
    snprintf(cluster, sizeof cluster, "trace%ld", (long)time(NULL) % 100000);
    node a, b;
    node_up(&a, cluster, "node-a", u1, argv[1]);
    node_up(&b, cluster, "node-b", u2, argv[1]);
    dump[0] = &a;
    dump[1] = &b; /* their counters, on a failure */
    troupe_ref srv, sink, srv_r, sink_r;
    must(troupe_spawn(b.sys, &srv_beh, NULL, NULL, &srv), "spawn srv");
    must(troupe_register(b.sys, "srv", srv), "register srv");
    must(troupe_spawn(a.sys, &sink_beh, NULL, NULL, &sink), "spawn sink");
    must(troupe_register(a.sys, "sink", sink), "register sink");
    must(troupe_cluster_lookup(a.c, "node-b", "srv", 10 * SEC, &srv_r), "lookup srv");
    must(troupe_cluster_lookup(b.c, "node-a", "sink", 10 * SEC, &sink_r), "lookup sink");
    sink_remote = sink_r;

    char tp[TROUPE_TRACEPARENT_SIZE];
    must(troupe_trace_start(a.sys, "root"), "start");
    must(troupe_trace_traceparent(tp, sizeof tp), "traceparent");
    printf("root=%s\n", tp);
    must(troupe_tell(a.sys, srv_r, M_TELL, "t", 1), "tell");
    uint32_t rt;
    char buf[8];
    size_t rl;
    must(troupe_ask(a.sys, srv_r, M_ASK, "q", 1, 30 * SEC, &rt, buf, sizeof buf, &rl), "ask");
    must(troupe_call(a.sys, srv_r, M_ASK, "q", 1, 30 * SEC, &rt, buf, sizeof buf, &rl), "call");
    must(troupe_trace_end(a.sys), "end");
    for (int i = 0; i < 30000 && !atomic_load(&back); i++)
        pause_ms(1);
    if (!atomic_load(&back)) {
        fprintf(stderr, "trace_cluster: the tell back did not arrive\n");
        return 2;
    }
    /* node-a: root, PRODUCER, 2 CLIENT, CONSUMER (sink); node-b: CONSUMER,
     * 2 SERVER, PRODUCER (the tell back) */
    flush_until(b.sys, 4);
    flush_until(a.sys, 5);
    troupe_cluster_destroy(a.c);
    troupe_cluster_destroy(b.c);
    troupe_system_destroy(a.sys);
    troupe_system_destroy(b.sys);
    return 0;
}
