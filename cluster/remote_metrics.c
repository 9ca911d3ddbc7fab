/* cluster/remote_metrics.c — the messaging counters (troupe_cluster_stats)
 * as Prometheus families on the system's /metrics (observe/prom.h).
 *
 * The writer is registered once per system, at its first join, and stays
 * with the system (observe has no unregistration); a node that left has
 * no port, and the writer then writes nothing. It reads the remote under
 * core's port protocol (core/send.c, send_other): counted busy before it
 * loads the port, so that a leave (remote_detach) waits for it. */
#include "cluster/member.h"
#include "cluster/remote_int.h"
#include "observe/prom.h"

static void family(pw *p, const char *name, const char *help, uint64_t v)
{
    pw_head(p, name, "counter", help);
    pw_sample(p, name, (double)v);
}

static void labelled(pw *p, const char *name, const char *label, const char *const *values,
                     const uint64_t *v, int n)
{
    for (int i = 0; i < n; i++)
        pw_sample1(p, name, label, values[i], (double)v[i]);
}

static void write_stats(pw *p, const troupe_cluster_stats *s)
{
    family(p, "troupe_cluster_envelopes_out_total", "Envelopes published to other nodes.",
           s->envs_out);
    family(p, "troupe_cluster_frames_out_total",
           "NATS messages published (envelopes_out / frames_out: the batch size).", s->frames_out);
    family(p, "troupe_cluster_bytes_out_total", "Frame bytes published.", s->bytes_out);
    family(p, "troupe_cluster_frames_in_total", "Frames received on the node's inbox.",
           s->frames_in);
    family(p, "troupe_cluster_bytes_in_total", "Frame bytes received.", s->bytes_in);
    static const char *const kinds[] = {"tell", "ask", "reply", "down"};
    const uint64_t in[] = {s->tells_in, s->asks_in, s->replies_in, s->downs_in};
    pw_head(p, "troupe_cluster_envelopes_in_total", "counter", "Envelopes received, by kind.");
    labelled(p, "troupe_cluster_envelopes_in_total", "kind", kinds, in, 4);
    static const char *const why[] = {"queue_full", "node_down",    "publish_error",
                                      "bad_frame",  "bad_envelope", "stale_frame",
                                      "bad_ref",    "undelivered",  "late_reply"};
    const uint64_t d[] = {s->dropped_full, s->dropped_down,   s->publish_errors,
                          s->bad_frames,   s->bad_envelopes,  s->stale_frames,
                          s->bad_refs,     s->deliver_failed, s->late_replies};
    pw_head(p, "troupe_cluster_dropped_total", "counter", "Envelopes or frames dropped, by reason.");
    labelled(p, "troupe_cluster_dropped_total", "reason", why, d, 9);
}

/* Lease renewals: by outcome, and their latency as a histogram. */
static void write_renewals(pw *p, const member_renew_stats *s)
{
    static const char *const outcome[] = {"ok", "refused", "failed"};
    const uint64_t v[] = {s->ok, s->refused, s->failed};
    const char *n = "troupe_cluster_lease_renewals_total";
    pw_head(p, n, "counter", "Lease renewals, by outcome (refused: the node is fenced).");
    labelled(p, n, "outcome", outcome, v, 3);
    n = "troupe_cluster_lease_renew_duration_seconds";
    pw_head(p, n, "histogram", "Lease renewal latency, every attempt, in PostgreSQL round trips.");
    uint64_t count = 0;
    for (int k = 0; k < MEMBER_RENEW_BUCKETS; k++) {
        count += s->bucket[k];
        if (k < MEMBER_RENEW_BUCKETS - 1)
            pw_printf(p, "%s_bucket{le=\"%g\"} %llu\n", n,
                      (double)member_renew_bounds_ns[k] / 1e9, (unsigned long long)count);
        else
            pw_printf(p, "%s_bucket{le=\"+Inf\"} %llu\n", n, (unsigned long long)count);
    }
    pw_printf(p, "%s_sum %.9f\n%s_count %llu\n", n, (double)s->sum_ns / 1e9, n,
              (unsigned long long)count);
    n = "troupe_cluster_lease_renew_max_seconds";
    pw_head(p, n, "gauge", "The slowest lease renewal since join.");
    pw_sample(p, n, (double)s->max_ns / 1e9);
    n = "troupe_cluster_rejoins_total";
    pw_head(p, n, "counter", "Times this node fenced itself, then joined again as a new incarnation.");
    pw_sample(p, n, (double)s->rejoins);
}

/* Envelopes per published frame (the batching per destination). */
static void write_batches(pw *p, const transport_stats *t)
{
    const char *n = "troupe_cluster_frame_envelopes";
    pw_head(p, n, "histogram", "Envelopes per published frame (the batch size).");
    uint64_t count = 0;
    for (int k = 0; k < TRANSPORT_BATCH_BUCKETS; k++) {
        count += t->batch_bucket[k];
        if (k < TRANSPORT_BATCH_BUCKETS - 1)
            pw_printf(p, "%s_bucket{le=\"%u\"} %llu\n", n, 1u << k, (unsigned long long)count);
        else
            pw_printf(p, "%s_bucket{le=\"+Inf\"} %llu\n", n, (unsigned long long)count);
    }
    pw_printf(p, "%s_sum %llu\n%s_count %llu\n", n, (unsigned long long)t->envs_out, n,
              (unsigned long long)count);
}

/* Stable refs (troupe_cluster_ref_stats): MOVED bounces, ownership reads,
 * messages held for an owner and those that expired waiting. */
static void write_refs(pw *p, remote *r)
{
    crefs_stats s;
    crefs_stats_get(r->crefs, &s);
    static const char *const dir[] = {"in", "out"};
    const uint64_t moved[] = {s.moved_in, s.moved_out};
    const char *n = "troupe_cluster_ref_moved_total";
    pw_head(p, n, "counter",
            "Messages bounced by MOVED: in (sent back here, routed again), out (sent back by "
            "this node).");
    labelled(p, n, "direction", dir, moved, 2);
    family(p, "troupe_cluster_ref_resolves_total", "Ownership rows read for stable refs.",
           s.resolves);
    family(p, "troupe_cluster_ref_held_total", "Messages to stable refs that waited for an owner.",
           s.held);
    family(p, "troupe_cluster_ref_expired_total",
           "Held messages that failed after the bound (asks TROUPE_ENODEDOWN, tells lost).",
           s.expired);
}

static void write_remote(pw *p, remote *r)
{
    troupe_cluster_stats s = {0};
    remote_stats(r, &s);
    write_stats(p, &s);
    member_renew_stats rn;
    member_renew_stats_get(r->mem, &rn);
    write_renewals(p, &rn);
    transport_stats t;
    transport_stats_get(r->t, &t);
    write_batches(p, &t);
    write_refs(p, r);
}

static void write_metrics(pw *p, troupe_system *sys, void *ud)
{
    (void)ud;
    /* seq_cst: the port protocol of core/send.c (remote_detach waits) */
    atomic_fetch_add(&sys->remote_busy, 1);
    remote_port *port = atomic_load(&sys->remote);
    if (port)
        write_remote(p, (remote *)port);
    /* release: our reads of the remote before detach's wait ends */
    atomic_fetch_sub_explicit(&sys->remote_busy, 1, memory_order_release);
}

int remote_metrics_register(troupe_system *sys)
{
    int rc = obs_metrics_register(sys, "cluster", write_metrics, NULL);
    return rc == TROUPE_EEXIST ? 0 : rc; /* a second join: registered already */
}
