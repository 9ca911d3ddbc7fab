/* bench/restart.c — supervision: how soon a failed actor is back.
 *
 *   restart_cycle  a driver actor sends PANIC then PING to a child of the
 *                  root supervisor (PERMANENT, ALWAYS); the child panics, the
 *                  supervisor thread restarts it (init runs on a worker), the
 *                  new incarnation answers PING with PONG. Time from the
 *                  PANIC send to the PONG, 20,000 cycles (median, p99, ns).
 *                  Erlang/OTP's supervisor on the reference machine: 156 µs.
 *   ping_baseline  the same loop without the PANIC: the floor the restart
 *                  adds to (median, p99, ns).
 *   one_for_all_1000
 *                  a ONE_FOR_ALL supervisor with 1,000 children; one of them
 *                  panics: time until all 1,000 have run init again, 20
 *                  times (median, min, µs).
 *   supervised_child
 *                  the resident memory a supervised child costs (bytes).
 *
 * The end of each timing is stamped where it happens (the driver's PONG
 * handler, the init that completes the set), so the main thread can wait
 * by sleeping instead of taking a CPU from the workers.
 *
 * Checks: the supervisor's restart counts (troupe_child_info_get,
 * troupe_sup_info_get), the PANIC exits it saw and the inits that ran all
 * equal the panics sent; the baseline child was never restarted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common.h"

#define BASE_CYCLES 20000ull
#define BASE_REPS 20ull
#define GROUP 1000u

enum { MSG_START = 1, MSG_PANIC = 2, MSG_PING = 3, MSG_PONG = 4 };

/* ---- restart_cycle and ping_baseline ------------------------------------------ */

typedef struct driver_state {
    troupe_ref child;
    int panic;        /* send PANIC before each PING */
    uint64_t n, done; /* cycles to make, made */
    uint64_t *samples;
    uint64_t t0;
} driver_state;

typedef struct driver_start {
    troupe_ref child;
    int panic;
    uint64_t n;
    uint64_t *samples;
} driver_start;

static atomic_int g_done;
static _Atomic uint64_t g_progress;
static _Atomic uint64_t g_child_inits;

static int cycle(troupe_ctx *ctx, driver_state *s)
{
    troupe_system *sys = troupe_ctx_system(ctx);
    s->t0 = bench_now_ns();
    int rc = s->panic ? troupe_tell(sys, s->child, MSG_PANIC, NULL, 0) : 0;
    return rc ? rc : troupe_tell(sys, s->child, MSG_PING, NULL, 0);
}

static int driver_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    driver_state *s = st;
    if (msg->type == MSG_START) {
        const driver_start *a = msg->data;
        *s = (driver_state){.child = a->child, .panic = a->panic, .n = a->n,
                            .samples = a->samples};
        return cycle(ctx, s);
    }
    if (msg->type != MSG_PONG)
        return -1;
    s->samples[s->done++] = bench_now_ns() - s->t0;
    if ((s->done & 255) == 0)
        atomic_store_explicit(&g_progress, s->done, memory_order_relaxed);
    if (s->done < s->n)
        return cycle(ctx, s);
    atomic_store_explicit(&g_done, 1, memory_order_release);
    return 0;
}

static int child_init(troupe_ctx *ctx, void *st, const void *arg)
{
    (void)ctx, (void)st, (void)arg;
    atomic_fetch_add_explicit(&g_child_inits, 1, memory_order_relaxed);
    return 0;
}

static int child_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    (void)st;
    if (msg->type == MSG_PANIC)
        troupe_panic("restart bench");
    if (msg->type != MSG_PING)
        return -1;
    return troupe_tell(troupe_ctx_system(ctx), msg->sender, MSG_PONG, NULL, 0);
}

static const troupe_behaviour driver_beh = {
    .name = "restart.driver", .state_size = sizeof(driver_state), .handle = driver_handle};
static const troupe_behaviour child_beh = {
    .name = "restart.child", .init = child_init, .handle = child_handle};

/* Panics are the point here: only a failure of another kind, or of
 * another actor, spoils the run. */
static _Atomic uint64_t g_panics, g_bad_failures;

static void on_failure(const troupe_failure *f, void *ud)
{
    (void)ud;
    if (f->kind == TROUPE_EXIT_PANIC && f->msg_type == MSG_PANIC) {
        atomic_fetch_add(&g_panics, 1);
        return;
    }
    fprintf(stderr, "bench: actor %s failed: %s (%s), msg type %u\n", f->behaviour,
            troupe_failure_kind_name(f->kind), f->reason, f->msg_type);
    atomic_fetch_add(&g_bad_failures, 1);
}

/* No escalation ever: the root allows a million restarts per second. */
static troupe_system *restart_system(void)
{
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.on_failure = on_failure;
    cfg.root_intensity = 1000000;
    cfg.root_period_ns = 1000000000ll;
    const char *w = getenv("TROUPE_BENCH_WORKERS");
    if (w)
        cfg.workers = (uint32_t)strtoul(w, NULL, 10);
    troupe_system *sys = NULL;
    bench_check(troupe_system_create(&sys, &cfg), "troupe_system_create");
    return sys;
}

static troupe_child_spec always_spec(const troupe_behaviour *beh)
{
    troupe_child_spec s;
    troupe_child_spec_defaults(&s);
    s.beh = beh;
    s.restart = TROUPE_PERMANENT;
    s.policy.kind = TROUPE_RESTART_ALWAYS;
    return s;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct cycle_env {
    troupe_system *sys;
    troupe_ref driver, child;
} cycle_env;

static void cycle_diag(void *ud)
{
    cycle_env *e = ud;
    bench_print_stats(e->sys, "driver", e->driver);
    bench_print_stats(e->sys, "child", e->child);
}

/* Run n cycles (with or without the panic) into samples, sorted. */
static void run_cycles(cycle_env *e, int panic, uint64_t n, uint64_t *samples)
{
    atomic_store(&g_done, 0);
    atomic_store(&g_progress, 0);
    driver_start st = {e->child, panic, n, samples};
    bench_check(troupe_tell(e->sys, e->driver, MSG_START, &st, sizeof st), "start");
    bench_wait(&g_done, &g_progress, panic ? "the restart cycles" : "the pings", cycle_diag, e);
    qsort(samples, (size_t)n, sizeof *samples, cmp_u64);
}

static void check_child(troupe_system *sys, troupe_ref child, uint64_t panics, const char *what)
{
    troupe_child_info ci;
    bench_check(troupe_child_info_get(sys, child, &ci), "troupe_child_info_get");
    if (ci.restarts != panics || ci.exits_by_kind[TROUPE_EXIT_PANIC] != panics ||
        ci.state != TROUPE_CHILD_RUNNING)
        bench_fail("%s: %llu panics sent, the supervisor counts %llu restarts and %llu panic "
                   "exits (state %d)",
                   what, (unsigned long long)panics, (unsigned long long)ci.restarts,
                   (unsigned long long)ci.exits_by_kind[TROUPE_EXIT_PANIC], (int)ci.state);
}

static void bench_restart_cycle(double scale)
{
    uint64_t n = bench_scaled(BASE_CYCLES, scale, 200), warm = n / 10;
    uint64_t *samples = calloc(n, sizeof *samples);
    if (!samples)
        bench_fail("out of memory");
    troupe_system *sys = restart_system();
    troupe_sup root;
    bench_check(troupe_sup_root(sys, &root), "troupe_sup_root");
    cycle_env e = {.sys = sys};
    bench_check(troupe_spawn(sys, &driver_beh, NULL, NULL, &e.driver), "spawn driver");
    troupe_child_spec spec = always_spec(&child_beh);
    bench_check(troupe_sup_start_child(sys, root, &spec, &e.child), "start child");

    run_cycles(&e, 0, n, samples); /* the baseline: no restart */
    check_child(sys, e.child, 0, "ping_baseline");
    bench_summary("ping_baseline", "median", (double)samples[n / 2], "ns");
    bench_summary("ping_baseline", "p99", (double)samples[(n * 99) / 100], "ns");

    run_cycles(&e, 1, warm, samples); /* warm-up, not reported */
    run_cycles(&e, 1, n, samples);
    uint64_t panics = warm + n;
    check_child(sys, e.child, panics, "restart_cycle");
    if (atomic_load(&g_child_inits) != 1 + panics || atomic_load(&g_panics) != panics ||
        atomic_load(&g_bad_failures) != 0)
        bench_fail("restart_cycle: %llu inits and %llu panic reports for %llu panics",
                   (unsigned long long)atomic_load(&g_child_inits),
                   (unsigned long long)atomic_load(&g_panics), (unsigned long long)panics);
    bench_summary("restart_cycle", "median", (double)samples[n / 2], "ns");
    bench_summary("restart_cycle", "p99", (double)samples[(n * 99) / 100], "ns");
    troupe_system_destroy(sys);
    free(samples);
}

/* ---- one_for_all over 1,000 children ------------------------------------------ */

static _Atomic uint64_t g_group_inits, g_group_target, g_group_end_ns;

/* The init that completes the set stamps the end of the restart. */
static int member_init(troupe_ctx *ctx, void *st, const void *arg)
{
    (void)ctx, (void)st, (void)arg;
    uint64_t n = atomic_fetch_add_explicit(&g_group_inits, 1, memory_order_acq_rel) + 1;
    if (n == atomic_load_explicit(&g_group_target, memory_order_acquire))
        atomic_store_explicit(&g_group_end_ns, bench_now_ns(), memory_order_release);
    return 0;
}

static const troupe_behaviour member_beh = {
    .name = "restart.member", .init = member_init, .handle = child_handle};

static void wait_group(uint64_t target)
{
    uint64_t until = bench_now_ns() + (uint64_t)(BENCH_STALL_S * 1e9);
    while (atomic_load_explicit(&g_group_end_ns, memory_order_acquire) == 0) {
        if (bench_now_ns() > until)
            bench_fail("one_for_all: %llu of %llu inits after %.0f s",
                       (unsigned long long)atomic_load(&g_group_inits),
                       (unsigned long long)target, BENCH_STALL_S);
        struct timespec ts = {0, 20000};
        nanosleep(&ts, NULL);
    }
}

static void check_group(troupe_system *sys, troupe_sup sup, const troupe_ref *kids,
                        uint64_t reps)
{
    troupe_sup_info si;
    bench_check(troupe_sup_info_get(sys, sup, &si), "troupe_sup_info_get");
    if (si.restarts != reps * GROUP || si.escalations != 0 || si.children != GROUP)
        bench_fail("one_for_all: %llu restarts (want %llu), %llu escalations, %u children",
                   (unsigned long long)si.restarts, (unsigned long long)(reps * GROUP),
                   (unsigned long long)si.escalations, si.children);
    uint64_t panic_exits = 0;
    for (uint32_t i = 0; i < GROUP; i++) {
        troupe_child_info ci;
        bench_check(troupe_child_info_get(sys, kids[i], &ci), "troupe_child_info_get");
        if (ci.restarts != reps)
            bench_fail("one_for_all: child %u restarted %llu times of %llu", i,
                       (unsigned long long)ci.restarts, (unsigned long long)reps);
        panic_exits += ci.exits_by_kind[TROUPE_EXIT_PANIC];
    }
    if (panic_exits != reps || atomic_load(&g_group_inits) != (reps + 1) * GROUP)
        bench_fail("one_for_all: %llu panic exits, %llu inits for %llu panics",
                   (unsigned long long)panic_exits,
                   (unsigned long long)atomic_load(&g_group_inits), (unsigned long long)reps);
}

static void bench_one_for_all(double scale)
{
    uint64_t reps = bench_scaled(BASE_REPS, scale, 3);
    uint64_t *us = calloc(reps, sizeof *us);
    troupe_ref *kids = calloc(GROUP, sizeof *kids);
    if (!us || !kids)
        bench_fail("out of memory");
    troupe_system *sys = restart_system();
    troupe_sup root, sup;
    bench_check(troupe_sup_root(sys, &root), "troupe_sup_root");
    troupe_sup_spec ss;
    troupe_sup_spec_defaults(&ss);
    ss.strategy = TROUPE_ONE_FOR_ALL;
    ss.intensity = 1000000;
    ss.period_ns = 1000000000ll;
    bench_check(troupe_sup_start_supervisor(sys, root, &ss, &sup), "start supervisor");
    troupe_child_spec spec = always_spec(&member_beh);
    uint64_t rss0 = bench_rss_bytes();
    for (uint32_t i = 0; i < GROUP; i++)
        bench_check(troupe_sup_start_child(sys, sup, &spec, &kids[i]), "start member");
    uint64_t rss1 = bench_rss_bytes();

    for (uint64_t r = 0; r < reps; r++) {
        uint64_t target = (r + 2) * GROUP; /* the first start, then one set per panic */
        atomic_store(&g_group_end_ns, 0);
        atomic_store(&g_group_target, target);
        uint64_t t0 = bench_now_ns();
        bench_check(troupe_tell(sys, kids[(r * 397) % GROUP], MSG_PANIC, NULL, 0), "panic");
        wait_group(target);
        us[r] = atomic_load(&g_group_end_ns) - t0;
    }
    check_group(sys, sup, kids, reps);
    qsort(us, (size_t)reps, sizeof *us, cmp_u64);
    bench_summary("one_for_all_1000", "median", (double)us[reps / 2] / 1000.0, "us");
    bench_summary("one_for_all_1000", "min", (double)us[0] / 1000.0, "us");
    bench_summary("supervised_child", "rss", rss1 > rss0 ? (double)(rss1 - rss0) / GROUP : 0.0,
                  "bytes");
    troupe_system_destroy(sys);
    free(kids);
    free(us);
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    bench_restart_cycle(scale);
    bench_one_for_all(scale);
    return 0;
}
