/* examples/cluster/check.c — the checks that end `make demo-cluster`, the
 * same as `make demo`'s, on what the cluster left behind:
 *
 *   copies     the chain and the engine as each node read them at the end
 *              (through its ref: local on the owner, remote elsewhere) and
 *              as rebuilt here from the journal — replayed from genesis
 *              with the actors' own apply (examples/chain/actors.c) — are
 *              identical, byte for byte. The live copies went through a
 *              failover (recovered by another node from snapshot + events)
 *              and then took more writes: any lost, doubled or reordered
 *              event would make them differ from the replay.
 *   chain      every block in the journal links to its parent (the replay
 *              checks each, as a recovery does), the window verifies, and
 *              every block a node was told was accepted is in the chain at
 *              its height with its hash; no forged block was accepted.
 *   engine     the supply is conserved; every payload is applied once (no
 *              id twice in the journal) and every acknowledged one is there.
 *   ownership  one node per epoch of each actor, among the acknowledgements.
 *
 * usage: cluster-check DIR NODE... — DIR holds acks.log, chain.events and
 * engine.events ("<seq> <hex>" per journal row, by seq) and each node's
 * <node>.chain and <node>.engine. Exit 1 on any failed check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../chain/chain.h"

static int failed;

static void expect(int ok, const char *what)
{
    printf("  [%s] %s\n", ok ? " ok " : "FAIL", what);
    failed += !ok;
}

/* One journal row: "<seq> <hex>"; 1 and the bytes, 0 at the end, -1 bad. */
static int read_event(FILE *f, uint64_t *seq, unsigned char *buf, size_t cap, size_t *len)
{
    static char line[1 << 16];
    if (!fgets(line, sizeof line, f))
        return 0;
    char *hex = strchr(line, ' ');
    if (!hex)
        return -1;
    *seq = strtoull(line, NULL, 10);
    size_t n = 0;
    for (hex++; hex[0] && hex[1] && hex[0] != '\n' && n < cap; hex += 2) {
        unsigned v;
        if (sscanf(hex, "%2x", &v) != 1)
            return -1;
        buf[n++] = (unsigned char)v;
    }
    *len = n;
    return 1;
}

typedef int (*apply_fn)(troupe_ctx *, void *, const void *, size_t);

/* Replay path's events over state; *n the count, *keys each event's key
 * (block hash by height, or payload id), -1 on a gap, a refused event or
 * an unreadable row. */
static long replay(const char *path, apply_fn apply, void *state, size_t key_at,
                   uint64_t **keys)
{
    FILE *f = fopen(path, "r");
    unsigned char ev[4096];
    uint64_t seq, n = 0, cap = 0;
    size_t len;
    int r;
    *keys = NULL;
    while (f && (r = read_event(f, &seq, ev, sizeof ev, &len)) == 1) {
        if (seq != n + 1 || apply(NULL, state, ev, len) != 0 || len < key_at + 8)
            break;
        if (n == cap && !(*keys = realloc(*keys, (cap = cap ? 2 * cap : 1024) * 8)))
            break;
        memcpy(&(*keys)[n++], ev + key_at, 8);
    }
    long out = f && feof(f) ? (long)n : -1;
    if (f)
        fclose(f);
    return out;
}

static int same_file(const char *path, const void *want, size_t size)
{
    FILE *f = fopen(path, "rb");
    char *buf = malloc(size + 1);
    size_t n = f && buf ? fread(buf, 1, size + 1, f) : 0;
    int same = n == size && memcmp(buf, want, size) == 0;
    free(buf);
    if (f)
        fclose(f);
    return same;
}

static void check_copies(const char *dir, char **nodes, int nn, const char *kind,
                         const void *fold, size_t size)
{
    int same = 1;
    char path[512], what[256];
    for (int i = 0; i < nn; i++) {
        snprintf(path, sizeof path, "%s/%s.%s", dir, nodes[i], kind);
        same &= same_file(path, fold, size);
    }
    snprintf(what, sizeof what, "%s: the copies read from %d nodes and the copy rebuilt from "
             "the journal are identical", kind, nn);
    expect(same, what);
}

/* The acknowledgement log: "ack chain|engine owner epoch key ns node ...". */
typedef struct ack {
    int chain;
    char owner[64];
    uint64_t epoch, key, hash;
} ack;

static ack *read_acks(const char *dir, size_t *n, uint64_t *forged_accepted)
{
    char path[512], line[512], kind[16], node[64];
    snprintf(path, sizeof path, "%s/acks.log", dir);
    FILE *f = fopen(path, "r");
    ack *a = NULL;
    size_t cap = 0;
    unsigned long long ep, key, ns, hash, fa;
    *n = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *p = strstr(line, " forged_accepted ");
        if (!strncmp(line, "stats ", 6) && p && sscanf(p, " forged_accepted %llu", &fa) == 1)
            *forged_accepted += fa;
        ack x = {0};
        int k = sscanf(line, "ack %15s %63s %llu %llu %llu %63s %llu", kind, x.owner, &ep, &key,
                       &ns, node, &hash);
        if (k < 6)
            continue;
        x.chain = !strcmp(kind, "chain"), x.epoch = ep, x.key = key, x.hash = k == 7 ? hash : 0;
        if (*n == cap && !(a = realloc(a, (cap = cap ? 2 * cap : 4096) * sizeof *a)))
            break;
        a[(*n)++] = x;
    }
    if (f)
        fclose(f);
    return a;
}

/* No epoch of either actor acknowledged by two owners. */
static int one_owner_per_epoch(const ack *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = i + 1; k < n && k < i + 50000; k++)
            if (a[k].chain == a[i].chain && a[k].epoch == a[i].epoch &&
                strcmp(a[k].owner, a[i].owner))
                return 0;
    return 1;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static void check_chain(const chain *c, long blocks, const uint64_t *hash, const ack *a,
                        size_t n, uint64_t forged_accepted)
{
    char what[256];
    if (blocks < 0) {
        expect(0, "chain: the journal replays from genesis (a gap, an unlinked block?)");
        return;
    }
    snprintf(what, sizeof what, "chain: %ld blocks in the journal, each linked to its parent "
             "(replayed as a recovery does)", blocks);
    expect(blocks > 0 && (uint64_t)blocks == c->height, what);
    verify_result v = chain_verify(c);
    snprintf(what, sizeof what, "chain: the window verifies (%llu links, %llu broken)",
             (unsigned long long)v.checked, (unsigned long long)v.broken);
    expect(v.broken == 0, what);
    size_t acked = 0, found = 0;
    for (size_t i = 0; i < n; i++)
        if (a[i].chain) {
            acked++;
            found += a[i].key >= 1 && (long)a[i].key <= blocks && hash[a[i].key - 1] == a[i].hash;
        }
    snprintf(what, sizeof what, "chain: every accepted block (%zu acknowledged) is in the chain "
             "at its height with its hash", acked);
    expect(acked > 0 && found == acked, what);
    snprintf(what, sizeof what, "chain: forged blocks accepted: %llu",
             (unsigned long long)forged_accepted);
    expect(forged_accepted == 0, what);
}

static void check_engine(const engine *e, long events, uint64_t *ids, const ack *a, size_t n)
{
    char what[256];
    if (events < 0) {
        expect(0, "engine: the journal replays from genesis (a gap, a bad payload?)");
        return;
    }
    totals_result t = engine_totals(e);
    snprintf(what, sizeof what, "engine: supply %lld, as at genesis (%lld)",
             (long long)t.supply, (long long)TOTAL_SUPPLY);
    expect(t.supply == TOTAL_SUPPLY, what);
    qsort(ids, (size_t)events, sizeof *ids, cmp_u64);
    int twice = 0;
    for (long i = 1; i < events; i++)
        twice |= ids[i] == ids[i - 1];
    size_t acked = 0, found = 0;
    for (size_t i = 0; i < n; i++)
        if (!a[i].chain)
            acked++, found += bsearch(&a[i].key, ids, (size_t)events, sizeof *ids, cmp_u64) != 0;
    snprintf(what, sizeof what, "engine: every payload applied once: %ld in the journal, none "
             "twice, all %zu acknowledged among them", events, acked);
    expect(events > 0 && (uint64_t)events == e->payloads && !twice && acked > 0 &&
           found == acked, what);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s DIR NODE...\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    char path[512];
    static chain c;
    static engine e;
    uint64_t *hashes, *ids, forged_accepted = 0;
    chain_genesis(&c);
    engine_genesis(&e);
    snprintf(path, sizeof path, "%s/chain.events", dir);
    long blocks = replay(path, chain_actor_beh.persist->apply, &c, 8 + 16, &hashes);
    snprintf(path, sizeof path, "%s/engine.events", dir);
    long payloads = replay(path, engine_actor_beh.persist->apply, &e, 8, &ids);
    size_t n = 0;
    ack *a = read_acks(dir, &n, &forged_accepted);
    printf("demo-cluster: checks\n");
    check_copies(dir, argv + 2, argc - 2, "chain", &c, sizeof c);
    check_copies(dir, argv + 2, argc - 2, "engine", &e, sizeof e);
    check_chain(&c, blocks, hashes, a, n, forged_accepted);
    check_engine(&e, payloads, ids, a, n);
    expect(one_owner_per_epoch(a, n), "ownership: one owner per epoch of each actor");
    free(a), free(hashes), free(ids);
    return failed ? 1 : 0;
}
