/* bench/common.h — what every troupe benchmark shares: the scale argument,
 * the clock, the SUMMARY line, RSS and CPU readings, and failing loudly.
 *
 * A benchmark prints one line per case, exactly
 *   SUMMARY bench=<case> impl=troupe metric=<name> value=<number> unit=<unit>
 * and exits 1 when its own cross-checks (message counts, order, liveness)
 * fail, so that a fast but wrong run never reports a figure.
 */
#ifndef TROUPE_BENCH_COMMON_H
#define TROUPE_BENCH_COMMON_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <troupe/troupe.h>

/* The scale factor: argv[1] if given, else $TROUPE_BENCH_SCALE, else 1.
 * 0.01 runs each case at 1 % of its default size. Exits 1 on garbage. */
double bench_scale(int argc, char **argv);

/* base * scale, rounded, at least `min`. */
uint64_t bench_scaled(uint64_t base, double scale, uint64_t min);

/* CLOCK_MONOTONIC in ns. */
uint64_t bench_now_ns(void);

/* User + system CPU time of the whole process, in ns. */
uint64_t bench_cpu_ns(void);

/* Resident set size of the process in bytes (/proc/self/statm). */
uint64_t bench_rss_bytes(void);

/* Print one SUMMARY line and flush it (benchmarks may fork). */
void bench_summary(const char *bench, const char *metric, double value, const char *unit);

/* The same for another implementation (impl=rwlock, ...): the baselines
 * some benchmarks measure beside troupe. */
void bench_summary_impl(const char *bench, const char *impl, const char *metric, double value,
                        const char *unit);

/* Sort v[0..n) ascending; then bench_pct(v, n, 0.99) is the sample at the
 * 99th percentile (index floor(n * p), clamped to n - 1; n > 0). */
void bench_sort_u64(uint64_t *v, size_t n);
uint64_t bench_pct(const uint64_t *sorted, size_t n, double p);

/* Print "bench: FAIL ..." to stderr and exit 1. */
void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Exit 1 naming the call when a troupe call returned an error. */
void bench_check(int rc, const char *what);

/* Wait until *flag becomes non-zero, polling every 100 µs. A hung run must
 * not hang the suite: fail once *progress (a counter the bench bumps now
 * and then; NULL = none) has not moved for BENCH_STALL_S seconds, or after
 * BENCH_STALL_S without progress tracking, or as soon as an actor of a
 * bench_system() failed. Before failing, diag(ud) may print what it knows
 * (NULL = nothing). */
#define BENCH_STALL_S 10.0
void bench_wait(atomic_int *flag, const _Atomic uint64_t *progress, const char *what,
                void (*diag)(void *ud), void *ud);

/* Print an actor's mailbox counters to stderr (for diag callbacks). */
void bench_print_stats(troupe_system *sys, const char *name, troupe_ref ref);

/* A system with default settings except `use_arena` and an on_failure
 * hook that reports the failure; exits on error. */
troupe_system *bench_system(int use_arena);

/* Ask `to` for a reply of exactly `len` bytes into `buf`; exits on error. */
void bench_ask(troupe_system *sys, troupe_ref to, uint32_t type, void *buf, size_t len);

/* Run fn(ud) in a forked child, so that allocators and RSS start fresh
 * for each case. Returns 1 if the child exited 0, else reports and 0. */
int bench_run_in_child(const char *name, void (*fn)(void *ud), void *ud);

#endif /* TROUPE_BENCH_COMMON_H */
