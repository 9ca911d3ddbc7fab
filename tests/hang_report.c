/* tests/hang_report.c — a test that hangs says which one it is, and where.
 *
 * Linked into every Criterion suite (tests/meson.build). Without it a hang
 * is silent: meson kills the whole executable at the suite's timeout, and
 * Criterion, which prints a test's outcome only when it ends, has printed
 * nothing — one such hang in CI (core-async, once in hundreds of runs) left
 * no clue at all.
 *
 * meson passes TT_HANG_REPORT_S (the suite's timeout less a margin). Each
 * of Criterion's test processes (exec'd copies of this executable, one test
 * each, told apart by BoxFort's BXFI_MAP variable; the runner is left
 * alone) arms alarm() with it. When it fires while the test runs
 * (criterion_current_test is set), the handler writes the test's name and
 * every thread's backtrace (gdb, attached to this process) to stderr, then
 * aborts: Criterion reports the test as crashed, by name. Before the test
 * starts it only re-arms. A test that long would have been killed by meson
 * a little later anyway: this changes no outcome, it only leaves evidence.
 *
 * Unset (a suite run by hand), nothing is armed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned hang_s;

static void say(const char *s)
{
    (void)!write(STDERR_FILENO, s, strlen(s));
}

/* Decimal of v into buf (async-signal-safe). */
static const char *dec(char buf[24], unsigned long v)
{
    char *p = buf + 23;
    *p = '\0';
    do
        *--p = (char)('0' + v % 10);
    while ((v /= 10) && p > buf);
    return p;
}

/* gdb, attached to this process, prints every thread's stack to stderr. */
static void backtraces(void)
{
    char buf[24];
    const char *pid = dec(buf, (unsigned long)getpid());
    (void)prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0); /* Yama: let our child attach */
    pid_t c = fork();
    if (c == 0) {
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execlp("gdb", "gdb", "-batch", "-nx", "-p", pid, "-ex", "thread apply all bt", (char *)NULL);
        _exit(127); /* no gdb: the name alone */
    }
    if (c > 0)
        while (waitpid(c, NULL, 0) < 0 && errno == EINTR)
            ;
}

static void on_alarm(int sig)
{
    (void)sig;
    const struct criterion_test *t = criterion_current_test;
    if (!t) { /* its test has not started yet */
        alarm(hang_s);
        return;
    }
    char buf[24];
    say("\nHANG: test ");
    say(t->category ? t->category : "?");
    say("/");
    say(t->name ? t->name : "?");
    say(" still running after ");
    say(dec(buf, hang_s));
    say(" s (TT_HANG_REPORT_S); the stacks of its threads:\n");
    backtraces();
    signal(SIGABRT, SIG_DFL);
    abort();
}

__attribute__((constructor)) static void hang_report_arm(void)
{
    const char *s = getenv("TT_HANG_REPORT_S");
    if (!getenv("BXFI_MAP"))
        return; /* Criterion's runner, or not run by Criterion */
    long v = s ? strtol(s, NULL, 10) : 0;
    if (v <= 0 || v > 86400)
        return;
    hang_s = (unsigned)v;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGALRM, &sa, NULL) == 0)
        alarm(hang_s);
}
