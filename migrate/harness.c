/* migrate/harness.c — the adapter testing harness: traces of calls, built
 * by hand or recorded from live calls, and their replay through both paths
 * of an adapter with the results compared and each path timed. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/system.h"
#include "migrate/mig.h"

typedef struct tcall {
    uint32_t op;
    uint64_t key;
    size_t off, len; /* the argument, in the trace's data */
} tcall;

struct troupe_adapter_trace {
    tcall *calls;
    size_t n, cap;
    unsigned char *data;
    size_t used, room;
};

TROUPE_API int troupe_adapter_trace_create(troupe_adapter_trace **out)
{
    if (!out)
        return TROUPE_EINVAL;
    *out = sys_calloc(1, sizeof **out);
    return *out ? 0 : TROUPE_ENOMEM;
}

TROUPE_API void troupe_adapter_trace_destroy(troupe_adapter_trace *t)
{
    if (!t)
        return;
    free(t->calls);
    free(t->data);
    free(t);
}

TROUPE_API int troupe_adapter_trace_add(troupe_adapter_trace *t, uint32_t op, uint64_t key,
                                        const void *arg, size_t arg_len)
{
    if (!t || (!arg && arg_len) || arg_len > TROUPE_COPY_MAX)
        return TROUPE_EINVAL;
    if (tr_grow((void **)&t->calls, &t->cap, t->n + 1, sizeof *t->calls, 16) ||
        tr_grow((void **)&t->data, &t->room, t->used + arg_len, 1, 16))
        return TROUPE_ENOMEM;
    if (arg_len)
        memcpy(t->data + t->used, arg, arg_len);
    t->calls[t->n++] = (tcall){op, key, t->used, arg_len};
    t->used += arg_len;
    return 0;
}

TROUPE_API size_t troupe_adapter_trace_length(const troupe_adapter_trace *t)
{
    return t ? t->n : 0;
}

/* ---- recording ----------------------------------------------------------------------- */

void trace_record(adapter *ad, const acall *c)
{
    pthread_mutex_lock(&ad->rec_mu);
    /* relaxed: under rec_mu, which troupe_adapter_record holds to change it */
    troupe_adapter_trace *t = atomic_load_explicit(&ad->rec, memory_order_relaxed);
    if (t && troupe_adapter_trace_add(t, c->op, c->key, c->arg, c->len) < 0)
        fprintf(stderr, "troupe: adapter %s: a recorded call was lost (out of memory)\n", ad->name);
    pthread_mutex_unlock(&ad->rec_mu);
}

TROUPE_API int troupe_adapter_record(troupe_system *sys, troupe_adapter h, troupe_adapter_trace *t)
{
    adapter *ad;
    ashard *sh;
    int rc = adapter_use(sys, h, &ad, &sh);
    if (rc)
        return rc;
    pthread_mutex_lock(&ad->rec_mu);
    troupe_adapter_trace *cur = atomic_load_explicit(&ad->rec, memory_order_relaxed); /* under rec_mu */
    if (t && cur && cur != t)
        rc = TROUPE_EBUSY;
    else /* relaxed: callers re-read it under rec_mu */
        atomic_store_explicit(&ad->rec, t, memory_order_relaxed);
    pthread_mutex_unlock(&ad->rec_mu);
    adapter_leave(sh);
    return rc;
}

/* ---- replaying ------------------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void percentiles(uint64_t *v, size_t n, uint64_t *p50, uint64_t *p99)
{
    qsort(v, n, sizeof *v, cmp_u64);
    *p50 = n ? v[n / 2] : 0;
    *p99 = n ? v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] : 0;
}

/* Copies kept: both, switching if needed (the replay holds `forced`). */
static int hold_both(adapter *ad, uint32_t gen, ashard *sh)
{
    for (;;) {
        uint64_t s;
        int rc = adapter_enter(ad, gen, sh, &s);
        if (rc || st_copies(s) == COPIES_BOTH)
            return rc; /* entered: the replay runs inside this call */
        adapter_leave(sh);
        if ((rc = switch_copies(ad, s, COPIES_BOTH)))
            return rc;
    }
}

static void replay_one(adapter *ad, const troupe_adapter_trace *t, size_t i,
                       troupe_replay_report *r, uint64_t *ln, uint64_t *an)
{
    const tcall *tc = &t->calls[i];
    size_t cap = ad->def->ops[tc->op].result_max, len = 0;
    char small[256];
    void *res = cap <= sizeof small ? small : sys_malloc(cap);
    acall c = {tc->op, tc->key, t->data + tc->off, tc->len, res, res ? cap : 0, &len, -1};
    bothout o = {{0, 0}, false, 0};
    int rc = path_both(ad, &c, false, false, &o);
    if (res != small)
        free(res);
    ln[i] = o.ns[0], an[i] = o.ns[1];
    r->legacy_ns += o.ns[0], r->actor_ns += o.ns[1];
    r->legacy_errors += rc < 0;
    r->actor_errors += o.actor_rc < 0;
    if (o.mismatch && r->mismatches++ == 0)
        r->first_mismatch = i;
}

static int replay_all(adapter *ad, const troupe_adapter_trace *t, troupe_replay_report *r)
{
    uint64_t *ln = sys_calloc(t->n + 1, sizeof *ln), *an = sys_calloc(t->n + 1, sizeof *an);
    int rc = ln && an ? 0 : TROUPE_ENOMEM;
    for (size_t i = 0; rc == 0 && i < t->n; i++)
        replay_one(ad, t, i, r, ln, an);
    if (rc == 0) {
        r->calls = t->n;
        percentiles(ln, t->n, &r->legacy_p50_ns, &r->legacy_p99_ns);
        percentiles(an, t->n, &r->actor_p50_ns, &r->actor_p99_ns);
    }
    free(ln);
    free(an);
    return rc;
}

TROUPE_API int troupe_adapter_replay(troupe_system *sys, troupe_adapter h,
                                     const troupe_adapter_trace *t, troupe_replay_report *out)
{
    uint32_t gen;
    if (!sys || !t || !out)
        return TROUPE_EINVAL;
    if (troupei_tls.ctx)
        return TROUPE_ESTATE;
    adapter *ad = adapter_at(sys, h, &gen);
    if (!ad)
        return TROUPE_ENOTFOUND;
    ashard *sh = adapter_shard(ad);
    atomic_fetch_add_explicit(&ad->forced, 1, memory_order_relaxed); /* relaxed: see mode_now */
    int rc = hold_both(ad, gen, sh);
    if (rc == 0) {
        *out = (troupe_replay_report){.first_mismatch = UINT64_MAX};
        for (size_t i = 0; i < t->n && rc == 0; i++)
            if (t->calls[i].op >= ad->def->nops)
                rc = TROUPE_EINVAL;
        if (rc == 0)
            rc = replay_all(ad, t, out);
        adapter_leave(sh);
    }
    atomic_fetch_sub_explicit(&ad->forced, 1, memory_order_relaxed); /* relaxed: see mode_now */
    return rc;
}
