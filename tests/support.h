/* tests/support.h — helpers shared by the Criterion suites.
 *
 * Rules the suites follow (see tests/meson.build):
 *  - no assertion ever depends on how long something took: delays are
 *    driven with a manual clock, and wait_until() polls only as a hang
 *    guard (it fails the test after HANG_LIMIT_S, far beyond any sane run);
 *  - assertions (cr_assert / cr_expect) are made on the test's main thread
 *    only: handlers and helper threads record what they saw into shared
 *    structs, the main thread checks it;
 *  - every test ends with troupe_system_destroy() and frees what it kept, so
 *    that ASan's leak check covers the runtime.
 */
#ifndef TROUPE_TESTS_SUPPORT_H
#define TROUPE_TESTS_SUPPORT_H

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <troupe/troupe.h>

/* ---- sanitizers and scaling --------------------------------------------- */

#if defined(__SANITIZE_THREAD__)
#define TT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TT_TSAN 1
#endif
#endif
#ifndef TT_TSAN
#define TT_TSAN 0
#endif

#if defined(__SANITIZE_ADDRESS__)
#define TT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TT_ASAN 1
#endif
#endif
#ifndef TT_ASAN
#define TT_ASAN 0
#endif

/* Hang guard: a test waiting longer than this for something that must
 * happen has hung. Generous on purpose (TSan runs ~10x slower). */
#define HANG_LIMIT_S 30u
#define HANG_LIMIT_NS ((uint64_t)HANG_LIMIT_S * 1000000000ull)
/* Timeout for asks that must succeed: only a hang guard. */
#define ASK_FOREVER_NS HANG_LIMIT_NS

#define MS_NS 1000000ull
#define S_NS 1000000000ull

static inline uint64_t tt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void tt_sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Workload multiplier for the bigger loops: TROUPE_TEST_SCALE (a positive
 * number, default 1), divided by 8 under TSan and by 2 under ASan. Never
 * returns less than a small floor so that every loop still does work. */
static inline double tt_scale(void)
{
    double s = 1.0;
    const char *e = getenv("TROUPE_TEST_SCALE");
    if (e && *e) {
        double v = strtod(e, NULL);
        if (v > 0)
            s = v;
    }
    if (TT_TSAN)
        s /= 8.0;
    else if (TT_ASAN)
        s /= 2.0;
    return s;
}

static inline long tt_scaled(long n, long floor_)
{
    long v = (long)((double)n * tt_scale());
    return v < floor_ ? floor_ : v;
}

/* Poll `pred` with short sleeps; fail the test if it is still false after
 * HANG_LIMIT_S. A hang guard, not a timing assertion: use it only for
 * things that must eventually become true. Main thread only. */
#define wait_until(pred)                                                                  \
    do {                                                                                  \
        uint64_t wu_start_ = tt_now_ns();                                                 \
        uint64_t wu_nap_ = 20000;                                                         \
        while (!(pred)) {                                                                 \
            if (tt_now_ns() - wu_start_ > HANG_LIMIT_NS)                                  \
                cr_assert_fail("hang guard: `%s` still false after %u s (%s:%d)", #pred, \
                               HANG_LIMIT_S, __FILE__, __LINE__);                         \
            tt_sleep_ns(wu_nap_);                                                         \
            if (wu_nap_ < 2000000)                                                        \
                wu_nap_ *= 2;                                                             \
        }                                                                                 \
    } while (0)

/* Abort from a non-main thread (handler, helper thread) when something
 * impossible happens; Criterion reports the crash with the message. */
#define tt_die(...)                                                                       \
    do {                                                                                  \
        fprintf(stderr, "FATAL %s:%d: ", __FILE__, __LINE__);                             \
        fprintf(stderr, __VA_ARGS__);                                                     \
        fputc('\n', stderr);                                                              \
        abort();                                                                          \
    } while (0)

/* FNV-1a hash of n bytes: compares payload contents. */
static inline uint64_t tt_fnv(const void *d, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    const unsigned char *p = d;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* For stop callbacks: record why the actor stopped, then count the call. */
static inline void tt_note_stop(atomic_int *stops, atomic_int *stop_kind, troupe_failure_kind why)
{
    atomic_store(stop_kind, (int)why);
    atomic_fetch_add(stops, 1);
}

/* ---- gate: a handler blocks on it until the test opens it ------------------ */

typedef struct tt_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open;
    int waiting; /* threads blocked in tt_gate_wait now */
    int entered; /* calls of tt_gate_wait so far */
} tt_gate;

static inline void tt_gate_init(tt_gate *g)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->open = 0;
    g->waiting = 0;
    g->entered = 0;
}

static inline void tt_gate_destroy(tt_gate *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

/* Block until the gate is open. Aborts the test process after the hang
 * limit (a test that forgets to open its gate must not hang CI). */
static inline void tt_gate_wait(tt_gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->entered++;
    g->waiting++;
    pthread_cond_broadcast(&g->cv);
    uint64_t start = tt_now_ns();
    while (!g->open) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
        if (!g->open && tt_now_ns() - start > 2 * HANG_LIMIT_NS)
            tt_die("gate never opened");
    }
    g->waiting--;
    pthread_mutex_unlock(&g->mu);
}

static inline void tt_gate_open(tt_gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static inline int tt_gate_waiting(tt_gate *g)
{
    pthread_mutex_lock(&g->mu);
    int n = g->waiting;
    pthread_mutex_unlock(&g->mu);
    return n;
}

static inline int tt_gate_entered(tt_gate *g)
{
    pthread_mutex_lock(&g->mu);
    int n = g->entered;
    pthread_mutex_unlock(&g->mu);
    return n;
}

/* ---- tracked pointer payloads ----------------------------------------------- */

/* Counts destructor runs and remembers which values were destroyed. */
typedef struct tt_tracker {
    atomic_long destroyed;
    pthread_mutex_t mu;
    long *log;
    size_t n, cap;
} tt_tracker;

typedef struct tt_item {
    tt_tracker *t;
    long value;
    uint64_t tag; /* free for the test's use */
} tt_item;

static inline void tt_tracker_init(tt_tracker *t)
{
    atomic_init(&t->destroyed, 0);
    pthread_mutex_init(&t->mu, NULL);
    t->log = NULL;
    t->n = t->cap = 0;
}

static inline void tt_tracker_fini(tt_tracker *t)
{
    free(t->log);
    pthread_mutex_destroy(&t->mu);
}

static inline long tt_destroyed(tt_tracker *t) { return atomic_load(&t->destroyed); }

/* Snapshot of the destroyed values, in destruction order (caller frees). */
static inline size_t tt_tracker_log(tt_tracker *t, long **out)
{
    pthread_mutex_lock(&t->mu);
    size_t n = t->n;
    *out = malloc((n ? n : 1) * sizeof(long));
    if (n)
        memcpy(*out, t->log, n * sizeof(long));
    pthread_mutex_unlock(&t->mu);
    return n;
}

static inline tt_item *tt_item_new(tt_tracker *t, long value)
{
    tt_item *it = malloc(sizeof *it);
    if (!it)
        abort();
    it->t = t;
    it->value = value;
    it->tag = 0;
    return it;
}

/* The troupe_dtor: records the value, counts, frees. */
static inline void tt_item_dtor(void *p)
{
    tt_item *it = p;
    tt_tracker *t = it->t;
    pthread_mutex_lock(&t->mu);
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->log = realloc(t->log, t->cap * sizeof(long));
        if (!t->log)
            abort();
    }
    t->log[t->n++] = it->value;
    pthread_mutex_unlock(&t->mu);
    atomic_fetch_add(&t->destroyed, 1);
    free(it);
}

/* Free an item the caller kept (send failed): not counted as destroyed. */
static inline void tt_item_free(tt_item *it) { free(it); }

/* ---- a log of longs written by one actor, read by the test ----------------- */

typedef struct tt_log {
    pthread_mutex_t mu;
    long *v;
    size_t n, cap;
} tt_log;

static inline void tt_log_init(tt_log *l)
{
    pthread_mutex_init(&l->mu, NULL);
    l->v = NULL;
    l->n = l->cap = 0;
}

static inline void tt_log_fini(tt_log *l)
{
    free(l->v);
    pthread_mutex_destroy(&l->mu);
}

static inline void tt_log_add(tt_log *l, long x)
{
    pthread_mutex_lock(&l->mu);
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = realloc(l->v, l->cap * sizeof(long));
        if (!l->v)
            abort();
    }
    l->v[l->n++] = x;
    pthread_mutex_unlock(&l->mu);
}

static inline size_t tt_log_len(tt_log *l)
{
    pthread_mutex_lock(&l->mu);
    size_t n = l->n;
    pthread_mutex_unlock(&l->mu);
    return n;
}

static inline long tt_log_at(tt_log *l, size_t i)
{
    pthread_mutex_lock(&l->mu);
    long x = i < l->n ? l->v[i] : -999999;
    pthread_mutex_unlock(&l->mu);
    return x;
}

/* ---- systems ------------------------------------------------------------------ */

/* Defaults for tests: `workers` workers, no pinning (many suites run at
 * once on a small machine), optional clock. */
static inline troupe_config tt_config(uint32_t workers, troupe_clock *clk)
{
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = workers;
    cfg.pin = 0;
    cfg.clock = clk;
    /* On a manual clock a test's own advances would drive the health
     * monitor and the stall watchdog while its actors are held on purpose;
     * their suites (tests/observe/) turn them on themselves. */
    if (clk) {
        cfg.health_interval_ns = 0;
        cfg.stall_ns = 0;
    }
    return cfg;
}

static inline troupe_system *tt_system_cfg(const troupe_config *cfg)
{
    troupe_system *sys = NULL;
    int rc = troupe_system_create(&sys, cfg);
    cr_assert_eq(rc, 0, "troupe_system_create: %s", troupe_errname(rc));
    cr_assert_not_null(sys);
    return sys;
}

static inline troupe_system *tt_system(uint32_t workers)
{
    troupe_config cfg = tt_config(workers, NULL);
    return tt_system_cfg(&cfg);
}

static inline troupe_ref tt_spawn(troupe_system *sys, const troupe_behaviour *beh, const void *arg,
                                  const troupe_spawn_opts *opts)
{
    troupe_ref r = TROUPE_REF_NONE;
    int rc = troupe_spawn(sys, beh, arg, opts, &r);
    cr_assert_eq(rc, 0, "troupe_spawn(%s): %s", beh->name, troupe_errname(rc));
    cr_assert(!troupe_ref_is_none(r));
    return r;
}

static inline troupe_spawn_opts tt_opts(uint32_t capacity, int overflow)
{
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.capacity = capacity;
    o.overflow = overflow;
    return o;
}

static inline troupe_mailbox_stats tt_stats(troupe_system *sys, troupe_ref r)
{
    troupe_mailbox_stats st;
    memset(&st, 0, sizeof st);
    int rc = troupe_actor_stats(sys, r, &st);
    cr_assert_eq(rc, 0, "troupe_actor_stats: %s", troupe_errname(rc));
    return st;
}

static inline troupe_system_stats tt_sys_stats(troupe_system *sys)
{
    troupe_system_stats st;
    memset(&st, 0, sizeof st);
    int rc = troupe_system_stats_get(sys, &st);
    cr_assert_eq(rc, 0, "troupe_system_stats_get: %s", troupe_errname(rc));
    return st;
}

/* A system of `workers` workers driven by a new manual clock that starts
 * at `start_ns` (the caller destroys the clock after the system). */
static inline troupe_system *tt_system_manual(uint32_t workers, uint64_t start_ns,
                                              troupe_clock **clk)
{
    cr_assert_eq(troupe_clock_create_manual(clk, start_ns), 0);
    troupe_config cfg = tt_config(workers, *clk);
    return tt_system_cfg(&cfg);
}

/* Send `type` (a message whose handler blocks on gate g) to r and return
 * once the handler waits there: r holds its worker until g opens. */
static inline void tt_hold(troupe_system *sys, troupe_ref r, uint32_t type, tt_gate *g)
{
    cr_assert_eq(troupe_tell(sys, r, type, NULL, 0), 0);
    wait_until(tt_gate_waiting(g) == 1);
}

/* Wait until ref no longer names a live actor (hang guard only). */
static inline void tt_wait_dead(troupe_system *sys, troupe_ref r)
{
    wait_until(troupe_alive(sys, r) == 0);
}

/* ---- the probe: a round trip through an actor's mailbox ---------------------
 * Every test behaviour answers T_PROBE (a plain ask) with an empty reply.
 * Once tt_probe() returns, everything sent to the actor before it from the
 * same thread (and everything already in its mailbox) has been handled. */

#define T_PROBE 0x7fff0001u

static inline int tt_is_probe(troupe_ctx *ctx, const troupe_msg *m)
{
    if (m->type != T_PROBE)
        return 0;
    if (troupe_reply(ctx, T_PROBE, NULL, 0) != 0)
        tt_die("probe reply failed");
    return 1;
}

static inline void tt_probe(troupe_system *sys, troupe_ref r)
{
    uint32_t rt = 0;
    int rc = troupe_ask(sys, r, T_PROBE, NULL, 0, ASK_FOREVER_NS, &rt, NULL, 0, NULL);
    cr_assert_eq(rc, 0, "probe ask: %s", troupe_errname(rc));
    cr_assert_eq(rt, T_PROBE);
}

/* Store the spawn argument (a pointer to the test's shared struct) as the
 * first field of the state. */
static inline int tt_init_arg(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx;
    *(void **)state = (void *)(uintptr_t)arg;
    return 0;
}

#endif /* TROUPE_TESTS_SUPPORT_H */
