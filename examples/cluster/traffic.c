/* examples/cluster/traffic.c — a node's load on the chain and the engine,
 * wherever the cluster placed them: on this node through the actor's local
 * ref, elsewhere through a remote ref (the owner registers the kind's name
 * locally; the others troupe_cluster_lookup it on the owner's node). The
 * messages are the adapters' (examples/chain/adapters.c): the op's type,
 * its argument, and a reply of the op's code then its result.
 *
 * Two threads per node, one per actor, so the engine's traffic goes on
 * while the chain fails over. Each acknowledged write is one line of the
 * shared log, written at once:
 *
 *   ack chain  <owner> <epoch> <height> <realtime ns> <node> <hash> <produce|import>
 *   ack engine <owner> <epoch> <payload id> <realtime ns> <node>
 *
 * A failed ask (the owner died: TROUPE_ENODEDOWN once its lease expires;
 * or it timed out) clears the ref: the next call re-resolves with
 * troupe_cluster_actor. An op whose acknowledgement is lost is not sent
 * again (at most once: a payload id is never reused). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node.h"

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

/* Ours: name it for the other nodes (again after a restart or a move). */
static int name_local(node *nd, target *t, troupe_ref local)
{
    troupe_ref named;
    pthread_mutex_lock(&nd->resolve_mu);
    int rc = 0;
    if (troupe_whereis(nd->sys, t->kind, &named) != 0 || !troupe_ref_eq(named, local)) {
        troupe_unregister(nd->sys, t->kind);
        rc = troupe_register(nd->sys, t->kind, local);
    }
    pthread_mutex_unlock(&nd->resolve_mu);
    t->ref = local;
    return rc;
}

int resolve(node *nd, target *t)
{
    troupe_cluster_where w;
    int rc = troupe_cluster_actor(nd->c, t->kind, CLUSTER_ID, &w);
    if (rc || !w.live || !w.node[0])
        return rc ? rc : TROUPE_ENOTFOUND; /* not claimed yet: try again */
    if (!troupe_ref_is_none(w.local))
        rc = name_local(nd, t, w.local);
    else
        rc = troupe_cluster_lookup(nd->c, w.node, t->kind, ASK_NS, &t->ref);
    if (rc)
        return rc; /* not started there yet */
    snprintf(t->owner, sizeof t->owner, "%s", w.node);
    t->epoch = w.epoch;
    return 0;
}

int ask_op(node *nd, target *t, uint32_t type, const void *arg, size_t len, void *res,
           size_t cap)
{
    while (troupe_ref_is_none(t->ref) && atomic_load(&nd->running)) {
        if (resolve(nd, t) == 0)
            break;
        t->ref = TROUPE_REF_NONE;
        usleep(20 * 1000);
    }
    if (troupe_ref_is_none(t->ref))
        return TROUPE_ECANCELED; /* stopping */
    char buf[sizeof(int32_t) + sizeof(chain)];
    uint32_t rt = 0;
    size_t n = 0;
    int rc = troupe_ask(nd->sys, t->ref, type, arg, len, ASK_NS, &rt, buf, sizeof buf, &n);
    int32_t code = TROUPE_EIO;
    if (rc == 0 && rt == type && n >= sizeof code && n - sizeof code <= cap) {
        memcpy(&code, buf, sizeof code);
        memcpy(res, buf + sizeof code, n - sizeof code);
    }
    if (rc || code) {
        atomic_fetch_add(&nd->n.failed_asks, 1);
        t->ref = TROUPE_REF_NONE; /* moved, failed over, or its node died */
    }
    return rc ? rc : code;
}

static void log_block(node *nd, const target *t, const block *b, const char *how)
{
    fprintf(nd->log, "ack chain %s %llu %llu %llu %s %llu %s\n", t->owner,
            (unsigned long long)t->epoch, (unsigned long long)b->height,
            (unsigned long long)now_ns(), nd->name, (unsigned long long)b->hash, how);
    fflush(nd->log);
}

static void produce_once(node *nd, target *t, uint64_t r)
{
    produce_arg a = {.author = nd->index, .ntx = (uint32_t)(r % 8),
                     .state_root = atomic_load(&nd->state_root)};
    block b;
    if (ask_op(nd, t, MSG_CHAIN_OP + CHAIN_PRODUCE, &a, sizeof a, &b, sizeof b) == 0) {
        atomic_fetch_add(&nd->n.produced, 1);
        log_block(nd, t, &b, "produce");
    }
}

/* A block as a peer would send it, built on the head just read; one in 32
 * is forged (a wrong parent or hash) and must be refused. */
static void import_once(node *nd, target *t, uint64_t r)
{
    head_result h;
    if (ask_op(nd, t, MSG_CHAIN_OP + CHAIN_HEAD, NULL, 0, &h, sizeof h) != 0)
        return;
    block b = {.height = h.height + 1, .parent = h.tip, .state_root = r,
               .author = 100 + nd->index};
    int forged = r % 32 == 0;
    b.parent ^= forged && (r & 64);
    b.hash = block_hash(&b) ^ (forged && !(r & 64));
    import_result ir;
    if (ask_op(nd, t, MSG_CHAIN_OP + CHAIN_IMPORT, &b, sizeof b, &ir, sizeof ir) != 0)
        return;
    if (ir.status == IMPORT_OK && forged)
        atomic_fetch_add(&nd->n.forged_accepted, 1);
    else if (ir.status == IMPORT_OK)
        atomic_fetch_add(&nd->n.imported, 1), log_block(nd, t, &b, "import");
    else
        atomic_fetch_add(forged ? &nd->n.forged_refused : &nd->n.stale, 1);
}

void *chain_load_main(void *arg)
{
    node *nd = arg;
    target t = {.kind = "chain", .ref = TROUPE_REF_NONE};
    uint64_t rng = now_ns() * 2654435761u + nd->index;
    while (atomic_load(&nd->running)) {
        uint64_t r = next_rand(&rng);
        if (r & 1)
            produce_once(nd, &t, r >> 1);
        else
            import_once(nd, &t, r >> 1);
    }
    return NULL;
}

/* Random transfers; some overdraw and are refused by the engine. */
static payload make_payload(node *nd, uint64_t id, uint64_t *rng)
{
    payload p = {.id = id, .n = 1 + (uint32_t)(next_rand(rng) % PAYLOAD_MAX),
                 .author = nd->index};
    for (uint32_t i = 0; i < p.n; i++) {
        uint64_t r = next_rand(rng);
        p.tx[i].from = (uint32_t)(r % ACCOUNTS);
        p.tx[i].to = (uint32_t)((r >> 8) % ACCOUNTS);
        p.tx[i].amount = 1 + (int64_t)((r >> 16) % (INITIAL_BALANCE / 4));
    }
    return p;
}

void *engine_load_main(void *arg)
{
    node *nd = arg;
    target t = {.kind = "engine", .ref = TROUPE_REF_NONE};
    uint64_t rng = now_ns() * 0x9e3779b97f4a7c15ull + nd->index, id = nd->op_base;
    while (atomic_load(&nd->running)) {
        payload p = make_payload(nd, id++, &rng);
        exec_result er;
        if (ask_op(nd, &t, MSG_ENGINE_OP + ENGINE_EXECUTE, &p, sizeof p, &er, sizeof er) != 0)
            continue;
        atomic_store(&nd->state_root, er.root);
        atomic_fetch_add(&nd->n.payloads, 1);
        atomic_fetch_add(&nd->n.transfers_rejected, er.rejected);
        fprintf(nd->log, "ack engine %s %llu %llu %llu %s\n", t.owner,
                (unsigned long long)t.epoch, (unsigned long long)p.id,
                (unsigned long long)now_ns(), nd->name);
        fflush(nd->log);
    }
    return NULL;
}
