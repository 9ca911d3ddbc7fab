/* tests/migrate/store.h — the legacy object the adapter tests migrate: a
 * table of balances behind a pthread_rwlock_t, its two implementations
 * (legacy under the lock, actor on its own copy), and counters of how many
 * times each copy applied a write — kept outside the copies, so a sync
 * does not move them. `skew` makes the actor's add wrong for one index (a
 * deliberate difference for SHADOW). */
#ifndef TROUPE_TESTS_MIGRATE_STORE_H
#define TROUPE_TESTS_MIGRATE_STORE_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <troupe/troupe.h>

#define NBAL 16
enum { OP_ADD = 0, OP_GET = 1, OP_COUNT = 2 };
enum { MSG_ADD = 100, MSG_GET = 101, MSG_SYNC = 199 };

typedef struct store {
    int64_t bal[NBAL];
} store;

typedef struct add_arg {
    uint32_t idx;
    int64_t delta;
} add_arg;

static _Atomic uint64_t legacy_apps, actor_apps;
static _Atomic int skew = -1; /* an index the actor adds one too many to */

static int store_add(store *s, const void *arg, size_t len, void *res, size_t cap, size_t *rlen,
                     int extra)
{
    add_arg a;
    if (len != sizeof a)
        return TROUPE_EINVAL;
    memcpy(&a, arg, sizeof a);
    if (a.idx >= NBAL)
        return TROUPE_EINVAL;
    s->bal[a.idx] += a.delta + extra;
    if (cap >= sizeof(int64_t))
        memcpy(res, &s->bal[a.idx], sizeof(int64_t));
    *rlen = sizeof(int64_t);
    return 0;
}

static int store_get(const store *s, const void *arg, size_t len, void *res, size_t cap,
                     size_t *rlen)
{
    uint32_t idx;
    if (len != sizeof idx)
        return TROUPE_EINVAL;
    memcpy(&idx, arg, sizeof idx);
    if (idx >= NBAL)
        return TROUPE_EINVAL;
    if (cap >= sizeof(int64_t))
        memcpy(res, &s->bal[idx], sizeof(int64_t));
    *rlen = sizeof(int64_t);
    return 0;
}

static int legacy_add(void *obj, const void *arg, size_t len, void *res, size_t cap, size_t *rlen)
{
    atomic_fetch_add(&legacy_apps, 1);
    return store_add(obj, arg, len, res, cap, rlen, 0);
}

static int legacy_get(void *obj, const void *arg, size_t len, void *res, size_t cap, size_t *rlen)
{
    return store_get(obj, arg, len, res, cap, rlen);
}

static int actor_add(troupe_ctx *ctx, void *st, const void *arg, size_t len, void *res, size_t cap,
                     size_t *rlen)
{
    (void)ctx;
    atomic_fetch_add(&actor_apps, 1);
    uint32_t idx = 0;
    if (len == sizeof(add_arg))
        memcpy(&idx, arg, sizeof idx);
    return store_add(st, arg, len, res, cap, rlen, (int)idx == atomic_load(&skew));
}

static int actor_get(troupe_ctx *ctx, void *st, const void *arg, size_t len, void *res, size_t cap,
                     size_t *rlen)
{
    (void)ctx;
    return store_get(st, arg, len, res, cap, rlen);
}

static void fmt_balance(const troupe_adapter_result *r, char *buf, size_t cap)
{
    int64_t v = 0;
    if (r->len == sizeof v)
        memcpy(&v, r->data, sizeof v);
    snprintf(buf, cap, "rc=%d balance=%lld", r->rc, (long long)v);
}

static int store_load(troupe_ctx *ctx, void *st, const void *obj)
{
    (void)ctx;
    memcpy(st, obj, sizeof(store));
    return 0;
}

static int store_store(troupe_ctx *ctx, void *st, void *obj)
{
    (void)ctx;
    memcpy(obj, st, sizeof(store));
    return 0;
}

static const troupe_adapter_op store_ops[] = {
    {.name = "add", .access = TROUPE_ADAPTER_WRITE, .msg_type = MSG_ADD, .legacy = legacy_add,
     .actor = actor_add, .result_max = sizeof(int64_t), .format = fmt_balance},
    {.name = "get", .access = TROUPE_ADAPTER_READ, .msg_type = MSG_GET, .legacy = legacy_get,
     .actor = actor_get, .result_max = sizeof(int64_t)},
};

static const troupe_adapter_def store_def = {.name = "store", .ops = store_ops, .nops = 2,
                                             .sync_type = MSG_SYNC, .load = store_load,
                                             .store = store_store};

static int store_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    int rc = troupe_adapter_serve(ctx, &store_def, st, msg);
    return rc < 0 ? rc : 0;
}

static const troupe_behaviour store_beh = {.name = "store-actor", .state_size = sizeof(store),
                                           .handle = store_handle};

/* The same store with views: "get" answered from a copy of the table the
 * actor publishes after every add and load. */
static int view_get(const void *view, const void *arg, size_t len, void *res, size_t cap,
                    size_t *rlen)
{
    return store_get(view, arg, len, res, cap, rlen);
}

static _Atomic uint64_t actor_gets; /* reads the actor answered by message */

static int actor_get_counted(troupe_ctx *ctx, void *st, const void *arg, size_t len, void *res,
                             size_t cap, size_t *rlen)
{
    atomic_fetch_add(&actor_gets, 1);
    return actor_get(ctx, st, arg, len, res, cap, rlen);
}

static void *store_make_view(const void *st)
{
    store *v = malloc(sizeof *v);
    if (v)
        memcpy(v, st, sizeof *v);
    return v;
}

static const troupe_adapter_op storev_ops[] = {
    {.name = "add", .access = TROUPE_ADAPTER_WRITE, .msg_type = MSG_ADD, .legacy = legacy_add,
     .actor = actor_add, .result_max = sizeof(int64_t), .format = fmt_balance},
    {.name = "get", .access = TROUPE_ADAPTER_READ, .msg_type = MSG_GET, .legacy = legacy_get,
     .actor = actor_get_counted, .result_max = sizeof(int64_t), .view = view_get},
};

static const troupe_adapter_def storev_def = {
    .name = "storev", .ops = storev_ops, .nops = 2, .sync_type = MSG_SYNC, .load = store_load,
    .store = store_store, .make_view = store_make_view, .free_view = free};

static int storev_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    int rc = troupe_adapter_serve(ctx, &storev_def, st, msg);
    return rc < 0 ? rc : 0;
}

static const troupe_behaviour storev_beh = {.name = "storev-actor", .state_size = sizeof(store),
                                            .handle = storev_handle};

#endif
