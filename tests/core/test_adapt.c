/* tests/core/test_adapt.c — the starvation detector (core/adapt.h), fed
 * synthetic samples: no clock is read, nothing is timed. */
#include "../support.h"

#include "core/adapt.h"

#define W ADAPT_WINDOW_NS

/* One full window at cpu/wall = num/10, with or without a preemption. */
static bool window(adapt *a, unsigned num, uint64_t preempted)
{
    return adapt_feed(a, W, W * num / 10, preempted);
}

Test(adapt, a_worker_that_gets_its_core_stays_healthy)
{
    adapt a;
    adapt_init(&a);
    for (int i = 0; i < 100; i++)
        cr_expect_not(window(&a, 10, 1));
    cr_expect_not(adapt_starved(&a));
    cr_expect_eq(a.switches, 0u);
}

Test(adapt, starved_after_a_streak_and_back_after_another)
{
    adapt a;
    adapt_init(&a);
    for (unsigned i = 1; i < ADAPT_STREAK; i++)
        cr_expect_not(window(&a, 5, 3), "window %u", i);
    cr_expect_not(adapt_starved(&a));
    cr_expect(window(&a, 5, 3)); /* the streak's last */
    cr_expect(adapt_starved(&a));
    for (int i = 0; i < 10; i++) /* starved stays starved */
        cr_expect_not(window(&a, 4, 2));
    for (unsigned i = 1; i < ADAPT_STREAK; i++)
        cr_expect_not(window(&a, 10, 0));
    cr_expect(adapt_starved(&a));
    cr_expect(window(&a, 10, 0));
    cr_expect_not(adapt_starved(&a));
    cr_expect_eq(a.switches, 2u);
}

Test(adapt, one_healthy_window_breaks_a_streak)
{
    adapt a;
    adapt_init(&a);
    for (int round = 0; round < 10; round++) {
        for (unsigned i = 1; i < ADAPT_STREAK; i++)
            cr_expect_not(window(&a, 3, 1));
        cr_expect_not(window(&a, 10, 0));
    }
    cr_expect_not(adapt_starved(&a));
}

Test(adapt, off_the_cpu_without_preemption_is_a_blocked_handler)
{
    adapt a;
    adapt_init(&a);
    for (int i = 0; i < 100; i++)
        cr_expect_not(window(&a, 1, 0)); /* asleep in a handler: voluntary */
    cr_expect_not(adapt_starved(&a));
}

Test(adapt, a_ratio_between_the_bounds_says_nothing)
{
    adapt a;
    adapt_init(&a);
    for (unsigned i = 1; i < ADAPT_STREAK; i++)
        window(&a, 5, 1);
    for (int i = 0; i < 50; i++) /* neither: the streak waits */
        cr_expect_not(window(&a, 8, 1));
    cr_expect(window(&a, 5, 1));
    cr_expect(adapt_starved(&a));
    for (int i = 0; i < 50; i++)
        cr_expect_not(window(&a, 8, 1));
    cr_expect(adapt_starved(&a));
}

Test(adapt, short_samples_add_up_to_a_window)
{
    adapt a;
    adapt_init(&a);
    uint64_t step = W / 16, changes = 0;
    for (unsigned i = 0; i < 16 * ADAPT_STREAK; i++)
        changes += adapt_feed(&a, step, step / 2, i % 4 == 0);
    cr_expect_eq(changes, 1u);
    cr_expect(adapt_starved(&a));
    /* a CPU clock ahead of the wall (two sources) counts as a full share */
    for (unsigned i = 0; i < 16 * ADAPT_STREAK; i++)
        changes += adapt_feed(&a, step, step * 2, 0);
    cr_expect_eq(changes, 2u);
    cr_expect_not(adapt_starved(&a));
}
