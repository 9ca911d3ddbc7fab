/* runtime/deploy_int.h — inside a deployment (include/troupe/deploy.h): the
 * parser of one text (deploy_parse.c) and the handle (deploy.c). */
#ifndef TROUPE_RUNTIME_DEPLOY_INT_H
#define TROUPE_RUNTIME_DEPLOY_INT_H

#include <stdarg.h>
#include <stdbool.h>

#include "core/place.h"

#define deploy_parse_text troupei_deploy_parse_text
#define deploy_fail troupei_deploy_fail

/* One pool as read: its settings, the name's storage, the CPUs it owns. */
typedef struct dpool {
    char name[TROUPE_POOL_NAME_MAX + 1];
    int *cpus;       /* sys_malloc'ed, resolved */
    size_t ncpus;
    uint32_t workers, batch, max_workers;
    uint64_t spin_ns;
    int pin, blocking;
    long numa;       /* -1: not given */
    unsigned given;  /* keys seen on its line (bit per key) */
    unsigned line;
} dpool;

struct troupe_deploy {
    size_t n;
    dpool p[TROUPE_DEPLOY_POOLS_MAX];
    troupe_pool_config cfg[TROUPE_DEPLOY_POOLS_MAX]; /* the public view of p */
};

/* What the parser works with: the topology to resolve CPUs on, the
 * handle it fills, where errors go. */
typedef struct dctx {
    const troupe_topology *topo;
    troupe_deploy *d;
    char *err;
    size_t errlen;
    unsigned line;
} dctx;

/* Parse text (len bytes) into c->d. 0 or a TROUPE_E* code with c->err set. */
int deploy_parse_text(dctx *c, const char *text, size_t len);
/* Write "line N: <fmt>" into c->err; returns rc. */
int deploy_fail(dctx *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
