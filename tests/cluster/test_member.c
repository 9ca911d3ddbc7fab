/* tests/cluster/test_member.c — membership on a real PostgreSQL server
 * (tests/cluster/run_nats.sh starts one, and NATS: TROUPE_PG_CONNINFO). Each test
 * uses a cluster name of its own, so the tests share the server. Waits
 * are bounded polls, never timed assertions. */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/member.h"
#include "troupe/troupe.h"

static const char *conninfo(void)
{
    const char *c = getenv("TROUPE_PG_CONNINFO");
    cr_assert(c, "run through tests/persistence/run_pg.sh");
    return c;
}

static member *join(const char *cluster, const char *node, uint32_t lease, uint32_t renew)
{
    member *m = NULL;
    int rc = member_join(conninfo(), cluster, node, lease, renew, &m);
    cr_assert_eq(rc, 0, "join %s/%s: %d", cluster, node, rc);
    return m;
}

static int find(member_node *ns, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(ns[i].name, name))
            return i;
    return -1;
}

Test(member, two_nodes_see_each_other)
{
    member *a = join("see", "a", 3000, 500), *b = join("see", "b", 3000, 500);
    cr_expect_eq(member_state(a), TROUPE_CLUSTER_JOINED);
    member_node ns[8];
    int n = member_list(a, ns, 8);
    cr_assert_eq(n, 2);
    cr_expect(ns[find(ns, n, "a")].live && ns[find(ns, n, "b")].live);
    cr_expect_eq(ns[find(ns, n, "b")].incarnation, member_incarnation(b));
    member_leave(b, true);
    n = member_list(a, ns, 8);
    cr_expect(!ns[find(ns, n, "b")].live, "a left node is not live");
    member_leave(a, true);
}

Test(member, a_live_name_cannot_join_twice_and_rejoin_bumps_incarnation)
{
    member *a = join("twice", "a", 3000, 500);
    member *dup = NULL;
    cr_expect_eq(member_join(conninfo(), "twice", "a", 3000, 500, &dup), TROUPE_EEXIST);
    cr_expect_null(dup);
    uint64_t first = member_incarnation(a);
    member_leave(a, true);
    a = join("twice", "a", 3000, 500);
    cr_expect_gt(member_incarnation(a), first);
    member_leave(a, true);
}

/* A node that stops renewing: the other sees it expired once the lease has
 * passed, it sees itself fenced, and its late renewal is refused. */
Test(member, a_stalled_node_expires_fences_and_is_refused)
{
    member *a = join("stall", "a", 600, 100), *b = join("stall", "b", 600, 100);
    member_stop_renewing(b);
    member_node ns[8];
    bool expired = false;
    for (int i = 0; i < 300 && !expired; i++) { /* bounded: 30 s at most */
        usleep(100 * 1000);
        int n = member_list(a, ns, 8);
        int k = find(ns, n, "b");
        expired = k >= 0 && !ns[k].live;
    }
    cr_assert(expired, "b never expired for a");
    cr_expect_eq(member_state(b), TROUPE_CLUSTER_FENCED);
    cr_expect_eq(member_renew(b), TROUPE_EFENCED);
    cr_expect_eq(member_state(b), TROUPE_CLUSTER_FENCED);
    int n = member_list(a, ns, 8); /* the server did not revive the lease */
    cr_expect(!ns[find(ns, n, "b")].live);
    cr_expect_eq(member_state(a), TROUPE_CLUSTER_JOINED);
    member_leave(b, false);
    member_leave(a, true);
}

/* A newer incarnation of the same name makes the old one's epoch stale. */
Test(member, an_old_incarnation_is_refused)
{
    member *old = join("epoch", "n", 400, 100);
    member_stop_renewing(old);
    member *neu = NULL;
    int rc = TROUPE_EEXIST;
    for (int i = 0; i < 300 && rc == TROUPE_EEXIST; i++) { /* bounded: until the lease ran out */
        usleep(100 * 1000);
        rc = member_join(conninfo(), "epoch", "n", 3000, 500, &neu);
    }
    cr_assert_eq(rc, 0);
    cr_expect_gt(member_incarnation(neu), member_incarnation(old));
    cr_expect_eq(member_renew(old), TROUPE_EFENCED);
    cr_expect_eq(member_state(neu), TROUPE_CLUSTER_JOINED);
    member_node ns[4];
    int n = member_list(neu, ns, 4); /* the row is the new incarnation's */
    cr_assert_eq(n, 1);
    cr_expect_eq(ns[0].incarnation, member_incarnation(neu));
    member_leave(old, true); /* marks nothing: its incarnation is gone */
    cr_expect_eq(member_renew(neu), 0);
    member_leave(neu, true);
}

/* Someone else's view of the server: the node's lease ended now (as if
 * the server had not heard from it: restarted, partitioned). */
static void expire(const char *cluster, const char *node)
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

/* Poll (bounded: 30 s) until m's state is `want`. */
static bool wait_state(member *m, int want)
{
    for (int i = 0; i < 3000 && member_state(m) != want; i++)
        usleep(10 * 1000);
    return member_state(m) == want;
}

/* Rejoin on: the renewal is refused, the node fences, then takes a new
 * incarnation at its next try and is joined again, counted. */
Test(member, a_refused_node_rejoins_under_a_new_incarnation)
{
    member *m = join("rejoin", "a", 600, 100);
    member_set_rejoin(m, true);
    uint64_t first = member_incarnation(m);
    cr_expect_eq(member_live_incarnation(m), first);
    expire("rejoin", "a");
    bool back = false;
    for (int i = 0; i < 3000 && !back; i++) { /* bounded: 30 s */
        usleep(10 * 1000);
        back = member_live_incarnation(m) > first;
    }
    cr_assert(back, "never rejoined");
    cr_expect_eq(member_state(m), TROUPE_CLUSTER_JOINED);
    member_renew_stats st;
    member_renew_stats_get(m, &st);
    cr_expect_eq(st.rejoins, 1);
    cr_expect_geq(st.refused, 1); /* the refusal that fenced it */
    member_node ns[4];
    int n = member_list(m, ns, 4); /* the server holds the new incarnation, live */
    cr_assert_eq(n, 1);
    cr_expect_eq(ns[0].incarnation, member_incarnation(m));
    cr_expect(ns[0].live);
    member_leave(m, true);
}

/* Rejoin off (member_join's default, TROUPE_CLUSTER_NO_REJOIN): fenced
 * for good, the row left expired. */
Test(member, without_rejoin_a_refused_node_stays_fenced)
{
    member *m = join("norejoin", "a", 600, 100);
    uint64_t first = member_incarnation(m);
    expire("norejoin", "a");
    cr_assert(wait_state(m, TROUPE_CLUSTER_FENCED));
    usleep(500 * 1000); /* several renewal periods: nothing may bring it back */
    cr_expect_eq(member_state(m), TROUPE_CLUSTER_FENCED);
    cr_expect_eq(member_incarnation(m), first);
    cr_expect_eq(member_live_incarnation(m), 0);
    member_renew_stats st;
    member_renew_stats_get(m, &st);
    cr_expect_eq(st.rejoins, 0);
    member_leave(m, true);
}

Test(member, an_unreachable_server_is_eio)
{
    member *m = NULL;
    cr_expect_eq(member_join("host=127.0.0.1 port=1 dbname=x", "x", "y", 1000, 200, &m),
                 TROUPE_EIO);
    cr_expect_null(m);
}

/* The public handle: join, state, leave. */
Test(member, the_public_handle_joins_and_leaves)
{
    troupe_system *sys = NULL;
    cr_assert_eq(troupe_system_create(&sys, NULL), 0);
    troupe_cluster_config cfg;
    troupe_cluster_config_defaults(&cfg);
    cfg.cluster = "api";
    cfg.node = "n1";
    /* joining connects to NATS too (cluster/transport.c): run_nats.sh's */
    cfg.nats_urls = getenv("TROUPE_NATS_URL_1");
    cr_assert(cfg.nats_urls, "run through tests/cluster/run_nats.sh");
    cfg.pg_conninfo = conninfo();
    troupe_cluster *c = NULL;
    cr_assert_eq(troupe_cluster_create(sys, &cfg, &c), 0);
    cr_assert_eq(troupe_cluster_join(c), 0);
    cr_expect_eq(troupe_cluster_state_of(c), TROUPE_CLUSTER_JOINED);
    cr_expect_eq(troupe_cluster_join(c), TROUPE_ESTATE);
    cr_expect_eq(troupe_cluster_leave(c), 0);
    cr_expect_eq(troupe_cluster_state_of(c), TROUPE_CLUSTER_LEFT);
    cr_expect_eq(troupe_cluster_leave(c), TROUPE_ESTATE);
    troupe_cluster_destroy(c);
    troupe_system_destroy(sys);
}

/* Nodes started together on a database without the table: each join's
 * CREATE TABLE IF NOT EXISTS raced the others', and a loser failed on
 * pg_type's unique index (TROUPE_EIO; `make demo-cluster` hit it). The
 * schema now runs under an advisory lock. 20 rounds of 6 joins at once. */
typedef struct racer {
    char name[16];
    pthread_barrier_t *go;
    member *m;
    int rc;
} racer;

static void *race_join(void *p)
{
    racer *r = p;
    pthread_barrier_wait(r->go);
    r->rc = member_join(conninfo(), "race", r->name, 3000, 500, &r->m);
    return NULL;
}

static void drop_nodes_table(void)
{
    PGconn *pg = PQconnectdb(conninfo());
    cr_assert_eq(PQstatus(pg), CONNECTION_OK);
    PGresult *r = PQexec(pg, "SET client_min_messages = warning; DROP TABLE IF EXISTS troupe_nodes");
    cr_assert_eq(PQresultStatus(r), PGRES_COMMAND_OK, "%s", PQerrorMessage(pg));
    PQclear(r);
    PQfinish(pg);
}

Test(member, nodes_joining_together_on_a_fresh_database_all_join, .timeout = 240)
{
    enum { N = 6 };
    for (int round = 0; round < 20; round++) {
        drop_nodes_table();
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, N);
        racer r[N];
        pthread_t th[N];
        for (int i = 0; i < N; i++) {
            r[i] = (racer){.go = &go};
            snprintf(r[i].name, sizeof r[i].name, "r%d", i);
            cr_assert_eq(pthread_create(&th[i], NULL, race_join, &r[i]), 0);
        }
        for (int i = 0; i < N; i++)
            pthread_join(th[i], NULL);
        pthread_barrier_destroy(&go);
        for (int i = 0; i < N; i++) {
            cr_expect_eq(r[i].rc, 0, "round %d: %s joined with %d", round, r[i].name, r[i].rc);
            if (r[i].m)
                member_leave(r[i].m, true);
        }
    }
}
