/* cluster/remote_metrics.c — the messaging counters (troupe_cluster_stats)
 * as Prometheus families on the system's /metrics (observe/prom.h).
 *
 * The writer is registered once per system, at its first join, and stays
 * with the system (observe has no unregistration); a node that left has
 * no port, and the writer then writes nothing. It reads the remote under
 * core's port protocol (core/send.c, send_other): counted busy before it
 * loads the port, so that a leave (remote_detach) waits for it. */
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

static void write_metrics(pw *p, troupe_system *sys, void *ud)
{
    (void)ud;
    /* seq_cst: the port protocol of core/send.c (remote_detach waits) */
    atomic_fetch_add(&sys->remote_busy, 1);
    remote_port *port = atomic_load(&sys->remote);
    if (port) {
        troupe_cluster_stats s = {0};
        remote_stats((remote *)port, &s);
        write_stats(p, &s);
    }
    /* release: our reads of the remote before detach's wait ends */
    atomic_fetch_sub_explicit(&sys->remote_busy, 1, memory_order_release);
}

int remote_metrics_register(troupe_system *sys)
{
    int rc = obs_metrics_register(sys, "cluster", write_metrics, NULL);
    return rc == TROUPE_EEXIST ? 0 : rc; /* a second join: registered already */
}
