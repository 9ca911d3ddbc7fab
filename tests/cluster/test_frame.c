/* tests/cluster/test_frame.c — the wire frame codec: what is encoded
 * decodes to the same envelopes in order; a bad frame, from a table of
 * hand-made ones and from a bounded loop of random bytes (fixed seed), is
 * dropped and counted, never read out of bounds (ASan watches). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/frame.h"
#include "troupe/error.h"

#define MAXP 4096

typedef struct seen {
    frame_env env[64];
    uint8_t payload[64][32];
    size_t n;
} seen;

static void collect(void *arg, const frame_env *env)
{
    seen *s = arg;
    cr_assert_lt(s->n, 64);
    s->env[s->n] = *env;
    memcpy(s->payload[s->n], env->payload, env->len < 32 ? env->len : 32);
    s->n++;
}

static frame_env tell(uint64_t to, uint32_t type, const char *text)
{
    return (frame_env){.kind = FRAME_TELL, .type = type, .from = 0x1234, .to = to,
                       .len = (uint32_t)strlen(text), .payload = (const uint8_t *)text};
}

Test(frame, round_trip_keeps_order_and_fields)
{
    frame_buf fb;
    frame_init(&fb, 77);
    cr_assert_eq(frame_add(&fb, &(frame_env){.kind = FRAME_ASK, .type = 9, .from = ~0ull,
                                             .to = 5, .ask_id = 42}, MAXP), 0);
    for (uint32_t i = 0; i < 20; i++) {
        frame_env e = tell(100 + i, i, "payload");
        cr_assert_eq(frame_add(&fb, &e, MAXP), 0);
    }
    seen s = {0};
    frame_stats st = {0};
    uint64_t inc = 0;
    cr_assert_eq(frame_decode(fb.data, fb.len, MAXP, collect, &s, &inc, &st), 21);
    cr_expect_eq(inc, 77);
    cr_expect_eq(st.frames, 1);
    cr_expect_eq(s.env[0].kind, FRAME_ASK);
    cr_expect_eq(s.env[0].from, ~0ull);
    cr_expect_eq(s.env[0].ask_id, 42);
    cr_expect_eq(s.env[0].len, 0);
    for (uint32_t i = 0; i < 20; i++) {
        cr_expect_eq(s.env[1 + i].to, 100 + i);
        cr_expect_eq(s.env[1 + i].type, i);
        cr_expect_eq(memcmp(s.payload[1 + i], "payload", 7), 0);
    }
    frame_reset(&fb);
    cr_expect_eq(fb.count, 0);
    frame_free(&fb);
}

/* A cluster actor's message and its MOVED: the fields and the payload
 * (pid prefix and message) come back unchanged. */
Test(frame, csend_and_moved_round_trip)
{
    static const uint8_t body[] = {3, 'c', '/', 'k', 0xAB, 0xCD};
    frame_buf fb;
    frame_init(&fb, 5);
    frame_env cs = {.kind = FRAME_CSEND, .type = 7, .from = 0x11, .to = 0x22ull << 32 | 1,
                    .ask_id = 9, .len = sizeof body, .payload = body};
    frame_env mv = cs;
    mv.kind = FRAME_MOVED;
    cr_assert_eq(frame_add(&fb, &cs, MAXP), 0);
    cr_assert_eq(frame_add(&fb, &mv, MAXP), 0);
    seen s = {0};
    frame_stats st = {0};
    uint64_t inc = 0;
    cr_assert_eq(frame_decode(fb.data, fb.len, MAXP, collect, &s, &inc, &st), 2);
    for (int i = 0; i < 2; i++) {
        cr_expect_eq(s.env[i].kind, i ? FRAME_MOVED : FRAME_CSEND);
        cr_expect_eq(s.env[i].type, 7);
        cr_expect_eq(s.env[i].from, 0x11);
        cr_expect_eq(s.env[i].to, cs.to);
        cr_expect_eq(s.env[i].ask_id, 9);
        cr_expect_eq(s.env[i].len, sizeof body);
        cr_expect_eq(memcmp(s.payload[i], body, sizeof body), 0);
    }
    frame_free(&fb);
}

Test(frame, encoder_refuses_bad_envelopes)
{
    frame_buf fb;
    frame_init(&fb, 1);
    frame_env e = tell(1, 1, "x");
    e.kind = 0;
    cr_expect_eq(frame_add(&fb, &e, MAXP), TROUPE_EINVAL);
    e.kind = FRAME_KIND_MAX + 1;
    cr_expect_eq(frame_add(&fb, &e, MAXP), TROUPE_EINVAL);
    e = tell(1, 1, "too long");
    cr_expect_eq(frame_add(&fb, &e, 3), TROUPE_EINVAL);
    e.payload = NULL;
    cr_expect_eq(frame_add(&fb, &e, MAXP), TROUPE_EINVAL);
    cr_expect_eq(frame_add(&fb, NULL, MAXP), TROUPE_EINVAL);
    cr_expect_eq(fb.count, 0);
    frame_free(&fb);
}

/* A good frame of three envelopes, for the bad cases to damage. */
static size_t good_frame(uint8_t *out)
{
    frame_buf fb;
    frame_init(&fb, 3);
    frame_add(&fb, &(frame_env[]){tell(1, 1, "one")}[0], MAXP);
    frame_add(&fb, &(frame_env[]){tell(2, 2, "two")}[0], MAXP);
    frame_add(&fb, &(frame_env[]){tell(3, 3, "three")}[0], MAXP);
    size_t n = fb.len;
    memcpy(out, fb.data, n);
    frame_free(&fb);
    return n;
}

#define E2 (FRAME_HDR + FRAME_ENV_HDR + 3) /* offset of the second envelope */

typedef struct bad_case {
    const char *name;
    void (*damage)(uint8_t *b, size_t *n);
    size_t delivered;
    size_t field; /* offsetof the frame_stats counter that must be 1 */
} bad_case;

static void magic(uint8_t *b, size_t *n) { (void)n; b[0] ^= 1; }
static void version(uint8_t *b, size_t *n) { (void)n; b[4] = 2; }
static void flags(uint8_t *b, size_t *n) { (void)n; b[5] = 1; }
static void short_hdr(uint8_t *b, size_t *n) { (void)b; *n = FRAME_HDR - 1; }
static void empty(uint8_t *b, size_t *n) { (void)b; *n = 0; }
static void cut_env_hdr(uint8_t *b, size_t *n) { (void)b; *n = E2 + 10; }
static void cut_payload(uint8_t *b, size_t *n) { (void)b; *n = E2 + FRAME_ENV_HDR + 1; }
static void count_high(uint8_t *b, size_t *n) { (void)n; b[6] = 4; }
static void oversized(uint8_t *b, size_t *n) { (void)n; b[E2 + 32 + 2] = 1; }
static void huge_len(uint8_t *b, size_t *n) { (void)n; memset(b + E2 + 32, 0xff, 4); }
static void kind_bad(uint8_t *b, size_t *n) { (void)n; b[E2] = 99; }
static void kind_next(uint8_t *b, size_t *n) { (void)n; b[E2] = FRAME_TRACE + 1; }
static void kind_trace(uint8_t *b, size_t *n) { (void)n; b[E2] = FRAME_TRACE; b[E2 + 4] = 0; }
static void kind_zero(uint8_t *b, size_t *n) { (void)n; b[E2] = 0; }
static void pad_bad(uint8_t *b, size_t *n) { (void)n; b[E2 + 1] = 1; }
static void trailing(uint8_t *b, size_t *n) { b[*n] = 0; (*n)++; }
static void count_low(uint8_t *b, size_t *n) { (void)n; b[6] = 2; }

#define F(x) offsetof(frame_stats, x)
static const bad_case bad_cases[] = {
    {"wrong magic", magic, 0, F(bad_header)},
    {"unknown version", version, 0, F(bad_version)},
    {"nonzero flags", flags, 0, F(bad_header)},
    {"short header", short_hdr, 0, F(bad_header)},
    {"empty", empty, 0, F(bad_header)},
    {"envelope header cut", cut_env_hdr, 1, F(truncated)},
    {"payload cut", cut_payload, 1, F(truncated)},
    {"count above the envelopes", count_high, 3, F(truncated)},
    {"oversized envelope", oversized, 1, F(oversized)},
    {"length 4 GiB", huge_len, 1, F(oversized)},
    {"unknown kind", kind_bad, 2, F(bad_envelope)},
    {"the kind after TRACE", kind_next, 2, F(bad_envelope)},
    /* a TRACE whose payload is not a context: dropped, the next one
     * delivered (untraced) */
    {"a TRACE of 3 bytes", kind_trace, 2, F(bad_envelope)},
    {"kind 0", kind_zero, 2, F(bad_envelope)},
    {"nonzero padding", pad_bad, 2, F(bad_envelope)},
    {"trailing byte", trailing, 3, F(trailing)},
    {"count below the envelopes", count_low, 2, F(trailing)},
};

Test(frame, bad_frames_are_dropped_and_counted)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        uint8_t buf[512];
        size_t n = good_frame(buf);
        c->damage(buf, &n);
        /* a copy of exactly n bytes, so ASan sees any read past the end */
        uint8_t *exact = malloc(n ? n : 1);
        memcpy(exact, buf, n);
        seen s = {0};
        frame_stats st = {0};
        uint64_t inc;
        size_t got = frame_decode(exact, n, 1000, collect, &s, &inc, &st);
        cr_expect_eq(got, c->delivered, "%s: %zu delivered", c->name, got);
        cr_expect_eq(*(uint64_t *)((char *)&st + c->field), 1, "%s: not counted", c->name);
        free(exact);
    }
}

Test(frame, null_buffer_is_a_bad_header)
{
    frame_stats st = {0};
    uint64_t inc = 9;
    cr_expect_eq(frame_decode(NULL, 0, MAXP, collect, NULL, &inc, &st), 0);
    cr_expect_eq(st.bad_header, 1);
    cr_expect_eq(inc, 0);
}

static void discard(void *arg, const frame_env *env)
{
    size_t *sum = arg;
    for (uint32_t i = 0; i < env->len; i++) /* touch every byte: ASan checks */
        *sum += env->payload[i];
    for (uint32_t i = 0; env->trace && i < FRAME_TRACE_LEN; i++)
        *sum += env->trace[i];
}

/* good_frame with a context before its first and third envelopes. */
static const uint8_t ctx_a[FRAME_TRACE_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                               16, 21, 22, 23, 24, 25, 26, 27, 28, 1};
static size_t traced_frame(uint8_t *out)
{
    frame_buf fb;
    frame_init(&fb, 3);
    frame_env e = tell(1, 1, "one");
    e.trace = ctx_a;
    frame_add(&fb, &e, MAXP);
    frame_add(&fb, &(frame_env[]){tell(2, 2, "two")}[0], MAXP);
    e = tell(3, 3, "three");
    e.trace = ctx_a;
    frame_add(&fb, &e, MAXP);
    size_t n = fb.len;
    memcpy(out, fb.data, n);
    frame_free(&fb);
    return n;
}

/* Random bytes, and good frames with random bytes flipped: a bounded loop
 * with a fixed seed, so a failure replays. */
Test(frame, random_bytes_never_crash)
{
    srand(14);
    size_t sum = 0;
    frame_stats st = {0};
    for (int round = 0; round < 20000; round++) {
        uint8_t buf[512];
        size_t n = round % 4 == 2 ? traced_frame(buf) : good_frame(buf);
        if (round % 2) {
            n = (size_t)rand() % sizeof buf;
            for (size_t i = 0; i < n; i++)
                buf[i] = (uint8_t)rand();
        } else {
            for (int k = 0; k < 1 + rand() % 4; k++)
                buf[rand() % n] ^= (uint8_t)(1 + rand() % 255);
        }
        uint8_t *exact = malloc(n ? n : 1);
        memcpy(exact, buf, n);
        uint64_t inc;
        size_t got = frame_decode(exact, n, 64, discard, &sum, &inc, &st);
        /* a traced frame holds 5 envelopes: a flipped kind may turn a TRACE
         * into a message */
        cr_assert_leq(got, (round % 4 == 2 ? 5u : 3u) + (round % 2 ? n / FRAME_ENV_HDR : 0));
        free(exact);
    }
    cr_expect_gt(st.bad_header + st.bad_version + st.truncated + st.oversized +
                     st.bad_envelope + st.trailing, 0);
}

/* ---- trace contexts (FRAME_TRACE) ---- */

static const uint8_t *seen_trace[64];
static void collect_traced(void *arg, const frame_env *env)
{
    seen *s = arg;
    seen_trace[s->n] = env->trace;
    collect(arg, env);
}

Test(frame, trace_context_round_trip)
{
    frame_buf fb;
    frame_init(&fb, 5);
    frame_env e = tell(7, 70, "hello");
    e.trace = ctx_a;
    cr_assert_eq(frame_add(&fb, &e, MAXP), 0);
    cr_assert_eq(frame_add(&fb, &(frame_env){.kind = FRAME_REPLY, .to = 9, .ask_id = 3}, MAXP), 0);
    e = (frame_env){.kind = FRAME_ASK, .type = 8, .from = 1, .to = 2, .ask_id = 99, .trace = ctx_a};
    cr_assert_eq(frame_add(&fb, &e, MAXP), 0);
    e = (frame_env){.kind = FRAME_CSEND, .to = 4, .len = 2, .payload = (const uint8_t *)"\001p",
                    .trace = ctx_a};
    cr_assert_eq(frame_add(&fb, &e, MAXP), 0);
    cr_expect_eq(fb.count, 7, "three contexts and four envelopes");
    /* what an older node sees: a well-formed envelope of an unknown kind
     * (padding zero, its length 25) before the message, which it skips */
    const uint8_t *t = fb.data + FRAME_HDR;
    cr_expect_eq(t[0], FRAME_TRACE);
    cr_expect(t[1] == 0 && t[2] == 0 && t[3] == 0 && t[36] == 0 && t[37] == 0);
    cr_expect_eq(t[32], FRAME_TRACE_LEN);
    cr_expect_eq(t[FRAME_TRACE_SIZE], FRAME_TELL);
    seen s = {0};
    frame_stats st = {0};
    uint64_t inc;
    cr_assert_eq(frame_decode(fb.data, fb.len, MAXP, collect_traced, &s, &inc, &st), 4);
    cr_expect_eq(st.envelopes, 4);
    cr_expect_eq(st.bad_envelope, 0);
    cr_expect_eq(st.trailing, 0);
    cr_expect_eq(s.env[0].kind, FRAME_TELL);
    cr_expect_eq(memcmp(s.payload[0], "hello", 5), 0);
    cr_expect_eq(s.env[1].kind, FRAME_REPLY);
    cr_expect_eq(s.env[2].ask_id, 99);
    cr_expect_eq(s.env[3].kind, FRAME_CSEND);
    cr_expect(seen_trace[0] && memcmp(seen_trace[0], ctx_a, FRAME_TRACE_LEN) == 0);
    cr_expect_null(seen_trace[1], "a REPLY carries no context");
    cr_expect(seen_trace[2] && memcmp(seen_trace[2], ctx_a, FRAME_TRACE_LEN) == 0);
    cr_expect(seen_trace[3] && memcmp(seen_trace[3], ctx_a, FRAME_TRACE_LEN) == 0);
    frame_free(&fb);
}

Test(frame, trace_only_on_messages)
{
    frame_buf fb;
    frame_init(&fb, 1);
    uint8_t kinds[] = {FRAME_REPLY, FRAME_DOWN, FRAME_MOVED};
    for (size_t i = 0; i < sizeof kinds; i++) {
        frame_env e = {.kind = kinds[i], .trace = ctx_a};
        cr_expect_eq(frame_add(&fb, &e, MAXP), TROUPE_EINVAL, "kind %u", kinds[i]);
    }
    frame_env e = {.kind = FRAME_TRACE, .len = FRAME_TRACE_LEN, .payload = ctx_a};
    cr_expect_eq(frame_add(&fb, &e, MAXP), TROUPE_EINVAL, "a TRACE alone");
    cr_expect_eq(fb.count, 0);
    frame_free(&fb);
}

/* Hand-made frames: envelopes written raw, so that a TRACE can be put
 * where no encoder would. */
static size_t raw_env(uint8_t *p, uint8_t kind, uint32_t type, const uint8_t *pl, uint32_t len)
{
    memset(p, 0, FRAME_ENV_HDR);
    p[0] = kind;
    memcpy(p + 4, &type, 4); /* little-endian host (x86, arm64) */
    memcpy(p + 32, &len, 4);
    if (len)
        memcpy(p + FRAME_ENV_HDR, pl, len);
    return FRAME_ENV_HDR + len;
}

static size_t raw_frame(uint8_t *b, const uint8_t *kinds, size_t n)
{
    frame_buf fb;
    frame_init(&fb, 1);
    frame_add(&fb, &(frame_env[]){tell(1, 1, "x")}[0], MAXP); /* the header, then rewrite */
    memcpy(b, fb.data, FRAME_HDR);
    frame_free(&fb);
    b[6] = (uint8_t)n;
    size_t off = FRAME_HDR;
    for (size_t i = 0; i < n; i++)
        off += kinds[i] == FRAME_TRACE ? raw_env(b + off, FRAME_TRACE, 0, ctx_a, FRAME_TRACE_LEN)
                                       : raw_env(b + off, kinds[i], 0, (const uint8_t *)"ab", 2);
    return off;
}

typedef struct trace_case {
    const char *name;
    uint8_t kinds[4];
    size_t n;
    size_t delivered, traced, bad;
} trace_case;

static const trace_case trace_cases[] = {
    {"a context before a tell", {FRAME_TRACE, FRAME_TELL}, 2, 1, 1, 0},
    {"a context before a reply: dropped", {FRAME_TRACE, FRAME_REPLY}, 2, 1, 0, 1},
    {"a context last", {FRAME_TELL, FRAME_TRACE}, 2, 1, 0, 1},
    {"two contexts: the first dropped", {FRAME_TRACE, FRAME_TRACE, FRAME_TELL}, 3, 1, 1, 1},
    {"a context before an unknown kind", {FRAME_TRACE, 99, FRAME_TELL}, 3, 1, 0, 2},
    {"a context applies to the next alone", {FRAME_TRACE, FRAME_TELL, FRAME_ASK}, 3, 2, 1, 0},
};

Test(frame, misplaced_contexts_are_dropped_and_counted)
{
    for (size_t i = 0; i < sizeof trace_cases / sizeof trace_cases[0]; i++) {
        const trace_case *c = &trace_cases[i];
        uint8_t buf[512];
        size_t n = raw_frame(buf, c->kinds, c->n);
        uint8_t *exact = malloc(n);
        memcpy(exact, buf, n);
        seen s = {0};
        memset(seen_trace, 0, sizeof seen_trace);
        frame_stats st = {0};
        uint64_t inc;
        size_t got = frame_decode(exact, n, 1000, collect_traced, &s, &inc, &st);
        size_t traced = 0;
        for (size_t k = 0; k < got; k++)
            traced += seen_trace[k] != NULL;
        cr_expect_eq(got, c->delivered, "%s: %zu delivered", c->name, got);
        cr_expect_eq(traced, c->traced, "%s: %zu traced", c->name, traced);
        cr_expect_eq(st.bad_envelope, c->bad, "%s: bad_envelope %lu", c->name,
                     (unsigned long)st.bad_envelope);
        cr_expect_eq(st.trailing + st.truncated, 0, "%s", c->name);
        free(exact);
    }
}
