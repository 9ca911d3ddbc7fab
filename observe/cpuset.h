/* observe/cpuset.h — a pool's CPU set as text ("0-3,8"), the one form
 * shared by the Prometheus page (observe/prom_pools.c: the cpus label of
 * troupe_pool_info) and the HTTP API's JSON (http/tree.c: a pool's
 * cpu_set), so that the dashboard and a scraper read the same string.
 *
 * The set is that of a pool's workers (troupe_pool_info.cpus: the CPU of
 * each worker, repeated when workers share one, -1 when unknown): sorted,
 * each CPU once, runs written as ranges, as Linux writes cpusets
 * (cpuset(7), "List format"). Header-only: nothing to link. */
#ifndef TROUPE_OBSERVE_CPUSET_H
#define TROUPE_OBSERVE_CPUSET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* cpus[0..n) sorted into out (n <= 64), each CPU once, unknown (-1) ones
 * dropped. Returns how many are left. */
static inline uint32_t cpuset_sorted(const int *cpus, uint32_t n, int out[64])
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < n && i < 64; i++) {
        int c = cpus[i];
        uint32_t j = k;
        while (j > 0 && out[j - 1] > c)
            j--;
        if (c < 0 || (j > 0 && out[j - 1] == c))
            continue; /* unknown, or already in */
        for (uint32_t m = k; m > j; m--)
            out[m] = out[m - 1];
        out[j] = c;
        k++;
    }
    return k;
}

/* The set as "0-3,8" into buf (cap > 0: always terminated; "" when no CPU
 * is known). A set too long for buf ends where it was cut. */
static inline void cpuset_format(const int *cpus, uint32_t n, char *buf, size_t cap)
{
    int s[64];
    uint32_t k = cpuset_sorted(cpus, n, s);
    size_t len = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < k && len < cap; i++) {
        uint32_t j = i;
        while (j + 1 < k && s[j + 1] == s[j] + 1)
            j++; /* the end of a run */
        int w = j > i ? snprintf(buf + len, cap - len, "%s%d-%d", i ? "," : "", s[i], s[j])
                      : snprintf(buf + len, cap - len, "%s%d", i ? "," : "", s[i]);
        len += w > 0 ? (size_t)w : 0;
        i = j;
    }
}

#endif
