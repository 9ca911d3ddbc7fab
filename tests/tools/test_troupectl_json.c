/* tests/tools/test_troupectl_json.c — troupectl's JSON reader
 * (tools/troupectl/json.c): what the API writes parses and reads back;
 * everything that is not one JSON value is refused; and arbitrary bytes —
 * random, mutated valid replies, every truncation, deep nesting — never
 * crash it (a fixed seed: the same bytes every run; ASan checks the
 * reads). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "../../tools/troupectl/json.h"

static jv *parse(const char *s) { return jv_parse(s, strlen(s)); }

Test(troupectl_json, reads_an_api_reply)
{
    const char *s = "{\"total\":2,\"limit\":100,\"actors\":[{\"ref\":\"0x4000\",\"name\":null,"
                    "\"mailbox\":{\"depth\":3,\"handled\":1e3},\"ok\":true},"
                    "{\"name\":\"b\\u00e9\\n\\\"q\\\"\",\"restarts\":-1.5}]}";
    jv *v = parse(s);
    cr_assert_not_null(v);
    cr_expect_eq(jv_num(v, "total", 0), 2);
    const jv *a = jv_get(v, "actors");
    cr_assert_eq(jv_len(a), 2);
    cr_expect_eq(jv_num(jv_get(jv_at(a, 0), "mailbox"), "handled", 0), 1000);
    cr_expect_str_eq(jv_str(jv_at(a, 0), "ref", ""), "0x4000");
    cr_expect_str_eq(jv_str(jv_at(a, 0), "name", "none"), "none"); /* null is not a string */
    cr_expect_eq(jv_num(jv_at(a, 0), "ok", 0), 1);
    cr_expect_str_eq(jv_str(jv_at(a, 1), "name", ""), "b\xc3\xa9\n\"q\"");
    cr_expect_eq(jv_num(jv_at(a, 1), "restarts", 0), -1.5);
    cr_expect_null(jv_get(v, "missing"));
    cr_expect_null(jv_at(a, 2));
    cr_expect_eq(jv_num(NULL, "x", 7), 7);
    jv_free(v);
}

Test(troupectl_json, unicode_escapes)
{
    jv *v = parse("[\"\\ud83d\\ude00\", \"\\ud800x\", \"\\udc00\", \"\\u0000\"]");
    cr_assert_not_null(v);
    cr_expect_str_eq(jv_at(v, 0)->str, "\xf0\x9f\x98\x80");
    cr_expect_str_eq(jv_at(v, 1)->str, "\xef\xbf\xbdx"); /* a lone surrogate: U+FFFD */
    cr_expect_str_eq(jv_at(v, 2)->str, "\xef\xbf\xbd");
    cr_expect_eq(jv_at(v, 3)->len, 1);
    jv_free(v);
}

Test(troupectl_json, refuses_what_is_not_json)
{
    const char *bad[] = {"", " ", "{", "}", "[1,]", "{\"a\":}", "{\"a\" 1}", "{a:1}", "01", "1.",
                         ".5", "-", "1e", "tru", "nul", "\"abc", "\"\\x\"", "\"\\u12\"",
                         "\"a\nb\"", "[1] 2", "{\"a\":1,}", "[\"a\",,]", "NaN", "+1",
                         "{\"a\":1}}", "<html>"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        jv *v = parse(bad[i]);
        cr_expect_null(v, "accepted %s", bad[i]);
        jv_free(v);
    }
    cr_expect_null(jv_parse(NULL, 0));
    cr_expect_null(jv_parse("1\0", 2)); /* a NUL after the value */
}

Test(troupectl_json, depth_is_bounded)
{
    char deep[4 * JV_DEPTH + 8];
    size_t n = 0;
    for (int i = 0; i < 2 * JV_DEPTH; i++)
        deep[n++] = '[';
    for (int i = 0; i < 2 * JV_DEPTH; i++)
        deep[n++] = ']';
    cr_expect_null(jv_parse(deep, n)); /* deeper than JV_DEPTH: refused, no stack overflow */
    n = 0;
    for (int i = 0; i < JV_DEPTH; i++)
        deep[n++] = '[';
    for (int i = 0; i < JV_DEPTH; i++)
        deep[n++] = ']';
    jv *ok = jv_parse(deep, n); /* exactly JV_DEPTH: read */
    cr_expect_not_null(ok);
    jv_free(ok);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)rng;
}

/* Arbitrary bytes, valid replies mutated byte by byte, and every prefix of
 * a valid reply: each either parses or is refused; none crashes. */
Test(troupectl_json, survives_arbitrary_bytes)
{
    static const char seed[] =
        "{\"root\":{\"kind\":\"supervisor\",\"children\":[{\"name\":\"a\",\"x\":[1,2.5e-3,true,"
        "false,null,\"\\u00e9\\\\\"]},{}],\"n\":-0}}";
    char buf[512];
    for (int round = 0; round < 20000; round++) {
        size_t n;
        if (round % 3 == 0) { /* random bytes */
            n = next() % sizeof buf;
            for (size_t i = 0; i < n; i++)
                buf[i] = (char)next();
        } else { /* the seed with a few bytes changed */
            n = sizeof seed - 1;
            memcpy(buf, seed, n);
            for (int k = 1 + (int)(next() % 4); k > 0; k--)
                buf[next() % n] = (char)"{}[]\",:\\u0e.-+ \x80\xff"[next() % 18];
        }
        jv_free(jv_parse(buf, n));
    }
    for (size_t n = 0; n < sizeof seed - 1; n++) { /* every truncation is refused */
        jv *v = jv_parse(seed, n);
        cr_expect(v == NULL || n == 0, "prefix of %zu bytes accepted", n);
        jv_free(v);
    }
    jv *v = jv_parse(seed, sizeof seed - 1);
    cr_expect_not_null(v);
    jv_free(v);
}
