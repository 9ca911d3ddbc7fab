/* migrate/info.c — what an adapter has done: the latency histograms per
 * path (sampled calls), the counters summed over the thread shards, and
 * the info and list calls the metrics and the dashboard read. */
#include <string.h>

#include "core/system.h"
#include "migrate/mig.h"

/* Bucket k holds durations up to 256 ns << k; the last one, the rest. */
int lat_bucket(uint64_t ns)
{
    if (ns <= 256)
        return 0;
    int k = 64 - __builtin_clzll((ns - 1) >> 8);
    return k < LATB - 1 ? k : LATB - 1;
}

uint64_t lat_bound(int k) { return k < LATB - 1 ? 256ull << k : UINT64_MAX; }

void lat_add(adapter *ad, int path, uint64_t ns)
{
    /* relaxed: counters, summed by readers */
    atomic_fetch_add_explicit(&ad->lat[path][lat_bucket(ns)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&ad->lat_sum[path], ns, memory_order_relaxed);
}

/* The upper bound of the bucket holding the q-th quantile (q in 0..1). */
static uint64_t quantile(const troupe_adapter_latency *l, double q)
{
    if (!l->count)
        return 0;
    uint64_t want = (uint64_t)(q * (double)l->count), seen = 0;
    for (int k = 0; k < LATB; k++) {
        seen += l->buckets[k];
        if (seen > want)
            return k < LATB - 1 ? lat_bound(k) : lat_bound(LATB - 2) * 2;
    }
    return lat_bound(LATB - 2) * 2;
}

static void lat_fill(adapter *ad, int path, troupe_adapter_latency *out)
{
    memset(out, 0, sizeof *out);
    for (int k = 0; k < LATB; k++) { /* relaxed: counters */
        out->buckets[k] = atomic_load_explicit(&ad->lat[path][k], memory_order_relaxed);
        out->count += out->buckets[k];
    }
    out->sum_ns = atomic_load_explicit(&ad->lat_sum[path], memory_order_relaxed);
    out->p50_ns = quantile(out, 0.5);
    out->p99_ns = quantile(out, 0.99);
}

static void counts_fill(adapter *ad, troupe_adapter_info *out)
{
    for (int i = 0; i < NSHARD; i++) { /* relaxed: counters */
        ashard *sh = &ad->shards[i];
        out->served_legacy += atomic_load_explicit(&sh->word, memory_order_relaxed) >> INFL_BITS;
        out->served_actor += atomic_load_explicit(&sh->served_actor, memory_order_relaxed);
        out->compared += atomic_load_explicit(&sh->compared, memory_order_relaxed);
        out->mismatches += atomic_load_explicit(&sh->mismatches, memory_order_relaxed);
        out->errors += atomic_load_explicit(&sh->errors, memory_order_relaxed);
    }
    out->switches = atomic_load_explicit(&ad->switches, memory_order_relaxed);
    out->switch_failures = atomic_load_explicit(&ad->switch_failures, memory_order_relaxed);
    uint64_t all = out->served_legacy + out->served_actor;
    out->actor_share = all ? (double)out->served_actor / (double)all : 0.0;
}

/* The caller has entered the adapter (its fields are this generation's). */
void info_fill(adapter *ad, troupe_adapter h, troupe_adapter_info *out)
{
    static const char *const copies[] = {"legacy", "both", "actor"};
    memset(out, 0, sizeof *out);
    out->handle = h;
    memcpy(out->name, ad->name, sizeof out->name);
    cmode m = mode_now(ad);
    out->mode = m.mode;
    out->percent = m.percent;
    /* acquire: pairs with switch_copies' release store */
    out->copies = copies[st_copies(atomic_load_explicit(&ad->state, memory_order_acquire))];
    counts_fill(ad, out);
    lat_fill(ad, PATH_LEGACY, &out->legacy);
    lat_fill(ad, PATH_ACTOR, &out->actor);
    pthread_mutex_lock(&ad->rec_mu);
    memcpy(out->last_mismatch, ad->last_mismatch, sizeof out->last_mismatch);
    pthread_mutex_unlock(&ad->rec_mu);
}

TROUPE_API int troupe_adapter_info_get(troupe_system *sys, troupe_adapter h,
                                       troupe_adapter_info *out)
{
    adapter *ad;
    ashard *sh;
    if (!out)
        return TROUPE_EINVAL;
    int rc = adapter_use(sys, h, &ad, &sh);
    if (rc)
        return rc;
    info_fill(ad, h, out);
    adapter_leave(sh);
    return 0;
}

/* Handles of the live adapters, under the table's lock. */
static size_t live_handles(troupe_system *sys, troupe_adapter *hs)
{
    struct migrate *m = sys->mig;
    size_t n = 0;
    pthread_mutex_lock(&m->lock);
    for (uint32_t i = 0; i < TROUPE_ADAPTERS_MAX; i++)
        if (m->used[i])
            hs[n++] = (troupe_adapter){(uint64_t)m->gens[i] << 32 | (i + 1)};
    pthread_mutex_unlock(&m->lock);
    return n;
}

TROUPE_API int troupe_adapter_list(troupe_system *sys, troupe_adapter_info *out, size_t cap,
                                   size_t *total)
{
    if (!sys || !total || (!out && cap > 0))
        return TROUPE_EINVAL;
    troupe_adapter hs[TROUPE_ADAPTERS_MAX];
    size_t n = live_handles(sys, hs), k = 0;
    for (size_t i = 0; i < n; i++) {
        troupe_adapter_info tmp;
        troupe_adapter_info *dst = k < cap ? &out[k] : &tmp;
        if (troupe_adapter_info_get(sys, hs[i], dst) == 0) /* else destroyed meanwhile */
            k++;
    }
    *total = k;
    return 0;
}
