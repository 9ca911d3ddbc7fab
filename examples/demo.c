/* examples/demo.c — troupe under load for a few seconds, then a summary.
 *
 *   demo [--seconds N] [--forever]
 *
 * What runs:
 *   - 3 producer actors stream samples to one aggregator actor as fast as
 *     the aggregator takes them (a chunk, then "continue" to self, so that
 *     a producer yields its worker between chunks); one plain thread sends
 *     too, in bursts. The aggregator's bounded mailbox pushes back (BLOCK).
 *   - a reporter actor gets a tick every second (troupe_send_interval), asks
 *     the aggregator for its totals without blocking (troupe_ask_async) and
 *     prints the progress when the reply arrives;
 *   - a "flaky" actor, supervised by the root supervisor, panics once, on
 *     purpose, 2 s in: the on_failure hook prints the failure record, the
 *     supervisor restarts it after its backoff (100 ms) under the same ref,
 *     and everything else keeps running.
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

#include <troupe/troupe.h>

#define NPRODUCERS 3
#define NSOURCES (NPRODUCERS + 1) /* the producers, then the plain thread */
#define CHUNK 500
#define THREAD_BURST 1000
#define SEC 1000000000ull

enum { MSG_SAMPLE = 1, MSG_GO, MSG_GET, MSG_TICK, MSG_WORK };

/* 16 bytes: travels inline in the mailbox slot. seq counts per source. */
typedef struct sample {
    uint32_t source;
    uint32_t pad;
    uint64_t seq;
} sample;

typedef struct totals {
    uint64_t count;
    uint64_t out_of_order; /* must stay 0: one sender's messages keep order */
    uint64_t per_source[NSOURCES];
} totals;

static atomic_int g_running = 1;            /* cleared when senders must stop */
static volatile sig_atomic_t g_interrupted; /* SIGINT / SIGTERM */
static uint64_t g_start_ns;
static uint64_t g_crash_ns; /* when flaky is told to fail, from the start */

static uint64_t now_ns(void) { return troupe_clock_now(NULL); }

/* ---- aggregator: counts samples, checks per-source order -------------- */

static int aggregator_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    totals *t = st;
    if (msg->type == MSG_GET)
        return troupe_reply(ctx, MSG_GET, t, sizeof *t);
    if (msg->type != MSG_SAMPLE || msg->size != sizeof(sample))
        return -1;
    const sample *s = msg->data;
    if (s->source >= NSOURCES)
        return -1;
    if (s->seq != t->per_source[s->source])
        t->out_of_order++;
    t->per_source[s->source] = s->seq + 1;
    t->count++;
    return 0;
}

static const troupe_behaviour aggregator_beh = {
    .name = "aggregator",
    .state_size = sizeof(totals),
    .handle = aggregator_handle,
};

/* ---- producers: a chunk, then "continue" to self ---------------------- */

typedef struct producer {
    troupe_ref to;
    uint32_t id;
    uint64_t sent;
} producer;

typedef struct producer_arg {
    troupe_ref to;
    uint32_t id;
} producer_arg;

static int producer_init(troupe_ctx *ctx, void *st, const void *arg)
{
    (void)ctx;
    const producer_arg *a = arg;
    producer *p = st;
    p->to = a->to;
    p->id = a->id;
    return 0;
}

static int producer_go(troupe_ctx *ctx, producer *p)
{
    troupe_system *sys = troupe_ctx_system(ctx);
    if (!atomic_load_explicit(&g_running, memory_order_relaxed))
        return 0; /* no more "continue": the producer falls idle */
    for (int i = 0; i < CHUNK; i++) {
        sample s = {.source = p->id, .seq = p->sent};
        int rc = troupe_tell(sys, p->to, MSG_SAMPLE, &s, sizeof s);
        if (rc < 0)
            return rc;
        p->sent++;
    }
    return troupe_tell(sys, troupe_self(ctx), MSG_GO, NULL, 0);
}

static int producer_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    producer *p = st;
    if (msg->type == MSG_GO)
        return producer_go(ctx, p);
    if (msg->type == MSG_GET)
        return troupe_reply(ctx, MSG_GET, &p->sent, sizeof p->sent);
    return -1;
}

static const troupe_behaviour producer_beh = {
    .name = "producer",
    .state_size = sizeof(producer),
    .init = producer_init,
    .handle = producer_handle,
};

/* ---- the plain thread: bursts, with a breath in between -------------- */

typedef struct thread_job {
    troupe_system *sys;
    troupe_ref to;
    uint64_t sent;
    uint64_t refused; /* sends that failed (a BLOCK timeout); retried */
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *j = arg;
    const struct timespec breath = {0, 1000000};
    while (atomic_load(&g_running)) {
        for (int i = 0; i < THREAD_BURST; i++) {
            sample s = {.source = NPRODUCERS, .seq = j->sent};
            if (troupe_tell(j->sys, j->to, MSG_SAMPLE, &s, sizeof s) == 0)
                j->sent++;
            else
                j->refused++;
        }
        nanosleep(&breath, NULL);
    }
    return NULL;
}

/* ---- reporter: a tick a second, an async ask, a progress line -------- */

typedef struct reporter {
    troupe_ref aggregator;
    uint64_t last_count, last_ns;
} reporter;

static void print_progress(reporter *r, const troupe_msg *msg)
{
    totals t;
    if (msg->size != sizeof t)
        return;
    memcpy(&t, msg->data, sizeof t);
    uint64_t now = now_ns();
    double dt = (double)(now - (r->last_ns ? r->last_ns : g_start_ns)) / 1e9;
    printf("[%5.1f s] aggregator: %12llu messages, %6.2f M msg/s\n",
           (double)(now - g_start_ns) / 1e9, (unsigned long long)t.count,
           (double)(t.count - r->last_count) / dt / 1e6);
    fflush(stdout);
    r->last_count = t.count;
    r->last_ns = now;
}

static int reporter_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    reporter *r = st;
    switch (msg->type) {
    case MSG_TICK:
        /* Never block a worker: the answer comes back as a message. */
        return troupe_ask_async(ctx, r->aggregator, MSG_GET, NULL, 0, SEC / 2, NULL);
    case MSG_GET:
        print_progress(r, msg);
        return 0;
    case TROUPE_MSG_ASK_TIMEOUT:
        printf("[tick] the aggregator did not answer within 0.5 s\n");
        return 0;
    default:
        return -1;
    }
}

static int reporter_init(troupe_ctx *ctx, void *st, const void *arg)
{
    (void)ctx;
    ((reporter *)st)->aggregator = *(const troupe_ref *)arg;
    return 0;
}

static const troupe_behaviour reporter_beh = {
    .name = "reporter",
    .state_size = sizeof(reporter),
    .init = reporter_init,
    .handle = reporter_handle,
};

/* ---- flaky: fails once, on purpose, and is restarted -------------------- */

static int flaky_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    (void)ctx;
    (void)st;
    if (msg->type == MSG_WORK && msg->size == 1 && *(const char *)msg->data == 'X')
        troupe_panic("simulated fault: the demo asked for it");
    return 0;
}

static void flaky_stop(troupe_ctx *ctx, void *st, troupe_failure_kind why)
{
    (void)ctx;
    (void)st;
    printf("[flaky] stop callback ran (why: %s)\n", troupe_failure_kind_name(why));
}

static const troupe_behaviour flaky_beh = {
    .name = "flaky",
    .state_size = 0,
    .handle = flaky_handle,
    .stop = flaky_stop,
};

static atomic_int g_failures;

/* Runs on the worker of the failed actor: print, count, return at once. */
static void on_failure(const troupe_failure *f, void *ud)
{
    (void)ud;
    printf("[failure] actor %#llx (%s) failed: kind=%s code=%d msg_type=%u reason=\"%s\"\n",
           (unsigned long long)f->actor.id, f->behaviour, troupe_failure_kind_name(f->kind),
           f->code, f->msg_type, f->reason);
    fflush(stdout);
    atomic_fetch_add(&g_failures, 1);
}


/* ---- main: options, setup, the run, the drain, the summary ------------ */

typedef struct demo {
    troupe_system *sys;
    troupe_ref aggregator, reporter, flaky;
    troupe_ref producers[NPRODUCERS];
    thread_job job;
    pthread_t thread;
    troupe_timer tick;
} demo;

static void usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [--seconds N] [--forever]\n", argv0);
    exit(2);
}

/* Returns the run length in seconds; 0 means until SIGINT. */
static double parse_args(int argc, char **argv)
{
    double seconds = 8.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--forever") == 0) {
            seconds = 0.0;
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            char *end;
            seconds = strtod(argv[++i], &end);
            if (*end != '\0' || !(seconds > 0.0) || seconds > 86400.0)
                usage(argv[0]);
        } else {
            usage(argv[0]);
        }
    }
    return seconds;
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

static void spawn_all(demo *d)
{
    troupe_spawn_opts opts;
    troupe_spawn_opts_defaults(&opts);
    opts.capacity = 4096; /* bounded: fast producers meet back-pressure */
    check(troupe_spawn(d->sys, &aggregator_beh, NULL, &opts, &d->aggregator), "spawn aggregator");
    for (uint32_t i = 0; i < NPRODUCERS; i++) {
        producer_arg a = {d->aggregator, i};
        check(troupe_spawn(d->sys, &producer_beh, &a, NULL, &d->producers[i]), "spawn producer");
    }
    check(troupe_spawn(d->sys, &reporter_beh, &d->aggregator, NULL, &d->reporter),
          "spawn reporter");
    troupe_sup root;
    check(troupe_sup_root(d->sys, &root), "root supervisor");
    troupe_child_spec spec;
    troupe_child_spec_defaults(&spec); /* permanent, backoff from 100 ms */
    spec.beh = &flaky_beh;
    check(troupe_sup_start_child(d->sys, root, &spec, &d->flaky), "start flaky");
}

static void start(demo *d, double seconds)
{
    g_start_ns = now_ns();
    check(troupe_send_interval(d->sys, d->reporter, MSG_TICK, NULL, 0, SEC, SEC, &d->tick),
          "send_interval");
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

static totals ask_totals(demo *d)
{
    totals t;
    size_t len = 0;
    check(troupe_ask(d->sys, d->aggregator, MSG_GET, NULL, 0, 10 * SEC, NULL, &t, sizeof t, &len),
          "ask aggregator");
    if (len != sizeof t)
        die("ask aggregator: short reply", TROUPE_ESTATE);
    return t;
}

/* Stop the senders, then wait until the aggregator has counted every
 * message they say they sent. Returns how many, or exits on a mismatch. */
static uint64_t drain(demo *d)
{
    atomic_store(&g_running, 0);
    pthread_join(d->thread, NULL);
    check(troupe_timer_cancel(d->sys, d->tick), "cancel tick");
    uint64_t sent[NSOURCES], total = 0;
    for (int i = 0; i < NPRODUCERS; i++) {
        /* Queued behind the producer's last "continue": the count is final. */
        check(troupe_ask(d->sys, d->producers[i], MSG_GET, NULL, 0, 10 * SEC, NULL, &sent[i],
                         sizeof sent[i], NULL),
              "ask producer");
        total += sent[i];
    }
    sent[NPRODUCERS] = d->job.sent;
    total += d->job.sent;
    totals t = ask_totals(d);
    for (uint64_t waited = 0; t.count < total && waited < 100; waited++) {
        nanosleep(&(struct timespec){0, 100000000}, NULL);
        t = ask_totals(d);
    }
    int bad = t.count != total || t.out_of_order != 0;
    for (int i = 0; i < NSOURCES; i++)
        bad |= t.per_source[i] != sent[i];
    if (bad) {
        fprintf(stderr, "demo: MISMATCH: aggregator counted %llu (%llu out of order), senders sent %llu\n",
                (unsigned long long)t.count, (unsigned long long)t.out_of_order,
                (unsigned long long)total);
        exit(1);
    }
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
        snprintf(name, sizeof name, "producer%d", i);
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

int main(int argc, char **argv)
{
    double seconds = parse_args(argc, argv);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.on_failure = on_failure;
    demo d = {0};
    check(troupe_system_create(&d.sys, &cfg), "troupe_system_create");
    spawn_all(&d);
    printf("troupe demo: %u workers, %d producer actors + 1 thread -> 1 aggregator; %s\n",
           troupe_system_workers(d.sys), NPRODUCERS,
           seconds > 0.0 ? "running a few seconds" : "running until Ctrl-C");
    if (seconds > 0.0)
        printf("(%.0f s; --forever or --seconds N to change)\n", seconds);

    start(&d, seconds);
    wait_run(seconds);
    uint64_t total = drain(&d);
    /* An early Ctrl-C may come before the fault was due. */
    int fault_due = now_ns() - g_start_ns > g_crash_ns + SEC / 2;
    print_summary(&d, total, (double)(now_ns() - g_start_ns) / 1e9);

    int rc = troupe_system_shutdown(d.sys, 5 * SEC);
    troupe_system_destroy(d.sys);
    if (rc < 0)
        die("shutdown", rc);
    if (atomic_load(&g_failures) > 1 || (fault_due && atomic_load(&g_failures) != 1)) {
        fprintf(stderr, "demo: expected exactly one failure (flaky), saw %d\n",
                atomic_load(&g_failures));
        return 1;
    }
    return 0;
}
