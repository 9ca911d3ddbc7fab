/* tests/persistence/test_recovery.c — schema upgrades, crash consistency
 * (a child process killed with SIGKILL at random moments, 200 times), and
 * corrupt rows, against the journal named by TROUPE_TEST_BACKEND (sqlite
 * by default here: a process crash needs a journal that outlives it). */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/wait.h>

#include "pers_support.h"

static troupe_journal *journal_at(const char *dir)
{
    const char *kind = getenv("TROUPE_TEST_BACKEND");
    troupe_journal *j = NULL;
    int rc = kind && strcmp(kind, "postgres") == 0
                 ? troupe_journal_open_postgres(getenv("TROUPE_PG_CONNINFO"), &j)
                 : troupe_journal_open_sqlite(dir, TROUPE_SQLITE_FULL, &j);
    return rc == 0 ? j : NULL;
}

/* ---- schema upgrade: version 1 wrote 4-byte values, version 2 reads 8 ---- */

typedef struct ledger_v1 {
    uint32_t n, sum;
} ledger_v1;

static int v1_apply(troupe_ctx *ctx, void *state, const void *ev, size_t len)
{
    ledger_v1 *s = state;
    uint32_t v;
    if (len != sizeof v)
        return TROUPE_EINVAL;
    memcpy(&v, ev, sizeof v);
    s->n++;
    s->sum += v;
    troupe_reply(ctx, P_STATE, s, sizeof *s);
    return 0;
}

static int v1_snapshot(troupe_ctx *ctx, void *state, void **data, size_t *len)
{
    (void)ctx;
    *data = malloc(sizeof(ledger_v1));
    memcpy(*data, state, sizeof(ledger_v1));
    *len = sizeof(ledger_v1);
    return 0;
}

static int v1_restore(troupe_ctx *ctx, void *state, const void *data, size_t len)
{
    (void)ctx;
    memcpy(state, data, len);
    return 0;
}

static int v1_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    (void)state;
    uint32_t v = (uint32_t)*(const uint64_t *)m->data;
    return troupe_persist(ctx, &v, sizeof v);
}

static const troupe_persistence v1_persist = {.apply = v1_apply, .snapshot = v1_snapshot,
                                              .restore = v1_restore, .schema = 1,
                                              .snapshot_every = 5, .retention = UINT64_MAX};
static const troupe_behaviour v1_beh = {.name = "ledger-v1", .state_size = sizeof(ledger_v1),
                                        .handle = v1_handle, .persist = &v1_persist};

/* Version 2 is ledger (8-byte values, the ledger state) with an upgrade. */
static atomic_int upgrades;

static int v2_upgrade(troupe_persist_kind kind, uint32_t from, const void *in, size_t in_len,
                      void **out, size_t *out_len)
{
    if (from != 1)
        return TROUPE_EINVAL;
    atomic_fetch_add(&upgrades, 1);
    if (kind == TROUPE_PERSIST_EVENT) {
        uint32_t v;
        if (in_len != sizeof v)
            return TROUPE_EINVAL;
        memcpy(&v, in, sizeof v);
        uint64_t w = v;
        *out = malloc(sizeof w);
        memcpy(*out, &w, sizeof w);
        *out_len = sizeof w;
        return 0;
    }
    /* the v1 snapshot has no hash: rebuild as v2 would have, from 1..n */
    ledger_v1 o;
    memcpy(&o, in, sizeof o);
    ledger *s = calloc(1, sizeof *s);
    for (uint64_t v = 1; v <= o.n; v++)
        ledger_apply_value(s, v);
    *out = s;
    *out_len = sizeof *s;
    return 0;
}

static const troupe_persistence v2_persist = {.apply = ledger_apply, .snapshot = ledger_snapshot,
                                              .restore = ledger_restore, .schema = 2,
                                              .upgrade = v2_upgrade, .snapshot_every = 100};
static const troupe_behaviour v2_beh = {.name = "ledger-v2", .state_size = sizeof(ledger),
                                        .handle = ledger_handle, .persist = &v2_persist};

Test(recovery, version_1_events_recover_into_version_2, .timeout = 900)
{
    char *dir = pers_tmpdir();
    troupe_journal *j = journal_at(dir);
    cr_assert_not_null(j);
    troupe_system *sys = pers_system(j, 2);
    char id[64];
    snprintf(id, sizeof id, "upgrade-%d-%llu", getpid(), (unsigned long long)tt_now_ns());
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.persistence_id = id;
    troupe_ref r1 = tt_spawn(sys, &v1_beh, NULL, &o);
    for (uint64_t v = 1; v <= 12; v++) { /* snapshot (v1) at 5 and 10 */
        ledger_v1 s;
        uint32_t rt;
        cr_assert_eq(troupe_ask(sys, r1, P_ADD, &v, sizeof v, ASK_FOREVER_NS, &rt, &s, sizeof s, NULL), 0);
        cr_assert_eq(s.n, v);
    }
    troupe_stop(sys, r1);
    tt_wait_dead(sys, r1);
    troupe_journal_stats st;
    wait_until(troupe_journal_stats_get(j, &st) == 0 && st.snapshots == 2);
    troupe_ref r2 = tt_spawn(sys, &v2_beh, NULL, &o);
    ledger model = {0};
    for (uint64_t v = 1; v <= 12; v++)
        ledger_apply_value(&model, v);
    ledger got = ledger_ask(sys, r2, P_GET, 0);
    cr_assert_eq(memcmp(&got, &model, sizeof got), 0);
    cr_assert_eq(atomic_load(&upgrades), 3, "the v1 snapshot at 10, then events 11 and 12");
    ledger_apply_value(&model, 13);
    got = ledger_ask(sys, r2, P_ADD, 13); /* written as version 2 */
    cr_assert_eq(memcmp(&got, &model, sizeof got), 0);
    troupe_system_destroy(sys);
    troupe_journal_close(j);
    pers_rmdir(dir);
}

/* ---- crash consistency ------------------------------------------------- */

/* The child: adds 1, 2, 3, ... after what it recovered, writing each value
 * to the pipe once its ADD was acknowledged (durable and applied). */
static void crash_child(const char *dir, const char *id, int fd)
{
    troupe_journal *j = journal_at(dir);
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 2;
    cfg.pin = 0;
    cfg.journal = j;
    troupe_system *sys;
    troupe_ref r;
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.persistence_id = id;
    if (!j || troupe_system_create(&sys, &cfg) || troupe_spawn(sys, &ledger_beh, NULL, &o, &r))
        _exit(3);
    ledger s;
    uint64_t zero = 0;
    if (troupe_ask(sys, r, P_GET, &zero, sizeof zero, ASK_FOREVER_NS, NULL, &s, sizeof s, NULL))
        _exit(4);
    for (uint64_t v = s.n + 1;; v++) {
        if (troupe_ask(sys, r, P_ADD, &v, sizeof v, ASK_FOREVER_NS, NULL, &s, sizeof s, NULL) ||
            write(fd, &v, sizeof v) != sizeof v)
            _exit(5);
    }
}

/* Read acknowledged values until n more came (n < 0: until EOF). */
static uint64_t read_acks(int fd, long n, uint64_t last)
{
    uint64_t v;
    while (n-- != 0 && read(fd, &v, sizeof v) == sizeof v) {
        cr_assert_eq(v, last + 1, "acks arrive in order");
        last = v;
    }
    return last;
}

/* PostgreSQL: a killed client's COMMIT may still be running on the server
 * (it completes once received). Wait until the server has ended every other
 * session of the database before reading the state as the kill left it. */
static void pg_settle(void)
{
    const char *kind = getenv("TROUPE_TEST_BACKEND");
    if (!kind || strcmp(kind, "postgres") != 0)
        return;
    PGconn *c = PQconnectdb(getenv("TROUPE_PG_CONNINFO"));
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    const char *q = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND backend_type = 'client backend'";
    for (;;) {
        PGresult *r = PQexec(c, q);
        cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
        int others = atoi(PQgetvalue(r, 0, 0));
        PQclear(r);
        if (others == 0)
            break;
        tt_sleep_ns(1000000); /* a poll; the test's timeout is the hang guard */
    }
    PQfinish(c);
}

static ledger recovered(const char *dir, const char *id)
{
    troupe_journal *j = journal_at(dir);
    cr_assert_not_null(j);
    troupe_system *sys = pers_system(j, 2);
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.persistence_id = id;
    troupe_ref r = tt_spawn(sys, &ledger_beh, NULL, &o);
    ledger s = ledger_ask(sys, r, P_GET, 0);
    troupe_system_destroy(sys);
    troupe_journal_close(j);
    return s;
}

Test(recovery, sigkill_loses_nothing_acknowledged, .timeout = 900)
{
    char *dir = pers_tmpdir();
    char id[64];
    snprintf(id, sizeof id, "crash-%d-%llu", getpid(), (unsigned long long)tt_now_ns());
    const char *env = getenv("TROUPE_CRASH_KILLS");
    int kills = env ? atoi(env) : 200;
    uint64_t acked = 0, rng = 0x9E3779B97F4A7C15ull;
    for (int k = 0; k < kills; k++) {
        int p[2];
        cr_assert_eq(pipe(p), 0);
        pid_t child = fork();
        cr_assert_geq(child, 0);
        if (child == 0) {
            close(p[0]);
            crash_child(dir, id, p[1]);
        }
        close(p[1]);
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        acked = read_acks(p[0], (long)(rng % 8), acked); /* 0..7 more acks, */
        tt_sleep_ns(rng % 2000000);                       /* then 0..2 ms */
        kill(child, SIGKILL);
        int st;
        cr_assert_eq(waitpid(child, &st, 0), child);
        cr_assert(WIFSIGNALED(st), "child %d exited early (%d)", k, WEXITSTATUS(st));
        acked = read_acks(p[0], -1, acked);
        close(p[0]);
        pg_settle();
        ledger s = recovered(dir, id);
        cr_assert(s.n == acked || s.n == acked + 1, "kill %d: %llu recovered, %llu acked", k,
                  (unsigned long long)s.n, (unsigned long long)acked);
        ledger model = {0};
        for (uint64_t v = 1; v <= s.n; v++)
            ledger_apply_value(&model, v);
        cr_assert_eq(memcmp(&s, &model, sizeof s), 0, "kill %d: the recovered state is 1..%llu",
                     k, (unsigned long long)s.n);
        acked = s.n; /* an event durable but not acked is acked by recovery */
    }
    cr_assert_gt(acked, 0);
    pers_rmdir(dir);
}
