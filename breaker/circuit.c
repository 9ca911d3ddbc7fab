/* breaker/circuit.c — one circuit's state machine: CLOSED -> OPEN ->
 * HALF_OPEN -> CLOSED (or back to OPEN). Every function runs under the
 * circuit's stripe lock, with the system clock's `now` read under it too,
 * so that the outcomes of one stripe reach its windows in time order.
 * Nothing here blocks or allocates except circuit_new. */
#include <string.h>

#include "breaker/breaker.h"
#include "core/alloc.h"

circuit *circuit_new(const troupe_breaker *b, uint64_t key)
{
    size_t nb = b->cfg.window_buckets;
    circuit *c = sys_calloc(1, sizeof *c + nb * sizeof(bucket));
    if (!c)
        return NULL;
    c->key = key;
    c->state = TROUPE_BREAKER_CLOSED;
    c->timeout = b->cfg.open_timeout_ns;
    return c;
}

/* ---- the sliding window ----------------------------------------------------- */

static void win_add(const troupe_breaker *b, circuit *c, uint64_t now, bool success)
{
    uint64_t slot = now / b->width;
    bucket *bk = &c->win[slot % b->cfg.window_buckets];
    if (bk->slot != slot) /* a stale bucket: start it over for this slot */
        *bk = (bucket){.slot = slot};
    bk->calls++;
    bk->fails += !success;
}

/* Calls and failures of the buckets whose slot is among the last
 * window_buckets slots, this one included. */
static void win_sum(const troupe_breaker *b, const circuit *c, uint64_t now, uint64_t *calls,
                    uint64_t *fails)
{
    uint64_t slot = now / b->width, nb = b->cfg.window_buckets;
    *calls = *fails = 0;
    for (uint64_t i = 0; i < nb; i++) {
        const bucket *bk = &c->win[i];
        if (bk->slot <= slot && slot - bk->slot < nb) {
            *calls += bk->calls;
            *fails += bk->fails;
        }
    }
}

/* ---- transitions ------------------------------------------------------------- */

/* The open period after `c->trips` trips without a close: open_timeout_ns,
 * then times backoff_multiplier each, capped. */
static uint64_t grown_timeout(const troupe_breaker *b, const circuit *c)
{
    if (c->trips == 0)
        return b->cfg.open_timeout_ns;
    double t = (double)c->timeout * b->cfg.backoff_multiplier;
    double cap = (double)b->cfg.max_open_timeout_ns;
    return t >= cap ? b->cfg.max_open_timeout_ns : (uint64_t)t;
}

static void to_open(const troupe_breaker *b, circuit *c, uint64_t now)
{
    c->timeout = grown_timeout(b, c);
    c->trips++;
    c->open_until = now > UINT64_MAX - c->timeout ? UINT64_MAX : now + c->timeout;
    c->state = TROUPE_BREAKER_OPEN;
    c->inflight = c->successes = 0;
    c->opened++;
    c->epoch++;
}

static void to_closed(const troupe_breaker *b, circuit *c)
{
    memset(c->win, 0, b->cfg.window_buckets * sizeof(bucket));
    c->state = TROUPE_BREAKER_CLOSED;
    c->consec = c->inflight = c->successes = c->trips = 0;
    c->timeout = b->cfg.open_timeout_ns;
    c->closed++;
    c->epoch++;
}

/* OPEN whose period has passed becomes HALF_OPEN (no timer: checked by
 * whoever looks next). */
static void refresh(circuit *c, uint64_t now)
{
    if (c->state != TROUPE_BREAKER_OPEN || now < c->open_until)
        return;
    c->state = TROUPE_BREAKER_HALF_OPEN;
    c->inflight = c->successes = 0;
    c->half_opened++;
    c->epoch++;
}

/* After a failure in CLOSED: consecutive failures, or the window's rate. */
static bool should_trip(const troupe_breaker *b, const circuit *c, uint64_t now)
{
    if (c->consec >= b->cfg.failure_threshold)
        return true;
    uint64_t calls, fails;
    win_sum(b, c, now, &calls, &fails);
    return calls >= b->cfg.min_calls && (double)fails >= b->cfg.failure_rate * (double)calls;
}

/* ---- the operations -------------------------------------------------------------- */

int circuit_acquire(const troupe_breaker *b, circuit *c, uint64_t now, troupe_breaker_permit *p)
{
    refresh(c, now);
    uint32_t flags = PERMIT_LIVE;
    if (c->state == TROUPE_BREAKER_OPEN ||
        (c->state == TROUPE_BREAKER_HALF_OPEN && c->inflight >= b->cfg.half_open_max)) {
        c->rejected++;
        return TROUPE_ECIRCUIT;
    }
    if (c->state == TROUPE_BREAKER_HALF_OPEN) {
        c->inflight++;
        flags |= PERMIT_TRIAL;
    }
    *p = (troupe_breaker_permit){.key = c->key, .epoch = c->epoch, .breaker = b->id,
                                 .flags = flags};
    return 0;
}

static void record_closed(const troupe_breaker *b, circuit *c, uint64_t now, bool success)
{
    win_add(b, c, now, success);
    if (success) {
        c->consec = 0;
        return;
    }
    c->consec++;
    if (should_trip(b, c, now))
        to_open(b, c, now);
}

static void record_trial(const troupe_breaker *b, circuit *c, uint64_t now, bool success)
{
    c->inflight--;
    if (!success)
        to_open(b, c, now);
    else if (++c->successes >= b->cfg.success_threshold)
        to_closed(b, c);
}

/* A permit of an older epoch was given in a state that has ended: its
 * outcome is counted, and changes nothing. */
void circuit_record(const troupe_breaker *b, circuit *c, uint64_t now,
                    const troupe_breaker_permit *p, bool success)
{
    c->calls++;
    c->failures += !success;
    if (p->epoch != c->epoch)
        return;
    if (c->state == TROUPE_BREAKER_CLOSED)
        record_closed(b, c, now, success);
    else if (c->state == TROUPE_BREAKER_HALF_OPEN && (p->flags & PERMIT_TRIAL))
        record_trial(b, c, now, success);
}

void circuit_cancel(circuit *c, const troupe_breaker_permit *p)
{
    if (p->epoch == c->epoch && (p->flags & PERMIT_TRIAL) && c->inflight > 0)
        c->inflight--;
}

void circuit_fill(const troupe_breaker *b, circuit *c, uint64_t now, troupe_breaker_info *out)
{
    refresh(c, now);
    memset(out, 0, sizeof *out);
    memcpy(out->name, b->name, sizeof out->name);
    out->key = c->key;
    out->state = c->state;
    out->consecutive_failures = c->consec;
    if (c->state == TROUPE_BREAKER_CLOSED)
        win_sum(b, c, now, &out->window_calls, &out->window_failures);
    out->half_open_inflight = c->inflight;
    out->half_open_successes = c->successes;
    out->opened = c->opened;
    out->half_opened = c->half_opened;
    out->closed = c->closed;
    out->rejected = c->rejected;
    out->calls = c->calls;
    out->failures = c->failures;
    out->trips = c->trips;
    out->open_timeout_ns = c->state == TROUPE_BREAKER_OPEN ? c->timeout : grown_timeout(b, c);
    out->open_until_ns = c->state == TROUPE_BREAKER_OPEN ? c->open_until : 0;
}
