/* cluster/remote_rx.c — the reader: frames from the node's inbox decoded
 * (cluster/frame.c) and their envelopes delivered into local actors, on
 * the NATS delivery thread.
 *
 *  TELL   a plain thread's send whose sender is the remote ref
 *         (send_from_remote: BLOCK does not wait, it refuses)
 *  ASK    the same, as an ask of a local proxy record (AM_CB): its
 *         outcome — the reply, or the target's end or failure — goes back
 *         to the asker's node as a REPLY, or a DOWN carrying the code
 *  REPLY  completes the local ask it names, if it was outstanding there
 *  DOWN   with an ask id: fails that ask with the code it carries
 * A frame whose sender is not the live incarnation of a known node is
 * dropped and counted (stale_frames). */
#include <stdlib.h>
#include <string.h>

#include "cluster/remote_int.h"
#include "core/alloc.h"
#include "core/ask.h"
#include "troupe/registry.h"

/* Set while this thread (NATS's delivery thread) handles a frame: an
 * ask's reply made here is published at once (transport_send_now), with
 * no hand-off to the flusher. */
static TROUPE_TLS bool in_reader;

typedef struct rx {
    remote *r;
    uint32_t slot; /* the sender's */
} rx;

/* A remote ask's proxy: where its outcome goes. */
typedef struct proxy {
    remote_link *link;
    uint32_t slot;
    uint64_t asker; /* wire form */
    uint64_t ask_id; /* the asker's record */
} proxy;

void remote_link_put(remote_link *l)
{
    pthread_mutex_lock(&l->mu);
    bool last = --l->refs == 0;
    pthread_mutex_unlock(&l->mu);
    if (last) {
        pthread_mutex_destroy(&l->mu);
        free(l);
    }
}

static void send_back(remote *r, uint32_t slot, uint8_t kind, uint64_t to, uint64_t ask_id,
                      uint64_t from, uint32_t type, const void *data, size_t len)
{
    frame_env e = {.kind = kind, .type = type, .from = from, .to = to, .ask_id = ask_id,
                   .len = (uint32_t)len, .payload = data};
    if ((in_reader ? transport_send_now(r->t, slot, &e) : transport_send(r->t, slot, &e)) != 0)
        remote_count(&r->deliver_failed); /* the asker times out */
}

static void send_fail(remote *r, uint32_t slot, uint64_t to, uint64_t ask_id, int code)
{
    int32_t c = code;
    uint8_t b[4] = {(uint8_t)c, (uint8_t)(c >> 8), (uint8_t)(c >> 16), (uint8_t)(c >> 24)};
    send_back(r, slot, FRAME_DOWN, to, ask_id, 0, 0, b, sizeof b);
}

/* The proxy's outcome (troupe_call_fn), on whichever thread completed it. */
static void proxy_done(void *ud, int rc, uint32_t type, const void *data, size_t len)
{
    proxy *p = ud;
    pthread_mutex_lock(&p->link->mu);
    remote *r = p->link->r; /* held: close waits for us before it goes */
    if (r && rc == 0)
        send_back(r, p->slot, FRAME_REPLY, p->asker, p->ask_id, 0, type, data, len);
    else if (r && rc != TROUPE_ETIMEDOUT) /* a timeout: the asker has its own */
        send_fail(r, p->slot, p->asker, p->ask_id, rc);
    pthread_mutex_unlock(&p->link->mu);
    remote_link_put(p->link);
    free(p);
}

static proxy *proxy_new(remote *r, uint32_t slot, const frame_env *e)
{
    proxy *p = sys_malloc(sizeof *p);
    if (!p)
        return NULL;
    *p = (proxy){.link = r->link, .slot = slot, .asker = e->from, .ask_id = e->ask_id};
    pthread_mutex_lock(&r->link->mu);
    r->link->refs++;
    pthread_mutex_unlock(&r->link->mu);
    return p;
}

/* A local proxy record for the remote ask, armed with REMOTE_PROXY_TTL_NS
 * so that an ask never answered does not live forever. */
static int proxy_record(remote *r, uint32_t slot, const frame_env *e, uint64_t *id)
{
    proxy *p = proxy_new(r, slot, e);
    ask_rec *rec;
    if (!p || ask_new(r->sys, AM_CB, &rec, id)) {
        if (p) {
            remote_link_put(p->link);
            free(p);
        }
        return TROUPE_ENOMEM;
    }
    rec->fn = proxy_done; /* before the request is sent: it publishes them */
    rec->ud = p;
    if (ask_arm(r->sys, rec, *id, REMOTE_PROXY_TTL_NS)) {
        ask_free(r->sys, rec, *id);
        remote_link_put(p->link);
        free(p);
        return TROUPE_ENOMEM;
    }
    return 0;
}

static void deliver(rx *x, const frame_env *e, troupe_ref to)
{
    remote *r = x->r;
    bool ask = e->kind == FRAME_ASK && e->ask_id;
    tmsg m;
    uint64_t id = 0;
    if (tmsg_copy(r->sys, &m, e->type, e->payload, e->len) != 0) {
        remote_count(&r->deliver_failed);
        if (ask)
            send_fail(r, x->slot, e->from, e->ask_id, TROUPE_ENOMEM);
        return;
    }
    if (ask && proxy_record(r, x->slot, e, &id)) {
        tmsg_destroy(r->sys, &m);
        send_fail(r, x->slot, e->from, e->ask_id, TROUPE_ENOMEM);
        return;
    }
    m.sender = remote_ref_flip(r, e->from);
    if (e->kind == FRAME_ASK) {
        m.flags_size |= MF_ASK;
        m.corr = id;
    }
    remote_rx_box(r->sys, &m, e->trace); /* the handler's span: a child of the sender's */
    /* an ask runs its receiver here if idle: its reply leaves at once */
    int rc = id ? call_send_remote(r->sys, to, &m) : send_from_remote(r->sys, to, &m);
    if (rc == 0)
        return;
    if (rc != TROUPE_EFAILED) /* EFAILED: handled, and the handler failed */
        tmsg_destroy(r->sys, &m);
    remote_count(&r->deliver_failed);
    ask_rec *rec = id ? ask_lookup(r->sys, id) : NULL;
    if (ask_claim(rec, id)) /* not sent: the proxy answers the asker now */
        ask_finish(r->sys, rec, id, rc, NULL, false);
}

/* The node's own service (index 0 of its refs): a name lookup. */
static void serve(rx *x, const frame_env *e)
{
    remote *r = x->r;
    char name[256];
    if (e->kind == FRAME_TELL && (e->type == REMOTE_SVC_MONITOR || e->type == REMOTE_SVC_DEMONITOR)) {
        remote_mon_serve(r, e);
        return;
    }
    if (e->kind != FRAME_ASK || e->type != REMOTE_SVC_LOOKUP || e->len == 0 ||
        e->len >= sizeof name) {
        remote_count(&r->bad_refs);
        if (e->kind == FRAME_ASK)
            send_fail(r, x->slot, e->from, e->ask_id, TROUPE_EINVAL);
        return;
    }
    memcpy(name, e->payload, e->len);
    name[e->len] = 0;
    troupe_ref ref;
    int rc = troupe_whereis(r->sys, name, &ref);
    if (rc) {
        send_fail(r, x->slot, e->from, e->ask_id, rc);
        return;
    }
    uint64_t w = remote_ref_flip(r, ref.id);
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(w >> (8 * i));
    send_back(r, x->slot, FRAME_REPLY, e->from, e->ask_id, 0, 0, b, sizeof b);
}

static void complete(rx *x, const frame_env *e, int rc)
{
    remote *r = x->r;
    if (!transport_answered(r->t, x->slot, e->ask_id)) {
        remote_count(&r->late_replies); /* not outstanding there: late or forged */
        return;
    }
    ask_rec *rec = ask_lookup(r->sys, e->ask_id);
    tmsg m = {0};
    if (rc == 0 && (rc = tmsg_copy(r->sys, &m, e->type, e->payload, e->len)) != 0)
        m = (tmsg){0};
    if (!ask_claim(rec, e->ask_id)) {
        tmsg_destroy(r->sys, &m);
        remote_count(&r->late_replies);
        return;
    }
    m.sender = remote_ref_flip(r, e->from);
    ask_finish(r->sys, rec, e->ask_id, rc, rc == 0 ? &m : NULL, false);
}

static int down_code(const frame_env *e)
{
    if (e->len != 4)
        return TROUPE_ENOACTOR;
    const uint8_t *b = e->payload;
    int32_t c = (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                          (uint32_t)b[3] << 24);
    return c < 0 && c > -1000 ? c : TROUPE_ENOACTOR;
}

void remote_deliver(remote *r, uint32_t slot, const frame_env *e, troupe_ref to)
{
    rx x = {.r = r, .slot = slot};
    deliver(&x, e, to);
}

void remote_send_back(remote *r, uint32_t slot, uint8_t kind, const frame_env *e)
{
    send_back(r, slot, kind, e->to, e->ask_id, e->from, e->type, e->payload, e->len);
}

void remote_send_fail(remote *r, uint32_t slot, uint64_t to, uint64_t ask_id, int code)
{
    send_fail(r, slot, to, ask_id, code);
}

static void on_env(void *arg, const frame_env *e)
{
    rx *x = arg;
    remote *r = x->r;
    if (e->kind == FRAME_CSEND || e->kind == FRAME_MOVED) { /* cluster actors: cref_rx.c */
        if (e->kind == FRAME_CSEND)
            cref_serve(r, x->slot, e);
        else
            crefs_moved(r->crefs, x->slot, e);
        return;
    }
    if (e->kind == FRAME_REPLY || e->kind == FRAME_DOWN) {
        remote_count(e->kind == FRAME_REPLY ? &r->replies_in : &r->downs_in);
        if (e->ask_id)
            complete(x, e, e->kind == FRAME_REPLY ? 0 : down_code(e));
        else if (e->kind == FRAME_DOWN)
            remote_down_in(r, e); /* a monitor's */
        return;
    }
    remote_count(e->kind == FRAME_ASK ? &r->asks_in : &r->msgs_in);
    troupe_ref to = {remote_ref_flip(r, e->to)};
    if ((e->to >> REF_TAG_SHIFT) != r->my_slot || e->type >= TROUPE_MSG_SYSTEM) {
        remote_count(&r->bad_refs); /* not ours, or a type no sender may use */
        if (e->kind == FRAME_ASK && e->ask_id)
            send_fail(r, x->slot, e->from, e->ask_id, TROUPE_ENOACTOR);
        return;
    }
    if ((uint32_t)e->to == 0 && ((e->to >> 32) & GEN_MASK) == 0)
        serve(x, e);
    else
        deliver(x, e, to);
}

static uint64_t header_incarnation(const uint8_t *d, size_t n, bool *ok)
{
    *ok = n >= FRAME_HDR && d[0] == 'T' && d[1] == 'R' && d[2] == 'P' && d[3] == 'F';
    uint64_t v = 0;
    for (int i = 7; *ok && i >= 0; i--)
        v = v << 8 | d[8 + i];
    return v;
}

void remote_on_frame(void *arg, const char *from_subject, const uint8_t *data, size_t len)
{
    remote *r = arg;
    transport_count_in(r->t, len);
    bool ok;
    uint64_t inc = header_incarnation(data, len, &ok);
    rx x = {.r = r, .slot = ok ? remote_sender(r, from_subject, inc) : 0};
    if (ok && x.slot == 0) { /* a node that left, an old incarnation, a stranger */
        remote_count(&r->stale_frames);
        return;
    }
    frame_stats st = {0};
    uint64_t got;
    in_reader = true;
    frame_decode(data, len, transport_max_payload(r->t), on_env, &x, &got, &st);
    in_reader = false;
    pthread_mutex_lock(&r->mu);
    r->fst.frames += st.frames;
    r->fst.envelopes += st.envelopes;
    r->fst.bad_header += st.bad_header;
    r->fst.bad_version += st.bad_version;
    r->fst.truncated += st.truncated;
    r->fst.oversized += st.oversized;
    r->fst.bad_envelope += st.bad_envelope;
    r->fst.trailing += st.trailing;
    pthread_mutex_unlock(&r->mu);
}
