/* bench/common.c — helpers shared by the benchmarks (see common.h). */
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double bench_scale(int argc, char **argv)
{
    const char *s = argc > 1 ? argv[1] : getenv("TROUPE_BENCH_SCALE");
    if (s == NULL || *s == '\0')
        return 1.0;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    /* Above 100 a case would run for hours: surely a typo. */
    if (errno != 0 || end == s || *end != '\0' || !(v > 0.0) || v > 100.0)
        bench_fail("bad scale '%s' (want a number in (0, 100])", s);
    return v;
}

uint64_t bench_scaled(uint64_t base, double scale, uint64_t min)
{
    double v = (double)base * scale + 0.5;
    uint64_t n = (uint64_t)v;
    return n < min ? min : n;
}

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bench_cpu_ns(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        bench_fail("getrusage failed");
    uint64_t us = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
                  (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    return us * 1000u;
}

uint64_t bench_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f == NULL)
        bench_fail("cannot open /proc/self/statm");
    int n = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    if (n != 2)
        bench_fail("cannot parse /proc/self/statm");
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

void bench_summary(const char *bench, const char *metric, double value, const char *unit)
{
    bench_summary_impl(bench, "troupe", metric, value, unit);
}

/* Three decimals, except below 1 where they would lose the figure (a
 * ratio of 0.0046): four significant digits there. */
void bench_summary_impl(const char *bench, const char *impl, const char *metric, double value,
                        const char *unit)
{
    if (value != 0.0 && value > -1.0 && value < 1.0)
        printf("SUMMARY bench=%s impl=%s metric=%s value=%.4g unit=%s\n", bench, impl, metric,
               value, unit);
    else
        printf("SUMMARY bench=%s impl=%s metric=%s value=%.3f unit=%s\n", bench, impl, metric,
               value, unit);
    fflush(stdout);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void bench_sort_u64(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_u64);
}

uint64_t bench_pct(const uint64_t *sorted, size_t n, double p)
{
    size_t i = (size_t)((double)n * p);
    return sorted[i < n ? i : n - 1];
}

void bench_fail(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("bench: FAIL ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

void bench_check(int rc, const char *what)
{
    if (rc < 0)
        bench_fail("%s: %s (%s)", what, troupe_errname(rc), troupe_strerror(rc));
}

/* Actor failures seen by the on_failure hook: any one spoils the run. */
static atomic_int g_failures;

static void on_failure(const troupe_failure *f, void *ud)
{
    (void)ud;
    fprintf(stderr, "bench: actor %s failed: %s, code %d (%s), msg type %u: %s\n",
            f->behaviour ? f->behaviour : "?", troupe_failure_kind_name(f->kind), f->code,
            troupe_errname(f->code), f->msg_type, f->reason);
    atomic_fetch_add(&g_failures, 1);
}

static void stalled(const char *why, const char *what, void (*diag)(void *), void *ud)
{
    fflush(stdout);
    fprintf(stderr, "bench: %s while waiting for %s\n", why, what);
    if (diag)
        diag(ud);
    bench_fail("%s", why);
}

void bench_wait(atomic_int *flag, const _Atomic uint64_t *progress, const char *what,
                void (*diag)(void *ud), void *ud)
{
    const struct timespec pause = {0, 100000};
    uint64_t last = progress ? atomic_load_explicit(progress, memory_order_relaxed) : 0;
    uint64_t since = bench_now_ns();
    while (atomic_load_explicit(flag, memory_order_acquire) == 0) {
        if (atomic_load(&g_failures) != 0)
            stalled("an actor failed", what, diag, ud);
        uint64_t now = bench_now_ns(), p = last;
        if (progress)
            p = atomic_load_explicit(progress, memory_order_relaxed);
        if (p != last) {
            last = p;
            since = now;
        } else if (now - since > (uint64_t)(BENCH_STALL_S * 1e9)) {
            stalled("no progress for 10 s", what, diag, ud);
        }
        nanosleep(&pause, NULL);
    }
}

void bench_print_stats(troupe_system *sys, const char *name, troupe_ref ref)
{
    troupe_mailbox_stats s;
    int rc = troupe_actor_stats(sys, ref, &s);
    if (rc < 0) {
        fprintf(stderr, "  %s: %s\n", name, troupe_errname(rc));
        return;
    }
    fprintf(stderr,
            "  %s: accepted %llu handled %llu dropped %llu rejected %llu parked %llu "
            "failed %llu depth %u/%u\n",
            name, (unsigned long long)s.accepted, (unsigned long long)s.handled,
            (unsigned long long)s.dropped, (unsigned long long)s.rejected,
            (unsigned long long)s.parked, (unsigned long long)s.failed, s.depth, s.capacity);
}

troupe_system *bench_system(int use_arena)
{
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.use_arena = use_arena;
    cfg.on_failure = on_failure;
    /* TROUPE_BENCH_WORKERS=N: run with N workers (scaling experiments). */
    const char *w = getenv("TROUPE_BENCH_WORKERS");
    if (w)
        cfg.workers = (uint32_t)strtoul(w, NULL, 10);
    /* TROUPE_BENCH_PIN=0: unpinned workers (a busy machine, issue 18). */
    const char *p = getenv("TROUPE_BENCH_PIN");
    if (p)
        cfg.pin = (int)strtol(p, NULL, 10);
    troupe_system *sys = NULL;
    bench_check(troupe_system_create(&sys, &cfg), "troupe_system_create");
    return sys;
}

void bench_ask(troupe_system *sys, troupe_ref to, uint32_t type, void *buf, size_t len)
{
    size_t got = 0;
    int rc = troupe_ask(sys, to, type, NULL, 0, 10ull * 1000000000ull, NULL, buf, len, &got);
    bench_check(rc, "troupe_ask");
    if (got != len)
        bench_fail("reply of %zu bytes, expected %zu", got, len);
}

int bench_run_in_child(const char *name, void (*fn)(void *ud), void *ud)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        bench_fail("fork failed");
    if (pid == 0) {
        fn(ud);
        fflush(stdout);
        _exit(0);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid)
        bench_fail("waitpid failed");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 1;
    fprintf(stderr, "bench: the %s run failed (wait status 0x%x)\n", name, status);
    return 0;
}
