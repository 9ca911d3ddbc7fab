/* bench/fork_join_throughput.c — Savina 3 (fork-join throughput).
 *
 * One sender actor sends 10,000 messages (times the scale) to each of 60
 * worker actors, round-robin; each message makes its worker do a tiny
 * computation (sin(theta)^2, with sin as a 4-term Taylor polynomial: a few
 * float multiplications and additions, as Savina's Math.sin call). A worker
 * that has handled all its messages tells the sender DONE; the time runs
 * from the start until the sender has all 60 DONEs.
 *
 * The sender sends ROUNDS_PER_RUN rounds (one message to each worker) per
 * handler, then tells itself "continue", so that workers run meanwhile. The
 * workers have the default mailbox (capacity 1000, BLOCK), as an
 * application's would: a full one parks the sender's burst and the sender
 * goes on later, losing nothing. (Mailboxes sized to hold a whole share,
 * 16384, made the run 2x slower: 60 rings of 2 MiB to fault in and tear
 * down, a third of the time in the kernel's TLB shootdowns.)
 *
 * Checks: every worker handled exactly its share, in the order sent, and
 * its sum of results equals the sum the main thread computes.
 * metric: messages handled per second (msg/s).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#define WORKERS 60u
#define BASE_PER_WORKER 10000ull
#define ROUNDS_PER_RUN 4

enum { MSG_GO = 1, MSG_WORK = 2, MSG_DONE = 3, MSG_REPORT = 4 };

typedef struct work {
    uint64_t seq;
    double theta;
} work;

typedef struct worker_state {
    troupe_ref sender;
    uint64_t expect, count, wrong;
    double sum;
} worker_state;

typedef struct sender_state {
    uint64_t per_worker, round;
    uint32_t done;
} sender_state;

typedef struct report {
    uint64_t count, wrong;
    double sum;
} report;

static troupe_ref g_workers[WORKERS];
static atomic_int g_done;
static _Atomic uint64_t g_progress;
static uint64_t g_end_ns;

static double theta_of(uint64_t seq)
{
    return 0.25 + (double)(seq % 1024) * (1.0 / 1024.0);
}

/* sin(x) ~ x - x^3/3! + x^5/5! - x^7/7! on [0.25, 1.25); then squared. */
static double compute(double x)
{
    double x2 = x * x;
    double s = x * (1.0 - x2 * (1.0 / 6.0 - x2 * (1.0 / 120.0 - x2 * (1.0 / 5040.0))));
    return s * s;
}

static int worker_init(troupe_ctx *ctx, void *st, const void *arg)
{
    (void)ctx;
    worker_state *s = st;
    memcpy(&s->sender, arg, sizeof s->sender);
    memcpy(&s->expect, (const char *)arg + sizeof(troupe_ref), sizeof s->expect);
    return 0;
}

static int worker_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    worker_state *s = st;
    if (msg->type == MSG_REPORT) {
        report r = {s->count, s->wrong, s->sum};
        return troupe_reply(ctx, MSG_REPORT, &r, sizeof r);
    }
    if (msg->type != MSG_WORK || msg->size != sizeof(work))
        return -1;
    work w;
    memcpy(&w, msg->data, sizeof w);
    s->wrong += w.seq != s->count;
    double r = compute(w.theta);
    if (!(r > 0.0))
        return -1; /* as Savina: a result of 0 is an error */
    s->sum += r;
    if (++s->count == s->expect)
        return troupe_tell(troupe_ctx_system(ctx), s->sender, MSG_DONE, NULL, 0);
    return 0;
}

static int sender_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    sender_state *s = st;
    troupe_system *sys = troupe_ctx_system(ctx);
    if (msg->type == MSG_DONE) {
        if (++s->done == WORKERS) {
            g_end_ns = bench_now_ns();
            atomic_store_explicit(&g_done, 1, memory_order_release);
        }
        return 0;
    }
    if (msg->type != MSG_GO)
        return -1;
    if (msg->size == sizeof s->per_worker) /* the first GO carries the share */
        memcpy(&s->per_worker, msg->data, sizeof s->per_worker);
    for (int r = 0; r < ROUNDS_PER_RUN && s->round < s->per_worker; r++, s->round++) {
        work w = {s->round, theta_of(s->round)};
        for (uint32_t i = 0; i < WORKERS; i++) {
            int rc = troupe_tell(sys, g_workers[i], MSG_WORK, &w, sizeof w);
            if (rc < 0)
                return rc;
        }
    }
    atomic_store_explicit(&g_progress, s->round, memory_order_relaxed);
    if (s->round < s->per_worker)
        return troupe_tell(sys, troupe_self(ctx), MSG_GO, NULL, 0);
    return 0;
}

static const troupe_behaviour worker_beh = {.name = "fork_join_throughput.worker",
                                            .state_size = sizeof(worker_state),
                                            .init = worker_init,
                                            .handle = worker_handle};
static const troupe_behaviour sender_beh = {.name = "fork_join_throughput.sender",
                                            .state_size = sizeof(sender_state),
                                            .handle = sender_handle};

typedef struct actors {
    troupe_system *sys;
    troupe_ref sender;
} actors;

static void diag(void *ud)
{
    actors *a = ud;
    bench_print_stats(a->sys, "sender", a->sender);
    for (uint32_t i = 0; i < WORKERS; i += 15)
        bench_print_stats(a->sys, "worker", g_workers[i]);
}

int main(int argc, char **argv)
{
    uint64_t per = bench_scaled(BASE_PER_WORKER, bench_scale(argc, argv), 100);
    troupe_system *sys = bench_system(1);
    actors a = {.sys = sys};
    bench_check(troupe_spawn(sys, &sender_beh, NULL, NULL, &a.sender), "spawn sender");
    troupe_spawn_opts opts;
    troupe_spawn_opts_defaults(&opts);
    char arg[sizeof(troupe_ref) + sizeof(uint64_t)];
    memcpy(arg, &a.sender, sizeof a.sender);
    memcpy(arg + sizeof a.sender, &per, sizeof per);
    for (uint32_t i = 0; i < WORKERS; i++)
        bench_check(troupe_spawn(sys, &worker_beh, arg, &opts, &g_workers[i]), "spawn worker");

    uint64_t t0 = bench_now_ns();
    bench_check(troupe_tell(sys, a.sender, MSG_GO, &per, sizeof per), "start");
    bench_wait(&g_done, &g_progress, "the workers", diag, &a);
    double secs = (double)(g_end_ns - t0) / 1e9;

    double want = 0.0;
    for (uint64_t k = 0; k < per; k++)
        want += compute(theta_of(k));
    for (uint32_t i = 0; i < WORKERS; i++) {
        report r;
        bench_ask(sys, g_workers[i], MSG_REPORT, &r, sizeof r);
        if (r.count != per || r.wrong != 0 || fabs(r.sum - want) > 1e-9 * want)
            bench_fail("worker %u: %llu of %llu messages, %llu out of order, sum %.17g (want "
                       "%.17g)",
                       i, (unsigned long long)r.count, (unsigned long long)per,
                       (unsigned long long)r.wrong, r.sum, want);
    }
    bench_summary("fork_join_throughput", "throughput", (double)(per * WORKERS) / secs, "msg/s");
    troupe_system_destroy(sys);
    return 0;
}
