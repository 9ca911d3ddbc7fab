/* troupe/trace.h — distributed tracing of message flows (OpenTelemetry).
 *
 * A message sent while a sampled trace context is current carries that
 * context (W3C Trace Context: trace id, span id, flags); the handler that
 * takes it runs inside a span whose parent is the send's, and its own
 * sends carry the handler's context in turn. A chain of tells and asks
 * across many actors is thus one trace. Spans follow the OpenTelemetry
 * messaging conventions: PRODUCER/CONSUMER for a tell, CLIENT/SERVER for
 * an ask. A plain thread starts a trace (troupe_trace_start) or continues
 * one it was given (troupe_trace_continue, a `traceparent` string), and
 * reads the current context out (troupe_trace_traceparent).
 *
 * Finished spans go into a bounded lock-free queue (a full queue drops
 * and counts, never waits); one background thread batches them and posts
 * them as OTLP/HTTP (protobuf, or JSON) to the collector. docs/TRACING.md.
 *
 * Built only with -Dtrace (libcurl); without it every call answers
 * TROUPE_ENOTSUP (TROUPE_HAVE_TRACE in troupe_config.h).
 */
#ifndef TROUPE_TRACE_H
#define TROUPE_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "troupe/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct troupe_system troupe_system;

/* A traceparent string: 00-<32 hex>-<16 hex>-<2 hex>, and its NUL. */
#define TROUPE_TRACEPARENT_LEN 55
#define TROUPE_TRACEPARENT_SIZE 56

typedef struct troupe_trace_config {
    /* The OTLP/HTTP traces URL, e.g. "http://127.0.0.1:4318/v1/traces"
     * (required; copied). */
    const char *endpoint;
    const char *service_name; /* resource service.name; NULL: "troupe" */
    const char *node;         /* troupe.node on every span; NULL: the host name */
    double sample_ratio;      /* of new roots, in [0, 1]: 1 (every root) by default */
    int json;                 /* 1: OTLP/JSON (debugging); 0: protobuf */
    uint32_t batch_size;      /* spans per export, 1..65536: 512 */
    uint32_t batch_ms;        /* the longest a finished span waits, ms (>= 1): 1000 */
    uint32_t queue;           /* finished spans held, a power of two, 16..2^24: 8192 */
    uint32_t max_retries;     /* of one batch on 429/502/503/504 or no answer: 4 */
    uint32_t timeout_ms;      /* one POST's limit: 5000 */
    uint64_t seed;            /* ids and sampling from this seed (tests); 0: random */
    unsigned char reserved[32];
} troupe_trace_config;

/* The defaults above, endpoint NULL. */
TROUPE_API void troupe_trace_config_defaults(troupe_trace_config *cfg);

/* Start exporting: from here on troupe_trace_start samples roots. Once
 * per system (the exporter ends with the system).
 * TROUPE_EINVAL: sys or cfg NULL, no endpoint, a field out of its range.
 * TROUPE_EEXIST: already enabled. TROUPE_ENOMEM, TROUPE_ESYS (the thread),
 * TROUPE_ENOTSUP (built without -Dtrace). */
TROUPE_API int troupe_trace_enable(troupe_system *sys, const troupe_trace_config *cfg);

/* The sampling ratio of new roots, at run time (ParentBased: a continued
 * trace keeps its parent's decision). TROUPE_EINVAL: sys NULL, ratio not
 * in [0, 1]; TROUPE_ESTATE: not enabled; TROUPE_ENOTSUP. */
TROUPE_API int troupe_trace_set_ratio(troupe_system *sys, double ratio);

/* Open a root span `name` on this plain thread and make it current: the
 * thread's sends carry it until troupe_trace_end. Sampled with the ratio
 * (an unsampled root is current but nothing is recorded or carried).
 * TROUPE_EINVAL: sys or name NULL; TROUPE_ESTATE: not enabled, called from
 * a handler, or a span already open on this thread; TROUPE_ENOTSUP. */
TROUPE_API int troupe_trace_start(troupe_system *sys, const char *name);

/* As troupe_trace_start, but the span's parent is `traceparent` (W3C,
 * version 00, lower-case hex, ids not all zero) and the sampling decision
 * is the parent's flag. TROUPE_EINVAL: as above, or traceparent malformed;
 * TROUPE_ESTATE, TROUPE_ENOTSUP as troupe_trace_start. */
TROUPE_API int troupe_trace_continue(troupe_system *sys, const char *name,
                                     const char *traceparent);

/* End the span troupe_trace_start or _continue opened on this thread.
 * TROUPE_EINVAL: sys NULL; TROUPE_ESTATE: none open; TROUPE_ENOTSUP. */
TROUPE_API int troupe_trace_end(troupe_system *sys);

/* The current context of this thread (a plain thread's open span, or the
 * span of the message a handler is handling) as a traceparent string in
 * buf (TROUPE_TRACEPARENT_SIZE bytes at least). TROUPE_EINVAL: buf NULL or
 * cap too small; TROUPE_ENOTFOUND: no current context; TROUPE_ENOTSUP. */
TROUPE_API int troupe_trace_traceparent(char *buf, size_t cap);

/* Parse a traceparent: 0 and the ids (trace_id 16 bytes, span_id 8, flags)
 * when well formed; TROUPE_EINVAL otherwise (any of the pointers NULL, a
 * length other than 55, a version other than 00, upper-case or non-hex
 * digits, a missing dash, all-zero ids). Needs no system; TROUPE_ENOTSUP
 * without -Dtrace. */
TROUPE_API int troupe_trace_parse(const char *traceparent, uint8_t trace_id[16],
                                  uint8_t span_id[8], uint8_t *flags);

typedef struct troupe_trace_stats {
    uint64_t spans_exported;  /* accepted by the collector */
    uint64_t dropped_queue;   /* the queue was full */
    uint64_t dropped_export;  /* their batch failed after its retries */
    uint64_t export_failures; /* POSTs that failed (each retry counts) */
    uint64_t queued;          /* in the queue now */
} troupe_trace_stats;

/* The counters (also exported as metrics, docs/METRICS.md).
 * TROUPE_EINVAL: sys or out NULL; TROUPE_ESTATE: not enabled; TROUPE_ENOTSUP. */
TROUPE_API int troupe_trace_stats_get(troupe_system *sys, troupe_trace_stats *out);

/* Export what is queued now and wait, up to timeout_ms, until it is sent
 * or dropped. TROUPE_EINVAL: sys NULL; TROUPE_ESTATE: not enabled;
 * TROUPE_ETIMEDOUT; TROUPE_ENOTSUP. */
TROUPE_API int troupe_trace_flush(troupe_system *sys, uint32_t timeout_ms);

#ifdef __cplusplus
}
#endif

#endif
