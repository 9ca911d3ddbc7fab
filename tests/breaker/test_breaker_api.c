/* tests/breaker/test_breaker_api.c — circuit breakers: asks through one,
 * keys, the system's list, and bad input. */
#include <math.h>

#include "brk_support.h"
#include "core/alloc.h" /* fault injection (white box) */

/* ---- asks, keys, the list ----------------------------------------------------------------- */

Test(breaker, ask_through_an_open_circuit_sends_nothing)
{
    troupe_breaker_config c = cfg_consec(2);
    troupe_breaker *b = mk("ask", &c);
    troupe_ref r = tt_spawn(sys, &echo_beh, NULL, NULL);
    uint32_t rt = 0;
    cr_assert_eq(troupe_breaker_ask(b, r.id, r, M_ECHO, NULL, 0, ASK_FOREVER_NS, &rt, NULL, 0,
                                    NULL),
                 0);
    cr_assert_eq(rt, M_ECHO);
    /* a caller's error is no outcome: the permit is cancelled */
    cr_assert_eq(troupe_breaker_ask(b, r.id, r, TROUPE_MSG_SYSTEM, NULL, 0, ASK_FOREVER_NS, NULL,
                                    NULL, 0, NULL),
                 TROUPE_EINVAL);
    cr_assert_eq(info(b, r.id).calls, 1);
    call(b, r.id, 0);
    call(b, r.id, 0);
    troupe_mailbox_stats before = tt_stats(sys, r);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(troupe_breaker_ask(b, r.id, r, M_ECHO, "x", 1, ASK_FOREVER_NS, NULL, NULL, 0,
                                        NULL),
                     TROUPE_ECIRCUIT);
    troupe_mailbox_stats after = tt_stats(sys, r);
    cr_assert_eq(after.accepted, before.accepted);
    cr_assert_eq(after.handled, before.handled);
    cr_assert_eq(after.depth, 0);
    cr_assert_eq(info(b, r.id).rejected, 3);
    troupe_breaker_destroy(b);
}

Test(breaker, keys_are_independent)
{
    troupe_breaker_config c = cfg_consec(2);
    troupe_breaker *b = mk("keys", &c);
    for (uint64_t k = 0; k < 100; k++) /* enough to grow every stripe's table */
        call(b, k, 1);
    call(b, 42, 0);
    call(b, 42, 0);
    refused(b, 42);
    call(b, 43, 0);
    call(b, 41, 1);
    for (uint64_t k = 0; k < 100; k++)
        cr_assert_eq(state(b, k), k == 42 ? TROUPE_BREAKER_OPEN : TROUPE_BREAKER_CLOSED);
    cr_assert_eq(info(b, 43).consecutive_failures, 1);
    troupe_breaker_info in;
    cr_assert_eq(troupe_breaker_info_get(b, 100, &in), TROUPE_ENOTFOUND);
    troupe_breaker_destroy(b);
}

static int find_entry(const troupe_breaker_info *v, size_t n, const char *name, uint64_t key)
{
    int found = 0;
    for (size_t i = 0; i < n; i++)
        found += strcmp(v[i].name, name) == 0 && v[i].key == key;
    return found;
}

Test(breaker, list_shows_every_circuit_of_every_breaker)
{
    troupe_breaker_config c = cfg_consec(1);
    troupe_breaker *a = mk("alpha", &c), *z = mk("zeta", &c);
    for (uint64_t k = 1; k <= 3; k++)
        call(a, k, 1);
    call(z, 9, 0);
    size_t total = 99;
    cr_assert_eq(troupe_breaker_list(sys, NULL, 0, &total), 0);
    cr_assert_eq(total, 4);
    troupe_breaker_info v[8];
    cr_assert_eq(troupe_breaker_list(sys, v, 8, &total), 0);
    cr_assert_eq(total, 4);
    for (uint64_t k = 1; k <= 3; k++)
        cr_assert_eq(find_entry(v, 4, "alpha", k), 1);
    cr_assert_eq(find_entry(v, 4, "zeta", 9), 1);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(v[i].state, v[i].key == 9 ? TROUPE_BREAKER_OPEN : TROUPE_BREAKER_CLOSED);
    memset(v, 0, sizeof v);
    cr_assert_eq(troupe_breaker_list(sys, v, 2, &total), 0);
    cr_assert_eq(total, 4);
    cr_assert_eq(v[2].key, 0); /* nothing past cap */
    cr_assert_str_empty(v[2].name);
    troupe_breaker_destroy(a);
    cr_assert_eq(troupe_breaker_list(sys, v, 8, &total), 0);
    cr_assert_eq(total, 1);
    cr_assert_str_eq(v[0].name, "zeta");
    cr_assert_str_eq(troupe_breaker_state_name(v[0].state), "open");
    /* z is left to troupe_system_destroy (ASan checks it is freed) */
}

/* ---- bad input ------------------------------------------------------------------------------ */

static int create_with(troupe_breaker_config c)
{
    troupe_breaker *b = (troupe_breaker *)&c; /* must be reset to NULL */
    int rc = troupe_breaker_create(sys, "bad", &c, &b);
    cr_assert_null(b);
    return rc;
}

Test(breaker, bad_config_is_einval)
{
    troupe_breaker_config d;
    troupe_breaker_config_defaults(&d);
    troupe_breaker_config_defaults(NULL);
    troupe_breaker_config c;
#define BAD(field, value)                                                  \
    do {                                                                   \
        c = d;                                                             \
        c.field = value;                                                   \
        cr_assert_eq(create_with(c), TROUPE_EINVAL, #field " = " #value); \
    } while (0)
    BAD(failure_threshold, 0);
    BAD(min_calls, 0);
    BAD(half_open_max, 0);
    BAD(success_threshold, 0);
    BAD(open_timeout_ns, 0);
    BAD(failure_rate, 0.0);
    BAD(failure_rate, 1.01);
    BAD(failure_rate, -0.5);
    BAD(failure_rate, NAN);
    BAD(backoff_multiplier, 0.5);
    BAD(backoff_multiplier, NAN);
    BAD(window_buckets, 0);
    BAD(window_buckets, TROUPE_BREAKER_MAX_BUCKETS + 1);
    BAD(window_ns, 5);
    BAD(max_open_timeout_ns, d.open_timeout_ns - 1);
    BAD(reserved[7], 1);
#undef BAD
    c = d;
    c.failure_rate = 1.0;
    c.backoff_multiplier = 1.0;
    troupe_breaker *b = NULL;
    cr_assert_eq(troupe_breaker_create(sys, "edge", &c, &b), 0);
    troupe_breaker_destroy(b);
}

Test(breaker, bad_calls_fail_without_crashing)
{
    troupe_breaker *b = NULL, *o = NULL;
    char long_name[TROUPE_BREAKER_NAME_MAX + 2];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    cr_assert_eq(troupe_breaker_create(NULL, "x", NULL, &b), TROUPE_EINVAL);
    cr_assert_eq(troupe_breaker_create(sys, NULL, NULL, &b), TROUPE_EINVAL);
    cr_assert_eq(troupe_breaker_create(sys, "", NULL, &b), TROUPE_EINVAL);
    cr_assert_eq(troupe_breaker_create(sys, long_name, NULL, &b), TROUPE_EINVAL);
    cr_assert_eq(troupe_breaker_create(sys, "x", NULL, NULL), TROUPE_EINVAL);
    long_name[TROUPE_BREAKER_NAME_MAX] = 0; /* exactly the longest */
    cr_assert_eq(troupe_breaker_create(sys, long_name, NULL, &b), 0);
    cr_assert_eq(troupe_breaker_create(sys, "other", NULL, &o), 0);
    troupe_breaker_permit p, q;
    troupe_breaker_info in;
    size_t total;
    cr_assert_eq(troupe_breaker_acquire(NULL, 1, &p), TROUPE_EINVAL);
    cr_assert_eq(troupe_breaker_acquire(b, 1, NULL), TROUPE_EINVAL);
    cr_assert_eq(troupe_breaker_record(b, NULL, 1), TROUPE_EINVAL);
    cr_assert_eq(troupe_breaker_cancel(NULL, &p), TROUPE_EINVAL);
    cr_assert_eq(troupe_breaker_acquire(b, 1, &p), 0);
    cr_assert_eq(troupe_breaker_record(NULL, &p, 1), TROUPE_EINVAL);
    cr_assert_eq(troupe_breaker_record(o, &p, 1), TROUPE_EINVAL); /* another breaker's */
    q = p;
    cr_assert_eq(troupe_breaker_record(b, &p, 1), 0);
    cr_assert_eq(troupe_breaker_record(b, &p, 1), TROUPE_EINVAL); /* spent */
    cr_assert_eq(troupe_breaker_cancel(b, &p), TROUPE_EINVAL);
    q.key = 77; /* a forged permit: no such circuit */
    cr_assert_eq(troupe_breaker_record(b, &q, 1), TROUPE_ENOTFOUND);
    cr_assert_eq(info(b, 1).calls, 1);
    cr_assert_eq(troupe_breaker_info_get(b, 2, &in), TROUPE_ENOTFOUND);
    cr_assert_eq(troupe_breaker_info_get(NULL, 1, &in), TROUPE_EINVAL);
    cr_assert_eq(troupe_breaker_info_get(b, 1, NULL), TROUPE_EINVAL);
    cr_assert_eq(troupe_breaker_list(NULL, &in, 1, &total), TROUPE_EINVAL);
    cr_assert_eq(troupe_breaker_list(sys, NULL, 1, &total), TROUPE_EINVAL);
    cr_assert_eq(troupe_breaker_list(sys, &in, 1, NULL), TROUPE_EINVAL);
    cr_assert_eq(troupe_breaker_ask(NULL, 1, TROUPE_REF_NONE, M_ECHO, NULL, 0, 1, NULL, NULL, 0,
                                    NULL),
                 TROUPE_EINVAL);
    cr_assert_str_eq(troupe_breaker_state_name(TROUPE_BREAKER_CLOSED), "closed");
    cr_assert_str_eq(troupe_breaker_state_name(TROUPE_BREAKER_HALF_OPEN), "half_open");
    cr_assert_str_eq(troupe_breaker_state_name((troupe_breaker_state)7), "unknown");
    cr_assert_str_eq(troupe_strerror(TROUPE_ECIRCUIT), "circuit breaker open");
    troupe_breaker_destroy(NULL);
    troupe_breaker_destroy(b);
    troupe_breaker_destroy(o);
}

/* Fail the n-th allocation for n = 0, 1, ... until a create and a first
 * acquire on each of 40 keys (stripe tables grow) all succeed: every failure
 * is TROUPE_ENOMEM, and nothing leaks (ASan). */
static int create_and_fill(void)
{
    troupe_breaker *b = NULL;
    int rc = troupe_breaker_create(sys, "oom", NULL, &b);
    for (uint64_t k = 0; k < 40 && rc == 0; k++) {
        troupe_breaker_permit p;
        if ((rc = troupe_breaker_acquire(b, k, &p)) == 0)
            rc = troupe_breaker_record(b, &p, 1);
    }
    troupe_breaker_destroy(b);
    return rc;
}

Test(breaker, out_of_memory_is_enomem)
{
    int rc = TROUPE_ENOMEM;
    long n;
    for (n = 0; n < 1000 && rc == TROUPE_ENOMEM; n++) {
        troupei_alloc_fail_after(n);
        rc = create_and_fill();
        troupei_alloc_fail_after(-1);
    }
    cr_assert_eq(rc, 0, "after %ld allocations: %s", n, troupe_errname(rc));
    cr_assert_gt(n, 2, "the create and the tables allocate");
}
