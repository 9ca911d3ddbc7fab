/* tests/core/test_table.c — the actor table (core/table.c): objects side by
 * side in mapped regions that double. Checked through the public API: many
 * actors over several regions each get their own messages; a ref to an
 * index nobody was given yet, inside a mapped chunk, fails as a stale ref
 * does; a new incarnation (a reused index, when the free came first)
 * starts from a zeroed state. */
#include "../support.h"

enum { M_ADD = 1 };

/* 4096 indexes a chunk; regions of 1, 2, 4 chunks: past 7 chunks is a
 * fourth region (table.c) */
#define CHUNK 4096
#define ACTORS (7 * CHUNK + 100)

static int h_add(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    (void)ctx;
    if (m->type == M_ADD) {
        uint64_t v;
        memcpy(&v, m->data, sizeof v);
        *(uint64_t *)state += v;
    }
    return 0;
}

/* ask: reply with the state's sum */
static int h_sum(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    if (m->type == T_PROBE)
        return troupe_reply(ctx, T_PROBE, state, sizeof(uint64_t));
    return h_add(ctx, state, m);
}

static const troupe_behaviour adder = {
    .name = "table-adder", .state_size = sizeof(uint64_t), .handle = h_sum};

static uint64_t sum_of(troupe_system *sys, troupe_ref r)
{
    uint64_t v = 0;
    size_t got = 0;
    int rc = troupe_ask(sys, r, T_PROBE, NULL, 0, ASK_FOREVER_NS, NULL, &v, sizeof v, &got);
    cr_assert_eq(rc, 0, "ask: %s", troupe_errname(rc));
    cr_assert_eq(got, sizeof v);
    return v;
}

Test(table, actors_over_four_regions_each_get_their_own_messages)
{
    troupe_system *sys = tt_system(2);
    troupe_ref *refs = calloc(ACTORS, sizeof *refs);
    cr_assert_not_null(refs);
    for (uint32_t i = 0; i < ACTORS; i++)
        refs[i] = tt_spawn(sys, &adder, NULL, NULL);
    for (uint32_t i = 0; i < ACTORS; i++) {
        uint64_t v = i + 1;
        cr_assert_eq(troupe_tell(sys, refs[i], M_ADD, &v, sizeof v), 0, "actor %u", i);
    }
    /* spot checks across every region, then the last of all */
    for (uint32_t i = 0; i < ACTORS; i += 997)
        cr_expect_eq(sum_of(sys, refs[i]), (uint64_t)i + 1, "actor %u", i);
    cr_expect_eq(sum_of(sys, refs[ACTORS - 1]), (uint64_t)ACTORS);
    cr_expect_eq(tt_sys_stats(sys).actors_live >= ACTORS, true);
    troupe_system_destroy(sys);
    free(refs);
}

Test(table, a_ref_to_an_index_not_yet_given_fails_as_a_stale_one)
{
    troupe_system *sys = tt_system(1);
    troupe_ref r = tt_spawn(sys, &adder, NULL, NULL);
    /* the next index in the same (mapped) chunk, with r's generation and
     * tag: nothing was spawned there (types.h: bits 0..31 the index) */
    troupe_ref forged = {(r.id & ~(uint64_t)UINT32_MAX) | ((r.id & UINT32_MAX) + 1)};
    uint64_t v = 1;
    cr_expect_eq(troupe_tell(sys, forged, M_ADD, &v, sizeof v), TROUPE_ENOACTOR);
    cr_expect_eq(troupe_alive(sys, forged), 0);
    troupe_mailbox_stats st;
    cr_expect_eq(troupe_actor_stats(sys, forged, &st), TROUPE_ENOACTOR);
    cr_expect_eq(troupe_stop(sys, forged), TROUPE_ENOACTOR);
    troupe_system_destroy(sys);
}

Test(table, a_new_actor_after_an_ended_one_starts_clean)
{
    troupe_system *sys = tt_system(1);
    troupe_ref a = tt_spawn(sys, &adder, NULL, NULL);
    cr_assert_eq(troupe_stop(sys, a), 0);
    tt_wait_dead(sys, a);
    troupe_ref b = tt_spawn(sys, &adder, NULL, NULL);
    cr_expect_neq(b.id, a.id);
    uint64_t v = 5;
    cr_expect_eq(troupe_tell(sys, a, M_ADD, &v, sizeof v), TROUPE_ENOACTOR);
    cr_expect_eq(troupe_tell(sys, b, M_ADD, &v, sizeof v), 0);
    cr_expect_eq(sum_of(sys, b), 5u, "the new incarnation starts from a zero state");
    troupe_system_destroy(sys);
}
