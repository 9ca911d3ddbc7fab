/* examples/cluster/node.c — one node of `make demo-cluster`
 * (examples/cluster/demo.sh runs three of them).
 *
 * The node joins the cluster "demo", registers the kind "ledger" (a
 * persistent actor: every operation is an event in the PostgreSQL journal,
 * guarded by the ownership epoch) and sends operations to the cluster actor
 * (ledger, "bank") wherever it lives: on this node through its local ref,
 * on another through a remote ref (troupe_cluster_lookup of the name the
 * owner registers). Each acknowledged operation is one line of the shared
 * log:
 *
 *     ack <owner node> <epoch> <op> <seq> <realtime ns> <sending node>
 *
 * A failed ask (the owner died: TROUPE_ENODEDOWN once its lease expires,
 * or the actor moved) re-resolves where the ledger lives. SIGTERM leaves
 * the cluster (the ledger is handed off) and exits.
 *
 * usage: node NODE CONNINFO NATS_URL LOG OP_BASE
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "troupe/troupe.h"

enum { OP = 1, DONE = 2 };

#define LEDGER_NAME "ledger"
#define ASK_NS 5000000000ull

typedef struct ev {
    uint64_t op, epoch;
} ev;

typedef struct ledger {
    uint64_t n, sum;
} ledger;

/* Applied once per stored event (and again at recovery, where the reply
 * goes nowhere). */
static int ledger_apply(troupe_ctx *ctx, void *state, const void *e, size_t len)
{
    ledger *s = state;
    ev v;
    if (len != sizeof v)
        return TROUPE_EINVAL;
    memcpy(&v, e, sizeof v);
    s->n++;
    s->sum += v.op;
    uint64_t seq = troupe_persist_seq(ctx) + 1; /* this event's */
    return troupe_reply(ctx, DONE, &seq, sizeof seq);
}

static int ledger_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    (void)state;
    if (m->type != OP || m->size != sizeof(ev))
        return 0;
    return troupe_persist(ctx, m->data, m->size); /* the reply comes with its apply */
}

static const troupe_persistence ledger_persist = {.apply = ledger_apply, .schema = 1,
                                                  .retention = UINT64_MAX};
static const troupe_behaviour ledger_beh = {.name = "ledger", .state_size = sizeof(ledger),
                                            .handle = ledger_handle, .persist = &ledger_persist};

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
    for (int i = 0; i < 200 && rc == TROUPE_EEXIST && !quit; i++)
        if ((rc = troupe_cluster_join(c)) == TROUPE_EEXIST)
            usleep(100 * 1000);
    return rc;
}

/* Where the ledger lives now, as a ref this node can send to. */
typedef struct target {
    troupe_ref ref;
    char owner[TROUPE_CLUSTER_NAME_MAX + 1];
    uint64_t epoch;
} target;

static int resolve(troupe_system *sys, troupe_cluster *c, target *t)
{
    troupe_cluster_where w;
    int rc = troupe_cluster_actor(c, "ledger", "bank", &w);
    if (rc || !w.live || !w.node[0])
        return rc ? rc : TROUPE_ENOTFOUND;
    if (!troupe_ref_is_none(w.local)) { /* ours: name it for the other nodes */
        troupe_ref named;
        if (troupe_whereis(sys, LEDGER_NAME, &named) != 0 || !troupe_ref_eq(named, w.local)) {
            troupe_unregister(sys, LEDGER_NAME);
            if ((rc = troupe_register(sys, LEDGER_NAME, w.local)) != 0)
                return rc;
        }
        t->ref = w.local;
    } else if ((rc = troupe_cluster_lookup(c, w.node, LEDGER_NAME, ASK_NS, &t->ref)) != 0) {
        return rc; /* not started there yet: try again */
    }
    snprintf(t->owner, sizeof t->owner, "%s", w.node);
    t->epoch = w.epoch;
    return 0;
}

static void run(troupe_system *sys, troupe_cluster *c, FILE *log, const char *node, uint64_t op)
{
    target t = {.ref = TROUPE_REF_NONE};
    while (!quit) {
        if (troupe_ref_is_none(t.ref) && resolve(sys, c, &t) != 0) {
            t.ref = TROUPE_REF_NONE;
            usleep(20 * 1000);
            continue;
        }
        ev e = {.op = op++, .epoch = t.epoch}; /* an unacknowledged op is never reused */
        uint64_t seq = 0;
        uint32_t rt = 0;
        size_t n = 0;
        int rc = troupe_ask(sys, t.ref, OP, &e, sizeof e, ASK_NS, &rt, &seq, sizeof seq, &n);
        if (rc != 0 || rt != DONE || n != sizeof seq) {
            t.ref = TROUPE_REF_NONE; /* moved, failed over, or its node died */
            continue;
        }
        fprintf(log, "ack %s %llu %llu %llu %llu %s\n", t.owner, (unsigned long long)t.epoch,
                (unsigned long long)e.op, (unsigned long long)seq, (unsigned long long)now_ns(),
                node);
        fflush(log);
    }
}

static int start(const char *const *argv, troupe_journal **j, troupe_system **sys,
                 troupe_cluster **c)
{
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 1;
    troupe_cluster_config cc;
    troupe_cluster_config_defaults(&cc);
    cc.cluster = "demo";
    cc.node = argv[1];
    cc.pg_conninfo = argv[2];
    cc.nats_urls = argv[3];
    troupe_cluster_kind k = {.name = "ledger", .beh = &ledger_beh};
    int rc = troupe_journal_open_postgres(argv[2], j);
    if (!rc && (cfg.journal = *j) && (rc = troupe_system_create(sys, &cfg)) == 0 &&
        (rc = troupe_cluster_create(*sys, &cc, c)) == 0 &&
        (rc = troupe_cluster_kind_register(*c, &k)) == 0)
        rc = join(*c);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s NODE CONNINFO NATS_URL LOG OP_BASE\n", argv[0]);
        return 2;
    }
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    FILE *log = fopen(argv[4], "a");
    troupe_journal *j = NULL;
    troupe_system *sys = NULL;
    troupe_cluster *c = NULL;
    int rc = log ? start((const char *const *)argv, &j, &sys, &c) : TROUPE_EIO;
    if (rc == 0)
        run(sys, c, log, argv[1], strtoull(argv[5], NULL, 10));
    else
        fprintf(stderr, "node %s: %s\n", argv[1], troupe_strerror(rc));
    troupe_cluster_destroy(c);
    troupe_system_destroy(sys);
    troupe_journal_close(j);
    if (log)
        fclose(log);
    return rc ? 1 : 0;
}
