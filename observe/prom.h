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

/* observe/prom_types.c */
int prom_types(pw *p, troupe_system *sys);
int prom_named(pw *p, troupe_system *sys, int per_name);
void prom_breakers(pw *p, troupe_system *sys);
/* migrate/metrics.c: adapters and flags */
void prom_adapters(pw *p, troupe_system *sys);

#endif
