/* examples/demo.c — troupe under load for a few seconds, then a summary,
 * with the live dashboard served while it runs.
 *
 *   demo [--seconds N] [--forever] [--http-port N] [--token T] [--no-http]
 *
 * What runs (the actors are in demo_actors.c, this file builds the tree,
 * serves the dashboard, runs and checks), as a supervision tree (every
 * actor named, so the dashboard at
 * http://127.0.0.1:8090/ — or the port printed — shows it):
 *   root
 *   ├─ pipeline (one_for_one)
 *   │   ├─ aggregator   counts the samples, checks per-source order
 *   │   ├─ producer-0..2 stream samples to it as fast as it takes them (a
 *   │   │               chunk, then "continue" to self, so that a producer
 *   │   │               yields its worker between chunks); one plain thread
 *   │   │               sends too, in bursts. The aggregator's bounded
 *   │   │               mailbox pushes back (BLOCK).
 *   │   └─ reporter     a tick every second (troupe_send_interval): asks the
 *   │                   aggregator for its totals without blocking
 *   │                   (troupe_ask_async) through a circuit breaker, and
 *   │                   prints the progress when the reply arrives;
 *   └─ faults (one_for_one)
 *       └─ flaky        panics once, on purpose, 2 s in: the on_failure hook
 *                       prints the failure record, the supervisor restarts it
 *                       after its backoff (100 ms) under the same ref, and
 *                       everything else keeps running.
 * and outside the tree (troupe_spawn): "ledger", a persistent actor that
 * journals a tick every 100 ms (the system's in-memory journal: the
 * dashboard's journal panel), and an unnamed "idler". The flag
 * demo.started is set at the start (the event log shows it).
 * The HTTP server (include/troupe/http.h) serves the dashboard, /metrics and
 * the JSON API on 127.0.0.1 (--http-port, default 8090; 0 = any free port;
 * if 8090 is taken another is chosen). With --token T, restart and stop
 * work from the dashboard and through POST /api/actors/{name}/restart|stop.
 * The counts live outside the actors' state (see g_totals), so the check
 * at the end holds across restarts made from the dashboard.
 * At the end main stops the senders, asks every producer how much it sent,
 * waits until the aggregator has counted exactly that (else exit 1), and
 * prints messages/s, every actor's mailbox counters and the system's.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <troupe/http.h>
#include <troupe/troupe.h>

#include "demo.h"
#include "serve.h"

static volatile sig_atomic_t g_interrupted; /* SIGINT / SIGTERM */

/* ---- options ------------------------------------------------------------ */

static example_opts parse_args(int argc, char **argv)
{
    example_opts o = {.seconds = 8.0, .min_seconds = 0.001, .http = 1, .port = -1};
    example_parse(argc, argv, &o,
                  "[--seconds N] [--forever] [--http-port N] [--token T] [--no-http]", NULL, NULL);
    return o;
}

static void on_signal(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "demo: %s: %s (%s)\n", what, troupe_errname(rc), troupe_strerror(rc));
    exit(1);
}

static void check(int rc, const char *what)
{
    if (rc < 0)
        die(what, rc);
}

/* ---- the tree -------------------------------------------------------------- */

typedef struct demo {
    troupe_system *sys;
    troupe_ref aggregator, reporter, flaky, ledger, idler;
    troupe_journal *journal;
    troupe_timer ledger_tick;
    troupe_ref producers[NPRODUCERS];
    troupe_breaker *breaker;
    troupe_http *http;
    thread_job job;
    pthread_t thread;
    troupe_timer tick;
} demo;

static troupe_sup start_sup(demo *d, troupe_sup parent, const char *name)
{
    troupe_sup_spec spec;
    troupe_sup_spec_defaults(&spec); /* one_for_one, 10 restarts in 60 s */
    spec.name = name;
    troupe_sup out;
    check(troupe_sup_start_supervisor(d->sys, parent, &spec, &out), name);
    return out;
}

/* A named, permanent child (backoff from 100 ms); arg is copied. */
static troupe_ref start_child(demo *d, troupe_sup sup, const troupe_behaviour *beh,
                              const void *arg, size_t arg_size, const char *name)
{
    troupe_child_spec spec;
    troupe_child_spec_defaults(&spec);
    spec.beh = beh;
    spec.arg = arg;
    spec.arg_size = arg_size;
    spec.name = name;
    if (beh == &aggregator_beh)
        spec.opts.capacity = 4096; /* bounded: fast producers meet back-pressure */
    troupe_ref out;
    check(troupe_sup_start_child(d->sys, sup, &spec, &out), name);
    return out;
}

static void spawn_all(demo *d)
{
    troupe_sup root;
    check(troupe_sup_root(d->sys, &root), "root supervisor");
    troupe_sup pipeline = start_sup(d, root, "pipeline");
    d->aggregator = start_child(d, pipeline, &aggregator_beh, NULL, 0, "aggregator");
    for (uint32_t i = 0; i < NPRODUCERS; i++) {
        producer p = {d->aggregator, i};
        char name[16];
        snprintf(name, sizeof name, "producer-%u", i);
        d->producers[i] = start_child(d, pipeline, &producer_beh, &p, sizeof p, name);
    }
    check(troupe_breaker_create(d->sys, "reporter->aggregator", NULL, &d->breaker), "breaker");
    reporter_arg ra = {d->aggregator, d->breaker};
    d->reporter = start_child(d, pipeline, &reporter_beh, &ra, sizeof ra, "reporter");
    d->flaky = start_child(d, start_sup(d, root, "faults"), &flaky_beh, NULL, 0, "flaky");
    troupe_spawn_opts so;
    troupe_spawn_opts_defaults(&so);
    so.persistence_id = "demo-ledger";
    check(troupe_spawn(d->sys, &ledger_beh, NULL, &so, &d->ledger), "spawn ledger");
    check(troupe_register(d->sys, "ledger", d->ledger), "register ledger");
    check(troupe_spawn(d->sys, &idler_beh, NULL, NULL, &d->idler), "spawn idler");
}

static void serve(demo *d, const example_opts *o)
{
    check(example_serve(d->sys, o->port, o->token,
                        o->token ? "restart and stop enabled with the --token given"
                                 : "read-only; --token T enables restart and stop",
                        &d->http),
          "troupe_http_start");
    fflush(stdout);
}

static void start(demo *d, double seconds)
{
    g_start_ns = now_ns();
    check(troupe_send_interval(d->sys, d->reporter, MSG_TICK, NULL, 0, SEC, SEC, &d->tick),
          "send_interval");
    check(troupe_send_interval(d->sys, d->ledger, MSG_TICK, NULL, 0, SEC / 10, SEC / 10,
                               &d->ledger_tick),
          "send_interval ledger");
    troupe_flags_set(d->sys, "demo.started", "on"); /* ENOTSUP without migrate: no matter */
    /* The fault comes 2 s in (sooner in a short run), while under load. */
    g_crash_ns = seconds > 0.0 && seconds < 4.0 ? (uint64_t)(seconds * SEC / 2) : 2 * SEC;
    check(troupe_tell(d->sys, d->flaky, MSG_WORK, "ok", 2), "tell flaky");
    check(troupe_send_after(d->sys, d->flaky, MSG_WORK, "X", 1, g_crash_ns, NULL), "send_after");
    for (int i = 0; i < NPRODUCERS; i++)
        check(troupe_tell(d->sys, d->producers[i], MSG_GO, NULL, 0), "start producer");
    d->job = (thread_job){.sys = d->sys, .to = d->aggregator};
    if (pthread_create(&d->thread, NULL, thread_main, &d->job) != 0)
        die("pthread_create", TROUPE_ESYS);
}

static void wait_run(double seconds)
{
    const struct timespec step = {0, 50000000};
    uint64_t end = g_start_ns + (uint64_t)(seconds * SEC);
    while (!g_interrupted && (seconds == 0.0 || now_ns() < end))
        nanosleep(&step, NULL);
}

/* 0 and the aggregator's totals, or its error (it may have been stopped
 * from the dashboard). */
static int ask_totals(demo *d, totals *t)
{
    size_t len = 0;
    int rc = troupe_ask(d->sys, d->aggregator, MSG_GET, NULL, 0, 10 * SEC, NULL, t, sizeof *t, &len);
    if (rc == 0 && len != sizeof *t)
        die("ask aggregator: short reply", TROUPE_ESTATE);
    return rc;
}

/* How many producer i sent. The ask is queued behind its last "continue",
 * so the count is final; a producer stopped from the dashboard sends no
 * more, and its count is read directly. */
static uint64_t producer_sent(demo *d, int i)
{
    uint64_t n;
    if (troupe_ask(d->sys, d->producers[i], MSG_GET, NULL, 0, 10 * SEC, NULL, &n, sizeof n,
                   NULL) < 0)
        return g_sent[i];
    return n;
}

static void verify(const totals *t, const uint64_t sent[NSOURCES], uint64_t total)
{
    int bad = t->count != total || t->out_of_order != 0;
    for (int i = 0; i < NSOURCES; i++)
        bad |= t->per_source[i] != sent[i];
    if (bad) {
        fprintf(stderr, "demo: MISMATCH: aggregator counted %llu (%llu out of order), senders sent %llu\n",
                (unsigned long long)t->count, (unsigned long long)t->out_of_order,
                (unsigned long long)total);
        exit(1);
    }
}

/* Stop the senders, then wait until the aggregator has counted every
 * message they say they sent. Returns how many, or exits on a mismatch. */
static uint64_t drain(demo *d)
{
    atomic_store(&g_running, 0);
    pthread_join(d->thread, NULL);
    check(troupe_timer_cancel(d->sys, d->tick), "cancel tick");
    check(troupe_timer_cancel(d->sys, d->ledger_tick), "cancel ledger tick");
    uint64_t sent[NSOURCES], total = 0;
    for (int i = 0; i < NPRODUCERS; i++)
        total += sent[i] = producer_sent(d, i);
    sent[NPRODUCERS] = d->job.sent;
    total += d->job.sent;
    totals t;
    int rc = ask_totals(d, &t);
    for (uint64_t waited = 0; rc == 0 && t.count < total && waited < 100; waited++) {
        nanosleep(&(struct timespec){0, 100000000}, NULL);
        rc = ask_totals(d, &t);
    }
    if (rc < 0)
        printf("the aggregator is gone (%s): its count is not checked\n", troupe_errname(rc));
    else
        verify(&t, sent, total);
    return total;
}

static void print_actor(troupe_system *sys, const char *name, troupe_ref ref)
{
    troupe_mailbox_stats s;
    int rc = troupe_actor_stats(sys, ref, &s);
    if (rc < 0) {
        printf("  %-12s %s\n", name, troupe_errname(rc));
        return;
    }
    printf("  %-12s %10llu %10llu %8llu %8llu %8llu %8llu %6u/%u\n", name,
           (unsigned long long)s.accepted, (unsigned long long)s.handled,
           (unsigned long long)s.dropped, (unsigned long long)s.rejected,
           (unsigned long long)s.parked, (unsigned long long)s.failed, s.depth, s.capacity);
}

static void print_summary(demo *d, uint64_t total, double secs)
{
    printf("\n== summary ==\n");
    printf("delivered %llu messages in %.2f s: %.2f M msg/s (%u workers); plain thread: %llu "
           "sent, %llu refused\n",
           (unsigned long long)total, secs, (double)total / secs / 1e6,
           troupe_system_workers(d->sys), (unsigned long long)d->job.sent,
           (unsigned long long)d->job.refused);
    troupe_child_info ci = {0};
    troupe_child_info_get(d->sys, d->flaky, &ci);
    printf("flaky actor alive after its panic: %s (same ref, restarted %llu time(s) by its "
           "supervisor, last exit: %s \"%s\"); a tell to it now returns %s\n",
           troupe_alive(d->sys, d->flaky) ? "yes" : "no", (unsigned long long)ci.restarts,
           troupe_failure_kind_name(ci.last_kind), ci.last_reason,
           troupe_errname(troupe_tell(d->sys, d->flaky, MSG_WORK, "ok", 2)));
    printf("\n  %-12s %10s %10s %8s %8s %8s %8s %s\n", "actor", "accepted", "handled", "dropped",
           "rejected", "parked", "failed", "depth/cap");
    print_actor(d->sys, "aggregator", d->aggregator);
    for (int i = 0; i < NPRODUCERS; i++) {
        char name[16];
        snprintf(name, sizeof name, "producer-%d", i);
        print_actor(d->sys, name, d->producers[i]);
    }
    print_actor(d->sys, "reporter", d->reporter);
    print_actor(d->sys, "flaky", d->flaky);

    troupe_system_stats s;
    check(troupe_system_stats_get(d->sys, &s), "system stats");
    printf("\nsystem: %llu live, %llu spawned, %llu failed, %llu messages destroyed, "
           "%llu late replies, %llu dead letters, %llu steals, %llu parks\n",
           (unsigned long long)s.actors_live, (unsigned long long)s.actors_spawned,
           (unsigned long long)s.actors_failed, (unsigned long long)s.messages_destroyed,
           (unsigned long long)s.late_replies, (unsigned long long)s.dead_letters,
           (unsigned long long)s.steals, (unsigned long long)s.parks);
}

/* Exactly one panic (flaky's) is expected once it was due — unless flaky
 * was stopped from the dashboard before. */
static int check_failures(int fault_due, int flaky_alive)
{
    int n = atomic_load(&g_failures);
    if (n > 1 || (fault_due && flaky_alive && n != 1)) {
        fprintf(stderr, "demo: expected exactly one failure (flaky), saw %d\n", n);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    example_opts o = parse_args(argc, argv);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.on_failure = on_failure;
    demo d = {0};
    check(troupe_journal_open_memory(&d.journal), "troupe_journal_open_memory");
    cfg.journal = d.journal; /* the ledger's */
    check(troupe_system_create(&d.sys, &cfg), "troupe_system_create");
    spawn_all(&d);
    printf("troupe demo: %u workers, %d producer actors + 1 thread -> 1 aggregator; %s\n",
           troupe_system_workers(d.sys), NPRODUCERS,
           o.seconds > 0.0 ? "running a few seconds" : "running until Ctrl-C");
    if (o.seconds > 0.0)
        printf("(%.0f s; --forever or --seconds N to change)\n", o.seconds);
    if (o.http)
        serve(&d, &o);

    start(&d, o.seconds);
    wait_run(o.seconds);
    uint64_t total = drain(&d);
    /* An early Ctrl-C may come before the fault was due. */
    int fault_due = now_ns() - g_start_ns > g_crash_ns + SEC / 2;
    print_summary(&d, total, (double)(now_ns() - g_start_ns) / 1e9);
    int flaky_alive = troupe_alive(d.sys, d.flaky);

    troupe_http_stop(d.http); /* before the system it reads goes */
    int rc = troupe_system_shutdown(d.sys, 5 * SEC);
    troupe_system_destroy(d.sys);
    troupe_journal_close(d.journal); /* after the system that used it */
    if (rc < 0)
        die("shutdown", rc);
    return check_failures(fault_due, flaky_alive);
}
