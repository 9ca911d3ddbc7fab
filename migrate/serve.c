/* migrate/serve.c — the actor's side of an adapter: troupe_adapter_serve
 * runs an op's actor implementation, or a sync (load / store), in the
 * actor's handler and replies with the code (int32) and the result. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "migrate/mig.h"
#include "troupe/async.h"

#define SMALL 256

static void reply_code(troupe_ctx *ctx, uint32_t type, int32_t rc)
{
    troupe_reply(ctx, type, &rc, sizeof rc); /* a tell has no one to answer: ignored */
}

/* Publish a fresh view of state (def.make_view) before the reply goes out:
 * the caller's next read sees its write. No view made = the last one stays
 * until the next write; reads that find none go through troupe_call. */
static void publish_view(troupe_ctx *ctx, const troupe_adapter_def *def, const void *state)
{
    if (!def->make_view)
        return;
    void *v = def->make_view(state);
    if (v && troupe_view_publish(ctx, v, def->free_view) && def->free_view)
        def->free_view(v); /* not published: still ours */
}

static int serve_op(const troupe_adapter_def *def, troupe_ctx *ctx, const troupe_adapter_op *op, void *state,
                    const troupe_msg *msg)
{
    size_t cap = op->result_max;
    char small[sizeof(int32_t) + SMALL];
    char *buf = cap <= SMALL ? small : sys_malloc(sizeof(int32_t) + cap);
    if (!buf) {
        reply_code(ctx, msg->type, TROUPE_ENOMEM);
        return 1;
    }
    size_t n = 0;
    int32_t rc = op->actor(ctx, state, msg->data, msg->size, buf + sizeof rc, cap, &n);
    memcpy(buf, &rc, sizeof rc);
    if (op->access == TROUPE_ADAPTER_WRITE)
        publish_view(ctx, def, state);
    /* an op that persisted answers once its events are durable */
    troupe_persist_reply(ctx, msg->type, buf, sizeof rc + (n < cap ? n : cap));
    if (buf != small)
        free(buf);
    return 1;
}

/* A sync runs only if the actor claims its ticket before the switch that
 * sent it gives up (migrate/mig.h, syncmsg). */
static int serve_sync(troupe_ctx *ctx, const troupe_adapter_def *def, void *state,
                      const troupe_msg *msg)
{
    syncmsg s;
    if (msg->size != sizeof s || !msg->data)
        return TROUPE_EINVAL;
    memcpy(&s, msg->data, sizeof s);
    if ((s.dir != TROUPE_ADAPTER_SYNC_LOAD && s.dir != TROUPE_ADAPTER_SYNC_STORE) || !s.ticket)
        return TROUPE_EINVAL;
    uint64_t open = s.seq << 2 | TK_OPEN;
    int32_t rc = TROUPE_ECANCELED;
    /* acq_rel: pairs with the switcher's expiring CAS (sync_abandon) */
    if (atomic_compare_exchange_strong_explicit(s.ticket, &open, s.seq << 2 | TK_CLAIMED,
                                                memory_order_acq_rel, memory_order_acquire)) {
        rc = s.dir == TROUPE_ADAPTER_SYNC_LOAD ? def->load(ctx, state, s.obj)
                                               : def->store(ctx, state, s.obj);
        if (rc == 0 && s.dir == TROUPE_ADAPTER_SYNC_LOAD)
            publish_view(ctx, def, state);
        /* release: pairs with the acquire wait in sync_abandon */
        atomic_store_explicit(s.ticket, s.seq << 2 | TK_DONE, memory_order_release);
    }
    reply_code(ctx, msg->type, rc);
    return 1;
}

TROUPE_API int troupe_adapter_serve(troupe_ctx *ctx, const troupe_adapter_def *def, void *state,
                                    const troupe_msg *msg)
{
    if (!ctx || !def || !msg || (!def->ops && def->nops))
        return TROUPE_EINVAL;
    if (msg->type == def->sync_type)
        return def->load && def->store ? serve_sync(ctx, def, state, msg) : TROUPE_EINVAL;
    for (uint32_t i = 0; i < def->nops; i++)
        if (def->ops[i].msg_type == msg->type)
            return def->ops[i].actor ? serve_op(def, ctx, &def->ops[i], state, msg) : TROUPE_EINVAL;
    return 0;
}
