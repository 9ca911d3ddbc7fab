/* observe/prom.h — the Prometheus text writer shared by observe/prom*.c. */
#ifndef TROUPE_OBSERVE_PROM_H
#define TROUPE_OBSERVE_PROM_H

#include "observe/obs.h"

typedef struct pw {
    troupe_write_fn fn;
    void *ud;
    int rc;   /* the writer's first error; then nothing more is written */
    size_t n;
    char buf[8192];
} pw;

void pw_put(pw *p, const char *s, size_t n);
void pw_printf(pw *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pw_label(pw *p, const char *v);
void pw_head(pw *p, const char *name, const char *type, const char *help);
void pw_sample(pw *p, const char *name, double v);
void pw_sample1(pw *p, const char *name, const char *label, const char *value, double v);
int pw_flush(pw *p);

/* observe/prom_probe.c: the stamped messages' histograms per type */
void prom_probe(pw *p, troupe_system *sys);
/* observe/prom_pools.c: the worker pools' families (label pool) */
void prom_pools(pw *p, troupe_system *sys);
/* observe/prom_types.c */
int prom_types(pw *p, troupe_system *sys);
int prom_named(pw *p, troupe_system *sys, int per_name);

/* observe/prom.c — a feature above observe (breaker/, migrate/) writes its
 * own metric families: it registers a writer at its create, and
 * troupe_metrics_write calls each after observe's own families, in
 * registration order, under obs->out_lock (so serialised with every
 * other writer of metrics), with the p it writes into. name (a string
 * that outlives the system: a literal) must be unique; the writer stays
 * until the system is destroyed, and must cope with its feature's part
 * of the system already freed (NULL), since destroy frees the features
 * before observe. Registration takes out_lock too: safe against a
 * concurrent scrape, at any time. observe must exist already (created
 * before the features that register: TROUPE_ESTATE otherwise).
 * 0, TROUPE_EINVAL, TROUPE_EEXIST (a name taken) or TROUPE_ENOMEM. */
int obs_metrics_register(troupe_system *sys, const char *name, obs_metrics_fn fn, void *ud);

#endif
