/* examples/chain/actors.c — the new code: the chain and the engine as
 * actors, each with its own copy of the state, supervised and persistent.
 *
 * Event sourcing (troupe/persist.h): an op never changes the state itself.
 * It computes its result from the state, as the legacy code would, and
 * persists the change as an event — the chain's is the block appended, the
 * engine's the payload executed; the state moves when the runtime applies
 * the event once it is durable, before the actor takes its next message.
 * So a restart (an injected panic here) or a rerun of the whole demo
 * replays exactly what was acknowledged. A sync that loads the legacy
 * object is an event too (the whole state, RESET), so that the journal
 * stays the actor's complete history.
 *
 * Besides the adapters' messages, the handlers take MSG_FAULT (panic on
 * purpose: the supervisor restarts the actor, its queued messages wait)
 * and MSG_DUMP (reply with the whole state: the demo's checks).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"

enum { EV_BLOCK = 1, EV_PAYLOAD = 2, EV_RESET = 3 };

/* An event: its kind (8 bytes), then a block, a payload or a whole state. */
#define EV_HEAD sizeof(uint64_t)

typedef struct block_event {
    uint64_t kind;
    block b;
} block_event;

typedef struct payload_event {
    uint64_t kind;
    payload p;
} payload_event;

/* The kind of a stored event, 0 if it is too short to have one. */
static uint64_t event_kind(const void *event, size_t len)
{
    uint64_t kind = 0;
    if (len >= EV_HEAD)
        memcpy(&kind, event, EV_HEAD);
    return kind;
}

/* A RESET event carrying a whole state of `size` bytes: applied, 1; any
 * other event, 0. */
static int apply_reset(void *state, size_t size, const void *event, size_t len)
{
    if (event_kind(event, len) != EV_RESET || len != EV_HEAD + size)
        return 0;
    memcpy(state, (const char *)event + EV_HEAD, size);
    return 1;
}

/* A RESET event: the whole state (size bytes) after its kind. */
static int persist_reset(troupe_ctx *ctx, const void *obj, size_t size)
{
    char *ev = malloc(EV_HEAD + size);
    if (!ev)
        return TROUPE_ENOMEM;
    uint64_t kind = EV_RESET;
    memcpy(ev, &kind, EV_HEAD);
    memcpy(ev + EV_HEAD, obj, size);
    int rc = troupe_persist(ctx, ev, EV_HEAD + size);
    free(ev);
    return rc;
}

/* ---- the chain ------------------------------------------------------------------------ */

static int chain_write(troupe_ctx *ctx, chain_write_fn op, const chain *c, const void *arg,
                       size_t len, void *res, size_t cap, size_t *rlen)
{
    block b;
    int rc = op(c, arg, len, res, cap, rlen, &b);
    if (rc != 0 || b.height == 0)
        return rc;
    block_event ev = {.kind = EV_BLOCK, .b = b};
    return troupe_persist(ctx, &ev, sizeof ev);
}

ACTOR_FN(actor_import)
{
    return chain_write(ctx, chain_op_import, state, arg, len, res, cap, rlen);
}

ACTOR_FN(actor_produce)
{
    return chain_write(ctx, chain_op_produce, state, arg, len, res, cap, rlen);
}

ACTOR_FN(actor_head)
{
    (void)ctx;
    return chain_op_head(state, arg, len, res, cap, rlen);
}

ACTOR_FN(actor_get)
{
    (void)ctx;
    return chain_op_get(state, arg, len, res, cap, rlen);
}

ACTOR_FN(actor_verify)
{
    (void)ctx;
    return chain_op_verify(state, arg, len, res, cap, rlen);
}

/* Recovery checks every block again: a journal whose blocks do not link
 * fails the start (and would fail a live actor: it never persists one). */
static int chain_apply(troupe_ctx *ctx, void *state, const void *event, size_t len)
{
    (void)ctx;
    block_event ev;
    if (apply_reset(state, sizeof(chain), event, len))
        return 0;
    if (event_kind(event, len) != EV_BLOCK || len != sizeof ev)
        return TROUPE_ECORRUPT;
    memcpy(&ev, event, sizeof ev);
    if (chain_check(state, &ev.b) != IMPORT_OK)
        return TROUPE_ECORRUPT;
    chain_append(state, &ev.b);
    return 0;
}

/* Loading the legacy chain is a RESET event: the copy is taken now (the
 * object is stable only while the switch holds its write lock) and
 * becomes the state when applied, before the next message. */
int chain_load(troupe_ctx *ctx, void *state, const void *obj)
{
    (void)state;
    return persist_reset(ctx, obj, sizeof(chain));
}

int chain_store(troupe_ctx *ctx, void *state, void *obj)
{
    (void)ctx;
    memcpy(obj, state, sizeof(chain));
    return 0;
}

/* ---- the engine ----------------------------------------------------------------------- */

/* The result comes from a scratch copy (the state moves at the apply). */
ACTOR_FN(actor_execute)
{
    if (!payload_ok(arg, len) || cap < sizeof(exec_result))
        return TROUPE_EINVAL;
    payload_event ev = {.kind = EV_PAYLOAD};
    memcpy(&ev.p, arg, sizeof ev.p);
    engine scratch;
    memcpy(&scratch, state, sizeof scratch);
    exec_result r = engine_apply(&scratch, &ev.p);
    memcpy(res, &r, sizeof r);
    *rlen = sizeof r;
    return troupe_persist(ctx, &ev, sizeof ev);
}

ACTOR_FN(actor_balance)
{
    (void)ctx;
    return engine_op_balance(state, arg, len, res, cap, rlen);
}

ACTOR_FN(actor_totals)
{
    (void)ctx;
    return engine_op_totals(state, arg, len, res, cap, rlen);
}

static int engine_apply_event(troupe_ctx *ctx, void *state, const void *event, size_t len)
{
    (void)ctx;
    payload_event ev;
    if (apply_reset(state, sizeof(engine), event, len))
        return 0;
    if (event_kind(event, len) != EV_PAYLOAD || len != sizeof ev)
        return TROUPE_ECORRUPT;
    memcpy(&ev, event, sizeof ev);
    if (ev.p.n > PAYLOAD_MAX)
        return TROUPE_ECORRUPT;
    engine_apply(state, &ev.p);
    return 0;
}

int engine_load(troupe_ctx *ctx, void *state, const void *obj)
{
    (void)state;
    return persist_reset(ctx, obj, sizeof(engine));
}

int engine_store(troupe_ctx *ctx, void *state, void *obj)
{
    (void)ctx;
    memcpy(obj, state, sizeof(engine));
    return 0;
}

/* ---- snapshots: the whole state --------------------------------------------------------- */

static int snapshot_of(const void *state, size_t size, void **data, size_t *len)
{
    if (!(*data = malloc(size)))
        return TROUPE_ENOMEM;
    memcpy(*data, state, size);
    *len = size;
    return 0;
}

static int chain_snapshot(troupe_ctx *ctx, void *state, void **data, size_t *len)
{
    (void)ctx;
    return snapshot_of(state, sizeof(chain), data, len);
}

static int engine_snapshot(troupe_ctx *ctx, void *state, void **data, size_t *len)
{
    (void)ctx;
    return snapshot_of(state, sizeof(engine), data, len);
}

static int restore_of(void *state, size_t size, const void *data, size_t len)
{
    if (len != size)
        return TROUPE_ECORRUPT;
    memcpy(state, data, len);
    return 0;
}

static int chain_restore(troupe_ctx *ctx, void *state, const void *data, size_t len)
{
    (void)ctx;
    return restore_of(state, sizeof(chain), data, len);
}

static int engine_restore(troupe_ctx *ctx, void *state, const void *data, size_t len)
{
    (void)ctx;
    return restore_of(state, sizeof(engine), data, len);
}

/* ---- the behaviours --------------------------------------------------------------------- */

static int handle_common(troupe_ctx *ctx, const troupe_adapter_def *def, void *state, size_t size,
                         const troupe_msg *msg)
{
    if (msg->type == MSG_FAULT)
        return troupe_panic(msg->size ? msg->data : "injected fault");
    if (msg->type == MSG_DUMP)
        return troupe_reply(ctx, MSG_DUMP, state, size);
    int rc = troupe_adapter_serve(ctx, def, state, msg);
    if (rc == 0) /* not ours: a stray message must not take the state down */
        fprintf(stderr, "chain demo: %s actor: message %u ignored\n", def->name, msg->type);
    return rc < 0 ? rc : 0;
}

static int chain_init(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx, (void)arg;
    chain_genesis(state); /* then recovery replays the journal over it */
    return 0;
}

static int chain_handle(troupe_ctx *ctx, void *state, const troupe_msg *msg)
{
    return handle_common(ctx, &chain_adapter_def, state, sizeof(chain), msg);
}

static int engine_init(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx, (void)arg;
    engine_genesis(state);
    return 0;
}

static int engine_handle(troupe_ctx *ctx, void *state, const troupe_msg *msg)
{
    return handle_common(ctx, &engine_adapter_def, state, sizeof(engine), msg);
}

/* A snapshot every 1000 events bounds a restart's replay; the journal
 * keeps 1000 events before it (the default retention). */
static const troupe_persistence chain_persistence = {
    .apply = chain_apply, .snapshot = chain_snapshot, .restore = chain_restore,
    .schema = 1, .snapshot_every = 1000,
};

static const troupe_persistence engine_persistence = {
    .apply = engine_apply_event, .snapshot = engine_snapshot, .restore = engine_restore,
    .schema = 1, .snapshot_every = 1000,
};

const troupe_behaviour chain_actor_beh = {
    .name = "chain", .state_size = sizeof(chain), .init = chain_init, .handle = chain_handle,
    .persist = &chain_persistence,
};

const troupe_behaviour engine_actor_beh = {
    .name = "engine", .state_size = sizeof(engine), .init = engine_init,
    .handle = engine_handle, .persist = &engine_persistence,
};
