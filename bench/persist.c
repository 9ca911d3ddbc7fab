/* bench/persist.c — event-sourced actors on a real journal.
 *
 *   group_commit   100 persistent actors, each sent `per_actor` commands
 *                  that persist one event each; durable, applied events per
 *                  second (SQLite synchronous FULL; PostgreSQL too when
 *                  TROUPE_PG_CONNINFO is set)
 *   group_commit_1k  the same with 1,000 actors (a tenth of the commands
 *                  each)
 *   recover_1m     an actor with 1 M events (no snapshot): how long its
 *                  spawn takes (init + recovery of every event)
 *   recover_snap   the same history with snapshots every 1000 events
 *
 * Checks: every actor applied exactly its commands; the recovered states
 * equal what was written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

enum { B_ADD = 1, B_ADDN, B_GET, B_STATE };
#define NACT 100
#define NACT_MAX 1000

typedef struct bstate {
    uint64_t n, sum;
} bstate;

static int b_apply(troupe_ctx *ctx, void *state, const void *ev, size_t len)
{
    bstate *s = state;
    uint64_t v;
    if (len != sizeof v)
        return TROUPE_EINVAL;
    memcpy(&v, ev, sizeof v);
    s->n++;
    s->sum += v;
    (void)troupe_reply(ctx, B_STATE, s, sizeof *s);
    return 0;
}

static int b_snapshot(troupe_ctx *ctx, void *state, void **data, size_t *len)
{
    (void)ctx;
    if (!(*data = malloc(sizeof(bstate))))
        return TROUPE_ENOMEM;
    memcpy(*data, state, sizeof(bstate));
    *len = sizeof(bstate);
    return 0;
}

static int b_restore(troupe_ctx *ctx, void *state, const void *data, size_t len)
{
    (void)ctx;
    if (len != sizeof(bstate))
        return TROUPE_EINVAL;
    memcpy(state, data, len);
    return 0;
}

/* B_ADD persists its value; B_ADDN persists `n` values (a bulk command). */
static int b_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    uint64_t v = 0;
    if (m->size == sizeof v)
        memcpy(&v, m->data, sizeof v);
    if (m->type == B_GET)
        return troupe_reply(ctx, B_STATE, state, sizeof(bstate));
    if (m->type == B_ADD)
        return troupe_persist(ctx, &v, sizeof v);
    for (uint64_t i = 0; i < v; i++) {
        int rc = troupe_persist(ctx, &i, sizeof i);
        if (rc)
            return rc;
    }
    return 0;
}

static const troupe_persistence plain = {.apply = b_apply, .schema = 1};
static const troupe_persistence snapped = {.apply = b_apply, .snapshot = b_snapshot,
                                           .restore = b_restore, .schema = 1,
                                           .snapshot_every = 1000, .retention = 1000};
static const troupe_behaviour plain_beh = {.name = "bench_persist", .state_size = sizeof(bstate),
                                           .handle = b_handle, .persist = &plain};
static const troupe_behaviour snap_beh = {.name = "bench_persist_snap",
                                          .state_size = sizeof(bstate),
                                          .handle = b_handle, .persist = &snapped};

static troupe_system *sys_on(troupe_journal *j)
{
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.journal = j;
    troupe_system *sys;
    if (troupe_system_create(&sys, &cfg))
        bench_fail("system_create");
    return sys;
}

static troupe_ref spawn_pid(troupe_system *sys, const troupe_behaviour *b, const char *pid)
{
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.persistence_id = pid;
    troupe_ref r;
    int rc = troupe_spawn(sys, b, NULL, &o, &r);
    if (rc)
        bench_fail("spawn %s: %s", pid, troupe_strerror(rc));
    return r;
}

static bstate get(troupe_system *sys, troupe_ref r)
{
    bstate s;
    uint32_t t;
    if (troupe_ask(sys, r, B_GET, NULL, 0, 600000000000ull, &t, &s, sizeof s, NULL))
        bench_fail("get");
    return s;
}

/* 100 actors, per_actor commands each, all sent at once: the writer's
 * batches hold up to one event per waiting actor. */
static void group_commit(troupe_journal *j, const char *bench, const char *impl,
                         uint64_t per_actor, int nact)
{
    troupe_system *sys = sys_on(j);
    static troupe_ref r[NACT_MAX];
    char pid[64];
    for (int i = 0; i < nact; i++) {
        snprintf(pid, sizeof pid, "gc-%d-%d-%llu", getpid(), i, (unsigned long long)bench_now_ns());
        r[i] = spawn_pid(sys, &plain_beh, pid);
    }
    troupe_journal_stats st0, st;
    troupe_journal_stats_get(j, &st0); /* this case's commits only */
    uint64_t t0 = bench_now_ns();
    for (uint64_t k = 0; k < per_actor; k++)
        for (int i = 0; i < nact; i++)
            bench_check(troupe_tell(sys, r[i], B_ADD, &k, sizeof k), "tell");
    for (int i = 0; i < nact; i++) /* a GET waits behind every ADD */
        if (get(sys, r[i]).n != per_actor)
            bench_fail("actor %d applied a wrong count", i);
    double s = (double)(bench_now_ns() - t0) / 1e9;
    troupe_journal_stats_get(j, &st);
    bench_summary_impl(bench, impl, "events_per_s", (double)(nact * per_actor) / s,
                       "events/s");
    bench_summary_impl(bench, impl, "events_per_commit",
                       (double)(st.events - st0.events) /
                           (double)(st.commits > st0.commits ? st.commits - st0.commits : 1),
                       "events");
    troupe_system_destroy(sys);
}

/* Write n events to pid through bulk commands (1000 events each). */
static void fill(troupe_journal *j, const troupe_behaviour *b, const char *pid, uint64_t n)
{
    troupe_system *sys = sys_on(j);
    troupe_ref r = spawn_pid(sys, b, pid);
    uint64_t chunk = 1000;
    for (uint64_t done = 0; done < n; done += chunk)
        bench_check(troupe_tell(sys, r, B_ADDN, &chunk, sizeof chunk), "tell");
    if (get(sys, r).n != n)
        bench_fail("fill %s", pid);
    troupe_system_destroy(sys);
}

static void recover(troupe_journal *j, const troupe_behaviour *b, const char *pid, uint64_t n,
                    const char *bench, const char *impl)
{
    troupe_system *sys = sys_on(j);
    uint64_t t0 = bench_now_ns();
    troupe_ref r = spawn_pid(sys, b, pid); /* returns once recovered */
    double ms = (double)(bench_now_ns() - t0) / 1e6;
    bstate s = get(sys, r);
    if (s.n != n || s.sum != (n / 1000) * (999ull * 1000 / 2))
        bench_fail("%s: recovered n %llu", bench, (unsigned long long)s.n);
    bench_summary_impl(bench, impl, "recovery_ms", ms, "ms");
    troupe_system_destroy(sys);
}

static void run(troupe_journal *j, const char *impl, double scale)
{
    group_commit(j, "persist_group_commit", impl, bench_scaled(2000, scale, 50), NACT);
    group_commit(j, "persist_group_commit_1k", impl, bench_scaled(200, scale, 5), NACT_MAX);
    uint64_t n = bench_scaled(1000000, scale, 10000) / 1000 * 1000;
    char a[64], b[64];
    snprintf(a, sizeof a, "rec-%d-%llu", getpid(), (unsigned long long)bench_now_ns());
    snprintf(b, sizeof b, "snap-%d-%llu", getpid(), (unsigned long long)bench_now_ns());
    fill(j, &plain_beh, a, n);
    recover(j, &plain_beh, a, n, "persist_recover_1m", impl);
    fill(j, &snap_beh, b, n);
    recover(j, &snap_beh, b, n, "persist_recover_snapshot", impl);
}

int main(int argc, char **argv)
{
    double scale = bench_scale(argc, argv);
    char dir[] = "/tmp/troupe-bench-persist-XXXXXX";
    if (!mkdtemp(dir))
        bench_fail("mkdtemp");
    troupe_journal *j;
    bench_check(troupe_journal_open_sqlite(dir, TROUPE_SQLITE_FULL, &j), "open sqlite");
    run(j, "troupe_sqlite_full", scale);
    troupe_journal_close(j);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        bench_fail("rm");
    /* the runtime's own ceiling: the same group commit with no storage */
    bench_check(troupe_journal_open_memory(&j), "open memory");
    group_commit(j, "persist_group_commit", "troupe_memory", bench_scaled(2000, scale, 50), NACT);
    troupe_journal_close(j);
    const char *pg = getenv("TROUPE_PG_CONNINFO");
    if (pg && *pg) {
        bench_check(troupe_journal_open_postgres(pg, &j), "open postgres");
        run(j, "troupe_postgres", scale);
        troupe_journal_close(j);
    }
    return 0;
}
