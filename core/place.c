/* core/place.c — the plan of a pool's workers on a topology, whatever the
 * source (core/place.h): the CPU per worker, the steal orders, CPU lists
 * as text. */
#include <stdio.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "core/place.h"

int place_pool(const troupe_topology *t, const int *cpus, size_t ncpus, uint32_t nworkers,
               int *cpu_out)
{
    if (!t || !cpu_out || nworkers == 0 || (ncpus > 0 && !cpus))
        return TROUPE_EINVAL;
    int *own = NULL;
    if (ncpus == 0) {
        int rc = place_default_cpus(t, &own, &ncpus);
        if (rc != 0)
            return rc;
        cpus = own;
    }
    int rc = 0;
    for (uint32_t i = 0; i < nworkers && rc == 0; i++) {
        cpu_out[i] = cpus[i % ncpus];
        if (!place_has_cpu(t, cpu_out[i]))
            rc = TROUPE_ENOTFOUND;
    }
    free(own);
    return rc;
}

/* A victim, its distance from the stealer, its round-robin position. */
typedef struct victim {
    int cost;
    uint32_t pos, index;
} victim;

static int cmp_victim(const void *a, const void *b)
{
    const victim *x = a, *y = b;
    if (x->cost != y->cost)
        return (x->cost > y->cost) - (x->cost < y->cost);
    return (x->pos > y->pos) - (x->pos < y->pos);
}

int place_steal_order(const troupe_topology *t, const int *cpu, uint32_t n, uint32_t w,
                      uint32_t *order)
{
    if (!t || !cpu || !order || w >= n)
        return TROUPE_EINVAL;
    victim *v = sys_malloc((size_t)n * sizeof *v);
    if (!v)
        return TROUPE_ENOMEM;
    /* each distance asked once, then sorted nearest first; ties keep
     * round-robin order from w + 1, so the workers of a node do not all
     * try the same victim first */
    for (uint32_t i = 1; i < n; i++) {
        uint32_t x = (w + i) % n;
        v[i - 1] = (victim){.cost = place_cost(t, cpu[w], cpu[x]), .pos = i, .index = x};
    }
    qsort(v, n - 1, sizeof *v, cmp_victim);
    for (uint32_t i = 0; i + 1 < n; i++)
        order[i] = v[i].index;
    free(v);
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Appends to buf at *at (snprintf-like: *at counts what it would need). */
static void put_range(char *buf, size_t cap, size_t *at, int lo, int hi, int first)
{
    char tmp[32];
    int k = lo == hi ? snprintf(tmp, sizeof tmp, "%s%d", first ? "" : ",", lo)
                     : snprintf(tmp, sizeof tmp, "%s%d-%d", first ? "" : ",", lo, hi);
    for (int i = 0; i < k; i++, (*at)++)
        if (*at + 1 < cap)
            buf[*at] = tmp[i];
}

size_t place_cpus_text(const int *cpus, size_t n, char *buf, size_t cap)
{
    size_t at = 0;
    int *s = n ? sys_malloc(n * sizeof *s) : NULL;
    if (s) {
        for (size_t i = 0; i < n; i++)
            s[i] = cpus[i];
        qsort(s, n, sizeof *s, cmp_int);
        for (size_t i = 0; i < n;) {
            size_t j = i;
            while (j + 1 < n && s[j + 1] <= s[j] + 1)
                j++;
            put_range(buf, cap, &at, s[i], s[j], i == 0);
            i = j + 1;
        }
        free(s);
    }
    if (cap > 0)
        buf[at < cap ? at : cap - 1] = '\0';
    return at;
}
