/* core/ask.c — request/reply.
 *
 * An ask is a record in a type-stable table; its id (generation << 32 |
 * index) travels in the request's corr field. The record's state word
 * (gen << 32 | state) is the single point of decision: the replier and the
 * timeout each try WAIT -> BUSY with one CAS, exactly one wins, and the
 * loser knows it is late (a late reply is dropped and counted).
 *
 * From a plain thread (troupe_ask, and troupe_call whose request goes
 * through call_send in core/call.c: when it finds the receiver idle the
 * asker runs it itself and the reply is in when the send returns) the
 * asker spins briefly on the record, then blocks on its futex word (fut:
 * 0 waiting, 1 replied, 2 the asker may sleep: only then does the replier
 * pay for a wake-up). From a
 * handler (troupe_ask_async) nothing blocks: the reply, or the timeout,
 * comes back as a message on the asker's system lane.
 */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/system.h"
#include "core/timer.h"

enum { A_FREE = 0, A_WAIT = 1, A_BUSY = 2, A_DONE = 3, A_TIMEOUT = 4 };
enum { F_WAIT = 0, F_REPLIED = 1, F_SLEEP = 2 }; /* a plain-thread record's fut */
#define REPLY_SPIN 128 /* polls of fut before sleeping (~2 us) */

typedef struct ask_rec {
    _Atomic uint64_t st;  /* gen << 32 | state */
    _Atomic uint32_t fut; /* plain-thread asker: F_REPLIED once the reply is in */
    troupe_ref asker;     /* NONE for a plain-thread ask */
    troupe_timer timer;   /* async: its timeout */
    tmsg reply;           /* plain-thread ask: the reply */
} ask_rec;

struct asks {
    table recs;
};

static inline uint64_t st_make(uint32_t gen, uint32_t s) { return ((uint64_t)gen << 32) | s; }

int asks_create(troupe_system *sys)
{
    sys->ak = sys_calloc(1, sizeof *sys->ak);
    if (!sys->ak || table_init(&sys->ak->recs, sizeof(ask_rec), 0))
        return TROUPE_ENOMEM;
    return 0;
}

void asks_destroy(troupe_system *sys)
{
    if (!sys->ak)
        return;
    if (sys->ak->recs.top)
        table_destroy(&sys->ak->recs, NULL, NULL);
    free(sys->ak);
    sys->ak = NULL;
}

static int ask_new(troupe_system *sys, troupe_ref asker, ask_rec **out, uint64_t *id)
{
    uint32_t idx;
    void *obj;
    if (table_alloc(&sys->ak->recs, &idx, &obj))
        return TROUPE_ENOMEM;
    ask_rec *r = obj;
    uint32_t gen = (uint32_t)(atomic_load_explicit(&r->st, memory_order_relaxed) >> 32) + 1;
    r->asker = asker;
    r->timer.id = 0;
    atomic_store_explicit(&r->fut, F_WAIT, memory_order_relaxed);
    /* release: the fields above before anyone can match this generation. */
    atomic_store_explicit(&r->st, st_make(gen, A_WAIT), memory_order_release);
    *out = r;
    *id = ((uint64_t)gen << 32) | idx;
    return 0;
}

static void ask_free(troupe_system *sys, ask_rec *r, uint64_t id)
{
    atomic_store_explicit(&r->st, st_make((uint32_t)(id >> 32), A_FREE), memory_order_release);
    table_free(&sys->ak->recs, (uint32_t)id);
}

/* WAIT -> BUSY for this generation: true for the one winner. */
static bool ask_claim(ask_rec *r, uint64_t id)
{
    uint64_t exp = st_make((uint32_t)(id >> 32), A_WAIT);
    /* acq_rel: the winner sees the asker's fields; the loser learns it is
     * late. */
    return r && atomic_compare_exchange_strong_explicit(&r->st, &exp,
                                                        st_make((uint32_t)(id >> 32), A_BUSY),
                                                        memory_order_acq_rel, memory_order_relaxed);
}

static int valid_payload(uint32_t type, const void *data, size_t len)
{
    if ((len && !data) || len > TROUPE_COPY_MAX || type >= TROUPE_MSG_SYSTEM)
        return TROUPE_EINVAL;
    return 0;
}

/* caller_runs: a plain thread's ask, which may run the receiver here
 * (call_send). */
static int send_ask(troupe_system *sys, troupe_ref to, uint32_t type, const void *data,
                    size_t len, uint64_t id, bool caller_runs)
{
    tmsg m;
    int rc = tmsg_copy(sys, &m, type, data, len);
    if (rc)
        return rc;
    m.flags_size |= MF_ASK;
    m.corr = id;
    rc = caller_runs ? call_send(sys, to, &m) : send_msg(sys, to, &m);
    if (rc && rc != TROUPE_EFAILED) /* EFAILED: delivered, handled, failed */
        tmsg_destroy(sys, &m);
    return rc;
}

/* A reply a plain thread waits for: spin a little (a receiver that was
 * busy with another caller's request, or running on a worker, often
 * answers within a microsecond), then announce the sleep (F_SLEEP, so the
 * replier wakes us) and sleep until fut changes or the deadline. */
static bool reply_spin(ask_rec *r)
{
    for (int i = 0; i < REPLY_SPIN; i++) {
        /* acquire: pairs with the replier's release exchange of fut. */
        if (atomic_load_explicit(&r->fut, memory_order_acquire) == F_REPLIED)
            return true;
        cpu_relax();
    }
    return false;
}

static void reply_sleep(ask_rec *r, uint64_t timeout_ns)
{
    uint32_t w = F_WAIT;
    /* relaxed: only announces the sleep; a reply that beat us (F_REPLIED)
     * fails the CAS and the wait below returns at once */
    atomic_compare_exchange_strong_explicit(&r->fut, &w, F_SLEEP, memory_order_relaxed,
                                            memory_order_relaxed);
    futex_wait_u32(&r->fut, F_SLEEP, timeout_ns);
}

/* Block until the reply or the deadline (none when it does not fit: a
 * timeout that large means forever); 0 when the reply is in. */
static int wait_reply(ask_rec *r, uint64_t id, uint64_t timeout_ns)
{
    if (reply_spin(r)) /* before reading the clock: a caller-run reply is in */
        return 0;
    uint64_t deadline = deadline_add(mono_ns(), timeout_ns);
    /* acquire: pairs with the replier's release exchange of fut. */
    while (atomic_load_explicit(&r->fut, memory_order_acquire) != F_REPLIED) {
        uint64_t now = mono_ns();
        if (now >= deadline && deadline != DEADLINE_NEVER)
            break;
        reply_sleep(r, deadline == DEADLINE_NEVER ? 0 : deadline - now);
    }
    if (atomic_load_explicit(&r->fut, memory_order_acquire) == F_REPLIED)
        return 0;
    if (ask_claim(r, id))
        return TROUPE_ETIMEDOUT;
    while (atomic_load_explicit(&r->fut, memory_order_acquire) != F_REPLIED) /* replier mid-write */
        reply_sleep(r, 0);
    return 0;
}

int ask_plain(troupe_system *sys, troupe_ref to, uint32_t type, const void *data, size_t len,
              uint64_t timeout_ns, uint32_t *reply_type, void *reply_buf, size_t reply_cap,
              size_t *reply_len, bool caller_runs)
{
    if (!sys || (reply_cap && !reply_buf) || valid_payload(type, data, len))
        return TROUPE_EINVAL;
    if (troupei_tls.ctx || troupei_tls.w)
        return TROUPE_ESTATE; /* a worker never blocks */
    ask_rec *r;
    uint64_t id;
    int rc = ask_new(sys, TROUPE_REF_NONE, &r, &id);
    if (rc)
        return rc;
    rc = send_ask(sys, to, type, data, len, id, caller_runs);
    if (rc == TROUPE_EFAILED && !ask_claim(r, id))
        rc = 0; /* it replied before it failed: the reply stands */
    if (rc || (rc = wait_reply(r, id, timeout_ns))) {
        ask_free(sys, r, id);
        return rc;
    }
    troupe_msg v;
    tmsg_view(&r->reply, &v);
    if (reply_type)
        *reply_type = v.type;
    if (reply_len)
        *reply_len = v.size;
    if (v.size && reply_cap)
        memcpy(reply_buf, v.data, v.size < reply_cap ? v.size : reply_cap);
    tmsg_destroy(sys, &r->reply);
    ask_free(sys, r, id);
    return 0;
}

TROUPE_API int troupe_ask(troupe_system *sys, troupe_ref to, uint32_t type, const void *data,
                          size_t len, uint64_t timeout_ns, uint32_t *reply_type, void *reply_buf,
                          size_t reply_cap, size_t *reply_len)
{
    return ask_plain(sys, to, type, data, len, timeout_ns, reply_type, reply_buf, reply_cap,
                     reply_len, false);
}

static void ask_timeout_fn(troupe_system *sys, uint64_t id)
{
    ask_rec *r = table_get(&sys->ak->recs, (uint32_t)id);
    if (!ask_claim(r, id))
        return; /* the reply won */
    tmsg m = {.type = TROUPE_MSG_ASK_TIMEOUT, .corr = id};
    send_sys(sys, r->asker, &m);
    ask_free(sys, r, id);
}

TROUPE_API int troupe_ask_async(troupe_ctx *ctx, troupe_ref to, uint32_t type, const void *data,
                                size_t len, uint64_t timeout_ns, uint64_t *ask_id)
{
    if (!ctx)
        return TROUPE_EINVAL;
    if (!ctx->a)
        return TROUPE_ESTATE;
    troupe_system *sys = ctx->sys;
    if (valid_payload(type, data, len))
        return TROUPE_EINVAL;
    ask_rec *r;
    uint64_t id;
    int rc = ask_new(sys, troupe_self(ctx), &r, &id);
    if (rc)
        return rc;
    /* saturating: a timeout that does not fit never comes */
    uint64_t deadline = deadline_add(troupe_clock_now(sys->clock), timeout_ns);
    if ((rc = timer_add_fn_at(sys, deadline, ask_timeout_fn, id, &r->timer))) {
        ask_free(sys, r, id);
        return rc;
    }
    if ((rc = send_ask(sys, to, type, data, len, id, false))) {
        if (ask_claim(r, id)) { /* else the timeout fired first and freed it */
            troupe_timer_cancel(sys, r->timer);
            ask_free(sys, r, id);
        }
        return rc;
    }
    if (ask_id)
        *ask_id = id;
    return 0;
}

static int deliver_reply(troupe_ctx *ctx, ask_rec *r, uint64_t id, tmsg *m)
{
    troupe_system *sys = ctx->sys;
    if (troupe_ref_is_none(r->asker)) {
        r->reply = *m;
        atomic_store_explicit(&r->st, st_make((uint32_t)(id >> 32), A_DONE), memory_order_relaxed);
        /* release: the reply before the flag (wait_reply's acquire). A wake
         * only when the asker announced its sleep (reply_sleep's CAS): an
         * asker that runs the handler itself, or still spins, costs no
         * system call. */
        if (atomic_exchange_explicit(&r->fut, F_REPLIED, memory_order_release) == F_SLEEP)
            futex_wake_u32(&r->fut, 1);
        return 0;
    }
    troupe_timer_cancel(sys, r->timer);
    m->corr = id;
    m->sender = troupe_self(ctx).id;
    troupe_ref asker = r->asker;
    ask_free(sys, r, id);
    if (send_sys(sys, asker, m))
        tmsg_destroy(sys, m); /* the asker is gone */
    return 0;
}

TROUPE_API int troupe_reply(troupe_ctx *ctx, uint32_t type, const void *data, size_t len)
{
    if (!ctx)
        return TROUPE_EINVAL;
    if (!ctx->msg || !(ctx->msg->flags_size & MF_ASK) || ctx->replied)
        return TROUPE_ESTATE;
    if (valid_payload(type, data, len))
        return TROUPE_EINVAL;
    troupe_system *sys = ctx->sys;
    uint64_t id = ctx->msg->corr;
    ask_rec *r = table_get(&sys->ak->recs, (uint32_t)id);
    tmsg m;
    int rc = tmsg_copy(sys, &m, type, data, len);
    if (rc)
        return rc;
    ctx->replied = true;
    if (!ask_claim(r, id)) {
        tmsg_destroy(sys, &m);
        atomic_fetch_add_explicit(&sys->late_replies, 1, memory_order_relaxed);
        return 0;
    }
    return deliver_reply(ctx, r, id, &m);
}
