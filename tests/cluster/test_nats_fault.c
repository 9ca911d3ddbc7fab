/* tests/cluster/test_nats_fault.c — kill -9 of a NATS server under two
 * nodes (issue 14, test 4): the node on it reconnects to the next server of
 * its list, messages flow again both ways through the refs they had, and
 * nothing moves — both nodes stay joined with their numbers (membership is
 * PostgreSQL's, untouched). Its own executable: the server it kills is
 * gone for every test after it. Run by tests/cluster/run_nats.sh (real
 * servers, TROUPE_NATS_PID_1 is the one killed). Every wait is bounded. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "troupe/troupe.h"

#define SEC 1000000000ull

typedef struct node {
    troupe_system *sys;
    troupe_cluster *c;
} node;

static const char *env(const char *k)
{
    const char *v = getenv(k);
    cr_assert(v, "%s: run through tests/cluster/run_nats.sh", k);
    return v;
}

static void node_up(node *n, const char *name, const char *urls)
{
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 2;
    cr_assert_eq(troupe_system_create(&n->sys, &cfg), 0);
    troupe_cluster_config cc;
    troupe_cluster_config_defaults(&cc);
    cc.cluster = "natsfault";
    cc.node = name;
    cc.nats_urls = urls;
    cc.pg_conninfo = env("TROUPE_PG_CONNINFO");
    cr_assert_eq(troupe_cluster_create(n->sys, &cc, &n->c), 0);
    int rc = troupe_cluster_join(n->c);
    cr_assert_eq(rc, 0, "join %s: %s", name, troupe_strerror(rc));
}

static int echo(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    (void)st;
    return troupe_reply(ctx, m->type + 1, m->data, m->size);
}
static const troupe_behaviour echo_beh = {.name = "echo", .handle = echo};

static troupe_ref echo_on(node *n)
{
    troupe_ref r;
    cr_assert_eq(troupe_spawn(n->sys, &echo_beh, NULL, NULL, &r), 0);
    cr_assert_eq(troupe_register(n->sys, "echo", r), 0);
    return r;
}

/* The peer's echo, retried while the mesh learns the new inbox. */
static troupe_ref lookup(node *from, const char *peer)
{
    troupe_ref r = TROUPE_REF_NONE;
    int rc = -1;
    for (int i = 0; i < 100 && rc != 0; i++)
        if ((rc = troupe_cluster_lookup(from->c, peer, "echo", SEC / 5, &r)) != 0)
            usleep(20000);
    cr_assert_eq(rc, 0, "lookup echo on %s: %d", peer, rc);
    return r;
}

static int ask_ok(node *from, troupe_ref to, uint64_t timeout)
{
    uint32_t v = 0x5eed, back = 0, type = 0;
    size_t len = 0;
    int rc = troupe_ask(from->sys, to, 10, &v, sizeof v, timeout, &type, &back, sizeof back, &len);
    return rc == 0 && type == 11 && len == sizeof back && back == v;
}

Test(nats_fault, a_killed_server_is_reconnected_and_nothing_moves, .timeout = 120)
{
    char a_urls[512];
    snprintf(a_urls, sizeof a_urls, "%s,%s", env("TROUPE_NATS_URL_1"), env("TROUPE_NATS_URL_2"));
    node a, b;
    node_up(&a, "a", a_urls); /* on server 1 (the first URL), then server 2 */
    node_up(&b, "b", env("TROUPE_NATS_URL_3"));
    echo_on(&a);
    echo_on(&b);
    troupe_ref to_b = lookup(&a, "b"), to_a = lookup(&b, "a");
    int num_a = troupe_cluster_node_number(a.c), num_b = troupe_cluster_node_number(b.c);
    cr_assert(ask_ok(&a, to_b, 10 * SEC) && ask_ok(&b, to_a, 10 * SEC));

    pid_t server1 = (pid_t)atol(env("TROUPE_NATS_PID_1"));
    cr_assert_eq(kill(server1, SIGKILL), 0);
    /* a reconnects to server 2: asks fail meanwhile (at-most-once), then pass */
    int ok = 0;
    for (int i = 0; i < 300 && !ok; i++)
        ok = ask_ok(&a, to_b, SEC / 5) && ask_ok(&b, to_a, SEC / 5);
    cr_assert(ok, "no ask went through after the server was killed");
    for (int i = 0; i < 100; i++) {
        cr_assert(ask_ok(&a, to_b, 10 * SEC), "a -> b, ask %d after the reconnect", i);
        cr_assert(ask_ok(&b, to_a, 10 * SEC), "b -> a, ask %d after the reconnect", i);
    }
    cr_expect_eq(troupe_cluster_state_of(a.c), TROUPE_CLUSTER_JOINED, "nothing moves");
    cr_expect_eq(troupe_cluster_state_of(b.c), TROUPE_CLUSTER_JOINED);
    cr_expect_eq(troupe_cluster_node_number(a.c), num_a);
    cr_expect_eq(troupe_cluster_node_number(b.c), num_b);
    troupe_cluster_destroy(a.c);
    troupe_cluster_destroy(b.c);
    troupe_system_destroy(a.sys);
    troupe_system_destroy(b.sys);
}
