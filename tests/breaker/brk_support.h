/* tests/breaker/brk_support.h — what the breaker suites share: a system on
 * a manual clock (one per test, made by the suite's init), an echo actor,
 * and short forms for one call, one info read, one refusal. */
#ifndef TROUPE_TESTS_BRK_SUPPORT_H
#define TROUPE_TESTS_BRK_SUPPORT_H

#include "../support.h"

#define T0 (1 * S_NS) /* the manual clock's start */

enum { M_ECHO = 1 };

static inline int h_echo(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    (void)state;
    if (tt_is_probe(ctx, m))
        return 0;
    if (m->type != M_ECHO || troupe_reply(ctx, M_ECHO, m->data, m->size) != 0)
        tt_die("echo: type %u", m->type);
    return 0;
}

static const troupe_behaviour echo_beh = {.name = "echo", .handle = h_echo};

/* ---- helpers ---------------------------------------------------------------------- */

static troupe_clock *clk;
static troupe_system *sys;

static inline void setup(void) { sys = tt_system_manual(1, T0, &clk); }

static inline void teardown(void)
{
    troupe_system_destroy(sys);
    troupe_clock_destroy(clk);
}

TestSuite(breaker, .init = setup, .fini = teardown);

/* Only `failure_threshold` consecutive failures open it (the rate needs
 * more calls than any test makes), 1 s open doubling to 60 s, 1 trial. */
static inline troupe_breaker_config cfg_consec(uint32_t n)
{
    troupe_breaker_config c;
    troupe_breaker_config_defaults(&c);
    c.failure_threshold = n;
    c.min_calls = 1000000;
    return c;
}

static inline troupe_breaker *mk(const char *name, const troupe_breaker_config *c)
{
    troupe_breaker *b = NULL;
    int rc = troupe_breaker_create(sys, name, c, &b);
    cr_assert_eq(rc, 0, "troupe_breaker_create: %s", troupe_errname(rc));
    return b;
}

/* One permitted call that went `success`. */
static inline void call(troupe_breaker *b, uint64_t key, int success)
{
    troupe_breaker_permit p;
    cr_assert_eq(troupe_breaker_acquire(b, key, &p), 0);
    cr_assert_eq(troupe_breaker_record(b, &p, success), 0);
}

static inline troupe_breaker_info info(troupe_breaker *b, uint64_t key)
{
    troupe_breaker_info in;
    int rc = troupe_breaker_info_get(b, key, &in);
    cr_assert_eq(rc, 0, "info: %s", troupe_errname(rc));
    return in;
}

static inline troupe_breaker_state state(troupe_breaker *b, uint64_t key) { return info(b, key).state; }

static inline void refused(troupe_breaker *b, uint64_t key)
{
    troupe_breaker_permit p;
    cr_assert_eq(troupe_breaker_acquire(b, key, &p), TROUPE_ECIRCUIT);
}

#endif
