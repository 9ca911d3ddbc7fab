/* tests/core/test_failure.c — troupe_panic, handler errors, the on_failure
 * hook, what happens to the failed actor and its messages. */
#include "../support.h"

enum {
    M_PANIC = 1,  /* troupe_panic(payload as text) */
    M_ERROR,      /* return the int32 payload */
    M_COUNT,      /* count */
    M_PTR_PANIC,  /* pointer payload, then panic */
    M_PTR_COUNT,  /* pointer payload, count */
    M_GATE,       /* wait on the gate */
    M_WORKER,     /* ask: reply troupe_ctx_worker */
    M_PANIC_NULL, /* troupe_panic(NULL) */
};

/* ---- what the hook saw ----------------------------------------------------------- */

typedef struct hook_log {
    pthread_mutex_t mu;
    int calls;
    troupe_failure last;
    char reason[TROUPE_REASON_MAX];
    char behaviour[32];
    int stats_rc;
    troupe_mailbox_stats stats; /* the failed actor's, read in the hook */
    troupe_system *sys;
} hook_log;

static void on_failure(const troupe_failure *f, void *ud)
{
    hook_log *h = ud;
    pthread_mutex_lock(&h->mu);
    h->calls++;
    h->last = *f;
    memcpy(h->reason, f->reason, TROUPE_REASON_MAX);
    snprintf(h->behaviour, sizeof h->behaviour, "%s", f->behaviour ? f->behaviour : "(null)");
    memset(&h->stats, 0, sizeof h->stats);
    h->stats_rc = troupe_actor_stats(h->sys, f->actor, &h->stats);
    pthread_mutex_unlock(&h->mu);
}

static int hook_calls(hook_log *h)
{
    pthread_mutex_lock(&h->mu);
    int n = h->calls;
    pthread_mutex_unlock(&h->mu);
    return n;
}

/* ---- the actor ---------------------------------------------------------------------- */

typedef struct shared {
    atomic_int count;
    atomic_int stops;
    atomic_int stop_kind;
    atomic_int ptr_handled;
    atomic_int after_failure;
    tt_gate gate;
} shared;

typedef struct st {
    shared *sh;
    int failed;
} st;

static void shared_init(shared *s)
{
    memset(s, 0, sizeof *s);
    atomic_init(&s->stop_kind, -1);
    tt_gate_init(&s->gate);
}

static int h_victim(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    st *s = state;
    shared *sh = s->sh;
    if (s->failed)
        atomic_fetch_add(&sh->after_failure, 1);
    if (tt_is_probe(ctx, m))
        return 0;
    switch (m->type) {
    case M_PANIC: {
        char reason[256];
        size_t n = m->size < sizeof reason - 1 ? m->size : sizeof reason - 1;
        memcpy(reason, m->data, n);
        reason[n] = 0;
        s->failed = 1;
        troupe_panic(reason);
        tt_die("troupe_panic returned inside a handler");
    }
    case M_PANIC_NULL:
        s->failed = 1;
        troupe_panic(NULL);
        tt_die("troupe_panic returned inside a handler");
    case M_ERROR: {
        int32_t code;
        memcpy(&code, m->data, sizeof code);
        s->failed = 1;
        return code;
    }
    case M_COUNT:
        atomic_fetch_add(&sh->count, 1);
        return 0;
    case M_PTR_PANIC:
        s->failed = 1;
        troupe_panic("ptr panic");
        tt_die("troupe_panic returned inside a handler");
    case M_PTR_COUNT:
        atomic_fetch_add(&sh->ptr_handled, 1);
        return 0;
    case M_GATE:
        tt_gate_wait(&sh->gate);
        return 0;
    case M_WORKER: {
        uint32_t w = troupe_ctx_worker(ctx);
        troupe_reply(ctx, M_WORKER, &w, sizeof w);
        return 0;
    }
    }
    tt_die("victim: type %u", m->type);
}

static void s_victim(troupe_ctx *ctx, void *state, troupe_failure_kind why)
{
    (void)ctx;
    shared *sh = ((st *)state)->sh;
    tt_note_stop(&sh->stops, &sh->stop_kind, why);
}

static const troupe_behaviour victim = {
    .name = "victim",
    .state_size = sizeof(st),
    .init = tt_init_arg,
    .handle = h_victim,
    .stop = s_victim,
};

/* Initialise sh and spawn a victim actor on it. */
static troupe_ref spawn_victim(troupe_system *sys, shared *sh)
{
    shared_init(sh);
    return tt_spawn(sys, &victim, sh, NULL);
}

typedef struct fixture {
    troupe_system *sys;
    hook_log hook;
} fixture;

static void fx_init(fixture *f, uint32_t workers)
{
    memset(&f->hook, 0, sizeof f->hook);
    pthread_mutex_init(&f->hook.mu, NULL);
    troupe_config cfg = tt_config(workers, NULL);
    cfg.on_failure = on_failure;
    cfg.on_failure_ud = &f->hook;
    f->sys = tt_system_cfg(&cfg);
    f->hook.sys = f->sys;
}

/* The hook's mutex stays usable after destroy (tests read the log then). */
static void fx_fini(fixture *f) { troupe_system_destroy(f->sys); }

static uint32_t worker_of(troupe_system *sys, troupe_ref r)
{
    uint32_t w = 999;
    cr_assert_eq(troupe_ask(sys, r, M_WORKER, NULL, 0, ASK_FOREVER_NS, NULL, &w, sizeof w, NULL),
                 0);
    return w;
}

/* ---- panic -------------------------------------------------------------------------------- */

Test(failure, panic_unwinds_and_the_worker_survives)
{
    fixture f;
    fx_init(&f, 1); /* one worker: whatever runs after the panic ran on it */
    shared sp, so;
    troupe_ref p = spawn_victim(f.sys, &sp);
    troupe_ref o = spawn_victim(f.sys, &so);
    cr_expect_eq(worker_of(f.sys, o), 0u);

    const char *why = "boom 42";
    cr_assert_eq(troupe_tell(f.sys, p, M_PANIC, why, strlen(why)), 0);
    wait_until(hook_calls(&f.hook) == 1);
    tt_wait_dead(f.sys, p);

    /* The same (only) worker still runs other actors. */
    for (int i = 0; i < 10; i++)
        cr_assert_eq(troupe_tell(f.sys, o, M_COUNT, NULL, 0), 0);
    cr_expect_eq(worker_of(f.sys, o), 0u);
    cr_expect_eq(atomic_load(&so.count), 10);
    cr_expect_eq(troupe_alive(f.sys, o), 1);

    pthread_mutex_lock(&f.hook.mu);
    troupe_failure last = f.hook.last;
    int stats_rc = f.hook.stats_rc;
    troupe_mailbox_stats ms = f.hook.stats;
    pthread_mutex_unlock(&f.hook.mu);
    cr_expect_eq(last.actor.id, p.id, "hook: the failed actor's ref");
    cr_expect_eq(last.kind, TROUPE_EXIT_PANIC);
    cr_expect_eq(last.msg_type, (uint32_t)M_PANIC);
    cr_expect_eq(last.code, 0);
    cr_expect_str_eq(f.hook.reason, "boom 42");
    cr_expect_str_eq(f.hook.behaviour, "victim");
    cr_expect_eq(stats_rc, 0, "the failed actor's stats are readable in the hook");
    cr_expect_eq(ms.failed, 1u, "stats.failed counts the failed message");

    /* The actor stopped, with the failure's kind. */
    wait_until(atomic_load(&sp.stops) == 1);
    cr_expect_eq(atomic_load(&sp.stop_kind), TROUPE_EXIT_PANIC);
    cr_expect_eq(troupe_tell(f.sys, p, M_COUNT, NULL, 0), TROUPE_ENOACTOR);
    troupe_mailbox_stats gone;
    cr_expect_eq(troupe_actor_stats(f.sys, p, &gone), TROUPE_ENOACTOR);
    cr_expect_eq(tt_sys_stats(f.sys).actors_failed, 1u);
    fx_fini(&f);
    cr_expect_eq(atomic_load(&sp.stops), 1);
    cr_expect_eq(atomic_load(&so.stops), 1);
    cr_expect_eq(hook_calls(&f.hook), 1);
    tt_gate_destroy(&sp.gate);
    tt_gate_destroy(&so.gate);
}

Test(failure, many_panics_on_one_worker)
{
    fixture f;
    fx_init(&f, 1);
    enum { N = 50 };
    shared *sh = calloc(N, sizeof *sh);
    cr_assert_not_null(sh);
    shared so;
    troupe_ref o = spawn_victim(f.sys, &so);
    for (int i = 0; i < N; i++) {
        troupe_ref p = spawn_victim(f.sys, &sh[i]);
        cr_assert_eq(troupe_tell(f.sys, p, M_COUNT, NULL, 0), 0);
        cr_assert_eq(troupe_tell(f.sys, p, M_PANIC, "x", 1), 0);
        cr_assert_eq(troupe_tell(f.sys, o, M_COUNT, NULL, 0), 0);
    }
    wait_until(hook_calls(&f.hook) == N);
    tt_probe(f.sys, o);
    cr_expect_eq(atomic_load(&so.count), N);
    for (int i = 0; i < N; i++) {
        wait_until(atomic_load(&sh[i].stops) == 1);
        cr_expect_eq(atomic_load(&sh[i].count), 1);
        cr_expect_eq(atomic_load(&sh[i].after_failure), 0, "actor %d ran after failing", i);
        cr_expect_eq(atomic_load(&sh[i].stop_kind), TROUPE_EXIT_PANIC);
    }
    cr_expect_eq(tt_sys_stats(f.sys).actors_failed, (uint64_t)N);
    fx_fini(&f);
    for (int i = 0; i < N; i++)
        tt_gate_destroy(&sh[i].gate);
    free(sh);
    tt_gate_destroy(&so.gate);
}

Test(failure, panic_reason_is_truncated_and_null_is_accepted)
{
    fixture f;
    fx_init(&f, 2);
    shared s1, s2;
    shared_init(&s1);
    shared_init(&s2);
    troupe_ref a = tt_spawn(f.sys, &victim, &s1, NULL);
    char longr[200];
    for (int i = 0; i < 199; i++)
        longr[i] = (char)('a' + i % 26);
    longr[199] = 0;
    cr_assert_eq(troupe_tell(f.sys, a, M_PANIC, longr, 199), 0);
    wait_until(hook_calls(&f.hook) == 1);
    pthread_mutex_lock(&f.hook.mu);
    size_t n = strnlen(f.hook.reason, TROUPE_REASON_MAX);
    int prefix_ok = memcmp(f.hook.reason, longr, TROUPE_REASON_MAX - 1) == 0;
    pthread_mutex_unlock(&f.hook.mu);
    cr_expect_eq(n, (size_t)TROUPE_REASON_MAX - 1, "truncated and NUL-terminated");
    cr_expect(prefix_ok);

    troupe_ref b = tt_spawn(f.sys, &victim, &s2, NULL);
    cr_assert_eq(troupe_tell(f.sys, b, M_PANIC_NULL, NULL, 0), 0);
    wait_until(hook_calls(&f.hook) == 2);
    pthread_mutex_lock(&f.hook.mu);
    cr_expect_eq(f.hook.last.actor.id, b.id);
    cr_expect_eq(f.hook.last.kind, TROUPE_EXIT_PANIC);
    cr_expect_lt(strnlen(f.hook.reason, TROUPE_REASON_MAX), (size_t)TROUPE_REASON_MAX,
                 "NUL-terminated");
    pthread_mutex_unlock(&f.hook.mu);
    fx_fini(&f);
    tt_gate_destroy(&s1.gate);
    tt_gate_destroy(&s2.gate);
}

/* ---- handler errors ------------------------------------------------------------------------ */

Test(failure, negative_return_is_kind_error_with_the_code)
{
    fixture f;
    fx_init(&f, 2);
    shared sp;
    troupe_ref p = spawn_victim(f.sys, &sp);
    int32_t code = -77;
    cr_assert_eq(troupe_tell(f.sys, p, M_ERROR, &code, sizeof code), 0);
    wait_until(hook_calls(&f.hook) == 1);
    pthread_mutex_lock(&f.hook.mu);
    troupe_failure last = f.hook.last;
    int stats_rc = f.hook.stats_rc;
    troupe_mailbox_stats ms = f.hook.stats;
    pthread_mutex_unlock(&f.hook.mu);
    cr_expect_eq(last.actor.id, p.id);
    cr_expect_eq(last.kind, TROUPE_EXIT_ERROR);
    cr_expect_eq(last.code, -77);
    cr_expect_eq(last.msg_type, (uint32_t)M_ERROR);
    cr_expect_str_eq(f.hook.behaviour, "victim");
    cr_expect_eq(stats_rc, 0);
    cr_expect_eq(ms.failed, 1u);
    tt_wait_dead(f.sys, p);
    wait_until(atomic_load(&sp.stops) == 1);
    cr_expect_eq(atomic_load(&sp.stop_kind), TROUPE_EXIT_ERROR);
    cr_expect_eq(troupe_tell(f.sys, p, M_COUNT, NULL, 0), TROUPE_ENOACTOR);
    cr_expect_eq(tt_sys_stats(f.sys).actors_failed, 1u);
    fx_fini(&f);
    tt_gate_destroy(&sp.gate);
}

Test(failure, positive_return_is_not_a_failure)
{
    fixture f;
    fx_init(&f, 2);
    shared sp;
    troupe_ref p = spawn_victim(f.sys, &sp);
    int32_t code = 5;
    cr_assert_eq(troupe_tell(f.sys, p, M_ERROR, &code, sizeof code), 0);
    tt_probe(f.sys, p);
    cr_expect_eq(hook_calls(&f.hook), 0);
    cr_expect_eq(troupe_alive(f.sys, p), 1);
    fx_fini(&f);
    tt_gate_destroy(&sp.gate);
}

/* ---- payloads of a failing actor ------------------------------------------------------------ */

Test(failure, failed_and_queued_payloads_are_destroyed_once)
{
    fixture f;
    fx_init(&f, 1);
    shared sg, sp;
    shared_init(&sg);
    shared_init(&sp);
    tt_tracker tr;
    tt_tracker_init(&tr);
    troupe_ref g = tt_spawn(f.sys, &victim, &sg, NULL);
    troupe_ref p = tt_spawn(f.sys, &victim, &sp, NULL);

    /* Hold the only worker so that everything below queues up. */
    cr_assert_eq(troupe_tell(f.sys, g, M_GATE, NULL, 0), 0);
    wait_until(tt_gate_waiting(&sg.gate) == 1);
    cr_assert_eq(troupe_tell_ptr(f.sys, p, M_PTR_PANIC, tt_item_new(&tr, 0), tt_item_dtor), 0);
    enum { Q = 5 };
    for (int i = 1; i <= Q; i++)
        cr_assert_eq(troupe_tell_ptr(f.sys, p, M_PTR_COUNT, tt_item_new(&tr, i), tt_item_dtor),
                     0);
    troupe_system_stats before = tt_sys_stats(f.sys);
    tt_gate_open(&sg.gate);

    wait_until(hook_calls(&f.hook) == 1);
    tt_wait_dead(f.sys, p);
    wait_until(tt_destroyed(&tr) == 1 + Q);
    cr_expect_eq(atomic_load(&sp.ptr_handled), 0, "messages behind the failure are not handled");
    wait_until(tt_sys_stats(f.sys).messages_destroyed >= before.messages_destroyed + Q);
    cr_expect_eq(tt_sys_stats(f.sys).messages_destroyed, before.messages_destroyed + Q,
                 "the queued messages are counted as destroyed");
    pthread_mutex_lock(&f.hook.mu);
    cr_expect_eq(f.hook.last.msg_type, (uint32_t)M_PTR_PANIC);
    cr_expect_str_eq(f.hook.reason, "ptr panic");
    pthread_mutex_unlock(&f.hook.mu);
    fx_fini(&f);
    cr_expect_eq(tt_destroyed(&tr), 1 + Q, "every payload destroyed exactly once");
    long *log;
    size_t n = tt_tracker_log(&tr, &log);
    int seen[1 + Q] = {0};
    for (size_t i = 0; i < n; i++) {
        cr_assert(log[i] >= 0 && log[i] <= Q);
        seen[log[i]]++;
    }
    for (int i = 0; i <= Q; i++)
        cr_expect_eq(seen[i], 1, "payload %d destroyed %d times", i, seen[i]);
    free(log);
    tt_tracker_fini(&tr);
    tt_gate_destroy(&sg.gate);
    tt_gate_destroy(&sp.gate);
}

/* ---- panic outside a handler; panic and failure in init ---------------------------------- */

Test(failure, panic_outside_a_handler_is_estate)
{
    cr_expect_eq(troupe_panic("nothing to unwind"), TROUPE_ESTATE);
    cr_expect_eq(troupe_panic(NULL), TROUPE_ESTATE);
    /* With a running system too: this thread is not a worker. */
    fixture f;
    fx_init(&f, 1);
    cr_expect_eq(troupe_panic("still nothing"), TROUPE_ESTATE);
    cr_expect_eq(hook_calls(&f.hook), 0);
    fx_fini(&f);
}

static atomic_int panic_init_handles;
static atomic_int panic_init_stops;

static int i_panic(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx;
    (void)state;
    (void)arg;
    troupe_panic("init says no");
    tt_die("troupe_panic returned inside init");
}

static int h_never(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    (void)ctx;
    (void)state;
    (void)m;
    atomic_fetch_add(&panic_init_handles, 1);
    return 0;
}

static void s_never(troupe_ctx *ctx, void *state, troupe_failure_kind why)
{
    (void)ctx;
    (void)state;
    (void)why;
    atomic_fetch_add(&panic_init_stops, 1);
}

static const troupe_behaviour panicking_init = {
    .name = "panicking-init",
    .state_size = 16,
    .init = i_panic,
    .handle = h_never,
    .stop = s_never,
};

Test(failure, panic_in_init_fails_the_spawn)
{
    fixture f;
    fx_init(&f, 1);
    for (int i = 0; i < 3; i++) {
        troupe_ref r = {99};
        cr_expect_eq(troupe_spawn(f.sys, &panicking_init, NULL, NULL, &r), TROUPE_EFAILED);
        cr_expect(troupe_ref_is_none(r));
    }
    cr_expect_eq(tt_sys_stats(f.sys).actors_live, 0u);
    /* This thread is fine after the unwinding: panic outside a handler is
     * still refused, and the system still works. */
    cr_expect_eq(troupe_panic("after"), TROUPE_ESTATE);
    shared so;
    troupe_ref o = spawn_victim(f.sys, &so);
    cr_assert_eq(troupe_tell(f.sys, o, M_COUNT, NULL, 0), 0);
    tt_probe(f.sys, o);
    cr_expect_eq(atomic_load(&so.count), 1);
    fx_fini(&f);
    cr_expect_eq(atomic_load(&panic_init_handles), 0);
    cr_expect_eq(atomic_load(&panic_init_stops), 0, "no stop callback for a refused spawn");
    tt_gate_destroy(&so.gate);
}

/* A spawn from inside a handler whose init panics: the panic unwinds the
 * init, not the spawning handler. */
enum { M_SPAWN_PANICKER = 50 };

static atomic_int inner_spawn_rc;
static atomic_int inner_after;

static int h_spawner(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    (void)state;
    if (tt_is_probe(ctx, m))
        return 0;
    troupe_ref r;
    atomic_store(&inner_spawn_rc,
                 troupe_spawn(troupe_ctx_system(ctx), &panicking_init, NULL, NULL, &r));
    atomic_store(&inner_after, 1);
    return 0;
}

static const troupe_behaviour spawner = {.name = "spawner", .handle = h_spawner};

Test(failure, panic_in_init_of_a_spawn_from_a_handler)
{
    fixture f;
    fx_init(&f, 1);
    atomic_store(&inner_spawn_rc, 12345);
    troupe_ref s = tt_spawn(f.sys, &spawner, NULL, NULL);
    cr_assert_eq(troupe_tell(f.sys, s, M_SPAWN_PANICKER, NULL, 0), 0);
    tt_probe(f.sys, s);
    cr_expect_eq(atomic_load(&inner_spawn_rc), TROUPE_EFAILED);
    cr_expect_eq(atomic_load(&inner_after), 1, "the spawning handler went on");
    cr_expect_eq(troupe_alive(f.sys, s), 1, "the spawning actor did not fail");
    fx_fini(&f);
}
