/* trace/export.c — the exporter: one background thread takes finished
 * spans from the queue (trace/queue.c), batches them (at most batch_size,
 * at most batch_ms old) and POSTs each batch to the collector's OTLP/HTTP
 * endpoint with libcurl. A batch answered 429, 502, 503 or 504, or not
 * answered at all, is retried up to max_retries times with a doubling
 * backoff (100 ms to 2 s); then it is dropped and counted. The thread
 * holds one batch at a time: memory is the queue plus one batch. */
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/system.h"
#include "observe/prom.h"
#include "core/alloc.h"
#include "trace/trace.h"

#define POLL_MS 10 /* how often the exporter looks at the queue */

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

/* One POST: the HTTP status, or 0 when no answer came. */
static long post(tracer *t, CURL *c, const char *body, size_t len)
{
    struct curl_slist *h = curl_slist_append(
        NULL, t->cfg.json ? "Content-Type: application/json" : "Content-Type: application/x-protobuf");
    curl_easy_setopt(c, CURLOPT_URL, t->endpoint);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)t->cfg.timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    return code;
}

static bool retryable(long code)
{
    return code == 0 || code == 429 || code == 502 || code == 503 || code == 504;
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

/* Send one batch, retrying; counts what became of it. */
static void export_batch(tracer *t, CURL *c, const span_rec *s, size_t n)
{
    size_t len;
    char *body = otlp_encode(t, s, n, t->cfg.json, &len);
    bool ok = false;
    uint64_t backoff = 100;
    for (uint32_t attempt = 0; body && attempt <= t->cfg.max_retries; attempt++) {
        long code = post(t, c, body, len);
        if (code >= 200 && code < 300) {
            ok = true;
            break;
        }
        /* relaxed: counters */
        atomic_fetch_add_explicit(&t->failures, 1, memory_order_relaxed);
        if (!retryable(code) || attempt == t->cfg.max_retries)
            break;
        pthread_mutex_lock(&t->lock);
        bool stop = t->stop;
        pthread_mutex_unlock(&t->lock);
        sleep_ms(stop ? 10 : backoff);
        backoff = backoff < 1000 ? backoff * 2 : 2000;
    }
    free(body);
    atomic_fetch_add_explicit(ok ? &t->exported : &t->dropped_export, n, memory_order_relaxed);
}

/* Take and send what is queued, in batches; false when nothing was. */
static bool drain_once(tracer *t, CURL *c, span_rec *batch, bool all)
{
    size_t n = 0;
    while (n < t->cfg.batch_size && span_pop(t, &batch[n]))
        n++;
    if (n)
        export_batch(t, c, batch, n);
    return n && (all || n == t->cfg.batch_size);
}

static void *exporter_main(void *arg)
{
    tracer *t = arg;
    CURL *c = curl_easy_init();
    span_rec *batch = sys_malloc(sizeof *batch * t->cfg.batch_size);
    uint64_t last = mono_ns();
    pthread_mutex_lock(&t->lock);
    for (;;) {
        bool stop = t->stop, flush = t->flush_req;
        t->flush_req = false;
        pthread_mutex_unlock(&t->lock);
        bool due = mono_ns() - last >= (uint64_t)t->cfg.batch_ms * 1000000ull;
        if (c && batch && (stop || flush || due || span_queued(t) >= t->cfg.batch_size)) {
            while (drain_once(t, c, batch, stop || flush || due))
                ;
            last = mono_ns();
        } else if (!c || !batch) { /* cannot export: what comes is dropped */
            span_rec r;
            while (span_pop(t, &r))
                atomic_fetch_add_explicit(&t->dropped_export, 1, memory_order_relaxed);
        }
        pthread_mutex_lock(&t->lock);
        t->rounds++;
        pthread_cond_broadcast(&t->done);
        if (stop)
            break;
        if (!t->flush_req) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += POLL_MS * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&t->cond, &t->lock, &ts);
        }
    }
    pthread_mutex_unlock(&t->lock);
    free(batch);
    if (c)
        curl_easy_cleanup(c);
    return NULL;
}

int exporter_start(tracer *t)
{
    t->th_on = pthread_create(&t->th, NULL, exporter_main, t) == 0;
    return t->th_on ? 0 : TROUPE_ESYS;
}

void exporter_stop(tracer *t)
{
    if (!t->th_on)
        return;
    pthread_mutex_lock(&t->lock);
    t->stop = true;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->th, NULL);
    t->th_on = false;
}

/* Two rounds after the request: the one running when it came may have
 * missed spans queued just before. */
int exporter_flush(tracer *t, uint32_t timeout_ms)
{
    uint64_t deadline = mono_ns() + (uint64_t)timeout_ms * 1000000ull;
    pthread_mutex_lock(&t->lock);
    uint64_t want = t->rounds + 2;
    int rc = 0;
    while (t->rounds < want || span_queued(t)) {
        if (t->rounds >= want)
            want = t->rounds + 1;
        t->flush_req = true;
        pthread_cond_signal(&t->cond);
        if (mono_ns() >= deadline || !t->th_on) {
            rc = TROUPE_ETIMEDOUT;
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += POLL_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&t->done, &t->lock, &ts);
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

/* --- metrics (docs/METRICS.md) --- */

static void write_metrics(pw *p, troupe_system *sys, void *ud)
{
    (void)ud;
    tracer *t = sys->tr;
    if (!t || !atomic_load_explicit(&t->enabled, memory_order_acquire))
        return;
    /* relaxed: counters */
    pw_head(p, "troupe_trace_spans_exported_total", "counter",
            "Spans the collector accepted");
    pw_sample(p, "troupe_trace_spans_exported_total",
              (double)atomic_load_explicit(&t->exported, memory_order_relaxed));
    pw_head(p, "troupe_trace_spans_dropped_total", "counter",
            "Spans dropped: the queue was full, or their batch failed after its retries");
    pw_sample1(p, "troupe_trace_spans_dropped_total", "reason", "queue_full",
               (double)atomic_load_explicit(&t->dropped_queue, memory_order_relaxed));
    pw_sample1(p, "troupe_trace_spans_dropped_total", "reason", "export_failed",
               (double)atomic_load_explicit(&t->dropped_export, memory_order_relaxed));
    pw_head(p, "troupe_trace_export_failures_total", "counter",
            "POSTs to the collector that failed (each retry counts)");
    pw_sample(p, "troupe_trace_export_failures_total",
              (double)atomic_load_explicit(&t->failures, memory_order_relaxed));
    pw_head(p, "troupe_trace_queue_spans", "gauge", "Finished spans waiting for the exporter");
    pw_sample(p, "troupe_trace_queue_spans", (double)span_queued(t));
}

int trace_metrics_register(troupe_system *sys)
{
    return obs_metrics_register(sys, "trace", write_metrics, NULL);
}

/* --- the public API --- */

TROUPE_API void troupe_trace_config_defaults(troupe_trace_config *cfg)
{
    if (cfg)
        *cfg = (troupe_trace_config){.sample_ratio = 1.0,
                                     .batch_size = 512,
                                     .batch_ms = 1000,
                                     .queue = 8192,
                                     .max_retries = 4,
                                     .timeout_ms = 5000};
}

static bool config_ok(const troupe_trace_config *c)
{
    return c->endpoint && *c->endpoint && c->sample_ratio >= 0 && c->sample_ratio <= 1 &&
           c->batch_size >= 1 && c->batch_size <= 65536 && c->batch_ms >= 1 && c->queue >= 16 &&
           c->queue <= (1u << 24) && !(c->queue & (c->queue - 1)) && c->max_retries <= 16 &&
           c->timeout_ms >= 1;
}

static void set_ratio(tracer *t, double r)
{
    /* relaxed: a hint read per root */
    atomic_store_explicit(&t->sample_all, r >= 1.0, memory_order_relaxed);
    atomic_store_explicit(&t->threshold, (uint64_t)(r * 18446744073709551616.0 * (r < 1.0)),
                          memory_order_relaxed);
}

/* libcurl's global state, once per process: curl_easy_init would do it
 * implicitly, but not safely from two exporters starting at once. */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static char *dup_or(const char *s, const char *dflt)
{
    return sys_strdup(s ? s : dflt);
}

TROUPE_API int troupe_trace_enable(troupe_system *sys, const troupe_trace_config *cfg)
{
    if (!sys || !cfg || !config_ok(cfg))
        return TROUPE_EINVAL;
    tracer *t = sys->tr;
    if (!t)
        return TROUPE_ESTATE;
    pthread_mutex_lock(&t->lock);
    int rc = 0;
    if (atomic_load_explicit(&t->enabled, memory_order_relaxed) || t->cells) {
        rc = TROUPE_EEXIST;
        goto out;
    }
    pthread_once(&curl_once, curl_init_once);
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    t->cfg = *cfg;
    t->endpoint = sys_strdup(cfg->endpoint);
    t->service = dup_or(cfg->service_name, "troupe");
    t->node = dup_or(cfg->node, host);
    t->cells = sys_calloc(cfg->queue, sizeof *t->cells);
    if (!t->endpoint || !t->service || !t->node || !t->cells) {
        rc = TROUPE_ENOMEM;
        goto out;
    }
    t->mask = cfg->queue - 1;
    for (uint64_t i = 0; i < cfg->queue; i++) /* relaxed: before the thread and the release below */
        atomic_store_explicit(&t->cells[i].seq, i, memory_order_relaxed);
    set_ratio(t, cfg->sample_ratio);
    if ((rc = exporter_start(t)) == 0) /* release: pairs with tracer_of's acquire */
        atomic_store_explicit(&t->enabled, true, memory_order_release);
out:
    if (rc && rc != TROUPE_EEXIST) { /* all of it: a later enable allocates them again */
        free(t->cells);
        free(t->endpoint);
        free(t->service);
        free(t->node);
        t->cells = NULL;
        t->endpoint = t->service = t->node = NULL;
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

static tracer *enabled(troupe_system *sys)
{
    tracer *t = sys->tr;
    /* acquire: pairs with troupe_trace_enable's release */
    return t && atomic_load_explicit(&t->enabled, memory_order_acquire) ? t : NULL;
}

TROUPE_API int troupe_trace_set_ratio(troupe_system *sys, double ratio)
{
    if (!sys || !(ratio >= 0 && ratio <= 1))
        return TROUPE_EINVAL;
    tracer *t = enabled(sys);
    if (!t)
        return TROUPE_ESTATE;
    set_ratio(t, ratio);
    return 0;
}

TROUPE_API int troupe_trace_stats_get(troupe_system *sys, troupe_trace_stats *out)
{
    if (!sys || !out)
        return TROUPE_EINVAL;
    tracer *t = enabled(sys);
    if (!t)
        return TROUPE_ESTATE;
    /* relaxed: counters */
    *out = (troupe_trace_stats){
        .spans_exported = atomic_load_explicit(&t->exported, memory_order_relaxed),
        .dropped_queue = atomic_load_explicit(&t->dropped_queue, memory_order_relaxed),
        .dropped_export = atomic_load_explicit(&t->dropped_export, memory_order_relaxed),
        .export_failures = atomic_load_explicit(&t->failures, memory_order_relaxed),
        .queued = span_queued(t)};
    return 0;
}

TROUPE_API int troupe_trace_flush(troupe_system *sys, uint32_t timeout_ms)
{
    if (!sys)
        return TROUPE_EINVAL;
    tracer *t = enabled(sys);
    if (!t)
        return TROUPE_ESTATE;
    return exporter_flush(t, timeout_ms);
}
