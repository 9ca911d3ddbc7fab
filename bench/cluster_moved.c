/* bench/cluster_moved.c — asks through a stable ref to a cluster actor
 * (troupe_cluster_ref, docs/CLUSTER.md "Stable refs and MOVED").
 *
 * Run through tests/cluster/run_nats.sh (`make bench` does). Two nodes,
 * systems of this one process, each on its own NATS server and with a
 * PostgreSQL journal (a cluster actor's kind must be persistent; the echo
 * here persists nothing). A plain thread asks an echo actor, one ask at a
 * time, 16-byte payloads; p50 and p99 of the round trip:
 *
 *  stable_ref_ask_remote  from a, through the stable ref, the actor on b
 *  remote_ref_ask         the same actor through a plain remote ref (the
 *                         name looked up on b): what the stable ref costs
 *  stable_ref_ask_owner   on b itself, through the stable ref
 *  local_ref_ask          on b, through the actor's local ref
 *  migration_gap          the actor migrated b -> a -> b ... (10 moves)
 *                         while a's thread asks through the stable ref
 *                         without pause: the longest round trip (an ask
 *                         held until the new owner runs the actor), the
 *                         count of asks and their mean; none fails
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include <troupe/cluster.h>
#include <troupe/persist.h>

#define SEC 1000000000ull

typedef struct node {
    troupe_journal *j;
    troupe_system *sys;
    troupe_cluster *c;
} node;

static int echo(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    (void)st;
    return troupe_reply(ctx, m->type, m->data, m->size);
}
static int nothing(troupe_ctx *ctx, void *st, const void *ev, size_t len)
{
    (void)ctx, (void)st, (void)ev, (void)len;
    return 0;
}
static const troupe_persistence echo_persist = {.apply = nothing, .schema = 1};
static const troupe_behaviour echo_beh = {.name = "echo", .handle = echo,
                                          .persist = &echo_persist};

static void node_up(node *n, const char *name, int server)
{
    char key[32];
    snprintf(key, sizeof key, "TROUPE_NATS_URL_%d", server);
    const char *url = getenv(key), *pg = getenv("TROUPE_PG_CONNINFO");
    if (!url || !pg)
        bench_fail("run through tests/cluster/run_nats.sh (%s, TROUPE_PG_CONNINFO)", key);
    bench_check(troupe_journal_open_postgres(pg, &n->j), "journal_open_postgres");
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.journal = n->j;
    bench_check(troupe_system_create(&n->sys, &cfg), "system_create");
    troupe_cluster_config cc;
    troupe_cluster_config_defaults(&cc);
    cc.cluster = "benchmoved";
    cc.node = name;
    cc.nats_urls = url;
    cc.pg_conninfo = pg;
    cc.renew_ms = 100;
    bench_check(troupe_cluster_create(n->sys, &cc, &n->c), "cluster_create");
    troupe_cluster_kind k = {.name = "echo", .beh = &echo_beh};
    bench_check(troupe_cluster_kind_register(n->c, &k), "kind_register");
    bench_check(troupe_cluster_join(n->c), "cluster_join");
}

static void node_down(node *n)
{
    troupe_cluster_destroy(n->c);
    troupe_system_destroy(n->sys);
    troupe_journal_close(n->j);
}

static uint64_t ask_once(node *n, troupe_ref to)
{
    char buf[16] = "0123456789abcdef", back[16];
    uint64_t t0 = bench_now_ns();
    bench_check(troupe_ask(n->sys, to, 1, buf, sizeof buf, 30 * SEC, NULL, back, sizeof back,
                           NULL), "ask");
    return bench_now_ns() - t0;
}

static void ask_case(node *n, troupe_ref to, const char *label, uint64_t count)
{
    uint64_t *lat = malloc(count * sizeof *lat);
    if (!lat)
        bench_fail("out of memory");
    for (uint64_t i = 0; i < count / 10 + 1; i++) /* warm up */
        ask_once(n, to);
    for (uint64_t i = 0; i < count; i++)
        lat[i] = ask_once(n, to);
    bench_sort_u64(lat, count);
    bench_summary(label, "p50", (double)bench_pct(lat, count, 0.5) / 1e3, "us");
    bench_summary(label, "p99", (double)bench_pct(lat, count, 0.99) / 1e3, "us");
    free(lat);
}

/* Until the actor runs on `on` (NULL: anywhere; bounded). */
static troupe_cluster_where wait_on(node *n, const char *on)
{
    troupe_cluster_where w = {0};
    for (int i = 0; i < 600; i++) {
        if (troupe_cluster_where_is(n->c, "echo", "e", &w) == 0 && w.live &&
            (!on || !strcmp(w.node, on)))
            return w;
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    bench_fail("the echo never came to %s", on ? on : "a node");
}

typedef struct mover {
    node *a, *b;
    int moves;
    _Atomic int done;
} mover;

/* Migrations back and forth, each once the last has landed. */
static void *move_loop(void *p)
{
    mover *m = p;
    node *nodes[2] = {m->a, m->b};
    const char *names[2] = {"a", "b"};
    for (int i = 0; i < m->moves; i++) {
        node *owner = nodes[(i + 1) % 2]; /* b first */
        bench_check(troupe_cluster_migrate(owner->c, "echo", "e", names[i % 2]), "migrate");
        wait_on(owner, names[i % 2]);
    }
    atomic_store(&m->done, 1);
    return NULL;
}

static void migration_case(node *a, node *b, troupe_ref ra, int moves)
{
    mover m = {.a = a, .b = b, .moves = moves};
    pthread_t t;
    uint64_t worst = 0, n = 0, total = 0;
    pthread_create(&t, NULL, move_loop, &m);
    while (!atomic_load(&m.done)) {
        uint64_t ns = ask_once(a, ra);
        n++;
        if (ns > worst)
            worst = ns;
        total += ns;
    }
    pthread_join(t, NULL);
    bench_summary("migration_gap", "max", (double)worst / 1e6, "ms");
    bench_summary("migration_gap", "asks", (double)n, "asks");
    bench_summary("migration_gap", "mean", (double)total / (double)(n ? n : 1) / 1e3, "us");
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    uint64_t count = bench_scaled(20000, scale, 100);
    node a, b;
    node_up(&a, "a", 1);
    node_up(&b, "b", 2);
    troupe_cluster_where w;
    bench_check(troupe_cluster_actor(b.c, "echo", "e", &w), "cluster_actor");
    w = wait_on(&b, NULL);
    if (strcmp(w.node, "b") != 0) { /* placed on a: move it to b */
        bench_check(troupe_cluster_migrate(a.c, "echo", "e", "b"), "migrate");
        w = wait_on(&b, "b");
    }
    bench_check(troupe_register(b.sys, "e", w.local), "register");
    troupe_ref ra, rb, remote;
    bench_check(troupe_cluster_ref(a.c, "echo", "e", &ra), "cluster_ref");
    bench_check(troupe_cluster_ref(b.c, "echo", "e", &rb), "cluster_ref");
    int rc = -1;
    for (int i = 0; i < 100 && rc; i++) /* retried while the mesh learns b's inbox */
        rc = troupe_cluster_lookup(a.c, "b", "e", SEC / 5, &remote);
    bench_check(rc, "cluster_lookup");
    ask_case(&a, ra, "stable_ref_ask_remote", count);
    ask_case(&a, remote, "remote_ref_ask", count);
    ask_case(&b, rb, "stable_ref_ask_owner", count);
    ask_case(&b, w.local, "local_ref_ask", count);
    migration_case(&a, &b, ra, (int)bench_scaled(10, scale, 2));
    node_down(&b);
    node_down(&a);
    return 0;
}
