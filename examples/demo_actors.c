/* examples/demo_actors.c — the demo's actors: the aggregator, the
 * producers and the plain thread that feed it, the reporter and its
 * breaker, and flaky, which fails once on purpose (see demo.c for the tree
 * they run in). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "demo.h"

atomic_int g_running = 1; /* cleared when senders must stop */
uint64_t g_start_ns;
uint64_t g_crash_ns;

/* The counts live here, not in the actors' state, so that a restart (a
 * supervisor's, or one asked for on the dashboard) loses none of them:
 * the aggregator's totals and each producer's next sequence number. Each
 * is written by one actor at a time (an actor runs on one worker at a
 * time; its restart is ordered after its last message by the runtime). */
totals g_totals;
uint64_t g_sent[NPRODUCERS];

uint64_t now_ns(void) { return troupe_clock_now(NULL); }

/* ---- aggregator: counts samples, checks per-source order -------------- */

static int aggregator_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    (void)st;
    totals *t = &g_totals;
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

const troupe_behaviour aggregator_beh = {
    .name = "aggregator",
    .handle = aggregator_handle,
};

/* ---- producers: a chunk, then "continue" to self ---------------------- */


static int producer_init(troupe_ctx *ctx, void *st, const void *arg)
{
    (void)ctx;
    memcpy(st, arg, sizeof(producer));
    return 0;
}

static int producer_go(troupe_ctx *ctx, producer *p)
{
    troupe_system *sys = troupe_ctx_system(ctx);
    if (!atomic_load_explicit(&g_running, memory_order_relaxed))
        return 0; /* no more "continue": the producer falls idle */
    for (int i = 0; i < CHUNK; i++) {
        sample s = {.source = p->id, .seq = g_sent[p->id]};
        int rc = troupe_tell(sys, p->to, MSG_SAMPLE, &s, sizeof s);
        if (rc < 0)
            return rc;
        g_sent[p->id]++;
    }
    return troupe_tell(sys, troupe_self(ctx), MSG_GO, NULL, 0);
}

static int producer_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    producer *p = st;
    if (msg->type == MSG_GO)
        return producer_go(ctx, p);
    if (msg->type == MSG_GET)
        return troupe_reply(ctx, MSG_GET, &g_sent[p->id], sizeof g_sent[p->id]);
    return -1;
}

const troupe_behaviour producer_beh = {
    .name = "producer",
    .state_size = sizeof(producer),
    .init = producer_init,
    .handle = producer_handle,
};

/* ---- the plain thread: bursts, with a breath in between -------------- */


void *thread_main(void *arg)
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
    reporter_arg a;
    troupe_breaker_permit permit; /* of the ask in flight */
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

/* Never block a worker: the answer comes back as a message. The breaker
 * stops the asks while the aggregator keeps failing to answer (it may have
 * been stopped from the dashboard); its state shows there. */
static int reporter_tick(troupe_ctx *ctx, reporter *r)
{
    if (troupe_breaker_acquire(r->a.breaker, r->a.aggregator.id, &r->permit) < 0) {
        printf("[tick] breaker open: not asking the aggregator\n");
        return 0;
    }
    int rc = troupe_ask_async(ctx, r->a.aggregator, MSG_GET, NULL, 0, SEC / 2, NULL);
    if (rc < 0) {
        printf("[tick] cannot ask the aggregator: %s\n", troupe_errname(rc));
        troupe_breaker_record(r->a.breaker, &r->permit, 0);
    }
    return 0;
}

static int reporter_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    reporter *r = st;
    switch (msg->type) {
    case MSG_TICK:
        return reporter_tick(ctx, r);
    case MSG_GET:
        troupe_breaker_record(r->a.breaker, &r->permit, 1);
        print_progress(r, msg);
        return 0;
    case TROUPE_MSG_ASK_TIMEOUT:
        troupe_breaker_record(r->a.breaker, &r->permit, 0);
        printf("[tick] the aggregator did not answer within 0.5 s\n");
        return 0;
    case TROUPE_MSG_ASK_FAILED: /* it failed or stopped holding our ask */
        troupe_breaker_record(r->a.breaker, &r->permit, 0);
        printf("[tick] the aggregator failed before answering\n");
        return 0;
    default:
        return -1;
    }
}

static int reporter_init(troupe_ctx *ctx, void *st, const void *arg)
{
    (void)ctx;
    memcpy(&((reporter *)st)->a, arg, sizeof(reporter_arg));
    return 0;
}

const troupe_behaviour reporter_beh = {
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

const troupe_behaviour flaky_beh = {
    .name = "flaky",
    .state_size = 0,
    .handle = flaky_handle,
    .stop = flaky_stop,
};

atomic_int g_failures;

/* Runs on the worker of the failed actor: print, count, return at once. */
void on_failure(const troupe_failure *f, void *ud)
{
    /* Only panics are the demo's own fault; a restart or stop asked for on
     * the dashboard, or a producer whose aggregator was stopped there,
     * fails with other kinds. */
    (void)ud;
    printf("[failure] actor %#llx (%s) failed: kind=%s code=%d msg_type=%u reason=\"%s\"\n",
           (unsigned long long)f->actor.id, f->behaviour, troupe_failure_kind_name(f->kind),
           f->code, f->msg_type, f->reason);
    fflush(stdout);
    if (f->kind == TROUPE_EXIT_PANIC)
        atomic_fetch_add(&g_failures, 1);
}

/* ---- ledger: a plain (unsupervised) persistent actor -------------------- */

/* Counts the ticks it is sent (every 100 ms) as events in the system's
 * in-memory journal: the dashboard's journal panel has commits to show,
 * and the actor list one actor outside the supervision tree. */
static int ledger_apply(troupe_ctx *ctx, void *st, const void *ev, size_t len)
{
    (void)ctx;
    (void)ev;
    (void)len;
    (*(uint64_t *)st)++;
    return 0;
}

static const troupe_persistence ledger_persist = {.apply = ledger_apply, .schema = 1};

static int ledger_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    (void)st;
    if (msg->type != MSG_TICK)
        return 0;
    uint64_t one = 1;
    return troupe_persist(ctx, &one, sizeof one);
}

const troupe_behaviour ledger_beh = {
    .name = "ledger",
    .state_size = sizeof(uint64_t),
    .handle = ledger_handle,
    .persist = &ledger_persist,
};

/* ---- idler: a plain actor with no name, that nobody sends to ---------- */

static int idler_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    (void)ctx;
    (void)st;
    (void)msg;
    return 0;
}

const troupe_behaviour idler_beh = {.name = "idler", .handle = idler_handle};
