/* trace/otlp.c — a batch of spans as an OTLP ExportTraceServiceRequest,
 * in protobuf (hand-written: the few messages we emit do not need a
 * protobuf library) or in OTLP/JSON (opentelemetry-proto's
 * trace_service.proto and its JSON mapping: ids in hex, 64-bit integers
 * as strings, enums as numbers).
 *
 * Protobuf: a nested message is length-prefixed; we write its body first
 * and then move it right by the length's varint (buf_end_msg), so that one
 * buffer suffices. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "trace/trace.h"

typedef struct buf {
    char *p;
    size_t len, cap;
    bool oom;
} buf;

static void reserve(buf *b, size_t n)
{
    if (b->oom || b->len + n <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n)
        cap *= 2;
    char *p = sys_realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return;
    }
    b->p = p;
    b->cap = cap;
}

static void put(buf *b, const void *d, size_t n)
{
    reserve(b, n);
    if (b->oom)
        return;
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static size_t varint(uint8_t *o, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        o[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    o[n++] = (uint8_t)v;
    return n;
}

static void pb_varint(buf *b, uint32_t field, uint64_t v)
{
    uint8_t o[20];
    size_t n = varint(o, (uint64_t)field << 3 | 0);
    n += varint(o + n, v);
    put(b, o, n);
}

static void pb_fixed64(buf *b, uint32_t field, uint64_t v)
{
    uint8_t o[16];
    size_t n = varint(o, (uint64_t)field << 3 | 1);
    for (int i = 0; i < 8; i++)
        o[n++] = (uint8_t)(v >> (8 * i));
    put(b, o, n);
}

static void pb_bytes(buf *b, uint32_t field, const void *d, size_t len)
{
    uint8_t o[20];
    size_t n = varint(o, (uint64_t)field << 3 | 2);
    n += varint(o + n, len);
    put(b, o, n);
    put(b, d, len);
}

static void pb_str(buf *b, uint32_t field, const char *s) { pb_bytes(b, field, s, strlen(s)); }

/* Open a nested message of `field`: returns where its body starts. Its
 * length goes into 4 bytes reserved before it, as a varint padded with
 * continuation bits (0x80 | ..., a form every protobuf decoder reads):
 * no moving of the body once its length is known. 4 bytes hold 2^28 - 1,
 * far above a batch's size (at most 65536 spans of a few hundred bytes). */
#define LEN_BYTES 4
static size_t pb_begin(buf *b, uint32_t field)
{
    uint8_t o[10 + LEN_BYTES];
    size_t n = varint(o, (uint64_t)field << 3 | 2);
    memset(o + n, 0, LEN_BYTES);
    put(b, o, n + LEN_BYTES);
    return b->len;
}

static void pb_end(buf *b, size_t start)
{
    if (b->oom)
        return;
    uint64_t len = b->len - start;
    uint8_t *o = (uint8_t *)b->p + start - LEN_BYTES;
    for (int i = 0; i < LEN_BYTES; i++)
        o[i] = (uint8_t)(((len >> (7 * i)) & 0x7F) | (i < LEN_BYTES - 1 ? 0x80 : 0));
}

/* KeyValue{key, AnyValue{string_value | int_value}} as `field`. */
static void pb_attr_str(buf *b, uint32_t field, const char *k, const char *v)
{
    size_t kv = pb_begin(b, field);
    pb_str(b, 1, k);
    size_t av = pb_begin(b, 2);
    pb_str(b, 1, v);
    pb_end(b, av);
    pb_end(b, kv);
}

static void pb_attr_int(buf *b, uint32_t field, const char *k, int64_t v)
{
    size_t kv = pb_begin(b, field);
    pb_str(b, 1, k);
    size_t av = pb_begin(b, 2);
    pb_varint(b, 3, (uint64_t)v);
    pb_end(b, av);
    pb_end(b, kv);
}

static const char *outcome_name(uint8_t o)
{
    return o == OUT_FAILED ? "failed" : o == OUT_DROPPED ? "dropped" : "ok";
}

static const char *op_name(uint8_t kind)
{
    return kind == SK_PRODUCER || kind == SK_CLIENT ? "publish" : "process";
}

/* A span's name, made here rather than on the worker that ended it:
 * "send <type>", "ask <type>", "<behaviour> <type>", "drop <type>"; a
 * root's or a restart's was given. */
static const char *span_name(const span_rec *s, char *out, size_t cap)
{
    const char *base = s->name;
    if (!s->name[0] || !strcmp(s->name, "drop")) {
        if (s->name[0])
            base = "drop";
        else if (s->kind == SK_PRODUCER)
            base = "send";
        else if (s->kind == SK_CLIENT)
            base = "ask";
        else
            base = s->actor_type[0] ? s->actor_type : "actor";
        /* "<base> <type>" without snprintf: the exporter does this per span */
        char num[12];
        int k = 0;
        uint32_t v = s->msg_type;
        do
            num[k++] = (char)('0' + v % 10);
        while ((v /= 10) && k < 11);
        size_t n = 0;
        for (; base[n] && n + 2 + (size_t)k < cap; n++)
            out[n] = base[n];
        out[n++] = ' ';
        while (k)
            out[n++] = num[--k];
        out[n] = 0;
        return out;
    }
    return base;
}

static void pb_span(buf *b, const tracer *t, const span_rec *s)
{
    char name[SPAN_STR + 16];
    size_t sp = pb_begin(b, 2); /* ScopeSpans.spans */
    pb_bytes(b, 1, s->trace_id, 16);
    pb_bytes(b, 2, s->span_id, 8);
    if (s->has_parent) /* a root has none: absent, not zeros */
        pb_bytes(b, 4, s->parent_id, 8);
    pb_str(b, 5, span_name(s, name, sizeof name));
    pb_varint(b, 6, s->kind);
    pb_fixed64(b, 7, s->start_ns);
    pb_fixed64(b, 8, s->end_ns);
    pb_attr_str(b, 9, "messaging.system", "troupe");
    pb_attr_str(b, 9, "messaging.operation", op_name(s->kind));
    pb_attr_str(b, 9, "troupe.node", t->node);
    pb_attr_str(b, 9, "troupe.outcome", outcome_name(s->outcome));
    if (s->msg_type)
        pb_attr_int(b, 9, "troupe.message.type", s->msg_type);
    if (s->actor_type[0])
        pb_attr_str(b, 9, "troupe.actor.type", s->actor_type);
    if (s->actor) {
        char ref[17];
        for (int i = 0; i < 16; i++)
            ref[i] = "0123456789abcdef"[(s->actor >> (60 - 4 * i)) & 0xF];
        ref[16] = 0;
        pb_attr_str(b, 9, "troupe.actor.ref", ref);
    }
    if (s->outcome == OUT_FAILED) {
        pb_attr_str(b, 9, "troupe.failure.kind", s->fail_kind);
        pb_attr_int(b, 9, "troupe.failure.code", s->code);
    }
    if (s->from_node[0])
        pb_attr_str(b, 9, "troupe.failover.from", s->from_node);
    if (s->has_event) {
        size_t ev = pb_begin(b, 11);
        pb_fixed64(b, 1, s->event_ns);
        pb_str(b, 2, s->event);
        pb_end(b, ev);
    }
    size_t st = pb_begin(b, 15); /* Status: ERROR for a failure or a drop */
    if (s->outcome == OUT_FAILED || s->outcome == OUT_DROPPED) {
        pb_str(b, 2, outcome_name(s->outcome));
        pb_varint(b, 3, 2);
    }
    pb_end(b, st);
    pb_end(b, sp);
}

static void encode_pb(buf *b, const tracer *t, const span_rec *s, size_t n)
{
    size_t rs = pb_begin(b, 1); /* ExportTraceServiceRequest.resource_spans */
    size_t res = pb_begin(b, 1);
    pb_attr_str(b, 1, "service.name", t->service);
    pb_attr_str(b, 1, "host.name", t->node);
    pb_end(b, res);
    size_t ss = pb_begin(b, 2);
    size_t scope = pb_begin(b, 1);
    pb_str(b, 1, "troupe");
    pb_end(b, scope);
    for (size_t i = 0; i < n; i++)
        pb_span(b, t, &s[i]);
    pb_end(b, ss);
    pb_end(b, rs);
}

/* --- JSON --- */

static void js_raw(buf *b, const char *s) { put(b, s, strlen(s)); }

static void js_str(buf *b, const char *s)
{
    put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            put(b, "\\", 1);
            put(b, s, 1);
        } else if (c < 0x20) {
            char e[8];
            snprintf(e, sizeof e, "\\u%04x", c);
            js_raw(b, e);
        } else {
            put(b, s, 1);
        }
    }
    put(b, "\"", 1);
}

static void js_hex(buf *b, const uint8_t *d, size_t n)
{
    char h[40];
    for (size_t i = 0; i < n; i++)
        snprintf(h + 2 * i, 3, "%02x", d[i]);
    js_str(b, h);
}

static void js_attr(buf *b, bool first, const char *k, const char *v, long long iv, bool is_int)
{
    js_raw(b, first ? "{\"key\":" : ",{\"key\":");
    js_str(b, k);
    if (is_int) {
        char n[64];
        snprintf(n, sizeof n, ",\"value\":{\"intValue\":\"%lld\"}}", iv);
        js_raw(b, n);
    } else {
        js_raw(b, ",\"value\":{\"stringValue\":");
        js_str(b, v);
        js_raw(b, "}}");
    }
}

static void js_span(buf *b, const tracer *t, const span_rec *s)
{
    char n[96], name[SPAN_STR + 16];
    js_raw(b, "{\"traceId\":");
    js_hex(b, s->trace_id, 16);
    js_raw(b, ",\"spanId\":");
    js_hex(b, s->span_id, 8);
    if (s->has_parent) {
        js_raw(b, ",\"parentSpanId\":");
        js_hex(b, s->parent_id, 8);
    }
    js_raw(b, ",\"name\":");
    js_str(b, span_name(s, name, sizeof name));
    snprintf(n, sizeof n, ",\"kind\":%u,\"startTimeUnixNano\":\"%llu\",\"endTimeUnixNano\":\"%llu\"",
             s->kind, (unsigned long long)s->start_ns, (unsigned long long)s->end_ns);
    js_raw(b, n);
    js_raw(b, ",\"attributes\":[");
    js_attr(b, true, "messaging.system", "troupe", 0, false);
    js_attr(b, false, "messaging.operation", op_name(s->kind), 0, false);
    js_attr(b, false, "troupe.node", t->node, 0, false);
    js_attr(b, false, "troupe.outcome", outcome_name(s->outcome), 0, false);
    if (s->msg_type)
        js_attr(b, false, "troupe.message.type", NULL, s->msg_type, true);
    if (s->actor_type[0])
        js_attr(b, false, "troupe.actor.type", s->actor_type, 0, false);
    if (s->outcome == OUT_FAILED) {
        js_attr(b, false, "troupe.failure.kind", s->fail_kind, 0, false);
        js_attr(b, false, "troupe.failure.code", NULL, s->code, true);
    }
    if (s->from_node[0])
        js_attr(b, false, "troupe.failover.from", s->from_node, 0, false);
    js_raw(b, "]");
    if (s->has_event) {
        snprintf(n, sizeof n, ",\"events\":[{\"timeUnixNano\":\"%llu\",\"name\":",
                 (unsigned long long)s->event_ns);
        js_raw(b, n);
        js_str(b, s->event);
        js_raw(b, "}]");
    }
    if (s->outcome == OUT_FAILED || s->outcome == OUT_DROPPED) {
        js_raw(b, ",\"status\":{\"code\":2,\"message\":");
        js_str(b, outcome_name(s->outcome));
        js_raw(b, "}");
    }
    js_raw(b, "}");
}

static void encode_json(buf *b, const tracer *t, const span_rec *s, size_t n)
{
    js_raw(b, "{\"resourceSpans\":[{\"resource\":{\"attributes\":[");
    js_attr(b, true, "service.name", t->service, 0, false);
    js_attr(b, false, "host.name", t->node, 0, false);
    js_raw(b, "]},\"scopeSpans\":[{\"scope\":{\"name\":\"troupe\"},\"spans\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            js_raw(b, ",");
        js_span(b, t, &s[i]);
    }
    js_raw(b, "]}]}]}");
}

char *otlp_encode(const tracer *t, const span_rec *s, size_t n, bool json, size_t *len)
{
    buf b = {0};
    if (json)
        encode_json(&b, t, s, n);
    else
        encode_pb(&b, t, s, n);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}
