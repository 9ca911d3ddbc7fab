/* tests/core/test_probe.c — core/probe.h white-box: the histograms'
 * buckets and quantiles; exactly which messages a fresh mailbox stamps
 * (the 256th, the 512th: counted, not timed); the trace's records for a
 * handler that fails and one that panics. Waits are hang guards. */
#include "../support.h"

#include "core/probe.h"

static int tally_handle(troupe_ctx *ctx, void *st, const troupe_msg *msg)
{
    (void)ctx, (void)st;
    if (msg->type == 7)
        return TROUPE_EINVAL;
    if (msg->type == 8)
        troupe_panic("boom");
    return 0;
}

static const troupe_behaviour tally_beh = {.name = "tally", .handle = tally_handle};

Test(probe, buckets_and_quantiles)
{
    probe_hist h = {0};
    uint64_t count;
    cr_expect_eq(probe_hist_quantile(&h, 0.5, &count), 0u);
    cr_expect_eq(count, 0u);
    const struct {
        uint64_t ns;
        int bucket;
    } cases[] = {{0, 0}, {256, 0}, {257, 1}, {512, 1}, {513, 2}, {1024, 2}, {1ull << 40, PROBE_BUCKETS - 1}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        probe_hist one = {0};
        probe_hist_add(&one, cases[i].ns);
        cr_expect_eq(atomic_load(&one.b[cases[i].bucket]), 1u, "%llu ns", (unsigned long long)cases[i].ns);
    }
    for (int i = 0; i < 99; i++)
        probe_hist_add(&h, 1000);
    probe_hist_add(&h, 1000000000);
    cr_expect_eq(probe_hist_quantile(&h, 0.50, &count), 1024u);
    cr_expect_eq(count, 100u);
    cr_expect_eq(probe_hist_quantile(&h, 0.99, NULL), 1024u);
    cr_expect_eq(probe_hist_quantile(&h, 1.0, NULL), 1ull << 30);
    cr_expect_eq(atomic_load(&h.sum_ns), 99u * 1000 + 1000000000u);
}

/* A fresh slot's positions start at 0: of 600 messages, positions 255 and
 * 511 are stamped (p + 1 a multiple of 256) — two samples, no more. */
Test(probe, one_in_256_stamped)
{
    troupe_system *sys;
    cr_assert_eq(troupe_system_create(&sys, NULL), 0);
    troupe_ref r;
    troupe_spawn_opts so;
    troupe_spawn_opts_defaults(&so);
    so.capacity = 1024;
    cr_assert_eq(troupe_spawn(sys, &tally_beh, NULL, &so, &r), 0);
    for (int i = 0; i < 600; i++)
        cr_assert_eq(troupe_tell(sys, r, 1, NULL, 0), 0);
    troupe_latency_info li;
    wait_until(troupe_actor_latency_get(sys, r, &li) == 0 && li.samples == 2);
    troupe_actor_info ai;
    wait_until(troupe_actor_info_get(sys, r, &ai) == 0 && ai.mailbox.handled == 600);
    cr_expect_eq(troupe_actor_latency_get(sys, r, &li), 0);
    cr_expect_eq(li.samples, 2u);
    cr_expect_gt(li.wait_p99_ns, 0u);
    troupe_system_destroy(sys);
}

static size_t records(troupe_system *sys, troupe_ref r, troupe_trace_record *out, size_t cap)
{
    size_t n = 0;
    return troupe_trace_read(sys, r, out, cap, &n, NULL) == 0 ? n : 0;
}

/* The trace records a failed handler's message with its kind: an error
 * return, and a panic (which unwinds past the timing code). */
Test(probe, trace_records_failures)
{
    troupe_system *sys;
    cr_assert_eq(troupe_system_create(&sys, NULL), 0);
    const int kinds[] = {7, 8};
    for (int k = 0; k < 2; k++) {
        troupe_ref r;
        cr_assert_eq(troupe_spawn(sys, &tally_beh, NULL, NULL, &r), 0);
        cr_assert_eq(troupe_trace_arm(sys, r, 1000), 0);
        static troupe_trace_record rec[1000];
        /* the arming signal is on the system lane, served before this */
        cr_assert_eq(troupe_tell(sys, r, 1, NULL, 0), 0);
        wait_until(records(sys, r, rec, 1000) >= 1);
        size_t before = records(sys, r, rec, 1000);
        cr_assert_lt(before, 1000u);
        cr_assert_eq(troupe_tell(sys, r, (uint32_t)kinds[k], NULL, 0), 0);
        /* the failed actor ends; its records stay readable through its ref */
        wait_until(records(sys, r, rec, 1000) == before + 1);
        cr_expect_eq(rec[before].ok, 0);
        cr_expect_eq(rec[before].type, (uint32_t)kinds[k]);
        cr_expect_eq(rec[before].kind, k == 0 ? TROUPE_EXIT_ERROR : TROUPE_EXIT_PANIC);
        cr_expect_geq(rec[before].wait_ns, 0, "k=%d before=%zu: sent after the trace was on: stamped", k, before);
        troupe_latency_info li;
        wait_until(troupe_actor_latency_get(sys, r, &li) == TROUPE_ENOACTOR); /* it ended */
        cr_expect_eq(troupe_trace_arm(sys, r, 1), TROUPE_ENOACTOR);
        cr_expect_eq(troupe_trace_disarm(sys, r), 0);
        cr_expect_eq(troupe_trace_read(sys, r, rec, 1000, &(size_t){0}, NULL), TROUPE_ENOTFOUND);
    }
    troupe_system_destroy(sys);
}
