/* bench/rwlock_vs_actor.c — the "current system" comparison: a struct
 * guarded by a pthread_rwlock against the same struct owned by an actor.
 *
 * The struct (an account: count, sum, max, the last sequence number of each
 * thread) gets the same update in every case, from T = 1, 2 and 4 plain
 * threads started together:
 *   rwlock_update_T  (impl=rwlock) each thread: write-lock, update, unlock;
 *                    the threads share 4,000,000 updates (times the scale)
 *   actor_tell_T     each thread tells the update to one actor that owns
 *                    the struct (a mailbox of CAPACITY: plain threads back
 *                    off only when it is full); 4,000,000 updates shared;
 *                    the run ends when the actor has applied the last one
 *   actor_ask_T      each thread asks the actor to apply the update and
 *                    waits for its reply (the new count); 200,000 asks
 *                    shared (times the scale): a round trip costs ~100x a
 *                    lock, so fewer keep the run short
 * Metrics per case: throughput (updates per second, ops/s) and the latency
 * of one call as its caller sees it — lock + update + unlock, troupe_tell,
 * troupe_ask — p50 and p99 in ns. For rwlock and tell every SAMPLE-th call
 * is timed (timing each would double their cost); every ask is timed. A
 * timed call includes one clock read (~20 ns here): the floor of p50. Then
 *   actor_vs_rwlock_T  tell_ratio and ask_ratio: the actor's throughput over
 *                      the rwlock's (x; above 1 the actor is faster)
 * With 4 threads the 2-core machine is oversubscribed (4 callers and, for
 * the actor, 2 workers): lock holders and the actor get preempted.
 *
 * Checks: after each case the struct's count and sum are those of the
 * updates made and each thread's last sequence number is its last update
 * (and for the actor, each thread's updates were applied in the order
 * sent); every ask's reply is a count no thread saw before.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define MAX_THREADS 4
#define BASE_UPDATES 4000000ull
#define BASE_ASKS 200000ull
#define SAMPLE 16
#define CAPACITY 65536

enum { MSG_UPDATE = 1, MSG_ASK_UPDATE = 2, MSG_GET = 3 };
enum { MODE_RWLOCK, MODE_TELL, MODE_ASK };

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

/* ---- the actor ------------------------------------------------------------- */

static atomic_int g_done;
static _Atomic uint64_t g_progress;
static uint64_t g_expect, g_end_ns;

static int owner_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    account *a = st;
    if (msg->type == MSG_GET)
        return troupe_reply(ctx, MSG_GET, a, sizeof *a);
    if ((msg->type != MSG_UPDATE && msg->type != MSG_ASK_UPDATE) || msg->size != sizeof(update))
        return -1;
    update u;
    memcpy(&u, msg->data, sizeof u);
    if (u.thread >= MAX_THREADS)
        return -1;
    apply(a, &u);
    if (msg->type == MSG_ASK_UPDATE)
        return troupe_reply(ctx, MSG_ASK_UPDATE, &a->count, sizeof a->count);
    if ((a->count & 4095) == 0)
        atomic_store_explicit(&g_progress, a->count, memory_order_relaxed);
    if (a->count == g_expect) {
        g_end_ns = bench_now_ns();
        atomic_store_explicit(&g_done, 1, memory_order_release);
    }
    return 0;
}

static const troupe_behaviour owner_beh = {
    .name = "rwlock_vs_actor.owner", .state_size = sizeof(account), .handle = owner_handle};

/* ---- the threads ------------------------------------------------------------ */

typedef struct run {
    int mode;
    uint32_t threads;
    troupe_system *sys;
    troupe_ref owner;
    pthread_rwlock_t lock;
    account shared; /* MODE_RWLOCK */
    atomic_int ready, go;
    _Atomic uint64_t bad;
} run;

typedef struct thr {
    run *r;
    uint32_t id;
    uint64_t ops;     /* calls to make */
    uint64_t *lat;    /* sampled latencies */
    uint64_t nlat;
    uint64_t t0, t1;
    uint64_t last_reply;
} thr;

static void *caller(void *p)
{
    thr *t = p;
    run *r = t->r;
    atomic_fetch_add(&r->ready, 1);
    while (!atomic_load_explicit(&r->go, memory_order_acquire))
        sched_yield();
    t->t0 = bench_now_ns();
    for (uint64_t k = 0; k < t->ops; k++) {
        update u = {value_of(t->id, k), k, t->id, 0};
        int timed = r->mode == MODE_ASK || k % SAMPLE == 0;
        uint64_t a = timed ? bench_now_ns() : 0;
        if (r->mode == MODE_RWLOCK) {
            pthread_rwlock_wrlock(&r->lock);
            apply(&r->shared, &u);
            pthread_rwlock_unlock(&r->lock);
        } else if (r->mode == MODE_TELL) {
            bench_check(troupe_tell(r->sys, r->owner, MSG_UPDATE, &u, sizeof u), "troupe_tell");
        } else {
            uint64_t count = 0;
            size_t len = 0;
            bench_check(troupe_ask(r->sys, r->owner, MSG_ASK_UPDATE, &u, sizeof u,
                                   10ull * 1000000000ull, NULL, &count, sizeof count, &len),
                        "troupe_ask");
            /* the counts a thread sees only grow */
            if (len != sizeof count || count <= t->last_reply)
                atomic_fetch_add(&r->bad, 1);
            t->last_reply = count;
        }
        if (timed)
            t->lat[t->nlat++] = bench_now_ns() - a;
    }
    t->t1 = bench_now_ns();
    return NULL;
}

typedef struct result {
    double throughput;
    uint64_t p50, p99;
} result;

static void check_account(const account *a, const thr *t, uint32_t threads, const char *what)
{
    uint64_t count = 0, sum = 0, max = 0;
    for (uint32_t i = 0; i < threads; i++) {
        count += t[i].ops;
        for (uint64_t k = 0; k < t[i].ops; k++) {
            uint64_t v = value_of(i, k);
            sum += v;
            max = v > max ? v : max;
        }
        if (a->last[i] != t[i].ops)
            bench_fail("%s: thread %u's last update is %llu of %llu", what, i,
                       (unsigned long long)a->last[i], (unsigned long long)t[i].ops);
    }
    if (a->count != count || a->sum != sum || a->max != max || a->out_of_order != 0)
        bench_fail("%s: count %llu (want %llu), sum %llu (want %llu), max %llu (want %llu), "
                   "%llu out of order",
                   what, (unsigned long long)a->count, (unsigned long long)count,
                   (unsigned long long)a->sum, (unsigned long long)sum,
                   (unsigned long long)a->max, (unsigned long long)max,
                   (unsigned long long)a->out_of_order);
}

static void diag(void *ud)
{
    run *r = ud;
    bench_print_stats(r->sys, "owner", r->owner);
}

static result measure(int mode, uint32_t threads, uint64_t total, const char *what)
{
    static run r; /* large enough to keep off the stack; one at a time */
    memset(&r, 0, sizeof r);
    r.mode = mode;
    r.threads = threads;
    pthread_rwlock_init(&r.lock, NULL);
    if (mode != MODE_RWLOCK) {
        r.sys = bench_system(1);
        troupe_spawn_opts opts;
        troupe_spawn_opts_defaults(&opts);
        opts.capacity = CAPACITY;
        bench_check(troupe_spawn(r.sys, &owner_beh, NULL, &opts, &r.owner), "spawn owner");
    }
    g_expect = total;
    atomic_store(&g_done, 0);
    atomic_store(&g_progress, 0);

    pthread_t th[MAX_THREADS];
    thr t[MAX_THREADS];
    uint64_t nsamples = 0;
    for (uint32_t i = 0; i < threads; i++) {
        uint64_t ops = total / threads + (i < total % threads);
        t[i] = (thr){.r = &r, .id = i, .ops = ops};
        t[i].lat = malloc((ops / (mode == MODE_ASK ? 1 : SAMPLE) + 1) * sizeof(uint64_t));
        if (!t[i].lat)
            bench_fail("out of memory");
        if (pthread_create(&th[i], NULL, caller, &t[i]) != 0)
            bench_fail("pthread_create");
    }
    while (atomic_load(&r.ready) < (int)threads)
        sched_yield();
    atomic_store_explicit(&r.go, 1, memory_order_release);
    uint64_t t0 = UINT64_MAX, t1 = 0;
    for (uint32_t i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        t0 = t[i].t0 < t0 ? t[i].t0 : t0;
        t1 = t[i].t1 > t1 ? t[i].t1 : t1;
        nsamples += t[i].nlat;
    }

    account a;
    if (mode == MODE_RWLOCK) {
        a = r.shared;
    } else {
        if (mode == MODE_TELL) { /* done when the actor has applied the last update */
            bench_wait(&g_done, &g_progress, what, diag, &r);
            t1 = g_end_ns;
        }
        bench_ask(r.sys, r.owner, MSG_GET, &a, sizeof a);
    }
    check_account(&a, t, threads, what);
    if (atomic_load(&r.bad) != 0)
        bench_fail("%s: %llu replies out of order", what, (unsigned long long)atomic_load(&r.bad));

    uint64_t *all = malloc((nsamples + 1) * sizeof *all), n = 0;
    if (!all)
        bench_fail("out of memory");
    for (uint32_t i = 0; i < threads; i++) {
        memcpy(all + n, t[i].lat, t[i].nlat * sizeof *all);
        n += t[i].nlat;
        free(t[i].lat);
    }
    bench_sort_u64(all, n);
    result res = {(double)total / ((double)(t1 - t0) / 1e9), bench_pct(all, n, 0.5),
                  bench_pct(all, n, 0.99)};
    free(all);
    if (r.sys)
        troupe_system_destroy(r.sys);
    pthread_rwlock_destroy(&r.lock);
    return res;
}

static void print(const char *prefix, const char *impl, uint32_t threads, const result *res)
{
    char bench[48];
    snprintf(bench, sizeof bench, "%s_%u", prefix, threads);
    bench_summary_impl(bench, impl, "throughput", res->throughput, "ops/s");
    bench_summary_impl(bench, impl, "p50", (double)res->p50, "ns");
    bench_summary_impl(bench, impl, "p99", (double)res->p99, "ns");
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    uint64_t updates = bench_scaled(BASE_UPDATES, scale, 10000);
    uint64_t asks = bench_scaled(BASE_ASKS, scale, 1000);
    for (uint32_t threads = 1; threads <= MAX_THREADS; threads *= 2) {
        char what[48];
        snprintf(what, sizeof what, "rwlock_update_%u", threads);
        result lock = measure(MODE_RWLOCK, threads, updates, what);
        print("rwlock_update", "rwlock", threads, &lock);
        snprintf(what, sizeof what, "actor_tell_%u", threads);
        result tell = measure(MODE_TELL, threads, updates, what);
        print("actor_tell", "troupe", threads, &tell);
        snprintf(what, sizeof what, "actor_ask_%u", threads);
        result ask = measure(MODE_ASK, threads, asks, what);
        print("actor_ask", "troupe", threads, &ask);
        snprintf(what, sizeof what, "actor_vs_rwlock_%u", threads);
        bench_summary(what, "tell_ratio", tell.throughput / lock.throughput, "x");
        bench_summary(what, "ask_ratio", ask.throughput / lock.throughput, "x");
    }
    return 0;
}
