/* core/timer.c — one timer thread per system over a min-heap of deadlines.
 *
 * A timer is a record in a type-stable table (index + generation, so a
 * stale troupe_timer fails cleanly) plus a heap entry (deadline, index,
 * generation). Cancel only flips the record's state; its heap entry is
 * skipped when it comes up. The record's state word is gen << 32 | state,
 * and FIRING is held while the message is sent, so that troupe_timer_cancel
 * returning 0 means "it will not fire again".
 *
 * Deadlines saturate (deadline_add): a delay or an interval that carries
 * past the end of time gives DEADLINE_NEVER, and such a timer stays pending
 * (cancellable) but never enters the heap — it never fires, and the thread
 * never wakes for it.
 */
#include <sched.h>
#include <stdlib.h>

#include "core/alloc.h"
#include <string.h>
#include <time.h>

#include "core/timer.h"

enum { T_FREE = 0, T_PENDING = 1, T_FIRING = 2, T_DONE = 3, T_CANCELED = 4 };

typedef struct timer_rec {
    _Atomic uint64_t st; /* gen << 32 | state */
    troupe_ref to;
    uint32_t type, len;
    unsigned char data[TROUPE_INLINE_MAX];
    uint64_t interval, deadline;
    timer_fn fn;
    uint64_t arg;
} timer_rec;

typedef struct hent {
    uint64_t deadline;
    uint32_t index, gen;
} hent;

struct timers {
    troupe_system *sys;
    table recs;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    hent *heap;
    size_t n, cap;
    pthread_t thread;
    bool started, stop;
};

static inline uint64_t st_make(uint32_t gen, uint32_t s) { return ((uint64_t)gen << 32) | s; }

static void heap_swap(hent *h, size_t a, size_t b)
{
    hent t = h[a];
    h[a] = h[b];
    h[b] = t;
}

static int heap_push(timers *tm, hent e)
{
    if (tm->n == tm->cap && tr_grow((void **)&tm->heap, &tm->cap, tm->n + 1, sizeof *tm->heap, 64))
        return TROUPE_ENOMEM;
    size_t i = tm->n++;
    tm->heap[i] = e;
    while (i && tm->heap[(i - 1) / 2].deadline > tm->heap[i].deadline) {
        heap_swap(tm->heap, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    return 0;
}

static hent heap_pop(timers *tm)
{
    hent top = tm->heap[0];
    tm->heap[0] = tm->heap[--tm->n];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < tm->n && tm->heap[l].deadline < tm->heap[m].deadline)
            m = l;
        if (r < tm->n && tm->heap[r].deadline < tm->heap[m].deadline)
            m = r;
        if (m == i)
            break;
        heap_swap(tm->heap, i, m);
        i = m;
    }
    return top;
}

/* Send one due timer's message (lock not held). */
static int fire_one(troupe_system *sys, const timer_rec *r)
{
    if (r->fn) {
        r->fn(sys, r->arg);
        return 0;
    }
    bool saved = troupei_tls.no_block;
    troupei_tls.no_block = true; /* BLOCK parks: the timer thread never waits */
    int rc = troupe_tell(sys, r->to, r->type, r->data, r->len);
    troupei_tls.no_block = saved;
    return rc;
}

/* An interval timer's next deadline after one at `at` fired at `now`: the
 * next period, or — when the clock jumped past several (a manual clock's
 * advance, a suspended machine) — the first period after now, in phase:
 * the periods missed are skipped, not fired in a burst. Saturates
 * (DEADLINE_NEVER). */
static uint64_t next_deadline(uint64_t at, uint64_t interval, uint64_t now)
{
    uint64_t next = deadline_add(at, interval);
    if (next > now || next == DEADLINE_NEVER)
        return next;
    uint64_t missed = (now - next) / interval + 1;
    if (missed > (DEADLINE_NEVER - next) / interval)
        return DEADLINE_NEVER;
    return next + missed * interval;
}

/* Called with tm->lock held; drops it around each send. */
static void fire_due_locked(timers *tm, uint64_t now)
{
    while (tm->n && tm->heap[0].deadline <= now && !tm->stop) {
        hent e = heap_pop(tm);
        timer_rec *r = table_get(&tm->recs, e.index);
        uint64_t pend = st_make(e.gen, T_PENDING);
        /* acq_rel: FIRING excludes cancel until the send is done. */
        if (!r || !atomic_compare_exchange_strong_explicit(&r->st, &pend, st_make(e.gen, T_FIRING),
                                                           memory_order_acq_rel,
                                                           memory_order_relaxed))
            continue; /* canceled, or the index was reused */
        pthread_mutex_unlock(&tm->lock);
        int rc = fire_one(tm->sys, r);
        pthread_mutex_lock(&tm->lock);
        bool again = r->interval && rc != TROUPE_ENOACTOR && rc != TROUPE_ESHUTDOWN && !tm->stop;
        if (again) {
            r->deadline = next_deadline(r->deadline, r->interval, now);
            if (r->deadline != DEADLINE_NEVER) /* else pending for ever */
                again = heap_push(tm, (hent){r->deadline, e.index, e.gen}) == 0;
        }
        /* release: the record's fields before the state cancel reads. */
        atomic_store_explicit(&r->st, st_make(e.gen, again ? T_PENDING : T_DONE),
                              memory_order_release);
        if (!again)
            table_free(&tm->recs, e.index);
    }
}

void timers_fire_due(timers *tm, uint64_t now)
{
    pthread_mutex_lock(&tm->lock);
    fire_due_locked(tm, now);
    pthread_mutex_unlock(&tm->lock);
}

/* The longest sleep of the timer thread: a far deadline is waited for in
 * such steps (a user clock may jump; mono_ns() + the rest could not fit). */
#define WAIT_STEP_NS (3600ull * 1000000000ull)

static void wait_until(timers *tm, uint64_t now)
{
    if (!tm->n || clock_is_manual(tm->sys->clock)) {
        pthread_cond_wait(&tm->cond, &tm->lock);
        return;
    }
    uint64_t rest = tm->heap[0].deadline - now; /* > 0: the caller checked */
    uint64_t abs = mono_ns() + (rest < WAIT_STEP_NS ? rest : WAIT_STEP_NS);
    struct timespec ts = {(time_t)(abs / 1000000000ull), (long)(abs % 1000000000ull)};
    pthread_cond_timedwait(&tm->cond, &tm->lock, &ts);
}

static void *timer_main(void *arg)
{
    timers *tm = arg;
    pthread_mutex_lock(&tm->lock);
    while (!tm->stop) {
        uint64_t now = troupe_clock_now(tm->sys->clock);
        if (!clock_is_manual(tm->sys->clock))
            fire_due_locked(tm, now);
        if (tm->stop)
            break;
        now = troupe_clock_now(tm->sys->clock);
        if (tm->n && tm->heap[0].deadline <= now && !clock_is_manual(tm->sys->clock))
            continue;
        wait_until(tm, now);
    }
    pthread_mutex_unlock(&tm->lock);
    return NULL;
}

int timers_create(troupe_system *sys)
{
    timers *tm = sys_calloc(1, sizeof *tm);
    if (!tm)
        return TROUPE_ENOMEM;
    tm->sys = sys;
    if (table_init(&tm->recs, sizeof(timer_rec))) {
        free(tm);
        return TROUPE_ENOMEM;
    }
    pthread_mutex_init(&tm->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&tm->cond, &ca);
    pthread_condattr_destroy(&ca);
    sys->tm = tm;
    if (clock_register(sys->clock, tm))
        return TROUPE_ENOMEM;
    if (pthread_create(&tm->thread, NULL, timer_main, tm))
        return TROUPE_ESYS;
    tm->started = true;
    return 0;
}

void timers_stop(troupe_system *sys)
{
    timers *tm = sys->tm;
    if (!tm)
        return;
    clock_unregister(sys->clock, tm);
    pthread_mutex_lock(&tm->lock);
    tm->stop = true;
    pthread_cond_signal(&tm->cond);
    pthread_mutex_unlock(&tm->lock);
    if (tm->started)
        pthread_join(tm->thread, NULL);
    tm->started = false;
}

void timers_destroy(troupe_system *sys)
{
    timers *tm = sys->tm;
    if (!tm)
        return;
    timers_stop(sys);
    table_destroy(&tm->recs, NULL, NULL);
    pthread_cond_destroy(&tm->cond);
    pthread_mutex_destroy(&tm->lock);
    free(tm->heap);
    free(tm);
    sys->tm = NULL;
}

/* How timer_add turns `when` into a deadline, reading the clock under the
 * lock (so that a concurrent troupe_clock_advance either sees the timer or
 * ran before the reading). */
enum { AT_AFTER_SAT, AT_AFTER_MOD, AT_ABS };

static uint64_t deadline_of(troupe_system *sys, uint64_t when, int how)
{
    if (how == AT_ABS)
        return when;
    uint64_t now = troupe_clock_now(sys->clock);
    return how == AT_AFTER_SAT ? deadline_add(now, when) : now + when;
}

static int timer_add(troupe_system *sys, const timer_rec *tmpl, uint64_t when, int how,
                     troupe_timer *out)
{
    timers *tm = sys->tm;
    uint32_t idx;
    void *obj;
    if (atomic_load_explicit(&sys->state, memory_order_acquire) != SYS_RUNNING)
        return TROUPE_ESHUTDOWN;
    if (table_alloc(&tm->recs, &idx, &obj))
        return TROUPE_ENOMEM;
    timer_rec *r = obj;
    uint32_t gen = (uint32_t)(atomic_load_explicit(&r->st, memory_order_relaxed) >> 32) + 1;
    pthread_mutex_lock(&tm->lock);
    r->to = tmpl->to;
    r->type = tmpl->type;
    r->len = tmpl->len;
    memcpy(r->data, tmpl->data, sizeof r->data);
    r->interval = tmpl->interval;
    r->fn = tmpl->fn;
    r->arg = tmpl->arg;
    r->deadline = deadline_of(sys, when, how);
    atomic_store_explicit(&r->st, st_make(gen, T_PENDING), memory_order_release);
    if (out) /* before the push: an internal fn may read it once due */
        out->id = ((uint64_t)gen << 32) | idx;
    bool top = !tm->n || r->deadline < tm->heap[0].deadline;
    int rc = 0;
    if (r->deadline != DEADLINE_NEVER) /* else pending for ever, outside the heap */
        rc = heap_push(tm, (hent){r->deadline, idx, gen});
    if (top)
        pthread_cond_signal(&tm->cond);
    pthread_mutex_unlock(&tm->lock);
    if (rc) {
        atomic_store_explicit(&r->st, st_make(gen, T_DONE), memory_order_release);
        table_free(&tm->recs, idx);
        return rc;
    }
    return 0;
}

int timer_add_fn(troupe_system *sys, uint64_t delay_ns, timer_fn fn, uint64_t arg,
                 troupe_timer *out)
{
    timer_rec t = {.fn = fn, .arg = arg};
    /* modulo 2^64, as it always was: supervisor/sv.c passes `next - now`,
     * which may have gone below zero (then due at once) */
    return timer_add(sys, &t, delay_ns, AT_AFTER_MOD, out);
}

int timer_add_fn_at(troupe_system *sys, uint64_t deadline, timer_fn fn, uint64_t arg,
                    troupe_timer *out)
{
    timer_rec t = {.fn = fn, .arg = arg};
    return timer_add(sys, &t, deadline, AT_ABS, out);
}

static int add_msg_timer(troupe_system *sys, troupe_ref to, uint32_t type, const void *data,
                         size_t len, uint64_t delay_ns, uint64_t interval_ns, troupe_timer *out)
{
    if (!sys || (len && !data) || len > TROUPE_INLINE_MAX || type >= TROUPE_MSG_SYSTEM ||
        troupe_ref_is_none(to))
        return TROUPE_EINVAL;
    timer_rec t = {.to = to, .type = type, .len = (uint32_t)len, .interval = interval_ns};
    if (len)
        memcpy(t.data, data, len);
    return timer_add(sys, &t, delay_ns, AT_AFTER_SAT, out);
}

TROUPE_API int troupe_send_after(troupe_system *sys, troupe_ref to, uint32_t type,
                                 const void *data, size_t len, uint64_t delay_ns,
                                 troupe_timer *out)
{
    return add_msg_timer(sys, to, type, data, len, delay_ns, 0, out);
}

TROUPE_API int troupe_send_interval(troupe_system *sys, troupe_ref to, uint32_t type,
                                    const void *data, size_t len, uint64_t delay_ns,
                                    uint64_t interval_ns, troupe_timer *out)
{
    if (!interval_ns)
        return TROUPE_EINVAL;
    return add_msg_timer(sys, to, type, data, len, delay_ns, interval_ns, out);
}

TROUPE_API int troupe_timer_cancel(troupe_system *sys, troupe_timer t)
{
    if (!sys || !t.id)
        return TROUPE_EINVAL;
    timer_rec *r = table_get(&sys->tm->recs, (uint32_t)t.id);
    uint32_t gen = (uint32_t)(t.id >> 32);
    if (!r)
        return TROUPE_ENOTFOUND;
    for (;;) {
        uint64_t st = atomic_load_explicit(&r->st, memory_order_acquire);
        if ((uint32_t)(st >> 32) != gen)
            return TROUPE_ENOTFOUND;
        if ((uint32_t)st == T_FIRING) { /* its send is in progress: wait */
            sched_yield();
            continue;
        }
        if ((uint32_t)st != T_PENDING)
            return TROUPE_ENOTFOUND;
        if (atomic_compare_exchange_strong_explicit(&r->st, &st, st_make(gen, T_CANCELED),
                                                    memory_order_acq_rel, memory_order_relaxed)) {
            table_free(&sys->tm->recs, (uint32_t)t.id);
            return 0;
        }
    }
}
