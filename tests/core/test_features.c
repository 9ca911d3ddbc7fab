/* tests/core/test_features.c — the optional features (meson_options.txt)
 * as the library was built: a feature built out answers TROUPE_ENOTSUP from
 * its public entry points and leaves the rest of the runtime working; the
 * workers' placement holds with either topology source (hwloc, or the
 * affinity mask: core/topo.h). Runs in every build; `make test-minimal`
 * (every feature off) is where the stubs' cases run. */
#include <sched.h>
#include <unistd.h>

#include "../support.h"
#include "troupe_config.h"

Test(features, enotsup_has_a_text_and_a_name)
{
    cr_expect_str_neq(troupe_strerror(TROUPE_ENOTSUP), "unknown error");
    cr_expect_str_eq(troupe_errname(TROUPE_ENOTSUP), "TROUPE_ENOTSUP");
}

static troupe_system *one_worker(const int *cpus, size_t ncpus, int *rc)
{
    troupe_config cfg;
    troupe_config_defaults(&cfg);
    cfg.workers = 1;
    cfg.cpus = cpus, cfg.ncpus = ncpus;
    cfg.health_interval_ns = 0;
    troupe_system *sys = NULL;
    *rc = troupe_system_create(&sys, &cfg);
    return sys;
}

enum { M_CPU = 1 };

static int where_handle(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    (void)st, (void)m;
    int cpu = sched_getcpu();
    return troupe_reply(ctx, M_CPU, &cpu, sizeof cpu);
}

static const troupe_behaviour where_beh = {.name = "features.where", .handle = where_handle};

/* A worker given a CPU runs its actors there (pinned), whichever source
 * planned it. */
Test(features, a_worker_is_pinned_to_its_cpu)
{
    cpu_set_t mine;
    cr_assert_eq(sched_getaffinity(0, sizeof mine, &mine), 0);
    int cpu = 0;
    while (!CPU_ISSET(cpu, &mine))
        cpu++;
    int rc;
    troupe_system *sys = one_worker(&cpu, 1, &rc);
    cr_assert_eq(rc, 0, "%s", troupe_strerror(rc));
    troupe_worker_info wi;
    cr_assert_eq(troupe_worker_info_get(sys, 0, &wi), 0);
    cr_expect_eq(wi.cpu, cpu);
    troupe_ref r;
    cr_assert_eq(troupe_spawn(sys, &where_beh, NULL, NULL, &r), 0);
    int ran = -1;
    cr_assert_eq(troupe_ask(sys, r, M_CPU, NULL, 0, ASK_FOREVER_NS, NULL, &ran, sizeof ran, NULL),
                 0);
    cr_expect_eq(ran, cpu, "the actor ran on CPU %d, its worker is pinned to %d", ran, cpu);
    troupe_system_destroy(sys);
}

Test(features, a_cpu_the_process_cannot_use_is_einval)
{
    int bad = CPU_SETSIZE + 5, rc;
    troupe_system *sys = one_worker(&bad, 1, &rc);
    cr_expect_eq(rc, TROUPE_EINVAL);
    cr_expect_null(sys);
}

/* Without hwloc a worker per CPU of the affinity mask (hwloc: per core). */
Test(features, the_default_is_a_worker_per_cpu_without_hwloc)
{
    troupe_system *sys;
    cr_assert_eq(troupe_system_create(&sys, NULL), 0);
    uint32_t n = troupe_system_workers(sys);
    cr_expect_geq(n, 1u);
#if !TROUPE_HAVE_HWLOC
    cpu_set_t mine;
    cr_assert_eq(sched_getaffinity(0, sizeof mine, &mine), 0);
    cr_expect_eq(n, (uint32_t)CPU_COUNT(&mine));
#endif
    troupe_system_destroy(sys);
}

#if !TROUPE_HAVE_HTTP
Test(features, http_start_is_enotsup_without_http)
{
    troupe_system *sys;
    cr_assert_eq(troupe_system_create(&sys, NULL), 0);
    troupe_http_config hc;
    troupe_http_config_defaults(&hc);
    cr_expect_str_eq(hc.bind_addr, "127.0.0.1");
    troupe_http *h = (troupe_http *)&hc; /* not NULL: the stub clears it */
    cr_expect_eq(troupe_http_start(sys, &hc, &h), TROUPE_ENOTSUP);
    cr_expect_null(h);
    cr_expect_eq(troupe_http_start(NULL, &hc, &h), TROUPE_EINVAL);
    cr_expect_eq(troupe_http_port(NULL), TROUPE_EINVAL);
    troupe_http_stop(NULL);
    troupe_system_destroy(sys);
}
#endif

#if !TROUPE_HAVE_SQLITE
/* Refused before anything is created: the directory is not made. */
Test(features, journal_open_sqlite_is_enotsup_without_sqlite)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/troupe-features-%d", (int)getpid());
    troupe_journal *j = NULL;
    cr_expect_eq(troupe_journal_open_sqlite(dir, TROUPE_SQLITE_FULL, &j), TROUPE_ENOTSUP);
    cr_expect_null(j);
    cr_expect_neq(access(dir, F_OK), 0, "%s was created", dir);
    char why[256];
    cr_assert_eq(troupe_journal_open_error(why, sizeof why), 0);
    cr_expect(strstr(why, "persistence-sqlite"), "%s", why);
}
#endif

#if !TROUPE_HAVE_POSTGRES
Test(features, journal_open_postgres_is_enotsup_without_postgres)
{
    troupe_journal *j = NULL;
    cr_expect_eq(troupe_journal_open_postgres("host=/nonexistent", &j), TROUPE_ENOTSUP);
    cr_expect_null(j);
    char why[256];
    cr_assert_eq(troupe_journal_open_error(why, sizeof why), 0);
    cr_expect(strstr(why, "persistence-postgres"), "%s", why);
}
#endif

#if !TROUPE_HAVE_TRACE
Test(features, tracing_is_enotsup_without_trace)
{
    troupe_system *sys = NULL;
    cr_assert_eq(troupe_system_create(&sys, NULL), 0);
    troupe_trace_config cfg;
    troupe_trace_config_defaults(&cfg);
    cr_expect_eq(cfg.queue, 8192);
    cfg.endpoint = "http://127.0.0.1:1/v1/traces";
    cr_expect_eq(troupe_trace_enable(sys, &cfg), TROUPE_ENOTSUP);
    cr_expect_eq(troupe_trace_enable(NULL, &cfg), TROUPE_EINVAL);
    cr_expect_eq(troupe_trace_start(sys, "r"), TROUPE_ENOTSUP);
    cr_expect_eq(troupe_trace_end(sys), TROUPE_ENOTSUP);
    char tp[TROUPE_TRACEPARENT_SIZE];
    cr_expect_eq(troupe_trace_traceparent(tp, sizeof tp), TROUPE_ENOTSUP);
    cr_expect_eq(troupe_trace_traceparent(tp, 4), TROUPE_EINVAL);
    cr_expect_eq(troupe_trace_set_ratio(sys, 2.0), TROUPE_EINVAL);
    troupe_trace_stats st;
    cr_expect_eq(troupe_trace_stats_get(sys, &st), TROUPE_ENOTSUP);
    cr_expect_eq(troupe_trace_flush(sys, 1), TROUPE_ENOTSUP);
    troupe_system_destroy(sys);
}
#endif

#if !TROUPE_HAVE_CLUSTER
Test(features, cluster_is_enotsup_without_cluster)
{
    troupe_system *sys = NULL;
    cr_assert_eq(troupe_system_create(&sys, NULL), 0);
    troupe_cluster_config cfg;
    troupe_cluster_config_defaults(&cfg);
    cr_expect_eq(cfg.lease_ms, 3000);
    cr_expect_eq(cfg.renew_ms, 500);
    cfg.cluster = "c";
    cfg.node = "n";
    cfg.nats_urls = "nats://127.0.0.1:1";
    cfg.pg_conninfo = "";
    troupe_cluster *c = (troupe_cluster *)&cfg; /* must be overwritten */
    cr_expect_eq(troupe_cluster_create(sys, &cfg, &c), TROUPE_ENOTSUP);
    cr_expect_null(c);
    cr_expect_eq(troupe_cluster_create(NULL, &cfg, &c), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_join(NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_leave(NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_state_of(NULL), TROUPE_EINVAL);
    /* cluster actors and names: every call is there, none has a handle */
    troupe_cluster_where w;
    troupe_cluster_owner_stats st;
    troupe_ref r = {0};
    cr_expect_eq(troupe_cluster_kind_register(NULL, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_actor(NULL, "k", "i", &w), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_where_is(NULL, "k", "i", &w), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_migrate(NULL, "k", "i", "n"), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_unpark(NULL, "k", "i"), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_owner_stats_get(NULL, &st), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_name_register(NULL, "n", r), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_name_lookup(NULL, "n", NULL, &r), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_name_unregister(NULL, "n"), TROUPE_EINVAL);
    size_t n = 7;
    troupe_cluster_node nd;
    cr_expect_eq(troupe_cluster_nodes(NULL, &nd, 1, &n), TROUPE_EINVAL);
    cr_expect_eq(n, 0);
    troupe_cluster_destroy(NULL);
    troupe_system_destroy(sys);
}
#endif

#if !TROUPE_HAVE_MIGRATE
static int nop_handle(troupe_ctx *ctx, void *st, const troupe_msg *m)
{
    (void)ctx, (void)st, (void)m;
    return 0;
}

static const troupe_behaviour nop_beh = {.name = "features.nop", .handle = nop_handle};

/* Configuring is refused; reading a flag reads it as nobody set it. */
Test(features, flags_and_adapters_are_enotsup_without_migrate)
{
    troupe_system *sys;
    cr_assert_eq(troupe_system_create(&sys, NULL), 0);
    cr_expect_eq(troupe_flags_load(sys, NULL), TROUPE_ENOTSUP);
    cr_expect_eq(troupe_flags_set(sys, "x", "on"), TROUPE_ENOTSUP);
    cr_expect_eq(troupe_flag_enabled(sys, "x", 7), 0);
    cr_expect_eq(troupe_flags_generation(sys), 0u);
    const troupe_flag *f = NULL;
    cr_expect_eq(troupe_flag_find(sys, "x", &f), TROUPE_ENOTSUP);
    cr_expect_eq(troupe_flag_read(f).kind, TROUPE_FLAG_OFF);
    troupe_ref actor;
    cr_assert_eq(troupe_spawn(sys, &nop_beh, NULL, NULL, &actor), 0);
    troupe_adapter_config ac;
    troupe_adapter_config_defaults(&ac);
    cr_expect_eq(ac.sample_every, 16u);
    ac.actor = actor;
    troupe_adapter h;
    troupe_adapter_def def = {.name = "x"};
    cr_expect_eq(troupe_adapter_create(sys, &def, &ac, &h), TROUPE_ENOTSUP);
    size_t n;
    cr_expect_eq(troupe_adapter_list(sys, NULL, 0, &n), TROUPE_ENOTSUP);
    troupe_adapter_trace *t = NULL;
    cr_expect_eq(troupe_adapter_trace_create(&t), TROUPE_ENOTSUP);
    cr_expect_null(t);
    cr_expect_eq(troupe_flags_load(NULL, NULL), TROUPE_EINVAL);
    troupe_system_destroy(sys);
}
#endif

#if TROUPE_HAVE_HTTP && !TROUPE_HAVE_MIGRATE
#include "../http/client.h"

/* The server without the flags and adapters it shows: 501, the rest serves. */
Test(features, http_without_migrate_answers_501_for_flags_and_adapters)
{
    troupe_system *sys;
    cr_assert_eq(troupe_system_create(&sys, NULL), 0);
    troupe_http *h;
    cr_assert_eq(troupe_http_start(sys, NULL, &h), 0);
    int port = troupe_http_port(h);
    const char *gone[] = {"/api/flags", "/api/adapters"};
    for (size_t i = 0; i < 2; i++) {
        hc_resp r = hc_get(port, gone[i]);
        cr_expect_eq(r.status, 501, "%s answered %d", gone[i], r.status);
        hc_free(&r);
    }
    hc_resp r = hc_get(port, "/metrics");
    cr_expect_eq(r.status, 200);
    hc_free(&r);
    troupe_http_stop(h);
    troupe_system_destroy(sys);
}
#endif
