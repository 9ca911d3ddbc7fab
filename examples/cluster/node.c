/* examples/cluster/node.c — one node of `make demo-cluster`
 * (examples/cluster/demo.sh runs three of them).
 *
 * The node joins the cluster "demo" and registers two kinds: "chain" and
 * "engine", the persistent actors of `make demo` (examples/chain/actors.c:
 * a chain's events are its blocks, an engine's its payloads), here on the
 * PostgreSQL journal, so every append is checked against the ownership
 * epoch. Each keeps its whole history (retention unbounded) so the checker
 * (check.c) can rebuild both from the journal. Two threads send load to
 * the cluster actors (chain, "main") and (engine, "main") wherever they
 * live (traffic.c).
 *
 * Signals, from demo.sh: SIGUSR1 stops the load (then "stopped <node>" in
 * the log); SIGUSR2, once stopped, reads both actors' whole state through
 * this node's refs (MSG_DUMP) into DIR/<node>.chain and DIR/<node>.engine
 * ("dumped <node>"); SIGTERM leaves the cluster (the actors it owns are
 * handed off) and exits, after a "stats" line. The node serves the
 * dashboard and the HTTP API (its cluster's nodes and actors, /metrics) on
 * a loopback port it names in the log.
 *
 * usage: cluster-node NODE INDEX CONNINFO NATS_URL DIR OP_BASE
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "node.h"

static volatile sig_atomic_t quit, stop_load, dump_now;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        stop_load = 1;
    else if (sig == SIGUSR2)
        dump_now = 1;
    else
        quit = 1;
}

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The behaviours of examples/chain, their journal kept whole. */
static troupe_persistence chain_keep, engine_keep;
static troupe_behaviour chain_beh, engine_beh;

static int register_kinds(troupe_cluster *c)
{
    chain_keep = *chain_actor_beh.persist, engine_keep = *engine_actor_beh.persist;
    chain_keep.retention = engine_keep.retention = UINT64_MAX;
    chain_beh = chain_actor_beh, engine_beh = engine_actor_beh;
    chain_beh.persist = &chain_keep, engine_beh.persist = &engine_keep;
    troupe_cluster_kind kc = {.name = "chain", .beh = &chain_beh};
    troupe_cluster_kind ke = {.name = "engine", .beh = &engine_beh};
    int rc = troupe_cluster_kind_register(c, &kc);
    return rc ? rc : troupe_cluster_kind_register(c, &ke);
}

/* Join, retrying while the name's old lease (a killed process's) runs. */
static int join(troupe_cluster *c)
{
    int rc = TROUPE_EEXIST;
    for (int i = 0; i < 200 && rc == TROUPE_EEXIST && !quit; i++)
        if ((rc = troupe_cluster_join(c)) == TROUPE_EEXIST)
            usleep(100 * 1000);
    return rc;
}

static int start(node *nd, const char *const *argv, troupe_journal **j)
{
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 2;
    troupe_cluster_config cc;
    troupe_cluster_config_defaults(&cc);
    cc.cluster = "demo";
    cc.node = nd->name;
    cc.pg_conninfo = argv[3];
    cc.nats_urls = argv[4];
    int rc = troupe_journal_open_postgres(argv[3], j);
    if (!rc && (cfg.journal = *j) && (rc = troupe_system_create(&nd->sys, &cfg)) == 0 &&
        (rc = troupe_cluster_create(nd->sys, &cc, &nd->c)) == 0 &&
        (rc = register_kinds(nd->c)) == 0)
        rc = join(nd->c);
    return rc;
}

/* The whole state of kind's actor, read through this node's ref, into
 * DIR/<node>.<kind>. */
static int dump_one(node *nd, const char *dir, const char *kind, uint32_t size)
{
    target t = {.kind = kind, .ref = TROUPE_REF_NONE};
    char *buf = malloc(size), path[512];
    int rc = buf ? TROUPE_ETIMEDOUT : TROUPE_ENOMEM;
    size_t n = 0;
    for (int i = 0; buf && i < 100 && rc && !quit; i++) { /* bounded: about 10 s */
        if ((rc = resolve(nd, &t)) == 0)
            rc = troupe_ask(nd->sys, t.ref, MSG_DUMP, NULL, 0, ASK_NS, NULL, buf, size, &n);
        if (rc == 0 && n != size)
            rc = TROUPE_EIO;
        if (rc)
            usleep(100 * 1000); /* moved or not yet started: resolve again */
    }
    snprintf(path, sizeof path, "%s/%s.%s", dir, nd->name, kind);
    FILE *f = rc ? NULL : fopen(path, "wb");
    if (f && fwrite(buf, 1, size, f) != size)
        rc = TROUPE_EIO;
    if (f && fclose(f) != 0)
        rc = TROUPE_EIO;
    free(buf);
    return rc ? rc : f ? 0 : TROUPE_EIO;
}

static void stop_threads(node *nd, pthread_t *th, int *nth)
{
    atomic_store(&nd->running, 0);
    for (int i = 0; i < *nth; i++)
        pthread_join(th[i], NULL);
    *nth = 0;
}

/* Until SIGTERM: the load, then on demo.sh's signals its stop and the dumps. */
static int serve(node *nd, const char *dir)
{
    pthread_t th[2];
    int nth = 0, rc = 0, stopped = 0;
    atomic_store(&nd->running, 1);
    if (pthread_create(&th[nth], NULL, chain_load_main, nd) == 0)
        nth++;
    if (pthread_create(&th[nth], NULL, engine_load_main, nd) == 0)
        nth++;
    while (!quit && rc == 0) {
        if (stop_load && !stopped) {
            stop_threads(nd, th, &nth);
            fprintf(nd->log, "stopped %s\n", nd->name), fflush(nd->log);
            stopped = 1;
        }
        if (dump_now && stopped) {
            dump_now = 0;
            if ((rc = dump_one(nd, dir, "chain", sizeof(chain))) == 0 &&
                (rc = dump_one(nd, dir, "engine", sizeof(engine))) == 0)
                fprintf(nd->log, "dumped %s\n", nd->name), fflush(nd->log);
        }
        usleep(20 * 1000);
    }
    stop_threads(nd, th, &nth);
    return rc;
}

static void print_stats(node *nd)
{
    counts *n = &nd->n;
    fprintf(nd->log, "stats %s produced %llu imported %llu stale %llu forged_refused %llu"
            " forged_accepted %llu payloads %llu failed_asks %llu\n", nd->name,
            (unsigned long long)n->produced, (unsigned long long)n->imported,
            (unsigned long long)n->stale, (unsigned long long)n->forged_refused,
            (unsigned long long)n->forged_accepted, (unsigned long long)n->payloads,
            (unsigned long long)n->failed_asks);
    fflush(nd->log);
}

/* The dashboard and the HTTP API on an ephemeral loopback port, named in
 * the log ("http <node> <port>"); a build without HTTP goes without. */
static troupe_http *serve_http(node *nd)
{
    troupe_http *srv = NULL;
    if (troupe_http_start(nd->sys, NULL, &srv) != 0)
        return NULL;
    fprintf(nd->log, "http %s %d\n", nd->name, troupe_http_port(srv));
    fflush(nd->log);
    return srv;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s NODE INDEX CONNINFO NATS_URL DIR OP_BASE\n", argv[0]);
        return 2;
    }
    signal(SIGTERM, on_signal), signal(SIGINT, on_signal);
    signal(SIGUSR1, on_signal), signal(SIGUSR2, on_signal);
    static node nd;
    nd.name = argv[1];
    nd.index = (uint32_t)strtoul(argv[2], NULL, 10);
    nd.op_base = strtoull(argv[6], NULL, 10);
    pthread_mutex_init(&nd.resolve_mu, NULL);
    char path[512];
    snprintf(path, sizeof path, "%s/acks.log", argv[5]);
    nd.log = fopen(path, "a");
    troupe_journal *j = NULL;
    int rc = nd.log ? start(&nd, (const char *const *)argv, &j) : TROUPE_EIO;
    troupe_http *srv = rc == 0 ? serve_http(&nd) : NULL;
    if (rc == 0 && (rc = serve(&nd, argv[5])) == 0)
        print_stats(&nd);
    if (rc)
        fprintf(stderr, "node %s: %s\n", argv[1], troupe_strerror(rc));
    troupe_http_stop(srv);
    troupe_cluster_destroy(nd.c);
    troupe_system_destroy(nd.sys);
    troupe_journal_close(j);
    if (nd.log)
        fclose(nd.log);
    return rc ? 1 : 0;
}
