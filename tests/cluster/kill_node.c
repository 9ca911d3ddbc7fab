/* tests/cluster/kill_node.c — one node of the kill -9 test
 * (tests/cluster/kill_test.sh): joins CLUSTER as NODE, owns or waits for
 * the cluster actor (ctr, "0"), and while this node owns it sends it
 * operations, each a unique id; every acknowledged one is written to the
 * log as a line
 *
 *     ack <node> <epoch> <op> <seq> <realtime ns>
 *
 * (seq: the event's sequence number, from the actor's reply), flushed at
 * once: a kill -9 loses no acknowledged line. The checker compares the log
 * with the journal. SIGTERM leaves the cluster (hand-off) and exits,
 * logging "stats <node> fenced <n> failures <n> rejoins <n>": the
 * journal's writes refused for a stale epoch, its failed transactions (a
 * process that was stopped and resumed: tests/cluster/kill_test.sh's stop
 * mode) and the times the node fenced and joined again (pgrestart mode).
 *
 * usage: kill_node CLUSTER NODE CONNINFO LOG OP_BASE LEASE_MS RENEW_MS
 * (the NATS server's URL in TROUPE_NATS_URL: joining connects to it)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "troupe/troupe.h"

enum { OP = 1, DONE = 2 };

typedef struct ev {
    uint64_t op, epoch;
} ev;

typedef struct ctr {
    uint64_t n, sum;
} ctr;

static int ctr_apply(troupe_ctx *ctx, void *state, const void *e, size_t len)
{
    ctr *s = state;
    ev v;
    if (len != sizeof v)
        return TROUPE_EINVAL;
    memcpy(&v, e, sizeof v);
    s->n++;
    s->sum += v.op;
    uint64_t seq = troupe_persist_seq(ctx) + 1; /* this event's: applied after this call */
    return troupe_reply(ctx, DONE, &seq, sizeof seq);
}

static int ctr_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    (void)state;
    if (m->type != OP || m->size != sizeof(ev))
        return 0;
    return troupe_persist(ctx, m->data, m->size);
}

static const troupe_persistence ctr_persist = {.apply = ctr_apply, .schema = 1,
                                               .retention = UINT64_MAX};
static const troupe_behaviour ctr_beh = {.name = "ctr", .state_size = sizeof(ctr),
                                         .handle = ctr_handle, .persist = &ctr_persist};

static volatile sig_atomic_t quit;

static void on_term(int sig)
{
    (void)sig;
    quit = 1;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Join, retrying while the name's old lease (a killed process's) runs. */
static int join(troupe_cluster *c)
{
    int rc = TROUPE_EEXIST;
    for (int i = 0; i < 200 && rc == TROUPE_EEXIST && !quit; i++) {
        if ((rc = troupe_cluster_join(c)) == TROUPE_EEXIST)
            usleep(100 * 1000);
    }
    return rc;
}

static void run(troupe_system *sys, troupe_cluster *c, FILE *log, const char *node, uint64_t op)
{
    while (!quit) {
        troupe_cluster_where w;
        int rc = troupe_cluster_actor(c, "ctr", "0", &w);
        if (rc || troupe_ref_is_none(w.local)) {
            usleep(5 * 1000); /* owned elsewhere (no remote sends here): wait */
            continue;
        }
        ev e = {.op = op, .epoch = w.epoch};
        uint64_t seq = 0;
        uint32_t rt = 0;
        size_t n = 0;
        rc = troupe_ask(sys, w.local, OP, &e, sizeof e, 5000000000ll, &rt, &seq, sizeof seq, &n);
        if (rc == 0 && rt == DONE && n == sizeof seq) {
            fprintf(log, "ack %s %llu %llu %llu %llu\n", node, (unsigned long long)w.epoch,
                    (unsigned long long)op, (unsigned long long)seq,
                    (unsigned long long)now_ns());
            fflush(log);
        }
        op++; /* an unacknowledged op is never reused: it may be stored */
    }
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: %s CLUSTER NODE CONNINFO LOG OP_BASE LEASE_MS RENEW_MS\n", argv[0]);
        return 2;
    }
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    FILE *log = fopen(argv[4], "a");
    troupe_journal *j = NULL;
    troupe_system *sys = NULL;
    troupe_cluster *c = NULL;
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 2;
    troupe_cluster_config cc;
    troupe_cluster_config_defaults(&cc);
    cc.cluster = argv[1];
    cc.node = argv[2];
    cc.nats_urls = getenv("TROUPE_NATS_URL"); /* kill_test.sh's nats-server */
    cc.pg_conninfo = argv[3];
    cc.lease_ms = (uint32_t)atoi(argv[6]);
    cc.renew_ms = (uint32_t)atoi(argv[7]);
    troupe_cluster_kind k = {.name = "ctr", .beh = &ctr_beh};
    int rc = log ? troupe_journal_open_postgres(argv[3], &j) : TROUPE_EIO;
    if (!rc && (cfg.journal = j) && (rc = troupe_system_create(&sys, &cfg)) == 0 &&
        (rc = troupe_cluster_create(sys, &cc, &c)) == 0 &&
        (rc = troupe_cluster_kind_register(c, &k)) == 0 && (rc = join(c)) == 0)
        run(sys, c, log, argv[2], strtoull(argv[5], NULL, 10));
    if (rc)
        fprintf(stderr, "kill_node %s: %s\n", argv[2], troupe_errname(rc));
    troupe_cluster_stats cs = {0};
    (void)troupe_cluster_stats_get(c, &cs);
    troupe_cluster_destroy(c);
    troupe_system_destroy(sys);
    troupe_journal_stats st;
    if (j && log && troupe_journal_stats_get(j, &st) == 0)
        fprintf(log, "stats %s fenced %llu failures %llu rejoins %llu\n", argv[2],
                (unsigned long long)st.fenced, (unsigned long long)st.failures,
                (unsigned long long)cs.rejoins);
    troupe_journal_close(j);
    if (log)
        fclose(log);
    return rc ? 1 : 0;
}
