/* bench/call_latency.c — a synchronous call from a plain thread to an idle
 * actor, beside Erlang's gen_server:call between two processes, in one run
 * (issue 13's latency target).
 *
 * One plain thread calls an actor that does nothing else, back to back:
 * the actor is idle at every call. Each call is timed (two clock reads,
 * ~20 ns each here, are inside every sample); the samples are sorted and
 * p50 and p99 read off them — measured values, no histogram. Each path is
 * one row of IMPLS (`troupe_ask`, handed to a worker; `troupe_call`, which
 * runs the idle actor on the calling thread):
 *   SUMMARY bench=call_latency impl=<path> metric=p50|p99 value=<ns> unit=ns
 * Then, when Erlang/OTP is installed, bench/peers/erlang/run.sh runs its
 * ask_latency case (gen_server:call from one process to another, +S 2:2)
 * at the same scale, and its figures are printed again in ns with the
 * ratio (above 1: troupe's call is faster; issue 13 asks for 5):
 *   SUMMARY bench=call_latency impl=erlang metric=p50|p99 value=<ns> unit=ns
 *   SUMMARY bench=call_latency impl=<path> metric=p50_vs_erlang|p99_vs_erlang unit=x
 * TROUPE_BENCH_NO_PEERS=1 leaves Erlang out; without erl it is left out
 * with a note.
 *
 * Checks: every reply is the actor's count of calls so far, in order, and
 * it counted exactly the calls made.
 *
 *   bench_call_latency [SCALE]   (or TROUPE_BENCH_SCALE): 100,000 calls x SCALE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

#ifndef TROUPE_SOURCE_ROOT
#define TROUPE_SOURCE_ROOT "."
#endif

#define BASE_CALLS 100000ull
#define WARMUP 1000u
#define SEC_NS 1000000000ull

enum { MSG_CALL = 1 };

static int counter_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    uint64_t *n = st;
    if (msg->type != MSG_CALL)
        return -1;
    ++*n;
    return troupe_reply(ctx, MSG_CALL, n, sizeof *n);
}

static const troupe_behaviour counter_beh = {
    .name = "call_latency.counter", .state_size = sizeof(uint64_t), .handle = counter_handle};

/* ---- the paths -------------------------------------------------------------------------- */

typedef struct target {
    troupe_system *sys;
    troupe_ref actor;
} target;

typedef struct impl {
    const char *name; /* impl= */
    /* One call; returns the actor's reply (its count). */
    uint64_t (*call)(target *t);
} impl;

static uint64_t ask_call(target *t)
{
    uint64_t n = 0;
    size_t len = 0;
    bench_check(troupe_ask(t->sys, t->actor, MSG_CALL, NULL, 0, 10 * SEC_NS, NULL, &n, sizeof n,
                           &len),
                "troupe_ask");
    if (len != sizeof n)
        bench_fail("a reply of %zu bytes", len);
    return n;
}

/* troupe_call: the calling thread runs the idle actor itself (core/call.c). */
static uint64_t call_call(target *t)
{
    uint64_t n = 0;
    size_t len = 0;
    bench_check(troupe_call(t->sys, t->actor, MSG_CALL, NULL, 0, 10 * SEC_NS, NULL, &n, sizeof n,
                            &len),
                "troupe_call");
    if (len != sizeof n)
        bench_fail("a reply of %zu bytes", len);
    return n;
}

static const impl IMPLS[] = {
    {"actor_ask", ask_call},
    {"actor_call", call_call},
};
#define NIMPLS (sizeof IMPLS / sizeof IMPLS[0])

typedef struct lat {
    uint64_t p50, p99;
} lat;

/* `calls` timed calls after WARMUP untimed ones, on a fresh system. */
static lat measure(const impl *im, uint64_t calls, uint64_t *samples)
{
    target t = {bench_system(1), {0}};
    bench_check(troupe_spawn(t.sys, &counter_beh, NULL, NULL, &t.actor), "spawn");
    uint64_t want = 0;
    for (uint32_t k = 0; k < WARMUP; k++)
        if (im->call(&t) != ++want)
            bench_fail("%s: reply %llu, want %llu", im->name, (unsigned long long)want - 1,
                       (unsigned long long)want);
    for (uint64_t k = 0; k < calls; k++) {
        uint64_t a = bench_now_ns();
        uint64_t got = im->call(&t);
        samples[k] = bench_now_ns() - a;
        if (got != ++want)
            bench_fail("%s: reply %llu, want %llu", im->name, (unsigned long long)got,
                       (unsigned long long)want);
    }
    uint64_t total = 0;
    bench_ask(t.sys, t.actor, MSG_CALL, &total, sizeof total);
    if (total != want + 1)
        bench_fail("%s: the actor counted %llu calls, %llu were made", im->name,
                   (unsigned long long)total - 1, (unsigned long long)want);
    troupe_system_destroy(t.sys);
    bench_sort_u64(samples, calls);
    return (lat){bench_pct(samples, calls, 0.50), bench_pct(samples, calls, 0.99)};
}

/* ---- the Erlang peer -------------------------------------------------------------------- */

/* Erlang's ask_latency p50 and p99 in ns; 0 when not run. */
static lat erlang_call(double scale)
{
    lat e = {0, 0};
    const char *no = getenv("TROUPE_BENCH_NO_PEERS");
    if (no && *no && strcmp(no, "0") != 0)
        return e;
    if (system("command -v erl >/dev/null 2>&1 && command -v erlc >/dev/null 2>&1") != 0) {
        fprintf(stderr, "call_latency: erl not found (Debian: erlang-nox): no Erlang figure\n");
        return e;
    }
    char cmd[1024], scale_s[32];
    snprintf(scale_s, sizeof scale_s, "%g", scale);
    setenv("TROUPE_BENCH_SCALE", scale_s, 1); /* the peer's size is ours */
    snprintf(cmd, sizeof cmd, "bash '%s/bench/peers/erlang/run.sh' - ask_latency",
             TROUPE_SOURCE_ROOT);
    fflush(stdout);
    FILE *p = popen(cmd, "r");
    if (!p)
        bench_fail("cannot run %s", cmd);
    char line[256], metric[32];
    double v;
    while (fgets(line, sizeof line, p))
        if (sscanf(line, "SUMMARY bench=ask_latency impl=erlang metric=%31s value=%lf unit=us",
                   metric, &v) == 2) {
            if (strcmp(metric, "p50") == 0)
                e.p50 = (uint64_t)(v * 1000.0 + 0.5);
            else if (strcmp(metric, "p99") == 0)
                e.p99 = (uint64_t)(v * 1000.0 + 0.5);
        }
    if (pclose(p) != 0 || !e.p50 || !e.p99)
        bench_fail("the Erlang peer failed (%s)", cmd);
    return e;
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    uint64_t calls = bench_scaled(BASE_CALLS, scale, 1000);
    uint64_t *samples = malloc(calls * sizeof *samples);
    if (!samples)
        bench_fail("out of memory");
    lat got[NIMPLS];
    for (size_t i = 0; i < NIMPLS; i++) {
        got[i] = measure(&IMPLS[i], calls, samples);
        bench_summary_impl("call_latency", IMPLS[i].name, "p50", (double)got[i].p50, "ns");
        bench_summary_impl("call_latency", IMPLS[i].name, "p99", (double)got[i].p99, "ns");
    }
    free(samples);
    lat e = erlang_call(scale);
    if (!e.p50)
        return 0;
    bench_summary_impl("call_latency", "erlang", "p50", (double)e.p50, "ns");
    bench_summary_impl("call_latency", "erlang", "p99", (double)e.p99, "ns");
    for (size_t i = 0; i < NIMPLS; i++) {
        bench_summary_impl("call_latency", IMPLS[i].name, "p50_vs_erlang",
                           (double)e.p50 / (double)got[i].p50, "x");
        bench_summary_impl("call_latency", IMPLS[i].name, "p99_vs_erlang",
                           (double)e.p99 / (double)got[i].p99, "x");
    }
    return 0;
}
