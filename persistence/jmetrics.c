/* persistence/jmetrics.c — the journal's metrics: commits, events per
 * commit, commit latency, failures and recovery time (troupe_journal_metrics,
 * troupe/persist.h), counted by the writer (journal.c) and by recovery
 * (recover.c) under the journal's lock, read by troupe_journal_metrics_get
 * and written on /metrics as troupe_journal_* (docs/METRICS.md). */
#include <stdlib.h>
#include <string.h>

#include "observe/prom.h"
#include "persistence/journal_int.h"

static const uint64_t lat_bounds[] = TROUPE_JOURNAL_LATENCY_BOUNDS_NS;
static const uint64_t batch_bounds[] = TROUPE_JOURNAL_BATCH_BOUNDS;
static const uint64_t rec_bounds[] = TROUPE_JOURNAL_RECOVERY_BOUNDS_NS;
_Static_assert(sizeof lat_bounds / sizeof lat_bounds[0] == TROUPE_JOURNAL_LATENCY_BUCKETS - 1,
               "one bucket per bound, and +Inf");
_Static_assert(sizeof batch_bounds / sizeof batch_bounds[0] == TROUPE_JOURNAL_BATCH_BUCKETS - 1,
               "one bucket per bound, and +Inf");
_Static_assert(sizeof rec_bounds / sizeof rec_bounds[0] == TROUPE_JOURNAL_RECOVERY_BUCKETS - 1,
               "one bucket per bound, and +Inf");

/* The first bucket whose bound holds v; the last (+Inf) when none does. */
static size_t bucket_of(const uint64_t *bounds, size_t nb, uint64_t v)
{
    size_t i = 0;
    while (i < nb && v > bounds[i])
        i++;
    return i;
}

void journal_count_commit(troupe_journal *j, int rc, size_t n, uint64_t ns)
{
    troupe_journal_metrics *m = &j->m; /* the caller holds j->lock */
    m->commit_ns_sum += ns;
    m->commit_ns_buckets[bucket_of(lat_bounds, TROUPE_JOURNAL_LATENCY_BUCKETS - 1, ns)]++;
    if (rc == 0 && n > 0)
        m->batch_buckets[bucket_of(batch_bounds, TROUPE_JOURNAL_BATCH_BUCKETS - 1, n)]++;
}

void journal_count_recovery(troupe_journal *j, int rc, uint64_t ns)
{
    pthread_mutex_lock(&j->lock); /* metrics: read by troupe_journal_metrics_get */
    j->m.recoveries++;
    j->m.recovery_failures += rc < 0;
    j->m.recovery_ns_sum += ns;
    j->m.recovery_ns_buckets[bucket_of(rec_bounds, TROUPE_JOURNAL_RECOVERY_BUCKETS - 1, ns)]++;
    pthread_mutex_unlock(&j->lock);
}

void journal_count_regression(troupe_journal *j)
{
    pthread_mutex_lock(&j->lock); /* metrics: read by troupe_journal_metrics_get */
    j->m.regressions++;
    pthread_mutex_unlock(&j->lock);
}

TROUPE_API int troupe_journal_metrics_get(troupe_journal *j, troupe_journal_metrics *out)
{
    if (!j || !out)
        return TROUPE_EINVAL;
    pthread_mutex_lock(&j->lock); /* the writer and recoveries update them */
    *out = j->m;
    out->commits = j->st.commits;
    out->events = j->st.events;
    out->failures = j->st.failures;
    out->snapshots = j->st.snapshots;
    pthread_mutex_unlock(&j->lock);
    memset(out->reserved, 0, sizeof out->reserved);
    return 0;
}

TROUPE_API troupe_journal *troupe_system_journal(troupe_system *sys)
{
    return sys ? sys->cfg.journal : NULL;
}

/* One histogram family: cumulative buckets as Prometheus wants them. */
static void histogram(pw *p, const char *name, const char *help, const uint64_t *bounds,
                      const uint64_t *buckets, size_t nb, double scale, double sum)
{
    pw_head(p, name, "histogram", help);
    uint64_t cum = 0;
    for (size_t i = 0; i < nb; i++) {
        cum += buckets[i];
        if (i + 1 < nb)
            pw_printf(p, "%s_bucket{le=\"%g\"} %llu\n", name, (double)bounds[i] / scale,
                      (unsigned long long)cum);
        else
            pw_printf(p, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
    }
    pw_printf(p, "%s_sum %.9g\n%s_count %llu\n", name, sum, name, (unsigned long long)cum);
}

static void counter(pw *p, const char *name, const char *help, uint64_t v)
{
    pw_head(p, name, "counter", help);
    pw_sample(p, name, (double)v);
}

/* The system journal's families in /metrics (registered by persist_create
 * when the system has a journal; it outlives the system). */
static void write_metrics(pw *p, troupe_system *sys, void *ud)
{
    (void)ud;
    troupe_journal_metrics m;
    if (troupe_journal_metrics_get(troupe_system_journal(sys), &m) < 0)
        return;
    counter(p, "troupe_journal_commits_total", "Journal transactions committed.", m.commits);
    counter(p, "troupe_journal_events_total", "Events committed to the journal.", m.events);
    counter(p, "troupe_journal_failures_total", "Journal transactions and snapshots that failed.",
            m.failures);
    counter(p, "troupe_journal_snapshots_total", "Snapshots written.", m.snapshots);
    counter(p, "troupe_journal_recovery_failures_total", "Recoveries that failed.",
            m.recovery_failures);
    counter(p, "troupe_journal_regressions_total",
            "Recoveries that found the journal gone backwards (lost or bad rows).", m.regressions);
    histogram(p, "troupe_journal_commit_duration_seconds",
              "One journal transaction, as its writer thread timed it (failed ones too).",
              lat_bounds, m.commit_ns_buckets, TROUPE_JOURNAL_LATENCY_BUCKETS, 1e9,
              (double)m.commit_ns_sum / 1e9);
    histogram(p, "troupe_journal_commit_events", "Events per committed transaction.", batch_bounds,
              m.batch_buckets, TROUPE_JOURNAL_BATCH_BUCKETS, 1, (double)m.events);
    histogram(p, "troupe_journal_recovery_duration_seconds",
              "One persistent actor's recovery (snapshot and events read back).", rec_bounds,
              m.recovery_ns_buckets, TROUPE_JOURNAL_RECOVERY_BUCKETS, 1e9,
              (double)m.recovery_ns_sum / 1e9);
}

int journal_metrics_register(troupe_system *sys)
{
    if (!sys->cfg.journal)
        return 0;
    return obs_metrics_register(sys, "journal", write_metrics, NULL);
}
