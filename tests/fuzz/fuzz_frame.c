/* tests/fuzz/fuzz_frame.c — the cluster's wire frames (cluster/frame.c):
 * any bytes, as a NATS message from another node would bring them.
 *
 * The decoder must never read outside the buffer (ASan; the sink reads
 * every payload byte), hand out only envelopes of a known kind within the
 * payload limit, and account for every frame in its stats. Then the
 * roundtrip: the envelopes accepted, encoded again (frame_add) and
 * decoded, come back equal, field by field and byte by byte; and when the
 * input was a clean frame (nothing dropped, nothing trailing) the
 * encoding is the input itself. A CSEND's or MOVED's payload also goes
 * through its prefix parser (cluster/cref_rx.c, cref_prefix_parse): a pid
 * of 1..OWN_PID_MAX bytes without NUL, the body the rest of the payload. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cref.h"
#include "cluster/frame.h"
#include "cluster/own.h"
#include "troupe/error.h"

#define MAX_PAYLOAD (64u << 10)

typedef struct envs {
    frame_env e[FRAME_COUNT_MAX];
    size_t n;
    uint32_t max;
    uint8_t sum;
} envs;

static envs got, again;

static void check_prefix(const frame_env *env)
{
    char pid[OWN_PID_MAX + 1];
    const uint8_t *body = NULL;
    uint32_t len = 0;
    if (cref_prefix_parse(env, pid, &body, &len) != 0)
        return;
    size_t n = strnlen(pid, sizeof pid);
    if (n == 0 || n == sizeof pid || n != env->payload[0] || body != env->payload + 1 + n ||
        len != env->len - 1 - n)
        abort();
}

static void sink(void *arg, const frame_env *env)
{
    envs *v = arg;
    if (env->kind < FRAME_TELL || env->kind > FRAME_KIND_MAX || env->len > v->max ||
        (env->len && !env->payload) || v->n >= FRAME_COUNT_MAX)
        abort();
    for (uint32_t i = 0; i < env->len; i++)
        v->sum ^= env->payload[i]; /* every byte is read: ASan checks the bounds */
    if (env->kind == FRAME_CSEND || env->kind == FRAME_MOVED)
        check_prefix(env);
    v->e[v->n++] = *env;
}

static int same(const frame_env *a, const frame_env *b)
{
    return a->kind == b->kind && a->type == b->type && a->from == b->from && a->to == b->to &&
           a->ask_id == b->ask_id && a->len == b->len &&
           (a->len == 0 || memcmp(a->payload, b->payload, a->len) == 0);
}

static void roundtrip(const uint8_t *data, size_t size, uint64_t inc, const frame_stats *st)
{
    frame_buf fb;
    frame_init(&fb, inc);
    for (size_t i = 0; i < got.n; i++)
        if (frame_add(&fb, &got.e[i], got.max) != 0)
            abort(); /* an envelope the decoder accepted, the encoder refuses */
    if (got.n == 0) {
        frame_free(&fb);
        return;
    }
    frame_stats st2 = {0};
    uint64_t inc2 = 0;
    again.n = 0, again.max = got.max; /* not the whole array: 3 MB */
    if (frame_decode(fb.data, fb.len, got.max, sink, &again, &inc2, &st2) != got.n || inc2 != inc ||
        again.n != got.n || st2.trailing || st2.truncated || st2.bad_envelope)
        abort();
    for (size_t i = 0; i < got.n; i++)
        if (!same(&got.e[i], &again.e[i]))
            abort();
    int clean = !st->trailing && !st->truncated && !st->oversized && !st->bad_envelope;
    if (clean && (fb.len != size || memcmp(fb.data, data, size) != 0))
        abort(); /* a clean frame must encode back to its own bytes */
    frame_free(&fb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the payload limit varies with the input's length, so that the
     * oversized path is reachable with small inputs too */
    got.n = 0, got.max = size % 7 == 0 ? 16 : MAX_PAYLOAD;
    frame_stats st = {0};
    uint64_t inc = 1;
    /* a copy of exactly size bytes: ASan sees a read past the end */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    size_t n = frame_decode(buf, size, got.max, sink, &got, &inc, &st);
    uint64_t dropped = st.bad_header + st.bad_version;
    if (n != got.n || st.envelopes != n || st.frames + dropped != 1 || (!st.frames && inc != 0))
        abort();
    roundtrip(buf, size, inc, &st);
    free(buf);
    return 0;
}
