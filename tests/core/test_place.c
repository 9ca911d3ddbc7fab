/* tests/core/test_place.c — placement on simulated machines (core/place.h):
 * hwloc's synthetic "2 packages x 2 NUMA nodes x 16 cores" (64 CPUs; node
 * n holds CPUs 16n..16n+15) on this 2-core machine. A pool on NUMA node 1
 * gets node 1's cores; each worker's steal order lists the workers of its
 * own node first, then the other node of its package, then the far
 * package. Binding is skipped: a simulated topology is never bound to
 * (troupe_topology_simulated), and nothing in core/place.c binds — these
 * tests only compute. Without hwloc, simulation is TROUPE_ENOTSUP. */
#include "../support.h"
#include "core/place.h"
#include "troupe_config.h"

#include <unistd.h>
#if TROUPE_HAVE_HWLOC
#include <hwloc.h>
#endif

#define SYNTH "package:2 numa:2 core:16 pu:1"

#if TROUPE_HAVE_HWLOC
static troupe_topology *sim(void)
{
    troupe_topology *t;
    cr_assert_eq(troupe_topology_open(SYNTH, NULL, &t), 0);
    cr_assert_eq(troupe_topology_simulated(t), 1, "simulated: never bound to");
    return t;
}

Test(place, a_pool_on_numa_node_1_gets_exactly_its_cores)
{
    troupe_topology *t = sim();
    cr_expect_eq(place_numa_count(t), 4);
    int *cpus;
    size_t n;
    cr_assert_eq(place_numa_cpus(t, 1, &cpus, &n), 0);
    cr_assert_eq(n, 16u);
    int cpu[16];
    cr_assert_eq(place_pool(t, cpus, n, 16, cpu), 0);
    for (int i = 0; i < 16; i++) {
        cr_expect_eq(cpu[i], 16 + i, "worker %d on cpu %d", i, cpu[i]);
        cr_expect_eq(place_numa_of(t, cpu[i]), 1);
    }
    free(cpus);
    troupe_topology_destroy(t);
}

Test(place, steal_order_same_node_first_then_by_distance)
{
    troupe_topology *t = sim();
    /* 8 workers: two on each node, 0,1 on node 0 ... 6,7 on node 3 */
    const int cpu[8] = {0, 1, 16, 17, 32, 33, 48, 49};
    uint32_t order[7];
    for (uint32_t w = 0; w < 8; w++) {
        cr_assert_eq(place_steal_order(t, cpu, 8, w, order), 0);
        uint32_t mate = w ^ 1u, pkgmates = (w & ~3u) + ((w & 2u) ^ 2u);
        cr_expect_eq(order[0], mate, "w%u: its node's worker first, got %u", w, order[0]);
        /* then the other node of its package (nearer than the far package) */
        cr_expect_eq(order[1] & ~1u, pkgmates, "w%u: then its package's other node, got %u", w, order[1]);
        cr_expect_eq(order[2] & ~1u, pkgmates);
        for (int k = 3; k < 7; k++)
            cr_expect_neq(order[k] / 4, w / 4, "w%u: the far package last", w);
        int cost_prev = -1;
        for (int k = 0; k < 7; k++) {
            int c = place_cost(t, cpu[w], cpu[order[k]]);
            cr_expect_geq(c, cost_prev, "nearest first");
            cost_prev = c;
        }
    }
    troupe_topology_destroy(t);
}

Test(place, ties_keep_round_robin_order)
{
    troupe_topology *t = sim();
    const int cpu[4] = {16, 17, 18, 19}; /* one node: all equally near */
    uint32_t order[3];
    cr_assert_eq(place_steal_order(t, cpu, 4, 2, order), 0);
    cr_expect_eq(order[0], 3u);
    cr_expect_eq(order[1], 0u);
    cr_expect_eq(order[2], 1u);
    troupe_topology_destroy(t);
}

Test(place, an_absent_node_and_absent_cpus_are_refused)
{
    troupe_topology *t = sim();
    int *cpus = (int *)1;
    size_t n = 9;
    cr_expect_eq(place_numa_cpus(t, 4, &cpus, &n), TROUPE_ENOTFOUND);
    cr_expect_null(cpus);
    cr_expect_eq(n, 0u);
    int cpu[2];
    const int bad[] = {63, 64};
    cr_expect_eq(place_pool(t, bad, 2, 2, cpu), TROUPE_ENOTFOUND);
    cr_expect_eq(place_pool(t, bad, 1, 0, cpu), TROUPE_EINVAL);
    troupe_topology_destroy(t);
}

Test(place, default_cpus_are_one_per_core_and_wrap)
{
    troupe_topology *t;
    cr_assert_eq(troupe_topology_open("package:1 core:2 pu:2", NULL, &t), 0);
    int cpu[5];
    cr_assert_eq(place_pool(t, NULL, 0, 5, cpu), 0);
    const int want[5] = {0, 2, 0, 2, 0}; /* each core's first PU */
    for (int i = 0; i < 5; i++)
        cr_expect_eq(cpu[i], want[i]);
    troupe_topology_destroy(t);
}

Test(place, describe_names_packages_nodes_and_cpus)
{
    troupe_topology *t = sim();
    char buf[2048];
    size_t need = place_describe(t, buf, sizeof buf);
    cr_assert_lt(need, sizeof buf);
    cr_expect(strstr(buf, "machine: simulated, 2 packages, 4 NUMA nodes, 64 cores, 64 PUs") != NULL, "%s", buf);
    cr_expect(strstr(buf, "numa 1: package 0, cpus 16-31 (16 cores, 16 PUs)") != NULL, "%s", buf);
    cr_expect(strstr(buf, "numa 3: package 1, cpus 48-63") != NULL, "%s", buf);
    char small[10];
    cr_expect_eq(place_describe(t, small, sizeof small), need, "snprintf-like");
    cr_expect_eq(strlen(small), 9u);
    troupe_topology_destroy(t);
}

/* The XML form: the synthetic machine exported by hwloc (as lstopo --of
 * xml would on the machine deployed to), read back as a simulated one. */
Test(place, an_xml_topology_is_simulated_too)
{
    hwloc_topology_t h;
    cr_assert_eq(hwloc_topology_init(&h), 0);
    cr_assert_eq(hwloc_topology_set_synthetic(h, SYNTH), 0);
    cr_assert_eq(hwloc_topology_load(h), 0);
    char path[] = "/tmp/troupe-place-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(hwloc_topology_export_xml(h, path, 0), 0);
    hwloc_topology_destroy(h);
    troupe_topology *t;
    cr_assert_eq(troupe_topology_open(NULL, path, &t), 0);
    unlink(path);
    cr_expect_eq(troupe_topology_simulated(t), 1, "an XML machine is never bound to");
    int *cpus;
    size_t n;
    cr_assert_eq(place_numa_cpus(t, 1, &cpus, &n), 0);
    cr_expect_eq(n, 16u);
    cr_expect_eq(cpus[0], 16);
    cr_expect_eq(cpus[15], 31);
    free(cpus);
    troupe_topology_destroy(t);
}

Test(place, bad_simulations_are_einval)
{
    troupe_topology *t = (troupe_topology *)1;
    cr_expect_eq(troupe_topology_open("bogus:3", NULL, &t), TROUPE_EINVAL);
    cr_expect_null(t);
    cr_expect_eq(troupe_topology_open(NULL, "/nonexistent.xml", &t), TROUPE_EINVAL);
}
#else
Test(place, simulation_needs_hwloc)
{
    troupe_topology *t;
    cr_expect_eq(troupe_topology_open(SYNTH, NULL, &t), TROUPE_ENOTSUP);
}
#endif

Test(place, this_machine_is_not_simulated_and_has_cpu_0_on_node_0)
{
    troupe_topology *t;
    cr_assert_eq(troupe_topology_open(NULL, NULL, &t), 0);
    cr_expect_eq(troupe_topology_simulated(t), 0);
    int *cpus;
    size_t n;
    cr_assert_eq(place_numa_cpus(t, 0, &cpus, &n), 0);
    cr_expect_geq(n, 1u);
    free(cpus);
    cr_expect_eq(place_has_cpu(t, -1), 0);
    troupe_topology_destroy(t);
}

Test(place, cpu_lists_as_text)
{
    const int cpus[] = {11, 0, 2, 1, 3, 8, 10};
    char buf[64];
    cr_expect_eq(place_cpus_text(cpus, 7, buf, sizeof buf), strlen("0-3,8,10-11"));
    cr_expect_str_eq(buf, "0-3,8,10-11");
    char small[4];
    place_cpus_text(cpus, 7, small, sizeof small);
    cr_expect_str_eq(small, "0-3");
}
