/* examples/chain/main.c — the migration showcase (`make demo`): a toy chain
 * and execution engine moved from rwlock-guarded structs to supervised,
 * persistent actors, one flag flip at a time, under load, with faults.
 *
 *   chain [--seconds N] [--forever] [--data DIR] [--summary FILE] [--http-port N] [--token T]
 *         [--no-http]
 *
 * The run: the actors recover the chain and the balances from SQLite
 * (--data, else $TROUPE_DEMO_DATA, else ./demo-data) and the legacy objects
 * start from the same state; plain threads call both through their adapters
 * (load.c) while the flags adapter.chain and adapter.engine move
 *   legacy -> shadow -> canary 50% -> actor
 * (at 20 %, 45 % and 60 % of the run; --forever: after 3, 7 and 10 s) and
 * panics are injected into the actors at random (their supervisor restarts
 * them; the journal brings their state back). The dashboard is served all
 * along. At the end the flags go to shadow, which stores the actors' copies
 * into the legacy objects. Then compare.c runs the same load on each path
 * alone (legacy and actor both in memory, then the durable actor), and
 * report.c checks everything and prints the summary, one screen; the
 * SUMMARY lines go to --summary FILE ("-": stdout). Exit 0 when every check
 * held, 1 otherwise.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../serve.h"
#include "show.h"

static volatile sig_atomic_t g_interrupted;

typedef struct opts {
    example_opts ex; /* --seconds, --forever, --http-port, --token, --no-http */
    const char *data;
    const char *summary; /* NULL: no SUMMARY lines */
} opts;

uint64_t now_ns(void) { return troupe_clock_now(NULL); }

static double since(const show *s) { return (double)(now_ns() - s->t0) / 1e9; }

static void die(const char *what, int rc)
{
    fprintf(stderr, "chain demo: %s: %s (%s)\n", what, troupe_errname(rc), troupe_strerror(rc));
    exit(1);
}

static void check(int rc, const char *what)
{
    if (rc < 0)
        die(what, rc);
}

static int data_opt(const char *a, const char *next, void *ud)
{
    if (!next)
        return 0;
    if (strcmp(a, "--data") == 0)
        ((opts *)ud)->data = next;
    else if (strcmp(a, "--summary") == 0)
        ((opts *)ud)->summary = next;
    else
        return 0;
    return 2;
}

static opts parse(int argc, char **argv)
{
    const char *env = getenv("TROUPE_DEMO_DATA");
    opts o = {.ex = {.seconds = 10.0, .min_seconds = 0.5, .http = 1, .port = -1},
              .data = env && *env ? env : "demo-data"};
    example_parse(argc, argv, &o.ex,
                  "[--seconds N] [--forever] [--data DIR] [--summary FILE] [--http-port N] "
                  "[--token T] [--no-http]",
                  data_opt, &o);
    return o;
}

static void on_signal(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

/* On the worker that ran the failing handler: count, and say so (a
 * handful of lines over a run). */
static void on_failure(const troupe_failure *f, void *ud)
{
    show *s = ud;
    atomic_fetch_add(&s->failures, 1);
    printf("[%5.1f s] %s actor failed (%s: %s): its supervisor restarts it, the journal "
           "restores its state\n",
           since(s), f->behaviour, troupe_failure_kind_name(f->kind), f->reason);
    fflush(stdout);
}

/* ---- setup ------------------------------------------------------------------------------ */

/* Restart at once (20 ms), with no limit: the faults are on purpose. */
static troupe_ref start_actor(show *s, troupe_sup sup, const troupe_behaviour *beh)
{
    troupe_child_spec spec;
    troupe_child_spec_defaults(&spec);
    spec.beh = beh;
    spec.name = beh->name; /* also the persistence id */
    spec.policy.kind = TROUPE_RESTART_FIXED_DELAY;
    spec.policy.delay_ns = 20000000;
    spec.policy.max_restarts = 0;
    troupe_ref r;
    check(troupe_sup_start_child(s->sys, sup, &spec, &r), beh->name);
    return r;
}

/* The actor's recovered state, as a reply to MSG_DUMP. */
static void dump(show *s, troupe_ref actor, void *out, size_t size)
{
    size_t n = 0;
    check(troupe_ask(s->sys, actor, MSG_DUMP, NULL, 0, 30 * SEC, NULL, out, size, &n), "dump");
    if (n != size)
        die("dump: a reply of the wrong size", TROUPE_EINVAL);
}

/* The adapter API has no way to say "the actor is the truth" (its copy
 * was recovered from the journal): the objects are filled from the actors
 * before the adapters exist, so both start equal. */
static void seed_legacy(show *s)
{
    check(legacy_chain_init(&s->lchain), "legacy chain");
    check(legacy_engine_init(&s->lengine), "legacy engine");
    dump(s, s->chain_ref, &s->lchain.c, sizeof(chain));
    dump(s, s->engine_ref, &s->lengine.e, sizeof(engine));
    s->base = (head_result){s->lchain.c.height, chain_tip(&s->lchain.c)->hash, s->lchain.c.digest};
    s->base_payloads = s->lengine.e.payloads;
    atomic_store(&s->top, s->base.height);
    audit_init(&s->audit, s->base.height);
}

static void on_mismatch(const troupe_adapter_mismatch *m, void *ud)
{
    (void)ud;
    printf("MISMATCH %s\n", m->text);
}

static troupe_adapter make_adapter(show *s, const troupe_adapter_def *def, void *obj,
                                   pthread_rwlock_t *lock, troupe_ref actor)
{
    troupe_adapter_config c;
    troupe_adapter_config_defaults(&c);
    c.obj = obj, c.lock = lock, c.actor = actor;
    c.sample_every = 8;
    c.on_mismatch = on_mismatch;
    troupe_adapter ad;
    check(troupe_adapter_create(s->sys, def, &c, &ad), def->name);
    return ad;
}

static void setup(show *s, const opts *o)
{
    check(troupe_journal_open_sqlite(o->data, TROUPE_SQLITE_NORMAL, &s->journal), o->data);
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.journal = s->journal;
    cfg.on_failure = on_failure;
    cfg.on_failure_ud = s;
    check(troupe_system_create(&s->sys, &cfg), "troupe_system_create");
    troupe_sup root, node;
    check(troupe_sup_root(s->sys, &root), "root supervisor");
    troupe_sup_spec spec;
    troupe_sup_spec_defaults(&spec);
    spec.name = "node";
    spec.intensity = 1000; /* faults come every second or so, on purpose */
    spec.period_ns = 10 * (int64_t)SEC;
    check(troupe_sup_start_supervisor(s->sys, root, &spec, &node), "node supervisor");
    s->chain_ref = start_actor(s, node, &chain_actor_beh);
    s->engine_ref = start_actor(s, node, &engine_actor_beh);
    seed_legacy(s);
    s->chain_ad = make_adapter(s, &chain_adapter_def, &s->lchain.c, &s->lchain.lock, s->chain_ref);
    s->engine_ad =
        make_adapter(s, &engine_adapter_def, &s->lengine.e, &s->lengine.lock, s->engine_ref);
    if (s->base.height)
        printf("chain: resumed at height %llu (tip %016llx) from %s/journal.db, %llu payloads "
               "executed before\n",
               (unsigned long long)s->base.height, (unsigned long long)s->base.tip, o->data,
               (unsigned long long)s->base_payloads);
    else
        printf("chain: a new chain at genesis (height 0) in %s/journal.db\n", o->data);
    if (o->ex.http)
        check(example_serve(s->sys, o->ex.port, o->ex.token,
                            "the Migration panel shows both adapters", &s->http),
              "troupe_http_start");
}

/* ---- the schedule: flags, faults, progress ------------------------------------------------ */

static const char *const phase_value[NPHASES] = {"legacy", "shadow", "canary 50%", "actor"};
static const char *const phase_what[NPHASES] = {
    "the rwlock code only",
    "both copies; callers get the legacy result, the actor's is compared",
    "half of the reads (by key) answered by the actors, writes on both copies",
    "the actors only; the legacy objects are left alone",
};

static double phase_start(const opts *o, int p)
{
    static const double share[NPHASES] = {0.0, 0.20, 0.45, 0.60};
    static const double forever[NPHASES] = {0.0, 3.0, 7.0, 10.0};
    return o->ex.seconds > 0.0 ? share[p] * o->ex.seconds : forever[p];
}

/* Both adapters' flags, through the flags API. An operator's environment
 * pin (TROUPE_FLAG_ADAPTER_CHAIN...) wins: then the flag stays as pinned. */
static void set_flags(show *s, const char *value)
{
    static const char *const names[] = {"adapter.chain", "adapter.engine"};
    for (int i = 0; i < 2; i++) {
        int rc = troupe_flags_set(s->sys, names[i], value);
        if (rc == TROUPE_ESTATE)
            printf("          %s is pinned by the environment: left as it is\n", names[i]);
        else
            check(rc, names[i]);
    }
}

static void end_phase(show *s, int p, double t, uint64_t *calls_at, double *t_at)
{
    uint64_t calls = load_calls(s);
    s->phase_calls[p] += calls - *calls_at;
    s->phase_secs[p] += t - *t_at;
    *calls_at = calls, *t_at = t;
}

static void enter_phase(show *s, int p, double t)
{
    printf("[%5.1f s] flags adapter.chain, adapter.engine -> %s: %s\n", t, phase_value[p],
           phase_what[p]);
    set_flags(s, phase_value[p]);
    s->phases_seen |= 1 << p;
}

static void inject_fault(show *s, uint64_t *rng)
{
    *rng ^= *rng << 13, *rng ^= *rng >> 7, *rng ^= *rng << 17;
    char why[48];
    uint64_t n = atomic_fetch_add(&s->faults, 1) + 1;
    snprintf(why, sizeof why, "injected fault #%llu", (unsigned long long)n);
    troupe_ref to = *rng & 1 ? s->chain_ref : s->engine_ref;
    check(troupe_tell(s->sys, to, MSG_FAULT, why, strlen(why) + 1), "inject a fault");
}

/* Print when an adapter's copies changed: its switch ran (a sync with the
 * actor under the object's write lock). */
static void watch(show *s, troupe_adapter ad, char *last, size_t cap)
{
    troupe_adapter_info i;
    check(troupe_adapter_info_get(s->sys, ad, &i), "adapter info");
    if (strcmp(i.copies, last) == 0)
        return;
    printf("[%5.1f s] %s adapter switched its copies: %s -> %s (switch #%llu)\n", since(s), i.name,
           last, i.copies, (unsigned long long)i.switches);
    snprintf(last, cap, "%s", i.copies);
}

static void progress(show *s, uint64_t *calls_at, uint64_t *height_at)
{
    uint64_t calls = load_calls(s), top = atomic_load(&s->top), mism = 0, restarts = 0;
    troupe_adapter_info i;
    troupe_adapter ads[] = {s->chain_ad, s->engine_ad};
    for (int k = 0; k < 2; k++) {
        check(troupe_adapter_info_get(s->sys, ads[k], &i), "adapter info");
        mism += i.mismatches;
    }
    troupe_ref refs[] = {s->chain_ref, s->engine_ref};
    troupe_child_info ci;
    for (int k = 0; k < 2; k++)
        if (troupe_child_info_get(s->sys, refs[k], &ci) == 0) /* absent while restarting */
            restarts += ci.restarts;
    printf("[%5.1f s] height %llu (+%llu) | %.1f k calls/s | restarts %llu | mismatches %llu\n",
           since(s), (unsigned long long)top, (unsigned long long)(top - *height_at),
           (double)(calls - *calls_at) / 1e3, (unsigned long long)restarts,
           (unsigned long long)mism);
    fflush(stdout);
    *calls_at = calls, *height_at = top;
}

/* Runs the schedule; returns how long the callers ran, in seconds. */
static double run(show *s, const opts *o)
{
    uint64_t rng = now_ns() | 1, calls_at = 0, pcalls_at = 0, height_at = s->base.height;
    char chain_copies[16] = "legacy", engine_copies[16] = "legacy";
    double t = 0.0, pt_at = 0.0, next_tick = 1.0;
    double next_fault = o->ex.seconds > 0.0 ? 0.1 * o->ex.seconds : 1.0;
    int phase = -1;
    s->t0 = now_ns();
    check(load_start(s), "start the callers");
    while (!g_interrupted && (o->ex.seconds == 0.0 || (t = since(s)) < o->ex.seconds)) {
        t = since(s);
        for (; phase + 1 < NPHASES && t >= phase_start(o, phase + 1); phase++) {
            if (phase >= 0)
                end_phase(s, phase, t, &pcalls_at, &pt_at);
            enter_phase(s, phase + 1, t);
        }
        if (t >= next_fault) {
            inject_fault(s, &rng);
            next_fault = t + 0.3 + (double)(rng % 700) / 1000.0; /* every 0.3 .. 1 s */
        }
        watch(s, s->chain_ad, chain_copies, sizeof chain_copies);
        watch(s, s->engine_ad, engine_copies, sizeof engine_copies);
        if (t >= next_tick) {
            progress(s, &calls_at, &height_at);
            next_tick += 1.0;
        }
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    load_stop(s);
    double secs = since(s);
    if (phase >= 0) /* none yet if stopped at once */
        end_phase(s, phase, secs, &pcalls_at, &pt_at);
    /* The last check: back to shadow, so that the actors store their copies
     * into the objects (actor -> both) or load them (legacy -> both), then
     * one call of each adapter to make the switch happen, compared. */
    printf("[%5.1f s] load stopped; flags -> shadow: the actors' copies are synced with the "
           "legacy objects and compared\n",
           since(s));
    set_flags(s, "shadow");
    verify_result v;
    totals_result tr;
    check(troupe_adapter_call(s->sys, s->chain_ad, CHAIN_VERIFY, 0, NULL, 0, &v, sizeof v, NULL),
          "verify the chain");
    check(troupe_adapter_call(s->sys, s->engine_ad, ENGINE_TOTALS, 0, NULL, 0, &tr, sizeof tr,
                              NULL),
          "engine totals");
    watch(s, s->chain_ad, chain_copies, sizeof chain_copies);
    watch(s, s->engine_ad, engine_copies, sizeof engine_copies);
    return secs;
}

static void teardown(show *s)
{
    troupe_http_stop(s->http); /* before the system it reads */
    check(troupe_adapter_destroy(s->sys, s->chain_ad), "destroy the chain adapter");
    check(troupe_adapter_destroy(s->sys, s->engine_ad), "destroy the engine adapter");
    int rc = troupe_system_shutdown(s->sys, 10 * SEC);
    troupe_system_destroy(s->sys);
    troupe_journal_close(s->journal); /* after the system: every event queued is written */
    legacy_chain_destroy(&s->lchain);
    legacy_engine_destroy(&s->lengine);
    audit_free(&s->audit);
    check(rc, "shutdown");
}

/* A tenth of the run per path, 0.3 to 1 s (1 s for --forever). */
static double compare_window(const opts *o)
{
    double w = o->ex.seconds > 0.0 ? o->ex.seconds / 10.0 : 1.0;
    return w < 0.3 ? 0.3 : w > 1.0 ? 1.0 : w;
}

static FILE *open_summary(const char *path)
{
    if (!path)
        return NULL;
    if (strcmp(path, "-") == 0)
        return stdout;
    FILE *f = fopen(path, "w");
    if (!f)
        die(path, TROUPE_EIO);
    return f;
}

int main(int argc, char **argv)
{
    opts o = parse(argc, argv);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    static show s; /* large (the audit's table): not on the stack */
    troupe_journal *scratch = compare_open_journal(o.data);
    setup(&s, &o);
    printf("chain demo: %d producers + %d importers (plain threads) -> ChainAdapter, "
           "EngineAdapter; %u workers; %s\n",
           NPRODUCERS, NIMPORTERS, troupe_system_workers(s.sys),
           o.ex.seconds > 0.0 ? "a timed run (--forever to keep going)" : "until Ctrl-C");
    fflush(stdout);
    double secs = run(&s, &o);
    static compare_result cmp;
    double window = compare_window(&o);
    printf("[%5.1f s] the same load on each path alone, %.1f s each, on fresh copies:\n", since(&s),
           window);
    compare_run(scratch, window, &cmp);
    compare_close_journal(o.data, scratch);
    FILE *sum = open_summary(o.summary);
    int bad = report(&s, secs, o.data, &cmp, sum);
    if (sum && sum != stdout && fclose(sum) != 0)
        bad = 1, perror(o.summary);
    teardown(&s);
    return bad ? 1 : 0;
}
