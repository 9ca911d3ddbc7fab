/* migrate/metrics.c — the adapters and flags in the Prometheus text: a
 * writer registered with observe at migrate_create, which
 * troupe_metrics_write calls. Names in docs/METRICS.md. */
#include <stdlib.h>

#include "core/alloc.h"
#include "core/system.h"
#include "migrate/mig.h"
#include "observe/prom.h"

static void counters(pw *p, const troupe_adapter_info *v, size_t n)
{
    pw_head(p, "troupe_adapter_calls_total", "counter",
            "Adapter calls, by the copy whose result the caller got.");
    for (size_t i = 0; i < n; i++) {
        pw_printf(p, "troupe_adapter_calls_total{adapter=\"%s\",served=\"legacy\"} %llu\n",
                  v[i].name, (unsigned long long)v[i].served_legacy);
        pw_printf(p, "troupe_adapter_calls_total{adapter=\"%s\",served=\"actor\"} %llu\n",
                  v[i].name, (unsigned long long)v[i].served_actor);
    }
    static const struct {
        const char *name, *help;
        size_t off;
    } m[] = {
        {"troupe_adapter_compared_total", "Calls run on both copies and compared.",
         offsetof(troupe_adapter_info, compared)},
        {"troupe_adapter_mismatches_total", "Compared calls whose results differed.",
         offsetof(troupe_adapter_info, mismatches)},
        {"troupe_adapter_errors_total", "Asks of the actor path that failed.",
         offsetof(troupe_adapter_info, errors)},
        {"troupe_adapter_switches_total", "Changes of the copies kept.",
         offsetof(troupe_adapter_info, switches)},
        {"troupe_adapter_switch_failures_total", "Switches abandoned (the sync failed).",
         offsetof(troupe_adapter_info, switch_failures)},
    };
    for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
        pw_head(p, m[k].name, "counter", m[k].help);
        for (size_t i = 0; i < n; i++)
            pw_sample1(p, m[k].name, "adapter", v[i].name,
                       (double)*(const uint64_t *)((const char *)&v[i] + m[k].off));
    }
}

static void gauges(pw *p, const troupe_adapter_info *v, size_t n)
{
    pw_head(p, "troupe_adapter_actor_share", "gauge",
            "Share of calls answered by the actor path (migration progress).");
    for (size_t i = 0; i < n; i++)
        pw_sample1(p, "troupe_adapter_actor_share", "adapter", v[i].name, v[i].actor_share);
    pw_head(p, "troupe_adapter_mode", "gauge", "The flag's mode: 0 legacy, 1 shadow, 2 canary, 3 actor.");
    for (size_t i = 0; i < n; i++)
        pw_sample1(p, "troupe_adapter_mode", "adapter", v[i].name, (double)v[i].mode);
    pw_head(p, "troupe_adapter_canary_percent", "gauge", "Canary share of keys, percent.");
    for (size_t i = 0; i < n; i++)
        pw_sample1(p, "troupe_adapter_canary_percent", "adapter", v[i].name, (double)v[i].percent);
}

static void histogram(pw *p, const char *adapter, const char *path, const troupe_adapter_latency *l)
{
    const char *h = "troupe_adapter_duration_seconds";
    uint64_t cum = 0;
    for (int k = 0; k < LATB; k++) {
        cum += l->buckets[k];
        if (k < LATB - 1)
            pw_printf(p, "%s_bucket{adapter=\"%s\",path=\"%s\",le=\"%g\"} %llu\n", h, adapter, path,
                      (double)lat_bound(k) / 1e9, (unsigned long long)cum);
        else
            pw_printf(p, "%s_bucket{adapter=\"%s\",path=\"%s\",le=\"+Inf\"} %llu\n", h, adapter,
                      path, (unsigned long long)cum);
    }
    pw_printf(p, "%s_sum{adapter=\"%s\",path=\"%s\"} %.9f\n", h, adapter, path,
              (double)l->sum_ns / 1e9);
    pw_printf(p, "%s_count{adapter=\"%s\",path=\"%s\"} %llu\n", h, adapter, path,
              (unsigned long long)l->count);
}

static void flags_metrics(pw *p, troupe_system *sys)
{
    flags *f = &sys->mig->fl;
    pthread_mutex_lock(&f->lock);
    uint64_t ok = f->reloads, bad = f->reload_failures;
    uint32_t n = atomic_load_explicit(&f->n, memory_order_relaxed); /* relaxed: under the lock */
    pthread_mutex_unlock(&f->lock);
    pw_head(p, "troupe_flags_loads_total", "counter", "Loads and reloads of the flags file.");
    pw_sample1(p, "troupe_flags_loads_total", "result", "ok", (double)ok);
    pw_sample1(p, "troupe_flags_loads_total", "result", "error", (double)bad);
    pw_head(p, "troupe_flags", "gauge", "Flags in the table (holding a value, or bound by code).");
    pw_sample(p, "troupe_flags", n);
}

static void write_metrics(pw *p, troupe_system *sys, void *ud)
{
    (void)ud;
    if (!sys->mig) /* destroyed already */
        return;
    flags_metrics(p, sys);
    troupe_adapter_info *v = sys_calloc(TROUPE_ADAPTERS_MAX, sizeof *v);
    size_t n = 0;
    if (!v || troupe_adapter_list(sys, v, TROUPE_ADAPTERS_MAX, &n) || n == 0) {
        free(v);
        return;
    }
    counters(p, v, n);
    gauges(p, v, n);
    pw_head(p, "troupe_adapter_duration_seconds", "histogram",
            "Time of one path of a call (sampled), legacy including the lock wait.");
    for (size_t i = 0; i < n; i++) {
        histogram(p, v[i].name, "legacy", &v[i].legacy);
        histogram(p, v[i].name, "actor", &v[i].actor);
    }
    free(v);
}

int mig_metrics_register(troupe_system *sys)
{
    return obs_metrics_register(sys, "migrate", write_metrics, NULL);
}
