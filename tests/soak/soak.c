/* tests/soak/soak.c — the long run (`make soak`, not CI): a mixed
 * supervision tree under churn for SOAK_SECONDS (default 600), under ASan.
 *
 *   tree      root (one_for_one) -> "workers" (one_for_one, W counters) and
 *             "chain" (rest_for_one, C counters), plus L persistent ledgers on
 *             an SQLite journal, each a child of the root
 *   load      T plain threads: tells to counters (1 in 500 a panic), asks
 *             to ledgers (each acknowledged add is recorded)
 *   chaos     a thread: every 20 ms a random panic, stop (terminate and start
 *             again under a new name) or ledger panic; a flag flipped
 *   scrapes   a thread: GET /metrics every 500 ms (tests/http/client.h)
 *   samples   RSS every SOAK_SAMPLE_SECONDS (default 60)
 *
 * Checks at the end (exit 1 if one fails): every tell accepted is handled
 * or counted dropped (messages destroyed at a stop, dead letters); every
 * acknowledged add is in the journal when it is reopened; RSS after the
 * warm-up (the first third) grows by at most max(25%, 32 MiB); file
 * descriptors and threads are back to their start; every scrape answered
 * 200. Leaks are LeakSanitizer's, at exit. A summary with the figures is
 * printed either way.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../http/client.h"
#include "troupe/troupe.h"

enum { W = 8, C = 4, L = 8, T = 2 };
enum { M_WORK = 1, M_PANIC, L_ADD, L_GET, L_STATE };

static atomic_uint_fast64_t tells_ok, handled, panics, stops, asks_ok, asks_failed;
static atomic_uint_fast64_t scrapes, scrapes_bad, flips;
static atomic_uint_fast64_t acked_n[L], acked_sum[L];
static atomic_bool quit;
static troupe_system *sys;
static pthread_mutex_t refs_mu = PTHREAD_MUTEX_INITIALIZER;
static troupe_ref counters[W + C], ledgers[L];
static troupe_sup sup_workers, sup_chain;

static int counter_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    (void)ctx;
    (void)state;
    atomic_fetch_add_explicit(&handled, 1, memory_order_relaxed); /* relaxed: a tally read at the end */
    if (m->type == M_PANIC)
        troupe_panic("soak: a random panic");
    return 0;
}
static const troupe_behaviour counter_beh = {.name = "soak.counter", .handle = counter_handle};

typedef struct lstate {
    uint64_t n, sum;
} lstate;

static int l_apply(troupe_ctx *ctx, void *state, const void *ev, size_t len)
{
    lstate *s = state;
    uint64_t v;
    if (len != sizeof v)
        return TROUPE_EINVAL;
    memcpy(&v, ev, sizeof v);
    s->n++;
    s->sum += v;
    (void)troupe_reply(ctx, L_STATE, s, sizeof *s);
    return 0;
}
static int l_snapshot(troupe_ctx *ctx, void *state, void **data, size_t *len)
{
    (void)ctx;
    if (!(*data = malloc(sizeof(lstate))))
        return TROUPE_ENOMEM;
    memcpy(*data, state, sizeof(lstate));
    *len = sizeof(lstate);
    return 0;
}
static int l_restore(troupe_ctx *ctx, void *state, const void *data, size_t len)
{
    (void)ctx;
    if (len != sizeof(lstate))
        return TROUPE_EINVAL;
    memcpy(state, data, len);
    return 0;
}
static int l_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    uint64_t v = 0;
    if (m->size == sizeof v)
        memcpy(&v, m->data, sizeof v);
    if (m->type == L_ADD)
        return troupe_persist(ctx, &v, sizeof v);
    if (m->type == L_GET)
        return troupe_reply(ctx, L_STATE, state, sizeof(lstate));
    if (m->type == M_PANIC) {
        atomic_fetch_add_explicit(&handled, 1, memory_order_relaxed); /* relaxed: tally */
        troupe_panic("soak: a ledger panics");
    }
    return 0;
}
static const troupe_persistence l_persist = {.apply = l_apply, .snapshot = l_snapshot,
                                             .restore = l_restore, .schema = 1,
                                             .snapshot_every = 200, .retention = 50};
static const troupe_behaviour ledger_beh = {.name = "soak.ledger", .state_size = sizeof(lstate),
                                            .handle = l_handle, .persist = &l_persist};

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *s = getenv(name);
    return s && *s ? strtoull(s, NULL, 10) : dflt;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            v = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static int threads_now(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int v = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "Threads:", 8) == 0)
            v = atoi(line + 8);
    if (f)
        fclose(f);
    return v;
}

static int fds_now(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n - 1; /* the directory's own */
}

static troupe_ref start_child(troupe_sup parent, const troupe_behaviour *beh, const char *name)
{
    troupe_child_spec s;
    troupe_child_spec_defaults(&s);
    s.beh = beh;
    s.name = name;
    s.policy.kind = TROUPE_RESTART_ALWAYS;
    troupe_ref r = TROUPE_REF_NONE;
    int rc = troupe_sup_start_child(sys, parent, &s, &r);
    if (rc)
        fprintf(stderr, "soak: start %s: %s\n", name, troupe_errname(rc));
    return r;
}

static troupe_sup start_sup(troupe_sup parent, troupe_sup_strategy st, const char *name)
{
    troupe_sup_spec s;
    troupe_sup_spec_defaults(&s);
    s.strategy = st;
    s.name = name;
    s.intensity = 1000000; /* churn is the point: never give up */
    troupe_sup out = {0};
    int rc = troupe_sup_start_supervisor(sys, parent, &s, &out);
    if (rc)
        fprintf(stderr, "soak: supervisor %s: %s\n", name, troupe_errname(rc));
    return out;
}

static troupe_ref ref_of(troupe_ref *a, unsigned i)
{
    pthread_mutex_lock(&refs_mu);
    troupe_ref r = a[i];
    pthread_mutex_unlock(&refs_mu);
    return r;
}

static void *load_main(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    while (!atomic_load(&quit)) {
        unsigned k = (unsigned)rand_r(&seed);
        if (k % 8) { /* tells */
            uint32_t type = k % 500 == 1 ? M_PANIC : M_WORK;
            if (troupe_tell(sys, ref_of(counters, k % (W + C)), type, NULL, 0) == 0)
                atomic_fetch_add_explicit(&tells_ok, 1, memory_order_relaxed); /* relaxed: tally */
            continue;
        }
        unsigned l = k % L;
        uint64_t v = (k >> 8) % 1000 + 1;
        lstate st;
        uint32_t rt = 0;
        size_t n = 0;
        int rc = troupe_ask(sys, ref_of(ledgers, l), L_ADD, &v, sizeof v, 2000000000ull, &rt, &st,
                            sizeof st, &n);
        if (rc == 0 && rt == L_STATE) {
            atomic_fetch_add(&acked_n[l], 1);
            atomic_fetch_add(&acked_sum[l], v);
            atomic_fetch_add_explicit(&asks_ok, 1, memory_order_relaxed); /* relaxed: tally */
        } else
            atomic_fetch_add_explicit(&asks_failed, 1, memory_order_relaxed); /* relaxed: tally */
    }
    return NULL;
}

/* A stop: end a counter for good, start another under a new name. */
static void stop_one(unsigned k, unsigned gen)
{
    unsigned i = k % (W + C);
    troupe_ref old = ref_of(counters, i);
    if (troupe_sup_terminate_child(sys, old) != 0)
        return;
    char name[48];
    snprintf(name, sizeof name, "c%u.%u", i, gen);
    troupe_ref r = start_child(i < W ? sup_workers : sup_chain, &counter_beh, name);
    pthread_mutex_lock(&refs_mu);
    counters[i] = r;
    pthread_mutex_unlock(&refs_mu);
    atomic_fetch_add(&stops, 1);
}

static void *chaos_main(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg, gen = 0;
    while (!atomic_load(&quit)) {
        usleep(20000);
        unsigned k = (unsigned)rand_r(&seed);
        switch (k % 4) {
        case 0:
            if (troupe_tell(sys, ref_of(counters, k % (W + C)), M_PANIC, NULL, 0) == 0) {
                atomic_fetch_add(&tells_ok, 1);
                atomic_fetch_add(&panics, 1);
            }
            break;
        case 1: stop_one(k >> 4, ++gen); break;
        case 2:
            if (troupe_tell(sys, ref_of(ledgers, k % L), M_PANIC, NULL, 0) == 0)
                atomic_fetch_add(&tells_ok, 1);
            break;
        default:
            if (troupe_flags_set(sys, "soak.flip", k & 16 ? "on" : "25%") == 0)
                atomic_fetch_add(&flips, 1);
        }
    }
    return NULL;
}

static void *scrape_main(void *arg)
{
    int port = (int)(intptr_t)arg;
    while (!atomic_load(&quit)) {
        hc_resp r = hc_get(port, "/metrics");
        atomic_fetch_add(&scrapes, 1);
        if (r.status != 200 || !strstr(r.body, "troupe_journal_events_total"))
            atomic_fetch_add(&scrapes_bad, 1);
        hc_free(&r);
        usleep(500000);
    }
    return NULL;
}

static void build_tree(void)
{
    troupe_sup root;
    troupe_sup_root(sys, &root);
    sup_workers = start_sup(root, TROUPE_ONE_FOR_ONE, "workers");
    sup_chain = start_sup(root, TROUPE_REST_FOR_ONE, "chain");
    char name[32];
    for (unsigned i = 0; i < W + C; i++) {
        snprintf(name, sizeof name, "c%u.0", i);
        counters[i] = start_child(i < W ? sup_workers : sup_chain, &counter_beh, name);
    }
    for (unsigned i = 0; i < L; i++) {
        snprintf(name, sizeof name, "ledger%u", i);
        ledgers[i] = start_child(root, &ledger_beh, name);
    }
}

/* Reopen the journal: every ledger holds at least what was acknowledged
 * (more only if an add was durable but its ask timed out). */
static int check_journal(const char *dir, uint64_t *lost)
{
    troupe_journal *j;
    if (troupe_journal_open_sqlite(dir, TROUPE_SQLITE_FULL, &j) != 0)
        return -1;
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 2;
    cfg.journal = j;
    troupe_system *s2;
    int bad = troupe_system_create(&s2, &cfg) != 0;
    for (unsigned i = 0; !bad && i < L; i++) {
        troupe_spawn_opts o;
        troupe_spawn_opts_defaults(&o);
        char name[32];
        snprintf(name, sizeof name, "ledger%u", i);
        o.persistence_id = name;
        troupe_ref r;
        lstate st = {0};
        uint32_t rt;
        size_t n;
        bad = troupe_spawn(s2, &ledger_beh, NULL, &o, &r) != 0 ||
              troupe_ask(s2, r, L_GET, NULL, 0, 10000000000ull, &rt, &st, sizeof st, &n) != 0;
        if (!bad && st.n < atomic_load(&acked_n[i]))
            *lost += atomic_load(&acked_n[i]) - st.n;
        if (!bad && st.n == atomic_load(&acked_n[i]) && st.sum != atomic_load(&acked_sum[i]))
            *lost += 1;
    }
    troupe_system_destroy(s2);
    troupe_journal_close(j);
    return bad ? -1 : 0;
}

/* One short system first: liburcu starts its call_rcu thread at the first
 * retirement and keeps it for the process (not troupe's to join), so the
 * threads are counted from after it. */
static void warm_up(void)
{
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 2;
    if (troupe_system_create(&sys, &cfg) != 0)
        return;
    troupe_sup root;
    troupe_sup_root(sys, &root);
    for (int i = 0; i < 64; i++) {
        char name[16];
        snprintf(name, sizeof name, "warm%d", i);
        troupe_ref r = start_child(root, &counter_beh, name);
        (void)troupe_sup_terminate_child(sys, r);
    }
    troupe_system_destroy(sys);
    sys = NULL;
}

int main(void)
{
    uint64_t secs = env_u64("SOAK_SECONDS", 600), every = env_u64("SOAK_SAMPLE_SECONDS", 60);
    char dir[] = "/tmp/troupe-soak-XXXXXX";
    if (!mkdtemp(dir))
        return 2;
    warm_up();
    int fd0 = fds_now(), th0 = threads_now();
    troupe_journal *j;
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 2;
    cfg.root_intensity = 1000000;
    if (troupe_journal_open_sqlite(dir, TROUPE_SQLITE_FULL, &j) != 0)
        return 2;
    cfg.journal = j;
    if (troupe_system_create(&sys, &cfg) != 0)
        return 2;
    troupe_flags_config fc;
    troupe_flags_config_defaults(&fc);
    troupe_flags_load(sys, &fc);
    troupe_http_config hc;
    troupe_http_config_defaults(&hc);
    hc.port = 0;
    troupe_http *srv;
    if (troupe_http_start(sys, &hc, &srv) != 0)
        return 2;
    build_tree();
    pthread_t th[T + 2];
    for (uintptr_t i = 0; i < T; i++)
        pthread_create(&th[i], NULL, load_main, (void *)(i + 1));
    pthread_create(&th[T], NULL, chaos_main, (void *)(uintptr_t)99);
    pthread_create(&th[T + 1], NULL, scrape_main, (void *)(intptr_t)troupe_http_port(srv));
    long rss[1024];
    size_t ns = 0;
    rss[ns++] = rss_kib();
    for (uint64_t t = 1; t <= secs; t++) {
        sleep(1);
        if ((t % every == 0 || t == secs) && ns < 1024)
            rss[ns++] = rss_kib();
    }
    atomic_store(&quit, true);
    for (int i = 0; i < T + 2; i++)
        pthread_join(th[i], NULL);
    troupe_http_stop(srv);
    troupe_system_shutdown(sys, 30000000000ull);
    troupe_system_stats ss;
    troupe_system_stats_get(sys, &ss);
    troupe_system_destroy(sys);
    troupe_journal_close(j);
    uint64_t lost = 0;
    int jbad = check_journal(dir, &lost);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "soak: could not remove %s\n", dir);
    int fd1 = fds_now(), th1 = threads_now();
    for (int i = 0; i < 40 && th1 != th0; i++) { /* a detached thread on its way out */
        usleep(50000);
        th1 = threads_now();
    }
    /* RSS after the warm-up (the first third of the samples): the lowest
     * and the last */
    size_t w = ns / 3 ? ns / 3 : 1;
    long lo = rss[w < ns ? w : ns - 1], last = rss[ns - 1];
    for (size_t i = w; i < ns; i++)
        lo = rss[i] < lo ? rss[i] : lo;
    long bound = lo / 4 > 32768 ? lo / 4 : 32768;
    uint64_t t_ok = atomic_load(&tells_ok), acc = atomic_load(&handled) + ss.messages_destroyed +
                                                  ss.dead_letters;
    uint64_t diff = t_ok > acc ? t_ok - acc : acc - t_ok;
    bool bal = diff <= atomic_load(&asks_failed), rss_ok = last - lo <= bound;
    bool ok = bal && rss_ok && lost == 0 && jbad == 0 && fd1 == fd0 && th1 == th0 &&
              atomic_load(&scrapes_bad) == 0;
    printf("soak: %llu s, tells accepted %llu, handled %llu + destroyed %llu + dead letters %llu"
           " (diff %llu, asks failed %llu): %s\n",
           (unsigned long long)secs, (unsigned long long)t_ok,
           (unsigned long long)atomic_load(&handled), (unsigned long long)ss.messages_destroyed,
           (unsigned long long)ss.dead_letters, (unsigned long long)diff,
           (unsigned long long)atomic_load(&asks_failed), bal ? "balanced" : "UNBALANCED");
    printf("soak: panics %llu, stops %llu, actors failed %llu, flag flips %llu, scrapes %llu"
           " (bad %llu)\n",
           (unsigned long long)atomic_load(&panics), (unsigned long long)atomic_load(&stops),
           (unsigned long long)ss.actors_failed, (unsigned long long)atomic_load(&flips),
           (unsigned long long)atomic_load(&scrapes), (unsigned long long)atomic_load(&scrapes_bad));
    printf("soak: persisted adds acknowledged %llu, lost on reopen %llu%s\n",
           (unsigned long long)atomic_load(&asks_ok), (unsigned long long)lost,
           jbad ? " (the journal could not be reopened)" : "");
    printf("soak: RSS KiB:");
    for (size_t i = 0; i < ns; i++)
        printf(" %ld", rss[i]);
    printf(" (after warm-up: low %ld, last %ld, bound +%ld): %s\n", lo, last, bound,
           rss_ok ? "flat" : "GROWING");
    printf("soak: fds %d -> %d, threads %d -> %d\n", fd0, fd1, th0, th1);
    if (th1 != th0) { /* which ones stayed: their names */
        DIR *d = opendir("/proc/self/task");
        for (struct dirent *e; d && (e = readdir(d));) {
            char p[300], comm[64] = "";
            snprintf(p, sizeof p, "/proc/self/task/%s/comm", e->d_name);
            FILE *f = e->d_name[0] != '.' ? fopen(p, "r") : NULL;
            if (f && fgets(comm, sizeof comm, f))
                fprintf(stderr, "soak: thread %s: %s", e->d_name, comm);
            if (f)
                fclose(f);
        }
        if (d)
            closedir(d);
    }
    printf("soak: %s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
