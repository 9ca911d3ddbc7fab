/* tests/cluster/test_nodes.c — the observability of a cluster on real
 * servers (tests/cluster/run_nats.sh: PostgreSQL and NATS): the nodes view
 * (troupe_cluster_nodes and GET /api/cluster/nodes), the lease renewal
 * counters, and /metrics with a cluster checked by promtool. The nodes are
 * systems of this one process. Each test uses a cluster name of its own.
 * Every wait is a bounded poll; nothing asserts a duration. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../http/client.h"
#include "../http/promtool.h"
#include "cluster/member.h"
#include "cluster/remote_int.h"
#include "troupe/troupe.h"

/* The renewal counters took reserved words: the size (ABI) is unchanged. */
_Static_assert(sizeof(troupe_cluster_stats) == 26 * sizeof(uint64_t), "troupe_cluster_stats grew");

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

static void node_make(node *n, const char *cluster, const char *name, uint32_t lease,
                      uint32_t renew)
{
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 1;
    cr_assert_eq(troupe_system_create(&n->sys, &cfg), 0);
    troupe_cluster_config cc;
    troupe_cluster_config_defaults(&cc);
    cc.cluster = cluster;
    cc.node = name;
    cc.nats_urls = env("TROUPE_NATS_URL_1");
    cc.pg_conninfo = env("TROUPE_PG_CONNINFO");
    cc.lease_ms = lease;
    cc.renew_ms = renew;
    cr_assert_eq(troupe_cluster_create(n->sys, &cc, &n->c), 0);
}

static void node_up(node *n, const char *cluster, const char *name)
{
    node_make(n, cluster, name, 3000, 100);
    int rc = troupe_cluster_join(n->c);
    cr_assert_eq(rc, 0, "join %s: %d", name, rc);
}

static void node_down(node *n)
{
    troupe_cluster_destroy(n->c);
    troupe_system_destroy(n->sys);
}

/* The nodes as c sees them; *k the index of `name` (or -1). */
static size_t nodes_of(node *n, troupe_cluster_node *out, size_t cap, const char *name, int *k)
{
    size_t cnt = 0;
    int rc = troupe_cluster_nodes(n->c, out, cap, &cnt);
    cr_assert_eq(rc, 0, "troupe_cluster_nodes: %d", rc);
    *k = -1;
    for (size_t i = 0; i < cnt && i < cap; i++)
        if (!strcmp(out[i].name, name))
            *k = (int)i;
    return cnt;
}

Test(nodes, two_nodes_then_a_leave_and_a_rejoin)
{
    node a, b;
    node_up(&a, "nview", "a");
    node_up(&b, "nview", "b");
    troupe_cluster_node ns[8];
    int ka, kb;
    cr_assert_eq(nodes_of(&a, ns, 8, "b", &kb), 2);
    nodes_of(&a, ns, 8, "a", &ka);
    cr_assert(ka >= 0 && kb >= 0);
    cr_expect_eq(ns[ka].state, TROUPE_NODE_UP);
    cr_expect_eq(ns[kb].state, TROUPE_NODE_UP);
    cr_expect_eq(ns[ka].number, (uint32_t)troupe_cluster_node_number(a.c));
    cr_expect_eq(ns[kb].number, (uint32_t)troupe_cluster_node_number(b.c));
    cr_expect_gt(ns[kb].lease_remaining_ms, 0);
    cr_expect_leq(ns[kb].lease_remaining_ms, 3000);
    cr_expect_geq(ns[kb].lease_age_ms, 0);
    uint64_t first = ns[kb].incarnation;
    cr_expect_geq(first, 1);

    cr_assert_eq(troupe_cluster_leave(b.c), 0);
    nodes_of(&a, ns, 8, "b", &kb);
    cr_assert_geq(kb, 0);
    cr_expect_eq(ns[kb].state, TROUPE_NODE_LEFT, "a node that left shows left");

    cr_assert_eq(troupe_cluster_join(b.c), 0);
    nodes_of(&a, ns, 8, "b", &kb);
    cr_assert_geq(kb, 0);
    cr_expect_eq(ns[kb].state, TROUPE_NODE_UP);
    cr_expect_gt(ns[kb].incarnation, first, "a rejoin takes a new incarnation");
    node_down(&b);
    node_down(&a);
}

Test(nodes, bad_input_and_room)
{
    node a, b;
    node_up(&a, "nroom", "a");
    node_up(&b, "nroom", "b");
    troupe_cluster_node ns[2];
    size_t n = 99;
    cr_expect_eq(troupe_cluster_nodes(NULL, ns, 2, &n), TROUPE_EINVAL);
    cr_expect_eq(n, 0);
    cr_expect_eq(troupe_cluster_nodes(a.c, NULL, 2, &n), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_nodes(a.c, ns, 2, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_nodes(a.c, NULL, 0, &n), 0, "a count only");
    cr_expect_eq(n, 2);
    memset(ns, 0x5a, sizeof ns);
    cr_expect_eq(troupe_cluster_nodes(a.c, ns, 1, &n), 0, "less room than nodes");
    cr_expect_eq(n, 2);
    cr_expect_str_eq(ns[0].name, "a"); /* by name */
    cr_expect_eq(ns[1].name[0], 0x5a, "nothing written past cap");
    node c;
    node_make(&c, "nroom", "c", 3000, 500); /* created, not joined */
    cr_expect_eq(troupe_cluster_nodes(c.c, ns, 2, &n), TROUPE_ESTATE);
    node_down(&c);
    node_down(&b);
    node_down(&a);
}

/* A node that stops renewing shows expired to the others, and its late
 * renewal is counted as refused. */
Test(nodes, a_stalled_node_shows_expired_and_its_renewal_is_refused)
{
    node a, b;
    node_up(&a, "nstall", "a");
    node_make(&b, "nstall", "b", 600, 100);
    cr_assert_eq(troupe_cluster_join(b.c), 0);
    member_stop_renewing(cluster_remote(b.c)->mem);
    troupe_cluster_node ns[8];
    int kb = -1;
    bool expired = false;
    for (int i = 0; i < 300 && !expired; i++) { /* bounded: 30 s at most */
        usleep(100 * 1000);
        nodes_of(&a, ns, 8, "b", &kb);
        expired = kb >= 0 && ns[kb].state == TROUPE_NODE_EXPIRED;
    }
    cr_assert(expired, "b never showed expired");
    cr_expect_lt(ns[kb].lease_remaining_ms, 0, "an expired lease ended some time ago");
    troupe_cluster_stats s0, s1;
    cr_assert_eq(troupe_cluster_stats_get(b.c, &s0), 0);
    cr_expect_eq(member_renew(cluster_remote(b.c)->mem), TROUPE_EFENCED);
    cr_assert_eq(troupe_cluster_stats_get(b.c, &s1), 0);
    cr_expect_eq(s1.renewals_refused, s0.renewals_refused + 1);
    cr_expect_eq(s1.renewals_ok, s0.renewals_ok);
    node_down(&b);
    node_down(&a);
}

Test(nodes, renewals_are_counted_while_joined)
{
    node a;
    node_up(&a, "nrenew", "a");
    troupe_cluster_stats s;
    cr_assert_eq(troupe_cluster_stats_get(a.c, &s), 0);
    uint64_t first = s.renewals_ok;
    for (int i = 0; i < 200 && s.renewals_ok < first + 3; i++) { /* bounded: 20 s */
        usleep(100 * 1000);
        cr_assert_eq(troupe_cluster_stats_get(a.c, &s), 0);
    }
    cr_expect_geq(s.renewals_ok, first + 3, "renewals did not increase");
    cr_expect_eq(s.renewals_refused, 0);
    cr_expect_eq(s.renewals_failed, 0);
    cr_expect_gt(s.renew_ns_sum, 0);
    cr_expect_gt(s.renew_ns_max, 0);
    cr_expect_leq(s.renew_ns_max, s.renew_ns_sum);
    uint64_t all = s.renewals_ok + s.renewals_refused + s.renewals_failed;
    cr_log_info("renewals %llu, mean %.1f us, max %.1f us (a figure, not asserted)",
                (unsigned long long)all, all ? (double)s.renew_ns_sum / (double)all / 1e3 : 0.0,
                (double)s.renew_ns_max / 1e3);
    node_down(&a);
}

static int idle_handle(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    (void)ctx, (void)st, (void)m;
    return 0;
}
static const troupe_behaviour idle_beh = {.name = "idle", .handle = idle_handle};

/* The value of the sample `name ` on the page, or -1. */
static double sample(const char *page, const char *name)
{
    char pat[160];
    snprintf(pat, sizeof pat, "\n%s ", name);
    const char *p = strstr(page, pat);
    return p ? strtod(p + strlen(pat), NULL) : -1;
}

static bool counted(const char *page)
{
    return sample(page, "troupe_cluster_frame_envelopes_count") >= 1 &&
           sample(page, "troupe_cluster_lease_renewals_total{outcome=\"ok\"}") >= 1;
}

static int start_http(troupe_system *sys, troupe_http **srv)
{
    int rc = troupe_http_start(sys, NULL, srv);
    if (rc == TROUPE_ENOTSUP)
        return 0;
    cr_assert_eq(rc, 0);
    return troupe_http_port(*srv);
}

Test(nodes, http_lists_the_nodes_and_metrics_stay_valid)
{
    node a, b;
    node_up(&a, "nhttp", "a");
    node_up(&b, "nhttp", "b");
    troupe_http *srv = NULL;
    int port = start_http(a.sys, &srv);
    if (!port) {
        cr_log_info("built without http: nothing to check");
        node_down(&b);
        node_down(&a);
        return;
    }
    hc_resp r = hc_get(port, "/api/cluster/nodes");
    cr_assert_eq(r.status, 200, "%s", r.raw);
    cr_expect(json_valid(r.body), "%s", r.body);
    cr_expect(strstr(r.body, "\"cluster\":\"nhttp\",\"self\":\"a\",\"total\":2"), "%s", r.body);
    cr_expect(strstr(r.body, "{\"name\":\"a\",\"self\":true,"), "%s", r.body);
    cr_expect(strstr(r.body, "{\"name\":\"b\",\"self\":false,"), "%s", r.body);
    cr_expect(strstr(r.body, "\"state\":\"up\""), "%s", r.body);
    /* no cluster actor yet: a count of 0, not unknown */
    cr_expect(strstr(r.body, "\"actors_owned\":0}"), "%s", r.body);
    hc_free(&r);

    /* a lookup from a to b: an ask published, so a frame to count */
    troupe_ref idle, found;
    cr_assert_eq(troupe_spawn(b.sys, &idle_beh, NULL, NULL, &idle), 0);
    cr_assert_eq(troupe_register(b.sys, "idle", idle), 0);
    cr_assert_eq(troupe_cluster_lookup(a.c, "b", "idle", 30ull * 1000000000ull, &found), 0);

    /* until a renewal and the lookup's frame are counted (bounded: 20 s):
     * the flusher counts a frame just after publishing it */
    r = hc_get(port, "/metrics");
    for (int i = 0; i < 200 && !counted(r.body); i++) {
        hc_free(&r);
        usleep(100 * 1000);
        r = hc_get(port, "/metrics");
    }
    cr_assert_eq(r.status, 200);
    cr_expect(counted(r.body), "%s", r.body);
    cr_expect(strstr(r.body, "troupe_cluster_lease_renewals_total{outcome=\"ok\"} "), "%s",
              r.body);
    cr_expect(strstr(r.body, "troupe_cluster_lease_renew_duration_seconds_bucket{le=\"+Inf\"} "),
              "%s", r.body);
    cr_expect(strstr(r.body, "troupe_cluster_frames_out_total "), "%s", r.body);
    cr_expect_geq(sample(r.body, "troupe_cluster_frame_envelopes_count"), 1, "%s", r.body);
    cr_expect_geq(sample(r.body, "troupe_cluster_frame_envelopes_sum"), 1, "%s", r.body);
    int ok = tt_promtool_ok(r.body, strlen(r.body));
    cr_expect(ok != 0, "promtool check metrics refuses the page:\n%s", r.body);
    if (ok < 0)
        cr_log_info("promtool not installed: not checked");
    hc_free(&r);

    /* a system whose node left: no cluster, a JSON 404 */
    cr_assert_eq(troupe_cluster_leave(a.c), 0);
    r = hc_get(port, "/api/cluster/nodes");
    cr_expect_eq(r.status, 404, "%s", r.raw);
    cr_expect(json_valid(r.body) && strstr(r.body, "\"status\":404"), "%s", r.body);
    hc_free(&r);
    troupe_http_stop(srv);
    node_down(&b);
    node_down(&a);
}

Test(nodes, http_without_a_cluster_is_404)
{
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 1;
    troupe_system *sys;
    cr_assert_eq(troupe_system_create(&sys, &cfg), 0);
    troupe_http *srv = NULL;
    int port = start_http(sys, &srv);
    if (port) {
        hc_resp r = hc_get(port, "/api/cluster/nodes");
        cr_expect_eq(r.status, 404, "%s", r.raw);
        cr_expect(json_valid(r.body) && strstr(r.body, "\"error\":"), "%s", r.body);
        hc_free(&r);
        troupe_http_stop(srv);
    }
    troupe_system_destroy(sys);
}
