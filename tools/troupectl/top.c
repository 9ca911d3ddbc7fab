/* tools/troupectl/top.c — `troupectl top`: a refreshing view of a running
 * system — the busiest actors (messages per second between two frames),
 * mailbox growth, restarts, the workers. q quits (the terminal is put in
 * non-canonical mode while it runs and restored after); --once prints one
 * frame and exits; --interval S sets the refresh (0.1..60 s). */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define SEEN_MAX 4096 /* actors whose last figures we keep for the rates */

typedef struct seen {
    char ref[24];
    double handled, depth;
} seen;

typedef struct row {
    const jv *a;
    double rate, growth;
} row;

static seen prev[SEEN_MAX], cur[SEEN_MAX];
static size_t nprev, ncur;

static const seen *find_prev(const char *ref)
{
    for (size_t i = 0; i < nprev; i++)
        if (strcmp(prev[i].ref, ref) == 0)
            return &prev[i];
    return NULL;
}

static int by_rate(const void *x, const void *y)
{
    const row *a = x, *b = y;
    if (a->rate != b->rate)
        return a->rate < b->rate ? 1 : -1;
    double ha = jv_num(jv_get(a->a, "mailbox"), "handled", 0),
           hb = jv_num(jv_get(b->a, "mailbox"), "handled", 0);
    return ha < hb ? 1 : ha > hb ? -1 : 0;
}

static int screen_rows(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 8)
        return ws.ws_row;
    return 24;
}

static void print_workers(const jv *sys)
{
    const jv *wk = jv_get(sys, "worker_info");
    printf("%-7s %12s %10s %6s %s\n", "WORKER", "RUNS", "STEALS", "RUNQ", "STALLED");
    for (size_t i = 0; i < jv_len(wk); i++) {
        const jv *w = jv_at(wk, i);
        printf("%-7.0f %12.0f %10.0f %6.0f %s\n", jv_num(w, "index", 0), jv_num(w, "runs", 0),
               jv_num(w, "steals", 0), jv_num(w, "runq_length", 0),
               jv_num(w, "stalled", 0) ? "yes" : "no");
    }
}

/* One frame; dt_s = seconds since the last one (0: the first). */
static int frame(ctl *c, double dt_s)
{
    reply s, a;
    int rc = ctl_call(c, "GET", "/api/system", NULL, &s);
    if (rc != EX_OK) {
        reply_free(&s);
        return rc;
    }
    rc = ctl_call(c, "GET", "/api/actors?limit=10000", NULL, &a);
    if (rc != EX_OK) {
        reply_free(&s);
        reply_free(&a);
        return rc;
    }
    const jv *list = jv_get(a.doc, "actors");
    size_t n = jv_len(list), nr = 0;
    row *rows = calloc(n ? n : 1, sizeof *rows);
    double restarts = 0;
    ncur = 0;
    for (size_t i = 0; rows && i < n; i++) {
        const jv *x = jv_at(list, i), *mb = jv_get(x, "mailbox");
        const char *ref = jv_str(x, "ref", "");
        double h = jv_num(mb, "handled", 0), d = jv_num(mb, "depth", 0);
        const seen *p = find_prev(ref);
        rows[nr++] = (row){x, p && dt_s > 0 && h >= p->handled ? (h - p->handled) / dt_s : 0,
                           p ? d - p->depth : 0};
        restarts += jv_num(x, "restarts", 0);
        if (ncur < SEEN_MAX) {
            snprintf(cur[ncur].ref, sizeof cur[ncur].ref, "%s", ref);
            cur[ncur].handled = h, cur[ncur].depth = d;
            ncur++;
        }
    }
    memcpy(prev, cur, ncur * sizeof *cur);
    nprev = ncur;
    qsort(rows, nr, sizeof *rows, by_rate);
    if (!c->once)
        printf("\033[H\033[2J"); /* home, clear */
    printf("troupectl top  http://%s:%s/  every %.1fs  (q quits)\n", c->host, c->port,
           c->interval_ms / 1000.0);
    printf("actors live %.0f  spawned %.0f  failed %.0f  restarts %.0f  dead letters %.0f\n\n",
           jv_num(s.doc, "actors_live", 0), jv_num(s.doc, "actors_spawned", 0),
           jv_num(s.doc, "actors_failed", 0), restarts, jv_num(s.doc, "dead_letters", 0));
    print_workers(s.doc);
    if (jv_num(jv_get(s.doc, "supervisor"), "stalled", 0)) /* docs/OPERATIONS.md */
        printf("SUPERVISOR STALLED: nothing restarts until it moves (docs/OPERATIONS.md)\n");
    int room = screen_rows() - 8 - (int)jv_len(jv_get(s.doc, "worker_info"));
    printf("\n%-24s %-16s %10s %10s %8s %8s\n", "BUSIEST ACTORS", "TYPE", "MSGS/S", "MSGS",
           "MAILBOX", "GROWTH");
    for (size_t i = 0; i < nr && (c->once || (int)i < room); i++) {
        const jv *mb = jv_get(rows[i].a, "mailbox");
        printf("%-24.24s %-16.16s %10.1f %10.0f %8.0f %+8.0f\n", actor_label(rows[i].a),
               jv_str(rows[i].a, "type", "?"), rows[i].rate, jv_num(mb, "handled", 0),
               jv_num(mb, "depth", 0), rows[i].growth);
    }
    fflush(stdout);
    free(rows);
    reply_free(&s);
    reply_free(&a);
    return EX_OK;
}

static struct termios saved;
static int raw_on;

static void restore_tty(void)
{
    if (raw_on)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    raw_on = 0;
}

static void on_signal(int sig)
{
    restore_tty();
    signal(sig, SIG_DFL);
    raise(sig);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cmd_top(ctl *c, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        char *end = NULL;
        if (strcmp(argv[i], "--once") == 0)
            c->once = 1;
        else if (strcmp(argv[i], "--interval") == 0 && i + 1 < argc) {
            double s = strtod(argv[++i], &end);
            if (*end || s < 0.1 || s > 60) {
                fprintf(stderr, "troupectl top: --interval in 0.1..60 seconds\n");
                return EX_USAGE;
            }
            c->interval_ms = (int)(s * 1000);
        } else {
            fprintf(stderr, "troupectl top [--once] [--interval SECONDS]\n");
            return EX_USAGE;
        }
    }
    if (c->once)
        return frame(c, 0);
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
        struct termios t = saved;
        t.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
        t.c_cc[VMIN] = 0;
        t.c_cc[VTIME] = 0;
        raw_on = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
        atexit(restore_tty);
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
    }
    double last = 0;
    int rc = EX_OK;
    for (;;) { /* until q, end of input, or an error */
        double t = now_s();
        if ((rc = frame(c, last > 0 ? t - last : 0)) != EX_OK)
            break;
        last = t;
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        int got = poll(&p, 1, c->interval_ms);
        if (got > 0) {
            char ch = 0;
            ssize_t k = read(STDIN_FILENO, &ch, 1);
            if (k == 0 && !raw_on)
                break; /* stdin closed (not a terminal) */
            if (ch == 'q' || ch == 'Q')
                break;
        }
    }
    restore_tty();
    if (!c->once)
        printf("\n");
    return rc;
}
