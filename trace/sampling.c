/* trace/sampling.c — the root's sampling decision, ParentBased(TraceIdRatio)
 * (docs/TRACING.md, "Sampling"), and the feature flag `trace.sampling`
 * that overrides the ratio at run time (docs/FLAGS.md).
 *
 * The ratio in force: the flag's value while it has one (a percentage;
 * on = 100 %, off = 0 %), else the configured ratio (troupe_trace_set_ratio).
 * A root reads the flags' generation (one relaxed load, no lock); only when
 * it moved does one thread re-read the flag, under flag_lock, so the
 * decision stays lock-free. Without migrate/ the generation never moves. */
#include <stdio.h>
#include <string.h>

#include "core/system.h"
#include "trace/trace.h"
#include "troupe/flags.h"

#define SAMPLING_FLAG "trace.sampling"

static uint64_t threshold_of(double r)
{
    return (uint64_t)(r * 18446744073709551616.0 * (r < 1.0));
}

/* The flag's value as a ratio; false when it has none (unset or cleared). */
static bool flag_ratio(troupe_system *sys, double *r)
{
    troupe_flag_info fi;
    if (troupe_flags_get(sys, SAMPLING_FLAG, &fi) != 0 || fi.source == TROUPE_FLAG_FROM_NONE)
        return false;
    if (fi.value.kind == TROUPE_FLAG_ON)
        *r = 1.0;
    else if (fi.value.kind == TROUPE_FLAG_PERCENT)
        *r = fi.value.percent / 100.0;
    else
        *r = 0.0;
    return true;
}

static void follow_flag(troupe_system *sys, tracer *t)
{
    /* relaxed: the generation is a hint that something changed; the
     * mutex orders the re-read with the other thread that may do it */
    uint64_t g = troupe_flags_generation(sys);
    if (g == atomic_load_explicit(&t->flag_gen, memory_order_relaxed))
        return;
    pthread_mutex_lock(&t->flag_lock);
    g = troupe_flags_generation(sys);
    if (g != atomic_load_explicit(&t->flag_gen, memory_order_relaxed)) {
        double r;
        bool set = flag_ratio(sys, &r);
        /* relaxed, all: hints read per root (as threshold) */
        atomic_store_explicit(&t->flag_all, set && r >= 1.0, memory_order_relaxed);
        atomic_store_explicit(&t->flag_threshold, set ? threshold_of(r) : 0, memory_order_relaxed);
        atomic_store_explicit(&t->flag_set, set, memory_order_relaxed);
        atomic_store_explicit(&t->flag_gen, g, memory_order_relaxed);
    }
    pthread_mutex_unlock(&t->flag_lock);
}

bool trace_sample_root(troupe_system *sys, tracer *t, const uint8_t id[16])
{
    follow_flag(sys, t);
    uint64_t lo;
    memcpy(&lo, id + 8, 8);
    /* relaxed, all: hints (above) */
    if (atomic_load_explicit(&t->flag_set, memory_order_relaxed))
        return atomic_load_explicit(&t->flag_all, memory_order_relaxed) ||
               lo < atomic_load_explicit(&t->flag_threshold, memory_order_relaxed);
    return atomic_load_explicit(&t->sample_all, memory_order_relaxed) ||
           lo < atomic_load_explicit(&t->threshold, memory_order_relaxed);
}

/* hooks.trace_failover: a span of its own (INTERNAL) with the takeover as
 * its event, under the thread's current span if it has a sampled one,
 * else a new root sampled as any other. */
void trace_hook_failover(troupe_system *sys, troupe_ref actor, const char *kind,
                         const char *from_node)
{
    tracer *t = sys->tr;
    /* acquire: pairs with troupe_trace_enable's release */
    if (!t || !atomic_load_explicit(&t->enabled, memory_order_acquire))
        return;
    span_rec r = {0};
    tctx cur;
    if (trace_current(&cur)) {
        memcpy(r.trace_id, cur.trace_id, 16);
        memcpy(r.parent_id, cur.span_id, 8);
        r.has_parent = 1;
    } else {
        trace_random_id(t, r.trace_id, 16);
        if (!trace_sample_root(sys, t, r.trace_id))
            return;
    }
    trace_random_id(t, r.span_id, 8);
    r.kind = SK_INTERNAL;
    r.outcome = OUT_OK;
    r.actor = actor.id;
    snprintf(r.actor_type, sizeof r.actor_type, "%s", kind ? kind : "");
    snprintf(r.name, sizeof r.name, "failover %s", kind ? kind : "actor");
    snprintf(r.from_node, sizeof r.from_node, "%s", from_node ? from_node : "");
    r.start_ns = r.end_ns = r.event_ns = trace_now_ns();
    r.has_event = 1;
    snprintf(r.event, sizeof r.event, "troupe.actor.failover");
    span_push(t, &r);
}
