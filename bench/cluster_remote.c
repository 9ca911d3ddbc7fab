/* bench/cluster_remote.c — messaging between two cluster nodes (issue 14).
 *
 * Run through tests/cluster/run_nats.sh (PostgreSQL and three routed
 * nats-servers on loopback; `make bench` does). The two nodes are two
 * systems of this one process, each with its own NATS connection, joined
 * as nodes "a" and "b": the frames go through the NATS servers and the
 * route between them exactly as between processes, but both nodes share
 * this machine's cores (2 here, with the servers).
 *
 *  remote_tell   2 plain threads on a, each telling its own counter actor on
 *                b, 16-byte payloads: messages received per second on b,
 *                from the first send to the last receipt. Cross-checked:
 *                every message sent is received or counted as a drop.
 *  remote_ask    a plain thread on a asking an echo actor on b, one at a
 *                time: p50 and p99 round trip, with a and b on different
 *                servers (the route hop) and on the same server.
 *  nats_floor    the floor under remote_ask, in the same run: nats.c alone,
 *                a request published on one connection and answered from
 *                the subscription callback of another (SendAsap on both),
 *                routed and on one server. impl=nats.
 *  erlang        the same tell and ask cases on Erlang distribution, in the
 *                same run (bench/peers/erlang/dist.sh: two erl nodes on
 *                loopback), and the ratios. TROUPE_BENCH_NO_PEERS=1, or no
 *                erl: skipped, said on stderr.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

#include "common.h"
#include <troupe/cluster.h>

#define SEC 1000000000ull

#ifndef TROUPE_SOURCE_ROOT
#define TROUPE_SOURCE_ROOT "."
#endif

static double tell_rate, ask_p50_us; /* troupe's, for the ratios */

typedef struct node {
    troupe_system *sys;
    troupe_cluster *c;
} node;

static void node_up(node *n, const char *cluster, const char *name, int server)
{
    char key[32];
    snprintf(key, sizeof key, "TROUPE_NATS_URL_%d", server);
    const char *url = getenv(key), *pg = getenv("TROUPE_PG_CONNINFO");
    if (!url || !pg)
        bench_fail("run through tests/cluster/run_nats.sh (%s, TROUPE_PG_CONNINFO)", key);
    n->sys = bench_system(1);
    troupe_cluster_config cc;
    troupe_cluster_config_defaults(&cc);
    cc.cluster = cluster;
    cc.node = name;
    cc.nats_urls = url;
    cc.pg_conninfo = pg;
    bench_check(troupe_cluster_create(n->sys, &cc, &n->c), "cluster_create");
    bench_check(troupe_cluster_join(n->c), "cluster_join");
}

static void node_down(node *n)
{
    troupe_cluster_destroy(n->c);
    troupe_system_destroy(n->sys);
}

/* A remote sender cannot wait for room (BLOCK refuses across the network,
 * docs/CLUSTER.md): the counters get room for the whole run's backlog. */
static troupe_ref spawn_named(node *n, const troupe_behaviour *b, const char *name)
{
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.capacity = 1u << 21;
    troupe_ref r;
    bench_check(troupe_spawn(n->sys, b, NULL, &o, &r), "spawn");
    bench_check(troupe_register(n->sys, name, r), "register");
    return r;
}

/* Retried while the mesh learns b's inbox (bounded). */
static troupe_ref lookup(node *a, const char *node, const char *name)
{
    troupe_ref r;
    int rc = -1;
    for (int i = 0; i < 100 && rc; i++)
        rc = troupe_cluster_lookup(a->c, node, name, SEC / 5, &r);
    bench_check(rc, "cluster_lookup");
    return r;
}

/* ---- remote tell ---- */

static _Atomic uint64_t received;
static uint64_t last_ns;
static atomic_int all_in;
static uint64_t expect;

static int counter(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    (void)ctx;
    (void)st;
    (void)m;
    /* relaxed: the count alone; the flag publishes the time */
    if (atomic_fetch_add_explicit(&received, 1, memory_order_relaxed) + 1 == expect) {
        last_ns = bench_now_ns();
        atomic_store(&all_in, 1);
    }
    return 0;
}
static const troupe_behaviour counter_beh = {.name = "counter", .handle = counter};

typedef struct sender {
    troupe_system *sys;
    troupe_ref to;
    uint64_t n, retries;
} sender;

static void *send_loop(void *p)
{
    sender *s = p;
    char payload[16] = "0123456789abcdef";
    for (uint64_t i = 0; i < s->n; i++) {
        int rc;
        while ((rc = troupe_tell(s->sys, s->to, 1, payload, sizeof payload)) == TROUPE_EFULL)
            s->retries++, sched_yield(); /* the outbound queue is at its bound */
        bench_check(rc, "tell");
    }
    return NULL;
}

static void print_stats(void *ud)
{
    node *n = ud;
    troupe_cluster_stats s;
    troupe_cluster_stats_get(n->c, &s);
    fprintf(stderr,
            "receiver: received %llu, frames_in %llu, tells_in %llu, undelivered %llu, stale %llu,"
            " bad %llu/%llu\n",
            (unsigned long long)atomic_load(&received), (unsigned long long)s.frames_in,
            (unsigned long long)s.tells_in, (unsigned long long)s.deliver_failed,
            (unsigned long long)s.stale_frames, (unsigned long long)s.bad_frames,
            (unsigned long long)s.bad_envelopes);
}

static void bench_tell(node *a, node *b, uint64_t per_sender)
{
    spawn_named(b, &counter_beh, "c0");
    spawn_named(b, &counter_beh, "c1");
    sender s[2] = {{a->sys, lookup(a, "b", "c0"), per_sender, 0},
                   {a->sys, lookup(a, "b", "c1"), per_sender, 0}};
    expect = 2 * per_sender;
    pthread_t t[2];
    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, send_loop, &s[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    bench_wait(&all_in, &received, "remote tells", print_stats, b);
    double secs = (double)(last_ns - t0) / 1e9;
    troupe_cluster_stats st;
    troupe_cluster_stats_get(a->c, &st);
    tell_rate = (double)expect / secs;
    bench_summary("remote_tell", "throughput", tell_rate, "msg/s");
    bench_summary("remote_tell", "batch", st.frames_out ? (double)st.envs_out / (double)st.frames_out : 0,
                  "envelopes/frame");
    fprintf(stderr, "remote_tell: %llu msgs in %.3f s, %llu sender retries (queue full)\n",
            (unsigned long long)expect, secs, (unsigned long long)(s[0].retries + s[1].retries));
}

/* ---- remote ask ---- */

static int echo(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    (void)st;
    troupe_reply(ctx, m->type, m->data, m->size);
    return 0;
}
static const troupe_behaviour echo_beh = {.name = "echo", .handle = echo};

static void ask_case(node *a, const char *node_name, const char *label, uint64_t n)
{
    troupe_ref to = lookup(a, node_name, "echo");
    uint64_t *lat = malloc(n * sizeof *lat);
    if (!lat)
        bench_fail("out of memory");
    char buf[16] = "0123456789abcdef", back[16];
    for (uint64_t i = 0; i < n / 10 + 1; i++) /* warm up */
        bench_check(troupe_ask(a->sys, to, 1, buf, sizeof buf, 10 * SEC, NULL, back, sizeof back, NULL), "ask");
    for (uint64_t i = 0; i < n; i++) {
        uint64_t t0 = bench_now_ns();
        bench_check(troupe_ask(a->sys, to, 1, buf, sizeof buf, 10 * SEC, NULL, back, sizeof back, NULL), "ask");
        lat[i] = bench_now_ns() - t0;
    }
    bench_sort_u64(lat, n);
    if (strcmp(label, "remote_ask") == 0)
        ask_p50_us = (double)bench_pct(lat, n, 0.5) / 1e3;
    bench_summary(label, "p50", (double)bench_pct(lat, n, 0.5) / 1e3, "us");
    bench_summary(label, "p99", (double)bench_pct(lat, n, 0.99) / 1e3, "us");
    free(lat);
}

/* ---- the NATS floor ---- */

static natsConnection *nats_conn(const char *url)
{
    natsOptions *o;
    natsConnection *nc = NULL;
    if (natsOptions_Create(&o) != NATS_OK || natsOptions_SetSendAsap(o, true) != NATS_OK ||
        natsOptions_SetURL(o, url) != NATS_OK || natsConnection_Connect(&nc, o) != NATS_OK)
        bench_fail("nats connect %s", url);
    natsOptions_Destroy(o);
    return nc;
}

static void responder(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *ud)
{
    (void)nc;
    (void)sub;
    natsConnection_Publish(ud, natsMsg_GetReply(m), natsMsg_GetData(m), natsMsg_GetDataLength(m));
    natsMsg_Destroy(m);
}

static void floor_case(const char *label, int server_a, int server_b, uint64_t n)
{
    char ka[32], kb[32];
    snprintf(ka, sizeof ka, "TROUPE_NATS_URL_%d", server_a);
    snprintf(kb, sizeof kb, "TROUPE_NATS_URL_%d", server_b);
    natsConnection *a = nats_conn(getenv(ka)), *b = nats_conn(getenv(kb));
    natsSubscription *svc, *rep;
    if (natsConnection_Subscribe(&svc, b, "floor.svc", responder, b) != NATS_OK ||
        natsConnection_SubscribeSync(&rep, a, "floor.rep") != NATS_OK ||
        natsConnection_Flush(b) != NATS_OK || natsConnection_Flush(a) != NATS_OK)
        bench_fail("nats subscribe");
    uint64_t *lat = malloc(n * sizeof *lat);
    if (!lat)
        bench_fail("out of memory");
    for (uint64_t i = 0; i < n + n / 10 + 1; i++) { /* the first tenth warms up */
        uint64_t t0 = bench_now_ns();
        natsMsg *m = NULL;
        if (natsConnection_PublishRequest(a, "floor.svc", "floor.rep", "0123456789abcdef", 16) != NATS_OK ||
            natsSubscription_NextMsg(&m, rep, 10000) != NATS_OK)
            bench_fail("nats round trip"); /* the route is up: run_nats.sh waited for it */
        natsMsg_Destroy(m);
        if (i > n / 10)
            lat[i - n / 10 - 1] = bench_now_ns() - t0;
    }
    bench_sort_u64(lat, n);
    bench_summary_impl(label, "nats", "p50", (double)bench_pct(lat, n, 0.5) / 1e3, "us");
    bench_summary_impl(label, "nats", "p99", (double)bench_pct(lat, n, 0.99) / 1e3, "us");
    free(lat);
    natsSubscription_Destroy(svc);
    natsSubscription_Destroy(rep);
    natsConnection_Destroy(a);
    natsConnection_Destroy(b);
}

/* ---- Erlang distribution, in the same run ---- */

static void erlang_cases(double scale)
{
    const char *no = getenv("TROUPE_BENCH_NO_PEERS");
    if ((no && *no && strcmp(no, "0") != 0) ||
        system("command -v erl >/dev/null 2>&1 && command -v epmd >/dev/null 2>&1") != 0) {
        fprintf(stderr, "cluster_remote: no Erlang peer (TROUPE_BENCH_NO_PEERS, or no erl)\n");
        return;
    }
    char cmd[1024], scale_s[32];
    snprintf(scale_s, sizeof scale_s, "%g", scale);
    setenv("TROUPE_BENCH_SCALE", scale_s, 1); /* the peer's size is ours */
    snprintf(cmd, sizeof cmd, "bash '%s/bench/peers/erlang/dist.sh'", TROUPE_SOURCE_ROOT);
    fflush(stdout);
    FILE *p = popen(cmd, "r");
    if (!p)
        bench_fail("cannot run %s", cmd);
    char line[256];
    double v, rate = 0, p50 = 0;
    while (fgets(line, sizeof line, p)) {
        fputs(line, stdout);
        if (sscanf(line, "SUMMARY bench=remote_tell impl=erlang metric=throughput value=%lf", &v) == 1)
            rate = v;
        if (sscanf(line, "SUMMARY bench=remote_ask impl=erlang metric=p50 value=%lf", &v) == 1)
            p50 = v;
    }
    if (pclose(p) != 0 || rate <= 0 || p50 <= 0)
        bench_fail("the Erlang peer failed (%s)", cmd);
    bench_summary("remote_tell", "ratio_vs_erlang", tell_rate / rate, "x");
    bench_summary("remote_ask", "p50_ratio_vs_erlang", ask_p50_us / p50, "x");
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    node a, b, c;
    node_up(&a, "bench", "a", 1);
    node_up(&b, "bench", "b", 2);
    node_up(&c, "bench", "c", 1); /* on a's server */
    spawn_named(&b, &echo_beh, "echo");
    spawn_named(&c, &echo_beh, "echo");
    bench_tell(&a, &b, bench_scaled(1000000, scale, 1000));
    ask_case(&a, "b", "remote_ask", bench_scaled(20000, scale, 100));
    ask_case(&a, "c", "remote_ask_same_server", bench_scaled(20000, scale, 100));
    floor_case("nats_floor", 1, 2, bench_scaled(20000, scale, 100));
    floor_case("nats_floor_same_server", 1, 1, bench_scaled(20000, scale, 100));
    node_down(&c);
    node_down(&b);
    node_down(&a);
    erlang_cases(scale);
    return 0;
}
