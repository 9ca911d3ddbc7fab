/* tests/cluster/test_owner.c — cluster actors on a real PostgreSQL server
 * (tests/persistence/run_pg.sh starts one): ownership claims, fenced
 * journal appends, failover, parking, placement, migration and the
 * cluster registry. Several systems in this process act as the nodes,
 * each with a journal of its own on the one database, as processes would.
 * Each test uses a cluster name of its own. A node's death is simulated
 * by freezing it (cluster_test_freeze: its lease no longer renewed, its
 * ownership thread stopped) while its actors keep running, as a paused
 * process's do. Waits are bounded polls, never timed assertions. */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../persistence/pers_support.h"
#include "cluster/own.h"
#include "troupe/troupe.h"

#define WAIT_STEPS 300 /* x 100 ms: 30 s at most */
#define ASK_NS 10000000000ll

typedef struct tnode {
    troupe_journal *j;
    troupe_system *sys;
    troupe_cluster *c;
    _Atomic int fenced_failures; /* actor failures with TROUPE_EFENCED */
} tnode;

static const char *conninfo(void)
{
    const char *c = getenv("TROUPE_PG_CONNINFO");
    cr_assert(c, "run through tests/persistence/run_pg.sh");
    return c;
}

static void on_failure(const troupe_failure *f, void *ud)
{
    tnode *n = ud;
    if (f->code == TROUPE_EFENCED)
        atomic_fetch_add(&n->fenced_failures, 1);
}

static uint32_t node_flags; /* troupe_cluster_config.flags of the next node_new */

static tnode *node_new(const char *cluster, const char *name, uint32_t lease, uint32_t renew)
{
    tnode *n = calloc(1, sizeof *n);
    cr_assert_eq(troupe_journal_open_postgres(conninfo(), &n->j), 0);
    troupe_config cfg = tt_config(2, NULL);
    cfg.journal = n->j;
    cfg.on_failure = on_failure;
    cfg.on_failure_ud = n;
    n->sys = tt_system_cfg(&cfg);
    troupe_cluster_config cc;
    troupe_cluster_config_defaults(&cc);
    cc.cluster = cluster;
    cc.node = name;
    cc.nats_urls = getenv("TROUPE_NATS_URL_1"); /* joining connects to NATS */
    cr_assert(cc.nats_urls, "run through tests/cluster/run_nats.sh");
    cc.pg_conninfo = conninfo();
    cc.lease_ms = lease;
    cc.renew_ms = renew;
    cc.flags = node_flags;
    cr_assert_eq(troupe_cluster_create(n->sys, &cc, &n->c), 0);
    troupe_cluster_kind k = {.name = "ledger", .beh = &ledger_beh};
    cr_assert_eq(troupe_cluster_kind_register(n->c, &k), 0);
    int rc = troupe_cluster_join(n->c);
    cr_assert_eq(rc, 0, "join %s/%s: %s", cluster, name, troupe_errname(rc));
    return n;
}

static void node_free(tnode *n)
{
    troupe_cluster_destroy(n->c);
    troupe_system_destroy(n->sys);
    troupe_journal_close(n->j);
    free(n);
}

/* An ask with a bound: the reply's code, and the ledger it carries. */
static int ask(tnode *n, troupe_ref r, uint32_t type, uint64_t v, ledger *out)
{
    ledger l = {0};
    uint32_t rt = 0;
    size_t got = 0;
    int rc = troupe_ask(n->sys, r, type, &v, sizeof v, ASK_NS, &rt, &l, sizeof l, &got);
    if (out)
        *out = l;
    return rc;
}

/* Poll until (kind "ledger", id) is live on node `on`; its where. */
static troupe_cluster_where wait_owner(tnode *asker, const char *id, const char *on)
{
    troupe_cluster_where w = {0};
    for (int i = 0; i < WAIT_STEPS; i++) {
        if (troupe_cluster_where_is(asker->c, "ledger", id, &w) == 0 && w.live &&
            !strcmp(w.node, on))
            return w;
        usleep(100 * 1000);
    }
    cr_assert_fail("%s never came to %s (at %s, state %d, live %d)", id, on, w.node, w.state,
                   w.live);
    return w;
}

/* Two nodes claim the same new rows at the same time: one wins each. */
typedef struct racer {
    tnode *n;
    const char *pid;
    pthread_barrier_t *go;
    int rc;
    uint64_t epoch;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    own *o = cluster_own(r->n->c);
    pthread_barrier_wait(r->go);
    pthread_mutex_lock(&o->mu);
    r->rc = owner_claim(o, r->pid, "nokind", "x", 0, &r->epoch);
    pthread_mutex_unlock(&o->mu);
    return NULL;
}

Test(owner, claim_is_a_compare_and_set_one_racer_wins)
{
    tnode *a = node_new("race", "a", 3000, 500), *b = node_new("race", "b", 3000, 500);
    for (int round = 0; round < 20; round++) {
        char pid[64];
        snprintf(pid, sizeof pid, "race/nokind/r%d", round);
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 2);
        racer ra = {a, pid, &go, 0, 0}, rb = {b, pid, &go, 0, 0};
        pthread_t ta, tb;
        pthread_create(&ta, NULL, race, &ra);
        pthread_create(&tb, NULL, race, &rb);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        pthread_barrier_destroy(&go);
        cr_expect_eq((ra.rc == 0) + (rb.rc == 0), 1, "round %d: %d %d", round, ra.rc, rb.rc);
        cr_expect(ra.rc == TROUPE_EBUSY || rb.rc == TROUPE_EBUSY);
        cr_expect_eq(ra.rc == 0 ? ra.epoch : rb.epoch, 1);
    }
    /* the owner is live: even the right epoch does not take it */
    own *ob = cluster_own(b->c);
    uint64_t e = 0;
    pthread_mutex_lock(&ob->mu);
    int rc1 = owner_claim(ob, "race/nokind/r0", "nokind", "x", 1, &e);
    pthread_mutex_unlock(&ob->mu);
    own *oa = cluster_own(a->c);
    pthread_mutex_lock(&oa->mu);
    int rc2 = owner_claim(oa, "race/nokind/r0", "nokind", "x", 1, &e);
    pthread_mutex_unlock(&oa->mu);
    cr_expect_eq((rc1 == TROUPE_EBUSY) + (rc2 == TROUPE_EBUSY), 2, "live row taken: %d %d", rc1,
                 rc2);
    node_free(a);
    node_free(b);
}

/* The paused owner: a owns the ledger, is frozen, its lease expires and b
 * claims it; a's actor, still running, persists: the append is refused in
 * the journal's transaction (EFENCED), nothing of it is stored, and b's
 * state is the fold of what a acknowledged, then of b's own events. */
Test(owner, a_stale_epochs_append_is_refused_and_nothing_written)
{
    tnode *a = node_new("fence", "a", 600, 100);
    troupe_cluster_where w;
    cr_assert_eq(troupe_cluster_actor(a->c, "ledger", "acc", &w), 0);
    cr_assert(!troupe_ref_is_none(w.local), "a alone: placed on a");
    cr_assert_eq(ask(a, w.local, P_ADD, 1, NULL), 0);
    cr_assert_eq(ask(a, w.local, P_ADD, 2, NULL), 0);
    uint64_t epoch_a = w.epoch;
    tnode *b = node_new("fence", "b", 600, 100);
    cluster_test_freeze(a->c);
    troupe_cluster_where wb = wait_owner(b, "acc", "b");
    cr_expect_gt(wb.epoch, epoch_a, "epochs never decrease");
    cr_assert(!troupe_ref_is_none(wb.local));

    ledger l;
    cr_expect_neq(ask(a, w.local, P_ADD, 100, &l), 0, "the stale owner's event is not acked");
    troupe_journal_stats st;
    troupe_journal_stats_get(a->j, &st);
    cr_expect_geq(st.fenced, 1, "fenced writes counted");
    for (int i = 0; i < WAIT_STEPS && atomic_load(&a->fenced_failures) == 0; i++)
        usleep(100 * 1000);
    cr_expect_geq(atomic_load(&a->fenced_failures), 1, "the actor failed with EFENCED");

    cr_assert_eq(ask(b, wb.local, P_ADD, 5, &l), 0);
    ledger want = {0};
    ledger_apply_value(&want, 1);
    ledger_apply_value(&want, 2);
    ledger_apply_value(&want, 5);
    cr_expect(l.n == want.n && l.sum == want.sum && l.hash == want.hash,
              "b's state: n %llu sum %llu", (unsigned long long)l.n, (unsigned long long)l.sum);
    node_free(a);
    node_free(b);
}

/* a dies (frozen, never leaves) after acknowledged increments: b takes
 * the ledger over and recovers exactly their fold. */
Test(owner, failover_recovers_the_fold_of_acknowledged_events)
{
    tnode *a = node_new("fail", "a", 600, 100);
    troupe_cluster_where w;
    cr_assert_eq(troupe_cluster_actor(a->c, "ledger", "ctr", &w), 0);
    cr_assert(!troupe_ref_is_none(w.local));
    ledger want = {0};
    for (uint64_t i = 1; i <= 150; i++) { /* past a snapshot (every 100) */
        cr_assert_eq(ask(a, w.local, P_ADD, i, NULL), 0);
        ledger_apply_value(&want, i);
    }
    tnode *b = node_new("fail", "b", 600, 100);
    cluster_test_freeze(a->c);
    troupe_cluster_where wb = wait_owner(b, "ctr", "b");
    cr_expect_gt(wb.epoch, w.epoch);
    ledger l;
    cr_assert_eq(ask(b, wb.local, P_GET, 0, &l), 0);
    cr_expect(l.n == want.n && l.sum == want.sum && l.hash == want.hash,
              "recovered n %llu sum %llu", (unsigned long long)l.n, (unsigned long long)l.sum);
    troupe_cluster_owner_stats st;
    troupe_cluster_owner_stats_get(b->c, &st);
    cr_expect_eq(st.failovers, 1);
    cr_expect_eq(st.owned, 1);
    node_free(a);
    node_free(b);
}

/* The same takeover made by troupe_cluster_actor (a node that needs the
 * actor claims the dead owner's row itself) rather than by the ownership
 * pass: it is a failover too. It was counted only on the pass's path, so
 * the cluster demo's check of troupe_cluster_failovers_total failed when a
 * node's own call won the claim (seen in CI). b asks every millisecond and
 * its pass runs every 100 ms, so the call's path almost always wins; the
 * count must be 1 whichever did. */
Test(owner, a_takeover_by_troupe_cluster_actor_counts_as_a_failover)
{
    tnode *a = node_new("failapi", "a", 600, 100);
    troupe_cluster_where w;
    cr_assert_eq(troupe_cluster_actor(a->c, "ledger", "api", &w), 0);
    cr_assert_eq(ask(a, w.local, P_ADD, 7, NULL), 0);
    tnode *b = node_new("failapi", "b", 600, 100);
    cluster_test_freeze(a->c);
    troupe_cluster_where wb = {0};
    for (int i = 0; i < WAIT_STEPS * 100 && troupe_ref_is_none(wb.local); i++) {
        int rc = troupe_cluster_actor(b->c, "ledger", "api", &wb);
        cr_assert(rc == 0, "troupe_cluster_actor: %s", troupe_strerror(rc));
        if (troupe_ref_is_none(wb.local))
            usleep(1000);
    }
    cr_assert(!troupe_ref_is_none(wb.local), "b never took the ledger over");
    cr_expect_gt(wb.epoch, w.epoch);
    ledger l;
    cr_assert_eq(ask(b, wb.local, P_GET, 0, &l), 0);
    cr_expect_eq(l.sum, 7, "recovered");
    troupe_cluster_owner_stats st;
    troupe_cluster_owner_stats_get(b->c, &st);
    cr_expect_eq(st.claims, 1);
    cr_expect_eq(st.failovers, 1, "a claim of a dead owner's row is a failover");
    node_free(a);
    node_free(b);
}

/* A kind whose start always fails: tried max_start_failures times, then
 * parked — not handed to another node; unpark releases it. */
static int bad_init(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx, (void)state, (void)arg;
    return TROUPE_EFAILED;
}

static const troupe_behaviour bad_beh = {.name = "bad", .state_size = sizeof(ledger),
                                         .init = bad_init, .handle = ledger_handle,
                                         .persist = &ledger_persist};

Test(owner, an_actor_that_keeps_failing_to_start_is_parked)
{
    tnode *a = node_new("park", "a", 3000, 100);
    tnode *b = node_new("park", "b", 3000, 100);
    troupe_cluster_kind k = {.name = "bad", .beh = &bad_beh, .max_start_failures = 2};
    cr_assert_eq(troupe_cluster_kind_register(a->c, &k), 0);
    cr_assert_eq(troupe_cluster_kind_register(b->c, &k), 0);
    cr_expect_eq(troupe_cluster_kind_register(b->c, &k), TROUPE_EEXIST);
    troupe_cluster_where w = {0};
    for (int id = 0; id < 4; id++) { /* some placed on a, some on b */
        char name[16];
        snprintf(name, sizeof name, "p%d", id);
        (void)troupe_cluster_actor(a->c, "bad", name, NULL);
    }
    for (int id = 0; id < 4; id++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", id);
        for (int i = 0; i < WAIT_STEPS; i++) {
            if (troupe_cluster_where_is(a->c, "bad", name, &w) == 0 &&
                w.state == TROUPE_OWNER_PARKED)
                break;
            usleep(100 * 1000);
        }
        cr_expect_eq(w.state, TROUPE_OWNER_PARKED, "%s state %d", name, w.state);
    }
    troupe_cluster_owner_stats sa, sb;
    troupe_cluster_owner_stats_get(a->c, &sa);
    troupe_cluster_owner_stats_get(b->c, &sb);
    cr_expect_eq(sa.parked + sb.parked, 4);
    cr_expect_eq(sa.claims + sb.claims, 4, "each claimed once: never bounced");
    cr_expect_eq(sa.start_failures + sb.start_failures, 8);
    cr_expect_eq(troupe_cluster_unpark(a->c, "bad", "p0"), 0);
    cr_expect_eq(troupe_cluster_unpark(a->c, "bad", "p0"), TROUPE_ENOTFOUND);
    node_free(a);
    node_free(b);
}

/* Spawned from one node, actors are placed over both; each runs on
 * exactly the node its row names. */
Test(owner, placement_spreads_over_live_nodes_one_owner_each)
{
    tnode *a = node_new("place", "a", 3000, 100), *b = node_new("place", "b", 3000, 100);
    for (int id = 0; id < 16; id++) {
        char name[16];
        snprintf(name, sizeof name, "q%d", id);
        cr_assert_eq(troupe_cluster_actor(a->c, "ledger", name, NULL), 0);
    }
    int on_b = 0;
    for (int id = 0; id < 16; id++) {
        char name[16];
        snprintf(name, sizeof name, "q%d", id);
        troupe_cluster_where w = {0};
        for (int i = 0; i < WAIT_STEPS; i++) {
            if (troupe_cluster_where_is(a->c, "ledger", name, &w) == 0 && w.live)
                break;
            usleep(100 * 1000);
        }
        cr_assert(w.live, "%s never owned", name);
        troupe_cluster_where wa, wb;
        troupe_cluster_where_is(a->c, "ledger", name, &wa);
        troupe_cluster_where_is(b->c, "ledger", name, &wb);
        cr_expect_eq(troupe_ref_is_none(wa.local) + troupe_ref_is_none(wb.local), 1, "%s", name);
        on_b += !strcmp(w.node, "b");
    }
    cr_expect(on_b > 0 && on_b < 16, "rendezvous hashing put %d of 16 on b", on_b);
    node_free(a);
    node_free(b);
}

/* Migration: drained on a, recovered on b with every acknowledged event. */
Test(owner, migration_moves_the_actor_with_its_state)
{
    tnode *a = node_new("move", "a", 3000, 100);
    troupe_cluster_where w;
    cr_assert_eq(troupe_cluster_actor(a->c, "ledger", "m", &w), 0);
    ledger want = {0};
    for (uint64_t i = 1; i <= 20; i++) {
        cr_assert_eq(ask(a, w.local, P_ADD, i, NULL), 0);
        ledger_apply_value(&want, i);
    }
    tnode *b = node_new("move", "b", 3000, 100);
    cr_expect_eq(troupe_cluster_migrate(b->c, "ledger", "m", "a"), TROUPE_ENOTFOUND);
    cr_assert_eq(troupe_cluster_migrate(a->c, "ledger", "m", "b"), 0);
    troupe_cluster_where wb = wait_owner(a, "m", "b");
    wb = wait_owner(b, "m", "b");
    cr_expect_gt(wb.epoch, w.epoch);
    ledger l;
    cr_assert_eq(ask(b, wb.local, P_GET, 0, &l), 0);
    cr_expect(l.n == want.n && l.hash == want.hash);
    cr_expect_eq(troupe_alive(a->sys, w.local), 0, "stopped on a");
    node_free(a);
    node_free(b);
}

/* A node that fences itself (its lease not renewed: the ownership thread
 * still runs) stops its cluster actors; the other node takes them over. */
Test(owner, a_fenced_node_stops_its_cluster_actors)
{
    tnode *a = node_new("selffence", "a", 600, 100);
    troupe_cluster_where w;
    cr_assert_eq(troupe_cluster_actor(a->c, "ledger", "f", &w), 0);
    cr_assert(!troupe_ref_is_none(w.local));
    cr_assert_eq(ask(a, w.local, P_ADD, 7, NULL), 0);
    tnode *b = node_new("selffence", "b", 600, 100);
    cluster_test_stop_renewing(a->c);
    for (int i = 0; i < WAIT_STEPS && troupe_alive(a->sys, w.local) == 1; i++)
        usleep(100 * 1000);
    cr_expect_eq(troupe_alive(a->sys, w.local), 0, "stopped once fenced");
    cr_expect_eq(troupe_cluster_state_of(a->c), TROUPE_CLUSTER_FENCED);
    cr_expect_eq(troupe_cluster_actor(a->c, "ledger", "f", &w), TROUPE_EFENCED);
    troupe_cluster_owner_stats st;
    troupe_cluster_owner_stats_get(a->c, &st);
    cr_expect_eq(st.dropped, 1);
    cr_expect_eq(st.owned, 0);
    troupe_cluster_where wb = wait_owner(b, "f", "b");
    ledger l;
    cr_assert_eq(ask(b, wb.local, P_GET, 0, &l), 0);
    cr_expect_eq(l.sum, 7);
    node_free(a);
    node_free(b);
}

/* Leaving hands the actors off: released at once, claimed by the other
 * node at its next pass, with their state. */
Test(owner, leave_hands_the_actors_off)
{
    tnode *a = node_new("handoff", "a", 3000, 100);
    troupe_cluster_where w;
    cr_assert_eq(troupe_cluster_actor(a->c, "ledger", "h", &w), 0);
    cr_assert_eq(ask(a, w.local, P_ADD, 3, NULL), 0);
    tnode *b = node_new("handoff", "b", 3000, 100);
    cr_assert_eq(troupe_cluster_leave(a->c), 0);
    cr_expect_eq(troupe_alive(a->sys, w.local), 0);
    troupe_cluster_where wb = wait_owner(b, "h", "b");
    cr_expect_gt(wb.epoch, w.epoch);
    ledger l;
    cr_assert_eq(ask(b, wb.local, P_GET, 0, &l), 0);
    cr_expect_eq(l.sum, 3);
    troupe_cluster_owner_stats st;
    troupe_cluster_owner_stats_get(b->c, &st);
    cr_expect_eq(st.failovers, 0, "a hand-off, not a failover");
    node_free(a);
    node_free(b);
}

/* The server ends the node's lease (as after a restart or a partition:
 * the renewals did not reach it in time). */
static void expire_lease(const char *cluster, const char *node)
{
    PGconn *c = PQconnectdb(conninfo());
    char q[256];
    snprintf(q, sizeof q, "UPDATE troupe_nodes SET lease_until = now() - interval '1 second'"
                          " WHERE cluster = '%s' AND node = '%s'", cluster, node);
    PGresult *r = PQexec(c, q);
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
}

/* Fenced by a refused renewal, the node stops its actor, rejoins under a
 * new incarnation, and claims the actor back (a new epoch), recovered
 * with its acknowledged state. */
Test(owner, a_fenced_node_rejoins_and_claims_its_actor_again)
{
    tnode *a = node_new("back", "a", 1000, 100);
    troupe_cluster_where w, w2 = {0};
    cr_assert_eq(troupe_cluster_actor(a->c, "ledger", "r", &w), 0);
    cr_assert_eq(ask(a, w.local, P_ADD, 5, NULL), 0);
    expire_lease("back", "a");
    troupe_cluster_stats cs = {0};
    bool back = false;
    for (int i = 0; i < WAIT_STEPS && !back; i++) {
        usleep(100 * 1000);
        troupe_cluster_stats_get(a->c, &cs);
        back = cs.rejoins > 0 && troupe_cluster_where_is(a->c, "ledger", "r", &w2) == 0 &&
               w2.live && !strcmp(w2.node, "a") && w2.epoch > w.epoch &&
               !troupe_ref_is_none(w2.local);
    }
    cr_assert(back, "never claimed again (rejoins %llu)", (unsigned long long)cs.rejoins);
    cr_expect_eq(cs.rejoins, 1);
    cr_expect_eq(troupe_cluster_state_of(a->c), TROUPE_CLUSTER_JOINED);
    cr_expect_eq(troupe_alive(a->sys, w.local), 0); /* the old one was stopped */
    ledger l;
    cr_assert_eq(ask(a, w2.local, P_GET, 0, &l), 0);
    cr_expect_eq(l.sum, 5);
    troupe_cluster_owner_stats st;
    troupe_cluster_owner_stats_get(a->c, &st);
    cr_expect_eq(st.claims, 2);
    cr_expect_geq(st.dropped, 1);
    node_free(a);
}

/* TROUPE_CLUSTER_NO_REJOIN: the same refusal fences the node for good. */
Test(owner, with_no_rejoin_a_fenced_node_stays_fenced)
{
    node_flags = TROUPE_CLUSTER_NO_REJOIN;
    tnode *a = node_new("stay", "a", 1000, 100);
    node_flags = 0;
    troupe_cluster_where w;
    cr_assert_eq(troupe_cluster_actor(a->c, "ledger", "s", &w), 0);
    expire_lease("stay", "a");
    for (int i = 0; i < WAIT_STEPS && troupe_alive(a->sys, w.local) == 1; i++)
        usleep(100 * 1000);
    cr_expect_eq(troupe_alive(a->sys, w.local), 0);
    usleep(500 * 1000); /* several renewal periods: nothing brings it back */
    cr_expect_eq(troupe_cluster_state_of(a->c), TROUPE_CLUSTER_FENCED);
    cr_expect_eq(troupe_cluster_actor(a->c, "ledger", "s", &w), TROUPE_EFENCED);
    troupe_cluster_stats cs;
    troupe_cluster_stats_get(a->c, &cs);
    cr_expect_eq(cs.rejoins, 0);
    node_free(a);
}

Test(owner, a_cluster_name_is_unique_and_found_from_the_other_node)
{
    tnode *a = node_new("names", "a", 600, 100), *b = node_new("names", "b", 600, 100);
    troupe_ref ra = {.id = 0x1234}, rb = {.id = 0x5678}, got;
    char node[TROUPE_CLUSTER_NAME_MAX + 1];
    cr_assert_eq(troupe_cluster_name_register(a->c, "svc", ra), 0);
    cr_expect_eq(troupe_cluster_name_register(b->c, "svc", rb), TROUPE_EEXIST);
    cr_assert_eq(troupe_cluster_name_lookup(b->c, "svc", node, &got), 0);
    cr_expect_str_eq(node, "a");
    cr_expect_eq(got.id, ra.id);
    cr_expect_eq(troupe_cluster_name_unregister(b->c, "svc"), TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_cluster_name_lookup(b->c, "nope", node, &got), TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_cluster_name_register(b->c, "bad name", rb), TROUPE_EINVAL);
    /* a dies: its name is no longer found, and b may take it */
    cluster_test_freeze(a->c);
    int rc = 0;
    for (int i = 0; i < WAIT_STEPS; i++) {
        if ((rc = troupe_cluster_name_lookup(b->c, "svc", node, &got)) == TROUPE_ENOTFOUND)
            break;
        usleep(100 * 1000);
    }
    cr_expect_eq(rc, TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_cluster_name_register(b->c, "svc", rb), 0);
    cr_expect_eq(troupe_cluster_name_lookup(b->c, "svc", node, &got), 0);
    cr_expect_str_eq(node, "b");
    cr_expect_eq(troupe_cluster_name_unregister(b->c, "svc"), 0);
    node_free(a);
    node_free(b);
}

Test(owner, bad_input)
{
    tnode *a = node_new("bad", "a", 3000, 500);
    troupe_cluster_where w;
    cr_expect_eq(troupe_cluster_actor(NULL, "ledger", "x", &w), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_actor(a->c, "ledger", "a/b", &w), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_actor(a->c, "ledger", "", &w), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_actor(a->c, "nokind", "x", &w), TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_cluster_where_is(a->c, "ledger", "never", &w), TROUPE_ENOTFOUND);
    troupe_cluster_kind k = {.name = "x", .beh = NULL};
    cr_expect_eq(troupe_cluster_kind_register(a->c, &k), TROUPE_EINVAL);
    k.beh = &ledger_beh;
    k.reserved[3] = 1;
    cr_expect_eq(troupe_cluster_kind_register(a->c, &k), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_owner_stats_get(a->c, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_leave(a->c), 0);
    cr_expect_eq(troupe_cluster_actor(a->c, "ledger", "x", &w), TROUPE_ESTATE);
    node_free(a);
}
