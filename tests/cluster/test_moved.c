/* tests/cluster/test_moved.c — stable refs to cluster actors
 * (troupe_cluster_ref, cluster/cref.c) on real servers (run_nats.sh):
 * a ref that keeps reaching the actor from every node, through migration
 * under load (A -> B -> A while plain threads of three nodes ask) and
 * through failover (the owner frozen, as test_owner.c does: its lease no
 * longer renewed, its ownership thread stopped, its actors running).
 * Several systems of this process are the nodes; each test has a cluster
 * name of its own. Waits are bounded polls, never timed assertions. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../http/client.h"
#include "../persistence/pers_support.h"
#include "cluster/cref.h"
#include "cluster/own.h"
#include "cluster/remote_int.h"
#include "troupe/troupe.h"

#define WAIT_STEPS 300 /* x 100 ms: 30 s at most */
#define ASK_NS 20000000000ll

typedef struct tnode {
    troupe_journal *j;
    troupe_system *sys;
    troupe_cluster *c;
} tnode;

static const char *conninfo(void)
{
    const char *c = getenv("TROUPE_PG_CONNINFO");
    cr_assert(c, "run through tests/cluster/run_nats.sh");
    return c;
}

static tnode *node_new(const char *cluster, const char *name, const char *url, uint32_t lease,
                       uint32_t renew)
{
    tnode *n = calloc(1, sizeof *n);
    cr_assert_eq(troupe_journal_open_postgres(conninfo(), &n->j), 0);
    troupe_config cfg = tt_config(2, NULL);
    cfg.journal = n->j;
    n->sys = tt_system_cfg(&cfg);
    troupe_cluster_config cc;
    troupe_cluster_config_defaults(&cc);
    cc.cluster = cluster;
    cc.node = name;
    cc.nats_urls = getenv(url);
    cr_assert(cc.nats_urls, "run through tests/cluster/run_nats.sh");
    cc.pg_conninfo = conninfo();
    cc.lease_ms = lease;
    cc.renew_ms = renew;
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

/* An acknowledged add: persisted, then echoed (P_ADD_R). */
static int add(tnode *n, troupe_ref r, uint64_t v)
{
    uint64_t echo = 0;
    uint32_t rt = 0;
    size_t got = 0;
    int rc = troupe_ask(n->sys, r, P_ADD_R, &v, sizeof v, ASK_NS, &rt, &echo, sizeof echo, &got);
    if (rc == 0 && (rt != P_ECHO || got != sizeof echo || echo != v))
        return TROUPE_EIO; /* a reply for another message: never acceptable */
    return rc;
}

static ledger get(tnode *n, troupe_ref r)
{
    ledger l = {0};
    size_t got = 0;
    int rc = troupe_ask(n->sys, r, P_GET, NULL, 0, ASK_NS, NULL, &l, sizeof l, &got);
    cr_assert_eq(rc, 0, "P_GET: %s", troupe_errname(rc));
    return l;
}

/* Until y answers x: a frame from a node that joined since y last read
 * its map is dropped (docs/CLUSTER.md, at most once), so a test's first
 * ask would be lost; a lookup of a name nobody has is answered
 * TROUPE_ENOTFOUND once y knows x. */
static void meet(tnode *x, const char *y)
{
    int rc = -1;
    for (int i = 0; i < WAIT_STEPS && rc != TROUPE_ENOTFOUND; i++) {
        troupe_ref r;
        rc = troupe_cluster_lookup(x->c, y, "nobody", 500000000ll, &r);
        if (rc != TROUPE_ENOTFOUND)
            usleep(50 * 1000);
    }
    cr_assert_eq(rc, TROUPE_ENOTFOUND, "%s never answered: %s", y, troupe_errname(rc));
}

static troupe_cluster_where wait_owner(tnode *asker, const char *id, const char *on)
{
    troupe_cluster_where w = {0};
    for (int i = 0; i < WAIT_STEPS; i++) {
        if (troupe_cluster_where_is(asker->c, "ledger", id, &w) == 0 && w.live &&
            !strcmp(w.node, on))
            return w;
        usleep(100 * 1000);
    }
    cr_assert_fail("%s never came to %s (at %s, state %d)", id, on, w.node, w.state);
    return w;
}

/* The stable ref reaches the actor from its owner and from another node,
 * from a plain thread (ask, call) and from a handler (tell); the same
 * (kind, id) gives the same ref. */
static _Atomic int relayed;
static int relay_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    (void)state;
    troupe_ref to;
    memcpy(&to, m->data, sizeof to);
    uint64_t v = 1000;
    if (troupe_tell(troupe_ctx_system(ctx), to, P_ADD, &v, sizeof v) == 0)
        atomic_fetch_add(&relayed, 1);
    return 0;
}
static const troupe_behaviour relay_beh = {.name = "relay", .handle = relay_handle};

Test(moved, a_stable_ref_reaches_the_actor_from_every_node)
{
    tnode *a = node_new("sref", "a", "TROUPE_NATS_URL_1", 3000, 100);
    troupe_cluster_where w;
    cr_assert_eq(troupe_cluster_actor(a->c, "ledger", "acc", &w), 0);
    cr_assert(!troupe_ref_is_none(w.local), "a alone: placed on a");
    tnode *b = node_new("sref", "b", "TROUPE_NATS_URL_2", 3000, 100);
    meet(b, "a");
    meet(a, "b");
    troupe_ref ra, ra2, rb;
    cr_assert_eq(troupe_cluster_ref(a->c, "ledger", "acc", &ra), 0);
    cr_assert_eq(troupe_cluster_ref(a->c, "ledger", "acc", &ra2), 0);
    cr_expect(troupe_ref_eq(ra, ra2), "one ref per (kind, id)");
    cr_expect(!troupe_ref_eq(ra, w.local), "not the owner's local ref");
    cr_assert_eq(troupe_cluster_ref(b->c, "ledger", "acc", &rb), 0);
    cr_expect_eq(add(a, ra, 1), 0, "from the owner");
    cr_expect_eq(add(b, rb, 2), 0, "from another node");
    uint64_t v = 3, echo = 0;
    size_t got = 0;
    cr_expect_eq(troupe_call(b->sys, rb, P_ADD_R, &v, sizeof v, ASK_NS, NULL, &echo, sizeof echo,
                             &got), 0);
    cr_expect_eq(echo, 3);
    troupe_ref relay;
    cr_assert_eq(troupe_spawn(b->sys, &relay_beh, NULL, NULL, &relay), 0);
    cr_assert_eq(troupe_tell(b->sys, relay, 1, &rb, sizeof rb), 0);
    ledger l = {0};
    for (int i = 0; i < WAIT_STEPS && l.n < 4; i++) { /* the relayed tell, then the ask */
        l = get(b, rb);
        if (l.n < 4)
            usleep(10 * 1000);
    }
    cr_expect_eq(atomic_load(&relayed), 1);
    cr_expect_eq(l.n, 4);
    cr_expect_eq(l.sum, 1006);
    node_free(b);
    node_free(a);
}

/* Migration under load: plain threads of three nodes ask through their
 * stable refs without pause while the actor moves a -> b -> a. Every ask
 * is acknowledged (held or sent back and routed again, never lost), and
 * the final state is the fold of the acknowledged ops: as many as were
 * acknowledged, and their sum (the values are distinct 64-bit numbers, so
 * a duplicate or a loss would change it; the order-sensitive hash is not
 * compared: the senders interleave). */
#define SENDERS 3
#define MAX_OPS 100000

typedef struct sender {
    tnode *n;
    troupe_ref ref;
    _Atomic int *stop;
    _Atomic uint64_t acked; /* the main thread watches it */
    uint64_t sum;
    int failures, first_rc;
} sender;

static uint64_t value_of(int s, uint64_t i)
{
    uint64_t x = ((uint64_t)s << 40) + i + 1;
    x ^= x >> 31;
    x *= 0x9E3779B97F4A7C15ull; /* odd: a bijection, so distinct inputs stay distinct */
    return x;
}

typedef struct sender_arg {
    sender *s;
    int idx;
} sender_arg;

static void *send_loop_idx(void *arg)
{
    sender_arg *sa = arg;
    sender *s = sa->s;
    for (uint64_t i = 0; i < MAX_OPS && !atomic_load(s->stop); i++) {
        uint64_t v = value_of(sa->idx, i);
        int rc = add(s->n, s->ref, v);
        if (rc == 0) {
            atomic_fetch_add(&s->acked, 1);
            s->sum += v;
        } else if (s->failures++ == 0) {
            s->first_rc = rc;
        }
    }
    return NULL;
}

static uint64_t acked_total(sender *s)
{
    uint64_t t = 0;
    for (int i = 0; i < SENDERS; i++)
        t += atomic_load(&s[i].acked);
    return t;
}

/* Wait until the senders acknowledged `more` ops past `from`. */
static void wait_acks(sender *s, uint64_t from, uint64_t more)
{
    for (int i = 0; i < WAIT_STEPS * 10 && acked_total(s) < from + more; i++)
        usleep(10 * 1000);
    cr_assert_geq(acked_total(s), from + more, "the senders stalled at %llu",
                  (unsigned long long)acked_total(s));
}

Test(moved, migration_under_load_loses_no_accepted_message)
{
    tnode *a = node_new("mload", "a", "TROUPE_NATS_URL_1", 3000, 100);
    troupe_cluster_where w;
    cr_assert_eq(troupe_cluster_actor(a->c, "ledger", "m", &w), 0);
    cr_assert(!troupe_ref_is_none(w.local));
    tnode *b = node_new("mload", "b", "TROUPE_NATS_URL_2", 3000, 100);
    tnode *c = node_new("mload", "c", "TROUPE_NATS_URL_3", 3000, 100);
    tnode *nodes[SENDERS] = {a, b, c};
    const char *names[SENDERS] = {"a", "b", "c"};
    for (int x = 0; x < SENDERS; x++)
        for (int y = 0; y < SENDERS; y++)
            if (x != y)
                meet(nodes[x], names[y]);
    _Atomic int stop = 0;
    sender s[SENDERS];
    sender_arg sa[SENDERS];
    pthread_t th[SENDERS];
    for (int i = 0; i < SENDERS; i++) {
        s[i] = (sender){.n = nodes[i], .stop = &stop};
        cr_assert_eq(troupe_cluster_ref(nodes[i]->c, "ledger", "m", &s[i].ref), 0);
        sa[i] = (sender_arg){&s[i], i};
        pthread_create(&th[i], NULL, send_loop_idx, &sa[i]);
    }
    wait_acks(s, 0, 200);
    cr_assert_eq(troupe_cluster_migrate(a->c, "ledger", "m", "b"), 0);
    troupe_cluster_where wb = wait_owner(a, "m", "b");
    cr_expect_gt(wb.epoch, w.epoch);
    wait_acks(s, acked_total(s), 200); /* the senders go on, at b now */
    cr_assert_eq(troupe_cluster_migrate(b->c, "ledger", "m", "a"), 0);
    troupe_cluster_where wa = wait_owner(b, "m", "a");
    cr_expect_gt(wa.epoch, wb.epoch);
    wait_acks(s, acked_total(s), 200);
    atomic_store(&stop, 1);
    uint64_t acked = 0, sum = 0;
    for (int i = 0; i < SENDERS; i++) {
        pthread_join(th[i], NULL);
        cr_expect_eq(s[i].failures, 0, "sender %d: %d asks failed, the first with %s", i,
                     s[i].failures, troupe_errname(s[i].first_rc));
        acked += atomic_load(&s[i].acked);
        sum += s[i].sum;
    }
    ledger l = get(b, s[1].ref);
    cr_expect_eq(l.n, acked, "applied %llu, acknowledged %llu", (unsigned long long)l.n,
                 (unsigned long long)acked);
    cr_expect_eq(l.sum, sum, "the sum of the acknowledged values");
    troupe_cluster_ref_stats st[SENDERS];
    uint64_t held = 0;
    for (int i = 0; i < SENDERS; i++) {
        cr_assert_eq(troupe_cluster_ref_stats_get(nodes[i]->c, &st[i]), 0);
        held += st[i].held;
        cr_expect_eq(st[i].expired, 0);
    }
    cr_expect_gt(held, 0, "some asks waited for the new owner");
    node_free(c);
    node_free(b);
    node_free(a);
}

/* Failover through the stable ref: a owns the ledger and is frozen; b's
 * plain thread keeps asking through the same ref and its asks resume on b
 * once b has taken over — no re-resolving by hand. The values are powers
 * of two, so the sum says which ops were applied: each acknowledged one is
 * in it, and as many applications as bits set (none twice). */
Test(moved, failover_asks_through_the_ref_resume_on_the_new_owner)
{
    tnode *a = node_new("mfail", "a", "TROUPE_NATS_URL_1", 600, 100);
    troupe_cluster_where w;
    cr_assert_eq(troupe_cluster_actor(a->c, "ledger", "f", &w), 0);
    cr_assert(!troupe_ref_is_none(w.local));
    tnode *b = node_new("mfail", "b", "TROUPE_NATS_URL_2", 600, 100);
    meet(b, "a");
    meet(a, "b");
    troupe_ref rb;
    cr_assert_eq(troupe_cluster_ref(b->c, "ledger", "f", &rb), 0);
    uint64_t acked = 0;
    int i = 0;
    for (; i < 10; i++) {
        cr_assert_eq(add(b, rb, 1ull << i), 0);
        acked |= 1ull << i;
    }
    cluster_test_freeze(a->c);
    /* one ask every 50 ms, each with a bit of its own, until b answers */
    bool on_b = false;
    for (int after = 0; i < 64 && after < 5; i++) {
        int rc = add(b, rb, 1ull << i);
        cr_assert(rc == 0 || rc == TROUPE_ENODEDOWN || rc == TROUPE_EFAILED ||
                      rc == TROUPE_ENOACTOR || rc == TROUPE_EFENCED,
                  "ask through the ref: %s", troupe_errname(rc));
        troupe_cluster_where now;
        if (rc == 0) {
            acked |= 1ull << i;
            on_b = on_b || (troupe_cluster_where_is(b->c, "ledger", "f", &now) == 0 &&
                            !strcmp(now.node, "b") && now.live);
        }
        after += on_b && rc == 0;
        usleep(50 * 1000);
    }
    cr_assert(on_b, "the asks never reached b");
    troupe_cluster_where wb = wait_owner(b, "f", "b");
    cr_expect_gt(wb.epoch, w.epoch);
    ledger l = get(b, rb);
    cr_expect_eq(l.sum & acked, acked, "every acknowledged op applied");
    cr_expect_eq(l.n, (uint64_t)__builtin_popcountll(l.sum), "none applied twice");
    troupe_cluster_owner_stats st;
    troupe_cluster_owner_stats_get(b->c, &st);
    cr_expect_eq(st.failovers, 1);
    node_free(a);
    node_free(b);
}

/* No live owner for good (the actor parked: its init always fails): what
 * is sent through its stable ref is held, within the bound — 4096
 * messages per node, then TROUPE_EFULL — and fails after 2 leases + 4
 * renewals: the ask with TROUPE_ENODEDOWN, the tells counted expired. */
static int bad_init(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx, (void)state, (void)arg;
    return TROUPE_EFAILED;
}
static const troupe_behaviour bad_beh = {.name = "bad", .state_size = sizeof(ledger),
                                         .init = bad_init, .handle = ledger_handle,
                                         .persist = &ledger_persist};

Test(moved, held_messages_are_bounded_and_fail_with_a_clear_code)
{
    tnode *a = node_new("mheld", "a", "TROUPE_NATS_URL_1", 600, 100);
    troupe_cluster_kind k = {.name = "bad", .beh = &bad_beh, .max_start_failures = 1};
    cr_assert_eq(troupe_cluster_kind_register(a->c, &k), 0);
    (void)troupe_cluster_actor(a->c, "bad", "p", NULL);
    troupe_cluster_where w = {0};
    for (int i = 0; i < WAIT_STEPS && w.state != TROUPE_OWNER_PARKED; i++)
        if (troupe_cluster_where_is(a->c, "bad", "p", &w) != 0 || w.state != TROUPE_OWNER_PARKED)
            usleep(100 * 1000);
    cr_assert_eq(w.state, TROUPE_OWNER_PARKED);
    troupe_ref r;
    cr_assert_eq(troupe_cluster_ref(a->c, "bad", "p", &r), 0);
    uint64_t v = 1;
    int rc = 0, sent = 0;
    for (; sent < CREF_HELD_MAX + 10 && (rc = troupe_tell(a->sys, r, P_ADD, &v, sizeof v)) == 0;
         sent++)
        ;
    cr_expect_eq(rc, TROUPE_EFULL, "past the bound: %s", troupe_errname(rc));
    cr_expect_eq(sent, CREF_HELD_MAX);
    ledger l;
    size_t got;
    rc = troupe_ask(a->sys, r, P_GET, NULL, 0, ASK_NS, NULL, &l, sizeof l, &got);
    cr_expect_eq(rc, TROUPE_EFULL, "the ask too, while the tells are held");
    troupe_cluster_ref_stats st = {0};
    for (int i = 0; i < WAIT_STEPS && st.expired < (uint64_t)sent; i++) {
        troupe_cluster_ref_stats_get(a->c, &st);
        if (st.expired < (uint64_t)sent)
            usleep(100 * 1000);
    }
    cr_expect_eq(st.expired, (uint64_t)sent, "the tells expired, counted");
    rc = troupe_ask(a->sys, r, P_GET, NULL, 0, ASK_NS, NULL, &l, sizeof l, &got);
    cr_expect_eq(rc, TROUPE_ENODEDOWN, "no owner within the bound: %s", troupe_errname(rc));
    troupe_cluster_ref_stats_get(a->c, &st);
    cr_expect_eq(st.held, (uint64_t)sent + 1);
    cr_expect_eq(st.expired, (uint64_t)sent + 1);
    node_free(a);
}

/* A reply (or a MOVED) carries its ask's id, but only the asker waits for
 * it: the replier's transport must not remember it as an ask of its own.
 * Before the fix, each remote ask answered on the reader left its id in
 * the replier's set of outstanding asks, for good. */
static int echo_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    (void)state;
    return troupe_reply(ctx, m->type, m->data, m->size);
}
static const troupe_behaviour echo_beh = {.name = "echo", .handle = echo_handle};

Test(moved, replies_leave_no_outstanding_ask_behind)
{
    tnode *a = node_new("mpend", "a", "TROUPE_NATS_URL_1", 3000, 100);
    tnode *b = node_new("mpend", "b", "TROUPE_NATS_URL_2", 3000, 100);
    meet(a, "b");
    troupe_ref e, re;
    cr_assert_eq(troupe_spawn(b->sys, &echo_beh, NULL, NULL, &e), 0);
    cr_assert_eq(troupe_register(b->sys, "echo", e), 0);
    cr_assert_eq(troupe_cluster_lookup(a->c, "b", "echo", ASK_NS, &re), 0);
    for (int i = 0; i < 200; i++) {
        uint64_t v = (uint64_t)i, back = 0;
        cr_assert_eq(troupe_ask(a->sys, re, 1, &v, sizeof v, ASK_NS, NULL, &back, sizeof back,
                                NULL), 0);
        cr_assert_eq(back, v);
    }
    remote *ra = cluster_remote(a->c), *rb = cluster_remote(b->c);
    uint32_t sa = (uint32_t)troupe_cluster_node_number(a->c);
    uint32_t sb = (uint32_t)troupe_cluster_node_number(b->c);
    cr_expect_eq(transport_outstanding(ra->t, sb), 0, "a's asks all answered");
    cr_expect_eq(transport_outstanding(rb->t, sa), 0, "b's replies remembered as asks");
    node_free(b);
    node_free(a);
}

/* Bad input, and what a stable ref is not. */
Test(moved, bad_input)
{
    tnode *a = node_new("mbad", "a", "TROUPE_NATS_URL_1", 3000, 100);
    troupe_ref r = {42};
    cr_expect_eq(troupe_cluster_ref(NULL, "ledger", "x", &r), TROUPE_EINVAL);
    cr_expect(troupe_ref_is_none(r), "out cleared");
    cr_expect_eq(troupe_cluster_ref(a->c, NULL, "x", &r), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_ref(a->c, "ledger", NULL, &r), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_ref(a->c, "led ger", "x", &r), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_ref(a->c, "ledger", "x/y", &r), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_ref(a->c, "ledger", "x", NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_ref(a->c, "ledger", "never", &r), TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_cluster_ref_stats_get(NULL, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_ref_stats_get(a->c, NULL), TROUPE_EINVAL);

    cr_assert_eq(troupe_cluster_actor(a->c, "ledger", "x", NULL), 0);
    cr_assert_eq(troupe_cluster_ref(a->c, "ledger", "x", &r), 0);
    uint64_t wire;
    cr_expect_eq(troupe_cluster_ref_encode(a->c, r, &wire), TROUPE_EINVAL, "node-local");
    troupe_ref forged = {r.id + 1}; /* a handle that does not exist */
    cr_expect_eq(troupe_tell(a->sys, forged, P_ADD, NULL, 0), TROUPE_ENOACTOR);
    forged.id = r.id ^ (1ull << 33); /* another generation: an earlier join's */
    cr_expect_eq(troupe_tell(a->sys, forged, P_ADD, NULL, 0), TROUPE_ENOACTOR);
    cr_expect_eq(troupe_tell_ptr(a->sys, r, P_ADD, &wire, NULL), TROUPE_ENOTSUP);
    /* a monitor names an incarnation: not through a stable ref */
    troupe_ref watcher;
    uint64_t mid = 0;
    cr_assert_eq(troupe_spawn(a->sys, &relay_beh, NULL, NULL, &watcher), 0);
    cr_expect_eq(troupe_monitor(a->sys, watcher, r, &mid), TROUPE_ENOTSUP);
    troupe_cluster_ref_stats st;
    cr_expect_eq(troupe_cluster_ref_stats_get(a->c, &st), 0);
    cr_expect_gt(st.resolves, 0);

    troupe_cluster *idle = NULL;
    troupe_cluster_config cc;
    troupe_cluster_config_defaults(&cc);
    cc.cluster = "mbad";
    cc.node = "z";
    cc.nats_urls = getenv("TROUPE_NATS_URL_1");
    cc.pg_conninfo = conninfo();
    cr_assert_eq(troupe_cluster_create(a->sys, &cc, &idle), 0);
    cr_expect_eq(troupe_cluster_ref(idle, "ledger", "x", &r), TROUPE_ESTATE, "not joined");
    troupe_cluster_destroy(idle);
    node_free(a);
}

/* The CSEND prefix decoder trusts nothing. */
Test(moved, the_prefix_decoder_refuses_malformed_payloads)
{
    char pid[OWN_PID_MAX + 1];
    const uint8_t *body;
    uint32_t len;
    uint8_t ok[] = {3, 'a', '/', 'b', 9, 8};
    frame_env e = {.kind = FRAME_CSEND, .len = sizeof ok, .payload = ok};
    cr_assert_eq(cref_prefix_parse(&e, pid, &body, &len), 0);
    cr_expect_str_eq(pid, "a/b");
    cr_expect_eq(len, 2);
    cr_expect_eq(body[0], 9);
    struct {
        const char *what;
        uint8_t b[8];
        uint32_t len;
    } bad[] = {
        {"empty", {0}, 0},
        {"a zero-length pid", {0, 1}, 2},
        {"a pid longer than the payload", {5, 'a', 'b'}, 3},
        {"a NUL inside the pid", {2, 'a', 0, 1}, 4},
        {"a pid over the limit", {255, 'a'}, 2},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *copy = malloc(bad[i].len ? bad[i].len : 1); /* exactly its length: ASan */
        memcpy(copy, bad[i].b, bad[i].len);
        frame_env f = {.kind = FRAME_CSEND, .len = bad[i].len, .payload = copy};
        cr_expect_eq(cref_prefix_parse(&f, pid, &body, &len), TROUPE_EINVAL, "%s", bad[i].what);
        free(copy);
    }
}

/* The stable-ref counters are on /metrics (they were only in
 * troupe_cluster_ref_stats_get): the same figures, as counters. */
static double metric(const char *page, const char *name)
{
    char pat[160];
    snprintf(pat, sizeof pat, "\n%s ", name);
    const char *p = strstr(page, pat);
    return p ? strtod(p + strlen(pat), NULL) : -1;
}

Test(moved, ref_counters_are_on_metrics)
{
    tnode *a = node_new("mmet", "a", "TROUPE_NATS_URL_1", 3000, 100);
    troupe_ref r;
    cr_assert_eq(troupe_cluster_actor(a->c, "ledger", "m", NULL), 0);
    cr_assert_eq(troupe_cluster_ref(a->c, "ledger", "m", &r), 0);
    troupe_cluster_ref_stats st;
    cr_assert_eq(troupe_cluster_ref_stats_get(a->c, &st), 0);
    cr_assert_gt(st.resolves, 0);
    troupe_http *srv = NULL;
    int rc = troupe_http_start(a->sys, NULL, &srv);
    if (rc == TROUPE_ENOTSUP) {
        cr_log_info("built without http: nothing to check");
        node_free(a);
        return;
    }
    cr_assert_eq(rc, 0);
    hc_resp h = hc_get(troupe_http_port(srv), "/metrics");
    cr_assert_eq(h.status, 200);
    /* nothing resolves meanwhile: no ref is read between the two reads */
    cr_expect_eq(metric(h.body, "troupe_cluster_ref_resolves_total"), (double)st.resolves, "%s",
                 h.body);
    cr_expect_eq(metric(h.body, "troupe_cluster_ref_moved_total{direction=\"in\"}"),
                 (double)st.moved_in);
    cr_expect_eq(metric(h.body, "troupe_cluster_ref_moved_total{direction=\"out\"}"),
                 (double)st.moved_out);
    cr_expect_eq(metric(h.body, "troupe_cluster_ref_held_total"), (double)st.held);
    cr_expect_eq(metric(h.body, "troupe_cluster_ref_expired_total"), (double)st.expired);
    hc_free(&h);
    troupe_http_stop(srv);
    node_free(a);
}
