/* tests/cluster/test_cluster_api.c — the cluster handle's contract: the
 * configuration is checked (names, periods, reserved bytes) and copied;
 * calls on a handle that never joined answer without touching a server. */
#include <criterion/criterion.h>
#include <stddef.h>
#include <string.h>

#include "troupe/troupe.h"

static troupe_system *sys;

static void setup(void)
{
    cr_assert_eq(troupe_system_create(&sys, NULL), 0);
}

static void teardown(void)
{
    troupe_system_destroy(sys);
}

TestSuite(cluster_api, .init = setup, .fini = teardown);

static troupe_cluster_config good(void)
{
    troupe_cluster_config cfg;
    troupe_cluster_config_defaults(&cfg);
    cfg.cluster = "test-cluster";
    cfg.node = "node_1";
    cfg.nats_urls = "nats://127.0.0.1:4222";
    cfg.pg_conninfo = "host=127.0.0.1";
    return cfg;
}

Test(cluster_api, defaults)
{
    troupe_cluster_config cfg;
    memset(&cfg, 0xff, sizeof cfg);
    troupe_cluster_config_defaults(&cfg);
    cr_expect_eq(cfg.lease_ms, 3000);
    cr_expect_eq(cfg.renew_ms, 500);
    cr_expect_null(cfg.cluster);
    for (size_t i = 0; i < sizeof cfg.reserved; i++)
        cr_expect_eq(cfg.reserved[i], 0);
    troupe_cluster_config_defaults(NULL);
}

Test(cluster_api, create_copies_and_starts_created)
{
    char node[] = "node_1";
    troupe_cluster_config cfg = good();
    cfg.node = node;
    troupe_cluster *c = NULL;
    cr_assert_eq(troupe_cluster_create(sys, &cfg, &c), 0);
    node[0] = 'X'; /* the handle kept its own copy: nothing to observe yet but no crash */
    cr_expect_eq(troupe_cluster_state_of(c), TROUPE_CLUSTER_CREATED);
    cr_expect_eq(troupe_cluster_leave(c), TROUPE_ESTATE);
    troupe_cluster_destroy(c);
}

/* One bad field at a time: each is TROUPE_EINVAL and leaves *out NULL. */
static void bad_name(troupe_cluster_config *c) { c->cluster = "a.b"; }
static void empty_name(troupe_cluster_config *c) { c->node = ""; }
static void null_node(troupe_cluster_config *c) { c->node = NULL; }
static void long_name(troupe_cluster_config *c)
{
    static char n[TROUPE_CLUSTER_NAME_MAX + 2];
    memset(n, 'a', sizeof n - 1);
    c->node = n;
}
static void wildcard(troupe_cluster_config *c) { c->node = "*"; }
static void no_nats(troupe_cluster_config *c) { c->nats_urls = ""; }
static void no_pg(troupe_cluster_config *c) { c->pg_conninfo = NULL; }
static void renew_slow(troupe_cluster_config *c) { c->renew_ms = c->lease_ms / 2; }
static void renew_zero(troupe_cluster_config *c) { c->renew_ms = 0; }
static void lease_zero(troupe_cluster_config *c) { c->lease_ms = 0; }
static void reserved(troupe_cluster_config *c) { c->reserved[sizeof c->reserved - 1] = 1; }
static void unknown_flag(troupe_cluster_config *c) { c->flags = 0x2; }

Test(cluster_api, bad_configs_are_einval)
{
    void (*bad[])(troupe_cluster_config *) = {bad_name, empty_name, null_node, long_name,
                                              wildcard, no_nats, no_pg, renew_slow,
                                              renew_zero, lease_zero, reserved, unknown_flag};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        troupe_cluster_config cfg = good();
        bad[i](&cfg);
        troupe_cluster *c = (troupe_cluster *)&cfg;
        cr_expect_eq(troupe_cluster_create(sys, &cfg, &c), TROUPE_EINVAL, "case %zu", i);
        cr_expect_null(c, "case %zu", i);
    }
}

/* The rejoin flag took 4 of the 64 reserved bytes: the size is unchanged,
 * and a config zeroed as before (flags 0) rejoins by default. */
Test(cluster_api, the_config_keeps_its_size_and_takes_the_no_rejoin_flag)
{
    /* four strings, lease_ms and renew_ms, then the 64 bytes flags came from */
    cr_expect_eq(sizeof(troupe_cluster_config), 4 * sizeof(char *) + 8 + 64);
    cr_expect_eq(offsetof(troupe_cluster_config, flags), 4 * sizeof(char *) + 8);
    troupe_cluster_config d;
    troupe_cluster_config_defaults(&d);
    cr_expect_eq(d.flags, 0u);
    troupe_cluster_config cfg = good();
    cfg.flags = TROUPE_CLUSTER_NO_REJOIN;
    troupe_cluster *c = NULL;
    cr_expect_eq(troupe_cluster_create(sys, &cfg, &c), 0);
    cr_expect_eq(troupe_cluster_state_of(c), TROUPE_CLUSTER_CREATED);
    troupe_cluster_destroy(c);
}

Test(cluster_api, null_arguments)
{
    troupe_cluster_config cfg = good();
    troupe_cluster *c = NULL;
    cr_expect_eq(troupe_cluster_create(NULL, &cfg, &c), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_create(sys, NULL, &c), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_create(sys, &cfg, NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_join(NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_leave(NULL), TROUPE_EINVAL);
    cr_expect_eq(troupe_cluster_state_of(NULL), TROUPE_EINVAL);
    troupe_cluster_destroy(NULL);
}

Test(cluster_api, error_texts)
{
    cr_expect_str_eq(troupe_errname(TROUPE_EFENCED), "TROUPE_EFENCED");
    cr_expect(strstr(troupe_strerror(TROUPE_EFENCED), "fenced") != NULL);
    cr_expect_str_eq(troupe_errname(TROUPE_ENODEDOWN), "TROUPE_ENODEDOWN");
}
