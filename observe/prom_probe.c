/* observe/prom_probe.c — the stamped messages' histograms per actor type
 * (core/probe.h): troupe_mailbox_wait_seconds and troupe_handle_seconds.
 * Two passes over the types, so that each family's samples follow its own
 * HELP and TYPE lines as the text format asks. */
#include "core/probe.h"
#include "observe/prom.h"

typedef struct fam {
    pw *p;
    const char *name;
    int handle; /* 0: the wait histogram, 1: the handling one */
} fam;

static void write_hist(void *ud, const char *type, const probe_hist *wait, const probe_hist *handle)
{
    fam *f = ud;
    const probe_hist *h = f->handle ? handle : wait;
    uint64_t count = 0;
    for (int k = 0; k < PROBE_BUCKETS; k++) {
        count += atomic_load_explicit(&h->b[k], memory_order_relaxed); /* relaxed: counters */
        pw_printf(f->p, "%s_bucket{type=\"", f->name);
        pw_label(f->p, type);
        if (k < PROBE_BUCKETS - 1)
            pw_printf(f->p, "\",le=\"%g\"} %llu\n", (double)probe_bound(k) / 1e9,
                      (unsigned long long)count);
        else
            pw_printf(f->p, "\",le=\"+Inf\"} %llu\n", (unsigned long long)count);
    }
    pw_printf(f->p, "%s_sum{type=\"", f->name);
    pw_label(f->p, type);
    /* relaxed: a counter */
    pw_printf(f->p, "\"} %.9f\n",
              (double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) / 1e9);
    pw_printf(f->p, "%s_count{type=\"", f->name);
    pw_label(f->p, type);
    pw_printf(f->p, "\"} %llu\n", (unsigned long long)count);
}

void prom_probe(pw *p, troupe_system *sys)
{
    fam f = {p, "troupe_mailbox_wait_seconds", 0};
    pw_head(p, f.name, "histogram",
            "Time in mailbox before handling, per actor type, one message in 256 sampled.");
    probe_each_type(sys, write_hist, &f);
    f = (fam){p, "troupe_handle_seconds", 1};
    pw_head(p, f.name, "histogram",
            "Handling time per actor type, the same sampled messages.");
    probe_each_type(sys, write_hist, &f);
}
