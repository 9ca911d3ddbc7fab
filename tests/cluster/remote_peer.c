/* tests/cluster/remote_peer.c — a node in a process of its own, for
 * test_remote.c's cases across processes: joins cluster argv[1] as node
 * argv[2] on NATS argv[3] (lease 1000 ms, renewal 200 ms), registers an
 * actor "echo" that answers an ask with its payload reversed and one
 * "holder" that keeps every ask unanswered, prints "ready" and waits for
 * its stdin to close (then leaves) — or for a kill. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "troupe/troupe.h"

static int echo(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    (void)st;
    char buf[256];
    size_t n = m->size < sizeof buf ? m->size : sizeof buf;
    for (size_t i = 0; i < n; i++)
        buf[i] = ((const char *)m->data)[n - 1 - i];
    troupe_reply(ctx, m->type + 1, buf, n);
    return 0;
}

static int holder(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    (void)st;
    (void)m;
    troupe_reply_token t;
    troupe_reply_defer(ctx, &t);
    return 0;
}

static const troupe_behaviour echo_beh = {.name = "echo", .handle = echo};
static const troupe_behaviour holder_beh = {.name = "holder", .handle = holder};

static int spawn_named(troupe_system *sys, const troupe_behaviour *b, const char *name)
{
    troupe_ref r;
    int rc = troupe_spawn(sys, b, NULL, NULL, &r);
    return rc ? rc : troupe_register(sys, name, r);
}

int main(int argc, char **argv)
{
    const char *pg = getenv("TROUPE_PG_CONNINFO");
    if (argc != 4 || !pg) {
        fprintf(stderr, "usage: TROUPE_PG_CONNINFO=... %s CLUSTER NODE NATS_URL\n", argv[0]);
        return 2;
    }
    troupe_system *sys;
    if (troupe_system_create(&sys, NULL))
        return 1;
    troupe_cluster_config cc;
    troupe_cluster_config_defaults(&cc);
    cc.cluster = argv[1];
    cc.node = argv[2];
    cc.nats_urls = argv[3];
    cc.pg_conninfo = pg;
    cc.lease_ms = 1000;
    cc.renew_ms = 200;
    troupe_cluster *c;
    int rc = troupe_cluster_create(sys, &cc, &c);
    if (!rc)
        rc = troupe_cluster_join(c);
    if (!rc)
        rc = spawn_named(sys, &echo_beh, "echo");
    if (!rc)
        rc = spawn_named(sys, &holder_beh, "holder");
    if (rc) {
        fprintf(stderr, "remote_peer: %s\n", troupe_strerror(rc));
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    char b[64];
    while (read(0, b, sizeof b) > 0)
        ;
    troupe_cluster_destroy(c);
    troupe_system_destroy(sys);
    return 0;
}
