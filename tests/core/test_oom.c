/* tests/core/test_oom.c — out of memory, at every allocation in turn.
 *
 * The libuv way: run a whole scenario (create a system, spawn, tell inline,
 * heap-copied and pointer payloads, ask, arm a timer, destroy) with the
 * runtime's allocator set to fail after n allocations, for n = 0, 1, 2, ...
 * until a run completes without reaching the failure. Every call must
 * return 0 or TROUPE_ENOMEM — never crash, never another error — and after
 * destroy every pointer payload has been destroyed exactly once (by the
 * runtime, or by us when the send failed). ASan's leak check, which runs
 * this suite in `make test`, proves that no failure path leaks.
 *
 * White-box: it uses the fault-injection knob of core/alloc.h.
 */
#include "../support.h"

#include "core/alloc.h"

enum { M_ADD = 1, M_GET = 2 };

typedef struct echo_state {
    int64_t seen;
    char pad[56]; /* > the inline state: the state is allocated */
} echo_state;

static int echo_handle(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    echo_state *s = st;
    if (m->type == M_GET)
        return troupe_reply(ctx, M_GET, &s->seen, sizeof s->seen);
    s->seen++;
    return 0;
}

static const troupe_behaviour echo_beh = {
    .name = "oom.echo", .state_size = sizeof(echo_state), .handle = echo_handle};

static atomic_int payloads_live;

static void payload_free(void *p)
{
    atomic_fetch_sub(&payloads_live, 1);
    free(p);
}

/* The scenario; returns the first error, 0 if everything succeeded. */
static int scenario(int64_t *seen)
{
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 2;
    troupe_system *sys = NULL;
    int rc = troupe_system_create(&sys, &cfg);
    if (rc)
        return rc;
    troupe_ref r;
    char big[200];
    memset(big, 7, sizeof big);
    int64_t one = 1;
    rc = troupe_spawn(sys, &echo_beh, NULL, NULL, &r);
    if (!rc)
        rc = troupe_tell(sys, r, M_ADD, &one, sizeof one);
    if (!rc)
        rc = troupe_tell(sys, r, M_ADD, big, sizeof big);
    if (!rc) {
        void *p = malloc(32);
        atomic_fetch_add(&payloads_live, 1);
        rc = troupe_tell_ptr(sys, r, M_ADD, p, payload_free);
        if (rc) /* the caller keeps it on error */
            payload_free(p);
    }
    if (!rc)
        rc = troupe_ask(sys, r, M_GET, NULL, 0, ASK_FOREVER_NS, NULL, seen, sizeof *seen, NULL);
    if (!rc)
        rc = troupe_send_after(sys, r, M_ADD, NULL, 0, 3600 * S_NS, NULL);
    troupe_system_destroy(sys);
    return rc;
}

Test(oom, every_allocation_failure_is_enomem_and_leaks_nothing)
{
    long n;
    int failures = 0;
    for (n = 0; n < 5000; n++) {
        int64_t seen = -1;
        troupei_alloc_fail_after(n);
        int rc = scenario(&seen);
        long left = troupei_alloc_fail_remaining();
        troupei_alloc_fail_after(-1);
        cr_assert(rc == 0 || rc == TROUPE_ENOMEM, "n=%ld: %s", n, troupe_errname(rc));
        cr_assert_eq(atomic_load(&payloads_live), 0, "n=%ld: a payload was not destroyed", n);
        if (rc == TROUPE_ENOMEM) {
            failures++;
            continue;
        }
        cr_assert_eq(seen, 3, "n=%ld: the actor saw %lld messages", n, (long long)seen);
        if (left > 0)
            break; /* a whole run without reaching the failure point */
    }
    cr_assert_lt(n, 5000, "the scenario never completed");
    /* the early failure points (system creation, spawn, the ring, the heap
     * copy, the ask record) must all have been hit */
    cr_expect_geq(failures, 8, "only %d failure points", failures);
}

Test(oom, a_failed_spawn_leaves_the_system_usable)
{
    troupe_system *sys = tt_system(2);
    troupe_ref r;
    troupei_alloc_fail_after(0);
    int rc = troupe_spawn(sys, &echo_beh, NULL, NULL, &r);
    troupei_alloc_fail_after(-1);
    cr_expect_eq(rc, TROUPE_ENOMEM);
    cr_expect(troupe_ref_is_none(r));
    cr_assert_eq(troupe_spawn(sys, &echo_beh, NULL, NULL, &r), 0);
    int64_t one = 1, seen = 0;
    cr_assert_eq(troupe_tell(sys, r, M_ADD, &one, sizeof one), 0);
    cr_assert_eq(troupe_ask(sys, r, M_GET, NULL, 0, ASK_FOREVER_NS, NULL, &seen, sizeof seen,
                            NULL),
                 0);
    cr_expect_eq(seen, 1);
    troupe_system_destroy(sys);
}
