/* cluster/remote_int.h — the remote's shape, shared by remote.c (life,
 * map, the port), remote_rx.c (the reader) and remote_api.c (the public
 * calls). Not API. */
#ifndef TROUPE_CLUSTER_REMOTE_INT_H
#define TROUPE_CLUSTER_REMOTE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "cluster/cref.h"
#include "cluster/frame.h"
#include "cluster/remote.h"
#include "cluster/route.h"
#include "cluster/transport.h"
#include "core/system.h"

/* A node service request: an ASK to index 0 of a node's refs. */
#define REMOTE_SVC_LOOKUP 1u /* payload: a name; reply: the wire ref (u64 LE) */
/* Service tells: monitors of the node's actors by another node's actors. */
#define REMOTE_SVC_MONITOR 2u   /* target, watcher, id: u64 LE each */
#define REMOTE_SVC_DEMONITOR 3u /* target, id */
/* A DOWN for a monitor (FRAME_DOWN, ask id 0) carries: the actor (wire),
 * the monitor id, kind u32, code i32, then the reason's bytes. */
#define REMOTE_DOWN_FIXED 24u
/* A remote ask's proxy record lives at most this long without an answer. */
#define REMOTE_PROXY_TTL_NS (600ull * 1000000000ull)

/* What this node knows of another, by slot; under remote.mu. */
typedef struct peer {
    char name[64];
    char subject[TRANSPORT_SUBJECT_MAX];
    uint64_t incarnation;
    bool known, live;
} peer;

/* A monitor this node's actor holds on another node's: DOWN with a
 * node-down reason if that node goes first. Under remote.mu. */
typedef struct rmon {
    uint32_t slot;
    uint64_t watcher, target, id; /* local forms */
} rmon;

/* What proxies of remote asks share with the remote: they may complete
 * after it closed (the system destroys them), so they reach it only
 * through here. Freed by the last one out. */
typedef struct remote_link {
    pthread_mutex_t mu;
    struct remote *r; /* NULL once closed */
    uint64_t refs;    /* the remote's one + one per proxy */
} remote_link;

struct remote {
    remote_port port; /* first: core sees this */
    troupe_system *sys;
    struct member *mem;
    transport *t;
    route *rt;
    remote_link *link;
    char cluster[64], node[64], inbox[TRANSPORT_SUBJECT_MAX];
    uint32_t my_slot, my_tag; /* my_tag: sys->ref_tag's value */
    uint64_t incarnation;
    uint32_t refresh_ms;
    pthread_mutex_t mu; /* peers, last_sync_ns, frame stats; route queries (rtmu) */
    pthread_mutex_t rtmu;
    peer *peers; /* [TRANSPORT_SLOTS] */
    uint32_t last_slot; /* the reader's: the sender of its last frame */
    uint64_t last_sync_ns;
    frame_stats fst;
    cdir *dir;     /* the cluster actors running here (own's) */
    crefs *crefs;  /* stable refs (cref.c) */
    rmon *mons;
    uint32_t nmons, capmons;
    _Atomic bool fenced; /* relaxed: a flag read alone */
    /* the refresher */
    pthread_t thr;
    pthread_cond_t cv;
    bool stop, running;
    /* counters: relaxed, each read alone */
    _Atomic uint64_t msgs_in, asks_in, replies_in, downs_in, stale_frames, deliver_failed,
        late_replies, bad_refs;
};

/* A ref between its local form and its wire form (tag bits = slot): the
 * same function both ways (route_swap is an involution). */
static inline uint64_t remote_ref_flip(const struct remote *r, uint64_t id)
{
    if (id == 0)
        return 0;
    uint32_t tag = (uint32_t)(id >> REF_TAG_SHIFT);
    uint64_t v = route_swap(r->my_slot, r->my_tag, tag);
    return (id & ~REF_TAG_MASK) | (v << REF_TAG_SHIFT);
}
static inline uint32_t remote_slot_of(const struct remote *r, uint64_t local_id)
{
    return route_swap(r->my_slot, r->my_tag, (uint32_t)(local_id >> REF_TAG_SHIFT));
}

/* remote_rx.c */
void remote_on_frame(void *arg, const char *from_subject, const uint8_t *data, size_t len);
void remote_fail_ask(void *arg, uint64_t ask_id);
void remote_link_put(remote_link *l);
/* An envelope of node slot delivered to the local actor `to` (a TELL or an
 * ASK: its outcome goes back), as the reader does. */
void remote_deliver(remote *r, uint32_t slot, const frame_env *e, troupe_ref to);
/* e sent back to node slot as `kind`, its fields unchanged (MOVED). */
void remote_send_back(remote *r, uint32_t slot, uint8_t kind, const frame_env *e);
/* A DOWN for ask (to, ask_id) of node slot, carrying code. */
void remote_send_fail(remote *r, uint32_t slot, uint64_t to, uint64_t ask_id, int code);
/* remote.c: the slot of a live peer named `name`, 0 if none (refreshing once
 * when unknown: refresh says whether it may). */
uint32_t remote_slot_by_name(remote *r, const char *name, bool refresh);
/* The reader's sender check: the slot of the live peer whose inbox is
 * subject with this incarnation, or 0. */
uint32_t remote_sender(remote *r, const char *subject, uint64_t incarnation);
void remote_count(_Atomic uint64_t *c);
/* remote_api.c: the counters; remote_metrics.c: their Prometheus families,
 * registered with observe at the first join of a system. */
void remote_stats(remote *r, troupe_cluster_stats *out);
int remote_metrics_register(troupe_system *sys);
/* remote_trace.c: a message as the wire sees it — its payload (v, which
 * may point into plain: use w where it lies) and, if it is boxed with a
 * sampled context that fits under max_payload, the context's 25 bytes
 * (trace, else NULL). m is unchanged: a send that fails keeps it. */
typedef struct wire_view {
    tmsg plain;
    troupe_msg v;
    uint8_t ctx[FRAME_TRACE_LEN];
    const uint8_t *trace;
} wire_view;
void remote_wire_view(const tmsg *m, uint32_t max_payload, wire_view *w);
/* m was sent: destroyed (a boxed one is not a drop). */
void remote_sent(troupe_system *sys, tmsg *m);
/* A message from the wire takes the context its envelope carried (NULL:
 * none), when it is sampled and this system traces handlers. */
void remote_rx_box(troupe_system *sys, tmsg *m, const uint8_t *trace);
/* remote_mon.c */
int remote_port_monitor(remote_port *p, troupe_system *sys, troupe_ref watcher, troupe_ref target,
                        uint64_t id);
int remote_port_demonitor(remote_port *p, troupe_system *sys, troupe_ref target, uint64_t id);
/* A DOWN of a local actor for a watcher on another node (port_send). */
int remote_down_out(remote *r, uint32_t slot, troupe_ref to, const tmsg *m);
/* The reader: a monitor service tell, and a monitor's DOWN. */
void remote_mon_serve(remote *r, const frame_env *e);
void remote_down_in(remote *r, const frame_env *e);
/* Node slot went down: its monitors' DOWNs, with a node-down reason. */
void remote_mons_down(remote *r, uint32_t slot);

#endif /* TROUPE_CLUSTER_REMOTE_INT_H */
