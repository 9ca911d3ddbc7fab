/* bench/rwlock_vs_actor.c — the migration's matrix (issue 13): a struct
 * guarded by a pthread_rwlock against the same struct owned by an actor,
 * called from plain threads.
 *
 * The struct (an account: count, sum, max, each thread's last sequence
 * number) is called by T = 1, 2, 4 and 8 plain threads started together,
 * each running for a fixed time (CASE_MS x the scale), with an operation
 * mix of
 *   w100  every call a write (an update)
 *   w50   half writes, half reads
 *   r90   one write in ten, nine reads
 *   r100  every call a read (the count)
 * (call k of a thread is a write when k % 10 < the mix's writes in ten).
 * Each path is one row of IMPLS:
 *   rwlock     write-lock, update, unlock; read-lock, read, unlock
 *   actor_ask  troupe_ask to the actor that owns the struct: the update
 *              (its reply: the new count) or the read (its reply: the count)
 *   actor_call troupe_call: the calling thread runs the actor when it is idle
 *   actor_async troupe_ask_start on an eventfd call queue, 64 calls in flight
 *              per thread, completions taken with troupe_callq_next
 *   actor_view writes by troupe_call, reads from the published view
 *   actor_tell troupe_tell of the update (w100 only: a read needs a reply);
 *              the case ends when the actor has applied the last one
 * Adding a path is a row: open / op / close functions, or a thread
 * function of its own for a path that keeps many calls in flight.
 *
 * Printed per case (bench=rwlock_matrix.<mix>.t<T>):
 *   impl=<path> metric=ops unit=ops/s             calls of every thread / time
 *   impl=<path> metric=ratio_vs_rwlock unit=x     that over the rwlock's, same
 *                                                 run (above 1: faster than the lock)
 * and a table on stderr. With 4 and 8 threads the 2-core machine is
 * oversubscribed: lock holders and the actor get preempted.
 *
 * Checks: after each case the struct's count, sum and max are those of the
 * writes made, each thread's last sequence number is its last write, and
 * (for the actors) each thread's writes were applied in the order sent;
 * the counts a thread reads or is answered never go down, and a write's
 * answer is above the thread's previous one.
 *
 *   bench_rwlock_vs_actor [SCALE]   (or TROUPE_BENCH_SCALE): case time
 *   x SCALE; at 1 the matrix takes about 20 s (4 x 4 cases of five paths,
 *   4 of tell); SCALE 4 runs 2 s per case.
 */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

#define MAX_THREADS 8
#define CASE_MS 500.0
#define CAPACITY 65536
#define NONE UINT64_MAX /* an op that saw no count (a tell) */
#define SEC_NS 1000000000ull

enum { MSG_UPDATE = 1, MSG_ASK_UPDATE = 2, MSG_READ = 3, MSG_GET = 4, MSG_PUBLISH = 5 };

typedef struct account {
    uint64_t count, sum, max;
    uint64_t last[MAX_THREADS]; /* each thread's last seq + 1 */
    uint64_t out_of_order;
} account;

typedef struct update {
    uint64_t value;
    uint64_t seq;
    uint32_t thread, pad;
} update;

static inline void apply(account *a, const update *u)
{
    a->count++;
    a->sum += u->value;
    if (u->value > a->max)
        a->max = u->value;
    a->out_of_order += u->seq != a->last[u->thread];
    a->last[u->thread] = u->seq + 1;
}

static inline uint64_t value_of(uint32_t thread, uint64_t seq)
{
    return seq * 7 + thread;
}

/* ---- a case, and the table of paths ---------------------------------------------------- */

typedef struct run {
    const struct impl *im;
    uint32_t threads, wtenths; /* writes in ten calls */
    troupe_system *sys;        /* the actor paths' */
    troupe_ref owner;
    pthread_rwlock_t lock;     /* the rwlock path's */
    account shared;
    atomic_int ready, go, stop;
    _Atomic uint64_t bad;
} run;

typedef struct thr {
    run *r;
    uint32_t id;
    uint64_t ops, writes; /* calls made, of which writes */
    uint64_t seen;        /* the last count seen */
    uint64_t t0, t1;
} thr;

typedef struct impl {
    const char *name;  /* impl= */
    int writes_only;   /* only in the w100 mix */
    void (*open)(run *r);
    /* One call: u is the write to make, NULL a read. Returns the count
     * the call saw (NONE if it sees none). */
    uint64_t (*op)(thr *t, const update *u);
    /* After the threads are joined: the final state into *out, end time
     * of the case into *t1 if later than the threads' (0: theirs), free
     * what open made. */
    void (*close)(run *r, account *out, uint64_t *t1);
    /* NULL: the default thread (one call at a time, the mix's ops). */
    void *(*thread)(void *thr);
} impl;

/* ---- the rwlock path ------------------------------------------------------------------- */

static void rwlock_open(run *r)
{
    pthread_rwlock_init(&r->lock, NULL);
}

static uint64_t rwlock_op(thr *t, const update *u)
{
    run *r = t->r;
    uint64_t c;
    if (u) {
        pthread_rwlock_wrlock(&r->lock);
        apply(&r->shared, u);
        c = r->shared.count;
    } else {
        pthread_rwlock_rdlock(&r->lock);
        c = r->shared.count;
    }
    pthread_rwlock_unlock(&r->lock);
    return c;
}

static void rwlock_close(run *r, account *out, uint64_t *t1)
{
    (void)t1;
    *out = r->shared;
    pthread_rwlock_destroy(&r->lock);
}

/* ---- the actor that owns the account ---------------------------------------------------- */

static uint64_t g_get_ns; /* when the actor answered MSG_GET (read after the ask) */

static int g_publish; /* the actor_view case: publish the count after each write */

/* The count as a view (troupe/async.h): a new immutable block per write,
 * the one it replaces freed after readers are done with it. */
static int publish_count(troupe_ctx *ctx, const account *a)
{
    uint64_t *v = malloc(sizeof *v);
    if (!v)
        return -1;
    *v = a->count;
    if (troupe_view_publish(ctx, v, free) == 0)
        return 0;
    free(v);
    return -1;
}

static int owner_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    account *a = st;
    if (msg->type == MSG_PUBLISH)
        return publish_count(ctx, a) ? -1 : troupe_reply(ctx, MSG_PUBLISH, NULL, 0);
    if (msg->type == MSG_GET) {
        g_get_ns = bench_now_ns();
        return troupe_reply(ctx, MSG_GET, a, sizeof *a);
    }
    if (msg->type == MSG_READ)
        return troupe_reply(ctx, MSG_READ, &a->count, sizeof a->count);
    if ((msg->type != MSG_UPDATE && msg->type != MSG_ASK_UPDATE) || msg->size != sizeof(update))
        return -1;
    update u;
    memcpy(&u, msg->data, sizeof u);
    if (u.thread >= MAX_THREADS)
        return -1;
    apply(a, &u);
    if (g_publish && publish_count(ctx, a))
        return -1;
    if (msg->type == MSG_ASK_UPDATE)
        return troupe_reply(ctx, MSG_ASK_UPDATE, &a->count, sizeof a->count);
    return 0;
}

static const troupe_behaviour owner_beh = {
    .name = "rwlock_vs_actor.owner", .state_size = sizeof(account), .handle = owner_handle};

static void actor_open(run *r)
{
    r->sys = bench_system(1);
    troupe_spawn_opts opts;
    troupe_spawn_opts_defaults(&opts);
    opts.capacity = CAPACITY;
    bench_check(troupe_spawn(r->sys, &owner_beh, NULL, &opts, &r->owner), "spawn owner");
}

/* The ask is queued behind every tell the threads made (they returned
 * before the join): its answer is the final state, and its time the end
 * of a tell case. */
static void actor_close(run *r, account *out, uint64_t *t1)
{
    bench_ask(r->sys, r->owner, MSG_GET, out, sizeof *out);
    *t1 = g_get_ns;
    troupe_system_destroy(r->sys);
    r->sys = NULL;
}

static uint64_t ask_op(thr *t, const update *u)
{
    uint64_t count = 0;
    size_t len = 0;
    uint32_t type = u ? MSG_ASK_UPDATE : MSG_READ;
    bench_check(troupe_ask(t->r->sys, t->r->owner, type, u, u ? sizeof *u : 0, 10 * SEC_NS, NULL,
                           &count, sizeof count, &len),
                "troupe_ask");
    if (len != sizeof count)
        bench_fail("a reply of %zu bytes", len);
    return count;
}

/* troupe_call: the calling thread runs the actor itself when it is idle
 * (core/call.c), else the call waits like an ask. */
static uint64_t call_op(thr *t, const update *u)
{
    uint64_t count = 0;
    size_t len = 0;
    uint32_t type = u ? MSG_ASK_UPDATE : MSG_READ;
    bench_check(troupe_call(t->r->sys, t->r->owner, type, u, u ? sizeof *u : 0, 10 * SEC_NS, NULL,
                            &count, sizeof count, &len),
                "troupe_call");
    if (len != sizeof count)
        bench_fail("a reply of %zu bytes", len);
    return count;
}

static void read_view(const void *view, void *ud) { *(uint64_t *)ud = *(const uint64_t *)view; }

/* Writes by troupe_call, reads from the view the actor publishes after
 * each write: no message, no lock. */
static uint64_t view_op(thr *t, const update *u)
{
    if (u)
        return call_op(t, u);
    uint64_t count = 0;
    bench_check(troupe_view_read(t->r->sys, t->r->owner, read_view, &count), "troupe_view_read");
    return count;
}

static void view_open(run *r)
{
    g_publish = 1;
    actor_open(r);
    bench_ask(r->sys, r->owner, MSG_PUBLISH, NULL, 0); /* a view before the first read */
}

static void ask_close(run *r, account *out, uint64_t *t1);

static void view_close(run *r, account *out, uint64_t *t1)
{
    ask_close(r, out, t1);
    g_publish = 0;
}

static uint64_t tell_op(thr *t, const update *u)
{
    bench_check(troupe_tell(t->r->sys, t->r->owner, MSG_UPDATE, u, sizeof *u), "troupe_tell");
    return NONE;
}

static void ask_close(run *r, account *out, uint64_t *t1)
{
    actor_close(r, out, t1);
    *t1 = 0; /* the threads' own end: every ask was answered */
}

/* ---- the threads ------------------------------------------------------------------------ */

static void seen(thr *t, int write, uint64_t c)
{
    if (c == NONE)
        return;
    if (c < t->seen || (write && c == t->seen))
        atomic_fetch_add_explicit(&t->r->bad, 1, memory_order_relaxed);
    t->seen = c;
}

static void wait_go(run *r)
{
    atomic_fetch_add(&r->ready, 1);
    /* acquire: pairs with main's release store of go */
    while (!atomic_load_explicit(&r->go, memory_order_acquire))
        sched_yield();
}

static void *caller(void *p)
{
    thr *t = p;
    run *r = t->r;
    wait_go(r);
    t->t0 = bench_now_ns();
    uint64_t k = 0;
    /* relaxed: stop carries no data; a call or two more does not matter */
    for (; !atomic_load_explicit(&r->stop, memory_order_relaxed); k++) {
        if (k % 10 < r->wtenths) {
            update u = {value_of(t->id, t->writes), t->writes, t->id, 0};
            seen(t, 1, r->im->op(t, &u));
            t->writes++;
        } else {
            seen(t, 0, r->im->op(t, NULL));
        }
    }
    t->ops = k;
    t->t1 = bench_now_ns();
    return NULL;
}

/* ---- the asynchronous path: 64 calls in flight per thread ------------------------------- */

#define IN_FLIGHT 64

/* One thread's calls in flight on its own eventfd queue (troupe_callq). */
typedef struct flight {
    troupe_callq *q;
    uint32_t n;     /* in flight */
    int poll_fd;
} flight;

static void async_start(thr *t, flight *f, uint64_t k)
{
    run *r = t->r;
    int write = k % 10 < r->wtenths;
    update u = {value_of(t->id, t->writes), t->writes, t->id, 0};
    troupe_call_id c;
    bench_check(troupe_ask_start(f->q, r->owner, write ? MSG_ASK_UPDATE : MSG_READ,
                                 write ? &u : NULL, write ? sizeof u : 0, 10 * SEC_NS,
                                 (void *)(uintptr_t)write, &c),
                "troupe_ask_start");
    t->writes += (uint64_t)write;
    f->n++;
}

/* Take every completed call (completion order: the actor answers one
 * thread's calls in the order sent, so counts are checked as for a sync
 * call); sleep on the eventfd when none is ready. */
static void async_reap(thr *t, flight *f)
{
    troupe_call_id c;
    void *ud;
    int rc;
    while ((rc = troupe_callq_next(f->q, &c, &ud)) == 0) {
        uint64_t count = 0;
        size_t len = 0;
        bench_check(troupe_call_result(f->q, c, NULL, &count, sizeof count, &len),
                    "troupe_call_result");
        if (len != sizeof count)
            bench_fail("a reply of %zu bytes", len);
        seen(t, ud != NULL, count);
        bench_check(troupe_call_release(f->q, c), "troupe_call_release");
        f->n--;
    }
    if (rc != TROUPE_EBUSY)
        bench_fail("troupe_callq_next: %d", rc);
}

static void async_wait(flight *f)
{
    struct pollfd p = {.fd = f->poll_fd, .events = POLLIN};
    if (poll(&p, 1, 10000) < 0)
        bench_fail("poll");
}

/* Keeps IN_FLIGHT calls in flight: refill, take the completed ones, wait
 * on the fd only when the window is full and nothing is ready. */
static void *async_run(thr *t, uint32_t flags)
{
    run *r = t->r;
    flight f = {0};
    bench_check(troupe_callq_create(r->sys, flags, &f.q), "troupe_callq_create");
    f.poll_fd = troupe_callq_fd(f.q);
    wait_go(r);
    t->t0 = bench_now_ns();
    uint64_t k = 0;
    /* relaxed: stop carries no data; a call or two more does not matter */
    while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
        for (; f.n < IN_FLIGHT; k++)
            async_start(t, &f, k);
        async_reap(t, &f);
        if (f.n == IN_FLIGHT)
            async_wait(&f);
    }
    while (f.n > 0) { /* the case counts only answered calls */
        async_reap(t, &f);
        if (f.n > 0)
            async_wait(&f);
    }
    t->ops = k;
    t->t1 = bench_now_ns();
    troupe_callq_destroy(f.q);
    return NULL;
}

static void *async_caller(void *p) { return async_run(p, TROUPE_CALLQ_FD); }

/* The same with TROUPE_CALLQ_RUN_HERE: a start that finds the actor idle
 * runs it on this thread, and the call is complete when the start returns. */
static void *async_here_caller(void *p)
{
    return async_run(p, TROUPE_CALLQ_FD | TROUPE_CALLQ_RUN_HERE);
}

static const impl IMPLS[] = {
    {"rwlock", 0, rwlock_open, rwlock_op, rwlock_close, NULL},
    {"actor_ask", 0, actor_open, ask_op, ask_close, NULL},
    {"actor_call", 0, actor_open, call_op, ask_close, NULL},
    {"actor_async", 0, actor_open, NULL, ask_close, async_caller},
    {"actor_async_here", 0, actor_open, NULL, ask_close, async_here_caller},
    {"actor_view", 0, view_open, view_op, view_close, NULL},
    {"actor_tell", 1, actor_open, tell_op, actor_close, NULL},
};
#define NIMPLS (sizeof IMPLS / sizeof IMPLS[0])

/* ---- one case --------------------------------------------------------------------------- */

static void check_account(const account *a, const thr *t, uint32_t threads, const char *what)
{
    uint64_t count = 0, sum = 0, max = 0;
    for (uint32_t i = 0; i < threads; i++) {
        count += t[i].writes;
        for (uint64_t k = 0; k < t[i].writes; k++) {
            uint64_t v = value_of(i, k);
            sum += v;
            max = v > max ? v : max;
        }
        if (a->last[i] != t[i].writes)
            bench_fail("%s: thread %u's last write is %llu of %llu", what, i,
                       (unsigned long long)a->last[i], (unsigned long long)t[i].writes);
    }
    if (a->count != count || a->sum != sum || a->max != max || a->out_of_order != 0)
        bench_fail("%s: count %llu (want %llu), sum %llu (want %llu), max %llu (want %llu), "
                   "%llu out of order",
                   what, (unsigned long long)a->count, (unsigned long long)count,
                   (unsigned long long)a->sum, (unsigned long long)sum,
                   (unsigned long long)a->max, (unsigned long long)max,
                   (unsigned long long)a->out_of_order);
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / SEC_NS), (long)(ns % SEC_NS)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Runs one path for case_ns; returns its calls per second. */
static double measure(const impl *im, uint32_t wtenths, uint32_t threads, uint64_t case_ns,
                      const char *what)
{
    static run r; /* one at a time */
    memset(&r, 0, sizeof r);
    r.im = im, r.threads = threads, r.wtenths = wtenths;
    im->open(&r);
    pthread_t th[MAX_THREADS];
    thr t[MAX_THREADS];
    for (uint32_t i = 0; i < threads; i++) {
        t[i] = (thr){.r = &r, .id = i};
        if (pthread_create(&th[i], NULL, im->thread ? im->thread : caller, &t[i]) != 0)
            bench_fail("pthread_create");
    }
    while (atomic_load(&r.ready) < (int)threads)
        sched_yield();
    atomic_store_explicit(&r.go, 1, memory_order_release); /* pairs with wait_go */
    sleep_ns(case_ns);
    atomic_store_explicit(&r.stop, 1, memory_order_relaxed);
    uint64_t t0 = UINT64_MAX, t1 = 0, ops = 0, end = 0;
    for (uint32_t i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        t0 = t[i].t0 < t0 ? t[i].t0 : t0;
        t1 = t[i].t1 > t1 ? t[i].t1 : t1;
        ops += t[i].ops;
    }
    account a;
    im->close(&r, &a, &end);
    t1 = end > t1 ? end : t1;
    check_account(&a, t, threads, what);
    if (atomic_load(&r.bad) != 0)
        bench_fail("%s: %llu counts went backwards", what, (unsigned long long)atomic_load(&r.bad));
    return (double)ops / ((double)(t1 - t0) / 1e9);
}

/* ---- the matrix ------------------------------------------------------------------------- */

static const struct mix {
    const char *name;
    uint32_t wtenths;
} MIXES[] = {{"w100", 10}, {"w50", 5}, {"r90", 1}, {"r100", 0}};
#define NMIXES (sizeof MIXES / sizeof MIXES[0])
#define NCOUNTS 4
static const uint32_t COUNTS[NCOUNTS] = {1, 2, 4, 8};

static double g_ops[NMIXES][NCOUNTS][NIMPLS]; /* 0: not run */

/* TROUPE_BENCH_ONLY=actor_call,actor_view (say): only those paths (and
 * the rwlock, every ratio's base); TROUPE_BENCH_MIX=r100: only that mix;
 * TROUPE_BENCH_T=t1,t2: only those thread counts. */
static int wanted(const char *env, const char *name)
{
    const char *list = getenv(env);
    if (!list || !*list)
        return 1;
    size_t n = strlen(name);
    for (const char *p = strstr(list, name); p; p = strstr(p + 1, name))
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return 1;
    return 0;
}

static const char *tname(size_t c)
{
    static const char *const names[NCOUNTS] = {"t1", "t2", "t4", "t8"};
    return names[c];
}

static void one_case(size_t m, size_t c, uint64_t case_ns)
{
    char bench[64];
    snprintf(bench, sizeof bench, "rwlock_matrix.%s.t%u", MIXES[m].name, COUNTS[c]);
    for (size_t i = 0; i < NIMPLS; i++) {
        if ((IMPLS[i].writes_only && MIXES[m].wtenths != 10) ||
            (i > 0 && !wanted("TROUPE_BENCH_ONLY", IMPLS[i].name)))
            continue;
        char what[96];
        snprintf(what, sizeof what, "%s %s", bench, IMPLS[i].name);
        g_ops[m][c][i] = measure(&IMPLS[i], MIXES[m].wtenths, COUNTS[c], case_ns, what);
        bench_summary_impl(bench, IMPLS[i].name, "ops", g_ops[m][c][i], "ops/s");
    }
    for (size_t i = 1; i < NIMPLS; i++) /* IMPLS[0] is the rwlock */
        if (g_ops[m][c][i] > 0.0)
            bench_summary_impl(bench, IMPLS[i].name, "ratio_vs_rwlock",
                               g_ops[m][c][i] / g_ops[m][c][0], "x");
}

static void table(void)
{
    fprintf(stderr, "\n%-6s %3s", "mix", "T");
    for (size_t i = 0; i < NIMPLS; i++)
        fprintf(stderr, " %14s", IMPLS[i].name);
    fprintf(stderr, "   (calls/s; x = over the rwlock)\n");
    for (size_t m = 0; m < NMIXES; m++)
        for (size_t c = 0; c < NCOUNTS; c++) {
            fprintf(stderr, "%-6s %3u", MIXES[m].name, COUNTS[c]);
            for (size_t i = 0; i < NIMPLS; i++) {
                double v = g_ops[m][c][i], x = v / g_ops[m][c][0];
                if (v <= 0.0)
                    fprintf(stderr, " %14s", "-");
                else
                    fprintf(stderr, " %7.2fM %5.3gx", v / 1e6, x);
            }
            fprintf(stderr, "\n");
        }
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    uint64_t case_ns = bench_scaled((uint64_t)(CASE_MS * 1e6), scale, 20000000);
    for (size_t m = 0; m < NMIXES; m++)
        for (size_t c = 0; c < NCOUNTS; c++)
            if (wanted("TROUPE_BENCH_MIX", MIXES[m].name) && wanted("TROUPE_BENCH_T", tname(c)))
                one_case(m, c, case_ns);
    table();
    return 0;
}
