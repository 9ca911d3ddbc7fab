/* tests/persistence/pers_support.h — the persistent test actor ("ledger")
 * and helpers shared by the persistence suites.
 *
 * ledger keeps n (events applied), sum and an order-sensitive hash of the
 * values it was given: two states are equal only if the same events were
 * applied in the same order. ADD persists one event and answers after it
 * is durable (the deferred reply); ADD2 persists two; ADD_FAIL persists one
 * and then fails (nothing must be kept); GET answers at once; PANIC panics.
 */
#ifndef TROUPE_TESTS_PERS_SUPPORT_H
#define TROUPE_TESTS_PERS_SUPPORT_H

#include <stdlib.h>

#include "../support.h"

enum { P_ADD = 1, P_ADD2, P_ADD_FAIL, P_GET, P_PANIC, P_STATE, P_ADD_R, P_ECHO };

typedef struct ledger {
    uint64_t n, sum, hash;
} ledger;

static inline void ledger_apply_value(ledger *s, uint64_t v)
{
    s->n++;
    s->sum += v;
    s->hash = s->hash * 1099511628211ull + v + 1;
}

static atomic_long ledger_applies; /* apply calls, recovery included */

static int ledger_apply(troupe_ctx *ctx, void *state, const void *ev, size_t len)
{
    ledger *s = state;
    uint64_t v;
    if (len != sizeof v)
        return TROUPE_EINVAL;
    memcpy(&v, ev, sizeof v);
    ledger_apply_value(s, v);
    atomic_fetch_add(&ledger_applies, 1);
    troupe_reply(ctx, P_STATE, s, sizeof *s); /* to no one when no ask waits (0) */
    return 0;
}

static int ledger_snapshot(troupe_ctx *ctx, void *state, void **data, size_t *len)
{
    (void)ctx;
    if (!(*data = malloc(sizeof(ledger))))
        return TROUPE_ENOMEM;
    memcpy(*data, state, sizeof(ledger));
    *len = sizeof(ledger);
    return 0;
}

static int ledger_restore(troupe_ctx *ctx, void *state, const void *data, size_t len)
{
    (void)ctx;
    if (len != sizeof(ledger))
        return TROUPE_EINVAL;
    memcpy(state, data, len);
    return 0;
}

static int ledger_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    uint64_t v = 0;
    if (m->size == sizeof v)
        memcpy(&v, m->data, sizeof v);
    switch (m->type) {
    case P_ADD: return troupe_persist(ctx, &v, sizeof v);
    case P_ADD2: {
        int rc = troupe_persist(ctx, &v, sizeof v);
        uint64_t w = v + 1;
        return rc ? rc : troupe_persist(ctx, &w, sizeof w);
    }
    case P_ADD_FAIL: {
        int rc = troupe_persist(ctx, &v, sizeof v);
        return rc ? rc : TROUPE_EFAILED;
    }
    case P_GET: return troupe_reply(ctx, P_STATE, state, sizeof(ledger));
    case P_ADD_R: { /* persist, and answer the value now, sent once durable */
        int rc = troupe_persist(ctx, &v, sizeof v);
        return rc ? rc : troupe_persist_reply(ctx, P_ECHO, &v, sizeof v);
    }
    case P_PANIC: troupe_panic("ledger panics on purpose"); return 0;
    default: return 0;
    }
}

static const troupe_persistence ledger_persist = {.apply = ledger_apply,
                                                .snapshot = ledger_snapshot,
                                                .restore = ledger_restore,
                                                .schema = 1,
                                                .snapshot_every = 100,
                                                .retention = 10};

static const troupe_behaviour ledger_beh = {.name = "ledger",
                                          .state_size = sizeof(ledger),
                                          .handle = ledger_handle,
                                          .persist = &ledger_persist};

/* An ask of ledger; returns its state (the reply). */
static inline ledger ledger_ask(troupe_system *sys, troupe_ref r, uint32_t type, uint64_t v)
{
    ledger out;
    memset(&out, 0, sizeof out);
    uint32_t rt = 0;
    size_t n = 0;
    int rc = troupe_ask(sys, r, type, &v, sizeof v, ASK_FOREVER_NS, &rt, &out, sizeof out, &n);
    cr_assert_eq(rc, 0, "ask %u: %s", type, troupe_errname(rc));
    cr_assert_eq(rt, P_STATE);
    cr_assert_eq(n, sizeof out);
    return out;
}

static inline troupe_ref ledger_spawn(troupe_system *sys, const char *pid)
{
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.persistence_id = pid;
    return tt_spawn(sys, &ledger_beh, NULL, &o);
}

/* A ledger as a child of the root supervisor, restarted always; its name is
 * its persistence id. */
static inline troupe_ref ledger_start_child(troupe_system *sys, const char *name)
{
    troupe_child_spec s;
    troupe_child_spec_defaults(&s);
    s.beh = &ledger_beh;
    s.name = name;
    s.policy.kind = TROUPE_RESTART_ALWAYS;
    troupe_sup root;
    cr_assert_eq(troupe_sup_root(sys, &root), 0);
    troupe_ref r;
    int rc = troupe_sup_start_child(sys, root, &s, &r);
    cr_assert_eq(rc, 0, "start: %s", troupe_errname(rc));
    return r;
}

static inline troupe_system *pers_system(troupe_journal *j, uint32_t workers)
{
    troupe_config cfg = tt_config(workers, NULL);
    cfg.journal = j;
    return tt_system_cfg(&cfg);
}

/* A fresh temporary directory (removed by pers_rmdir). */
static inline char *pers_tmpdir(void)
{
    char *d = strdup("/tmp/troupe-pers-XXXXXX");
    cr_assert_not_null(mkdtemp(d));
    return d;
}

static inline void pers_rmdir(char *d)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    cr_assert_eq(system(cmd), 0);
    free(d);
}

#endif
