/* tests/registry/test_registry.c — names: register, whereis, unregister,
 * unique names and one name per actor, bad input, names removed when the
 * actor stops for good, batch and by-behaviour lookups, entry info, lookups
 * from handlers, names of supervised children across restarts, tables
 * growing and shrinking, out-of-memory, and threads racing registrations,
 * lookups, unregistrations and stops. */
#include <sched.h>

#include "../support.h"
/* white-box, for the table sizes (many_names_grow_and_shrink) */
#include "registry/entry.h"

/* Spinning helper threads yield: the suite runs on two cores. */
static void relax(void) { sched_yield(); }

/* core/alloc.h (white-box): fail every allocation after n more */
void troupei_alloc_fail_after(long n);

enum {
    M_WORK = 1,  /* count it */
    M_LOOKUP,    /* payload: a NUL-terminated name: whereis it, record */
    M_PANIC,     /* troupe_panic */
};

typedef struct shared {
    atomic_long handled;
    atomic_int lookup_rc;
    atomic_uint_least64_t lookup_ref;
    atomic_int lookups;
    atomic_int init_rc;
} shared;

typedef struct st {
    shared *sh;
} st;

static void shared_init(shared *sh)
{
    memset(sh, 0, sizeof *sh);
    atomic_init(&sh->lookup_rc, 12345);
    atomic_init(&sh->init_rc, 12345);
}

static int h_main(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    shared *sh = ((st *)state)->sh;
    if (tt_is_probe(ctx, m))
        return 0;
    switch (m->type) {
    case M_WORK:
        atomic_fetch_add(&sh->handled, 1);
        break;
    case M_PANIC:
        troupe_panic("told to");
        return 0;
    case M_LOOKUP: {
        troupe_ref r = TROUPE_REF_NONE;
        atomic_store(&sh->lookup_rc, troupe_whereis(troupe_ctx_system(ctx), m->data, &r));
        atomic_store(&sh->lookup_ref, r.id);
        atomic_fetch_add(&sh->lookups, 1);
        break;
    }
    default:
        tt_die("unexpected type %u", m->type);
    }
    return 0;
}

static int i_main(troupe_ctx *ctx, void *state, const void *arg)
{
    return tt_init_arg(ctx, state, arg);
}

static const troupe_behaviour beh_a = {
    .name = "reg.a", .state_size = sizeof(st), .init = i_main, .handle = h_main};
static const troupe_behaviour beh_b = {
    .name = "reg.b", .state_size = sizeof(st), .init = i_main, .handle = h_main};

/* spawn arg for beh_self: registers itself in init under `name`, then
 * returns `rc` */
typedef struct self_arg {
    shared *sh;
    const char *name;
    int rc;
} self_arg;

static int i_self(troupe_ctx *ctx, void *state, const void *arg)
{
    const self_arg *a = arg;
    ((st *)state)->sh = a->sh;
    atomic_store(&a->sh->init_rc,
                 troupe_register(troupe_ctx_system(ctx), a->name, troupe_self(ctx)));
    return a->rc;
}

static const troupe_behaviour beh_self = {
    .name = "reg.self", .state_size = sizeof(st), .init = i_self, .handle = h_main};

static troupe_ref whereis_ok(troupe_system *sys, const char *name)
{
    troupe_ref r = TROUPE_REF_NONE;
    int rc = troupe_whereis(sys, name, &r);
    cr_assert_eq(rc, 0, "whereis(%s): %s", name, troupe_errname(rc));
    cr_assert(!troupe_ref_is_none(r));
    return r;
}

static void expect_missing(troupe_system *sys, const char *name)
{
    troupe_ref r = {12345};
    int rc = troupe_whereis(sys, name, &r);
    cr_assert_eq(rc, TROUPE_ENOTFOUND, "whereis(%s): %s", name, troupe_errname(rc));
    cr_assert(troupe_ref_is_none(r));
}

/* Stop r and wait until it is gone and its name with it. */
static void stop_and_wait(troupe_system *sys, troupe_ref r, size_t size_after)
{
    cr_assert_eq(troupe_stop(sys, r), 0);
    tt_wait_dead(sys, r);
    wait_until(troupe_registry_size(sys) == size_after);
}

Test(registry, round_trip)
{
    shared sh;
    shared_init(&sh);
    troupe_system *sys = tt_system(2);
    troupe_ref r = tt_spawn(sys, &beh_a, &sh, NULL);
    cr_assert_eq(troupe_registry_size(sys), 0);
    cr_assert_eq(troupe_register(sys, "alpha", r), 0);
    cr_assert_eq(troupe_registry_size(sys), 1);
    cr_assert(troupe_ref_eq(whereis_ok(sys, "alpha"), r));
    expect_missing(sys, "alph");
    expect_missing(sys, "alphab");
    cr_assert_eq(troupe_unregister(sys, "alpha"), 0);
    cr_assert_eq(troupe_registry_size(sys), 0);
    expect_missing(sys, "alpha");
    cr_assert_eq(troupe_unregister(sys, "alpha"), TROUPE_ENOTFOUND);
    /* the actor itself is untouched, and can take a name again */
    cr_assert_eq(troupe_alive(sys, r), 1);
    cr_assert_eq(troupe_register(sys, "alpha", r), 0);
    cr_assert(troupe_ref_eq(whereis_ok(sys, "alpha"), r));
    troupe_system_destroy(sys); /* a name still registered: freed at destroy */
}

Test(registry, names_are_unique_and_one_per_actor)
{
    shared sh;
    shared_init(&sh);
    troupe_system *sys = tt_system(2);
    troupe_ref r1 = tt_spawn(sys, &beh_a, &sh, NULL);
    troupe_ref r2 = tt_spawn(sys, &beh_a, &sh, NULL);
    cr_assert_eq(troupe_register(sys, "one", r1), 0);
    cr_assert_eq(troupe_register(sys, "one", r2), TROUPE_EEXIST);
    cr_assert_eq(troupe_register(sys, "one", r1), TROUPE_EEXIST);
    cr_assert_eq(troupe_register(sys, "two", r1), TROUPE_EEXIST, "one name per actor");
    cr_assert(troupe_ref_eq(whereis_ok(sys, "one"), r1));
    expect_missing(sys, "two");
    cr_assert_eq(troupe_register(sys, "two", r2), 0);
    cr_assert_eq(troupe_registry_size(sys), 2);
    /* once its name is gone the actor may take another */
    cr_assert_eq(troupe_unregister(sys, "one"), 0);
    cr_assert_eq(troupe_register(sys, "three", r1), 0);
    cr_assert(troupe_ref_eq(whereis_ok(sys, "three"), r1));
    cr_assert(troupe_ref_eq(whereis_ok(sys, "two"), r2));
    cr_assert_eq(troupe_registry_size(sys), 2);
    troupe_system_destroy(sys);
}

Test(registry, bad_input)
{
    shared sh;
    shared_init(&sh);
    troupe_system *sys = tt_system(1);
    troupe_ref r = tt_spawn(sys, &beh_a, &sh, NULL);
    char longest[TROUPE_NAME_MAX + 1], too_long[TROUPE_NAME_MAX + 2];
    memset(longest, 'x', TROUPE_NAME_MAX);
    longest[TROUPE_NAME_MAX] = '\0';
    memset(too_long, 'y', TROUPE_NAME_MAX + 1);
    too_long[TROUPE_NAME_MAX + 1] = '\0';

    cr_assert_eq(troupe_register(NULL, "n", r), TROUPE_EINVAL);
    cr_assert_eq(troupe_register(sys, NULL, r), TROUPE_EINVAL);
    cr_assert_eq(troupe_register(sys, "", r), TROUPE_EINVAL);
    cr_assert_eq(troupe_register(sys, too_long, r), TROUPE_EINVAL);
    cr_assert_eq(troupe_register(sys, "n", TROUPE_REF_NONE), TROUPE_EINVAL);
    cr_assert_eq(troupe_register(sys, "n", (troupe_ref){0xFFFFFFull}), TROUPE_ENOACTOR);
    cr_assert_eq(troupe_registry_size(sys), 0);

    troupe_ref out = {777};
    cr_assert_eq(troupe_whereis(NULL, "n", &out), TROUPE_EINVAL);
    cr_assert(troupe_ref_is_none(out));
    cr_assert_eq(troupe_whereis(sys, "n", NULL), TROUPE_EINVAL);
    cr_assert_eq(troupe_whereis(sys, NULL, &out), TROUPE_EINVAL);
    cr_assert_eq(troupe_whereis(sys, "", &out), TROUPE_EINVAL);
    cr_assert_eq(troupe_whereis(sys, too_long, &out), TROUPE_EINVAL);
    cr_assert_eq(troupe_unregister(NULL, "n"), TROUPE_EINVAL);
    cr_assert_eq(troupe_unregister(sys, NULL), TROUPE_EINVAL);
    cr_assert_eq(troupe_unregister(sys, too_long), TROUPE_EINVAL);
    troupe_registry_entry e;
    cr_assert_eq(troupe_registry_info(sys, "n", NULL), TROUPE_EINVAL);
    cr_assert_eq(troupe_registry_info(NULL, "n", &e), TROUPE_EINVAL);
    cr_assert_eq(troupe_registry_info(sys, "", &e), TROUPE_EINVAL);
    cr_assert_eq(troupe_whereis_batch(NULL, NULL, 0, NULL), TROUPE_EINVAL);
    cr_assert_eq(troupe_whereis_batch(sys, NULL, 1, &out), TROUPE_EINVAL);
    cr_assert_eq(troupe_whereis_batch(sys, NULL, 0, NULL), 0);
    cr_assert_eq(troupe_registry_by_behaviour(sys, NULL, &out, 1, NULL), TROUPE_EINVAL);
    cr_assert_eq(troupe_registry_by_behaviour(NULL, &beh_a, &out, 1, NULL), TROUPE_EINVAL);
    cr_assert_eq(troupe_registry_by_behaviour(sys, &beh_a, NULL, 1, NULL), TROUPE_EINVAL);
    cr_assert_eq(troupe_registry_size(NULL), 0);

    /* the longest name is fine, and a stale ref is refused */
    cr_assert_eq(troupe_register(sys, longest, r), 0);
    cr_assert(troupe_ref_eq(whereis_ok(sys, longest), r));
    troupe_ref dead = tt_spawn(sys, &beh_a, &sh, NULL);
    stop_and_wait(sys, dead, 1);
    cr_assert_eq(troupe_register(sys, "late", dead), TROUPE_ENOACTOR);
    expect_missing(sys, "late");
    cr_assert_eq(troupe_registry_size(sys), 1);
    troupe_system_destroy(sys);
}

Test(registry, stop_removes_the_name)
{
    shared sh;
    shared_init(&sh);
    troupe_system *sys = tt_system(2);
    troupe_ref r = tt_spawn(sys, &beh_a, &sh, NULL);
    cr_assert_eq(troupe_register(sys, "svc", r), 0);
    stop_and_wait(sys, r, 0);
    expect_missing(sys, "svc");
    cr_assert_eq(troupe_unregister(sys, "svc"), TROUPE_ENOTFOUND);
    /* the slot is likely reused by the next spawn: a new generation, and
     * the old name does not follow it */
    troupe_ref r2 = tt_spawn(sys, &beh_a, &sh, NULL);
    expect_missing(sys, "svc");
    cr_assert_eq(troupe_register(sys, "svc", r2), 0);
    troupe_ref got = whereis_ok(sys, "svc");
    cr_assert(troupe_ref_eq(got, r2));
    cr_assert(!troupe_ref_eq(got, r));
    cr_assert_eq(troupe_registry_size(sys), 1);
    troupe_system_destroy(sys);
}

/* A name is free again as soon as its actor is gone (troupe_alive says 0),
 * even before the actor's end has removed the entry. Repeated, so that
 * some rounds catch the register in that window. */
Test(registry, name_free_once_alive_is_zero)
{
    shared sh;
    shared_init(&sh);
    troupe_system *sys = tt_system(2);
    long rounds = tt_scaled(200, 20);
    troupe_ref prev = TROUPE_REF_NONE;
    for (long i = 0; i < rounds; i++) {
        troupe_ref r = tt_spawn(sys, &beh_a, &sh, NULL);
        if (!troupe_ref_is_none(prev)) {
            cr_assert_eq(troupe_stop(sys, prev), 0);
            tt_wait_dead(sys, prev);
        }
        int rc = troupe_register(sys, "hot", r);
        cr_assert_eq(rc, 0, "round %ld: %s", i, troupe_errname(rc));
        cr_assert(troupe_ref_eq(whereis_ok(sys, "hot"), r));
        prev = r;
    }
    wait_until(troupe_registry_size(sys) == 1);
    troupe_system_destroy(sys);
}

static unsigned long names_buckets(troupe_system *sys)
{
    return atomic_load(&sys->reg->names.size);
}

/* Thousands of names: the tables grow as names come and shrink as they go
 * (resize.c, on the call_rcu thread); every lookup is right throughout. */
Test(registry, many_names_grow_and_shrink)
{
    shared sh;
    shared_init(&sh);
    troupe_system *sys = tt_system(2);
    long n = tt_scaled(5000, 600), keep = 10;
    troupe_ref *refs = calloc((size_t)n, sizeof *refs);
    char name[32];
    for (long i = 0; i < n; i++) {
        refs[i] = tt_spawn(sys, i % 2 ? &beh_a : &beh_b, &sh, NULL);
        snprintf(name, sizeof name, "many/%ld", i);
        cr_assert_eq(troupe_register(sys, name, refs[i]), 0, "%s", name);
        if (i % 7 == 0) { /* look back while the table grows */
            snprintf(name, sizeof name, "many/%ld", i / 2);
            cr_assert(troupe_ref_eq(whereis_ok(sys, name), refs[i / 2]));
        }
    }
    cr_assert_eq(troupe_registry_size(sys), (size_t)n);
    /* at most one name per bucket once the resize has run */
    wait_until(names_buckets(sys) >= (unsigned long)n);
    cr_assert_lt(names_buckets(sys), 2ul * (unsigned long)n);
    size_t total = 0;
    cr_assert_eq(troupe_registry_by_behaviour(sys, &beh_a, NULL, 0, &total), 0);
    cr_assert_eq(total, (size_t)(n / 2));
    for (long i = 0; i < n; i++) {
        snprintf(name, sizeof name, "many/%ld", i);
        cr_assert(troupe_ref_eq(whereis_ok(sys, name), refs[i]), "%s", name);
    }
    for (long i = keep; i < n; i++) {
        snprintf(name, sizeof name, "many/%ld", i);
        cr_assert_eq(troupe_unregister(sys, name), 0, "%s", name);
    }
    cr_assert_eq(troupe_registry_size(sys), (size_t)keep);
    wait_until(names_buckets(sys) == REG_MIN_BUCKETS);
    for (long i = 0; i < n; i++) {
        snprintf(name, sizeof name, "many/%ld", i);
        if (i < keep)
            cr_assert(troupe_ref_eq(whereis_ok(sys, name), refs[i]), "%s", name);
        else
            expect_missing(sys, name);
    }
    troupe_system_destroy(sys);
    free(refs);
}

Test(registry, batch_lookup)
{
    shared sh;
    shared_init(&sh);
    troupe_system *sys = tt_system(2);
    enum { N = 10 };
    troupe_ref refs[N];
    char names[N][16];
    for (int i = 0; i < N; i++) {
        refs[i] = tt_spawn(sys, &beh_a, &sh, NULL);
        snprintf(names[i], sizeof names[i], "batch-%d", i);
        cr_assert_eq(troupe_register(sys, names[i], refs[i]), 0);
    }
    stop_and_wait(sys, refs[3], N - 1);
    const char *q[N + 4];
    for (int i = 0; i < N; i++)
        q[i] = names[N - 1 - i]; /* reversed */
    q[N] = "batch-99";
    q[N + 1] = NULL;
    q[N + 2] = "";
    q[N + 3] = "batch-0";
    troupe_ref out[N + 4];
    memset(out, 0xab, sizeof out);
    cr_assert_eq(troupe_whereis_batch(sys, q, N + 4, out), N - 1 + 1);
    for (int i = 0; i < N; i++) {
        int k = N - 1 - i;
        if (k == 3)
            cr_assert(troupe_ref_is_none(out[i]), "a stopped actor's name is not found");
        else
            cr_assert(troupe_ref_eq(out[i], refs[k]), "out[%d]", i);
    }
    for (int i = N; i < N + 3; i++)
        cr_assert(troupe_ref_is_none(out[i]), "out[%d]", i);
    cr_assert(troupe_ref_eq(out[N + 3], refs[0]));
    troupe_system_destroy(sys);
}

static bool contains(const troupe_ref *v, size_t n, troupe_ref r)
{
    for (size_t i = 0; i < n; i++)
        if (troupe_ref_eq(v[i], r))
            return true;
    return false;
}

Test(registry, lookup_by_behaviour)
{
    shared sh;
    shared_init(&sh);
    troupe_system *sys = tt_system(2);
    troupe_ref a[3], b[2];
    char name[16];
    for (int i = 0; i < 3; i++) {
        a[i] = tt_spawn(sys, &beh_a, &sh, NULL);
        snprintf(name, sizeof name, "a%d", i);
        cr_assert_eq(troupe_register(sys, name, a[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        b[i] = tt_spawn(sys, &beh_b, &sh, NULL);
        snprintf(name, sizeof name, "b%d", i);
        cr_assert_eq(troupe_register(sys, name, b[i]), 0);
    }
    tt_spawn(sys, &beh_a, &sh, NULL); /* unnamed: not listed */

    troupe_ref out[8];
    size_t total = 99;
    cr_assert_eq(troupe_registry_by_behaviour(sys, &beh_a, out, 8, &total), 3);
    cr_assert_eq(total, 3);
    for (int i = 0; i < 3; i++)
        cr_assert(contains(out, 3, a[i]), "a[%d] listed", i);
    cr_assert_eq(troupe_registry_by_behaviour(sys, &beh_b, out, 8, NULL), 2);
    for (int i = 0; i < 2; i++)
        cr_assert(contains(out, 2, b[i]), "b[%d] listed", i);
    /* a short buffer: the first `cap`, and the total */
    cr_assert_eq(troupe_registry_by_behaviour(sys, &beh_a, out, 2, &total), 2);
    cr_assert_eq(total, 3);
    cr_assert_eq(troupe_registry_by_behaviour(sys, &beh_a, NULL, 0, &total), 0);
    cr_assert_eq(troupe_registry_by_behaviour(sys, &beh_self, out, 8, &total), 0);
    cr_assert_eq(total, 0);
    /* unregistered and stopped actors drop out */
    cr_assert_eq(troupe_unregister(sys, "a0"), 0);
    stop_and_wait(sys, a[1], 3);
    cr_assert_eq(troupe_registry_by_behaviour(sys, &beh_a, out, 8, &total), 1);
    cr_assert_eq(total, 1);
    cr_assert(troupe_ref_eq(out[0], a[2]));
    troupe_system_destroy(sys);
}

Test(registry, info)
{
    shared sh;
    shared_init(&sh);
    troupe_clock *clk;
    troupe_system *sys = tt_system_manual(2, 1000, &clk);
    troupe_ref r = tt_spawn(sys, &beh_b, &sh, NULL);
    cr_assert_eq(troupe_clock_advance(clk, 4000), 0);
    cr_assert_eq(troupe_register(sys, "informed", r), 0);
    cr_assert_eq(troupe_clock_advance(clk, 1000), 0);

    troupe_registry_entry e;
    cr_assert_eq(troupe_registry_info(sys, "informed", &e), 0);
    cr_assert(troupe_ref_eq(e.ref, r));
    cr_assert_eq(e.beh, &beh_b);
    cr_assert_str_eq(e.behaviour, "reg.b");
    cr_assert_eq(e.registered_at_ns, 5000);
    cr_assert_eq(e.handled, 0);

    long n = 37;
    for (long i = 0; i < n; i++)
        cr_assert_eq(troupe_tell(sys, r, M_WORK, NULL, 0), 0);
    wait_until(atomic_load(&sh.handled) == n);
    /* the counter is bumped after each handler returns: wait for the last */
    wait_until(troupe_registry_info(sys, "informed", &e) == 0 && e.handled == (uint64_t)n);
    cr_assert_eq(e.handled, (uint64_t)n);
    cr_assert_eq(e.handled, tt_stats(sys, r).handled);
    cr_assert_eq(e.registered_at_ns, 5000);

    stop_and_wait(sys, r, 0);
    memset(&e, 0xab, sizeof e);
    cr_assert_eq(troupe_registry_info(sys, "informed", &e), TROUPE_ENOTFOUND);
    cr_assert(troupe_ref_is_none(e.ref));
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
}

/* From handlers: an actor registers itself in init; another looks it up
 * from its handler. A failed init leaves no name behind. */
Test(registry, from_handlers)
{
    shared sh, sh2;
    shared_init(&sh);
    shared_init(&sh2);
    troupe_system *sys = tt_system(2);
    self_arg sa = {.sh = &sh, .name = "selfie", .rc = 0};
    troupe_ref self = tt_spawn(sys, &beh_self, &sa, NULL);
    cr_assert_eq(atomic_load(&sh.init_rc), 0);
    cr_assert(troupe_ref_eq(whereis_ok(sys, "selfie"), self));

    troupe_ref looker = tt_spawn(sys, &beh_a, &sh2, NULL);
    cr_assert_eq(troupe_tell(sys, looker, M_LOOKUP, "selfie", sizeof "selfie"), 0);
    tt_probe(sys, looker);
    cr_assert_eq(atomic_load(&sh2.lookups), 1);
    cr_assert_eq(atomic_load(&sh2.lookup_rc), 0);
    cr_assert_eq(atomic_load(&sh2.lookup_ref), self.id);
    cr_assert_eq(troupe_tell(sys, looker, M_LOOKUP, "nobody", sizeof "nobody"), 0);
    tt_probe(sys, looker);
    cr_assert_eq(atomic_load(&sh2.lookup_rc), TROUPE_ENOTFOUND);
    cr_assert_eq(atomic_load(&sh2.lookup_ref), 0);

    shared sh3;
    shared_init(&sh3);
    self_arg doomed = {.sh = &sh3, .name = "doomed", .rc = -77};
    troupe_ref out = TROUPE_REF_NONE;
    cr_assert_eq(troupe_spawn(sys, &beh_self, &doomed, NULL, &out), -77);
    cr_assert_eq(atomic_load(&sh3.init_rc), 0, "registered during init");
    expect_missing(sys, "doomed");
    cr_assert_eq(troupe_registry_size(sys), 1, "the failed spawn's name is gone");
    troupe_system_destroy(sys);
}

static uint64_t restarts_of(troupe_system *sys, troupe_ref r)
{
    troupe_child_info ci;
    return troupe_child_info_get(sys, r, &ci) == 0 ? ci.restarts : 0;
}

/* A supervised child keeps its name across a restart (same ref, same
 * entry) and loses it when it ends for good. */
Test(registry, name_survives_supervised_restart)
{
    shared sh;
    shared_init(&sh);
    troupe_system *sys = tt_system(2);
    troupe_sup root;
    cr_assert_eq(troupe_sup_root(sys, &root), 0);
    troupe_child_spec spec;
    troupe_child_spec_defaults(&spec);
    spec.beh = &beh_a;
    spec.arg = &sh;
    spec.name = "supervised";
    spec.policy.kind = TROUPE_RESTART_ALWAYS;
    troupe_ref r = TROUPE_REF_NONE, r2 = TROUPE_REF_NONE;
    cr_assert_eq(troupe_sup_start_child(sys, root, &spec, &r), 0);
    cr_assert(troupe_ref_eq(whereis_ok(sys, "supervised"), r));
    cr_assert_eq(troupe_sup_start_child(sys, root, &spec, &r2), TROUPE_EEXIST, "name taken");
    troupe_registry_entry before, after;
    cr_assert_eq(troupe_registry_info(sys, "supervised", &before), 0);

    cr_assert_eq(troupe_tell(sys, r, M_PANIC, NULL, 0), 0);
    wait_until(restarts_of(sys, r) == 1);
    tt_probe(sys, r); /* the new incarnation runs */
    cr_assert(troupe_ref_eq(whereis_ok(sys, "supervised"), r), "same ref after the restart");
    cr_assert_eq(troupe_registry_info(sys, "supervised", &after), 0);
    cr_assert_eq(after.registered_at_ns, before.registered_at_ns, "the same entry");
    cr_assert_eq(troupe_registry_size(sys), 1);

    cr_assert_eq(troupe_sup_terminate_child(sys, r), 0);
    tt_wait_dead(sys, r);
    wait_until(troupe_registry_size(sys) == 0);
    expect_missing(sys, "supervised");
    troupe_system_destroy(sys);
}

Test(registry, out_of_memory)
{
    shared sh;
    shared_init(&sh);
    troupe_system *sys = tt_system(1);
    troupe_ref r = tt_spawn(sys, &beh_a, &sh, NULL);
    /* the actor's ext (first), then the entry (second) */
    for (long n = 0; n < 2; n++) {
        troupei_alloc_fail_after(n);
        int rc = troupe_register(sys, "scarce", r);
        troupei_alloc_fail_after(-1);
        cr_assert_eq(rc, TROUPE_ENOMEM, "failing allocation %ld: %s", n, troupe_errname(rc));
        cr_assert_eq(troupe_registry_size(sys), 0);
        expect_missing(sys, "scarce");
    }
    cr_assert_eq(troupe_register(sys, "scarce", r), 0);
    cr_assert(troupe_ref_eq(whereis_ok(sys, "scarce"), r));
    troupe_system_destroy(sys);
}

/* ---- concurrency ---------------------------------------------------------- */

#define C_THREADS 3
#define C_CONTESTED 16

typedef struct conc {
    troupe_system *sys;
    troupe_ref *refs;      /* actor i is only ever named n-i */
    long per;              /* actors per thread */
    long n;                /* C_THREADS * per */
    long rounds;
    troupe_ref contested[C_THREADS][C_CONTESTED]; /* thread t's candidates */
    atomic_int wins[C_CONTESTED];
    atomic_int winner[C_CONTESTED];
    atomic_long errors;    /* checked by the main thread */
    atomic_long found, missed;
    atomic_int go;
} conc;

typedef struct worker_arg {
    conc *c;
    int t;
} worker_arg;

static void note_error(conc *c, const char *what, long i, int rc)
{
    fprintf(stderr, "concurrency: %s %ld: %s\n", what, i, troupe_errname(rc));
    atomic_fetch_add(&c->errors, 1);
}

static bool will_stop(long i) { return i % 5 == 0; }

/* whereis of name n-i: not found, or exactly actor i. */
static void check_lookup(conc *c, long i)
{
    char name[32];
    snprintf(name, sizeof name, "n-%ld", i);
    troupe_ref r = TROUPE_REF_NONE;
    int rc = troupe_whereis(c->sys, name, &r);
    if (rc == 0 && troupe_ref_eq(r, c->refs[i]))
        atomic_fetch_add(&c->found, 1);
    else if (rc == TROUPE_ENOTFOUND && troupe_ref_is_none(r))
        atomic_fetch_add(&c->missed, 1);
    else
        note_error(c, "whereis gave another actor or code for", i, rc);
}

static void contest(conc *c, int t)
{
    char name[32];
    for (int j = 0; j < C_CONTESTED; j++) {
        snprintf(name, sizeof name, "contested-%d", j);
        int rc = troupe_register(c->sys, name, c->contested[t][j]);
        if (rc == 0) {
            atomic_fetch_add(&c->wins[j], 1);
            atomic_store(&c->winner[j], t);
        } else if (rc != TROUPE_EEXIST) {
            note_error(c, "contested register", j, rc);
        }
    }
}

static void *conc_worker(void *p)
{
    worker_arg *wa = p;
    conc *c = wa->c;
    long lo = wa->t * c->per, hi = lo + c->per;
    uint64_t seed = 0x9E3779B97F4A7C15ull * (uint64_t)(wa->t + 1);
    char name[32];
    while (!atomic_load(&c->go))
        relax();
    contest(c, wa->t);
    for (long i = lo; i < hi; i++) {
        snprintf(name, sizeof name, "n-%ld", i);
        int rc = troupe_register(c->sys, name, c->refs[i]);
        /* the stopper may have got there first */
        if (rc != 0 && !(rc == TROUPE_ENOACTOR && will_stop(i)))
            note_error(c, "register", i, rc);
        for (long k = 0; k < c->rounds; k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            check_lookup(c, (long)((seed >> 33) % (uint64_t)c->n));
        }
    }
    for (long i = lo; i < hi; i++) { /* unregister the odd ones */
        if (i % 2 == 0)
            continue;
        snprintf(name, sizeof name, "n-%ld", i);
        int rc = troupe_unregister(c->sys, name);
        if (rc != 0 && !(rc == TROUPE_ENOTFOUND && will_stop(i)))
            note_error(c, "unregister", i, rc);
    }
    return NULL;
}

static void *conc_stopper(void *p)
{
    conc *c = p;
    while (!atomic_load(&c->go))
        relax();
    for (long i = 0; i < c->n; i += 5) {
        int rc = troupe_stop(c->sys, c->refs[i]);
        if (rc != 0)
            note_error(c, "stop", i, rc);
    }
    return NULL;
}

Test(registry, threads_race_register_lookup_unregister_stop, .timeout = 240)
{
    shared sh;
    shared_init(&sh);
    conc *c = calloc(1, sizeof *c);
    cr_assert_not_null(c);
    c->sys = tt_system(2);
    c->per = tt_scaled(1000, 60);
    c->n = C_THREADS * c->per;
    c->rounds = 16;
    c->refs = calloc((size_t)c->n, sizeof *c->refs);
    for (long i = 0; i < c->n; i++)
        c->refs[i] = tt_spawn(c->sys, &beh_a, &sh, NULL);
    for (int t = 0; t < C_THREADS; t++)
        for (int j = 0; j < C_CONTESTED; j++)
            c->contested[t][j] = tt_spawn(c->sys, &beh_b, &sh, NULL);

    pthread_t th[C_THREADS + 1];
    worker_arg wa[C_THREADS];
    for (int t = 0; t < C_THREADS; t++) {
        wa[t] = (worker_arg){c, t};
        cr_assert_eq(pthread_create(&th[t], NULL, conc_worker, &wa[t]), 0);
    }
    cr_assert_eq(pthread_create(&th[C_THREADS], NULL, conc_stopper, c), 0);
    atomic_store(&c->go, 1);
    for (int t = 0; t <= C_THREADS; t++)
        pthread_join(th[t], NULL);
    cr_assert_eq(atomic_load(&c->errors), 0, "see stderr");
    cr_assert_gt(atomic_load(&c->found), 0);

    /* exact end state: contested names won once each; n-i registered iff i
     * is even and actor i was not stopped */
    size_t expect = C_CONTESTED;
    for (long i = 0; i < c->n; i++) {
        if (will_stop(i))
            tt_wait_dead(c->sys, c->refs[i]);
        else if (i % 2 == 0)
            expect++;
    }
    wait_until(troupe_registry_size(c->sys) == expect);
    char name[32];
    for (int j = 0; j < C_CONTESTED; j++) {
        cr_assert_eq(atomic_load(&c->wins[j]), 1, "contested-%d won %d times", j,
                     atomic_load(&c->wins[j]));
        snprintf(name, sizeof name, "contested-%d", j);
        troupe_ref r = whereis_ok(c->sys, name);
        cr_assert(troupe_ref_eq(r, c->contested[atomic_load(&c->winner[j])][j]));
    }
    for (long i = 0; i < c->n; i++) {
        snprintf(name, sizeof name, "n-%ld", i);
        if (will_stop(i) || i % 2)
            expect_missing(c->sys, name);
        else
            cr_assert(troupe_ref_eq(whereis_ok(c->sys, name), c->refs[i]), "n-%ld", i);
    }
    size_t total = 0;
    cr_assert_eq(troupe_registry_by_behaviour(c->sys, &beh_b, NULL, 0, &total), 0);
    cr_assert_eq(total, C_CONTESTED);
    cr_assert_eq(troupe_registry_by_behaviour(c->sys, &beh_a, NULL, 0, &total), 0);
    cr_assert_eq(total, expect - C_CONTESTED);
    troupe_system_destroy(c->sys);
    free(c->refs);
    free(c);
}

/* A lookup racing a stop: it finds the actor or nothing, and once
 * troupe_alive has said 0 (before the lookup began) it finds nothing. */
typedef struct race {
    troupe_system *sys;
    _Atomic uint64_t round_ref; /* the current round's actor, 0 = quit */
    atomic_long round;          /* bumped by main when round_ref is set */
    atomic_long done;           /* rounds the looker has finished */
    atomic_long errors, hits, misses;
} race;

static void *race_looker(void *p)
{
    race *rc_ = p;
    for (long seen = 0;;) {
        while (atomic_load(&rc_->round) == seen)
            relax();
        seen = atomic_load(&rc_->round);
        troupe_ref want = {atomic_load(&rc_->round_ref)};
        if (troupe_ref_is_none(want))
            return NULL;
        for (;;) {
            bool dead_before = !troupe_alive(rc_->sys, want);
            troupe_ref got = TROUPE_REF_NONE;
            int rc = troupe_whereis(rc_->sys, "racer", &got);
            if (rc == 0 && !troupe_ref_eq(got, want))
                atomic_fetch_add(&rc_->errors, 1); /* another actor */
            else if (rc == 0 && dead_before)
                atomic_fetch_add(&rc_->errors, 1); /* a stopped actor */
            else if (rc != 0 && rc != TROUPE_ENOTFOUND)
                atomic_fetch_add(&rc_->errors, 1);
            atomic_fetch_add(rc == 0 ? &rc_->hits : &rc_->misses, 1);
            if (dead_before)
                break;
        }
        atomic_store(&rc_->done, seen);
    }
}

Test(registry, lookup_racing_stop)
{
    shared sh;
    shared_init(&sh);
    race *rc_ = calloc(1, sizeof *rc_);
    rc_->sys = tt_system(2);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, race_looker, rc_), 0);
    long rounds = tt_scaled(300, 30);
    for (long i = 1; i <= rounds; i++) {
        troupe_ref r = tt_spawn(rc_->sys, &beh_a, &sh, NULL);
        cr_assert_eq(troupe_register(rc_->sys, "racer", r), 0, "round %ld", i);
        atomic_store(&rc_->round_ref, r.id);
        atomic_store(&rc_->round, i);
        cr_assert_eq(troupe_stop(rc_->sys, r), 0);
        wait_until(atomic_load(&rc_->done) == i);
        expect_missing(rc_->sys, "racer");
    }
    atomic_store(&rc_->round_ref, 0);
    atomic_store(&rc_->round, rounds + 1);
    pthread_join(th, NULL);
    cr_assert_eq(atomic_load(&rc_->errors), 0);
    cr_assert_eq(atomic_load(&rc_->hits) + atomic_load(&rc_->misses) >= rounds, 1);
    wait_until(troupe_registry_size(rc_->sys) == 0);
    troupe_system_destroy(rc_->sys);
    free(rc_);
}

/* Registering races the actor's stop: either the register loses (ENOACTOR)
 * or the end removes the name; nothing is left once the actor is gone. */
typedef struct reg_race {
    troupe_system *sys;
    _Atomic uint64_t ref;
    atomic_long round, done, ok, late, errors;
} reg_race;

static void *race_registrar(void *p)
{
    reg_race *x = p;
    for (long seen = 0;;) {
        while (atomic_load(&x->round) == seen)
            relax();
        seen = atomic_load(&x->round);
        troupe_ref r = {atomic_load(&x->ref)};
        if (troupe_ref_is_none(r))
            return NULL;
        int rc = troupe_register(x->sys, "fleeting", r);
        if (rc == 0)
            atomic_fetch_add(&x->ok, 1);
        else if (rc == TROUPE_ENOACTOR)
            atomic_fetch_add(&x->late, 1);
        else
            atomic_fetch_add(&x->errors, 1);
        atomic_store(&x->done, seen);
    }
}

Test(registry, register_racing_stop)
{
    shared sh;
    shared_init(&sh);
    reg_race *x = calloc(1, sizeof *x);
    x->sys = tt_system(2);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, race_registrar, x), 0);
    long rounds = tt_scaled(300, 30);
    for (long i = 1; i <= rounds; i++) {
        troupe_ref r = tt_spawn(x->sys, &beh_a, &sh, NULL);
        atomic_store(&x->ref, r.id);
        atomic_store(&x->round, i);
        cr_assert_eq(troupe_stop(x->sys, r), 0);
        tt_wait_dead(x->sys, r);
        wait_until(atomic_load(&x->done) == i);
        expect_missing(x->sys, "fleeting");
        wait_until(troupe_registry_size(x->sys) == 0);
    }
    atomic_store(&x->ref, 0);
    atomic_store(&x->round, rounds + 1);
    pthread_join(th, NULL);
    cr_assert_eq(atomic_load(&x->errors), 0);
    cr_assert_eq(atomic_load(&x->ok) + atomic_load(&x->late), rounds);
    troupe_system_destroy(x->sys);
    free(x);
}
