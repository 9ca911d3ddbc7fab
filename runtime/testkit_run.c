/* runtime/testkit_run.c — the test kit's steps: the supervisor's work, the
 * seeded pick among the ready actors, one run on the caller's thread; the
 * clock and asks on top of them.
 *
 * A step. Every runnable actor of a system in test mode is in the injector
 * (core/sched.c: no worker ever takes it, and a run on a stand-in worker
 * sends what it makes runnable there too, since this thread is no worker:
 * troupei_tls.w stays NULL). The list's order depends only on what ran
 * before, so picking its k-th entry with k from a seeded PRNG makes the
 * order a function of the seed. The picked actor is run as core/call.c
 * runs one for a plain thread's call: run_actor on a stand-in worker,
 * which makes this thread its owner until the run ends (idle, or back in
 * the injector). Its batch is set to 1 first, so a step handles at most
 * one user message (the system lane — replies, stops — is served first,
 * as in any run).
 *
 * What the step handles first is read before the run: the system lane is
 * taken into the mailbox's local list exactly as the run would take it
 * (serve_sys, core/run.c), and the ring's front slot is read, not taken.
 */
#include <string.h>

#include "core/ask.h"
#include "core/timer.h"
#include "runtime/testkit.h"
#include "supervisor/sv.h"

/* xoshiro256** (Blackman and Vigna): the pick's PRNG. */
static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t kit_next(troupe_testkit *k)
{
    uint64_t *s = k->rng;
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

/* Take the injector's entry that `pick` names (or, pick NULL, its k-th
 * with k from the PRNG); NULL when there is none. *ready: how many there
 * were. The mutex only because other calls of the API lock it too. */
static actor *inj_take(troupe_testkit *k, actor *pick, uint32_t *ready)
{
    troupe_system *sys = k->sys;
    pthread_mutex_lock(&sys->pools[0].inj.lock);
    /* relaxed: the mutex orders the list; the count is its length */
    uint32_t n = atomic_load_explicit(&sys->pools[0].inj.len, memory_order_relaxed);
    uint64_t at = n && !pick ? kit_next(k) % n : 0;
    actor *prev = NULL, *a = sys->pools[0].inj.head;
    for (uint64_t i = 0; a && (pick ? a != pick : i < at); i++) {
        prev = a;
        a = a->next;
    }
    if (a) {
        if (prev)
            prev->next = a->next;
        else
            sys->pools[0].inj.head = a->next;
        if (sys->pools[0].inj.tail == a)
            sys->pools[0].inj.tail = prev;
        a->next = NULL;
        atomic_fetch_sub_explicit(&sys->pools[0].inj.len, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&sys->pools[0].inj.lock);
    *ready = n;
    return a;
}

/* The ring's front message, read in place (the run takes it). */
static uint32_t ring_front_type(mailbox *mb)
{
    /* acquire, both: as the consumer's own reads (mailbox/ring.c) */
    mb_ring *r = atomic_load_explicit(&mb->ring, memory_order_acquire);
    uint64_t h = atomic_load_explicit(&mb->head, memory_order_relaxed);
    for (uint32_t i = 0; r && i <= r->mask; i++, h = (h + 1) & TW_POS_MASK) {
        mb_slot *s = &r->slots[h & r->mask];
        if (atomic_load_explicit(&s->seq, memory_order_acquire) != mb_seq(h))
            break;
        if (s->m.type != MSG_HOLE)
            return s->m.type;
    }
    return TROUPE_TESTKIT_NOMSG;
}

/* What the run of a (owned by this thread now) handles first. */
static uint32_t peek_type(actor *a)
{
    if (a->flags & AF_REINIT)
        return TROUPE_TESTKIT_RESTART;
    mailbox *mb = &a->mb;
    if (!mb->sys_local && lane_maybe_nonempty(&mb->sys)) /* as serve_sys */
        mb->sys_local = (envelope *)lane_take(&mb->sys, a->gen);
    if (mb->sys_local)
        return mb->sys_local->m.type;
    return ring_front_type(mb);
}

/* The stand-in's per-run fields, as core/call.c's caller_init. */
static void standin_reset(troupe_testkit *k)
{
    worker *w = k->w;
    w->sys = k->sys;
    w->caller = true; /* sched_requeue: back to the injector */
    w->pool = &k->sys->pools[0]; /* the one pool a kit's system has */
    w->run_mask = AF_RUN_SPECIAL;
    w->index = 0;
    w->in_msg = false;
    w->pb = NULL;
    memset(&w->res, 0, sizeof w->res);
    atomic_store_explicit(&w->lifo, NULL, memory_order_relaxed); /* the stand-in's own */
    w->lat_tick = 2; /* never this run's turn: no clock read in a step */
}

/* After a run that ended its batch of one, the actor is back in the
 * injector (core/run.c: end_run requeues when the batch, not an empty
 * mailbox, ended the loop). If nothing waits for it, run it once more now,
 * unrecorded: that run only finds the mailbox empty and lets the actor go
 * idle, and a step of its own would be noise in every trace. */
static void settle(troupe_testkit *k, actor *a)
{
    troupe_system *sys = k->sys;
    pthread_mutex_lock(&sys->pools[0].inj.lock);
    bool last = sys->pools[0].inj.tail == a;
    pthread_mutex_unlock(&sys->pools[0].inj.lock);
    if (!last || peek_type(a) != TROUPE_TESTKIT_NOMSG || lane_nonempty(&a->mb.park))
        return;
    uint32_t ready;
    if (inj_take(k, a, &ready) != a)
        return;
    standin_reset(k);
    run_actor(k->w, a);
}

int kit_step(troupe_testkit *k, actor *pick, troupe_testkit_step_info *out)
{
    sv_pump(k->sys); /* exits and due restarts first: they make actors ready */
    troupe_testkit_step_info st = {.index = k->steps};
    actor *a = inj_take(k, pick, &st.ready);
    if (!a)
        return 0;
    st.slot = a->index;
    st.actor = ref_make(k->sys, a->index, a->gen);
    st.type = peek_type(a);
    a->batch = 1; /* the owner's field: one user message per step */
    /* relaxed: the owner's counter (count_handled, core/run.c) */
    uint64_t before = atomic_load_explicit(&a->mb.handled, memory_order_relaxed);
    standin_reset(k);
    run_actor(k->w, a);
    st.handled = (uint32_t)(atomic_load_explicit(&a->mb.handled, memory_order_relaxed) - before);
    settle(k, a);
    kit_record(k, &st);
    if (out)
        *out = st;
    return 1;
}

int kit_run(troupe_testkit *k, uint64_t max, uint64_t *ran)
{
    uint64_t n = 0;
    int rc = TROUPE_EBUSY;
    while (n < max) {
        if (!kit_step(k, NULL, NULL)) {
            rc = 0;
            break;
        }
        n++;
    }
    /* relaxed: this thread is the only one that moves the injector */
    if (rc && !atomic_load_explicit(&k->sys->pools[0].inj.len, memory_order_relaxed))
        rc = 0; /* the bound's last step left nothing ready */
    if (ran)
        *ran = n;
    return rc;
}

/* Every entry's check: a live kit, not from a handler. */
static int kit_enter(troupe_testkit *kit, troupe_testkit **k)
{
    if (!(*k = kit_find(kit)))
        return TROUPE_ENOTFOUND;
    if (troupei_tls.ctx || troupei_tls.w)
        return TROUPE_ESTATE; /* a handler: the step would nest in its run */
    return 0;
}

TROUPE_API int troupe_testkit_step(troupe_testkit *kit, troupe_testkit_step_info *out)
{
    troupe_testkit *k;
    int rc = kit_enter(kit, &k);
    return rc ? rc : kit_step(k, NULL, out);
}

TROUPE_API int troupe_testkit_step_actor(troupe_testkit *kit, troupe_ref to,
                                         troupe_testkit_step_info *out)
{
    troupe_testkit *k;
    int rc = kit_enter(kit, &k);
    if (rc)
        return rc;
    actor *a = actor_lookup(k->sys, to);
    /* a stale ref's slot may hold a later actor: its generation decides */
    if (!a || a->gen != ref_gen(to) || !kit_step(k, a, out))
        return TROUPE_ENOTFOUND;
    return 1;
}

TROUPE_API int troupe_testkit_run_until_idle(troupe_testkit *kit, uint64_t max_steps,
                                             uint64_t *steps)
{
    troupe_testkit *k;
    if (steps)
        *steps = 0;
    int rc = kit_enter(kit, &k);
    return rc ? rc : kit_run(k, max_steps ? max_steps : KIT_MAX_STEPS_DEFAULT, steps);
}

TROUPE_API int troupe_testkit_advance(troupe_testkit *kit, uint64_t delta_ns)
{
    troupe_testkit *k;
    int rc = kit_enter(kit, &k);
    return rc ? rc : troupe_clock_advance(k->clock, delta_ns);
}

static bool reply_in(ask_rec *r)
{
    /* acquire: pairs with ask_finish's release exchange of fut */
    return atomic_load_explicit(&r->fut, memory_order_acquire) == F_DONE;
}

/* Step until the record's outcome is in; TROUPE_ETIMEDOUT at idle or at
 * the bound (the record claimed: a late reply is dropped as late). */
static int ask_wait(troupe_testkit *k, ask_rec *r, uint64_t id, uint64_t max)
{
    for (uint64_t n = 0; !reply_in(r) && n < max; n++)
        if (!kit_step(k, NULL, NULL))
            break;
    if (reply_in(r) || !ask_claim(r, id))
        return r->rc; /* in (one thread: no completer is mid-write) */
    return TROUPE_ETIMEDOUT;
}

TROUPE_API int troupe_testkit_ask(troupe_testkit *kit, troupe_ref to, uint32_t type,
                                  const void *data, size_t len, uint64_t max_steps,
                                  uint32_t *reply_type, void *reply_buf, size_t reply_cap,
                                  size_t *reply_len)
{
    troupe_testkit *k;
    int rc = kit_enter(kit, &k);
    if (rc)
        return rc;
    if ((reply_cap && !reply_buf) || ask_valid_payload(type, data, len))
        return TROUPE_EINVAL;
    ask_rec *r;
    uint64_t id;
    if ((rc = ask_new(k->sys, AM_SYNC, &r, &id)))
        return rc;
    rc = ask_send(k->sys, to, type, data, len, id, false);
    if (!rc)
        rc = ask_wait(k, r, id, max_steps ? max_steps : KIT_MAX_STEPS_DEFAULT);
    if (!rc) {
        rc = ask_copy_reply(&r->reply, reply_type, reply_buf, reply_cap, reply_len);
        tmsg_destroy(k->sys, &r->reply);
    }
    ask_free(k->sys, r, id);
    return rc;
}
