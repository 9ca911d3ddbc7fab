/* tests/group/test_group.c — process groups (troupe/group.h): join, leave,
 * members, publish, group monitors, members that stop leaving by
 * themselves, joins and stops under a publishing load, bad input. */
#include "support.h"

#define T_HIT 0x100u
#define N_ACT 64

#define T_HOLD 0x101u

typedef struct shared {
    tt_gate *gate;            /* T_HOLD waits there */
    atomic_long hits[N_ACT];  /* by the member's arg index */
    atomic_long events;       /* group events the watcher saw */
    troupe_group_event ev[64];
} shared;

typedef struct st {
    shared *sh;
    long idx;
} st;

static int m_init(troupe_ctx *ctx, void *state, const void *arg)
{
    (void)ctx;
    const st *a = arg;
    *(st *)state = *a;
    return 0;
}

static int m_handle(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    st *s = state;
    if (tt_is_probe(ctx, m))
        return 0;
    if (m->type == T_HIT)
        atomic_fetch_add(&s->sh->hits[s->idx], 1);
    if (m->type == T_HOLD)
        tt_gate_wait(s->sh->gate);
    if (m->type == TROUPE_MSG_GROUP && m->size == sizeof(troupe_group_event)) {
        long n = atomic_load(&s->sh->events);
        if (n < 64)
            memcpy(&s->sh->ev[n], m->data, sizeof s->sh->ev[n]);
        atomic_store(&s->sh->events, n + 1); /* the watcher is one actor: no race */
    }
    return 0;
}

static const troupe_behaviour member_beh = {
    .name = "member", .state_size = sizeof(st), .init = m_init, .handle = m_handle};

static troupe_ref spawn_member(troupe_system *sys, shared *sh, long idx)
{
    st a = {sh, idx};
    return tt_spawn(sys, &member_beh, &a, NULL);
}

static size_t count_of(troupe_system *sys, const char *name)
{
    size_t n = 99;
    cr_assert_eq(troupe_group_members(sys, name, NULL, 0, &n), 0);
    return n;
}

Test(group, join_members_leave_in_order)
{
    troupe_system *sys = tt_system(2);
    static shared sh;
    troupe_ref r[3];
    for (int i = 0; i < 3; i++) {
        r[i] = spawn_member(sys, &sh, i);
        cr_assert_eq(troupe_group_join(sys, "g", r[i]), 0);
    }
    cr_expect_eq(troupe_group_join(sys, "g", r[1]), TROUPE_EEXIST);
    troupe_ref out[4] = {0};
    size_t n = 0;
    cr_assert_eq(troupe_group_members(sys, "g", out, 2, &n), 0);
    cr_expect_eq(n, 3, "count is the whole group even when cap is smaller");
    cr_expect(out[0].id == r[0].id && out[1].id == r[1].id && out[2].id == 0);
    cr_assert_eq(troupe_group_leave(sys, "g", r[1]), 0);
    cr_expect_eq(troupe_group_leave(sys, "g", r[1]), TROUPE_ENOTFOUND);
    cr_expect_eq(troupe_group_leave(sys, "nope", r[0]), TROUPE_ENOTFOUND);
    cr_assert_eq(troupe_group_members(sys, "g", out, 4, &n), 0);
    cr_expect(n == 2 && out[0].id == r[0].id && out[1].id == r[2].id, "join order kept");
    cr_expect_eq(count_of(sys, "unknown"), 0);
    /* one actor in two groups */
    cr_assert_eq(troupe_group_join(sys, "h", r[0]), 0);
    cr_expect_eq(count_of(sys, "h"), 1);
    troupe_system_destroy(sys);
}

Test(group, publish_reaches_every_member_once)
{
    troupe_system *sys = tt_system(2);
    static shared sh;
    memset(&sh, 0, sizeof sh);
    troupe_ref r[N_ACT];
    for (long i = 0; i < N_ACT; i++) {
        r[i] = spawn_member(sys, &sh, i);
        cr_assert_eq(troupe_group_join(sys, "all", r[i]), 0);
        if (i % 2 == 0)
            cr_assert_eq(troupe_group_join(sys, "even", r[i]), 0);
    }
    size_t got = 0;
    cr_assert_eq(troupe_group_publish(sys, "all", T_HIT, "x", 1, &got), 0);
    cr_expect_eq(got, N_ACT);
    cr_assert_eq(troupe_group_publish(sys, "even", T_HIT, NULL, 0, &got), 0);
    cr_expect_eq(got, N_ACT / 2);
    cr_assert_eq(troupe_group_publish(sys, "empty-and-unknown", T_HIT, NULL, 0, &got), 0);
    cr_expect_eq(got, 0);
    for (long i = 0; i < N_ACT; i++)
        tt_probe(sys, r[i]);
    for (long i = 0; i < N_ACT; i++)
        cr_expect_eq(atomic_load(&sh.hits[i]), i % 2 == 0 ? 2 : 1, "member %ld", i);
    troupe_system_destroy(sys);
}

/* A member whose mailbox is full follows its policy (REJECT: skipped, not
 * counted) while the others get the message; one that BLOCKs is waited
 * for, and the members before it were already handed to the workers. */
Test(group, publish_past_a_full_member)
{
    troupe_system *sys = tt_system(2);
    static shared sh;
    static tt_gate gate;
    memset(&sh, 0, sizeof sh);
    tt_gate_init(&gate);
    sh.gate = &gate;
    st a0 = {&sh, 0};
    troupe_spawn_opts o = tt_opts(2, TROUPE_OVERFLOW_REJECT);
    troupe_ref full = tt_spawn(sys, &member_beh, &a0, &o);
    troupe_ref r[4];
    for (long i = 1; i < 4; i++)
        r[i] = spawn_member(sys, &sh, i);
    cr_assert_eq(troupe_group_join(sys, "p", r[1]), 0);
    cr_assert_eq(troupe_group_join(sys, "p", full), 0);
    cr_assert_eq(troupe_group_join(sys, "p", r[2]), 0);
    cr_assert_eq(troupe_group_join(sys, "p", r[3]), 0);
    tt_hold(sys, full, T_HOLD, &gate);
    size_t got = 0, room = 0;
    for (int i = 0; i < 8 && troupe_tell(sys, full, T_HIT, NULL, 0) == 0; i++)
        room++; /* fill it */
    cr_assert_eq(troupe_group_publish(sys, "p", T_HIT, NULL, 0, &got), 0);
    cr_expect_eq(got, 3, "the full member is skipped");
    tt_gate_open(&gate);
    for (long i = 1; i < 4; i++) {
        tt_probe(sys, r[i]);
        cr_expect_eq(atomic_load(&sh.hits[i]), 1, "member %ld", i);
    }
    /* a probe sent while the full member still holds its `room` messages
     * would be refused (REJECT, capacity 2): let it drain them first */
    wait_until(atomic_load(&sh.hits[0]) >= (long)room);
    tt_probe(sys, full);
    cr_expect_eq(atomic_load(&sh.hits[0]), (long)room, "only what its mailbox took");
    troupe_system_destroy(sys);
    tt_gate_destroy(&gate);
}

Test(group, a_stopped_member_leaves_and_its_watcher_is_told)
{
    troupe_system *sys = tt_system(2);
    static shared sh, wsh;
    memset(&sh, 0, sizeof sh);
    memset(&wsh, 0, sizeof wsh);
    troupe_ref w = spawn_member(sys, &wsh, 0);
    uint64_t mid = 0;
    cr_assert_eq(troupe_group_monitor(sys, "g", w, &mid), 0);
    cr_assert_neq(mid, 0);
    troupe_ref a = spawn_member(sys, &sh, 0), b = spawn_member(sys, &sh, 1);
    cr_assert_eq(troupe_group_join(sys, "g", a), 0);
    cr_assert_eq(troupe_group_join(sys, "g", b), 0);
    cr_assert_eq(troupe_stop(sys, a), 0);
    wait_until(count_of(sys, "g") == 1);
    troupe_ref out[2];
    size_t n = 0;
    cr_assert_eq(troupe_group_members(sys, "g", out, 2, &n), 0);
    cr_expect(n == 1 && out[0].id == b.id, "the survivor stays");
    cr_assert_eq(troupe_group_leave(sys, "g", b), 0);
    wait_until(atomic_load(&wsh.events) == 4);
    const troupe_group_event *e = wsh.ev;
    cr_expect(e[0].change == TROUPE_GROUP_JOINED && e[0].member.id == a.id);
    cr_expect(e[1].change == TROUPE_GROUP_JOINED && e[1].member.id == b.id);
    cr_expect(e[2].change == TROUPE_GROUP_LEFT && e[2].member.id == a.id, "the stop");
    cr_expect(e[3].change == TROUPE_GROUP_LEFT && e[3].member.id == b.id, "the leave");
    cr_expect(strcmp(e[0].group, "g") == 0 && e[0].monitor == mid);
    /* demonitored: no event for the next join */
    cr_assert_eq(troupe_group_demonitor(sys, mid), 0);
    cr_expect_eq(troupe_group_demonitor(sys, mid), TROUPE_ENOTFOUND);
    cr_assert_eq(troupe_group_join(sys, "g", b), 0);
    tt_probe(sys, w);
    cr_expect_eq(atomic_load(&wsh.events), 4);
    troupe_system_destroy(sys);
}

Test(group, a_member_that_is_already_gone_cannot_join)
{
    troupe_system *sys = tt_system(1);
    static shared sh;
    troupe_ref a = spawn_member(sys, &sh, 0);
    cr_assert_eq(troupe_stop(sys, a), 0);
    tt_wait_dead(sys, a);
    cr_expect_eq(troupe_group_join(sys, "g", a), TROUPE_ENOACTOR);
    cr_expect_eq(count_of(sys, "g"), 0);
    troupe_system_destroy(sys);
}

Test(group, bad_input)
{
    troupe_system *sys = tt_system(1);
    static shared sh;
    troupe_ref a = spawn_member(sys, &sh, 0);
    char big[TROUPE_GROUP_NAME_MAX + 1];
    memset(big, 'n', sizeof big - 1);
    big[sizeof big - 1] = 0;
    char edge[TROUPE_GROUP_NAME_MAX];
    memset(edge, 'e', sizeof edge - 1);
    edge[sizeof edge - 1] = 0; /* the longest name there is */
    size_t n;
    uint64_t id;
    cr_expect_eq(troupe_group_join(NULL, "g", a), TROUPE_EINVAL);
    cr_expect_eq(troupe_group_join(sys, NULL, a), TROUPE_EINVAL);
    cr_expect_eq(troupe_group_join(sys, "", a), TROUPE_EINVAL);
    cr_expect_eq(troupe_group_join(sys, big, a), TROUPE_EINVAL);
    cr_expect_eq(troupe_group_join(sys, edge, a), 0);
    cr_expect_eq(troupe_group_join(sys, "g", TROUPE_REF_NONE), TROUPE_EINVAL);
    cr_expect_eq(troupe_group_leave(sys, big, a), TROUPE_EINVAL);
    cr_expect_eq(troupe_group_members(sys, "g", NULL, 1, &n), TROUPE_EINVAL);
    cr_expect_eq(troupe_group_members(sys, "g", NULL, 0, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_group_publish(sys, "g", TROUPE_MSG_SYSTEM, NULL, 0, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_group_publish(sys, "g", 1, NULL, 4, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_group_publish(sys, "g", 1, "x", TROUPE_COPY_MAX + 1, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_group_monitor(sys, "g", a, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_group_monitor(sys, "g", TROUPE_REF_NONE, &id), TROUPE_EINVAL);
    cr_expect_eq(troupe_group_demonitor(sys, 0), TROUPE_EINVAL);
    cr_expect_eq(troupe_group_demonitor(NULL, 1), TROUPE_EINVAL);
    cr_expect_eq(troupe_group_demonitor(sys, 12345), TROUPE_ENOTFOUND);
    troupe_system_destroy(sys);
}

/* Threads publish while members join and a quarter of them stop: no
 * message is handled more often than it was delivered, the group ends with
 * exactly the members still alive, and a publish then reaches each of them
 * once. */
typedef struct load {
    troupe_system *sys;
    shared *sh;
    atomic_long delivered;
    atomic_int stop;
} load;

static void *publisher(void *p)
{
    load *l = p;
    for (int i = 0; i < 2000 && !atomic_load(&l->stop); i++) {
        size_t got = 0;
        if (troupe_group_publish(l->sys, "busy", T_HIT, NULL, 0, &got) == 0)
            atomic_fetch_add(&l->delivered, (long)got);
    }
    return NULL;
}

Test(group, joins_and_stops_under_publishing)
{
    troupe_system *sys = tt_system(2);
    static shared sh;
    memset(&sh, 0, sizeof sh);
    load l = {.sys = sys, .sh = &sh};
    troupe_ref r[N_ACT];
    for (long i = 0; i < N_ACT / 2; i++) {
        r[i] = spawn_member(sys, &sh, i);
        cr_assert_eq(troupe_group_join(sys, "busy", r[i]), 0);
    }
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, publisher, &l), 0);
    for (long i = N_ACT / 2; i < N_ACT; i++) { /* joins while publishing */
        r[i] = spawn_member(sys, &sh, i);
        cr_assert_eq(troupe_group_join(sys, "busy", r[i]), 0);
    }
    for (long i = 0; i < N_ACT; i += 4) /* and a quarter stop */
        cr_assert_eq(troupe_stop(sys, r[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    wait_until(count_of(sys, "busy") == N_ACT - N_ACT / 4);
    long before[N_ACT], hits = 0;
    for (long i = 0; i < N_ACT; i++) {
        if (i % 4)
            tt_probe(sys, r[i]);
        else
            tt_wait_dead(sys, r[i]);
        before[i] = atomic_load(&sh.hits[i]);
        hits += before[i];
    }
    /* a stopped member may have taken a message it never handled */
    cr_expect_leq(hits, atomic_load(&l.delivered), "no message handled twice");
    cr_expect_gt(hits, 0);
    size_t got = 0; /* settled: the survivors, each once */
    cr_assert_eq(troupe_group_publish(sys, "busy", T_HIT, NULL, 0, &got), 0);
    cr_expect_eq(got, N_ACT - N_ACT / 4);
    for (long i = 1; i < N_ACT; i += (i % 4 == 3) ? 2 : 1) {
        tt_probe(sys, r[i]);
        cr_expect_eq(atomic_load(&sh.hits[i]), before[i] + 1, "survivor %ld", i);
    }
    troupe_system_destroy(sys);
}
