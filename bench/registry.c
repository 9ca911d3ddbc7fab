/* bench/registry.c — name lookups: the lock-free registry against a
 * pthread_rwlock-guarded hash table, and how the rate scales with the
 * number of names.
 *
 * For each size (1k, 10k, 100k, 1M names, times the scale), in a fresh
 * child process: spawn one idle actor per name, register every name (timed,
 * one thread), then two threads look up names picked at random from a
 * pre-built array:
 *   impl=troupe  troupe_whereis (one urcu-bp read-side section per lookup,
 *                cds_lfht, and the liveness check of the actor);
 *   impl=rwlock  the same names in a chained hash table behind one
 *                pthread_rwlock (read lock per lookup), the same hash
 *                function, and the same liveness check (troupe_alive:
 *                a registry must not return a stopped actor either);
 * and, at 100k names, troupe_whereis_batch with 64 names per call; at 1k
 * and 1M names, troupe_whereis from a handler on each worker (an actor
 * pinned to each), against the same rwlock figure (lookups_workers).
 * The speedup line is troupe's rate over rwlock's.
 *
 * Checks: every lookup finds its name and the ref registered for it
 * (troupe_registry_size and each ref are also checked after registering).
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

#define NAME_STRIDE 32
#define LOOKUPS_PER_THREAD 8000000ull
#define THREADS 2
#define BATCH 64

static int idle_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    (void)ctx;
    (void)st;
    (void)msg;
    return 0;
}

static const troupe_behaviour idle_beh = {.name = "registry.idle", .handle = idle_handle};

static void summary_impl(const char *bench, const char *impl, const char *metric, double value,
                         const char *unit)
{
    printf("SUMMARY bench=%s impl=%s metric=%s value=%.3f unit=%s\n", bench, impl, metric, value,
           unit);
    fflush(stdout);
}

/* ---- the names --------------------------------------------------------------- */

typedef struct names {
    uint64_t n;
    char *buf;          /* n names, NAME_STRIDE bytes apart */
    const char **ptr;   /* ptr[i] = buf + i * NAME_STRIDE */
    troupe_ref *refs;   /* the actor registered as name i */
} names;

static void names_make(names *nm, uint64_t n)
{
    nm->n = n;
    nm->buf = malloc(n * NAME_STRIDE);
    nm->ptr = malloc(n * sizeof *nm->ptr);
    nm->refs = malloc(n * sizeof *nm->refs);
    if (!nm->buf || !nm->ptr || !nm->refs)
        bench_fail("out of memory for %llu names", (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++) {
        char *s = nm->buf + i * NAME_STRIDE;
        /* a mix of lengths, as real names have */
        snprintf(s, NAME_STRIDE, i % 3 ? "session.%llu" : "svc.worker-pool.%llu",
                 (unsigned long long)(i * 2654435761ull % 1000000007ull));
        nm->ptr[i] = s;
    }
}

static void names_free(names *nm)
{
    free(nm->buf);
    free(nm->ptr);
    free(nm->refs);
}

/* xorshift64*, and a uniform index below n without a division */
static inline uint64_t rnd_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static inline uint64_t rnd_below(uint64_t *s, uint64_t n)
{
    return (uint64_t)(((__uint128_t)rnd_next(s) * n) >> 64);
}

/* ---- the rwlock-guarded table ------------------------------------------------ */

/* The registry's hash (registry/entry.h) copied: the comparison is about
 * the table and its lock, not the hash. */
static inline uint64_t mix(uint64_t a, uint64_t b)
{
    __uint128_t p = (__uint128_t)a * b;
    return (uint64_t)p ^ (uint64_t)(p >> 64);
}
static inline uint64_t r8(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static inline uint64_t r4(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static uint64_t hash_name(const char *s, uint32_t n)
{
    const uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull,
                   k2 = 0x8ebc6af09c88c6e3ull;
    uint64_t a, b, seed = k0 ^ n;
    if (n >= 4 && n <= 16) {
        size_t q = (n >> 3) << 2;
        a = r4(s) << 32 | r4(s + q);
        b = r4(s + n - 4) << 32 | r4(s + n - 4 - q);
    } else if (n < 4) {
        a = (uint64_t)(unsigned char)s[0] << 16 | (uint64_t)(unsigned char)s[n >> 1] << 8 |
            (unsigned char)s[n - 1];
        b = 0;
    } else {
        const char *p = s;
        for (uint32_t left = n; left > 16; left -= 16, p += 16)
            seed = mix(r8(p) ^ k1, r8(p + 8) ^ seed);
        a = r8(s + n - 16);
        b = r8(s + n - 8);
    }
    return mix(k2 ^ n, mix(a ^ k1, b ^ seed));
}

typedef struct rw_node {
    struct rw_node *next;
    uint64_t hash;
    troupe_ref ref;
    uint32_t len;
    char name[];
} rw_node;

typedef struct rw_table {
    pthread_rwlock_t lock;
    rw_node **bucket;
    uint64_t mask;
} rw_table;

static rw_node *rw_node_new(const char *name, troupe_ref ref)
{
    uint32_t len = (uint32_t)strlen(name);
    rw_node *x = malloc(sizeof *x + len + 1);
    if (!x)
        bench_fail("out of memory for the rwlock table");
    x->hash = hash_name(name, len);
    x->ref = ref;
    x->len = len;
    memcpy(x->name, name, len + 1);
    return x;
}

/* The writer's side: x in, or the node called `name` out (returned). */
static void rw_insert(rw_table *t, rw_node *x)
{
    pthread_rwlock_wrlock(&t->lock);
    x->next = t->bucket[x->hash & t->mask];
    t->bucket[x->hash & t->mask] = x;
    pthread_rwlock_unlock(&t->lock);
}

static rw_node *rw_remove(rw_table *t, const char *name)
{
    uint32_t len = (uint32_t)strlen(name);
    uint64_t h = hash_name(name, len);
    rw_node *got = NULL;
    pthread_rwlock_wrlock(&t->lock);
    for (rw_node **p = &t->bucket[h & t->mask]; *p; p = &(*p)->next)
        if ((*p)->hash == h && (*p)->len == len && memcmp((*p)->name, name, len) == 0) {
            got = *p;
            *p = got->next;
            break;
        }
    pthread_rwlock_unlock(&t->lock);
    return got;
}

static void rw_build(rw_table *t, const names *nm)
{
    uint64_t nb = 1;
    while (nb < nm->n)
        nb <<= 1;
    t->mask = nb - 1;
    t->bucket = calloc(nb, sizeof *t->bucket);
    if (!t->bucket)
        bench_fail("out of memory for the rwlock table");
    pthread_rwlock_init(&t->lock, NULL);
    for (uint64_t i = 0; i < nm->n; i++) {
        rw_node *x = rw_node_new(nm->ptr[i], nm->refs[i]);
        x->next = t->bucket[x->hash & t->mask];
        t->bucket[x->hash & t->mask] = x;
    }
}

static troupe_ref rw_lookup(rw_table *t, const char *name)
{
    uint32_t len = (uint32_t)strlen(name);
    uint64_t h = hash_name(name, len);
    troupe_ref r = TROUPE_REF_NONE;
    pthread_rwlock_rdlock(&t->lock);
    for (rw_node *x = t->bucket[h & t->mask]; x; x = x->next)
        if (x->hash == h && x->len == len && memcmp(x->name, name, len) == 0) {
            r = x->ref;
            break;
        }
    pthread_rwlock_unlock(&t->lock);
    return r;
}

static void rw_free(rw_table *t)
{
    for (uint64_t b = 0; b <= t->mask; b++)
        for (rw_node *x = t->bucket[b], *next; x; x = next) {
            next = x->next;
            free(x);
        }
    free(t->bucket);
    pthread_rwlock_destroy(&t->lock);
}

/* ---- the lookup threads --------------------------------------------------------- */

enum { IMPL_TROUPE, IMPL_RWLOCK, IMPL_BATCH };

typedef struct run {
    troupe_system *sys;
    const names *nm;
    rw_table *rw;
    const names *wr;       /* the writer's names (NULL: no writer) */
    atomic_int readers_done;
    atomic_ulong churns;   /* the writer's remove + add pairs */
    int impl;
    uint64_t lookups; /* per thread */
    atomic_int ready, go;
    atomic_ulong bad;
    double cpu_rate; /* the last measure's lookups per thread-CPU-second, times THREADS */
} run;

typedef struct thr {
    run *r;
    uint64_t seed;
    uint64_t t0, t1;
    uint64_t c0, c1; /* the thread's CPU time */
} thr;

/* CPU time of the calling thread: on a machine busy with other work the
 * wall-clock rate measures the scheduler; this one measures the lookups. */
static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t lookups_troupe(run *r, uint64_t *seed)
{
    const names *nm = r->nm;
    uint64_t bad = 0;
    for (uint64_t k = 0; k < r->lookups; k++) {
        uint64_t i = rnd_below(seed, nm->n);
        troupe_ref got;
        int rc = troupe_whereis(r->sys, nm->ptr[i], &got);
        bad += rc != 0 || got.id != nm->refs[i].id;
    }
    return bad;
}

/* The same semantics as troupe_whereis: a name whose actor has stopped is
 * not found, so the baseline checks liveness too (troupe_alive). */
static uint64_t lookups_rwlock(run *r, uint64_t *seed)
{
    const names *nm = r->nm;
    uint64_t bad = 0;
    for (uint64_t k = 0; k < r->lookups; k++) {
        uint64_t i = rnd_below(seed, nm->n);
        troupe_ref got = rw_lookup(r->rw, nm->ptr[i]);
        bad += got.id != nm->refs[i].id || !troupe_alive(r->sys, got);
    }
    return bad;
}

static uint64_t lookups_batch(run *r, uint64_t *seed)
{
    const names *nm = r->nm;
    uint64_t bad = 0, idx[BATCH];
    const char *q[BATCH];
    troupe_ref out[BATCH];
    for (uint64_t k = 0; k < r->lookups; k += BATCH) {
        for (int j = 0; j < BATCH; j++) {
            idx[j] = rnd_below(seed, nm->n);
            q[j] = nm->ptr[idx[j]];
        }
        bad += troupe_whereis_batch(r->sys, q, BATCH, out) != BATCH;
        for (int j = 0; j < BATCH; j++)
            bad += out[j].id != nm->refs[idx[j]].id;
    }
    return bad;
}

static void *lookup_thread(void *p)
{
    thr *t = p;
    run *r = t->r;
    troupe_ref warm;
    troupe_whereis(r->sys, r->nm->ptr[0], &warm); /* urcu-bp registers the thread */
    atomic_fetch_add(&r->ready, 1);
    while (!atomic_load_explicit(&r->go, memory_order_acquire))
        ;
    t->t0 = bench_now_ns();
    t->c0 = thread_cpu_ns();
    uint64_t bad = r->impl == IMPL_TROUPE   ? lookups_troupe(r, &t->seed)
                   : r->impl == IMPL_RWLOCK ? lookups_rwlock(r, &t->seed)
                                            : lookups_batch(r, &t->seed);
    t->c1 = thread_cpu_ns();
    t->t1 = bench_now_ns();
    atomic_fetch_add(&r->bad, bad);
    return NULL;
}

/* The writer: takes its names out and puts them back, one at a time,
 * until the readers are done. troupe: unregister + register; rwlock: a
 * write-locked remove and insert. */
static void *writer_thread(void *p)
{
    run *r = p;
    const names *wr = r->wr;
    while (!atomic_load_explicit(&r->go, memory_order_acquire))
        ;
    unsigned long n = 0;
    for (uint64_t j = 0; !atomic_load_explicit(&r->readers_done, memory_order_relaxed);
         j = (j + 1) % wr->n, n++) {
        if (r->impl == IMPL_RWLOCK) {
            rw_node *x = rw_remove(r->rw, wr->ptr[j]);
            if (!x)
                bench_fail("rwlock writer lost %s", wr->ptr[j]);
            rw_insert(r->rw, x);
        } else {
            bench_check(troupe_unregister(r->sys, wr->ptr[j]), "troupe_unregister");
            bench_check(troupe_register(r->sys, wr->ptr[j], wr->refs[j]), "troupe_register");
        }
    }
    atomic_store(&r->churns, n);
    return NULL;
}

/* Lookups per second over THREADS threads (and a writer if r->wr). */
static double measure(run *r, int impl)
{
    pthread_t th[THREADS], wth;
    thr t[THREADS];
    r->impl = impl;
    atomic_store(&r->ready, 0);
    atomic_store(&r->go, 0);
    atomic_store(&r->bad, 0);
    atomic_store(&r->readers_done, 0);
    for (int i = 0; i < THREADS; i++) {
        t[i] = (thr){.r = r, .seed = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1)};
        if (pthread_create(&th[i], NULL, lookup_thread, &t[i]) != 0)
            bench_fail("pthread_create");
    }
    if (r->wr && pthread_create(&wth, NULL, writer_thread, r) != 0)
        bench_fail("pthread_create");
    while (atomic_load(&r->ready) < THREADS)
        sched_yield();
    atomic_store_explicit(&r->go, 1, memory_order_release);
    uint64_t t0 = UINT64_MAX, t1 = 0, cpu = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        cpu += t[i].c1 - t[i].c0;
        t0 = t[i].t0 < t0 ? t[i].t0 : t0;
        t1 = t[i].t1 > t1 ? t[i].t1 : t1;
    }
    atomic_store(&r->readers_done, 1);
    if (r->wr)
        pthread_join(wth, NULL);
    if (atomic_load(&r->bad))
        bench_fail("%lu lookups (impl %d) missed or found the wrong actor",
                   (unsigned long)atomic_load(&r->bad), impl);
    /* as if each thread had had a core of its own all along */
    r->cpu_rate = (double)(r->lookups * THREADS) / ((double)cpu / THREADS / 1e9);
    return (double)(r->lookups * THREADS) / ((double)(t1 - t0) / 1e9);
}

/* ---- the same lookups from handlers, on the workers ------------------------------ */

/* One looker per worker, pinned there; each makes r->lookups lookups in
 * one handler call, as an actor resolving names would, and counts its
 * thread's CPU time. */
typedef struct look_job {
    run *r;
    uint64_t seed, bad, cpu_ns;
    atomic_int *done;
} look_job;

static int looker_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    (void)ctx;
    (void)st;
    look_job *j;
    memcpy(&j, msg->data, sizeof j);
    uint64_t c0 = thread_cpu_ns();
    j->bad = lookups_troupe(j->r, &j->seed);
    j->cpu_ns = thread_cpu_ns() - c0;
    atomic_fetch_add_explicit(j->done, 1, memory_order_release);
    return 0;
}

static const troupe_behaviour looker_beh = {.name = "registry.looker", .handle = looker_handle};

/* Lookups per second over the workers (THREADS of them); r->cpu_rate as
 * measure()'s. The main thread polls with 1 ms naps: it must not take a
 * core from the workers it measures. */
static double measure_workers(run *r)
{
    atomic_int done = 0;
    look_job j[THREADS];
    troupe_ref lk[THREADS];
    for (int i = 0; i < THREADS; i++) {
        troupe_spawn_opts o;
        troupe_spawn_opts_defaults(&o);
        o.pin = 1;
        o.pin_worker = (uint32_t)i;
        bench_check(troupe_spawn(r->sys, &looker_beh, NULL, &o, &lk[i]), "spawn looker");
        j[i] = (look_job){.r = r, .seed = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 7), .done = &done};
    }
    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < THREADS; i++) {
        look_job *p = &j[i];
        bench_check(troupe_tell(r->sys, lk[i], 1, &p, sizeof p), "tell looker");
    }
    const struct timespec nap = {0, 1000000};
    while (atomic_load_explicit(&done, memory_order_acquire) < THREADS)
        nanosleep(&nap, NULL);
    uint64_t t1 = bench_now_ns(), cpu = 0, bad = 0;
    for (int i = 0; i < THREADS; i++) {
        cpu += j[i].cpu_ns;
        bad += j[i].bad;
        troupe_stop(r->sys, lk[i]);
    }
    if (bad)
        bench_fail("%llu lookups from handlers missed or found the wrong actor",
                   (unsigned long long)bad);
    r->cpu_rate = (double)(r->lookups * THREADS) / ((double)cpu / THREADS / 1e9);
    return (double)(r->lookups * THREADS) / ((double)(t1 - t0) / 1e9);
}

/* ---- one size, in a child process ----------------------------------------------- */

typedef struct size_case {
    const char *label; /* 1k, 10k, ... (the unscaled size) */
    uint64_t n;
    uint64_t lookups;
    int batch;         /* also run the batch case */
    int writer;        /* also run the case with a writer */
    int workers;       /* also look up from handlers on the workers */
} size_case;

static void register_all(troupe_system *sys, names *nm, const char *bench)
{
    for (uint64_t i = 0; i < nm->n; i++)
        bench_check(troupe_spawn(sys, &idle_beh, NULL, NULL, &nm->refs[i]), "troupe_spawn");
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < nm->n; i++)
        bench_check(troupe_register(sys, nm->ptr[i], nm->refs[i]), "troupe_register");
    uint64_t t1 = bench_now_ns();
    if (troupe_registry_size(sys) != nm->n)
        bench_fail("registry holds %zu names, expected %llu", troupe_registry_size(sys),
                   (unsigned long long)nm->n);
    bench_summary(bench, "registrations", (double)nm->n / ((double)(t1 - t0) / 1e9), "ops/s");
    /* The registry grows its table on liburcu's call_rcu thread, a grace
     * period or so after the registrations (registry/resize.c): measure
     * the lookups of a registry at rest, not one still resizing. */
    const struct timespec settle = {0, 250000000};
    nanosleep(&settle, NULL);
}

/* Lookups while a third thread keeps removing and re-adding names of its
 * own (64 of them, not among those looked up): readers of the rwlock table
 * wait for each write; troupe's never do. Three busy threads on the
 * machine's cores: how each copes with a writer that is preempted too. */
static void run_writer_case(run *r, const char *label)
{
    char bench[64];
    snprintf(bench, sizeof bench, "registry_writer_%s", label);
    names wr;
    names_make(&wr, 64);
    for (uint64_t j = 0; j < wr.n; j++) {
        ((char *)wr.ptr[j])[0] = 'W'; /* apart from the looked-up names */
        bench_check(troupe_spawn(r->sys, &idle_beh, NULL, NULL, &wr.refs[j]), "troupe_spawn");
        bench_check(troupe_register(r->sys, wr.ptr[j], wr.refs[j]), "troupe_register");
    }
    r->wr = &wr;
    double lf = measure(r, IMPL_TROUPE), lc = r->cpu_rate;
    double wf = (double)atomic_load(&r->churns);
    rw_table rw;
    rw_build(&rw, r->nm);
    for (uint64_t j = 0; j < wr.n; j++)
        rw_insert(&rw, rw_node_new(wr.ptr[j], wr.refs[j]));
    r->rw = &rw;
    double rl = measure(r, IMPL_RWLOCK);
    double wl = (double)atomic_load(&r->churns);
    r->wr = NULL;
    bench_summary(bench, "lookups", lf, "ops/s");
    summary_impl(bench, "rwlock", "lookups", rl, "ops/s");
    bench_summary(bench, "speedup_vs_rwlock", lf / rl, "x");
    bench_summary(bench, "lookups_cpu", lc, "ops/s");
    summary_impl(bench, "rwlock", "lookups_cpu", r->cpu_rate, "ops/s");
    bench_summary(bench, "speedup_vs_rwlock_cpu", lc / r->cpu_rate, "x");
    fprintf(stderr, "registry: %s: writer churns during the run: troupe %.0f, rwlock %.0f\n",
            bench, wf, wl);
    rw_free(&rw);
    names_free(&wr);
}

static void run_size(void *ud)
{
    const size_case *c = ud;
    char bench[64];
    snprintf(bench, sizeof bench, "registry_lookup_%s", c->label);
    fprintf(stderr, "registry: %s: %llu names, %llu lookups per thread, %d threads\n", bench,
            (unsigned long long)c->n, (unsigned long long)c->lookups, THREADS);
    names nm;
    names_make(&nm, c->n);
    troupe_system *sys = bench_system(1);
    register_all(sys, &nm, bench);
    run r = {.sys = sys, .nm = &nm, .lookups = c->lookups};
    double lf = measure(&r, IMPL_TROUPE), lc = r.cpu_rate;
    bench_summary(bench, "lookups", lf, "ops/s");
    bench_summary(bench, "lookups_cpu", lc, "ops/s");
    /* The case the peers run (1,000 names, 2 threads) under its own name. */
    if (strcmp(c->label, "1k") == 0)
        bench_summary("registry_lookup", "lookups", lf, "ops/s");
    rw_table rw;
    rw_build(&rw, &nm);
    r.rw = &rw;
    double rl = measure(&r, IMPL_RWLOCK);
    summary_impl(bench, "rwlock", "lookups", rl, "ops/s");
    summary_impl(bench, "rwlock", "lookups_cpu", r.cpu_rate, "ops/s");
    bench_summary(bench, "speedup_vs_rwlock", lf / rl, "x");
    bench_summary(bench, "speedup_vs_rwlock_cpu", lc / r.cpu_rate, "x");
    if (c->workers) {
        double rc = r.cpu_rate, wf = measure_workers(&r);
        bench_summary(bench, "lookups_workers", wf, "ops/s");
        bench_summary(bench, "lookups_workers_cpu", r.cpu_rate, "ops/s");
        bench_summary(bench, "speedup_workers_vs_rwlock", wf / rl, "x");
        bench_summary(bench, "speedup_workers_vs_rwlock_cpu", r.cpu_rate / rc, "x");
    }
    rw_free(&rw);
    if (c->batch) {
        snprintf(bench, sizeof bench, "registry_batch_%s", c->label);
        bench_summary(bench, "lookups", measure(&r, IMPL_BATCH), "ops/s");
    }
    if (c->writer)
        run_writer_case(&r, c->label);
    troupe_system_destroy(sys);
    names_free(&nm);
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    /* a whole number of batches */
    uint64_t lookups = bench_scaled(LOOKUPS_PER_THREAD, scale, 20000) / BATCH * BATCH;
    size_case cases[] = {
        {"1k", bench_scaled(1000, scale, 100), lookups, 0, 1, 1},
        {"10k", bench_scaled(10000, scale, 100), lookups, 0, 0, 0},
        {"100k", bench_scaled(100000, scale, 100), lookups, 1, 0, 0},
        {"1m", bench_scaled(1000000, scale, 100), lookups, 0, 0, 1},
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ok &= bench_run_in_child(cases[i].label, run_size, &cases[i]);
    return ok ? 0 : 1;
}
