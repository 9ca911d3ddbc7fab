/* migrate/shadow.c — the paths of one call: legacy (the implementation
 * under the object's lock), actor (an ask), and both (shadow, and canary's
 * writes): the legacy implementation, then the ask while the lock is still
 * held — so the actor receives the calls in the order the object saw them —
 * then the comparison and, on a difference, the report. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/system.h"
#include "migrate/mig.h"
#include "troupe/async.h"

#define SMALL 256 /* results up to this size live on the stack */

/* An ask that failed inside a call served otherwise (shadow's actor half). */
static void count_error(adapter *ad)
{
    /* relaxed: a counter */
    atomic_fetch_add_explicit(&adapter_shard(ad)->errors, 1, memory_order_relaxed);
}

static void lock_op(adapter *ad, const troupe_adapter_op *op)
{
    if (op->access == TROUPE_ADAPTER_WRITE)
        pthread_rwlock_wrlock(ad->lock);
    else
        pthread_rwlock_rdlock(ad->lock);
}

static void put_result(const acall *c, const void *data, size_t n)
{
    if (c->cap)
        memcpy(c->res, data, n < c->cap ? n : c->cap);
    if (c->res_len)
        *c->res_len = n;
}

int path_legacy(adapter *ad, acall *c, bool timed)
{
    const troupe_adapter_op *op = &ad->def->ops[c->op];
    uint64_t t0 = timed ? mono_ns() : 0;
    size_t n = 0;
    lock_op(ad, op);
    int rc = op->legacy(ad->cfg.obj, c->arg, c->len, c->res, c->cap, &n);
    pthread_rwlock_unlock(ad->lock);
    if (timed)
        lat_add(ad, PATH_LEGACY, mono_ns() - t0);
    if (c->res_len)
        *c->res_len = n;
    c->served = PATH_LEGACY;
    return rc;
}

typedef int (*send_fn)(troupe_system *sys, troupe_ref to, uint32_t type, const void *data,
                       size_t len, uint64_t timeout_ns, uint32_t *reply_type, void *reply_buf,
                       size_t reply_cap, size_t *reply_len);

/* The ask of an op: the reply is the code (int32) then the result. 0 and
 * *rc, *len set; or the ask's own error. */
static int send_op(adapter *ad, const troupe_adapter_op *op, const acall *c, void *buf, size_t cap,
                   size_t *len, int *rc, send_fn send)
{
    char small[sizeof(int32_t) + SMALL];
    char *rb = cap <= SMALL ? small : sys_malloc(sizeof(int32_t) + cap);
    if (!rb)
        return TROUPE_ENOMEM;
    size_t n = 0;
    int r = send(ad->sys, ad->cfg.actor, op->msg_type, c->arg, c->len, ad->cfg.timeout_ns, NULL,
                 rb, sizeof(int32_t) + cap, &n);
    if (r == TROUPE_ETRUNC) /* the adapter's own contract: res_cap bytes, *res_len the size */
        r = 0;
    if (r == 0 && n < sizeof(int32_t))
        r = TROUPE_EINVAL; /* the actor did not answer through troupe_adapter_serve */
    if (r == 0) {
        int32_t code;
        memcpy(&code, rb, sizeof code);
        *rc = code;
        *len = n - sizeof(int32_t);
        memcpy(buf, rb + sizeof(int32_t), *len < cap ? *len : cap);
    }
    if (rb != small)
        free(rb);
    return r;
}

int ask_op(adapter *ad, const troupe_adapter_op *op, const acall *c, void *buf, size_t cap,
           size_t *len, int *rc)
{
    return send_op(ad, op, c, buf, cap, len, rc, troupe_ask);
}

/* The same through troupe_call: actor mode, where no lock is held and the
 * calling thread may run the handler itself. */
static int call_op(adapter *ad, const troupe_adapter_op *op, const acall *c, void *buf,
                   size_t cap, size_t *len, int *rc)
{
    return send_op(ad, op, c, buf, cap, len, rc, troupe_call);
}

typedef struct vread {
    const troupe_adapter_op *op;
    const acall *c;
    size_t n;
    int rc;
} vread;

static void read_view(const void *view, void *ud)
{
    vread *v = ud;
    v->rc = v->op->view(view, v->c->arg, v->c->len, v->c->res, v->c->cap, &v->n);
}

/* A READ op from the actor's view: 0 and *rc, *len set; or TROUPE_ENOTFOUND
 * (no view published: the caller goes through troupe_call). */
static int view_op(adapter *ad, const troupe_adapter_op *op, const acall *c, size_t *len, int *rc)
{
    vread v = {op, c, 0, 0};
    int r = troupe_view_read(ad->sys, ad->cfg.actor, read_view, &v);
    if (r == 0)
        *rc = v.rc, *len = v.n;
    return r;
}

int path_actor(adapter *ad, acall *c, bool timed)
{
    const troupe_adapter_op *op = &ad->def->ops[c->op];
    uint64_t t0 = timed ? mono_ns() : 0;
    size_t n = 0;
    int rc = 0, r = TROUPE_ENOTFOUND;
    if (op->view)
        r = view_op(ad, op, c, &n, &rc);
    if (r == TROUPE_ENOTFOUND)
        r = call_op(ad, op, c, c->res, c->cap, &n, &rc);
    if (timed)
        lat_add(ad, PATH_ACTOR, mono_ns() - t0);
    if (r) {
        c->served = -1;
        return r;
    }
    if (c->res_len)
        *c->res_len = n;
    c->served = PATH_ACTOR;
    return rc;
}

/* ---- comparing and reporting ------------------------------------------------------- */

static bool differ(const troupe_adapter_op *op, const troupe_adapter_result *l,
                   const troupe_adapter_result *a)
{
    if (op->compare)
        return op->compare(l, a) != 0;
    return l->rc != a->rc || l->len != a->len || (l->len && memcmp(l->data, a->data, l->len));
}

static void format(const troupe_adapter_op *op, const troupe_adapter_result *r, char *buf,
                   size_t cap)
{
    if (op->format) {
        op->format(r, buf, cap);
        buf[cap - 1] = '\0';
        return;
    }
    int o = snprintf(buf, cap, "rc=%d len=%zu", r->rc, r->len);
    for (size_t i = 0; i < r->len && i < 16 && o > 0 && (size_t)o + 3 < cap; i++)
        o += snprintf(buf + o, cap - (size_t)o, "%s%02x", i ? "" : " data=",
                      ((const unsigned char *)r->data)[i]);
}

static void report(adapter *ad, const acall *c, const troupe_adapter_result *l,
                   const troupe_adapter_result *a)
{
    const troupe_adapter_op *op = &ad->def->ops[c->op];
    char lt[96], at[96], text[320];
    format(op, l, lt, sizeof lt);
    format(op, a, at, sizeof at);
    snprintf(text, sizeof text, "adapter %s: %s key %llu: legacy %s, actor %s", ad->name,
             op->name, (unsigned long long)c->key, lt, at);
    troupe_adapter_mismatch m = {ad->name, op->name, c->op, c->key, *l, *a, text};
    pthread_mutex_lock(&ad->rec_mu);
    size_t n = strlen(text) < sizeof ad->last_mismatch - 1 ? strlen(text) : sizeof ad->last_mismatch - 1;
    memcpy(ad->last_mismatch, text, n);
    ad->last_mismatch[n] = '\0';
    bool log = !ad->cfg.on_mismatch && ad->logged++ < 100;
    pthread_mutex_unlock(&ad->rec_mu);
    if (ad->cfg.on_mismatch)
        ad->cfg.on_mismatch(&m, ad->cfg.on_mismatch_ud);
    else if (log)
        fprintf(stderr, "troupe: mismatch: %s\n", text);
}

/* Compare, count, report; returns whether they differ. */
static bool judge(adapter *ad, const acall *c, const troupe_adapter_result *l,
                  const troupe_adapter_result *a)
{
    ashard *sh = adapter_shard(ad);
    atomic_fetch_add_explicit(&sh->compared, 1, memory_order_relaxed); /* relaxed: a counter */
    if (!differ(&ad->def->ops[c->op], l, a))
        return false;
    atomic_fetch_add_explicit(&sh->mismatches, 1, memory_order_relaxed); /* relaxed: a counter */
    report(ad, c, l, a);
    return true;
}

/* ---- both ------------------------------------------------------------------------------ */

/* Legacy then actor under the lock; times in ns[0] (legacy, lock wait
 * included) and ns[1] (the ask). The ask's own error becomes the actor's rc. */
static int both_under_lock(adapter *ad, const acall *c, troupe_adapter_result *l,
                           troupe_adapter_result *a, void *lb, void *ab, uint64_t ns[2])
{
    const troupe_adapter_op *op = &ad->def->ops[c->op];
    uint64_t t0 = mono_ns();
    lock_op(ad, op);
    l->rc = op->legacy(ad->cfg.obj, c->arg, c->len, lb, op->result_max, &l->len);
    uint64_t t1 = mono_ns();
    int r = ask_op(ad, op, c, ab, op->result_max, &a->len, &a->rc);
    pthread_rwlock_unlock(ad->lock);
    ns[0] = t1 - t0, ns[1] = mono_ns() - t1;
    if (r) {
        a->rc = r, a->len = 0;
        count_error(ad);
    }
    l->data = lb, a->data = ab;
    l->len = l->len < op->result_max ? l->len : op->result_max;
    a->len = a->len < op->result_max ? a->len : op->result_max;
    return r;
}

int path_both(adapter *ad, acall *c, bool serve_actor, bool timed, bothout *out)
{
    size_t cap = ad->def->ops[c->op].result_max;
    char ls[SMALL], as[SMALL];
    void *lb = cap <= SMALL ? ls : sys_malloc(cap), *ab = cap <= SMALL ? as : sys_malloc(cap);
    int rc = TROUPE_ENOMEM;
    if (lb && ab) {
        troupe_adapter_result l = {0}, a = {0};
        uint64_t t[2];
        int asked = both_under_lock(ad, c, &l, &a, lb, ab, t);
        bool diff = judge(ad, c, &l, &a);
        bool actor = serve_actor && asked == 0; /* else the caller gets what the object did */
        const troupe_adapter_result *s = actor ? &a : &l;
        put_result(c, s->data, s->len);
        c->served = actor ? PATH_ACTOR : PATH_LEGACY;
        if (timed)
            lat_add(ad, PATH_LEGACY, t[0]), lat_add(ad, PATH_ACTOR, t[1]);
        if (out)
            *out = (bothout){{t[0], t[1]}, diff, a.rc};
        rc = s->rc;
    }
    if (lb != ls)
        free(lb);
    if (ab != as)
        free(ab);
    return rc;
}
