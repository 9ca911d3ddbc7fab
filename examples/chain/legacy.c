/* examples/chain/legacy.c — the code being migrated: the chain and the
 * engine as plain structs, each guarded by a pthread_rwlock_t and called
 * from many threads. The functions here are the legacy implementations of
 * the adapters' ops: the adapter takes the lock (read or write, as the op
 * declares) and calls them; a write applies its change at once. */
#include <errno.h> /* the build defines _GNU_SOURCE: pthread_rwlockattr_setkind_np */
#include <string.h>

#include "chain.h"

/* Writer-preferring: with readers arriving all the time (the importers'
 * reads, and shadow's reads that hold the read lock while the actor
 * answers), glibc's default reader preference can starve the writers. */
static int lock_init(pthread_rwlock_t *l)
{
    pthread_rwlockattr_t a;
    if (pthread_rwlockattr_init(&a) != 0)
        return TROUPE_ESYS;
    int rc = pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    if (rc == 0)
        rc = pthread_rwlock_init(l, &a);
    pthread_rwlockattr_destroy(&a);
    return rc == 0 ? 0 : rc == ENOMEM ? TROUPE_ENOMEM : TROUPE_ESYS;
}

int legacy_chain_init(legacy_chain *lc)
{
    chain_genesis(&lc->c);
    return lock_init(&lc->lock);
}

int legacy_engine_init(legacy_engine *le)
{
    engine_genesis(&le->e);
    return lock_init(&le->lock);
}

void legacy_chain_destroy(legacy_chain *lc) { pthread_rwlock_destroy(&lc->lock); }

void legacy_engine_destroy(legacy_engine *le) { pthread_rwlock_destroy(&le->lock); }

/* ---- the chain: write ops apply their block in place ---------------------------- */

static int chain_write(chain_write_fn op, chain *c, const void *arg, size_t len, void *res,
                       size_t cap, size_t *rlen)
{
    block ev;
    int rc = op(c, arg, len, res, cap, rlen, &ev);
    if (rc == 0 && ev.height != 0)
        chain_append(c, &ev);
    return rc;
}

LEGACY_FN(legacy_import) { return chain_write(chain_op_import, obj, arg, len, res, cap, rlen); }

LEGACY_FN(legacy_produce) { return chain_write(chain_op_produce, obj, arg, len, res, cap, rlen); }

LEGACY_FN(legacy_head) { return chain_op_head(obj, arg, len, res, cap, rlen); }

LEGACY_FN(legacy_get) { return chain_op_get(obj, arg, len, res, cap, rlen); }

LEGACY_FN(legacy_verify) { return chain_op_verify(obj, arg, len, res, cap, rlen); }

/* ---- the engine ------------------------------------------------------------------------ */

LEGACY_FN(legacy_execute)
{
    if (!payload_ok(arg, len) || cap < sizeof(exec_result))
        return TROUPE_EINVAL;
    payload p;
    memcpy(&p, arg, sizeof p);
    exec_result r = engine_apply(obj, &p);
    memcpy(res, &r, sizeof r);
    *rlen = sizeof r;
    return 0;
}

LEGACY_FN(legacy_balance) { return engine_op_balance(obj, arg, len, res, cap, rlen); }

LEGACY_FN(legacy_totals) { return engine_op_totals(obj, arg, len, res, cap, rlen); }
