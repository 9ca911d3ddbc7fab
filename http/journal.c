/* http/journal.c — GET /api/journal: the metrics of the system's journal
 * (troupe_journal_metrics_get, troupe/persist.h) for the dashboard's
 * journal panel: {"journal": false} when the system has none, else the
 * counters and the three histograms as {"le": [bounds…, null for +Inf],
 * "counts": [per bucket, not cumulative], "sum"}. */
#include "http/internal.h"

#include <microhttpd.h>

#include "troupe/persist.h"

static void histogram(jw *w, const char *key, const uint64_t *bounds, const uint64_t *counts,
                      size_t n, double scale, double sum)
{
    jw_key(w, key);
    jw_obj(w);
    jw_key(w, "le");
    jw_arr(w);
    for (size_t i = 0; i + 1 < n; i++)
        jw_double(w, (double)bounds[i] / scale);
    jw_null(w);
    jw_arr_end(w);
    jw_key(w, "counts");
    jw_arr(w);
    for (size_t i = 0; i < n; i++)
        jw_u64(w, counts[i]);
    jw_arr_end(w);
    jw_key(w, "sum"), jw_double(w, sum);
    jw_obj_end(w);
}

void api_journal(hreq *r)
{
    static const uint64_t lat[] = TROUPE_JOURNAL_LATENCY_BOUNDS_NS;
    static const uint64_t batch[] = TROUPE_JOURNAL_BATCH_BOUNDS;
    static const uint64_t rec[] = TROUPE_JOURNAL_RECOVERY_BOUNDS_NS;
    jw *w = &r->out.w;
    troupe_journal_metrics m;
    troupe_journal *j = troupe_system_journal(r->srv->sys);
    if (!j || troupe_journal_metrics_get(j, &m) < 0) {
        jw_obj(w);
        jw_key(w, "journal"), jw_bool(w, 0);
        jw_obj_end(w);
        return;
    }
    char err[256] = "";
    troupe_journal_last_error(j, err, sizeof err);
    jw_obj(w);
    jw_key(w, "journal"), jw_bool(w, 1);
    jw_key(w, "commits"), jw_u64(w, m.commits);
    jw_key(w, "events"), jw_u64(w, m.events);
    jw_key(w, "failures"), jw_u64(w, m.failures);
    jw_key(w, "snapshots"), jw_u64(w, m.snapshots);
    jw_key(w, "recoveries"), jw_u64(w, m.recoveries);
    jw_key(w, "recovery_failures"), jw_u64(w, m.recovery_failures);
    jw_key(w, "regressions"), jw_u64(w, m.regressions);
    jw_key(w, "last_error"), jw_str(w, err[0] ? err : NULL);
    histogram(w, "commit_seconds", lat, m.commit_ns_buckets, TROUPE_JOURNAL_LATENCY_BUCKETS, 1e9,
              (double)m.commit_ns_sum / 1e9);
    histogram(w, "events_per_commit", batch, m.batch_buckets, TROUPE_JOURNAL_BATCH_BUCKETS, 1,
              (double)m.events);
    histogram(w, "recovery_seconds", rec, m.recovery_ns_buckets, TROUPE_JOURNAL_RECOVERY_BUCKETS,
              1e9, (double)m.recovery_ns_sum / 1e9);
    jw_obj_end(w);
}
