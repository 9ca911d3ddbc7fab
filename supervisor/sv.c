/* supervisor/sv.c — the supervisor thread: its queue, its deadlines, and
 * the table of supervisor nodes.
 *
 * The thread sleeps on a futex word. Workers push exit records onto a
 * Treiber stack (mailbox/lane.c) and bump the word; the thread takes the
 * whole stack, turns it into arrival order, and applies each record under
 * the tree's lock. Deadlines (restart delays, shutdown timeouts) are kept
 * on the children themselves; one internal timer of the system's clock is
 * armed at the earliest, and only wakes the thread, which then compares
 * deadlines with the clock. A manual clock therefore drives every delay:
 * troupe_clock_advance fires the wake timer and the thread does the rest.
 *
 * Whoever sets a deadline arms the timer for it, on its own thread (the
 * supervisor thread, or an API caller such as troupe_sup_terminate_child):
 * the thread may sleep with nothing else to wake it. The timer is armed at
 * the absolute deadline, so no later clock read can move it.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/timer.h"
#include "supervisor/evlog.h"
#include "supervisor/sv.h"

#define SV_SPIN_NS 50000ull /* as the workers' default spin */

uint64_t sv_now(sv *s) { return troupe_clock_now(s->sys->clock); }

sv_child *sv_child_by_ref(troupe_system *sys, troupe_ref ref)
{
    actor *a = actor_lookup(sys, ref);
    actor_ext *x = a ? ext_peek(a) : NULL;
    /* relaxed: entries are freed under the tree's lock, which the caller
     * holds, and only after their actor's ext stopped pointing at them */
    sv_child *c = x ? atomic_load_explicit(&x->child, memory_order_relaxed) : NULL;
    return c && troupe_ref_eq(c->ref, ref) ? c : NULL;
}

void sv_kick(sv *s)
{
    /* seq_cst: the bump then the `sleeping` load, against the thread's
     * `sleeping` store then `wake` load (Dekker): either it sees the bump
     * and does not sleep, or we see it asleep and wake it. The bump also
     * releases what was pushed before it. */
    atomic_fetch_add_explicit(&s->wake, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&s->sleeping, memory_order_seq_cst))
        futex_wake_u32(&s->wake, 1); /* a syscall only when it sleeps */
}

void sv_push(sv *s, sv_rec *r)
{
    /* lane generation 0: the queue never closes */
    lane_push_mpsc(&s->queue, 0, (lane_node *)r);
    sv_kick(s);
}

static void wake_timer_fn(troupe_system *sys, uint64_t arg)
{
    (void)arg;
    sv_kick(sys->sv);
}

uint64_t sv_after(uint64_t now, uint64_t delay)
{
    return deadline_add(now, delay); /* saturate: "never" (core/common.h) */
}

/* Make sure the thread wakes by `at`. Any thread, lock held. If no timer
 * can be had (no memory, the system stopping), nothing wakes it at `at`:
 * its next pass fires what is due. */
static void arm_wake(sv *s, uint64_t at)
{
    if (at == UINT64_MAX || (s->armed && s->armed <= at))
        return; /* never due, or a timer comes no later */
    if (timer_add_fn_at(s->sys, at, wake_timer_fn, 0, NULL) != 0)
        return;
    s->armed = at;
    /* An advance of a manual clock fires only the timers already in the
     * heap. One that passed `at` before ours got in stored its time before
     * firing, and our add took the timer lock after that firing: this read
     * sees it, and we wake the thread ourselves. */
    if (sv_now(s) >= at)
        sv_kick(s);
}

void sv_set_deadline(sv *s, sv_child *c, uint64_t at)
{
    if (c->deadline && !at) { /* unlink */
        if (c->tprev)
            c->tprev->tnext = c->tnext;
        else
            s->timed = c->tnext;
        if (c->tnext)
            c->tnext->tprev = c->tprev;
        c->tprev = c->tnext = NULL;
    } else if (!c->deadline && at) { /* link */
        c->tnext = s->timed;
        c->tprev = NULL;
        if (s->timed)
            s->timed->tprev = c;
        s->timed = c;
    }
    c->deadline = at;
    if (at)
        arm_wake(s, at);
}

/* Fire what is due; arm the wake timer for the earliest of the rest. */
static void run_deadlines(sv *s)
{
    uint64_t now = sv_now(s), next = 0;
    if (s->armed && s->armed <= now)
        s->armed = 0; /* that timer has fired */
    for (sv_child *c = s->timed, *n; c; c = n) {
        n = c->tnext;
        if (c->deadline <= now) {
            sv_set_deadline(s, c, 0);
            sv_on_deadline(s, c);
            n = s->timed; /* the list may have changed: rescan */
            now = sv_now(s);
        } else if (!next || c->deadline < next) {
            next = c->deadline;
        }
    }
    if (next)
        arm_wake(s, next);
}

static void apply_records(sv *s)
{
    sv_rec *r = (sv_rec *)lane_take(&s->queue, 0);
    pthread_mutex_lock(&s->lock);
    while (r) {
        sv_rec *next = r->next;
        sv_rec copy = *r;
        sv_on_exit(s, copy.c, &copy);
        r = next;
    }
    run_deadlines(s);
    pthread_cond_broadcast(&s->cond);
    troupe_failure esc = s->esc;
    bool call = s->esc_pending;
    s->esc_pending = false;
    pthread_mutex_unlock(&s->lock);
    /* the hook may call the API (rebuild the tree): never under the lock */
    if (call)
        s->sys->cfg.on_escalation(s->sys, &esc, s->sys->cfg.on_escalation_ud);
}

/* Test mode (runtime/testkit.c): the thread's work, on the caller's
 * thread — what the queue brought and the deadlines that are due. */
void sv_pump(troupe_system *sys)
{
    if (sys->sv)
        apply_records(sys->sv);
}

/* Exits come in bursts (a group restart, a crash loop): after work, watch
 * the queue for a while before paying a futex sleep and wake-up. */
static bool spin_for_work(sv *s, uint32_t seen)
{
    uint64_t until = mono_ns() + SV_SPIN_NS;
    do {
        for (int i = 0; i < 64; i++) {
            /* acquire: pairs with sv_kick's bump */
            if (atomic_load_explicit(&s->wake, memory_order_acquire) != seen)
                return true;
            cpu_relax();
        }
    } while (mono_ns() < until);
    return false;
}

static void *sv_main(void *arg)
{
    sv *s = arg;
    for (;;) {
        /* acquire: pairs with sv_kick's release */
        uint32_t seen = atomic_load_explicit(&s->wake, memory_order_acquire);
        /* relaxed, the three: samples for the watchdog, nothing is
         * published through them */
        atomic_store_explicit(&s->taken, seen, memory_order_relaxed);
        atomic_store_explicit(&s->in_pass, true, memory_order_relaxed);
        apply_records(s);
        atomic_store_explicit(&s->in_pass, false, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->beats, 1, memory_order_relaxed);
        if (atomic_load_explicit(&s->quit, memory_order_acquire))
            break;
        if (spin_for_work(s, seen))
            continue;
        atomic_store_explicit(&s->sleeping, true, memory_order_seq_cst); /* see sv_kick */
        if (atomic_load_explicit(&s->wake, memory_order_seq_cst) == seen)
            futex_wait_u32(&s->wake, seen, 0);
        atomic_store_explicit(&s->sleeping, false, memory_order_relaxed);
    }
    return NULL;
}

sv_node *sv_node_get(sv *s, troupe_sup id)
{
    uint32_t idx = (uint32_t)id.id, gen = (uint32_t)(id.id >> 32);
    if (idx >= s->nnodes || !s->nodes[idx] || s->node_gen[idx] != gen || gen == 0)
        return NULL;
    return s->nodes[idx];
}

static int node_slot(sv *s, uint32_t *out)
{
    for (uint32_t i = 1; i < s->nnodes; i++)
        if (!s->nodes[i]) {
            *out = i;
            return 0;
        }
    /* the two arrays grow together; when the second fails the first is
     * just larger than capnodes says, and is grown again next time */
    size_t need = s->nnodes + (s->nnodes ? 1 : 2); /* index 0 is never used */
    uint32_t capn = s->capnodes, capg = s->capnodes;
    if (tr_grow32((void **)&s->nodes, &capn, need, sizeof *s->nodes, 16) ||
        tr_grow32((void **)&s->node_gen, &capg, need, sizeof *s->node_gen, 16))
        return TROUPE_ENOMEM;
    memset(s->node_gen + s->capnodes, 0, (capg - s->capnodes) * sizeof *s->node_gen);
    s->capnodes = capg;
    if (s->nnodes == 0)
        s->nodes[s->nnodes++] = NULL; /* index 0 is never used */
    s->nodes[s->nnodes] = NULL;
    *out = s->nnodes++;
    return 0;
}

sv_node *sv_node_new(sv *s, const troupe_sup_spec *spec)
{
    uint32_t idx;
    sv_node *n = sys_calloc(1, sizeof *n);
    if (!n || node_slot(s, &idx)) {
        free(n);
        return NULL;
    }
    n->rtimes = sys_calloc(spec->intensity ? spec->intensity : 1, sizeof *n->rtimes);
    if (!n->rtimes) {
        free(n);
        return NULL;
    }
    n->spec = *spec;
    n->spec.name = NULL;
    if (spec->name)
        strncpy(n->name, spec->name, sizeof n->name - 1);
    uint32_t gen = s->node_gen[idx] + 1 ? s->node_gen[idx] + 1 : 1;
    s->node_gen[idx] = gen;
    s->nodes[idx] = n;
    n->id = (uint64_t)gen << 32 | idx;
    return n;
}

void sv_node_free(sv *s, sv_node *n)
{
    s->nodes[(uint32_t)n->id] = NULL;
    free(n->rtimes);
    free(n);
}

/* The jitter's seed, its own per system and per run (splitmix64 of the
 * address and the time), so that restarts spread across processes; never 0
 * (xorshift would stay there). */
static uint64_t jitter_seed(const sv *s)
{
    uint64_t z = ((uint64_t)(uintptr_t)s ^ mono_ns()) + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (z ^ (z >> 31)) | 1;
}

int sv_create(troupe_system *sys)
{
    sv *s = sys_calloc(1, sizeof *s);
    if (!s)
        return TROUPE_ENOMEM;
    sys->sv = s;
    s->sys = sys;
    /* core hands a supervised actor's exit and restart to us */
    sys->hooks.exited = sv_child_exited;
    sys->hooks.reinit = sv_reinit_run;
    s->rng = jitter_seed(s);
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
    lane_reset(&s->queue, 0);
    if (evlog_create(sys) < 0)
        return TROUPE_ENOMEM;
    troupe_sup_spec rs;
    troupe_sup_spec_defaults(&rs);
    rs.intensity = sys->cfg.root_intensity;
    rs.period_ns = sys->cfg.root_period_ns;
    rs.name = "root";
    if (!(s->root = sv_node_new(s, &rs)))
        return TROUPE_ENOMEM;
    if (sys->manual) /* test mode: the kit's thread calls sv_pump instead */
        return 0;
    if (pthread_create(&s->thread, NULL, sv_main, s))
        return TROUPE_ESYS;
    s->started = true;
    return 0;
}

void sv_stop_thread(troupe_system *sys)
{
    sv *s = sys->sv;
    if (!s || !s->started)
        return;
    atomic_store_explicit(&s->quit, true, memory_order_release);
    sv_kick(s);
    pthread_join(s->thread, NULL);
    s->started = false;
    apply_records(s); /* exits that raced the stop: end them below */
}

void sv_child_free(sv_child *c)
{
    free(c->arg_copy);
    free(c->name_copy);
    free(c);
}

void sv_link_child(sv_node *n, sv_child *c)
{
    c->parent = n;
    c->prev = n->last;
    c->next = NULL;
    if (n->last)
        n->last->next = c;
    else
        n->first = c;
    n->last = c;
    n->nchildren++;
}

void sv_unlink_child(sv_child *c)
{
    sv_node *n = c->parent;
    if (n->cursor == c) /* a stop phase resumes at its predecessor */
        n->cursor = c->prev;
    if (c->prev)
        c->prev->next = c->next;
    else
        n->first = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        n->last = c->prev;
    n->nchildren--;
    c->prev = c->next = NULL;
    c->parent = NULL;
}

static void free_subtree(sv *s, sv_node *n)
{
    for (sv_child *c = n->first, *next; c; c = next) {
        next = c->next;
        if (c->sup)
            free_subtree(s, c->sup);
        sv_child_free(c);
    }
    sv_node_free(s, n);
}

void sv_destroy(troupe_system *sys)
{
    sv *s = sys->sv;
    if (!s)
        return;
    if (s->root)
        free_subtree(s, s->root);
    for (sv_child *c = s->zombies, *next; c; c = next) {
        next = c->next;
        sv_child_free(c);
    }
    for (uint32_t i = 1; i < s->nnodes; i++)
        if (s->nodes[i]) /* detached nodes never reached from the root */
            sv_node_free(s, s->nodes[i]);
    free(s->nodes);
    free(s->node_gen);
    evlog_destroy(sys);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
    sys->sv = NULL;
}

/* troupe_system_shutdown's first step: the root's children in reverse start
 * order, each within its own timeout, the whole within timeout_ns. */
int sv_shutdown_root(troupe_system *sys, uint64_t timeout_ns)
{
    sv *s = sys->sv;
    if (!s || !s->root) /* a system whose creation failed before the root existed */
        return 0;
    sv_node *root = s->root;
    uint64_t abs = deadline_add(mono_ns(), timeout_ns); /* UINT64_MAX: wait for ever */
    struct timespec ts = {(time_t)(abs / 1000000000ull), (long)(abs % 1000000000ull)};
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    if (root->state == SUP_RUNNING && root->nchildren)
        sv_shutdown_node(s, root, sys->cfg.on_shutdown_progress,
                         sys->cfg.on_shutdown_progress_ud);
    while (root->nchildren && root->state != SUP_DOWN && rc == 0)
        rc = pthread_cond_timedwait(&s->cond, &s->lock, &ts);
    bool done = root->nchildren == 0 || root->state == SUP_DOWN;
    pthread_mutex_unlock(&s->lock);
    return done ? 0 : TROUPE_ETIMEDOUT;
}
