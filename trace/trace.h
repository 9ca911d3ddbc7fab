/* trace/trace.h — the tracer of a system (docs/TRACING.md): span records,
 * the queue of finished spans, the exporter. */
#ifndef TROUPE_TRACE_TRACE_H
#define TROUPE_TRACE_TRACE_H

#include <pthread.h>

#include "core/common.h"
#include "core/message.h"
#include "trace/trace_sub.h"
#include "troupe/trace.h"

enum { SK_INTERNAL = 1, SK_SERVER = 2, SK_CLIENT = 3, SK_PRODUCER = 4, SK_CONSUMER = 5 };
enum { OUT_NONE, OUT_OK, OUT_FAILED, OUT_DROPPED };

struct actor;

#define SPAN_STR 48

/* One span, fixed size: it is copied into the queue by value. */
typedef struct span_rec {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_id[8];
    uint8_t has_parent;
    uint8_t kind;    /* SK_* */
    uint8_t outcome; /* OUT_* */
    uint8_t has_event;
    uint32_t msg_type;
    int32_t code;
    uint64_t start_ns, end_ns, event_ns; /* unix time */
    uint64_t actor;                      /* its ref, 0: a plain thread */
    char name[SPAN_STR];
    char actor_type[SPAN_STR];
    char fail_kind[16];
    char event[32];
    char from_node[SPAN_STR]; /* a failover's previous owner, or empty */
} span_rec;

/* A queue cell (Vyukov's bounded queue): seq says whose turn it is. */
typedef struct span_cell {
    _Atomic uint64_t seq;
    span_rec r;
} span_cell;

typedef struct tracer {
    troupe_system *sys; /* its system (send_gate_trace) */
    troupe_trace_config cfg; /* strings below are our copies */
    char *endpoint, *service, *node;
    /* sampling threshold of new roots: ratio * 2^64 (relaxed: a hint read
     * per root, written by troupe_trace_set_ratio) */
    _Atomic uint64_t threshold;
    _Atomic bool sample_all;
    /* the flag trace.sampling, when it has a value (trace/sampling.c):
     * relaxed hints as threshold; flag_gen the flags' generation last
     * applied, flag_lock serialises re-reading it */
    _Atomic uint64_t flag_threshold, flag_gen;
    _Atomic bool flag_all, flag_set;
    pthread_mutex_t flag_lock;
    _Atomic bool enabled; /* release by enable, acquire by the API */
    /* the queue: producers (any thread) claim with a CAS on tail, the
     * exporter alone moves head */
    span_cell *cells;
    uint64_t mask;
    alignas(CACHELINE) _Atomic uint64_t tail;
    alignas(CACHELINE) _Atomic uint64_t head;
    /* counters (relaxed: metrics) */
    _Atomic uint64_t exported, dropped_queue, dropped_export, failures;
    /* the exporter thread */
    pthread_t th;
    bool th_on;
    pthread_mutex_t lock;
    pthread_cond_t cond;     /* wakes the exporter (flush, stop) */
    pthread_cond_t done;     /* the exporter finished a round */
    bool stop, flush_req;
    uint64_t rounds;         /* finished export rounds: lock */
    /* the last traced failure per actor slot, for its restart's event */
    pthread_mutex_t fail_lock;
    struct fail_note { uint32_t index; tctx ctx; } *fails;
    uint32_t nfails;
    void (*sv_reinit)(troupe_system *sys, struct actor *a);
    /* asks' CLIENT spans waiting for their outcome (trace/asks.c) */
    pthread_mutex_t pend_lock;
    struct pend_span { uint64_t id; span_rec r; } *pend;
    uint32_t npend;
} tracer;

/* trace/context.c */
uint64_t trace_now_ns(void);
void trace_random_id(tracer *t, uint8_t *out, size_t n);

/* trace/context.c: the thread's current context, if sampled */
bool trace_current(tctx *out);
/* trace/sampling.c: a new root's decision (its trace id); the failover hook */
bool trace_sample_root(troupe_system *sys, tracer *t, const uint8_t id[16]);
void trace_hook_failover(troupe_system *sys, troupe_ref actor, const char *kind,
                         const char *from_node);

/* trace/asks.c: asks' CLIENT spans, open until their outcome */
int asks_pend_init(tracer *t);
void asks_pend_destroy(tracer *t);
void asks_pend_open(troupe_system *sys, tracer *t, uint64_t id, const span_rec *r);
void asks_hook_reply(troupe_system *sys, uint64_t id, int rc);

/* trace/queue.c: false when full (counted as dropped) */
bool span_push(tracer *t, const span_rec *r);
bool span_pop(tracer *t, span_rec *r);
uint64_t span_queued(tracer *t);

/* trace/export.c */
int exporter_start(tracer *t);
void exporter_stop(tracer *t);
int exporter_flush(tracer *t, uint32_t timeout_ms);
int trace_metrics_register(troupe_system *sys);

/* trace/otlp.c: the batch as an ExportTraceServiceRequest (protobuf or
 * OTLP/JSON); NULL on ENOMEM; *len its size. free() it. */
char *otlp_encode(const tracer *t, const span_rec *s, size_t n, bool json, size_t *len);

#endif
