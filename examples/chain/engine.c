/* examples/chain/engine.c — the execution engine's rules: accounts with
 * balances, payloads of transfers applied in order, the state root. A
 * transfer only moves value, so the sum of the balances never changes —
 * the conservation the demo checks at the end. Pure functions of an engine
 * struct, like chain.c. */
#include <string.h>

#include "chain.h"

void engine_genesis(engine *e)
{
    memset(e, 0, sizeof *e);
    for (int i = 0; i < ACCOUNTS; i++)
        e->bal[i] = INITIAL_BALANCE;
    e->root = engine_root(e);
}

uint64_t engine_root(const engine *e)
{
    uint64_t h = 0x656e67696e65ull; /* "engine" */
    for (int i = 0; i < ACCOUNTS; i++)
        h = mix64(h, (uint64_t)e->bal[i]);
    return h;
}

/* A payload as the ops take it: its exact size, at most PAYLOAD_MAX
 * transfers (the transfers themselves may still be refused). */
int payload_ok(const void *arg, size_t len)
{
    payload p;
    if (len != sizeof p)
        return 0;
    memcpy(&p, arg, sizeof p);
    return p.n <= PAYLOAD_MAX;
}

static int transfer_ok(const engine *e, const transfer *t)
{
    return t->from < ACCOUNTS && t->to < ACCOUNTS && t->from != t->to && t->amount > 0 &&
           e->bal[t->from] >= t->amount;
}

/* Apply p (payload_ok) in order: a transfer the sender cannot cover is
 * skipped, the rest go on. */
exec_result engine_apply(engine *e, const payload *p)
{
    exec_result r = {0};
    for (uint32_t i = 0; i < p->n; i++) {
        const transfer *t = &p->tx[i];
        if (!transfer_ok(e, t)) {
            r.rejected++;
            continue;
        }
        e->bal[t->from] -= t->amount;
        e->bal[t->to] += t->amount;
        r.applied++;
    }
    e->payloads++;
    e->root = engine_root(e);
    r.root = e->root;
    r.payloads = e->payloads;
    return r;
}

totals_result engine_totals(const engine *e)
{
    totals_result r = {0, e->root, e->payloads};
    for (int i = 0; i < ACCOUNTS; i++)
        r.supply += e->bal[i];
    return r;
}

int engine_op_balance(const engine *e, const void *arg, size_t len, void *res, size_t cap,
                      size_t *rlen)
{
    uint32_t account;
    if (len != sizeof account || cap < sizeof(int64_t))
        return TROUPE_EINVAL;
    memcpy(&account, arg, sizeof account);
    if (account >= ACCOUNTS)
        return TROUPE_EINVAL;
    memcpy(res, &e->bal[account], sizeof(int64_t));
    *rlen = sizeof(int64_t);
    return 0;
}

int engine_op_totals(const engine *e, const void *arg, size_t len, void *res, size_t cap,
                     size_t *rlen)
{
    (void)arg;
    if (len != 0 || cap < sizeof(totals_result))
        return TROUPE_EINVAL;
    totals_result r = engine_totals(e);
    memcpy(res, &r, sizeof r);
    *rlen = sizeof r;
    return 0;
}
