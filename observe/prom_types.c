/* observe/prom_types.c — the metrics by actor type and by name.
 *
 * By type: the live actors' counters (a walk of the actor table) plus the
 * ended ones' (fold.c), grouped by behaviour name. An actor that ends while
 * we walk may be counted twice or not at all in this one reading; the last
 * exported value of each counter is kept and never undercut, so a counter
 * never goes down (an over-count is absorbed by the next readings).
 */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "observe/prom.h"

typedef struct trow {
    const char *name;
    uint64_t c[TC_N];
    uint64_t depth, cap, actors;
    double fill_max;
} trow;

typedef struct tset {
    trow *v;
    uint32_t n, cap;
} tset;

static trow *tset_get(tset *t, const char *name)
{
    for (uint32_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].name, name) == 0)
            return &t->v[i];
    if (tr_grow32((void **)&t->v, &t->cap, (size_t)t->n + 1, sizeof *t->v, 16))
        return NULL;
    memset(&t->v[t->n], 0, sizeof *t->v);
    t->v[t->n].name = name;
    return &t->v[t->n++];
}

static const char *beh_name(const troupe_behaviour *b) { return b->name ? b->name : ""; }

/* Live actors of every type into t. */
static int walk_live(troupe_system *sys, tset *t)
{
    uint32_t high = table_high(&sys->actors);
    for (uint32_t i = 1; i <= high; i++) {
        actor *a = table_get(&sys->actors, i);
        uint64_t ref;
        const troupe_behaviour *b = a ? obs_live_beh(sys, a, &ref) : NULL;
        if (!b || obs_runtime_beh(b))
            continue;
        trow *r = tset_get(t, beh_name(b));
        if (!r)
            return TROUPE_ENOMEM;
        uint64_t c[TC_N];
        obs_read_counters(a, c);
        for (int k = 0; k < TC_N; k++)
            r->c[k] += c[k];
        uint32_t depth = mb_depth(&a->mb) + mb_parked_now(&a->mb), cap = mb_cap(&a->mb);
        r->depth += depth;
        r->cap += cap;
        r->actors++;
        double fill = cap ? (double)depth / cap : 0;
        if (fill > r->fill_max)
            r->fill_max = fill > 1 ? 1 : fill;
    }
    return 0;
}

static int add_ended(troupe_system *sys, tset *t)
{
    type_row *rows = NULL;
    uint32_t n = 0, cap = 0;
    int rc = obs_sum_shards(sys, &rows, &n, &cap);
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        if (obs_runtime_beh(rows[i].beh))
            continue;
        trow *r = tset_get(t, beh_name(rows[i].beh));
        if (!r)
            rc = TROUPE_ENOMEM;
        else
            for (int k = 0; k < TC_N; k++)
                r->c[k] += rows[i].c[k];
    }
    free(rows);
    return rc;
}

static last_row *last_get(obs *o, const char *name)
{
    for (uint32_t k = 0; k < o->nlast; k++)
        if (strcmp(o->last[k].name, name) == 0)
            return &o->last[k];
    if (tr_grow32((void **)&o->last, &o->caplast, (size_t)o->nlast + 1, sizeof *o->last, 16))
        return NULL;
    last_row *l = &o->last[o->nlast];
    memset(l, 0, sizeof *l);
    if (!(l->name = sys_strdup(name)))
        return NULL;
    o->nlast++;
    return l;
}

/* Never below what was exported last (see the top of this file). */
static int clamp(obs *o, tset *t)
{
    for (uint32_t i = 0; i < t->n; i++) {
        last_row *last = last_get(o, t->v[i].name);
        if (!last)
            return TROUPE_ENOMEM;
        for (int k = 0; k < TC_N; k++) {
            if (t->v[i].c[k] < last->c[k])
                t->v[i].c[k] = last->c[k];
            last->c[k] = t->v[i].c[k];
        }
    }
    return 0;
}

static int cmp_trow(const void *a, const void *b)
{
    return strcmp(((const trow *)a)->name, ((const trow *)b)->name);
}

static const struct {
    const char *name, *help;
} counters[TC_N] = {
    {"troupe_messages_sent_total", "Messages accepted into mailboxes of the type."},
    {"troupe_messages_handled_total", "Messages whose handler ran."},
    {"troupe_messages_dropped_total", "Messages destroyed by DROP_NEWEST or DROP_OLDEST."},
    {"troupe_messages_rejected_total", "Messages refused with TROUPE_EFULL."},
    {"troupe_messages_redirected_total", "Messages forwarded by REDIRECT."},
};

static void write_types(pw *p, const tset *t)
{
    for (int k = 0; k < TC_N; k++) {
        pw_head(p, counters[k].name, "counter", counters[k].help);
        for (uint32_t i = 0; i < t->n; i++)
            pw_sample1(p, counters[k].name, "type", t->v[i].name, (double)t->v[i].c[k]);
    }
    pw_head(p, "troupe_mailbox_depth", "gauge", "Messages queued now, over live actors.");
    for (uint32_t i = 0; i < t->n; i++)
        pw_sample1(p, "troupe_mailbox_depth", "type", t->v[i].name, (double)t->v[i].depth);
    pw_head(p, "troupe_mailbox_capacity", "gauge", "Mailbox bounds, over live actors.");
    for (uint32_t i = 0; i < t->n; i++)
        pw_sample1(p, "troupe_mailbox_capacity", "type", t->v[i].name, (double)t->v[i].cap);
    pw_head(p, "troupe_mailbox_fill_ratio_max", "gauge", "The fullest live mailbox: depth/capacity.");
    for (uint32_t i = 0; i < t->n; i++)
        pw_sample1(p, "troupe_mailbox_fill_ratio_max", "type", t->v[i].name, t->v[i].fill_max);
    pw_head(p, "troupe_actors", "gauge", "Live actors of the type.");
    for (uint32_t i = 0; i < t->n; i++)
        pw_sample1(p, "troupe_actors", "type", t->v[i].name, (double)t->v[i].actors);
}

int prom_types(pw *p, troupe_system *sys)
{
    tset t = {0};
    int rc = walk_live(sys, &t);
    if (rc == 0 && TROUPE_METRICS)
        rc = add_ended(sys, &t);
    if (rc == 0)
        rc = clamp(sys->obs, &t);
    if (rc == 0) {
        if (t.n)
            qsort(t.v, t.n, sizeof *t.v, cmp_trow);
        write_types(p, &t);
    }
    free(t.v);
    return rc;
}

static const char *const named_counters[TC_N] = {
    "troupe_actor_messages_sent_total", "troupe_actor_messages_handled_total",
    "troupe_actor_messages_dropped_total", "troupe_actor_messages_rejected_total",
    "troupe_actor_messages_redirected_total"};

static void named_labels(pw *p, const char *metric, const troupe_actor_info *ai)
{
    pw_printf(p, "%s{name=\"", metric);
    pw_label(p, ai->name);
    pw_put(p, "\",type=\"", 8);
    pw_label(p, ai->type);
    pw_put(p, "\"} ", 3);
}

static void write_named(pw *p, const troupe_actor_info *v, size_t n)
{
    for (int k = 0; k < TC_N; k++) {
        pw_head(p, named_counters[k], "counter", "Per named actor (this incarnation).");
        for (size_t i = 0; i < n; i++) {
            const troupe_mailbox_stats *m = &v[i].mailbox;
            uint64_t c[TC_N] = {m->accepted, m->handled, m->dropped, m->rejected, m->redirected};
            named_labels(p, named_counters[k], &v[i]);
            pw_printf(p, "%llu\n", (unsigned long long)c[k]);
        }
    }
    pw_head(p, "troupe_actor_mailbox_depth", "gauge", "Per named actor: messages queued.");
    for (size_t i = 0; i < n; i++) {
        named_labels(p, "troupe_actor_mailbox_depth", &v[i]);
        pw_printf(p, "%u\n", v[i].mailbox.depth);
    }
    pw_head(p, "troupe_actor_mailbox_capacity", "gauge", "Per named actor: mailbox bound.");
    for (size_t i = 0; i < n; i++) {
        named_labels(p, "troupe_actor_mailbox_capacity", &v[i]);
        pw_printf(p, "%u\n", v[i].mailbox.capacity);
    }
    pw_head(p, "troupe_actor_restarts_total", "counter", "Per named actor: restarts.");
    for (size_t i = 0; i < n; i++) {
        named_labels(p, "troupe_actor_restarts_total", &v[i]);
        pw_printf(p, "%llu\n", (unsigned long long)v[i].restarts);
    }
}

static void write_health(pw *p, const troupe_actor_info *v, size_t n)
{
    pw_head(p, "troupe_actor_health", "gauge", "1 healthy, 0 unhealthy, -1 unknown.");
    for (size_t i = 0; i < n; i++)
        if (v[i].supervised) {
            named_labels(p, "troupe_actor_health", &v[i]);
            troupe_health h = v[i].health.status;
            pw_printf(p, "%d\n", h == TROUPE_HEALTH_HEALTHY ? 1 : h == TROUPE_HEALTH_UNHEALTHY ? 0 : -1);
        }
    pw_head(p, "troupe_health_rtt_seconds_p99", "gauge", "p99 of the last 64 ping round trips.");
    for (size_t i = 0; i < n; i++)
        if (v[i].supervised && v[i].health.pongs)
            pw_sample1(p, "troupe_health_rtt_seconds_p99", "name", v[i].name,
                       (double)v[i].health.p99_rtt_ns / 1e9);
}

/* Named live actors (supervised ones always, for health; all when
 * per_name). */
static int collect_named(troupe_system *sys, int per_name, troupe_actor_info **out, size_t *n)
{
    size_t total = 0, cap = 0;
    troupe_ref *refs = NULL;
    int rc = troupe_actor_list(sys, NULL, NULL, 0, &total);
    if (rc == 0 && total && !(refs = sys_calloc(total, sizeof *refs)))
        rc = TROUPE_ENOMEM;
    if (rc == 0 && total)
        rc = troupe_actor_list(sys, NULL, refs, total, &cap);
    *n = 0;
    *out = rc == 0 && total ? sys_calloc(total, sizeof **out) : NULL;
    if (rc == 0 && total && !*out)
        rc = TROUPE_ENOMEM;
    for (size_t i = 0; rc == 0 && i < total && i < cap; i++) {
        troupe_actor_info *ai = &(*out)[*n];
        if (troupe_actor_info_get(sys, refs[i], ai) == 0 && ai->name[0] &&
            (per_name || ai->supervised))
            (*n)++;
    }
    free(refs);
    return rc;
}

int prom_named(pw *p, troupe_system *sys, int per_name)
{
    troupe_actor_info *v;
    size_t n;
    int rc = collect_named(sys, per_name, &v, &n);
    if (rc == 0) {
        if (per_name)
            write_named(p, v, n);
        write_health(p, v, n);
    }
    free(v);
    return rc;
}
