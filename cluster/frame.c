/* cluster/frame.c — encoding and decoding frames (the format: frame.h). */
#include "cluster/frame.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/common.h"

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

void frame_init(frame_buf *fb, uint64_t incarnation)
{
    *fb = (frame_buf){.incarnation = incarnation};
}

void frame_reset(frame_buf *fb)
{
    fb->len = 0;
    fb->count = 0;
}

void frame_free(frame_buf *fb)
{
    free(fb->data);
    *fb = (frame_buf){0};
}

static void put_header(frame_buf *fb)
{
    uint8_t *p = fb->data;
    put32(p, FRAME_MAGIC);
    p[4] = FRAME_VERSION;
    p[5] = 0;
    p[6] = (uint8_t)fb->count;
    p[7] = (uint8_t)(fb->count >> 8);
    put64(p + 8, fb->incarnation);
}

static void put_env(uint8_t *p, const frame_env *env)
{
    memset(p, 0, FRAME_ENV_HDR);
    p[0] = env->kind;
    put32(p + 4, env->type);
    put64(p + 8, env->from);
    put64(p + 16, env->to);
    put64(p + 24, env->ask_id);
    put32(p + 32, env->len);
    if (env->len)
        memcpy(p + FRAME_ENV_HDR, env->payload, env->len);
}

static bool can_carry_trace(uint8_t kind)
{
    return kind == FRAME_TELL || kind == FRAME_ASK || kind == FRAME_CSEND;
}

int frame_add(frame_buf *fb, const frame_env *env, uint32_t max_payload)
{
    if (!env || env->kind < FRAME_TELL || env->kind > FRAME_KIND_MAX || env->len > max_payload ||
        (env->len && !env->payload) || (env->trace && !can_carry_trace(env->kind)))
        return TROUPE_EINVAL;
    uint32_t n = env->trace ? 2 : 1;
    if (fb->count + n > FRAME_COUNT_MAX)
        return TROUPE_EFULL;
    size_t start = fb->count ? fb->len : FRAME_HDR;
    size_t at = start + (env->trace ? FRAME_TRACE_SIZE : 0);
    size_t need = at + FRAME_ENV_HDR + (size_t)env->len;
    if (tr_grow((void **)&fb->data, &fb->cap, need, 1, 256) != 0)
        return TROUPE_ENOMEM;
    if (env->trace) {
        frame_env t = {.kind = FRAME_TRACE, .len = FRAME_TRACE_LEN, .payload = env->trace};
        put_env(fb->data + start, &t);
    }
    put_env(fb->data + at, env);
    fb->len = need;
    fb->count += n;
    put_header(fb);
    return 0;
}

/* The frame header: 0 and *count, or the stats field it fails. */
static uint64_t *check_header(const uint8_t *buf, size_t n, frame_stats *st, uint32_t *count)
{
    if (n < FRAME_HDR || get32(buf) != FRAME_MAGIC || buf[5] != 0)
        return &st->bad_header;
    if (buf[4] != FRAME_VERSION)
        return &st->bad_version;
    *count = (uint32_t)buf[6] | (uint32_t)buf[7] << 8;
    return NULL;
}

static void read_env(const uint8_t *p, frame_env *env)
{
    env->kind = p[0];
    env->type = get32(p + 4);
    env->from = get64(p + 8);
    env->to = get64(p + 16);
    env->ask_id = get64(p + 24);
    env->len = get32(p + 32);
    env->payload = p + FRAME_ENV_HDR;
    env->trace = NULL;
}

static bool env_padding_zero(const uint8_t *p)
{
    return p[1] == 0 && p[2] == 0 && p[3] == 0 && get32(p + 36) == 0;
}

/* A TRACE envelope: its context, or NULL when malformed (counted). */
static const uint8_t *trace_of(const frame_env *env, frame_stats *st)
{
    if (env->len != FRAME_TRACE_LEN || env->type || env->from || env->to || env->ask_id) {
        st->bad_envelope++;
        return NULL;
    }
    return env->payload;
}

/* The envelope after a context: it carries it, or the context is dropped
 * (counted). */
static void attach_trace(frame_env *env, const uint8_t *trace, frame_stats *st)
{
    env->trace = NULL;
    if (!trace)
        return;
    if (can_carry_trace(env->kind))
        env->trace = trace;
    else
        st->bad_envelope++;
}

size_t frame_decode(const uint8_t *buf, size_t n, uint32_t max_payload, frame_sink sink,
                    void *arg, uint64_t *incarnation, frame_stats *st)
{
    uint32_t count = 0;
    *incarnation = 0;
    uint64_t *bad = buf ? check_header(buf, n, st, &count) : &st->bad_header;
    if (bad) {
        (*bad)++;
        return 0;
    }
    *incarnation = get64(buf + 8);
    st->frames++;
    size_t off = FRAME_HDR, delivered = 0;
    const uint8_t *trace = NULL; /* a TRACE's context, for the next envelope alone */
    for (uint32_t i = 0; i < count; i++) {
        if (n - off < FRAME_ENV_HDR) {
            st->truncated++; /* this one and the rest are gone */
            return delivered;
        }
        const uint8_t *p = buf + off;
        frame_env env;
        read_env(p, &env);
        if (env.len > max_payload) {
            st->oversized++;
            return delivered;
        }
        if (n - off - FRAME_ENV_HDR < env.len) {
            st->truncated++;
            return delivered;
        }
        off += FRAME_ENV_HDR + (size_t)env.len;
        const uint8_t *mine = trace;
        trace = NULL;
        bool known = (env.kind >= FRAME_TELL && env.kind <= FRAME_KIND_MAX) ||
                     env.kind == FRAME_TRACE;
        if (!known || !env_padding_zero(p)) {
            st->bad_envelope += 1 + (mine != NULL); /* its length held: skip just this one */
            continue;
        }
        if (mine && env.kind == FRAME_TRACE)
            st->bad_envelope++; /* a context followed by another: the first is dropped */
        if (env.kind == FRAME_TRACE) {
            trace = trace_of(&env, st);
            continue;
        }
        attach_trace(&env, mine, st);
        st->envelopes++;
        delivered++;
        sink(arg, &env);
    }
    if (trace)
        st->bad_envelope++; /* a context with nothing after it */
    if (off != n)
        st->trailing++;
    return delivered;
}
