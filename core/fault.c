/* core/fault.c — message faults (troupe/fault.h): lose or delay a share of
 * a chosen actor's user messages, seeded and deterministic.
 *
 * The spec lives in the actor's ext (fault_actor, allocated on first use,
 * type-stable with the slot). The actor's owner sets AF_FAULT when it
 * serves SYSMSG_FAULT (its flags are its own), and from then on every run
 * starts in fault_run (core/run.c tests AF_FAULT with the flags it tests
 * there already): the message at the head of the ring is drawn once — its
 * position remembers the draw — and dropped or delayed, until one is to be
 * handled. The faulted actor's batch is 1, so that the run handles exactly
 * that one and the next run draws the next.
 *
 * A delayed message waits in a timer of the system's clock (a record of
 * the system's list, so that destroy frees those that never fired) and is
 * then sent on the actor's system lane, which hands a user type to the
 * handler (run.c, serve_sys) ahead of the ring: it is not drawn again.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/ext.h"
#include "core/fault.h"
#include "core/timer.h"
#include "troupe/fault.h"

struct fault_actor {
    pthread_mutex_t lock; /* spec, rng, counters: the owner's run and the API */
    uint32_t gen;         /* the incarnation the spec was applied to */
    bool on;
    troupe_fault_msgs spec;
    uint64_t rng;
    uint64_t next_pos;    /* ring positions below it were drawn */
    uint32_t saved_batch; /* the actor's batch before faults (0: not saved) */
    troupe_fault_stats st;
};

/* A delayed message, waiting for its timer. */
typedef struct fault_delay {
    struct fault_delay *prev, *next;
    troupe_ref to;
    tmsg m;
} fault_delay;

struct fault_sys {
    pthread_mutex_t lock;
    fault_delay *waiting;
};

/* splitmix64: one step per draw, from the spec's seed */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static fault_actor *fault_peek(const actor *a)
{
    actor_ext *x = ext_peek(a);
    /* acquire: pairs with fault_get's release CAS */
    return x ? atomic_load_explicit(&x->fault, memory_order_acquire) : NULL;
}

static fault_actor *fault_get(troupe_system *sys, actor *a)
{
    actor_ext *x = ext_get(sys, a);
    if (!x)
        return NULL;
    fault_actor *f = atomic_load_explicit(&x->fault, memory_order_acquire); /* see fault_peek */
    if (f)
        return f;
    fault_actor *fresh = sys_calloc(1, sizeof *fresh);
    if (!fresh)
        return NULL;
    pthread_mutex_init(&fresh->lock, NULL);
    /* acq_rel: release publishes the initialised block; acquire reads a winner's */
    if (atomic_compare_exchange_strong_explicit(&x->fault, &f, fresh, memory_order_acq_rel,
                                                memory_order_acquire))
        return fresh;
    pthread_mutex_destroy(&fresh->lock);
    free(fresh);
    return f;
}

void fault_actor_free(fault_actor *f)
{
    if (!f)
        return;
    pthread_mutex_destroy(&f->lock);
    free(f);
}

/* ---- the system's delayed messages ---------------------------------------------------- */

static fault_sys *fault_sys_get(troupe_system *sys)
{
    /* acquire: pairs with the release CAS below */
    fault_sys *fs = atomic_load_explicit(&sys->fault, memory_order_acquire);
    if (fs)
        return fs;
    fault_sys *fresh = sys_calloc(1, sizeof *fresh);
    if (!fresh)
        return NULL;
    pthread_mutex_init(&fresh->lock, NULL);
    if (atomic_compare_exchange_strong_explicit(&sys->fault, &fs, fresh, memory_order_acq_rel,
                                                memory_order_acquire))
        return fresh;
    pthread_mutex_destroy(&fresh->lock);
    free(fresh);
    return fs;
}

static void unlink_delay(fault_sys *fs, fault_delay *d)
{
    if (d->prev)
        d->prev->next = d->next;
    else
        fs->waiting = d->next;
    if (d->next)
        d->next->prev = d->prev;
}

/* The timer: the message goes on the actor's system lane (handled ahead of
 * the ring, never drawn again); an actor that ended loses it as any
 * message sent to it after its end. */
static void delay_due(troupe_system *sys, uint64_t arg)
{
    fault_delay *d = (fault_delay *)(uintptr_t)arg;
    fault_sys *fs = atomic_load_explicit(&sys->fault, memory_order_acquire); /* see fault_sys_get */
    pthread_mutex_lock(&fs->lock);
    unlink_delay(fs, d);
    pthread_mutex_unlock(&fs->lock);
    if (send_sys(sys, d->to, &d->m) < 0) {
        ask_abandon(sys, &d->m, TROUPE_ENOACTOR);
        tmsg_destroy(sys, &d->m);
    }
    free(d);
}

static int delay_msg(troupe_system *sys, troupe_ref to, const tmsg *m, uint64_t delay_ns)
{
    fault_sys *fs = fault_sys_get(sys);
    fault_delay *d = fs ? sys_calloc(1, sizeof *d) : NULL;
    if (!d)
        return TROUPE_ENOMEM;
    d->to = to;
    d->m = *m;
    pthread_mutex_lock(&fs->lock);
    d->next = fs->waiting;
    if (d->next)
        d->next->prev = d;
    fs->waiting = d;
    pthread_mutex_unlock(&fs->lock);
    int rc = timer_add_fn(sys, delay_ns, delay_due, (uint64_t)(uintptr_t)d, NULL);
    if (rc < 0) {
        pthread_mutex_lock(&fs->lock);
        unlink_delay(fs, d);
        pthread_mutex_unlock(&fs->lock);
        free(d);
    }
    return rc;
}

void fault_sys_free(troupe_system *sys)
{
    fault_sys *fs = atomic_load_explicit(&sys->fault, memory_order_relaxed); /* timers stopped */
    if (!fs)
        return;
    for (fault_delay *d = fs->waiting, *n; d; d = n) {
        n = d->next;
        tmsg_destroy(sys, &d->m); /* never fired: the system went first */
        free(d);
    }
    pthread_mutex_destroy(&fs->lock);
    free(fs);
    atomic_store_explicit(&sys->fault, NULL, memory_order_relaxed);
}

/* ---- the owner's side ------------------------------------------------------------------ */

/* A faulted actor handles one message per run (so that each is drawn
 * before it is handled); its own batch comes back when faults end. */
static void batch_one(fault_actor *f, actor *a)
{
    if (!f->saved_batch)
        f->saved_batch = a->batch;
    a->batch = 1;
}

static void faults_over(fault_actor *f, actor *a)
{
    a->flags &= (uint16_t)~(AF_FAULT | AF_FHOLD);
    if (f && f->saved_batch) {
        a->batch = f->saved_batch;
        f->saved_batch = 0;
    }
}

int fault_serve(worker *w, actor *a, troupe_failure_kind *kind, const char **reason)
{
    (void)kind, (void)reason;
    fault_actor *f = fault_peek(a);
    if (!f)
        return 0;
    pthread_mutex_lock(&f->lock);
    bool on = f->on && f->gen == a->gen;
    f->st.active = on;
    if (on) {
        a->flags |= AF_FAULT;
        batch_one(f, a);
    } else {
        faults_over(f, a);
    }
    pthread_mutex_unlock(&f->lock);
    /* This run may go on to the ring (a batch of one now): draw its head
     * first. Served between two messages, the run ends here (run.c). */
    if (on)
        fault_run(w, a);
    return 0;
}

void fault_hold(actor *a)
{
    fault_actor *f = fault_peek(a);
    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    faults_over(f, a); /* the next incarnation starts without them */
    pthread_mutex_unlock(&f->lock);
}

enum { F_PASS, F_DROP, F_DELAY };

typedef struct draw_ctx {
    fault_actor *f;
    int what;
} draw_ctx;

/* mb_take_if's question, under f->lock: keep the message at pos? Each
 * position is drawn once. */
static bool keep_msg(void *ud, uint64_t pos, const tmsg *m)
{
    (void)m;
    draw_ctx *c = ud;
    fault_actor *f = c->f;
    if (pos < f->next_pos && f->next_pos - pos <= TW_POS_MASK / 2)
        return true; /* drawn already: passed */
    f->next_pos = (pos + 1) & TW_POS_MASK;
    f->st.drawn++;
    uint64_t r = next_rand(&f->rng) % TROUPE_FAULT_PPM;
    c->what = r < f->spec.drop_ppm                         ? F_DROP
              : r < (uint64_t)f->spec.drop_ppm + f->spec.delay_ppm ? F_DELAY
                                                                    : F_PASS;
    return c->what == F_PASS;
}

/* Destroy a dropped message outside f->lock: its destructor is the user's
 * and may call troupe_fault_* on this very actor. False when faults were
 * turned off meanwhile (then ended for this run, lock held). */
static bool drop_unlocked(troupe_system *sys, fault_actor *f, actor *a, tmsg *m)
{
    pthread_mutex_unlock(&f->lock);
    tmsg_destroy(sys, m);
    pthread_mutex_lock(&f->lock);
    if (f->on && f->gen == a->gen)
        return true;
    faults_over(f, a);
    return false;
}

#define FAULT_TAKE_MAX 256 /* messages dropped or delayed in one run, at most */

/* At the start of a run (AF_FAULT): drop or delay messages at the head of
 * the ring until one is to be handled. */
void fault_run(worker *w, actor *a)
{
    troupe_system *sys = w->sys;
    fault_actor *f = fault_peek(a);
    if (!f) {
        faults_over(NULL, a);
        return;
    }
    pthread_mutex_lock(&f->lock);
    if (!f->on || f->gen != a->gen) {
        faults_over(f, a);
        pthread_mutex_unlock(&f->lock);
        return;
    }
    troupe_ref self = ref_make(sys, a->index, a->gen);
    int rc = MB_OK;
    for (int i = 0; i < FAULT_TAKE_MAX && rc == MB_OK; i++) {
        draw_ctx c = {.f = f};
        tmsg m;
        if ((rc = mb_take_if(&a->mb, keep_msg, &c, &m)) != MB_OK)
            break;
        if (c.what == F_DELAY && delay_msg(sys, self, &m, f->spec.delay_ns) == 0) {
            f->st.delayed++;
            continue;
        }
        f->st.dropped++; /* lost as on a network: its asker is not told */
        if (!drop_unlocked(sys, f, a, &m)) {
            pthread_mutex_unlock(&f->lock);
            return; /* faults ended in the destructor: as at the top */
        }
    }
    /* only a message drawn and kept may be handled in this run (run.c):
     * one pushed from now on waits for the next run's draw */
    if (rc == MB_KEPT)
        a->flags &= (uint16_t)~AF_FHOLD;
    else
        a->flags |= AF_FHOLD;
    pthread_mutex_unlock(&f->lock);
}

/* ---- the API ---------------------------------------------------------------------------- */

TROUPE_API void troupe_fault_msgs_defaults(troupe_fault_msgs *f)
{
    if (!f)
        return;
    memset(f, 0, sizeof *f);
    f->delay_ns = 1000000;
    f->seed = 1;
}

static actor *live_actor(troupe_system *sys, troupe_ref ref)
{
    actor *a = actor_lookup(sys, ref);
    /* acquire: the tail word publishes the incarnation (mb_open) */
    uint64_t t = a ? atomic_load_explicit(&a->mb.tail, memory_order_acquire) : 0;
    return a && tw_gen(t) == ref_gen(ref) && !(t & TW_CLOSED) ? a : NULL;
}

static bool spec_ok(const troupe_fault_msgs *f)
{
    return (uint64_t)f->drop_ppm + f->delay_ppm <= TROUPE_FAULT_PPM &&
           (f->delay_ppm == 0 || f->delay_ns > 0);
}

TROUPE_API int troupe_fault_messages(troupe_system *sys, troupe_ref ref, const troupe_fault_msgs *f)
{
    if (!sys || (f && !spec_ok(f)))
        return TROUPE_EINVAL;
    actor *a = live_actor(sys, ref);
    if (!a)
        return TROUPE_ENOACTOR;
    fault_actor *fa = fault_get(sys, a);
    if (!fa)
        return TROUPE_ENOMEM;
    bool on = f && (f->drop_ppm || f->delay_ppm);
    pthread_mutex_lock(&fa->lock);
    if (fa->gen != ref_gen(ref))
        memset(&fa->st, 0, sizeof fa->st); /* a new incarnation's counters */
    fa->gen = ref_gen(ref);
    fa->on = on;
    fa->st.active = 0; /* until the owner serves the request */
    if (on) {
        fa->spec = *f;
        fa->rng = f->seed;
    }
    pthread_mutex_unlock(&fa->lock);
    /* The owner sets or clears AF_FAULT when it serves this. */
    tmsg m = {.type = SYSMSG_FAULT};
    return send_sys(sys, ref, &m);
}

TROUPE_API int troupe_fault_messages_stats(troupe_system *sys, troupe_ref ref,
                                           troupe_fault_stats *out)
{
    if (!sys || !out)
        return TROUPE_EINVAL;
    actor *a = actor_lookup(sys, ref);
    if (!a)
        return TROUPE_ENOACTOR;
    fault_actor *f = fault_peek(a);
    if (!f)
        return TROUPE_ENOTFOUND;
    pthread_mutex_lock(&f->lock);
    int rc = f->gen == ref_gen(ref) ? 0 : TROUPE_ENOTFOUND;
    if (rc == 0)
        *out = f->st;
    pthread_mutex_unlock(&f->lock);
    return rc;
}

/* ---- the wall clock --------------------------------------------------------------------- */

static _Atomic int64_t wall_offset;

TROUPE_API void troupe_fault_wall_offset(int64_t offset_ns)
{
    atomic_store_explicit(&wall_offset, offset_ns, memory_order_relaxed); /* a test knob */
}

TROUPE_API uint64_t troupe_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    return now + (uint64_t)atomic_load_explicit(&wall_offset, memory_order_relaxed); /* see above */
}
