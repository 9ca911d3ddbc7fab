/* bench/call_latency.c — troupe_call from plain threads against the same
 * update under a write-locked pthread_rwlock (issue 13: calls at lock
 * speed).
 *
 * One account (count, sum) is updated by T = 1, 2 and 4 plain threads,
 * CALLS updates per thread (times the scale):
 *   rwlock_call_T   write-lock, update, unlock
 *   actor_call_T    troupe_call to the actor that owns the account; its
 *                   handler updates and replies with the new count. An
 *                   idle actor is run by the calling thread itself
 *                   (core/call.c); a busy one serves the request in its
 *                   current run, or on a worker.
 * Every call is timed (two clock reads, ~20 ns each, in both paths); p50 and
 * p99 are samples of the sorted timings, not histogram bounds. Throughput
 * is calls over the wall time of the slowest thread, timing included.
 * Then call_vs_rwlock_T ratio = actor calls/s over rwlock calls/s.
 *
 * Checks: the account's count and sum equal the calls made, and every
 * reply is a count no other call saw (each answered exactly once).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define MAX_THREADS 4
#define CALLS 200000
#define MSG_ADD 1
#define MSG_READ 2

typedef struct account {
    uint64_t count, sum;
} account;

typedef struct run {
    int impl; /* 0 rwlock, 1 actor */
    troupe_system *sys;
    troupe_ref ref;
    pthread_rwlock_t lock;
    account acc;
    uint64_t calls;
    atomic_int go;
    uint8_t *seen; /* replies: each count once */
} run;

typedef struct thr {
    run *r;
    uint64_t *lat;
    uint64_t t0, t1;
} thr;

static int acc_init(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx, (void)arg;
    memset(state, 0, sizeof(account));
    return 0;
}

static int acc_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    account *a = state;
    if (m->type == MSG_READ)
        return troupe_reply(ctx, MSG_READ, a, sizeof *a);
    uint64_t v;
    memcpy(&v, m->data, sizeof v);
    a->count++;
    a->sum += v;
    return troupe_reply(ctx, MSG_ADD, &a->count, sizeof a->count);
}

static const troupe_behaviour acc_beh = {
    .name = "account", .state_size = sizeof(account), .init = acc_init, .handle = acc_handle};

static uint64_t call_once(run *r, uint64_t v)
{
    if (r->impl == 0) {
        pthread_rwlock_wrlock(&r->lock);
        uint64_t c = ++r->acc.count;
        r->acc.sum += v;
        pthread_rwlock_unlock(&r->lock);
        return c;
    }
    uint64_t c = 0;
    size_t len = 0;
    bench_check(troupe_call(r->sys, r->ref, MSG_ADD, &v, sizeof v, 10000000000ull, NULL, &c,
                           sizeof c, &len),
                "troupe_call");
    if (len != sizeof c)
        bench_fail("reply of %zu bytes", len);
    return c;
}

static void *thread_main(void *arg)
{
    thr *t = arg;
    run *r = t->r;
    while (!atomic_load(&r->go))
        ;
    t->t0 = bench_now_ns();
    for (uint64_t i = 0; i < r->calls; i++) {
        uint64_t s = bench_now_ns();
        uint64_t c = call_once(r, i + 1);
        t->lat[i] = bench_now_ns() - s;
        if (r->impl == 1) {
            if (c == 0 || c > r->calls * MAX_THREADS || r->seen[c])
                bench_fail("reply count %llu seen twice or out of range", (unsigned long long)c);
            r->seen[c] = 1; /* distinct counts: no two threads write one byte */
        }
    }
    t->t1 = bench_now_ns();
    return NULL;
}

/* T threads through one path; prints its lines, returns calls/s. */
static double measure(run *r, int nthreads, const char *name)
{
    pthread_t th[MAX_THREADS];
    thr t[MAX_THREADS];
    uint64_t n = r->calls * (uint64_t)nthreads;
    uint64_t *all = malloc(n * sizeof *all);
    if (!all)
        bench_fail("out of memory");
    atomic_store(&r->go, 0);
    for (int i = 0; i < nthreads; i++) {
        t[i] = (thr){.r = r, .lat = all + (uint64_t)i * r->calls};
        if (pthread_create(&th[i], NULL, thread_main, &t[i]))
            bench_fail("pthread_create");
    }
    atomic_store(&r->go, 1);
    uint64_t first = UINT64_MAX, last = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(th[i], NULL);
        first = t[i].t0 < first ? t[i].t0 : first;
        last = t[i].t1 > last ? t[i].t1 : last;
    }
    bench_sort_u64(all, n);
    double tput = (double)n * 1e9 / (double)(last - first);
    char b[64];
    snprintf(b, sizeof b, "%s_call_%d", name, nthreads);
    const char *impl = r->impl ? "troupe" : "rwlock";
    bench_summary_impl(b, impl, "throughput", tput, "ops/s");
    bench_summary_impl(b, impl, "p50", (double)bench_pct(all, n, 0.50), "ns");
    bench_summary_impl(b, impl, "p99", (double)bench_pct(all, n, 0.99), "ns");
    free(all);
    return tput;
}

static void check_account(const account *a, uint64_t n, uint64_t per_thread, int nthreads)
{
    uint64_t sum = (uint64_t)nthreads * (per_thread * (per_thread + 1) / 2);
    if (a->count != n || a->sum != sum)
        bench_fail("account count %llu sum %llu, expected %llu %llu", (unsigned long long)a->count,
                   (unsigned long long)a->sum, (unsigned long long)n, (unsigned long long)sum);
}

static double rwlock_case(uint64_t calls, int nthreads)
{
    run r = {.impl = 0, .calls = calls};
    pthread_rwlock_init(&r.lock, NULL);
    double tput = measure(&r, nthreads, "rwlock");
    check_account(&r.acc, calls * (uint64_t)nthreads, calls, nthreads);
    pthread_rwlock_destroy(&r.lock);
    return tput;
}

static double actor_case(uint64_t calls, int nthreads)
{
    run r = {.impl = 1, .calls = calls, .sys = bench_system(0)};
    r.seen = calloc(calls * MAX_THREADS + 1, 1);
    if (!r.seen)
        bench_fail("out of memory");
    bench_check(troupe_spawn(r.sys, &acc_beh, NULL, NULL, &r.ref), "spawn");
    double tput = measure(&r, nthreads, "actor");
    account a = {0};
    bench_check(troupe_ask(r.sys, r.ref, MSG_READ, NULL, 0, 10000000000ull, NULL, &a, sizeof a,
                           NULL),
                "read ask");
    check_account(&a, calls * (uint64_t)nthreads, calls, nthreads);
    troupe_system_destroy(r.sys);
    free(r.seen);
    return tput;
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    uint64_t calls = bench_scaled(CALLS, scale, 1000);
    for (int t = 1; t <= MAX_THREADS; t *= 2) {
        double lock = rwlock_case(calls, t);
        double actor = actor_case(calls, t);
        char b[64];
        snprintf(b, sizeof b, "call_vs_rwlock_%d", t);
        bench_summary(b, "ratio", actor / lock, "x");
    }
    return 0;
}
