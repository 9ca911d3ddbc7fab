/* tests/supervisor/test_events.c — the event log (troupe_events_read)
 * written from many threads at once: workers report failures of plain
 * actors, the supervisor thread logs restarts, while the main thread reads
 * page after page. Every event must be read exactly once, in seq order,
 * with none lost (the total stays under TROUPE_EVENTS_KEPT... and if the
 * ring did go round, `dropped` accounts for the gap). Suite concurrency:
 * TSan runs it. */
#include "../support.h"

#include <pthread.h>

#define THREADS 4
#define PER_THREAD 40
#define FLAKY_FAILS 30

static int fail_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    (void)ctx, (void)st, (void)msg;
    return TROUPE_EINVAL;
}

static const troupe_behaviour fail_beh = {.name = "failer", .handle = fail_handle};

typedef struct spawner {
    troupe_system *sys;
    pthread_t th;
} spawner;

static void *spawn_and_fail(void *arg)
{
    spawner *s = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        troupe_ref r;
        if (troupe_spawn(s->sys, &fail_beh, NULL, NULL, &r) || troupe_tell(s->sys, r, 1, NULL, 0))
            tt_die("spawn or tell failed");
    }
    return NULL;
}

Test(events, concurrent_writers_one_reader, .timeout = 120)
{
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 4;
    troupe_system *sys;
    cr_assert_eq(troupe_system_create(&sys, &cfg), 0);
    troupe_sup root, group;
    cr_assert_eq(troupe_sup_root(sys, &root), 0);
    troupe_sup_spec ss;
    troupe_sup_spec_defaults(&ss);
    ss.name = "group";
    ss.intensity = 1000; /* FLAKY_FAILS restarts must not escalate */
    cr_assert_eq(troupe_sup_start_supervisor(sys, root, &ss, &group), 0);
    troupe_child_spec cs;
    troupe_child_spec_defaults(&cs);
    cs.beh = &fail_beh;
    cs.name = "flaky";
    cs.policy.kind = TROUPE_RESTART_ALWAYS;
    cs.policy.max_restarts = 1000;
    troupe_ref flaky;
    cr_assert_eq(troupe_sup_start_child(sys, group, &cs, &flaky), 0);

    spawner sp[THREADS];
    for (int i = 0; i < THREADS; i++) {
        sp[i].sys = sys;
        cr_assert_eq(pthread_create(&sp[i].th, NULL, spawn_and_fail, &sp[i]), 0);
    }
    for (int i = 0; i < FLAKY_FAILS; i++) /* each: a failure, then a restart */
        cr_assert_eq(troupe_tell(sys, flaky, 1, NULL, 0), 0);

    const uint64_t want = THREADS * PER_THREAD + 2 * FLAKY_FAILS;
    uint64_t since = 0, seen = 0, failures = 0, restarts = 0, flaky_events = 0;
    troupe_event ev[16];
    uint64_t start = tt_now_ns();
    while (since < want) {
        if (tt_now_ns() - start > HANG_LIMIT_NS)
            cr_assert_fail("hang guard: %llu of %llu events seen", (unsigned long long)seen,
                           (unsigned long long)want);
        troupe_events_page pg;
        cr_assert_eq(troupe_events_read(sys, since, NULL, ev, 16, &pg), 0);
        uint64_t expect = since + 1 + pg.dropped;
        for (size_t i = 0; i < pg.n; i++, expect++) {
            cr_assert_eq(ev[i].seq, expect, "seq %llu where %llu was next",
                         (unsigned long long)ev[i].seq, (unsigned long long)expect);
            failures += ev[i].kind == TROUPE_EVENT_FAILURE;
            restarts += ev[i].kind == TROUPE_EVENT_RESTART;
            flaky_events += strcmp(ev[i].name, "flaky") == 0;
        }
        seen += pg.n + pg.dropped;
        cr_assert_geq(pg.next, since);
        if (pg.n == 0)
            tt_sleep_ns(100000);
        since = pg.next;
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(sp[i].th, NULL);
    cr_expect_eq(since, want);
    cr_expect_eq(seen, want);
    cr_expect_eq(failures, THREADS * PER_THREAD + FLAKY_FAILS);
    cr_expect_eq(restarts, FLAKY_FAILS);
    cr_expect_eq(flaky_events, 2 * FLAKY_FAILS);
    troupe_system_destroy(sys);
}
