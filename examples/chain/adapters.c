/* examples/chain/adapters.c — the ChainAdapter and the EngineAdapter: each
 * op's legacy implementation (legacy.c) and actor implementation
 * (actors.c), its lock mode, its actor message, and how a result reads in
 * a mismatch report. The flags "adapter.chain" and "adapter.engine" pick
 * the path of every call (troupe/adapter.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "chain.h"

/* ---- results as text, for mismatch reports ----------------------------------------- */

static void fmt_block(const troupe_adapter_result *r, char *buf, size_t cap)
{
    block b = {0};
    if (r->len == sizeof b)
        memcpy(&b, r->data, sizeof b);
    snprintf(buf, cap, "rc=%d block %" PRIu64 " hash %016" PRIx64 " parent %016" PRIx64, r->rc,
             b.height, b.hash, b.parent);
}

static void fmt_import(const troupe_adapter_result *r, char *buf, size_t cap)
{
    static const char *const names[] = {"ok", "stale", "bad-parent", "bad-hash"};
    import_result v = {0};
    if (r->len == sizeof v)
        memcpy(&v, r->data, sizeof v);
    snprintf(buf, cap, "rc=%d %s, height %" PRIu64 " tip %016" PRIx64, r->rc,
             v.status < 4 ? names[v.status] : "?", v.height, v.tip);
}

static void fmt_head(const troupe_adapter_result *r, char *buf, size_t cap)
{
    head_result v = {0};
    if (r->len >= sizeof v) /* verify_result starts the same way */
        memcpy(&v, r->data, sizeof v);
    snprintf(buf, cap, "rc=%d height %" PRIu64 " tip %016" PRIx64 " digest %016" PRIx64, r->rc,
             v.height, v.tip, v.digest);
}

static void fmt_exec(const troupe_adapter_result *r, char *buf, size_t cap)
{
    exec_result v = {0};
    if (r->len == sizeof v)
        memcpy(&v, r->data, sizeof v);
    snprintf(buf, cap, "rc=%d applied %u rejected %u root %016" PRIx64 " payloads %" PRIu64, r->rc,
             v.applied, v.rejected, v.root, v.payloads);
}

static void fmt_totals(const troupe_adapter_result *r, char *buf, size_t cap)
{
    totals_result v = {0};
    if (r->len == sizeof v)
        memcpy(&v, r->data, sizeof v);
    snprintf(buf, cap, "rc=%d supply %" PRId64 " root %016" PRIx64 " payloads %" PRIu64, r->rc,
             v.supply, v.root, v.payloads);
}

/* ---- the definitions ------------------------------------------------------------------- */

#define W TROUPE_ADAPTER_WRITE
#define R TROUPE_ADAPTER_READ

static const troupe_adapter_op chain_ops[CHAIN_NOPS] = {
    [CHAIN_IMPORT] = {.name = "import_block", .access = W, .msg_type = MSG_CHAIN_OP + CHAIN_IMPORT,
                      .legacy = legacy_import, .actor = actor_import,
                      .result_max = sizeof(import_result), .format = fmt_import},
    [CHAIN_PRODUCE] = {.name = "produce_block", .access = W,
                       .msg_type = MSG_CHAIN_OP + CHAIN_PRODUCE, .legacy = legacy_produce,
                       .actor = actor_produce, .result_max = sizeof(block), .format = fmt_block},
    [CHAIN_HEAD] = {.name = "head", .access = R, .msg_type = MSG_CHAIN_OP + CHAIN_HEAD,
                    .legacy = legacy_head, .actor = actor_head,
                    .result_max = sizeof(head_result), .format = fmt_head},
    [CHAIN_GET] = {.name = "get_block", .access = R, .msg_type = MSG_CHAIN_OP + CHAIN_GET,
                   .legacy = legacy_get, .actor = actor_get, .result_max = sizeof(get_result)},
    [CHAIN_VERIFY] = {.name = "verify", .access = R, .msg_type = MSG_CHAIN_OP + CHAIN_VERIFY,
                      .legacy = legacy_verify, .actor = actor_verify,
                      .result_max = sizeof(verify_result), .format = fmt_head},
};

static const troupe_adapter_op engine_ops[ENGINE_NOPS] = {
    [ENGINE_EXECUTE] = {.name = "execute_payload", .access = W,
                        .msg_type = MSG_ENGINE_OP + ENGINE_EXECUTE, .legacy = legacy_execute,
                        .actor = actor_execute, .result_max = sizeof(exec_result),
                        .format = fmt_exec},
    [ENGINE_BALANCE] = {.name = "balance", .access = R, .msg_type = MSG_ENGINE_OP + ENGINE_BALANCE,
                        .legacy = legacy_balance, .actor = actor_balance,
                        .result_max = sizeof(int64_t)},
    [ENGINE_TOTALS] = {.name = "totals", .access = R, .msg_type = MSG_ENGINE_OP + ENGINE_TOTALS,
                       .legacy = legacy_totals, .actor = actor_totals,
                       .result_max = sizeof(totals_result), .format = fmt_totals},
};

const troupe_adapter_def chain_adapter_def = {
    .name = "chain", .ops = chain_ops, .nops = CHAIN_NOPS, .sync_type = MSG_CHAIN_SYNC,
    .load = chain_load, .store = chain_store,
};

const troupe_adapter_def engine_adapter_def = {
    .name = "engine", .ops = engine_ops, .nops = ENGINE_NOPS, .sync_type = MSG_ENGINE_SYNC,
    .load = engine_load, .store = engine_store,
};
