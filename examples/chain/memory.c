/* examples/chain/memory.c — the chain and the engine as actors that keep
 * their state in memory only: the other side of the like-with-like figure
 * (compare.c).
 *
 * The legacy structs persist nothing, so an actor that persists every write
 * before it answers is not the same program: its figure mixes the cost of
 * the path with the cost of a journal. Here each op is the legacy
 * implementation itself (legacy.c), run on the actor's own copy in its
 * handler — the actor's one-message-at-a-time in place of the lock, and
 * nothing else changed. The persistent actors (actors.c) give the durable
 * figure, apart.
 */
#include <stdio.h>
#include <string.h>

#include "chain.h"

/* The actor side of each op: the legacy function on the actor's state. */
#define MEM_FN(name, legacy)                                                                   \
    static ACTOR_FN(name)                                                                      \
    {                                                                                          \
        (void)ctx;                                                                             \
        return legacy(state, arg, len, res, cap, rlen);                                        \
    }
MEM_FN(mem_import, legacy_import)
MEM_FN(mem_produce, legacy_produce)
MEM_FN(mem_head, legacy_head)
MEM_FN(mem_get, legacy_get)
MEM_FN(mem_verify, legacy_verify)
MEM_FN(mem_execute, legacy_execute)
MEM_FN(mem_balance, legacy_balance)
MEM_FN(mem_totals, legacy_totals)

/* A sync copies the whole state one way or the other (the switch holds
 * the object's write lock meanwhile). */
static int chain_mem_load(troupe_ctx *ctx, void *state, const void *obj)
{
    (void)ctx;
    memcpy(state, obj, sizeof(chain));
    return 0;
}

static int engine_mem_load(troupe_ctx *ctx, void *state, const void *obj)
{
    (void)ctx;
    memcpy(state, obj, sizeof(engine));
    return 0;
}

#define W TROUPE_ADAPTER_WRITE
#define R TROUPE_ADAPTER_READ

static const troupe_adapter_op chain_mem_ops[CHAIN_NOPS] = {
    [CHAIN_IMPORT] = {.name = "import_block", .access = W, .msg_type = MSG_CHAIN_OP + CHAIN_IMPORT,
                      .legacy = legacy_import, .actor = mem_import,
                      .result_max = sizeof(import_result)},
    [CHAIN_PRODUCE] = {.name = "produce_block", .access = W,
                       .msg_type = MSG_CHAIN_OP + CHAIN_PRODUCE, .legacy = legacy_produce,
                       .actor = mem_produce, .result_max = sizeof(block)},
    [CHAIN_HEAD] = {.name = "head", .access = R, .msg_type = MSG_CHAIN_OP + CHAIN_HEAD,
                    .legacy = legacy_head, .actor = mem_head, .result_max = sizeof(head_result)},
    [CHAIN_GET] = {.name = "get_block", .access = R, .msg_type = MSG_CHAIN_OP + CHAIN_GET,
                   .legacy = legacy_get, .actor = mem_get, .result_max = sizeof(get_result)},
    [CHAIN_VERIFY] = {.name = "verify", .access = R, .msg_type = MSG_CHAIN_OP + CHAIN_VERIFY,
                      .legacy = legacy_verify, .actor = mem_verify,
                      .result_max = sizeof(verify_result)},
};

static const troupe_adapter_op engine_mem_ops[ENGINE_NOPS] = {
    [ENGINE_EXECUTE] = {.name = "execute_payload", .access = W,
                        .msg_type = MSG_ENGINE_OP + ENGINE_EXECUTE, .legacy = legacy_execute,
                        .actor = mem_execute, .result_max = sizeof(exec_result)},
    [ENGINE_BALANCE] = {.name = "balance", .access = R, .msg_type = MSG_ENGINE_OP + ENGINE_BALANCE,
                        .legacy = legacy_balance, .actor = mem_balance,
                        .result_max = sizeof(int64_t)},
    [ENGINE_TOTALS] = {.name = "totals", .access = R, .msg_type = MSG_ENGINE_OP + ENGINE_TOTALS,
                       .legacy = legacy_totals, .actor = mem_totals,
                       .result_max = sizeof(totals_result)},
};

/* Named apart from the showcase's adapters, so that an operator's pin of
 * adapter.chain or adapter.engine does not choose the path measured. */
const troupe_adapter_def chain_mem_adapter_def = {
    .name = "chain_mem", .ops = chain_mem_ops, .nops = CHAIN_NOPS, .sync_type = MSG_CHAIN_SYNC,
    .load = chain_mem_load, .store = chain_store,
};

const troupe_adapter_def engine_mem_adapter_def = {
    .name = "engine_mem", .ops = engine_mem_ops, .nops = ENGINE_NOPS,
    .sync_type = MSG_ENGINE_SYNC, .load = engine_mem_load, .store = engine_store,
};

static int mem_handle(troupe_ctx *ctx, const troupe_adapter_def *def, void *state,
                      const troupe_msg *msg)
{
    int rc = troupe_adapter_serve(ctx, def, state, msg);
    if (rc == 0) /* not ours: a stray message must not take the state down */
        fprintf(stderr, "chain demo: %s actor: message %u ignored\n", def->name, msg->type);
    return rc < 0 ? rc : 0;
}

static int chain_mem_init(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx, (void)arg;
    chain_genesis(state);
    return 0;
}

static int chain_mem_handle(troupe_ctx *ctx, void *state, const troupe_msg *msg)
{
    return mem_handle(ctx, &chain_mem_adapter_def, state, msg);
}

static int engine_mem_init(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx, (void)arg;
    engine_genesis(state);
    return 0;
}

static int engine_mem_handle(troupe_ctx *ctx, void *state, const troupe_msg *msg)
{
    return mem_handle(ctx, &engine_mem_adapter_def, state, msg);
}

const troupe_behaviour chain_mem_beh = {
    .name = "chain_mem", .state_size = sizeof(chain), .init = chain_mem_init,
    .handle = chain_mem_handle,
};

const troupe_behaviour engine_mem_beh = {
    .name = "engine_mem", .state_size = sizeof(engine), .init = engine_mem_init,
    .handle = engine_mem_handle,
};
