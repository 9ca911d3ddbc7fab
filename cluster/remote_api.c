/* cluster/remote_api.c — the public calls of remote refs and messaging
 * (include/troupe/cluster.h, "remote refs and messaging"). */
#include <string.h>

#include "cluster/member.h"
#include "cluster/own.h"
#include "cluster/remote_int.h"
#include "core/ask.h"
#include "troupe/registry.h"
#include "troupe/message.h"

TROUPE_API int troupe_cluster_lookup(troupe_cluster *c, const char *node, const char *name,
                                     uint64_t timeout_ns, troupe_ref *out)
{
    if (out)
        *out = TROUPE_REF_NONE;
    if (!c || !node || !name || !out || !name[0] || strlen(name) >= 256)
        return TROUPE_EINVAL;
    remote *r = cluster_remote(c);
    if (!r)
        return TROUPE_ESTATE;
    if (troupei_tls.ctx || troupei_tls.w)
        return TROUPE_ESTATE; /* a worker never blocks */
    uint32_t slot = strcmp(node, r->node) == 0 ? r->my_slot : remote_slot_by_name(r, node, true);
    if (slot == 0)
        return TROUPE_ENOACTOR;
    if (slot == r->my_slot)
        return troupe_whereis(r->sys, name, out);
    /* index 0, generation 0 of the node's refs: its service (remote_rx.c) */
    troupe_ref svc = {remote_ref_flip(r, (uint64_t)slot << REF_TAG_SHIFT)};
    uint64_t wire = 0;
    size_t len = 0;
    int rc = troupe_ask(r->sys, svc, REMOTE_SVC_LOOKUP, name, strlen(name), timeout_ns, NULL,
                        &wire, sizeof wire, &len);
    if (rc)
        return rc;
    if (len != sizeof wire)
        return TROUPE_EIO;
    out->id = remote_ref_flip(r, wire); /* the reply is little-endian: so is every target */
    return 0;
}

TROUPE_API int troupe_cluster_ref_encode(troupe_cluster *c, troupe_ref ref, uint64_t *out)
{
    if (out)
        *out = 0;
    if (!c || !out || troupe_ref_is_none(ref) || !(ref.id & REF_TAG_MASK))
        return TROUPE_EINVAL;
    remote *r = cluster_remote(c);
    if (!r)
        return TROUPE_ESTATE;
    *out = remote_ref_flip(r, ref.id);
    return 0;
}

TROUPE_API int troupe_cluster_ref_decode(troupe_cluster *c, uint64_t wire, troupe_ref *out)
{
    if (out)
        *out = TROUPE_REF_NONE;
    if (!c || !out || !(wire & REF_TAG_MASK))
        return TROUPE_EINVAL;
    remote *r = cluster_remote(c);
    if (!r)
        return TROUPE_ESTATE;
    out->id = remote_ref_flip(r, wire);
    return 0;
}

TROUPE_API int troupe_cluster_node_number(const troupe_cluster *c)
{
    if (!c)
        return TROUPE_EINVAL;
    remote *r = cluster_remote(c);
    return r ? (int)r->my_slot : TROUPE_ESTATE;
}

#define LD(f) atomic_load_explicit(&r->f, memory_order_relaxed) /* counters alone */
void remote_stats(remote *r, troupe_cluster_stats *out)
{
    transport_stats t;
    transport_stats_get(r->t, &t);
    *out = (troupe_cluster_stats){.envs_out = t.envs_out, .frames_out = t.frames_out,
                                  .bytes_out = t.bytes_out, .frames_in = t.frames_in,
                                  .bytes_in = t.bytes_in, .tells_in = LD(msgs_in),
                                  .asks_in = LD(asks_in), .replies_in = LD(replies_in),
                                  .downs_in = LD(downs_in), .dropped_full = t.dropped_full,
                                  .dropped_down = t.dropped_down,
                                  .publish_errors = t.publish_errors,
                                  .stale_frames = LD(stale_frames), .bad_refs = LD(bad_refs),
                                  .deliver_failed = LD(deliver_failed),
                                  .late_replies = LD(late_replies)};
    pthread_mutex_lock(&r->mu);
    out->bad_frames = r->fst.bad_header + r->fst.bad_version;
    out->bad_envelopes = r->fst.truncated + r->fst.oversized + r->fst.bad_envelope +
                         r->fst.trailing;
    pthread_mutex_unlock(&r->mu);
    member_renew_stats rn;
    member_renew_stats_get(r->mem, &rn);
    out->renewals_ok = rn.ok;
    out->renewals_refused = rn.refused;
    out->renewals_failed = rn.failed;
    out->renew_ns_sum = rn.sum_ns;
    out->renew_ns_max = rn.max_ns;
    out->rejoins = rn.rejoins;
}
#undef LD

TROUPE_API int troupe_cluster_stats_get(const troupe_cluster *c, troupe_cluster_stats *out)
{
    if (!c || !out)
        return TROUPE_EINVAL;
    memset(out, 0, sizeof *out);
    remote *r = cluster_remote(c);
    if (r)
        remote_stats(r, out);
    return 0;
}

TROUPE_API int troupe_cluster_ref(troupe_cluster *c, const char *kind, const char *id,
                                  troupe_ref *out)
{
    char pid[OWN_PID_MAX + 1];
    if (out)
        *out = TROUPE_REF_NONE;
    if (!c || !out || own_pid(cluster_own(c), kind, id, pid) != 0)
        return TROUPE_EINVAL;
    remote *r = cluster_remote(c);
    if (!r)
        return TROUPE_ESTATE;
    if (atomic_load_explicit(&r->fenced, memory_order_relaxed)) /* relaxed: see the field */
        return TROUPE_EFENCED;
    return crefs_get(r->crefs, pid, out);
}

TROUPE_API int troupe_cluster_ref_stats_get(const troupe_cluster *c, troupe_cluster_ref_stats *out)
{
    if (!c || !out)
        return TROUPE_EINVAL;
    memset(out, 0, sizeof *out);
    remote *r = cluster_remote(c);
    if (!r)
        return 0;
    crefs_stats s;
    crefs_stats_get(r->crefs, &s);
    *out = (troupe_cluster_ref_stats){.moved_in = s.moved_in, .moved_out = s.moved_out,
                                      .resolves = s.resolves, .held = s.held,
                                      .expired = s.expired};
    return 0;
}
