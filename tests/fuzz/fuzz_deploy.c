/* tests/fuzz/fuzz_deploy.c — the deployment text's parser
 * (runtime/deploy_parse.c, troupe_deploy_parse_on): any bytes, against one
 * topology opened once (a simulated 2 x 2 x 16-core machine with hwloc,
 * this machine without). On success every pool must have a valid, unique
 * name, CPUs the topology has, none twice, and settings in their ranges;
 * on failure the code must be one the header names and the error text a
 * NUL-terminated line starting with "line N: " where N is a line the
 * input has. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/place.h"
#include "troupe/system.h"

static const troupe_topology *topo(void)
{
    static troupe_topology *t;
    if (!t && troupe_topology_open("package:2 numa:2 core:16 pu:1", NULL, &t) != 0 &&
        troupe_topology_open(NULL, NULL, &t) != 0)
        abort();
    return t;
}

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > TROUPE_POOL_NAME_MAX)
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-.") == n;
}

static void check_pool(const troupe_pool_config *pools, size_t i)
{
    const troupe_pool_config *p = &pools[i];
    /* the pools' own bounds (troupe/pool.h): what parses, a system takes */
    if (!name_ok(p->name) || (p->ncpus > 0) != (p->cpus != NULL) || p->ncpus > TROUPE_MAX_WORKERS ||
        p->workers > TROUPE_MAX_WORKERS || p->max_workers > TROUPE_MAX_WORKERS ||
        p->spin_ns > 1000000000ull || p->batch > TROUPE_MAX_BATCH || (p->max_workers && !p->blocking) ||
        (p->pin != 0 && p->pin != 1) || (p->blocking != 0 && p->blocking != 1))
        abort();
    for (size_t j = 0; j < i; j++)
        if (strcmp(pools[j].name, p->name) == 0)
            abort(); /* a duplicate got through */
    for (size_t k = 0; k < p->ncpus; k++) {
        if (!place_has_cpu(topo(), p->cpus[k]))
            abort(); /* a CPU the machine lacks */
        for (size_t m = 0; m < k; m++)
            if (p->cpus[m] == p->cpus[k])
                abort();
    }
}

/* err is "line N: ..." with 1 <= N <= the lines the input has. */
static void check_error(int rc, const char *err, size_t errcap, const uint8_t *data, size_t size)
{
    if (rc != TROUPE_EINVAL && rc != TROUPE_EEXIST && rc != TROUPE_ENOTFOUND && rc != TROUPE_ENOMEM)
        abort();
    if (!memchr(err, '\0', errcap) || strncmp(err, "line ", 5) != 0)
        abort();
    unsigned long line = strtoul(err + 5, NULL, 10);
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n' || data[i] == ';';
    if (line < 1 || line > lines)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (64u << 10))
        return 0; /* longer inputs only repeat lines; the size limit has its test */
    char err[256];
    memset(err, 'x', sizeof err);
    troupe_deploy *d = NULL;
    int rc = troupe_deploy_parse_on(topo(), (const char *)data, size, &d, err, sizeof err);
    if (rc == 0) {
        const troupe_pool_config *pools;
        size_t n;
        if (!d || troupe_deploy_pools(d, &pools, &n) != 0 || n > TROUPE_DEPLOY_POOLS_MAX)
            abort();
        for (size_t i = 0; i < n; i++)
            check_pool(pools, i);
    } else {
        if (d)
            abort();
        check_error(rc, err, sizeof err, data, size);
    }
    troupe_deploy_destroy(d);
    return 0;
}
