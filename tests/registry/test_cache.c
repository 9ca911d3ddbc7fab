/* tests/registry/test_cache.c — troupe_whereis through each thread's lookup
 * cache (registry/cache.c): a cached name follows its unregistration and
 * re-registration to another live actor, in the looking thread and in
 * others; an ended actor is never returned; two systems (and a system
 * created after one was destroyed) never see each other's names; one name
 * registered from two threads at once goes to exactly one actor, which
 * every thread then finds; lookups stay right while the table grows and
 * shrinks under them; names too long to cache. */
#include <sched.h>

#include "../support.h"
/* white-box, for the table sizes (lookups_during_resize) */
#include "registry/entry.h"

static void relax(void) { sched_yield(); }

static int h_idle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    (void)state;
    if (!tt_is_probe(ctx, m))
        tt_die("unexpected type %u", m->type);
    return 0;
}

static const troupe_behaviour beh_idle = {.name = "cache.idle", .handle = h_idle};

static troupe_ref find(troupe_system *sys, const char *name, int *rc)
{
    troupe_ref r = {12345};
    *rc = troupe_whereis(sys, name, &r);
    return r;
}

static void expect_ref(troupe_system *sys, const char *name, troupe_ref want)
{
    int rc;
    troupe_ref got = find(sys, name, &rc);
    cr_assert_eq(rc, 0, "whereis(%s): %s", name, troupe_errname(rc));
    cr_assert(troupe_ref_eq(got, want), "whereis(%s): another actor", name);
}

static void expect_missing(troupe_system *sys, const char *name)
{
    int rc;
    troupe_ref got = find(sys, name, &rc);
    cr_assert_eq(rc, TROUPE_ENOTFOUND, "whereis(%s): %s", name, troupe_errname(rc));
    cr_assert(troupe_ref_is_none(got));
}

/* One thread: the name moves between two live actors (so the liveness
 * check alone could not notice), and goes. */
Test(registry_cache, name_moves_between_live_actors)
{
    troupe_system *sys = tt_system(1);
    troupe_ref a = tt_spawn(sys, &beh_idle, NULL, NULL), b = tt_spawn(sys, &beh_idle, NULL, NULL);
    for (int round = 0; round < 50; round++) {
        troupe_ref to = round % 2 ? b : a;
        cr_assert_eq(troupe_register(sys, "mover", to), 0);
        for (int i = 0; i < 3; i++) /* the first fills the cache, the rest hit */
            expect_ref(sys, "mover", to);
        cr_assert_eq(troupe_unregister(sys, "mover"), 0);
        expect_missing(sys, "mover");
    }
    troupe_system_destroy(sys);
}

/* Another thread keeps looking the name up; after each unregister (or
 * stop) returns, it must not find the old actor. */
typedef struct mover {
    troupe_system *sys;
    _Atomic uint64_t want; /* the ref the name has in this phase, 0: none */
    atomic_long phase;     /* bumped by main when `want` is set */
    atomic_long done;      /* phases the looker has checked */
    atomic_long errors;
} mover;

static void *mover_looker(void *p)
{
    mover *m = p;
    for (long seen = 0;;) {
        while (atomic_load(&m->phase) == seen)
            relax();
        seen = atomic_load(&m->phase);
        if (seen < 0)
            return NULL;
        troupe_ref want = {atomic_load(&m->want)};
        for (int i = 0; i < 20; i++) { /* fill, then hit */
            int rc;
            troupe_ref got = find(m->sys, "moving", &rc);
            bool ok = troupe_ref_is_none(want) ? rc == TROUPE_ENOTFOUND && troupe_ref_is_none(got)
                                               : rc == 0 && troupe_ref_eq(got, want);
            atomic_fetch_add(&m->errors, !ok);
        }
        atomic_store(&m->done, seen);
    }
}

static void mover_phase(mover *m, long *phase, troupe_ref want)
{
    atomic_store(&m->want, want.id);
    atomic_store(&m->phase, ++*phase);
    wait_until(atomic_load(&m->done) == *phase);
}

Test(registry_cache, other_thread_follows_unregister_and_stop)
{
    mover *m = calloc(1, sizeof *m);
    m->sys = tt_system(2);
    troupe_ref keep[2] = {tt_spawn(m->sys, &beh_idle, NULL, NULL),
                          tt_spawn(m->sys, &beh_idle, NULL, NULL)};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, mover_looker, m), 0);
    long phase = 0, rounds = tt_scaled(200, 20);
    for (long i = 0; i < rounds; i++) {
        /* between two actors that stay alive */
        cr_assert_eq(troupe_register(m->sys, "moving", keep[i % 2]), 0);
        mover_phase(m, &phase, keep[i % 2]);
        cr_assert_eq(troupe_unregister(m->sys, "moving"), 0);
        mover_phase(m, &phase, TROUPE_REF_NONE);
        /* an actor that ends: gone once troupe_alive says 0 */
        troupe_ref brief = tt_spawn(m->sys, &beh_idle, NULL, NULL);
        cr_assert_eq(troupe_register(m->sys, "moving", brief), 0);
        mover_phase(m, &phase, brief);
        cr_assert_eq(troupe_stop(m->sys, brief), 0);
        tt_wait_dead(m->sys, brief);
        mover_phase(m, &phase, TROUPE_REF_NONE);
    }
    atomic_store(&m->phase, -1);
    pthread_join(th, NULL);
    cr_assert_eq(atomic_load(&m->errors), 0);
    troupe_system_destroy(m->sys);
    free(m);
}

/* The same name in two systems, looked up alternately by one thread, and
 * in a system created after one was destroyed. */
Test(registry_cache, systems_do_not_share_names)
{
    troupe_system *s1 = tt_system(1), *s2 = tt_system(1);
    troupe_ref a1 = tt_spawn(s1, &beh_idle, NULL, NULL), a2 = tt_spawn(s2, &beh_idle, NULL, NULL);
    cr_assert_eq(troupe_register(s1, "same", a1), 0);
    cr_assert_eq(troupe_register(s2, "same", a2), 0);
    for (int i = 0; i < 20; i++) {
        expect_ref(s1, "same", a1);
        expect_ref(s2, "same", a2);
    }
    troupe_system_destroy(s2);
    troupe_system *s3 = tt_system(1);
    expect_missing(s3, "same");
    troupe_ref a3 = tt_spawn(s3, &beh_idle, NULL, NULL);
    cr_assert_eq(troupe_register(s3, "same", a3), 0);
    for (int i = 0; i < 3; i++) {
        expect_ref(s3, "same", a3);
        expect_ref(s1, "same", a1);
    }
    troupe_system_destroy(s3);
    troupe_system_destroy(s1);
}

/* Two threads register one name, each for its own actor, at once: one
 * wins, the other gets EEXIST, and both then find the winner. */
typedef struct contest {
    troupe_system *sys;
    pthread_barrier_t start, end;
    troupe_ref mine[2];
    int rc[2];
    atomic_long errors;
    long rounds;
} contest;

typedef struct contender {
    contest *c;
    int me;
} contender;

static void *contend(void *p)
{
    contender *t = p;
    contest *c = t->c;
    for (long i = 0; i < c->rounds; i++) {
        pthread_barrier_wait(&c->start);
        c->rc[t->me] = troupe_register(c->sys, "contested", c->mine[t->me]);
        pthread_barrier_wait(&c->end); /* both results are in */
        troupe_ref winner = c->mine[c->rc[0] == 0 ? 0 : 1];
        for (int k = 0; k < 5; k++) {
            int rc;
            troupe_ref got = find(c->sys, "contested", &rc);
            atomic_fetch_add(&c->errors, rc != 0 || !troupe_ref_eq(got, winner));
        }
        pthread_barrier_wait(&c->end); /* main unregisters */
    }
    return NULL;
}

Test(registry_cache, one_name_from_two_threads)
{
    contest *c = calloc(1, sizeof *c);
    c->sys = tt_system(2);
    c->rounds = tt_scaled(300, 30);
    pthread_barrier_init(&c->start, NULL, 3);
    pthread_barrier_init(&c->end, NULL, 3);
    c->mine[0] = tt_spawn(c->sys, &beh_idle, NULL, NULL);
    c->mine[1] = tt_spawn(c->sys, &beh_idle, NULL, NULL);
    pthread_t th[2];
    contender t[2] = {{c, 0}, {c, 1}};
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, contend, &t[i]), 0);
    for (long i = 0; i < c->rounds; i++) {
        pthread_barrier_wait(&c->start);
        pthread_barrier_wait(&c->end);
        bool one = (c->rc[0] == 0) != (c->rc[1] == 0);
        bool other = c->rc[0] == TROUPE_EEXIST || c->rc[1] == TROUPE_EEXIST;
        cr_assert(one && other, "round %ld: %d, %d", i, c->rc[0], c->rc[1]);
        pthread_barrier_wait(&c->end);
        cr_assert_eq(troupe_unregister(c->sys, "contested"), 0);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    cr_assert_eq(atomic_load(&c->errors), 0);
    pthread_barrier_destroy(&c->start);
    pthread_barrier_destroy(&c->end);
    troupe_system_destroy(c->sys);
    free(c);
}

/* A thread looks up fixed names, short and too long to cache, while the
 * table grows to thousands of names and shrinks back (resize.c): every
 * lookup finds its own actor. */
#define FIXED 16

typedef struct resizing {
    troupe_system *sys;
    char names[FIXED][TROUPE_NAME_MAX + 1];
    troupe_ref refs[FIXED];
    atomic_int quit;
    atomic_long lookups, errors;
} resizing;

static void *resize_looker(void *p)
{
    resizing *z = p;
    for (long i = 0; !atomic_load(&z->quit); i++) {
        int rc;
        troupe_ref got = find(z->sys, z->names[i % FIXED], &rc);
        atomic_fetch_add(&z->errors, rc != 0 || !troupe_ref_eq(got, z->refs[i % FIXED]));
        atomic_fetch_add(&z->lookups, 1);
        if (i % 64 == 0)
            relax();
    }
    return NULL;
}

static void churn_names(troupe_system *sys, troupe_ref *refs, long n)
{
    char name[32];
    for (long i = 0; i < n; i++) {
        snprintf(name, sizeof name, "grow/%ld", i);
        cr_assert_eq(troupe_register(sys, name, refs[i]), 0, "%s", name);
    }
    wait_until(atomic_load(&sys->reg->names.size) >= (unsigned long)n);
    for (long i = 0; i < n; i++) {
        snprintf(name, sizeof name, "grow/%ld", i);
        cr_assert_eq(troupe_unregister(sys, name), 0, "%s", name);
    }
    wait_until(atomic_load(&sys->reg->names.size) < (unsigned long)n);
}

Test(registry_cache, lookups_during_resize, .timeout = 240)
{
    resizing *z = calloc(1, sizeof *z);
    z->sys = tt_system(2);
    for (int i = 0; i < FIXED; i++) {
        z->refs[i] = tt_spawn(z->sys, &beh_idle, NULL, NULL);
        if (i % 2) /* TROUPE_NAME_MAX bytes: never cached */
            memset(z->names[i], 'a' + i, TROUPE_NAME_MAX);
        else
            snprintf(z->names[i], sizeof z->names[i], "fixed.%d", i);
        cr_assert_eq(troupe_register(z->sys, z->names[i], z->refs[i]), 0);
    }
    long n = tt_scaled(4000, 500);
    troupe_ref *refs = calloc((size_t)n, sizeof *refs);
    for (long i = 0; i < n; i++)
        refs[i] = tt_spawn(z->sys, &beh_idle, NULL, NULL);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, resize_looker, z), 0);
    for (int round = 0; round < 2; round++)
        churn_names(z->sys, refs, n);
    atomic_store(&z->quit, 1);
    pthread_join(th, NULL);
    cr_assert_eq(atomic_load(&z->errors), 0);
    cr_assert_gt(atomic_load(&z->lookups), 0);
    troupe_system_destroy(z->sys);
    free(refs);
    free(z);
}
