/* tests/persistence/test_persist.c — event-sourced actors through the public
 * API, against the journal named by TROUPE_TEST_BACKEND (memory, sqlite —
 * a real file in a temporary directory — or postgres, with
 * TROUPE_PG_CONNINFO from tests/persistence/run_pg.sh). */
#include <criterion/criterion.h>
#include <unistd.h>

#include "pers_support.h"

static char *jdir;

static troupe_journal *open_journal(void)
{
    const char *kind = getenv("TROUPE_TEST_BACKEND");
    troupe_journal *j = NULL;
    int rc;
    if (!kind || strcmp(kind, "memory") == 0) {
        rc = troupe_journal_open_memory(&j);
    } else if (strcmp(kind, "sqlite") == 0) {
        if (!jdir)
            jdir = pers_tmpdir();
        rc = troupe_journal_open_sqlite(jdir, TROUPE_SQLITE_FULL, &j);
    } else {
        rc = troupe_journal_open_postgres(getenv("TROUPE_PG_CONNINFO"), &j);
    }
    cr_assert_eq(rc, 0, "journal %s: %s", kind ? kind : "memory", troupe_errname(rc));
    return j;
}

static void close_journal(troupe_journal *j)
{
    troupe_journal_close(j);
    if (jdir) {
        pers_rmdir(jdir);
        jdir = NULL;
    }
}

/* A unique persistence id per test run (postgres keeps rows across runs
 * of one server; the others start empty). */
static const char *pid(const char *base)
{
    static char buf[96];
    snprintf(buf, sizeof buf, "%s-%d-%llu", base, getpid(), (unsigned long long)tt_now_ns());
    return buf;
}

Test(persist, add_is_durable_then_applied_and_replied, .timeout = 300)
{
    troupe_journal *j = open_journal();
    troupe_system *sys = pers_system(j, 2);
    troupe_ref r = ledger_spawn(sys, pid("add"));
    ledger model = {0};
    for (uint64_t v = 1; v <= 50; v++) {
        ledger_apply_value(&model, v);
        ledger s = ledger_ask(sys, r, P_ADD, v);
        cr_assert_eq(memcmp(&s, &model, sizeof s), 0, "the reply shows the event applied");
    }
    troupe_journal_stats st;
    cr_assert_eq(troupe_journal_stats_get(j, &st), 0);
    cr_assert_eq(st.events, 50);
    cr_assert_eq(st.failures, 0);
    troupe_system_destroy(sys);
    close_journal(j);
}

/* Commands queued behind an ADD wait until it is durable and applied. */
Test(persist, commands_wait_for_durability, .timeout = 300)
{
    troupe_journal *j = open_journal();
    troupe_system *sys = pers_system(j, 2);
    troupe_ref r = ledger_spawn(sys, pid("wait"));
    for (uint64_t v = 1; v <= 200; v++) {
        uint64_t x = v;
        cr_assert_eq(troupe_tell(sys, r, P_ADD, &x, sizeof x), 0);
    }
    ledger s = ledger_ask(sys, r, P_GET, 0);
    cr_assert_eq(s.n, 200, "GET was handled after every ADD before it was applied");
    troupe_system_destroy(sys);
    close_journal(j);
}

Test(persist, failed_handler_persists_nothing, .timeout = 300)
{
    troupe_journal *j = open_journal();
    troupe_config cfg = tt_config(2, NULL);
    cfg.journal = j;
    troupe_system *sys = tt_system_cfg(&cfg);
    const char *id = pid("fail");
    troupe_ref r = ledger_spawn(sys, id);
    ledger_ask(sys, r, P_ADD, 7);
    uint64_t v = 1000;
    cr_assert_eq(troupe_tell(sys, r, P_ADD_FAIL, &v, sizeof v), 0);
    tt_wait_dead(sys, r);
    troupe_ref again = ledger_spawn(sys, id);
    ledger s = ledger_ask(sys, again, P_GET, 0);
    cr_assert_eq(s.n, 1);
    cr_assert_eq(s.sum, 7);
    troupe_system_destroy(sys);
    close_journal(j);
}

/* Random commands against a model, panics (supervised restarts) at random
 * points: after each restart the state is exactly the model's. */
Test(persist, recovery_matches_model_across_restarts, .timeout = 300)
{
    troupe_journal *j = open_journal();
    troupe_config cfg = tt_config(2, NULL);
    cfg.journal = j;
    cfg.root_intensity = 1000; /* every panic here is on purpose */
    troupe_system *sys = tt_system_cfg(&cfg);
    troupe_child_spec s;
    troupe_child_spec_defaults(&s);
    s.beh = &ledger_beh;
    s.name = "ledger-model";
    s.opts.persistence_id = pid("model");
    s.policy.kind = TROUPE_RESTART_ALWAYS;
    troupe_sup root;
    cr_assert_eq(troupe_sup_root(sys, &root), 0);
    troupe_ref r;
    cr_assert_eq(troupe_sup_start_child(sys, root, &s, &r), 0);
    ledger model = {0};
    uint64_t rng = 88172645463325252ull;
    long restarts = 0;
    for (int i = 0; i < 600; i++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        uint64_t v = rng % 1000;
        if (rng % 23 == 0) {
            cr_assert_eq(troupe_tell(sys, r, P_PANIC, NULL, 0), 0);
            restarts++;
            troupe_child_info ci;
            wait_until(troupe_child_info_get(sys, r, &ci) == 0 && ci.restarts == (uint64_t)restarts);
            ledger got = ledger_ask(sys, r, P_GET, 0);
            cr_assert_eq(memcmp(&got, &model, sizeof got), 0, "restart %ld: n %llu vs %llu",
                         restarts, (unsigned long long)got.n, (unsigned long long)model.n);
        } else if (rng % 3 == 0) {
            ledger_apply_value(&model, v);
            ledger_apply_value(&model, v + 1);
            ledger got = ledger_ask(sys, r, P_ADD2, v);
            cr_assert_eq(memcmp(&got, &model, sizeof got), 0);
        } else {
            ledger_apply_value(&model, v);
            ledger got = ledger_ask(sys, r, P_ADD, v);
            cr_assert_eq(memcmp(&got, &model, sizeof got), 0);
        }
    }
    cr_assert_gt(restarts, 5);
    troupe_journal_stats st;
    troupe_journal_stats_get(j, &st);
    cr_assert_gt(st.snapshots, 0, "snapshots every 100 events");
    troupe_system_destroy(sys);
    close_journal(j);
}

/* With a snapshot, recovery applies only the events after it. */
Test(persist, snapshot_bounds_recovery, .timeout = 300)
{
    troupe_journal *j = open_journal();
    troupe_system *sys = pers_system(j, 2);
    const char *id = pid("snap");
    char idc[96];
    snprintf(idc, sizeof idc, "%s", id);
    troupe_ref r = ledger_spawn(sys, idc);
    ledger model = {0};
    for (uint64_t v = 0; v < 250; v++) {
        ledger_apply_value(&model, v);
        ledger_ask(sys, r, P_ADD, v);
    }
    troupe_stop(sys, r);
    tt_wait_dead(sys, r);
    troupe_journal_stats st;
    wait_until(troupe_journal_stats_get(j, &st) == 0 && st.snapshots == 2);
    atomic_store(&ledger_applies, 0);
    troupe_ref again = ledger_spawn(sys, idc);
    ledger got = ledger_ask(sys, again, P_GET, 0);
    cr_assert_eq(memcmp(&got, &model, sizeof got), 0);
    cr_assert_eq(atomic_load(&ledger_applies), 50, "snapshot at 200, then 50 events");
    troupe_system_destroy(sys);
    close_journal(j);
}

Test(persist, bad_input_and_state, .timeout = 300)
{
    troupe_journal *j = open_journal();
    troupe_system *sys = pers_system(j, 1);
    troupe_ref r;
    cr_assert_eq(troupe_spawn(sys, &ledger_beh, NULL, NULL, &r), TROUPE_EINVAL, "no persistence id");
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    char longid[TROUPE_PERSIST_ID_MAX + 2];
    memset(longid, 'x', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    o.persistence_id = longid;
    cr_assert_eq(troupe_spawn(sys, &ledger_beh, NULL, &o, &r), TROUPE_EINVAL);
    cr_assert_eq(troupe_persist(NULL, "x", 1), TROUPE_EINVAL);
    cr_assert_eq(troupe_persist_seq(NULL), 0);
    troupe_system_destroy(sys);
    troupe_system *nosys = tt_system(1); /* no journal configured */
    o.persistence_id = "p";
    cr_assert_eq(troupe_spawn(nosys, &ledger_beh, NULL, &o, &r), TROUPE_ESTATE);
    troupe_system_destroy(nosys);
    troupe_journal *bad = NULL;
    cr_assert_eq(troupe_journal_open_sqlite(NULL, TROUPE_SQLITE_FULL, &bad), TROUPE_EINVAL);
    cr_assert_eq(troupe_journal_open_sqlite("/tmp", 7, &bad), TROUPE_EINVAL);
    cr_assert_eq(troupe_journal_open_memory(NULL), TROUPE_EINVAL);
    cr_assert_eq(troupe_journal_stats_get(NULL, NULL), TROUPE_EINVAL);
    troupe_journal_close(NULL);
    close_journal(j);
}

/* troupe_persist_reply: the answer is composed in the handler but sent only
 * once the event is durable and applied (a GET after it sees it applied). */
Test(persist, persist_reply_is_sent_after_durability, .timeout = 300)
{
    troupe_journal *j = open_journal();
    troupe_system *sys = pers_system(j, 2);
    troupe_ref r = ledger_spawn(sys, pid("reply"));
    for (uint64_t v = 1; v <= 20; v++) {
        uint64_t got = 0;
        uint32_t rt = 0;
        cr_assert_eq(troupe_ask(sys, r, P_ADD_R, &v, sizeof v, ASK_FOREVER_NS, &rt, &got,
                                sizeof got, NULL), 0);
        cr_assert_eq(rt, P_ECHO);
        cr_assert_eq(got, v);
        troupe_journal_stats st;
        cr_assert_eq(troupe_journal_stats_get(j, &st), 0);
        cr_assert_geq(st.events, v, "the reply came after the event was written");
    }
    ledger s = ledger_ask(sys, r, P_GET, 0);
    cr_assert_eq(s.n, 20);
    uint64_t v = 1;
    cr_assert_eq(troupe_persist_reply(NULL, 1, &v, sizeof v), TROUPE_EINVAL);
    troupe_system_destroy(sys);
    close_journal(j);
}

/* An apply that answers with troupe_reply's own result, as a handler would:
 * during recovery no ask waits for the event, and the reply goes to no one
 * (0) instead of failing the start (issue 13: troupe_reply returned
 * TROUPE_ESTATE there, and the respawn failed). */
static int strict_apply(troupe_ctx *ctx, void *state, const void *ev, size_t len)
{
    ledger *s = state;
    uint64_t v;
    if (len != sizeof v)
        return TROUPE_EINVAL;
    memcpy(&v, ev, sizeof v);
    ledger_apply_value(s, v);
    return troupe_reply(ctx, P_STATE, s, sizeof *s);
}

static const troupe_persistence strict_persist = {.apply = strict_apply, .schema = 1};
static const troupe_behaviour strict_beh = {.name = "ledger-strict",
                                            .state_size = sizeof(ledger),
                                            .handle = ledger_handle,
                                            .persist = &strict_persist};

Test(persist, a_reply_during_recovery_does_not_fail_the_start, .timeout = 300)
{
    troupe_journal *j = open_journal();
    troupe_system *sys = pers_system(j, 2);
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.persistence_id = pid("strict");
    troupe_ref r = tt_spawn(sys, &strict_beh, NULL, &o);
    ledger model = {0};
    for (uint64_t v = 1; v <= 3; v++) {
        ledger_apply_value(&model, v);
        ledger s = ledger_ask(sys, r, P_ADD, v);
        cr_assert_eq(memcmp(&s, &model, sizeof s), 0);
    }
    cr_assert_eq(troupe_stop(sys, r), 0);
    wait_until(!troupe_alive(sys, r));
    troupe_ref again;
    int rc = troupe_spawn(sys, &strict_beh, NULL, &o, &again);
    cr_assert_eq(rc, 0, "recovery replied to no one: %s", troupe_errname(rc));
    ledger s = ledger_ask(sys, again, P_GET, 0);
    cr_expect_eq(memcmp(&s, &model, sizeof s), 0, "recovered: n %llu",
                 (unsigned long long)s.n);
    troupe_system_destroy(sys);
    close_journal(j);
}
