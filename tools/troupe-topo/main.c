/* tools/troupe-topo — the machine's topology as hwloc sees it and where
 * each pool of a deployment (docs/DEPLOY.md) would run: every worker's CPU,
 * NUMA node and steal order. Nothing is started and nothing is bound, so
 * it runs on a simulated machine as well (--synthetic, --xml).
 *
 *   troupe-topo [--synthetic DESC | --xml FILE] [--file DEPLOY]
 *
 * The deployment: --file, else TROUPE_DEPLOY (the text, `;` between
 * lines), else TROUPE_DEPLOY_FILE; none: the default pool. Exit 0; 1 for a
 * deployment or topology error (stderr names the line); 2 for a usage
 * error. Links the static library for core/place.h (what the scheduler
 * plans with). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/place.h"

#define STEAL_SHOWN 16 /* victims printed per worker */
#define STEAL_POOL_MAX 256 /* larger pools: no steal order (n^2 distances per worker) */

typedef struct opts {
    const char *synthetic, *xml, *file;
} opts;

static int usage(void)
{
    fprintf(stderr, "usage: troupe-topo [--synthetic DESC | --xml FILE] [--file DEPLOY]\n");
    return 2;
}

static int parse_args(int argc, char **argv, opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char **slot = !strcmp(argv[i], "--synthetic") ? &o->synthetic
                            : !strcmp(argv[i], "--xml")      ? &o->xml
                            : !strcmp(argv[i], "--file")     ? &o->file
                                                             : NULL;
        if (!slot || i + 1 == argc || *slot)
            return -1;
        *slot = argv[++i];
    }
    return o->synthetic && o->xml ? -1 : 0;
}

/* The file's text (at most TROUPE_DEPLOY_TEXT_MAX + 1 bytes: one more is
 * refused by the parser), or NULL with the reason on stderr. */
static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = f ? malloc(TROUPE_DEPLOY_TEXT_MAX + 1) : NULL;
    if (!buf) {
        fprintf(stderr, "troupe-topo: %s: cannot read\n", path);
        if (f)
            fclose(f);
        return NULL;
    }
    *len = fread(buf, 1, TROUPE_DEPLOY_TEXT_MAX + 1, f);
    fclose(f);
    return buf;
}

/* The deployment, from --file or the environment; *d NULL: the defaults. */
static int load(const troupe_topology *t, const opts *o, troupe_deploy **d, const char **src)
{
    const char *env = getenv("TROUPE_DEPLOY"), *envf = getenv("TROUPE_DEPLOY_FILE");
    const char *path = o->file ? o->file : (env && *env) ? NULL : (envf && *envf) ? envf : NULL;
    *d = NULL;
    *src = o->file ? o->file : (env && *env) ? "TROUPE_DEPLOY" : path;
    if (!*src)
        return 0;
    size_t len = 0;
    char *text = path ? read_text(path, &len) : NULL;
    if (path && !text)
        return 1;
    char err[512];
    int rc = troupe_deploy_parse_on(t, path ? text : env, path ? len : strlen(env), d, err, sizeof err);
    free(text);
    if (rc != 0) {
        fprintf(stderr, "troupe-topo: %s: %s (%s)\n", *src, err, troupe_errname(rc));
        return 1;
    }
    return 0;
}

static void print_worker(const troupe_topology *t, const int *cpu, uint32_t n, uint32_t w)
{
    uint32_t *order = malloc((n ? n : 1) * sizeof *order);
    printf("  worker %u: cpu %d, numa %d, steals from", w, cpu[w], place_numa_of(t, cpu[w]));
    if (n > STEAL_POOL_MAX) {
        printf(" (not shown: more than %d workers)\n", STEAL_POOL_MAX);
    } else if (order && place_steal_order(t, cpu, n, w, order) == 0) {
        for (uint32_t k = 0; k + 1 < n && k < STEAL_SHOWN; k++)
            printf(" %u", order[k]);
        printf(n > STEAL_SHOWN + 1 ? " ...\n" : n == 1 ? " none\n" : "\n");
    }
    free(order);
}

static int print_pool(const troupe_topology *t, const troupe_pool_config *p)
{
    int *def = NULL;
    size_t ndef = 0;
    if (!p->ncpus && place_default_cpus(t, &def, &ndef) != 0)
        return 1;
    size_t ncpus = p->ncpus ? p->ncpus : ndef;
    uint32_t n = p->workers ? p->workers : (uint32_t)ncpus;
    int *cpu = malloc(n * sizeof *cpu);
    char list[1024];
    place_cpus_text(p->ncpus ? p->cpus : def, ncpus, list, sizeof list);
    printf("pool %s: %u workers on cpus %s%s, pin %s, blocking %s", p->name, n, list,
           p->ncpus ? "" : " (the default)", p->pin ? "yes" : "no", p->blocking ? "yes" : "no");
    if (p->blocking && p->max_workers)
        printf(" (max %u)", p->max_workers);
    printf("\n");
    int rc = cpu && place_pool(t, p->ncpus ? p->cpus : NULL, p->ncpus, n, cpu) == 0 ? 0 : 1;
    for (uint32_t w = 0; rc == 0 && w < n; w++)
        print_worker(t, cpu, n, w);
    free(cpu);
    free(def);
    return rc;
}

static int report(const troupe_topology *t, const troupe_deploy *d, const char *src)
{
    size_t need = place_describe(t, NULL, 0);
    char *text = malloc(need + 1);
    if (!text)
        return 1;
    place_describe(t, text, need + 1);
    fputs(text, stdout);
    free(text);
    const troupe_pool_config *pools, def = {.name = "default", .pin = 1};
    size_t n = 1;
    if (d)
        troupe_deploy_pools(d, &pools, &n);
    else
        pools = &def;
    printf("deployment: %s (%zu pools)\n", src ? src : "none, the defaults", n);
    if (troupe_topology_simulated(t) == 1)
        printf("binding: none (a simulated machine is never bound to)\n");
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = print_pool(t, &pools[i]);
    return rc;
}

int main(int argc, char **argv)
{
    opts o = {0};
    if (parse_args(argc, argv, &o) != 0)
        return usage();
    troupe_topology *t;
    int rc = troupe_topology_open(o.synthetic, o.xml, &t);
    if (rc != 0) {
        fprintf(stderr, "troupe-topo: the topology: %s (%s)\n", troupe_strerror(rc), troupe_errname(rc));
        return 1;
    }
    troupe_deploy *d;
    const char *src;
    rc = load(t, &o, &d, &src);
    if (rc == 0)
        rc = report(t, d, src);
    troupe_deploy_destroy(d);
    troupe_topology_destroy(t);
    return rc;
}
