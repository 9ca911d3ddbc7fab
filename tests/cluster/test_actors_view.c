/* tests/cluster/test_actors_view.c — where cluster actors live, on real
 * servers (tests/cluster/run_nats.sh: PostgreSQL and NATS): actors_owned in
 * the nodes view, GET /api/cluster/actors (a page of the ownership rows),
 * and the ownership counters and fenced writes on /metrics, checked by
 * promtool. Nodes are systems of this process, each with a PostgreSQL
 * journal of its own; a node's death is cluster_test_freeze (its lease no
 * longer renewed, its ownership thread stopped, its actors still running,
 * as a paused process's). Every wait is a bounded poll. */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../http/client.h"
#include "../http/promtool.h"
#include "../persistence/pers_support.h"
#include "cluster/own.h"
#include "troupe/troupe.h"

/* actors_owned took reserved bytes: the size (ABI) is unchanged. */
_Static_assert(sizeof(troupe_cluster_node) == 64 + 8 + 4 + 4 + 8 + 8 + 32,
               "troupe_cluster_node changed size");

#define WAIT_STEPS 300 /* x 100 ms: 30 s at most */
#define ASK_NS 10000000000ll
#define NACTORS 6

typedef struct tnode {
    troupe_journal *j;
    troupe_system *sys;
    troupe_cluster *c;
    troupe_http *srv;
    int port; /* 0: built without http */
} tnode;

static const char *env(const char *k)
{
    const char *v = getenv(k);
    cr_assert(v, "%s: run through tests/cluster/run_nats.sh", k);
    return v;
}

static tnode *node_new(const char *cluster, const char *name)
{
    tnode *n = calloc(1, sizeof *n);
    cr_assert_eq(troupe_journal_open_postgres(env("TROUPE_PG_CONNINFO"), &n->j), 0);
    troupe_config cfg = tt_config(1, NULL);
    cfg.journal = n->j;
    n->sys = tt_system_cfg(&cfg);
    troupe_cluster_config cc;
    troupe_cluster_config_defaults(&cc);
    cc.cluster = cluster;
    cc.node = name;
    cc.nats_urls = env("TROUPE_NATS_URL_1");
    cc.pg_conninfo = env("TROUPE_PG_CONNINFO");
    cc.lease_ms = 1000;
    cc.renew_ms = 100;
    cr_assert_eq(troupe_cluster_create(n->sys, &cc, &n->c), 0);
    troupe_cluster_kind k = {.name = "ledger", .beh = &ledger_beh};
    cr_assert_eq(troupe_cluster_kind_register(n->c, &k), 0);
    int rc = troupe_cluster_join(n->c);
    cr_assert_eq(rc, 0, "join %s/%s: %s", cluster, name, troupe_errname(rc));
    rc = troupe_http_start(n->sys, NULL, &n->srv);
    cr_assert(rc == 0 || rc == TROUPE_ENOTSUP, "http: %d", rc);
    n->port = rc == 0 ? troupe_http_port(n->srv) : 0;
    return n;
}

static void node_free(tnode *n)
{
    if (n->srv)
        troupe_http_stop(n->srv);
    troupe_cluster_destroy(n->c);
    troupe_system_destroy(n->sys);
    troupe_journal_close(n->j);
    free(n);
}

static void id_of(int i, char *buf, size_t cap)
{
    snprintf(buf, cap, "acct-%d", i);
}

/* Until every actor is live somewhere; how many each node owns. */
static void wait_placed(tnode *asker, int *on_a, int *on_b)
{
    for (int step = 0; step < WAIT_STEPS; step++) {
        int live = 0;
        *on_a = *on_b = 0;
        for (int i = 0; i < NACTORS; i++) {
            char id[16];
            id_of(i, id, sizeof id);
            troupe_cluster_where w;
            if (troupe_cluster_where_is(asker->c, "ledger", id, &w) == 0 && w.live) {
                live++;
                *on_a += !strcmp(w.node, "a");
                *on_b += !strcmp(w.node, "b");
            }
        }
        if (live == NACTORS)
            return;
        usleep(100 * 1000);
    }
    cr_assert_fail("the actors were not all placed");
}

static uint64_t owned_in_view(tnode *n, const char *name)
{
    troupe_cluster_node nds[8];
    size_t cnt = 0;
    cr_assert_eq(troupe_cluster_nodes(n->c, nds, 8, &cnt), 0);
    for (size_t i = 0; i < cnt && i < 8; i++)
        if (!strcmp(nds[i].name, name))
            return nds[i].actors_owned;
    cr_assert_fail("node %s not in the view", name);
    return 0;
}

/* Count of `pat` in s. */
static int occurrences(const char *s, const char *pat)
{
    int k = 0;
    for (const char *p = s; (p = strstr(p, pat)) != NULL; p += strlen(pat))
        k++;
    return k;
}

Test(actors_view, the_nodes_view_counts_the_actors_each_node_owns)
{
    tnode *a = node_new("vown", "a"), *b = node_new("vown", "b");
    for (int i = 0; i < NACTORS; i++) {
        char id[16];
        id_of(i, id, sizeof id);
        int rc = troupe_cluster_actor(a->c, "ledger", id, NULL);
        cr_assert_eq(rc, 0, "spawn %s: %s", id, troupe_errname(rc));
    }
    int on_a, on_b;
    wait_placed(a, &on_a, &on_b);
    cr_expect_eq(on_a + on_b, NACTORS);
    cr_expect_eq(owned_in_view(a, "a"), (uint64_t)on_a);
    cr_expect_eq(owned_in_view(a, "b"), (uint64_t)on_b);
    cr_expect_eq(owned_in_view(b, "a"), (uint64_t)on_a, "the same from the other node");
    if (a->port) {
        hc_resp r = hc_get(a->port, "/api/cluster/nodes");
        cr_assert_eq(r.status, 200, "%s", r.raw);
        char want[64];
        snprintf(want, sizeof want, "\"actors_owned\":%d}", on_a);
        const char *at = strstr(r.body, "{\"name\":\"a\"");
        cr_expect(at && strstr(at, want), "%s (want %s)", r.body, want);
        cr_expect(!strstr(r.body, "null"), "no unknown count: %s", r.body);
        hc_free(&r);
    }
    /* b dies: a claims b's actors; the view moves them to a */
    cluster_test_freeze(b->c);
    for (int i = 0; i < WAIT_STEPS && owned_in_view(a, "a") < NACTORS; i++)
        usleep(100 * 1000);
    cr_expect_eq(owned_in_view(a, "a"), NACTORS);
    cr_expect_eq(owned_in_view(a, "b"), 0, "an expired node's claimed rows are no longer its");
    node_free(b);
    node_free(a);
}

/* The rest of the JSON object of the actor `id` on the page, after its
 * kind and id; NULL if it is not there. */
static const char *actor_in(const char *body, const char *id)
{
    char pat[64];
    snprintf(pat, sizeof pat, "{\"kind\":\"ledger\",\"id\":\"%s\",", id);
    const char *at = strstr(body, pat);
    return at ? at + strlen(pat) : NULL;
}

static void expect_page(int port, const char *path, int status, int items, const char *has)
{
    hc_resp r = hc_get(port, path);
    cr_expect_eq(r.status, status, "%s: %s", path, r.raw);
    cr_expect(json_valid(r.body), "%s: %s", path, r.body);
    if (status == 200)
        cr_expect_eq(occurrences(r.body, "{\"kind\":"), items, "%s: %s", path, r.body);
    if (has)
        cr_expect(strstr(r.body, has), "%s: %s (want %s)", path, r.body, has);
    hc_free(&r);
}

Test(actors_view, http_lists_where_each_cluster_actor_lives)
{
    tnode *a = node_new("vapi", "a"), *b = node_new("vapi", "b");
    if (!a->port) {
        cr_log_info("built without http: nothing to check");
        node_free(b), node_free(a);
        return;
    }
    expect_page(a->port, "/api/cluster/actors", 200, 0, "\"total\":0,\"offset\":0,\"limit\":100");
    for (int i = 0; i < NACTORS; i++) {
        char id[16];
        id_of(i, id, sizeof id);
        cr_assert_eq(troupe_cluster_actor(b->c, "ledger", id, NULL), 0);
    }
    int on_a, on_b;
    wait_placed(a, &on_a, &on_b);
    hc_resp r = hc_get(a->port, "/api/cluster/actors");
    cr_assert_eq(r.status, 200, "%s", r.raw);
    cr_expect(json_valid(r.body), "%s", r.body);
    cr_expect(strstr(r.body, "\"cluster\":\"vapi\",\"self\":\"a\",\"total\":6"), "%s", r.body);
    for (int i = 0; i < NACTORS; i++) {
        char id[16], want[192];
        id_of(i, id, sizeof id);
        troupe_cluster_where w;
        cr_assert_eq(troupe_cluster_where_is(a->c, "ledger", id, &w), 0);
        snprintf(want, sizeof want, "\"node\":\"%s\",\"epoch\":%llu,\"state\":\"active\","
                 "\"live\":true,\"fails\":0}", w.node, (unsigned long long)w.epoch);
        const char *at = actor_in(r.body, id);
        cr_expect(at && !strncmp(at, want, strlen(want)),
                  "%s: %s (want %s)", id, r.body, want);
    }
    cr_expect(actor_in(r.body, "acct-0") < actor_in(r.body, "acct-5"), "ordered by id");
    hc_free(&r);
    /* pages: bounded, the total always */
    expect_page(a->port, "/api/cluster/actors?limit=2&offset=4", 200, 2,
                "\"total\":6,\"offset\":4,\"limit\":2");
    expect_page(a->port, "/api/cluster/actors?limit=2&offset=4", 200, 2, "\"id\":\"acct-4\"");
    expect_page(a->port, "/api/cluster/actors?offset=10", 200, 0, "\"total\":6,\"offset\":10");
    expect_page(a->port, "/api/cluster/actors?limit=0", 400, 0, "\"status\":400");
    expect_page(a->port, "/api/cluster/actors?limit=1001", 400, 0, "\"status\":400");
    expect_page(a->port, "/api/cluster/actors?offset=-1", 400, 0, "\"status\":400");
    expect_page(a->port, "/api/cluster/actors?limit=x", 400, 0, "\"status\":400");
    expect_page(a->port, "/api/cluster/actors", 200, NACTORS, NULL);
    /* a system that left: no cluster, a JSON 404 */
    cr_assert_eq(troupe_cluster_leave(a->c), 0);
    expect_page(a->port, "/api/cluster/actors", 404, 0, "\"status\":404");
    node_free(b);
    node_free(a);
}

/* The views query on a connection of their own: while the database takes
 * no new connection (ALLOW_CONNECTIONS false, set from the server's
 * `postgres` database: not the current one), both answer 503, and 200
 * again afterwards. */
static void allow_connections(PGconn *admin, const char *db, bool on)
{
    char sql[160];
    snprintf(sql, sizeof sql, "ALTER DATABASE \"%s\" ALLOW_CONNECTIONS %s", db,
             on ? "true" : "false");
    PGresult *res = PQexec(admin, sql);
    cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s", PQerrorMessage(admin));
    PQclear(res);
}

static PGconn *connect_to(const char *extra)
{
    char ci[512];
    snprintf(ci, sizeof ci, "%s %s", env("TROUPE_PG_CONNINFO"), extra);
    PGconn *pg = PQconnectdb(ci);
    cr_assert_eq(PQstatus(pg), CONNECTION_OK, "%s", PQerrorMessage(pg));
    return pg;
}

Test(actors_view, http_answers_503_when_postgresql_does_not)
{
    tnode *a = node_new("v503", "a");
    if (!a->port) {
        node_free(a);
        return;
    }
    PGconn *pg = connect_to("");
    char db[128];
    snprintf(db, sizeof db, "%s", PQdb(pg));
    PQfinish(pg);
    PGconn *admin = connect_to("dbname=postgres");
    allow_connections(admin, db, false);
    hc_resp r1 = hc_get(a->port, "/api/cluster/actors");
    hc_resp r2 = hc_get(a->port, "/api/cluster/nodes");
    allow_connections(admin, db, true);
    PQfinish(admin);
    cr_expect_eq(r1.status, 503, "%s", r1.raw);
    cr_expect(json_valid(r1.body) && strstr(r1.body, "\"status\":503"), "%s", r1.body);
    cr_expect_eq(r2.status, 503, "%s", r2.raw);
    hc_free(&r1);
    hc_free(&r2);
    expect_page(a->port, "/api/cluster/actors", 200, 0, "\"total\":0");
    node_free(a);
}

/* ---- /metrics ---------------------------------------------------------------- */

typedef struct page {
    char *s;
    size_t n;
} page;

static int collect(void *ud, const char *data, size_t len)
{
    page *p = ud;
    char *s = realloc(p->s, p->n + len + 1);
    cr_assert(s);
    memcpy(s + p->n, data, len);
    p->s = s;
    p->n += len;
    s[p->n] = 0;
    return 0;
}

static page metrics_of(tnode *n)
{
    page p = {0};
    cr_assert_eq(troupe_metrics_write(n->sys, NULL, collect, &p), 0);
    return p;
}

/* The value of the sample `name ` on the page, or -1. */
static double sample(const char *s, const char *name)
{
    char pat[160];
    snprintf(pat, sizeof pat, "\n%s ", name);
    const char *p = strstr(s, pat);
    return p ? strtod(p + strlen(pat), NULL) : -1;
}

static void expect_valid(const char *text)
{
    int ok = tt_promtool_ok(text, strlen(text));
    cr_expect(ok != 0, "promtool check metrics refuses the page:\n%s", text);
    if (ok < 0)
        cr_log_info("promtool not installed: not checked");
}

static int ask_add(tnode *n, troupe_ref r, uint64_t v)
{
    uint32_t rt = 0;
    size_t got = 0;
    ledger l;
    return troupe_ask(n->sys, r, P_ADD, &v, sizeof v, ASK_NS, &rt, &l, sizeof l, &got);
}

/* a owns an actor; b joins; a is frozen and b takes the actor over (a
 * failover on b's page); a's actor, still running, persists: refused
 * (a fenced write on a's page). Both pages stay valid. */
Test(actors_view, metrics_count_claims_failovers_and_fenced_writes)
{
    tnode *a = node_new("vmet", "a");
    troupe_cluster_where w;
    cr_assert_eq(troupe_cluster_actor(a->c, "ledger", "acc", &w), 0);
    cr_assert(!troupe_ref_is_none(w.local), "a alone: placed on a");
    cr_assert_eq(ask_add(a, w.local, 1), 0);
    page p = metrics_of(a);
    cr_expect_eq(sample(p.s, "troupe_cluster_claims_total"), 1, "%s", p.s);
    cr_expect_eq(sample(p.s, "troupe_cluster_actors_owned"), 1, "%s", p.s);
    cr_expect_eq(sample(p.s, "troupe_cluster_failovers_total"), 0, "%s", p.s);
    cr_expect_eq(sample(p.s, "troupe_cluster_fenced_writes_total"), 0, "%s", p.s);
    cr_expect(strstr(p.s, "# TYPE troupe_cluster_actors_owned gauge"), "%s", p.s);
    expect_valid(p.s);
    free(p.s);

    tnode *b = node_new("vmet", "b");
    cluster_test_freeze(a->c);
    troupe_cluster_where wb = {0};
    for (int i = 0; i < WAIT_STEPS; i++) {
        if (troupe_cluster_where_is(b->c, "ledger", "acc", &wb) == 0 && wb.live &&
            !strcmp(wb.node, "b"))
            break;
        usleep(100 * 1000);
    }
    cr_assert_str_eq(wb.node, "b", "b took the actor over");
    cr_expect_neq(ask_add(a, w.local, 2), 0, "the stale owner's event is not acknowledged");
    p = metrics_of(b);
    cr_expect_eq(sample(p.s, "troupe_cluster_failovers_total"), 1, "%s", p.s);
    cr_expect_eq(sample(p.s, "troupe_cluster_claims_total"), 1, "%s", p.s);
    cr_expect_eq(sample(p.s, "troupe_cluster_actors_owned"), 1, "%s", p.s);
    expect_valid(p.s);
    free(p.s);
    p = metrics_of(a);
    cr_expect_geq(sample(p.s, "troupe_cluster_fenced_writes_total"), 1, "%s", p.s);
    expect_valid(p.s);
    free(p.s);
    /* a node that left writes no ownership families */
    cr_assert_eq(troupe_cluster_leave(b->c), 0);
    p = metrics_of(b);
    cr_expect(!strstr(p.s, "troupe_cluster_claims_total"), "%s", p.s);
    expect_valid(p.s);
    free(p.s);
    node_free(b);
    node_free(a);
}
