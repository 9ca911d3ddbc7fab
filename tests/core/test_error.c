/* tests/core/test_error.c — error codes, their text and names; the other
 * "name of an enum" helpers. */
#include <limits.h>

#include "../support.h"

typedef struct code_row {
    int code;
    const char *name; /* "TROUPE_EINVAL" */
    const char *text;
} code_row;

static const code_row rows[] = {
#define ROW(name, val, text) {val, "TROUPE_" #name, text},
    TROUPE_ERRNO_MAP(ROW)
#undef ROW
};
#define NROWS (sizeof rows / sizeof rows[0])

Test(error, every_code_has_its_text)
{
    for (size_t i = 0; i < NROWS; i++) {
        const char *s = troupe_strerror(rows[i].code);
        cr_assert_not_null(s, "strerror(%d) is NULL", rows[i].code);
        cr_expect_str_eq(s, rows[i].text, "strerror(%d)", rows[i].code);
        cr_expect_str_neq(s, "unknown error", "code %d has no text", rows[i].code);
    }
}

Test(error, every_code_has_its_name)
{
    for (size_t i = 0; i < NROWS; i++) {
        const char *n = troupe_errname(rows[i].code);
        cr_assert_not_null(n, "errname(%d) is NULL", rows[i].code);
        cr_expect_str_eq(n, rows[i].name, "errname(%d)", rows[i].code);
    }
}

Test(error, codes_are_distinct_and_negative)
{
    cr_expect_eq(TROUPE_OK, 0);
    for (size_t i = 0; i < NROWS; i++) {
        if (rows[i].code != 0)
            cr_expect_lt(rows[i].code, 0, "%s must be negative", rows[i].name);
        for (size_t j = i + 1; j < NROWS; j++) {
            cr_expect_neq(rows[i].code, rows[j].code, "%s and %s share a value", rows[i].name,
                          rows[j].name);
            cr_expect_str_neq(troupe_strerror(rows[i].code), troupe_strerror(rows[j].code),
                              "%s and %s share a text", rows[i].name, rows[j].name);
        }
    }
}

Test(error, documented_values)
{
    /* The values are ABI: pin the ones users are most likely to hardcode. */
    cr_expect_eq(TROUPE_EINVAL, -1);
    cr_expect_eq(TROUPE_ENOACTOR, -3);
    cr_expect_eq(TROUPE_EFULL, -4);
    cr_expect_eq(TROUPE_ETIMEDOUT, -5);
    cr_expect_eq(TROUPE_ESHUTDOWN, -6);
    cr_expect_eq(TROUPE_ESTATE, -11);
    cr_expect_eq(TROUPE_EFAILED, -14);
    cr_expect_eq(TROUPE_ECIRCUIT, -15);
    cr_expect_eq(TROUPE_EIO, -16);
    cr_expect_eq(TROUPE_ECORRUPT, -17);
    cr_expect_eq(TROUPE_ETRUNC, -18);
    cr_expect_eq(TROUPE_EFENCED, -19);
    cr_expect_eq(TROUPE_ENODEDOWN, -20);
}

static const int unknown_codes[] = {1, 2, 100, -21, -22, -100, -1000, INT_MAX, INT_MIN,
                                    INT_MIN + 1};

Test(error, unknown_codes_give_unknown_error)
{
    for (size_t i = 0; i < sizeof unknown_codes / sizeof unknown_codes[0]; i++) {
        const char *s = troupe_strerror(unknown_codes[i]);
        cr_assert_not_null(s, "strerror(%d) is NULL", unknown_codes[i]);
        cr_expect_str_eq(s, "unknown error", "strerror(%d)", unknown_codes[i]);
    }
}

Test(error, unknown_codes_have_a_name_that_is_no_real_code)
{
    for (size_t i = 0; i < sizeof unknown_codes / sizeof unknown_codes[0]; i++) {
        const char *n = troupe_errname(unknown_codes[i]);
        cr_assert_not_null(n, "errname(%d) is NULL", unknown_codes[i]);
        cr_expect_gt(strlen(n), 0u, "errname(%d) is empty", unknown_codes[i]);
        for (size_t j = 0; j < NROWS; j++)
            cr_expect_str_neq(n, rows[j].name, "errname(%d) claims to be %s", unknown_codes[i],
                              rows[j].name);
    }
}

Test(error, strings_are_static_and_stable)
{
    /* Same pointer on every call (static storage), never freed by us. */
    for (size_t i = 0; i < NROWS; i++) {
        cr_expect_eq(troupe_strerror(rows[i].code), troupe_strerror(rows[i].code));
        cr_expect_eq(troupe_errname(rows[i].code), troupe_errname(rows[i].code));
    }
}

static void *strerror_thread(void *arg)
{
    long bad = 0;
    for (int k = 0; k < 2000; k++)
        for (size_t i = 0; i < NROWS; i++)
            if (strcmp(troupe_strerror(rows[i].code), rows[i].text) != 0 ||
                strcmp(troupe_errname(rows[i].code), rows[i].name) != 0)
                bad++;
    *(long *)arg = bad;
    return NULL;
}

Test(error, thread_safe)
{
    pthread_t th[4];
    long bad[4] = {0};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, strerror_thread, &bad[i]), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        cr_expect_eq(bad[i], 0, "thread %d saw %ld wrong strings", i, bad[i]);
    }
}

/* ---- the other name helpers: never NULL ----------------------------------- */

Test(error, failure_kind_names)
{
    cr_expect_str_eq(troupe_failure_kind_name(TROUPE_EXIT_PANIC), "panic");
    const troupe_failure_kind kinds[] = {TROUPE_EXIT_NORMAL, TROUPE_EXIT_SHUTDOWN,
                                         TROUPE_EXIT_ERROR, TROUPE_EXIT_PANIC, TROUPE_EXIT_INIT};
    for (size_t i = 0; i < 5; i++) {
        const char *n = troupe_failure_kind_name(kinds[i]);
        cr_assert_not_null(n);
        cr_expect_gt(strlen(n), 0u);
        for (size_t j = 0; j < i; j++)
            cr_expect_str_neq(n, troupe_failure_kind_name(kinds[j]), "kinds %zu and %zu", i, j);
    }
    cr_expect_not_null(troupe_failure_kind_name((troupe_failure_kind)99));
    cr_expect_not_null(troupe_failure_kind_name((troupe_failure_kind)-1));
}

Test(error, overflow_names)
{
    cr_expect_str_eq(troupe_overflow_name(TROUPE_OVERFLOW_BLOCK), "block");
    cr_expect_str_eq(troupe_overflow_name(TROUPE_OVERFLOW_REJECT), "reject");
    const troupe_overflow pols[] = {TROUPE_OVERFLOW_BLOCK, TROUPE_OVERFLOW_REJECT,
                                    TROUPE_OVERFLOW_DROP_NEWEST, TROUPE_OVERFLOW_DROP_OLDEST,
                                    TROUPE_OVERFLOW_REDIRECT};
    for (size_t i = 0; i < 5; i++) {
        const char *n = troupe_overflow_name(pols[i]);
        cr_assert_not_null(n);
        cr_expect_gt(strlen(n), 0u);
        for (size_t j = 0; j < i; j++)
            cr_expect_str_neq(n, troupe_overflow_name(pols[j]), "policies %zu and %zu", i, j);
    }
    cr_expect_not_null(troupe_overflow_name((troupe_overflow)42));
    cr_expect_not_null(troupe_overflow_name((troupe_overflow)-1));
}

/* ---- NULL-safety of the calls that accept or return nothing ------------- */

Test(error, null_safety)
{
    troupe_system_destroy(NULL); /* documented: NULL accepted */
    troupe_clock_destroy(NULL);  /* documented: NULL accepted */
    cr_expect_eq(troupe_system_create(NULL, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_system_stats_get(NULL, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_clock_create_manual(NULL, 0), TROUPE_EINVAL);
    cr_expect_eq(troupe_clock_advance(NULL, 1), TROUPE_EINVAL);
    cr_expect_eq(troupe_tell(NULL, TROUPE_REF_NONE, 1, NULL, 0), TROUPE_EINVAL);
    cr_expect_eq(troupe_tell_ptr(NULL, TROUPE_REF_NONE, 1, NULL, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_ask(NULL, TROUPE_REF_NONE, 1, NULL, 0, 1, NULL, NULL, 0, NULL),
                 TROUPE_EINVAL);
    cr_expect_eq(troupe_spawn(NULL, NULL, NULL, NULL, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_stop(NULL, TROUPE_REF_NONE), TROUPE_EINVAL);
    cr_expect_eq(troupe_alive(NULL, TROUPE_REF_NONE), 0);
    cr_expect_eq(troupe_actor_stats(NULL, TROUPE_REF_NONE, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_send_after(NULL, TROUPE_REF_NONE, 1, NULL, 0, 1, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_timer_cancel(NULL, (troupe_timer){1}), TROUPE_EINVAL);
    /* Outside a handler there is no current actor, nothing to take. */
    cr_expect(troupe_ref_is_none(troupe_current()));
    cr_expect_null(troupe_msg_take(NULL));
    /* The monotonic clock is the default when NULL is passed. */
    uint64_t a = troupe_clock_now(NULL);
    uint64_t b = troupe_clock_now(NULL);
    cr_expect_geq(b, a);
}

/* TR_ASSERT (base/assert.h) must be live where our sanitizer suites run,
 * or a broken invariant goes unnoticed there; a passing one is silent. */
#include "base/assert.h"

Test(debug_assert, on_in_sanitizer_builds)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    cr_assert_eq(TR_ASSERT_ON, 1, "sanitizer build without TROUPE_DEBUG_ASSERT");
#endif
    int evaluated = 0;
    TR_ASSERT(++evaluated == 1);
    cr_assert_eq(evaluated, TR_ASSERT_ON, "the condition runs only when assertions are on");
}
