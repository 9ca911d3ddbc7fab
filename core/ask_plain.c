/* core/ask_plain.c — a plain thread's synchronous ask (troupe_ask) and
 * call (troupe_call, whose request goes through call_send in core/call.c:
 * when it finds the receiver idle the caller runs it itself and the reply
 * is in when the send returns).
 *
 * The asker waits on its record's futex word (fut: F_WAIT, F_DONE, or
 * F_SLEEP once it may sleep: only then does the completer, ask_finish in
 * core/ask.c, pay for a wake-up): a short spin, for a call a yielding poll,
 * then the futex. A thread's synchronous asks reuse one cached record.
 */
#include <sched.h>
#include <string.h>

#include "core/ask.h"

#define REPLY_SPIN 256          /* polls of fut with a pause (a few us) */
#define REPLY_YIELD_NS 50000ull /* then, for a call, polls with a yield this long */

/* A plain thread's synchronous calls reuse one record: the index of the
 * last one it freed, kept out of the table's free stack (whose mutex is
 * the largest cost of a call). `serial` names the system it belongs to (an
 * address may be reused by a later system). An index cached by a thread
 * that exits, or replaced by another system's, is never reused: its object
 * is still freed with the table. */
static TROUPE_TLS struct {
    uint64_t serial;
    uint32_t idx;
} sync_cache;
static int ask_new_sync(troupe_system *sys, ask_rec **out, uint64_t *id)
{
    uint32_t idx = sync_cache.idx;
    if (idx == 0 || sync_cache.serial != sys->ak->serial)
        return ask_new(sys, AM_SYNC, out, id);
    sync_cache.idx = 0;
    ask_rec *r = table_get(&sys->ak->recs, idx);
    *out = r;
    ask_init(r, idx, AM_SYNC, id);
    return 0;
}

static void ask_free_sync(troupe_system *sys, ask_rec *r, uint64_t id)
{
    if (sync_cache.idx != 0 && sync_cache.serial == sys->ak->serial) {
        ask_free(sys, r, id);
        return;
    }
    /* release: our last reads of the record before its reuse (by this
     * thread; a late completer that lost the claim reads st only) */
    atomic_store_explicit(&r->st, st_make((uint32_t)(id >> 32), A_FREE), memory_order_release);
    sync_cache.serial = sys->ak->serial;
    sync_cache.idx = (uint32_t)id;
}

/* An outcome a plain thread waits for: spin a little (a receiver that was
 * busy with another caller's request, or running on a worker, often
 * answers within a microsecond), then announce the sleep (F_SLEEP, so the
 * completer wakes us) and sleep until fut changes or the deadline. */
static bool reply_spin(ask_rec *r)
{
    for (int i = 0; i < REPLY_SPIN; i++) {
        /* acquire: pairs with ask_finish's release exchange of fut. */
        if (atomic_load_explicit(&r->fut, memory_order_acquire) == F_DONE)
            return true;
        cpu_relax();
    }
    return false;
}

/* A patient waiter (troupe_call that found the actor busy: another caller
 * runs it, or a worker, and serves our request in the same run) then polls
 * with a yield for up to REPLY_YIELD_NS: with a free CPU the yield returns
 * at once and the answer comes within microseconds; on an oversubscribed
 * machine (more callers than cores) it hands our CPU to the thread that
 * runs the actor. Both beat the futex round trip (a sleep and a wake-up,
 * 5-20 us in this VM): with 2-8 callers on one actor the calls/s went from
 * 0.4-2.4 M to 6-8 M (docs/PERFORMANCE.md, issue 13). troupe_ask keeps the
 * short spin: a worker must wake for it, and a yielding asker would only
 * compete with that worker for the CPU. */
static bool reply_yield(ask_rec *r, uint64_t deadline)
{
    uint64_t until = deadline_add(mono_ns(), REPLY_YIELD_NS);
    until = until < deadline ? until : deadline;
    for (;;) {
        for (int i = 0; i < 16; i++) {
            /* acquire: pairs with ask_finish's release exchange of fut. */
            if (atomic_load_explicit(&r->fut, memory_order_acquire) == F_DONE)
                return true;
            sched_yield();
        }
        if (mono_ns() >= until)
            return false;
    }
}

static void reply_sleep(ask_rec *r, uint64_t timeout_ns)
{
    uint32_t w = F_WAIT;
    /* relaxed: only announces the sleep; an outcome that beat us (F_DONE)
     * fails the CAS and the wait below returns at once */
    atomic_compare_exchange_strong_explicit(&r->fut, &w, F_SLEEP, memory_order_relaxed,
                                            memory_order_relaxed);
    futex_wait_u32(&r->fut, F_SLEEP, timeout_ns);
}

static bool reply_in(ask_rec *r)
{
    /* acquire: pairs with ask_finish's release exchange of fut. */
    return atomic_load_explicit(&r->fut, memory_order_acquire) == F_DONE;
}

/* Block until the outcome or the deadline (none when it does not fit: a
 * timeout that large means forever); 0 when the outcome is in r->rc. */
static int wait_reply(ask_rec *r, uint64_t id, uint64_t timeout_ns, bool patient)
{
    if (reply_spin(r)) /* before reading the clock: a caller-run reply is in */
        return 0;
    uint64_t deadline = deadline_add(mono_ns(), timeout_ns);
    if (patient && reply_yield(r, deadline))
        return 0;
    while (!reply_in(r)) {
        uint64_t now = mono_ns();
        if (now >= deadline && deadline != DEADLINE_NEVER)
            break;
        reply_sleep(r, deadline == DEADLINE_NEVER ? 0 : deadline - now);
    }
    if (reply_in(r))
        return 0;
    if (ask_claim(r, id))
        return TROUPE_ETIMEDOUT;
    while (!reply_in(r)) /* completer mid-write */
        reply_sleep(r, 0);
    return 0;
}

/* Copy a reply out: TROUPE_ETRUNC when a buffer was given and the payload
 * does not fit (the first cap bytes are copied, *len gets the full size). */
int ask_copy_reply(const tmsg *m, uint32_t *type, void *buf, size_t cap, size_t *len)
{
    troupe_msg v;
    tmsg_view(m, &v);
    if (type)
        *type = v.type;
    if (len)
        *len = v.size;
    if (v.size && cap)
        memcpy(buf, v.data, v.size < cap ? v.size : cap);
    return buf && v.size > cap ? TROUPE_ETRUNC : 0;
}

int ask_plain(troupe_system *sys, troupe_ref to, uint32_t type, const void *data, size_t len,
              uint64_t timeout_ns, uint32_t *reply_type, void *reply_buf, size_t reply_cap,
              size_t *reply_len, bool caller_runs)
{
    if (!sys || (reply_cap && !reply_buf) || ask_valid_payload(type, data, len))
        return TROUPE_EINVAL;
    if (troupei_tls.ctx || troupei_tls.w)
        return TROUPE_ESTATE; /* a worker never blocks */
    if (unlikely(sys->manual))
        return TROUPE_ESTATE; /* no thread would answer: troupe_testkit_ask */
    ask_rec *r;
    uint64_t id;
    int rc = ask_new_sync(sys, &r, &id);
    if (rc)
        return rc;
    rc = ask_send(sys, to, type, data, len, id, caller_runs);
    if (rc == TROUPE_EFAILED && !ask_claim(r, id))
        rc = 0; /* completed already (its reply, or the failure: in r->rc) */
    if (rc || (rc = wait_reply(r, id, timeout_ns, caller_runs)) || (rc = r->rc)) {
        ask_trace_end(sys, r, id, rc);
        ask_free_sync(sys, r, id);
        return rc;
    }
    ask_trace_end(sys, r, id, 0); /* the CLIENT span: the reply is in */
    rc = ask_copy_reply(&r->reply, reply_type, reply_buf, reply_cap, reply_len);
    tmsg_destroy(sys, &r->reply);
    ask_free_sync(sys, r, id);
    return rc;
}

TROUPE_API int troupe_ask(troupe_system *sys, troupe_ref to, uint32_t type, const void *data,
                          size_t len, uint64_t timeout_ns, uint32_t *reply_type, void *reply_buf,
                          size_t reply_cap, size_t *reply_len)
{
    return ask_plain(sys, to, type, data, len, timeout_ns, reply_type, reply_buf, reply_cap,
                     reply_len, false);
}
