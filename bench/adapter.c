/* bench/adapter.c — the legacy adapter (issue 7): what a call costs on each
 * path, and what reading a flag costs.
 *
 *   direct_2t   (impl=rwlock) 2 threads: write-lock, the legacy add, unlock
 *   legacy_2t   2 threads: troupe_adapter_call in legacy mode (the same add)
 *   actor_2t    2 threads: troupe_adapter_call in actor mode (an ask each)
 *   shadow_2t   2 threads: shadow (both, compared)
 *   legacy_mix90_2t / actor_mix90_2t  2 threads, 9 reads to 1 add: legacy
 *               (read / write lock) against actor mode (reads from the
 *               view, adds through troupe_call); actor_vs_legacy_mix90_2t
 *               throughput in calls/s; actor_vs_legacy = actor_2t / legacy_2t
 *   overhead    1 thread: a read op through the adapter in legacy mode minus
 *               the same read-lock + function + unlock called directly, ns
 *               per call (the flag read, the dispatch, the in-flight count)
 *   flag_read   1 and 2 threads: troupe_flag_read, and troupe_flag_enabled
 *               by name, ns per read; 2 threads read while a third sets it
 *
 * Checks: every balance holds the adds made (the copies after a last
 * switch to legacy), shadow saw no mismatch, reads saw only values set.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define BASE_LOCAL 4000000ull
#define BASE_ASKS 200000ull

typedef struct store {
    int64_t bal[2];
} store;

typedef struct bctx {
    troupe_system *sys;
    store obj;
    pthread_rwlock_t lock;
    troupe_adapter ad;
    uint64_t per;
    int direct, mix; /* mix: 9 reads to 1 add */
} bctx;

static int legacy_add(void *obj, const void *arg, size_t len, void *res, size_t cap, size_t *n)
{
    (void)len, (void)res, (void)cap;
    store *s = obj;
    s->bal[*(const uint32_t *)arg] += 1;
    *n = 0;
    return 0;
}

static int legacy_get(void *obj, const void *arg, size_t len, void *res, size_t cap, size_t *n)
{
    (void)len, (void)cap;
    memcpy(res, &((store *)obj)->bal[*(const uint32_t *)arg], sizeof(int64_t));
    *n = sizeof(int64_t);
    return 0;
}

static int actor_add(troupe_ctx *c, void *st, const void *arg, size_t len, void *res, size_t cap,
                     size_t *n)
{
    (void)c;
    return legacy_add(st, arg, len, res, cap, n);
}

static int actor_get(troupe_ctx *c, void *st, const void *arg, size_t len, void *res, size_t cap,
                     size_t *n)
{
    (void)c;
    return legacy_get(st, arg, len, res, cap, n);
}

static int view_get(const void *view, const void *arg, size_t len, void *res, size_t cap,
                    size_t *n)
{
    return legacy_get((void *)(uintptr_t)view, arg, len, res, cap, n);
}

static void *make_view(const void *st)
{
    store *v = malloc(sizeof *v);
    if (v)
        memcpy(v, st, sizeof *v);
    return v;
}

static int load(troupe_ctx *c, void *st, const void *obj)
{
    (void)c;
    memcpy(st, obj, sizeof(store));
    return 0;
}

static int store_back(troupe_ctx *c, void *st, void *obj)
{
    (void)c;
    memcpy(obj, st, sizeof(store));
    return 0;
}

static const troupe_adapter_op ops[] = {
    {.name = "add", .access = TROUPE_ADAPTER_WRITE, .msg_type = 1, .legacy = legacy_add,
     .actor = actor_add},
    {.name = "get", .access = TROUPE_ADAPTER_READ, .msg_type = 2, .legacy = legacy_get,
     .actor = actor_get, .result_max = sizeof(int64_t), .view = view_get},
};
static const troupe_adapter_def def = {.name = "bench", .ops = ops, .nops = 2, .sync_type = 3,
                                       .load = load, .store = store_back,
                                       .make_view = make_view, .free_view = free};

static int handle(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    return troupe_adapter_serve(ctx, &def, st, m) < 0 ? -1 : 0;
}
static const troupe_behaviour beh = {.name = "bench-store", .state_size = sizeof(store),
                                     .handle = handle};

static void *adder(void *p)
{
    bctx *b = p;
    static _Atomic uint32_t next;
    uint32_t idx = atomic_fetch_add(&next, 1) & 1;
    for (uint64_t i = 0; i < b->per; i++) {
        if (b->mix && i % 10) {
            int64_t v;
            bench_check(troupe_adapter_call(b->sys, b->ad, 1, i, &idx, sizeof idx, &v, sizeof v,
                                            NULL),
                        "troupe_adapter_call get");
        } else if (b->direct) {
            size_t n;
            pthread_rwlock_wrlock(&b->lock);
            legacy_add(&b->obj, &idx, sizeof idx, NULL, 0, &n);
            pthread_rwlock_unlock(&b->lock);
        } else {
            bench_check(troupe_adapter_call(b->sys, b->ad, 0, i, &idx, sizeof idx, NULL, 0, NULL),
                        "troupe_adapter_call");
        }
    }
    return NULL;
}

/* Two threads, `per` adds each; calls per second. */
static double run2(bctx *b, uint64_t per, int direct)
{
    pthread_t t[2];
    b->per = per, b->direct = direct;
    int64_t before = b->obj.bal[0] + b->obj.bal[1];
    int64_t adds = b->mix ? (int64_t)(2 * ((per + 9) / 10)) : (int64_t)(2 * per);
    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, adder, b);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    double s = (double)(bench_now_ns() - t0) / 1e9;
    bench_check(troupe_adapter_set_mode(b->sys, "bench", TROUPE_MODE_LEGACY, 0), "set_mode");
    int64_t v;
    uint32_t idx = 0;
    bench_check(troupe_adapter_call(b->sys, b->ad, 1, 0, &idx, 4, &v, 8, NULL), "get");
    if (b->obj.bal[0] + b->obj.bal[1] != before + adds)
        bench_fail("lost adds: %lld, want %lld", (long long)(b->obj.bal[0] + b->obj.bal[1]),
                   (long long)(before + adds));
    return (double)(2 * per) / s;
}

static double case_2t(bctx *b, const char *name, troupe_adapter_mode m, uint64_t per)
{
    bench_check(troupe_adapter_set_mode(b->sys, "bench", m, 0), "set_mode");
    double r = run2(b, per, 0);
    bench_summary(name, "throughput", r, "ops/s");
    return r;
}

/* ns per call of a read op: directly, then through the adapter. */
static void overhead(bctx *b, uint64_t n)
{
    uint32_t idx = 1;
    int64_t v, sink = 0;
    size_t len;
    uint64_t t0 = bench_now_ns();
    for (uint64_t i = 0; i < n; i++) {
        pthread_rwlock_rdlock(&b->lock);
        legacy_get(&b->obj, &idx, sizeof idx, &v, sizeof v, &len);
        pthread_rwlock_unlock(&b->lock);
        sink += v;
    }
    double direct = (double)(bench_now_ns() - t0) / (double)n;
    t0 = bench_now_ns();
    for (uint64_t i = 0; i < n; i++) {
        troupe_adapter_call(b->sys, b->ad, 1, i, &idx, sizeof idx, &v, sizeof v, NULL);
        sink += v;
    }
    double via = (double)(bench_now_ns() - t0) / (double)n;
    if (sink != 2 * (int64_t)n * b->obj.bal[1])
        bench_fail("reads disagree");
    bench_summary_impl("overhead", "rwlock", "latency_per_call", direct, "ns");
    bench_summary("overhead", "latency_per_call", via, "ns");
    bench_summary("overhead", "added_per_call", via - direct, "ns");
}

typedef struct rd {
    troupe_system *sys;
    const troupe_flag *f;
    uint64_t n;
    _Atomic uint64_t bad;
    _Atomic int stop;
} rd;

static void *flag_reader(void *p)
{
    rd *r = p;
    uint64_t bad = 0;
    for (uint64_t i = 0; i < r->n; i++) {
        troupe_flag_value v = troupe_flag_read(r->f);
        bad += !(v.kind == TROUPE_FLAG_PERCENT && (v.percent == 20 || v.percent == 80));
    }
    atomic_fetch_add(&r->bad, bad);
    return NULL;
}

static void *flag_writer(void *p)
{
    rd *r = p;
    for (uint64_t i = 0; !atomic_load(&r->stop); i++)
        troupe_flags_set(r->sys, "bench_flag", i & 1 ? "80%" : "20%");
    return NULL;
}

static void flag_reads(troupe_system *sys, uint64_t n)
{
    rd r = {.sys = sys, .n = n};
    bench_check(troupe_flags_set(sys, "bench_flag", "20%"), "flags_set");
    bench_check(troupe_flag_find(sys, "bench_flag", &r.f), "flag_find");
    uint64_t t0 = bench_now_ns();
    flag_reader(&r);
    bench_summary("flag_read_1t", "latency_per_read", (double)(bench_now_ns() - t0) / (double)n, "ns");
    uint64_t on = 0;
    t0 = bench_now_ns();
    for (uint64_t i = 0; i < n; i++)
        on += (uint64_t)troupe_flag_enabled(sys, "bench_flag", i);
    bench_summary("flag_enabled_by_name_1t", "latency_per_read",
                  (double)(bench_now_ns() - t0) / (double)n, "ns");
    pthread_t t[3];
    pthread_create(&t[2], NULL, flag_writer, &r);
    t0 = bench_now_ns();
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, flag_reader, &r);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    double ns = (double)(bench_now_ns() - t0) / (double)n;
    atomic_store(&r.stop, 1);
    pthread_join(t[2], NULL);
    bench_summary("flag_read_2t_with_writer", "latency_per_read", ns, "ns");
    if (atomic_load(&r.bad) || on == 0 || on == n)
        bench_fail("flag reads saw %llu bad values", (unsigned long long)atomic_load(&r.bad));
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    uint64_t local = bench_scaled(BASE_LOCAL, scale, 1000), asks = bench_scaled(BASE_ASKS, scale, 200);
    static bctx b;
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    bench_check(troupe_system_create(&b.sys, &cfg), "system_create");
    b.sys = b.sys;
    pthread_rwlock_init(&b.lock, NULL);
    troupe_adapter_config ac;
    troupe_adapter_config_defaults(&ac);
    bench_check(troupe_spawn(b.sys, &beh, NULL, NULL, &ac.actor), "spawn");
    ac.obj = &b.obj, ac.lock = &b.lock;
    bench_check(troupe_adapter_create(b.sys, &def, &ac, &b.ad), "adapter_create");
    double direct = run2(&b, local / 2, 1);
    bench_summary_impl("direct_2t", "rwlock", "throughput", direct, "ops/s");
    double legacy = case_2t(&b, "legacy_2t", TROUPE_MODE_LEGACY, local / 2);
    double actor = case_2t(&b, "actor_2t", TROUPE_MODE_ACTOR, asks / 2);
    case_2t(&b, "shadow_2t", TROUPE_MODE_SHADOW, asks / 2);
    bench_summary("actor_vs_legacy_2t", "ratio", actor / legacy, "x");
    b.mix = 1;
    double lmix = case_2t(&b, "legacy_mix90_2t", TROUPE_MODE_LEGACY, local / 2);
    double amix = case_2t(&b, "actor_mix90_2t", TROUPE_MODE_ACTOR, local / 2);
    bench_summary("actor_vs_legacy_mix90_2t", "ratio", amix / lmix, "x");
    b.mix = 0;
    troupe_adapter_info info;
    bench_check(troupe_adapter_info_get(b.sys, b.ad, &info), "info");
    if (info.mismatches)
        bench_fail("%llu mismatches", (unsigned long long)info.mismatches);
    overhead(&b, local);
    flag_reads(b.sys, local);
    troupe_system_destroy(b.sys);
    pthread_rwlock_destroy(&b.lock);
    return 0;
}
