/* observe/prom.c — troupe_metrics_write: the Prometheus text format.
 *
 * Everything is summed at read time from where it is kept (observe/obs.h).
 * Output goes through a small buffer to the caller's writer. Writers of
 * metrics are serialised by obs->out_lock, which also guards the last
 * exported per-type totals (the clamp that keeps counters monotonic) and
 * the table of the features' writers (obs_metrics_register): observe
 * writes the system's, the actors', the workers' and — asking the
 * supervisor (sv_totals), which lies below it — the tree's families, and
 * names no feature above it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "observe/obs.h"
#include "observe/prom.h"
#include "observe/utf8.h"
#include "supervisor/sv.h"

int pw_flush(pw *p)
{
    if (p->rc == 0 && p->n)
        p->rc = p->fn(p->ud, p->buf, p->n);
    p->n = 0;
    return p->rc;
}

void pw_put(pw *p, const char *s, size_t n)
{
    while (n && p->rc == 0) {
        size_t k = sizeof p->buf - p->n < n ? sizeof p->buf - p->n : n;
        memcpy(p->buf + p->n, s, k);
        p->n += k;
        s += k;
        n -= k;
        if (p->n == sizeof p->buf)
            pw_flush(p);
    }
}

void pw_printf(pw *p, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        pw_put(p, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A label value, escaped as the format asks (\\, \" and \n), and UTF-8
 * as the format requires: names are arbitrary bytes, and one that is not
 * UTF-8 would make a scraper refuse the whole page, so each byte outside a
 * well-formed sequence becomes U+FFFD, as in the HTTP API's JSON. */
void pw_label(pw *p, const char *v)
{
    const unsigned char *u = (const unsigned char *)v;
    size_t n = v ? strlen(v) : 0;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_seq_len(u + i, n - i);
        if (u[i] == '\\' || u[i] == '"')
            pw_put(p, "\\", 1);
        if (u[i] == '\n')
            pw_put(p, "\\n", 2);
        else if (len)
            pw_put(p, v + i, len);
        else
            pw_put(p, UTF8_REPLACEMENT, sizeof UTF8_REPLACEMENT - 1);
        i += len ? len : 1;
    }
}

void pw_head(pw *p, const char *name, const char *type, const char *help)
{
    pw_printf(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{label="value"} v */
void pw_sample1(pw *p, const char *name, const char *label, const char *value, double v)
{
    pw_printf(p, "%s{%s=\"", name, label);
    pw_label(p, value);
    pw_printf(p, "\"} %.17g\n", v);
}

void pw_sample(pw *p, const char *name, double v) { pw_printf(p, "%s %.17g\n", name, v); }

TROUPE_API void troupe_metrics_opts_defaults(troupe_metrics_opts *o)
{
    if (o)
        memset(o, 0, sizeof *o);
}

TROUPE_API int troupe_metrics_enabled(void) { return TROUPE_METRICS; }

static void write_system(pw *p, troupe_system *sys)
{
    troupe_system_stats st;
    troupe_system_stats_get(sys, &st);
    pw_head(p, "troupe_actors_live", "gauge", "Live actors.");
    pw_sample(p, "troupe_actors_live", (double)st.actors_live);
    pw_head(p, "troupe_actors_spawned_total", "counter", "Actors spawned.");
    pw_sample(p, "troupe_actors_spawned_total", (double)st.actors_spawned);
    pw_head(p, "troupe_actors_failed_total", "counter", "Actor failures.");
    pw_sample(p, "troupe_actors_failed_total", (double)st.actors_failed);
    pw_head(p, "troupe_dead_letters_total", "counter", "Messages handled by the dead-letter actor.");
    pw_sample(p, "troupe_dead_letters_total", (double)st.dead_letters);
    pw_head(p, "troupe_registry_names", "gauge", "Registered names.");
    pw_sample(p, "troupe_registry_names", (double)troupe_registry_size(sys));
    pw_head(p, "troupe_metrics_enabled", "gauge", "1 when built with metrics.");
    pw_sample(p, "troupe_metrics_enabled", TROUPE_METRICS);
}

static void write_latency(pw *p, troupe_system *sys)
{
    uint64_t b[LAT_BUCKETS] = {0}, sum = 0, count = 0;
    for (uint32_t i = 0; i < sys->nworkers; i++) {
        worker *w = &sys->workers[i];
        for (int k = 0; k < LAT_BUCKETS; k++) /* relaxed: counters */
            b[k] += atomic_load_explicit(&w->lat_bucket[k], memory_order_relaxed);
        sum += atomic_load_explicit(&w->lat_sum_ns, memory_order_relaxed);
    }
    const char *n = "troupe_handle_duration_seconds";
    pw_head(p, n, "histogram", "Handler duration, one run in 64 sampled per worker.");
    for (int k = 0; k < LAT_BUCKETS; k++) {
        count += b[k];
        if (k < LAT_BUCKETS - 1)
            pw_printf(p, "%s_bucket{le=\"%g\"} %llu\n", n, (double)obs_lat_bounds[k] / 1e9,
                      (unsigned long long)count);
        else
            pw_printf(p, "%s_bucket{le=\"+Inf\"} %llu\n", n, (unsigned long long)count);
    }
    pw_printf(p, "%s_sum %.9f\n%s_count %llu\n", n, (double)sum / 1e9, n,
              (unsigned long long)count);
}

static void write_workers(pw *p, troupe_system *sys)
{
    static const struct {
        const char *name, *type, *help;
    } m[] = {{"troupe_worker_runs_total", "counter", "Actor runs."},
             {"troupe_worker_steals_total", "counter", "Actors stolen from other workers."},
             {"troupe_worker_parks_total", "counter", "Times the worker slept."},
             {"troupe_worker_runq_length", "gauge", "Runnable actors queued on the worker."},
             {"troupe_worker_stalled", "gauge",
              "1 while a handler holds the worker past stall_ns."},
             {"troupe_worker_stranded", "gauge",
              "Runnable actors waiting behind a stalled worker (run queue and LIFO slot)."}};
    for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
        pw_head(p, m[k].name, m[k].type, m[k].help);
        for (uint32_t i = 0; i < sys->nworkers; i++) {
            troupe_worker_info wi;
            troupe_worker_info_get(sys, i, &wi);
            double v[] = {(double)wi.runs, (double)wi.steals, (double)wi.parks,
                          (double)wi.runq_length, (double)wi.stalled, (double)wi.stranded};
            pw_printf(p, "%s{worker=\"%u\"} %.17g\n", m[k].name, i, v[k]);
        }
    }
}

static void write_supervision(pw *p, troupe_system *sys)
{
    uint64_t by[TROUPE_EXIT_KINDS], by_operator, esc, unhealthy, failures;
    uint32_t nsup, nact;
    sv_totals(sys, by, &by_operator, &esc, &nsup, &nact);
    health_totals(sys, &unhealthy, &failures);
    pw_head(p, "troupe_restarts_total", "counter",
            "Restarts, by the kind of exit that caused them, or operator (asked through the API).");
    for (int k = 0; k < TROUPE_EXIT_KINDS; k++) {
        const char *kind = troupe_failure_kind_name((troupe_failure_kind)k);
        if (strcmp(kind, "unknown") != 0)
            pw_sample1(p, "troupe_restarts_total", "reason", kind, (double)by[k]);
    }
    /* asked by an operator (troupe_actor_restart): not a failure */
    pw_sample1(p, "troupe_restarts_total", "reason", "operator", (double)by_operator);
    pw_head(p, "troupe_escalations_total", "counter", "Times a supervisor gave up.");
    pw_sample(p, "troupe_escalations_total", (double)esc);
    pw_head(p, "troupe_supervisors", "gauge", "Supervisors in the tree.");
    pw_sample(p, "troupe_supervisors", nsup);
    pw_head(p, "troupe_supervised_actors", "gauge", "Actor children in the tree.");
    pw_sample(p, "troupe_supervised_actors", nact);
    pw_head(p, "troupe_actors_unhealthy", "gauge", "Supervised actors unhealthy now.");
    pw_sample(p, "troupe_actors_unhealthy", (double)unhealthy);
    pw_head(p, "troupe_health_failures_total", "counter", "Times an actor was reported unhealthy.");
    pw_sample(p, "troupe_health_failures_total", (double)failures);
    troupe_supervisor_health sh;
    troupe_supervisor_health_get(sys, &sh);
    pw_head(p, "troupe_supervisor_stalled", "gauge",
            "1 while the supervisor thread owes work and has finished no pass for stall_ns.");
    pw_sample(p, "troupe_supervisor_stalled", sh.stalled);
    pw_head(p, "troupe_supervisor_stalls_total", "counter",
            "Times the supervisor thread was reported stalled.");
    pw_sample(p, "troupe_supervisor_stalls_total", (double)sh.stalls);
    pw_head(p, "troupe_supervisor_heartbeats_total", "counter",
            "Passes the supervisor thread finished (its heartbeat).");
    pw_sample(p, "troupe_supervisor_heartbeats_total", (double)sh.heartbeats);
}

int obs_metrics_register(troupe_system *sys, const char *name, obs_metrics_fn fn, void *ud)
{
    if (!sys || !name || !fn)
        return TROUPE_EINVAL;
    obs *o = sys->obs;
    if (!o)
        return TROUPE_ESTATE;
    int rc = 0;
    pthread_mutex_lock(&o->out_lock);
    for (uint32_t i = 0; i < o->nwriters && rc == 0; i++)
        if (strcmp(o->writers[i].name, name) == 0)
            rc = TROUPE_EEXIST;
    if (rc == 0)
        rc = tr_grow32((void **)&o->writers, &o->capwriters, (size_t)o->nwriters + 1,
                       sizeof *o->writers, 4);
    if (rc == 0)
        o->writers[o->nwriters++] = (obs_writer){name, fn, ud};
    pthread_mutex_unlock(&o->out_lock);
    return rc;
}

/* The features' families, after observe's own (out_lock held). */
static void write_registered(pw *p, troupe_system *sys)
{
    obs *o = sys->obs;
    for (uint32_t i = 0; i < o->nwriters; i++)
        o->writers[i].fn(p, sys, o->writers[i].ud);
}

TROUPE_API int troupe_metrics_write(troupe_system *sys, const troupe_metrics_opts *opts,
                                    troupe_write_fn write, void *ud)
{
    if (!sys || !write)
        return TROUPE_EINVAL;
    troupe_metrics_opts def;
    if (!opts) {
        troupe_metrics_opts_defaults(&def);
        opts = &def;
    }
    pw *p = sys_calloc(1, sizeof *p);
    if (!p)
        return TROUPE_ENOMEM;
    p->fn = write;
    p->ud = ud;
    pthread_mutex_lock(&sys->obs->out_lock);
    write_system(p, sys);
    int rc = prom_types(p, sys);
    if (rc == 0)
        rc = prom_named(p, sys, opts->per_name);
    write_latency(p, sys);
    prom_probe(p, sys);
    write_supervision(p, sys);
    write_workers(p, sys);
    prom_pools(p, sys);
    write_registered(p, sys);
    pthread_mutex_unlock(&sys->obs->out_lock);
    if (rc == 0)
        rc = pw_flush(p);
    else if (p->rc)
        rc = p->rc;
    free(p);
    return rc;
}
