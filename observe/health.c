/* observe/health.c — the health monitor and the stall watchdog.
 *
 * The monitor is a runtime actor. Every tick (a quarter of the system's
 * interval, on the system's clock) it lists the supervised actors running
 * now, pings each one that is due on its system lane, and counts a ping
 * unanswered within its interval as missed. The pinged actor's worker
 * answers between two messages (core/run.c -> health_serve, registered in
 * core/hooks.h's system-lane table by obs_create), after the
 * behaviour's health callback. N consecutive misses (a late pong is one)
 * or a bad verdict make the actor unhealthy: it gets a stop of kind
 * HEALTH, once per incarnation, and its supervisor restarts it by its
 * policy. A new incarnation (its restart count moved) starts healthy-
 * unknown again.
 *
 * The watchdog is a timer function (the timer thread, or a manual clock's
 * advance): a worker whose running actor and run count have not changed
 * for stall_ns is stalled. The handler cannot be preempted; the other
 * workers steal what waits in its run queue (the watchdog wakes one if
 * none searches), the actors waiting behind it are reported (stranded:
 * its run queue and its LIFO slot, which is not stealable), and the stuck
 * actor gets the same HEALTH stop, served when the handler returns at last.
 */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/timer.h"
#include "observe/obs.h"
#include "supervisor/sv.h"

/* The supervised children, as the supervisor listed them at a sweep. */
typedef struct seen_list {
    sv_child_view *v;
    uint32_t n, cap;
    bool nomem;
} seen_list;

static uint64_t now_ns(troupe_system *sys) { return troupe_clock_now(sys->clock); }

static void collect(const sv_child_view *c, void *ud)
{
    seen_list *l = ud;
    if (tr_grow32((void **)&l->v, &l->cap, (size_t)l->n + 1, sizeof *l->v, 32)) {
        l->nomem = true;
        return;
    }
    l->v[l->n++] = *c;
}

static health_rec *rec_find(obs *o, uint64_t ref)
{
    uint32_t lo = 0, hi = o->nrecs;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (o->recs[mid].ref < ref)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < o->nrecs && o->recs[lo].ref == ref ? &o->recs[lo] : NULL;
}

static health_rec *rec_insert(obs *o, uint64_t ref)
{
    if (tr_grow32((void **)&o->recs, &o->caprecs, (size_t)o->nrecs + 1, sizeof *o->recs, 32))
        return NULL;
    uint32_t i = 0;
    while (i < o->nrecs && o->recs[i].ref < ref)
        i++;
    memmove(&o->recs[i + 1], &o->recs[i], (o->nrecs - i) * sizeof *o->recs);
    o->nrecs++;
    memset(&o->recs[i], 0, sizeof *o->recs);
    o->recs[i].ref = ref;
    return &o->recs[i];
}

/* A fresh incarnation: what the last one did no longer says anything. */
static void rec_reset(health_rec *h, uint64_t restarts)
{
    h->restarts = restarts;
    h->sent_at = 0;
    h->info.missed = 0;
    h->info.status = TROUPE_HEALTH_UNKNOWN;
    h->reported = false;
}

/* Unhealthy: tell its supervisor (a HEALTH stop), once per incarnation. */
static void report(troupe_system *sys, health_rec *h)
{
    h->info.status = TROUPE_HEALTH_UNHEALTHY;
    if (h->reported)
        return;
    h->reported = true;
    h->info.failures++;
    sys->obs->health_failures++;
    tmsg m = {.type = SYSMSG_STOP, .corr = TROUPE_EXIT_HEALTH};
    (void)send_sys(sys, (troupe_ref){h->ref}, &m); /* ENOACTOR: it ended anyway */
}

static void miss(troupe_system *sys, health_rec *h)
{
    h->sent_at = 0;
    if (++h->info.missed >= sys->cfg.health_misses)
        report(sys, h);
}

static void ping(troupe_system *sys, obs *o, health_rec *h, uint64_t now)
{
    tmsg m = {.type = SYSMSG_PING, .sender = o->monitor.id, .corr = ++o->seq};
    if (send_sys(sys, (troupe_ref){h->ref}, &m) != 0)
        return; /* gone, or no memory: the next sweep sees */
    h->seq = o->seq;
    h->sent_at = now;
    h->next_ping = deadline_add(now, h->info.interval_ns);
    h->info.pings++;
}

/* One child as the tree lists it now. */
static void sweep_one(troupe_system *sys, obs *o, const sv_child_view *c, uint64_t now)
{
    health_rec *h = rec_find(o, c->ref.id);
    if (!h && !(h = rec_insert(o, c->ref.id)))
        return;
    h->seen = true;
    int64_t iv = c->health_interval;
    h->info.interval_ns = iv < 0 ? 0 : iv ? (uint64_t)iv : (uint64_t)sys->cfg.health_interval_ns;
    if (h->restarts != c->restarts)
        rec_reset(h, c->restarts);
    if (!c->running || !h->info.interval_ns)
        return;
    if (h->sent_at && now - h->sent_at >= h->info.interval_ns)
        miss(sys, h);
    if (!h->sent_at && now >= h->next_ping)
        ping(sys, o, h, now);
}

static void sweep(troupe_system *sys)
{
    obs *o = sys->obs;
    seen_list l = {0};
    (void)sv_visit_children(sys, (troupe_sup){0}, collect, &l); /* the whole tree */
    uint64_t now = now_ns(sys);
    pthread_mutex_lock(&o->hlock);
    for (uint32_t i = 0; i < o->nrecs; i++)
        o->recs[i].seen = false;
    for (uint32_t i = 0; i < l.n; i++)
        sweep_one(sys, o, &l.v[i], now);
    uint32_t k = 0; /* forget the actors the tree no longer has */
    for (uint32_t i = 0; i < o->nrecs; i++)
        if (o->recs[i].seen || l.nomem)
            o->recs[k++] = o->recs[i];
    o->nrecs = k;
    pthread_mutex_unlock(&o->hlock);
    free(l.v);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void record_rtt(health_rec *h, uint64_t rtt)
{
    h->info.last_rtt_ns = rtt;
    h->info.avg_rtt_ns = h->info.pongs ? h->info.avg_rtt_ns - h->info.avg_rtt_ns / 8 + rtt / 8 : rtt;
    h->info.pongs++;
    h->rtt[h->nrtt++ % 64] = rtt;
    uint32_t n = h->nrtt < 64 ? h->nrtt : 64;
    uint64_t tmp[64];
    memcpy(tmp, h->rtt, n * sizeof *tmp);
    qsort(tmp, n, sizeof *tmp, cmp_u64);
    h->info.p99_rtt_ns = tmp[(n * 99 + 99) / 100 - 1];
}

static void on_pong(troupe_system *sys, const troupe_msg *m)
{
    obs *o = sys->obs;
    int32_t verdict = 0;
    if (m->size >= sizeof verdict)
        memcpy(&verdict, m->data, sizeof verdict);
    uint64_t now = now_ns(sys);
    pthread_mutex_lock(&o->hlock);
    health_rec *h = rec_find(o, m->sender.id);
    if (h && h->sent_at && h->seq == (uint32_t)m->corr) {
        uint64_t rtt = now - h->sent_at;
        h->sent_at = 0;
        record_rtt(h, rtt);
        if (verdict < 0)
            report(sys, h);
        else if (rtt > h->info.interval_ns)
            miss(sys, h); /* late */
        else if (!h->reported) {
            h->info.missed = 0;
            h->info.status = TROUPE_HEALTH_HEALTHY;
        }
    }
    pthread_mutex_unlock(&o->hlock);
}

static int monitor_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    (void)state;
    troupe_system *sys = ctx->sys;
    if (m->type == SYSMSG_PONG)
        on_pong(sys, m);
    else if (m->type == SYSMSG_HTICK &&
             atomic_load_explicit(&sys->state, memory_order_relaxed) == SYS_RUNNING)
        sweep(sys);
    return 0;
}

static const troupe_behaviour monitor_beh = {.name = "troupe.health", .handle = monitor_handle};

/* The runtime's own actors (the health monitor, dead letters, the flags
 * watcher, ...): their behaviour names start with "troupe." (reserved). */
bool obs_runtime_beh(const troupe_behaviour *beh)
{
    return beh == &monitor_beh || dead_letter_beh_is(beh) ||
           (beh->name && strncmp(beh->name, "troupe.", 7) == 0);
}

/* On the pinged actor's worker, from its system lane. */
void health_answer(troupe_system *sys, actor *a, const tmsg *ping)
{
    int32_t verdict = 0;
    worker *w = troupei_tls.w;
    if (a->beh->health && w) {
        w->ctx.msg = NULL;
        verdict = a->beh->health(&w->ctx, a->state) < 0 ? -1 : 0;
    }
    tmsg p = {.type = SYSMSG_PONG,
              .flags_size = sizeof verdict,
              .sender = ref_make(sys, a->index, a->gen).id,
              .corr = ping->corr};
    memcpy(p.u.inl, &verdict, sizeof verdict);
    (void)send_sys(sys, (troupe_ref){ping->sender}, &p); /* lost: counted a miss */
}

int health_serve(worker *w, actor *a, troupe_failure_kind *kind, const char **reason)
{
    (void)kind;
    (void)reason;
    health_answer(w->sys, a, &w->cur); /* a ping owns nothing to destroy */
    return 0;
}

bool health_get(troupe_system *sys, troupe_ref ref, troupe_health_info *out)
{
    obs *o = sys->obs;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&o->hlock);
    health_rec *h = rec_find(o, ref.id);
    if (h)
        *out = h->info;
    pthread_mutex_unlock(&o->hlock);
    return h != NULL;
}

void health_totals(troupe_system *sys, uint64_t *unhealthy, uint64_t *failures)
{
    obs *o = sys->obs;
    *unhealthy = 0;
    pthread_mutex_lock(&o->hlock);
    for (uint32_t i = 0; i < o->nrecs; i++)
        *unhealthy += o->recs[i].info.status == TROUPE_HEALTH_UNHEALTHY;
    *failures = o->health_failures;
    pthread_mutex_unlock(&o->hlock);
}

/* The watchdog found worker i stuck in actor `ref`: flag the worker, mark
 * the actor unhealthy and, if it is supervised, tell its supervisor (the
 * HEALTH stop, served when the handler returns). */
static void stalled(troupe_system *sys, uint32_t i, uint64_t ref)
{
    obs *o = sys->obs;
    /* relaxed: flags for readers; nothing is published through them */
    atomic_store_explicit(&o->stalled[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&o->stalls[i], 1, memory_order_relaxed);
    sv_child_view c;
    if (!sv_child_query(sys, (troupe_ref){ref}, &c))
        return;
    pthread_mutex_lock(&o->hlock);
    health_rec *h = rec_find(o, ref);
    if (!h && (h = rec_insert(o, ref)))
        h->restarts = c.restarts;
    if (h) {
        h->info.missed = sys->cfg.health_misses;
        report(sys, h);
    } else {
        tmsg m = {.type = SYSMSG_STOP, .corr = TROUPE_EXIT_HEALTH};
        (void)send_sys(sys, (troupe_ref){ref}, &m);
    }
    pthread_mutex_unlock(&o->hlock);
}

/* What waits behind stalled worker i, sampled each tick while it is stuck:
 * the actor in its LIFO slot (not stealable: it waits for the handler to
 * return) and its run queue. The rule of core/sched.c has already woken a
 * worker for a queued one; a wake-up here costs nothing if one searches,
 * and makes sure the queue is stolen if none does. */
static void watch_stranded(troupe_system *sys, uint32_t i)
{
    worker *w = &sys->workers[i];
    /* relaxed: samples of owner-written words, for a report */
    uint32_t queued = runq_length(&w->q);
    uint32_t n = queued + (atomic_load_explicit(&w->lifo, memory_order_relaxed) != NULL);
    atomic_store_explicit(&sys->obs->stranded[i], n, memory_order_relaxed);
    if (queued)
        sched_notify(sys);
}

static void watch_worker(troupe_system *sys, uint32_t i, uint64_t now)
{
    obs *o = sys->obs;
    worker *w = &sys->workers[i];
    if (w->pool->blocking) /* its handlers may block: never stalled (docs/POOLS.md) */
        return;
    /* relaxed: a sample; a run that moved shows in either word */
    uint64_t runs = atomic_load_explicit(&w->runs, memory_order_relaxed);
    uint64_t running = atomic_load_explicit(&w->running, memory_order_relaxed);
    if (running && runs == o->wd_runs[i] && running == o->wd_running[i]) {
        if (now - o->wd_since[i] < (uint64_t)sys->cfg.stall_ns)
            return;
        if (!atomic_load_explicit(&o->stalled[i], memory_order_relaxed))
            stalled(sys, i, running);
        watch_stranded(sys, i);
        return;
    }
    o->wd_runs[i] = runs;
    o->wd_running[i] = running;
    o->wd_since[i] = now;
    atomic_store_explicit(&o->stalled[i], 0, memory_order_relaxed);
    atomic_store_explicit(&o->stranded[i], 0, memory_order_relaxed);
}

/* The supervisor thread is a single point of failure: a bug, or a hook of
 * the user's that blocks (on_escalation runs on it), and nothing restarts.
 * Stalled: it owes work (a pass under way, or a wake it has not taken) and
 * has finished no pass for stall_ns. Only reported: it cannot be preempted
 * nor replaced (docs/OPERATIONS.md says what to do). An idle thread owes
 * nothing and is never stalled. */
static void watch_sv(troupe_system *sys, uint64_t now)
{
    obs *o = sys->obs;
    uint64_t beats;
    bool busy;
    sv_heartbeat(sys, &beats, &busy);
    if (busy && beats == o->sv_beats) {
        /* relaxed: a flag and a counter for readers, as the workers' */
        if (now - o->sv_since >= (uint64_t)sys->cfg.stall_ns &&
            !atomic_load_explicit(&o->sv_stalled, memory_order_relaxed)) {
            atomic_store_explicit(&o->sv_stalled, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&o->sv_stalls, 1, memory_order_relaxed);
        }
        return;
    }
    o->sv_beats = beats;
    o->sv_since = now;
    atomic_store_explicit(&o->sv_stalled, 0, memory_order_relaxed); /* see above */
}

TROUPE_API int troupe_supervisor_health_get(troupe_system *sys, troupe_supervisor_health *out)
{
    if (!sys || !out)
        return TROUPE_EINVAL;
    obs *o = sys->obs;
    bool busy;
    memset(out, 0, sizeof *out);
    sv_heartbeat(sys, &out->heartbeats, &busy);
    out->busy = busy;
    out->stalled = (int)atomic_load_explicit(&o->sv_stalled, memory_order_relaxed); /* see watch_sv */
    out->stalls = atomic_load_explicit(&o->sv_stalls, memory_order_relaxed);
    return 0;
}

static void watchdog(troupe_system *sys, uint64_t arg)
{
    (void)arg;
    uint64_t now = now_ns(sys);
    for (uint32_t i = 0; i < sys->nworkers; i++)
        watch_worker(sys, i, now);
    watch_sv(sys, now);
    uint64_t period = (uint64_t)sys->cfg.stall_ns / 4;
    (void)timer_add_fn(sys, period ? period : 1, watchdog, 0, NULL); /* ENOMEM: it stops */
}

static int watchdog_start(troupe_system *sys)
{
    obs *o = sys->obs;
    uint32_t n = sys->nworkers;
    o->wd_runs = sys_calloc(n, sizeof *o->wd_runs);
    o->wd_running = sys_calloc(n, sizeof *o->wd_running);
    o->wd_since = sys_calloc(n, sizeof *o->wd_since);
    o->stalled = sys_calloc(n, sizeof *o->stalled);
    o->stalls = sys_calloc(n, sizeof *o->stalls);
    o->stranded = sys_calloc(n, sizeof *o->stranded);
    if (!o->wd_runs || !o->wd_running || !o->wd_since || !o->stalled || !o->stalls ||
        !o->stranded)
        return TROUPE_ENOMEM;
    if (!sys->cfg.stall_ns)
        return 0;
    o->sv_since = now_ns(sys); /* the supervisor thread is watched from now */
    uint64_t period = (uint64_t)sys->cfg.stall_ns / 4;
    return timer_add_fn(sys, period ? period : 1, watchdog, 0, NULL);
}

/* The monitor's tick, on the timer thread: a system-lane message (not a
 * user one: it is the runtime's, and never counted as a message). */
static void tick(troupe_system *sys, uint64_t arg)
{
    (void)arg;
    tmsg m = {.type = SYSMSG_HTICK};
    (void)send_sys(sys, sys->obs->monitor, &m); /* ENOMEM: the next tick */
    uint64_t period = (uint64_t)sys->cfg.health_interval_ns / 4;
    (void)timer_add_fn(sys, period ? period : 1, tick, 0, NULL); /* ENOMEM: it stops */
}

int health_start(troupe_system *sys)
{
    int rc = watchdog_start(sys);
    if (rc || !sys->cfg.health_interval_ns)
        return rc;
    if ((rc = spawn_system(sys, &monitor_beh, &sys->obs->monitor)))
        return rc;
    uint64_t period = (uint64_t)sys->cfg.health_interval_ns / 4;
    return timer_add_fn(sys, period ? period : 1, tick, 0, NULL);
}
