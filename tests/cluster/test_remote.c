/* tests/cluster/test_remote.c — remote refs and messaging between nodes on
 * real servers: tests/cluster/run_nats.sh starts PostgreSQL and three
 * nats-server processes routed into one mesh (TROUPE_PG_CONNINFO,
 * TROUPE_NATS_URL_1..3). The nodes are systems of this one process, each
 * joined as a node of its own and connected to a different NATS server.
 * Each test uses a cluster name of its own. Every wait is a bounded poll;
 * nothing asserts a duration. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster/remote_int.h"
#include "troupe/troupe.h"

#define SEC 1000000000ull
#define N_ORDER 10000

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

static void node_up(node *n, const char *cluster, const char *name, int server)
{
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 2;
    cr_assert_eq(troupe_system_create(&n->sys, &cfg), 0);
    char key[32];
    snprintf(key, sizeof key, "TROUPE_NATS_URL_%d", server);
    troupe_cluster_config cc;
    troupe_cluster_config_defaults(&cc);
    cc.cluster = cluster;
    cc.node = name;
    cc.nats_urls = env(key);
    cc.pg_conninfo = env("TROUPE_PG_CONNINFO");
    cr_assert_eq(troupe_cluster_create(n->sys, &cc, &n->c), 0);
    int rc = troupe_cluster_join(n->c);
    cr_assert_eq(rc, 0, "join %s: %d", name, rc);
}

static void node_down(node *n)
{
    troupe_cluster_destroy(n->c);
    troupe_system_destroy(n->sys);
}

static void nap(void)
{
    usleep(20000);
}

/* ---- actors ---- */

/* Counts tells; checks that each sender's sequence numbers arrive in order. */
typedef struct order_msg {
    uint32_t sender, seq;
} order_msg;
static _Atomic uint32_t got_total, got_disorder;
static uint32_t next_seq[4];

static int collector(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    (void)ctx;
    (void)st;
    order_msg o;
    if (m->size != sizeof o)
        return 0;
    memcpy(&o, m->data, sizeof o);
    if (o.sender >= 4 || o.seq != next_seq[o.sender])
        atomic_fetch_add(&got_disorder, 1);
    else
        next_seq[o.sender]++;
    atomic_fetch_add(&got_total, 1);
    return 0;
}
static const troupe_behaviour collector_beh = {.name = "collector", .handle = collector};

/* Replies to an ask with its payload reversed, type + 1; a tell carrying an
 * encoded ref (type 50) is answered by a tell to that ref. */
static troupe_cluster *echo_cluster[4];
static int echo(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    (void)st;
    if (m->type == 50 && m->size == 9) {
        uint64_t wire;
        memcpy(&wire, m->data, 8);
        troupe_ref to;
        if (troupe_cluster_ref_decode(echo_cluster[((const uint8_t *)m->data)[8]], wire, &to) == 0)
            troupe_tell(troupe_ctx_system(ctx), to, 51, "pong", 4);
        return 0;
    }
    char buf[256];
    size_t n = m->size < sizeof buf ? m->size : sizeof buf;
    for (size_t i = 0; i < n; i++)
        buf[i] = ((const char *)m->data)[n - 1 - i];
    troupe_reply(ctx, m->type + 1, buf, n);
    return 0;
}
static const troupe_behaviour echo_beh = {.name = "echo", .handle = echo};

/* Takes an ask and never answers it (the reply is deferred for good). */
static _Atomic int held;
static int holder(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    (void)st;
    (void)m;
    troupe_reply_token t;
    troupe_reply_defer(ctx, &t);
    atomic_store(&held, 1);
    return 0;
}
static const troupe_behaviour holder_beh = {.name = "holder", .handle = holder};

/* Asks the ref it is told (type 60, the ref's id) from its handler. */
static _Atomic int async_state; /* 0 waiting, 1 replied right, -1 wrong */
static char async_reply[16];
static int asker(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    (void)st;
    if (m->type == 60) {
        troupe_ref to;
        memcpy(&to.id, m->data, 8);
        uint64_t id;
        if (troupe_ask_async(ctx, to, 7, "abc", 3, 30 * SEC, &id))
            atomic_store(&async_state, -1);
        return 0;
    }
    if (m->type == 8 && m->size == 3) {
        memcpy(async_reply, m->data, 3);
        atomic_store(&async_state, 1);
    } else {
        atomic_store(&async_state, -1);
    }
    return 0;
}
static const troupe_behaviour asker_beh = {.name = "asker", .handle = asker};

static _Atomic int pongs;
static _Atomic uint64_t pong_sender;
static int sink(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    (void)ctx;
    (void)st;
    if (m->type == 51) {
        atomic_store(&pong_sender, m->sender.id);
        atomic_fetch_add(&pongs, 1);
    }
    return 0;
}
static const troupe_behaviour sink_beh = {.name = "sink", .handle = sink};

/* A watcher: keeps the last DOWN it got. */
static _Atomic int downs;
static troupe_down last_down;
static int watcher(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    (void)ctx;
    (void)st;
    if (m->type == TROUPE_MSG_DOWN && m->size == sizeof last_down) {
        memcpy(&last_down, m->data, sizeof last_down);
        atomic_fetch_add(&downs, 1);
    }
    return 0;
}
static const troupe_behaviour watcher_beh = {.name = "watcher", .handle = watcher};

/* Handles its first message only once the gate opens (bounded). */
static _Atomic int gate_open, gate_entered;
static int slow(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    (void)ctx;
    (void)st;
    (void)m;
    atomic_store(&gate_entered, 1);
    for (int i = 0; i < 10000 && !atomic_load(&gate_open); i++)
        usleep(1000);
    return 0;
}
static const troupe_behaviour slow_beh = {.name = "slow", .handle = slow};

/* Defers its reply: the token goes to the test, which answers later. */
static _Atomic uint64_t deferred_token;
static int deferrer(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    (void)st;
    (void)m;
    troupe_reply_token t;
    if (troupe_reply_defer(ctx, &t) == 0)
        atomic_store(&deferred_token, t.id);
    return 0;
}
static const troupe_behaviour deferrer_beh = {.name = "deferrer", .handle = deferrer};

static _Atomic int cb_rc = 1;
static char cb_data[8];
static void on_call(void *ud, int rc, uint32_t type, const void *data, size_t len)
{
    (void)ud;
    if (rc == 0 && (type != 77 || len != 4))
        rc = -1000;
    if (rc == 0)
        memcpy(cb_data, data, 4);
    atomic_store(&cb_rc, rc);
}

/* ---- helpers ---- */

/* The named actor on another node: retried while the NATS mesh learns the
 * new inbox (a bounded loop). */
static troupe_ref lookup(node *from, const char *node_name, const char *name)
{
    troupe_ref r = TROUPE_REF_NONE;
    int rc = -1;
    for (int i = 0; i < 100 && rc != 0; i++)
        if ((rc = troupe_cluster_lookup(from->c, node_name, name, SEC / 5, &r)) != 0)
            nap();
    cr_assert_eq(rc, 0, "lookup %s on %s: %d", name, node_name, rc);
    return r;
}

static troupe_ref spawn_named(node *n, const troupe_behaviour *b, const char *name)
{
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.capacity = 1u << 16; /* a remote sender cannot wait for room (BLOCK) */
    troupe_ref r;
    cr_assert_eq(troupe_spawn(n->sys, b, NULL, &o, &r), 0);
    if (name)
        cr_assert_eq(troupe_register(n->sys, name, r), 0);
    return r;
}

/* ---- tests ---- */

typedef struct text {
    char buf[1 << 16];
    size_t n;
} text;

static int collect(void *ud, const char *data, size_t len)
{
    text *t = ud;
    if (t->n + len >= sizeof t->buf)
        return -1;
    memcpy(t->buf + t->n, data, len);
    t->n += len;
    t->buf[t->n] = 0;
    return 0;
}

typedef struct sender_arg {
    troupe_system *sys;
    troupe_ref to;
    uint32_t id;
    int failed;
} sender_arg;

/* N_ORDER tells in sequence; a full outbound queue (TROUPE_EFULL) is
 * retried, the same message again, so the order holds. */
static void *send_seq(void *p)
{
    sender_arg *a = p;
    for (uint32_t i = 0; i < N_ORDER; i++) {
        order_msg o = {a->id, i};
        int rc, tries = 0;
        while ((rc = troupe_tell(a->sys, a->to, 1, &o, sizeof o)) == TROUPE_EFULL && tries++ < 10000)
            usleep(100);
        if (rc)
            a->failed = rc;
    }
    return NULL;
}

Test(remote, tell_order_per_sender, .timeout = 120)
{
    node a, b;
    node_up(&a, "order", "a", 1);
    node_up(&b, "order", "b", 2);
    spawn_named(&b, &collector_beh, "collector");
    troupe_ref to = lookup(&a, "b", "collector");
    cr_expect_neq(to.id & REF_TAG_MASK, a.sys->ref_tag, "a remote ref has another tag");
    sender_arg s[2] = {{a.sys, to, 0, 0}, {a.sys, to, 1, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, send_seq, &s[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    cr_expect_eq(s[0].failed, 0);
    cr_expect_eq(s[1].failed, 0);
    for (int i = 0; i < 1500 && atomic_load(&got_total) < 2 * N_ORDER; i++)
        nap();
    cr_expect_eq(atomic_load(&got_total), 2 * N_ORDER);
    cr_expect_eq(atomic_load(&got_disorder), 0);
    troupe_cluster_stats st;
    cr_assert_eq(troupe_cluster_stats_get(a.c, &st), 0);
    cr_expect_geq(st.envs_out, 2 * N_ORDER);
    cr_expect_lt(st.frames_out, st.envs_out, "batched: fewer frames than envelopes");
    node_down(&a);
    node_down(&b);
}

Test(remote, ask_round_trip_from_a_thread, .timeout = 60)
{
    node a, b;
    node_up(&a, "askt", "a", 1);
    node_up(&b, "askt", "b", 2);
    spawn_named(&b, &echo_beh, "echo");
    troupe_ref to = lookup(&a, "b", "echo");
    char big[200], back[256];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    for (int k = 0; k < 100; k++) {
        uint32_t type = 0;
        size_t len = 0;
        int rc = troupe_ask(a.sys, to, 41, big, sizeof big, 10 * SEC, &type, back, sizeof back, &len);
        cr_assert_eq(rc, 0, "ask %d: %d", k, rc);
        cr_assert_eq(type, 42);
        cr_assert_eq(len, sizeof big);
        for (size_t i = 0; i < sizeof big; i++)
            cr_assert_eq(back[i], big[sizeof big - 1 - i], "the reply's payload is intact");
    }
    /* troupe_call goes the same way */
    size_t len = 0;
    cr_expect_eq(troupe_call(a.sys, to, 1, "xy", 2, 10 * SEC, NULL, back, sizeof back, &len), 0);
    cr_expect_eq(len, 2);
    cr_expect_eq(memcmp(back, "yx", 2), 0);
    /* the counters on /metrics */
    static text t;
    cr_assert_eq(troupe_metrics_write(a.sys, NULL, collect, &t), 0);
    /* 101 asks and the lookup's (more if the lookup was retried) */
    const char *o = strstr(t.buf, "\ntroupe_cluster_envelopes_out_total ");
    const char *i = strstr(t.buf, "troupe_cluster_envelopes_in_total{kind=\"reply\"} ");
    cr_assert(o && i, "%s", t.buf);
    cr_expect_geq(strtoull(strchr(o + 1, ' ') + 1, NULL, 10), 102);
    cr_expect_geq(strtoull(strchr(i, ' ') + 1, NULL, 10), 102);
    cr_expect(strstr(t.buf, "troupe_cluster_dropped_total{reason=\"stale_frame\"} 0\n") != NULL);
    node_down(&a);
    node_down(&b);
}

Test(remote, ask_async_from_a_handler, .timeout = 60)
{
    node a, b;
    node_up(&a, "asyn", "a", 1);
    node_up(&b, "asyn", "b", 3);
    spawn_named(&b, &echo_beh, "echo");
    troupe_ref to = lookup(&a, "b", "echo");
    troupe_ref me = spawn_named(&a, &asker_beh, NULL);
    cr_assert_eq(troupe_tell(a.sys, me, 60, &to.id, 8), 0);
    for (int i = 0; i < 1000 && atomic_load(&async_state) == 0; i++)
        nap();
    cr_expect_eq(atomic_load(&async_state), 1);
    cr_expect_eq(memcmp(async_reply, "cba", 3), 0);
    node_down(&a);
    node_down(&b);
}

Test(remote, refs_in_payloads_round_trip, .timeout = 60)
{
    node a, b;
    node_up(&a, "refs", "a", 1);
    node_up(&b, "refs", "b", 2);
    troupe_ref s = spawn_named(&a, &sink_beh, NULL);
    troupe_ref e = spawn_named(&b, &echo_beh, "echo");
    troupe_ref to = lookup(&a, "b", "echo");
    uint64_t w, w2, w3;
    troupe_ref on_b, back;
    /* a local ref leaves with a's number, and comes back as itself */
    cr_assert_eq(troupe_cluster_ref_encode(a.c, s, &w), 0);
    cr_expect_eq(w >> REF_TAG_SHIFT, (uint64_t)troupe_cluster_node_number(a.c));
    cr_assert_eq(troupe_cluster_ref_decode(b.c, w, &on_b), 0);
    cr_assert_eq(troupe_cluster_ref_encode(b.c, on_b, &w2), 0);
    cr_assert_eq(troupe_cluster_ref_decode(a.c, w2, &back), 0);
    cr_expect_eq(back.id, s.id);
    /* b's own actor, through a: the ref a looked up encodes as b's */
    cr_assert_eq(troupe_cluster_ref_encode(a.c, to, &w3), 0);
    cr_assert_eq(troupe_cluster_ref_decode(b.c, w3, &back), 0);
    cr_expect_eq(back.id, e.id);
    /* and in a message: b's echo decodes a's sink and tells it */
    echo_cluster[1] = b.c;
    uint8_t msg[9];
    memcpy(msg, &w, 8);
    msg[8] = 1;
    cr_assert_eq(troupe_tell(a.sys, to, 50, msg, sizeof msg), 0);
    for (int i = 0; i < 1000 && atomic_load(&pongs) == 0; i++)
        nap();
    cr_expect_eq(atomic_load(&pongs), 1);
    cr_expect_eq(atomic_load(&pong_sender), to.id, "the sender is b's echo, as a sees it");
    cr_expect_eq(troupe_cluster_ref_encode(a.c, TROUPE_REF_NONE, &w), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_ref_decode(a.c, 0, &back), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_lookup(a.c, "b", "nobody", SEC, &back), TROUPE_ENOTFOUND);
    node_down(&a);
    node_down(&b);
}

typedef struct ask_arg {
    troupe_system *sys;
    troupe_ref to;
    int rc;
} ask_arg;

static void *ask_forever(void *p)
{
    ask_arg *a = p;
    a->rc = troupe_ask(a->sys, a->to, 1, "x", 1, 120 * SEC, NULL, NULL, 0, NULL);
    return NULL;
}

Test(remote, monitors_across_nodes, .timeout = 60)
{
    node a, b;
    node_up(&a, "mon", "a", 1);
    node_up(&b, "mon", "b", 2);
    troupe_ref target = spawn_named(&b, &echo_beh, "echo");
    troupe_ref to = lookup(&a, "b", "echo");
    troupe_ref w = spawn_named(&a, &watcher_beh, NULL);
    uint64_t id = 0, id2 = 0;
    cr_assert_eq(troupe_monitor(a.sys, w, to, &id), 0);
    cr_assert_eq(troupe_monitor(a.sys, w, to, &id2), 0);
    cr_expect_eq(troupe_demonitor(a.sys, to, id2), 0);
    /* the monitor is installed there before this ask is handled (one
     * connection, one order) */
    cr_assert_eq(troupe_ask(a.sys, to, 1, "x", 1, 10 * SEC, NULL, NULL, 0, NULL), 0);
    cr_assert_eq(troupe_stop(b.sys, target), 0);
    for (int i = 0; i < 1000 && atomic_load(&downs) == 0; i++)
        nap();
    cr_assert_eq(atomic_load(&downs), 1, "one DOWN: the other monitor was cancelled");
    cr_expect_eq(last_down.actor.id, to.id, "DOWN names the actor as a sees it");
    cr_expect_eq(last_down.monitor, id);
    cr_expect_eq(last_down.kind, TROUPE_EXIT_NORMAL);
    node_down(&a);
    node_down(&b);
}

Test(remote, a_dead_nodes_ref_fails_cleanly, .timeout = 90)
{
    node a, c;
    node_up(&a, "dead", "a", 1);
    node_up(&c, "dead", "c", 3);
    spawn_named(&c, &holder_beh, "holder");
    spawn_named(&c, &echo_beh, "echo");
    troupe_ref h = lookup(&a, "c", "holder"), e = lookup(&a, "c", "echo");
    troupe_ref w = spawn_named(&a, &watcher_beh, NULL);
    uint64_t mid = 0;
    cr_assert_eq(troupe_monitor(a.sys, w, e, &mid), 0);
    ask_arg aa = {a.sys, h, 1};
    pthread_t t;
    pthread_create(&t, NULL, ask_forever, &aa);
    for (int i = 0; i < 1000 && !atomic_load(&held); i++)
        nap();
    cr_assert(atomic_load(&held), "c holds a's ask");
    node_down(&c); /* leaves: its row says left */
    pthread_join(t, NULL);
    cr_expect_eq(aa.rc, TROUPE_ENODEDOWN, "the outstanding ask fails, not at its timeout");
    int rc = 0;
    for (int i = 0; i < 500 && (rc = troupe_tell(a.sys, e, 1, "x", 1)) == 0; i++)
        nap();
    cr_expect_eq(rc, TROUPE_ENOACTOR);
    cr_expect_eq(troupe_ask(a.sys, e, 1, "x", 1, 60 * SEC, NULL, NULL, 0, NULL), TROUPE_ENOACTOR);
    /* the monitor of c's actor: DOWN with the node-down reason */
    for (int i = 0; i < 1000 && atomic_load(&downs) == 0; i++)
        nap();
    cr_assert_eq(atomic_load(&downs), 1);
    cr_expect_eq(last_down.monitor, mid);
    cr_expect_eq(last_down.actor.id, e.id);
    cr_expect_eq(last_down.code, TROUPE_ENODEDOWN);
    cr_expect_str_eq(last_down.reason, "nodedown");
    /* a monitor of a ref of a node that is down: DOWN at once (NOPROC) */
    cr_assert_eq(troupe_monitor(a.sys, w, e, &mid), 0);
    for (int i = 0; i < 1000 && atomic_load(&downs) == 1; i++)
        nap();
    cr_expect_eq(last_down.kind, TROUPE_EXIT_NOPROC);
    node_down(&a);
}

Test(remote, bad_frames_are_dropped_and_counted, .timeout = 60)
{
    node a, b;
    node_up(&a, "bad", "a", 1);
    node_up(&b, "bad", "b", 2);
    spawn_named(&b, &echo_beh, "echo");
    troupe_ref to = lookup(&a, "b", "echo");
    remote *ra = cluster_remote(a.c);
    const char *inbox_b = "troupe.bad.b", *inbox_a = ra->inbox;
    /* garbage, from a's inbox */
    cr_assert_eq(transport_publish_raw(ra->t, inbox_b, inbox_a, "hello", 5), 0);
    /* a good header of an unknown version */
    frame_buf fb;
    frame_init(&fb, ra->incarnation);
    frame_env env = {.kind = FRAME_TELL, .type = 1, .to = 1, .len = 3, .payload = (const uint8_t *)"abc"};
    cr_assert_eq(frame_add(&fb, &env, 1024), 0);
    uint8_t *copy = malloc(fb.len);
    memcpy(copy, fb.data, fb.len);
    copy[4] = 9;
    cr_assert_eq(transport_publish_raw(ra->t, inbox_b, inbox_a, copy, fb.len), 0);
    /* a truncated envelope from a's live incarnation */
    cr_assert_eq(transport_publish_raw(ra->t, inbox_b, inbox_a, fb.data, fb.len - 2), 0);
    /* a good frame from a node nobody knows, and one from a's old incarnation */
    cr_assert_eq(transport_publish_raw(ra->t, inbox_b, "troupe.bad.stranger", fb.data, fb.len), 0);
    frame_free(&fb);
    frame_init(&fb, ra->incarnation + 7);
    cr_assert_eq(frame_add(&fb, &env, 1024), 0);
    cr_assert_eq(transport_publish_raw(ra->t, inbox_b, inbox_a, fb.data, fb.len), 0);
    frame_free(&fb);
    free(copy);
    /* the node still answers; the frames above came first on one connection */
    char back[8];
    size_t len = 0;
    cr_assert_eq(troupe_ask(a.sys, to, 1, "ok", 2, 10 * SEC, NULL, back, sizeof back, &len), 0);
    troupe_cluster_stats st;
    cr_assert_eq(troupe_cluster_stats_get(b.c, &st), 0);
    cr_expect_eq(st.bad_frames, 2, "garbage and the unknown version");
    cr_expect_eq(st.bad_envelopes, 1, "the truncated envelope");
    cr_expect_geq(st.stale_frames, 1, "the stranger's frame");
    cr_expect_eq(st.tells_in, 0, "nothing of them was delivered");
    node_down(&a);
    node_down(&b);
}

/* A node in a process of its own (remote_peer.c): its pid, its stdin (close
 * it and it leaves); returns once it said "ready". */
static pid_t peer_start(const char *cluster, const char *name, int server, int *in)
{
    const char *exe = env("TROUPE_REMOTE_PEER");
    char key[32];
    snprintf(key, sizeof key, "TROUPE_NATS_URL_%d", server);
    const char *url = env(key);
    int pin[2], pout[2];
    cr_assert_eq(pipe(pin), 0);
    cr_assert_eq(pipe(pout), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        close(pin[1]);
        close(pout[0]);
        execl(exe, exe, cluster, name, url, (char *)NULL);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    char line[16] = {0};
    ssize_t n = read(pout[0], line, sizeof line - 1); /* blocks until ready or its exit */
    close(pout[0]);
    cr_assert(n > 0 && strncmp(line, "ready", 5) == 0, "the peer did not start");
    *in = pin[1];
    return pid;
}

Test(remote, across_processes_and_a_killed_node, .timeout = 120)
{
    node a;
    node_up(&a, "proc", "a", 1);
    int in;
    pid_t pid = peer_start("proc", "p", 3, &in);
    troupe_ref e = lookup(&a, "p", "echo"), h = lookup(&a, "p", "holder");
    char back[8];
    size_t len = 0;
    uint32_t type = 0;
    cr_assert_eq(troupe_ask(a.sys, e, 9, "hello", 5, 10 * SEC, &type, back, sizeof back, &len), 0);
    cr_expect_eq(type, 10);
    cr_expect_eq(len, 5);
    cr_expect_eq(memcmp(back, "olleh", 5), 0);
    /* an ask the peer holds, published before the next one (one connection) */
    troupe_cluster_stats st;
    troupe_cluster_stats_get(a.c, &st);
    uint64_t before = st.envs_out;
    ask_arg aa = {a.sys, h, 1};
    pthread_t t;
    pthread_create(&t, NULL, ask_forever, &aa);
    for (int i = 0; i < 1000 && st.envs_out == before; i++) {
        nap();
        troupe_cluster_stats_get(a.c, &st);
    }
    cr_assert_eq(troupe_ask(a.sys, e, 9, "x", 1, 10 * SEC, NULL, NULL, 0, NULL), 0);
    /* kill -9: no leave; its lease (1 s) runs out in the server's time */
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(in);
    pthread_join(t, NULL);
    cr_expect_eq(aa.rc, TROUPE_ENODEDOWN, "the held ask fails when the lease expires");
    int rc = 0;
    for (int i = 0; i < 500 && (rc = troupe_tell(a.sys, e, 1, "x", 1)) == 0; i++)
        nap();
    cr_expect_eq(rc, TROUPE_ENOACTOR);
    node_down(&a);
}

Test(remote, a_full_block_mailbox_refuses_remote_senders, .timeout = 60)
{
    node a, b;
    node_up(&a, "block", "a", 1);
    node_up(&b, "block", "b", 2);
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.capacity = 2;
    o.overflow = TROUPE_OVERFLOW_BLOCK;
    troupe_ref s;
    cr_assert_eq(troupe_spawn(b.sys, &slow_beh, NULL, &o, &s), 0);
    cr_assert_eq(troupe_register(b.sys, "slow", s), 0);
    troupe_ref to = lookup(&a, "b", "slow");
    cr_assert_eq(troupe_tell(a.sys, to, 1, "x", 1), 0); /* it is handled, slowly */
    for (int i = 0; i < 1000 && !atomic_load(&gate_entered); i++)
        nap();
    cr_assert(atomic_load(&gate_entered));
    for (int i = 0; i < 8; i++) /* 2 fit; the rest are refused there, not waited for */
        cr_assert_eq(troupe_tell(a.sys, to, 1, "x", 1), 0, "queued for the network");
    int rc = troupe_ask(a.sys, to, 1, "x", 1, 30 * SEC, NULL, NULL, 0, NULL);
    atomic_store(&gate_open, 1);
    cr_expect_eq(rc, TROUPE_EFULL, "the asker learns the mailbox was full");
    troupe_cluster_stats st;
    troupe_cluster_stats_get(b.c, &st);
    cr_expect_geq(st.deliver_failed, 6);
    node_down(&a);
    node_down(&b);
}

Test(remote, ask_cb_and_a_deferred_reply, .timeout = 60)
{
    node a, b;
    node_up(&a, "defer", "a", 1);
    node_up(&b, "defer", "b", 2);
    spawn_named(&b, &deferrer_beh, "deferrer");
    troupe_ref to = lookup(&a, "b", "deferrer");
    cr_assert_eq(troupe_ask_cb(a.sys, to, 1, "q", 1, 30 * SEC, on_call, NULL), 0);
    for (int i = 0; i < 1000 && !atomic_load(&deferred_token); i++)
        nap();
    cr_assert(atomic_load(&deferred_token), "b holds the ask");
    troupe_reply_token t = {atomic_load(&deferred_token)};
    cr_assert_eq(troupe_reply_to(b.sys, t, 77, "late", 4), 0); /* from a plain thread of b */
    for (int i = 0; i < 1000 && atomic_load(&cb_rc) == 1; i++)
        nap();
    cr_expect_eq(atomic_load(&cb_rc), 0);
    cr_expect_eq(memcmp(cb_data, "late", 4), 0);
    node_down(&a);
    node_down(&b);
}

Test(remote, api_checks_input)
{
    troupe_ref r;
    uint64_t w;
    troupe_cluster_stats st;
    cr_expect_eq(troupe_cluster_lookup(NULL, "a", "b", SEC, &r), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_ref_encode(NULL, r, &w), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_ref_decode(NULL, 1, &r), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_stats_get(NULL, &st), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_node_number(NULL), TROUPE_EINVAL);
    troupe_system *sys;
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 1;
    cr_assert_eq(troupe_system_create(&sys, &cfg), 0);
    troupe_cluster_config cc;
    troupe_cluster_config_defaults(&cc);
    cc.cluster = "x";
    cc.node = "y";
    cc.nats_urls = "nats://127.0.0.1:1";
    cc.pg_conninfo = "host=127.0.0.1";
    troupe_cluster *c;
    cr_assert_eq(troupe_cluster_create(sys, &cc, &c), 0);
    cr_expect_eq(troupe_cluster_lookup(c, "a", "b", SEC, &r), TROUPE_ESTATE, "not joined");
    cr_expect_eq(troupe_cluster_ref_encode(c, (troupe_ref){sys->ref_tag | 1ull << 32 | 1}, &w),
                 TROUPE_ESTATE);
    cr_expect_eq(troupe_cluster_node_number(c), TROUPE_ESTATE);
    cr_expect_eq(troupe_cluster_stats_get(c, &st), 0);
    cr_expect_eq(st.envs_out, 0);
    troupe_cluster_destroy(c);
    troupe_system_destroy(sys);
}
