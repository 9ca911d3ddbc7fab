/* examples/chain/chain.c — the chain's rules: hashing, the genesis block,
 * what may be imported, what a producer appends, and the ops both
 * implementations run. Pure functions of a chain struct: the legacy code
 * calls them under its lock, the actor in its handler. */
#include <string.h>

#include "chain.h"

/* One round of a 64-bit mix (multiply, xor-shift): a toy hash, enough to
 * tell blocks apart and to make a forged parent or hash show. */
uint64_t mix64(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 31;
    return h;
}

uint64_t block_hash(const block *b)
{
    uint64_t h = mix64(0x636861696eull /* "chain" */, b->height);
    h = mix64(h, b->parent);
    h = mix64(h, b->state_root);
    return mix64(h, (uint64_t)b->author << 32 | b->ntx);
}

void chain_genesis(chain *c)
{
    memset(c, 0, sizeof *c);
    block g = {.height = 0, .parent = 0, .state_root = 0, .author = 0, .ntx = 0};
    g.hash = block_hash(&g);
    c->recent[0] = g;
    c->digest = mix64(0, g.hash);
}

const block *chain_tip(const chain *c) { return &c->recent[c->height % CHAIN_WINDOW]; }

uint32_t chain_check(const chain *c, const block *b)
{
    if (b->height != c->height + 1)
        return IMPORT_STALE; /* another block took that height first */
    if (b->parent != chain_tip(c)->hash)
        return IMPORT_BAD_PARENT;
    if (b->hash != block_hash(b))
        return IMPORT_BAD_HASH;
    return IMPORT_OK;
}

/* The caller checked b (chain_check == IMPORT_OK). */
void chain_append(chain *c, const block *b)
{
    c->height = b->height;
    c->recent[b->height % CHAIN_WINDOW] = *b;
    c->digest = mix64(c->digest, b->hash);
}

block chain_next(const chain *c, const produce_arg *a)
{
    const block *tip = chain_tip(c);
    block b = {.height = tip->height + 1, .parent = tip->hash, .state_root = a->state_root,
               .author = a->author, .ntx = a->ntx};
    b.hash = block_hash(&b);
    return b;
}

/* 0 and the block, or TROUPE_ENOTFOUND: above the tip, or out of the window. */
int chain_get(const chain *c, uint64_t height, block *out)
{
    if (height > c->height || c->height - height >= CHAIN_WINDOW)
        return TROUPE_ENOTFOUND;
    *out = c->recent[height % CHAIN_WINDOW];
    return 0;
}

/* Every link the window holds: each block's hash is its own, and its parent
 * is the hash of the block below. */
verify_result chain_verify(const chain *c)
{
    const block *tip = chain_tip(c);
    verify_result r = {.height = c->height, .tip = tip->hash, .digest = c->digest};
    uint64_t lowest = c->height >= CHAIN_WINDOW ? c->height - CHAIN_WINDOW + 1 : 0;
    for (uint64_t h = lowest; h <= c->height; h++) {
        const block *b = &c->recent[h % CHAIN_WINDOW];
        r.broken += b->height != h || b->hash != block_hash(b);
        if (h > lowest) {
            r.checked++;
            r.broken += b->parent != c->recent[(h - 1) % CHAIN_WINDOW].hash;
        }
    }
    return r;
}

/* ---- the ops ------------------------------------------------------------------------ */

/* Copy a result out; every op's result fits its result_max. */
static int put(const void *v, size_t n, void *res, size_t cap, size_t *rlen)
{
    if (cap < n)
        return TROUPE_EINVAL;
    memcpy(res, v, n);
    *rlen = n;
    return 0;
}

int chain_op_import(const chain *c, const void *arg, size_t len, void *res, size_t cap,
                    size_t *rlen, block *ev)
{
    block b;
    if (len != sizeof b)
        return TROUPE_EINVAL;
    memcpy(&b, arg, sizeof b);
    import_result r = {chain_check(c, &b), 0, c->height, chain_tip(c)->hash};
    ev->height = 0;
    if (r.status == IMPORT_OK) {
        *ev = b;
        r.height = b.height, r.tip = b.hash;
    }
    return put(&r, sizeof r, res, cap, rlen);
}

int chain_op_produce(const chain *c, const void *arg, size_t len, void *res, size_t cap,
                     size_t *rlen, block *ev)
{
    produce_arg a;
    if (len != sizeof a)
        return TROUPE_EINVAL;
    memcpy(&a, arg, sizeof a);
    *ev = chain_next(c, &a);
    return put(ev, sizeof *ev, res, cap, rlen);
}

int chain_op_head(const chain *c, const void *arg, size_t len, void *res, size_t cap, size_t *rlen)
{
    (void)arg;
    if (len != 0)
        return TROUPE_EINVAL;
    head_result r = {c->height, chain_tip(c)->hash, c->digest};
    return put(&r, sizeof r, res, cap, rlen);
}

int chain_op_get(const chain *c, const void *arg, size_t len, void *res, size_t cap, size_t *rlen)
{
    uint64_t height;
    if (len != sizeof height)
        return TROUPE_EINVAL;
    memcpy(&height, arg, sizeof height);
    get_result r = {0};
    r.found = chain_get(c, height, &r.b) == 0;
    return put(&r, sizeof r, res, cap, rlen);
}

int chain_op_verify(const chain *c, const void *arg, size_t len, void *res, size_t cap,
                    size_t *rlen)
{
    (void)arg;
    if (len != 0)
        return TROUPE_EINVAL;
    verify_result r = chain_verify(c);
    return put(&r, sizeof r, res, cap, rlen);
}
