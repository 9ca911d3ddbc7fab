/* tests/runtime/test_deploy.c — the deployment text (troupe/deploy.h,
 * docs/DEPLOY.md): pools and their settings, CPU lists, numa=N resolved,
 * every error with its line number and code, the file and the environment.
 * With hwloc the CPUs are checked against a simulated machine (2 packages
 * x 2 NUMA nodes x 16 cores, CPUs 0-63); without, against this one. */
#include <unistd.h>

#include "../support.h"
#include "core/alloc.h"
#include "troupe_config.h"

#define SYNTH "package:2 numa:2 core:16 pu:1"

static troupe_topology *topo(void)
{
    troupe_topology *t = NULL;
#if TROUPE_HAVE_HWLOC
    cr_assert_eq(troupe_topology_open(SYNTH, NULL, &t), 0);
    cr_assert_eq(troupe_topology_simulated(t), 1);
#else
    cr_assert_eq(troupe_topology_open(NULL, NULL, &t), 0);
#endif
    return t;
}

/* Parses text on the test topology; the error text into err. */
static int parse(const char *text, troupe_deploy **d, char *err, size_t cap)
{
    troupe_topology *t = topo();
    int rc = troupe_deploy_parse_on(t, text, strlen(text), d, err, cap);
    troupe_topology_destroy(t);
    return rc;
}

/* The text fails with rc and an error text containing want. */
static void expect_error(const char *text, int rc, const char *want)
{
    char err[256];
    troupe_deploy *d = (troupe_deploy *)1;
    int got = parse(text, &d, err, sizeof err);
    cr_expect_eq(got, rc, "%s: rc %d, want %d (%s)", text, got, rc, err);
    cr_expect_null(d, "%s: a handle on failure", text);
    cr_expect(strstr(err, want) != NULL, "%s: error '%s' lacks '%s'", text, err, want);
}

Test(deploy, the_example_parses_into_pools_in_order)
{
    char err[256];
    troupe_deploy *d;
    cr_assert_eq(parse("# comment\n"
                       "pool default workers=2 cpus=0-1 pin=yes\n"
                       "\n"
                       "pool io blocking=yes workers=1 max=8   # trailing comment\n"
                       "pool spin spin_us=20 batch=64 pin=no\n",
                       &d, err, sizeof err), 0, "%s", err);
    const troupe_pool_config *p;
    size_t n;
    cr_assert_eq(troupe_deploy_pools(d, &p, &n), 0);
    cr_assert_eq(n, 3u);
    cr_expect_str_eq(p[0].name, "default");
    cr_expect_eq(p[0].workers, 2u);
    cr_assert_eq(p[0].ncpus, 2u);
    cr_expect_eq(p[0].cpus[0], 0);
    cr_expect_eq(p[0].cpus[1], 1);
    cr_expect_eq(p[0].pin, 1);
    cr_expect_str_eq(p[1].name, "io");
    cr_expect_eq(p[1].blocking, 1);
    cr_expect_eq(p[1].max_workers, 8u);
    cr_expect_null(p[1].cpus, "no CPU set given: the runtime chooses");
    cr_expect_eq(p[1].ncpus, 0u);
    cr_expect_eq(p[2].spin_ns, 20000u);
    cr_expect_eq(p[2].batch, 64u);
    cr_expect_eq(p[2].pin, 0);
    troupe_deploy_destroy(d);
}

Test(deploy, semicolons_end_lines_and_an_empty_text_has_no_pool)
{
    char err[256];
    troupe_deploy *d;
    cr_assert_eq(parse("pool a workers=1;pool b spin_ns=5", &d, err, sizeof err), 0, "%s", err);
    const troupe_pool_config *p;
    size_t n;
    troupe_deploy_pools(d, &p, &n);
    cr_assert_eq(n, 2u);
    cr_expect_str_eq(p[1].name, "b");
    cr_expect_eq(p[1].spin_ns, 5u);
    troupe_deploy_destroy(d);
    cr_assert_eq(parse("  # nothing\n\n", &d, err, sizeof err), 0);
    troupe_deploy_pools(d, &p, &n);
    cr_expect_eq(n, 0u);
    troupe_deploy_destroy(d);
}

Test(deploy, a_cpu_list_with_ranges_and_items)
{
    char err[256];
    troupe_deploy *d;
#if TROUPE_HAVE_HWLOC
    const char *text = "pool a cpus=8,0-2,10-11";
    const int want[] = {8, 0, 1, 2, 10, 11};
#else
    const char *text = "pool a cpus=0";
    const int want[] = {0};
#endif
    cr_assert_eq(parse(text, &d, err, sizeof err), 0, "%s", err);
    const troupe_pool_config *p;
    size_t n;
    troupe_deploy_pools(d, &p, &n);
    cr_assert_eq(p[0].ncpus, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < p[0].ncpus; i++)
        cr_expect_eq(p[0].cpus[i], want[i]);
    troupe_deploy_destroy(d);
}

Test(deploy, syntax_errors_name_the_line_and_the_key)
{
    expect_error("pool a workers=1\n\npool b wrokers=2", TROUPE_EINVAL, "line 3: unknown key 'wrokers'");
    expect_error("pool a workers=x2", TROUPE_EINVAL, "line 1: workers: bad number 'x2'");
    expect_error("pool a workers=-1", TROUPE_EINVAL, "bad number");
    expect_error("pool a workers=99999999999999999999999", TROUPE_EINVAL, "bad number");
    expect_error("pool a workers=257", TROUPE_EINVAL, "bad number '257' (0..256)"); /* the pools' bound */
    expect_error("pool a spin_us=1000001", TROUPE_EINVAL, "spin_us: bad number '1000001' (0..1000000)");
    expect_error("pool a batch=65537", TROUPE_EINVAL, "batch: bad number '65537' (0..65536)");
    expect_error("pool a batch=0", TROUPE_EINVAL, "batch: bad number '0'");
    expect_error("pool a pin=maybe", TROUPE_EINVAL, "pin: bad value 'maybe' (yes or no)");
    expect_error("pool a workers", TROUPE_EINVAL, "expected key=value, found 'workers'");
    expect_error("pol a", TROUPE_EINVAL, "line 1: expected 'pool NAME key=value...', found 'pol'");
    expect_error("# c\npool", TROUPE_EINVAL, "line 2: pool without a name");
    expect_error("pool a max=4", TROUPE_EINVAL, "max: only a blocking pool grows");
    expect_error("pool a blocking=yes workers=4 max=2", TROUPE_EINVAL, "max=2 is below workers=4");
    expect_error("pool a cpus=0 numa=0", TROUPE_EINVAL, "cpus and numa both given");
}

Test(deploy, duplicates_are_eexist)
{
    expect_error("pool a\npool b\npool a", TROUPE_EEXIST, "line 3: pool 'a' defined twice (first on line 1)");
    expect_error("pool a workers=1 workers=2", TROUPE_EEXIST, "key 'workers' given twice");
    expect_error("pool a spin_us=1 spin_ns=2", TROUPE_EEXIST, "key 'spin_ns' given twice");
}

Test(deploy, cpu_list_errors)
{
    expect_error("pool a cpus=", TROUPE_EINVAL, "cpus: empty CPU set");
    expect_error("pool a cpus=3-1", TROUPE_EINVAL, "empty CPU set '3-1'");
    expect_error("pool a cpus=0,,1", TROUPE_EINVAL, "cpus: bad item ''");
    expect_error("pool a cpus=0-", TROUPE_EINVAL, "cpus: bad item '0-'");
    expect_error("pool a cpus=a-b", TROUPE_EINVAL, "cpus: bad item 'a-b'");
    expect_error("pool a cpus=0,0", TROUPE_EINVAL, "cpu 0 listed twice");
    expect_error("pool a cpus=0-65535", TROUPE_EINVAL, "more than 256 CPUs");
    expect_error("\npool a cpus=0,4000", TROUPE_ENOTFOUND, "line 2: cpus: the machine has no CPU 4000");
}

Test(deploy, names_are_checked)
{
    expect_error("pool a/b", TROUPE_EINVAL, "pool name 'a/b': bad character");
    /* the pools' alphabet (troupe/pool.h): what parses, a system takes */
    expect_error("pool a\npool IO", TROUPE_EINVAL, "line 2: pool name 'IO': bad character (a-z 0-9 _ - . only)");
    expect_error("pool Default", TROUPE_EINVAL, "line 1: pool name 'Default': bad character");
    expect_error("pool abcdefghijklmnopqrstuvwxyz012345", TROUPE_EINVAL, "longer than 31 bytes");
    char err[256];
    troupe_deploy *d;
    cr_expect_eq(parse("pool abcdefghijklmnopqrstuvwxyz01234 ; pool x.y-z_1", &d, err, sizeof err), 0, "%s", err);
    troupe_deploy_destroy(d);
}

Test(deploy, long_lines_nul_bytes_and_too_many_pools)
{
    char line[TROUPE_DEPLOY_LINE_MAX + 32];
    memset(line, ' ', sizeof line);
    memcpy(line, "pool a", 6);
    line[sizeof line - 1] = '\0';
    expect_error(line, TROUPE_EINVAL, "line 1: longer than 1024 bytes");
    char err[256];
    troupe_deploy *d = (troupe_deploy *)1;
    troupe_topology *t = topo();
    cr_expect_eq(troupe_deploy_parse_on(t, "pool a\npo\0l b", 13, &d, err, sizeof err), TROUPE_EINVAL);
    cr_expect_null(d);
    cr_expect(strstr(err, "line 2: NUL byte at column 3") != NULL, "%s", err);
    troupe_topology_destroy(t);
    char many[TROUPE_DEPLOY_POOLS_MAX * 16];
    size_t at = 0;
    for (int i = 0; i <= TROUPE_DEPLOY_POOLS_MAX; i++)
        at += (size_t)snprintf(many + at, sizeof many - at, "pool p%d\n", i);
    expect_error(many, TROUPE_EINVAL, "line 17: more than 16 pools");
}

Test(deploy, numa_resolves_through_the_topology)
{
#if TROUPE_HAVE_HWLOC
    char err[256];
    troupe_deploy *d;
    cr_assert_eq(parse("pool shard1 numa=1 workers=0", &d, err, sizeof err), 0, "%s", err);
    const troupe_pool_config *p;
    size_t n;
    troupe_deploy_pools(d, &p, &n);
    cr_assert_eq(p[0].ncpus, 16u, "node 1 of the simulated machine has 16 cores");
    for (size_t i = 0; i < 16; i++)
        cr_expect_eq(p[0].cpus[i], 16 + (int)i);
    troupe_deploy_destroy(d);
    expect_error("pool x numa=4", TROUPE_ENOTFOUND, "numa=4: the machine has no such NUMA node with CPUs (it has 4)");
#else
    expect_error("pool x numa=1", TROUPE_ENOTFOUND, "numa=1: the machine has no such NUMA node");
#endif
}

Test(deploy, bad_arguments)
{
    troupe_deploy *d;
    char err[64];
    cr_expect_eq(troupe_deploy_parse(NULL, 3, &d, err, sizeof err), TROUPE_EINVAL);
    cr_expect_eq(troupe_deploy_parse("pool a", 6, NULL, err, sizeof err), TROUPE_EINVAL);
    cr_expect_eq(troupe_deploy_parse("pool a", 6, &d, NULL, 0), 0, "no error buffer is fine");
    troupe_deploy_destroy(d);
    cr_expect_eq(troupe_deploy_pools(NULL, NULL, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_deploy_load_file(NULL, &d, err, sizeof err), TROUPE_EINVAL);
    cr_expect_eq(troupe_deploy_from_env(NULL, err, sizeof err), TROUPE_EINVAL);
    cr_expect_eq(troupe_topology_open("x", "y", NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_topology_simulated(NULL), TROUPE_EINVAL);
    troupe_deploy_destroy(NULL);
    troupe_topology_destroy(NULL);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

Test(deploy, a_file_errors_name_the_path_and_the_line)
{
    char path[] = "/tmp/troupe-deploy-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    write_file(path, "pool default workers=1 cpus=0\n# two\npool io wrokers=1\n");
    troupe_deploy *d;
    char err[256], want[128];
    cr_expect_eq(troupe_deploy_load_file(path, &d, err, sizeof err), TROUPE_EINVAL);
    snprintf(want, sizeof want, "%s: line 3: unknown key 'wrokers'", path);
    cr_expect_str_eq(err, want);
    write_file(path, "pool default workers=1 cpus=0\n");
    cr_assert_eq(troupe_deploy_load_file(path, &d, err, sizeof err), 0, "%s", err);
    troupe_deploy_destroy(d);
    unlink(path);
    cr_expect_eq(troupe_deploy_load_file(path, &d, err, sizeof err), TROUPE_EIO);
    cr_expect(strstr(err, "cannot open") != NULL, "%s", err);
    cr_expect_eq(troupe_deploy_load_file("/tmp", &d, err, sizeof err), TROUPE_EIO);
}

Test(deploy, the_environment_or_the_defaults)
{
    troupe_deploy *d = (troupe_deploy *)1;
    char err[256];
    unsetenv("TROUPE_DEPLOY");
    unsetenv("TROUPE_DEPLOY_FILE");
    cr_expect_eq(troupe_deploy_from_env(&d, err, sizeof err), 0);
    cr_expect_null(d, "absent: no handle, the defaults");
    setenv("TROUPE_DEPLOY", "pool default workers=1 cpus=0;pool io blocking=yes max=4", 1);
    cr_assert_eq(troupe_deploy_from_env(&d, err, sizeof err), 0, "%s", err);
    const troupe_pool_config *p;
    size_t n;
    troupe_deploy_pools(d, &p, &n);
    cr_expect_eq(n, 2u);
    troupe_deploy_destroy(d);
    setenv("TROUPE_DEPLOY", "pool a;pool a", 1);
    cr_expect_eq(troupe_deploy_from_env(&d, err, sizeof err), TROUPE_EEXIST);
    cr_expect_str_eq(err, "TROUPE_DEPLOY: line 2: pool 'a' defined twice (first on line 1)");
    setenv("TROUPE_DEPLOY_FILE", "/nonexistent", 1);
    cr_expect_eq(troupe_deploy_from_env(&d, err, sizeof err), TROUPE_EINVAL, "both set");
    unsetenv("TROUPE_DEPLOY");
    cr_expect_eq(troupe_deploy_from_env(&d, err, sizeof err), TROUPE_EIO);
    cr_expect(strncmp(err, "TROUPE_DEPLOY_FILE: /nonexistent:", 33) == 0, "%s", err);
    unsetenv("TROUPE_DEPLOY_FILE");
}

Test(deploy, out_of_memory_fails_cleanly)
{
    troupe_topology *t = topo();
    for (long k = 0; k < 8; k++) {
        troupei_alloc_fail_after(k);
        troupe_deploy *d = NULL;
        char err[128];
        int rc = troupe_deploy_parse_on(t, "pool a cpus=0;pool b", 20, &d, err, sizeof err);
        troupei_alloc_fail_after(-1);
        cr_expect(rc == 0 || rc == TROUPE_ENOMEM, "k=%ld rc=%d", k, rc);
        cr_expect(rc != 0 || d != NULL);
        troupe_deploy_destroy(d);
    }
    troupe_topology_destroy(t);
}
