/* tests/runtime/test_deploy_env.c — the environment's deployment at system
 * creation (docs/DEPLOY.md, "At creation"): TROUPE_DEPLOY and
 * TROUPE_DEPLOY_FILE give a system created without pools its pools; a bad
 * line fails the create with the parser's code and its line-numbered text;
 * a program's own pools win; no_env_deploy opts out; nothing set: the
 * defaults; a test kit never reads it. Criterion runs each test in a
 * process of its own, so setenv here reaches no other test. */
#include <unistd.h>

#include "../support.h"

#include <criterion/redirect.h> /* after criterion.h, which support.h includes */

enum { M_WHERE = 1 };

/* Replies with the pool of the worker running it. */
static int h_where(troupe_ctx *ctx, void *state, const troupe_msg *m)
{
    (void)state, (void)m;
    const char *p = troupe_current_pool();
    return troupe_reply(ctx, M_WHERE, p, p ? strlen(p) + 1 : 0);
}

static const troupe_behaviour where_beh = {.name = "deploy.where", .handle = h_where};

static void env_clear(void)
{
    unsetenv("TROUPE_DEPLOY");
    unsetenv("TROUPE_DEPLOY_FILE");
}

static troupe_config base_cfg(void)
{
    troupe_config c;
    troupe_config_defaults(&c);
    c.workers = 2;
    c.pin = 0;
    return c;
}

static void expect_pool(troupe_system *sys, const char *name, uint32_t workers, int blocking)
{
    troupe_pool_info info;
    cr_assert_eq(troupe_pool_info_get(sys, name, &info), 0, "no pool '%s'", name);
    cr_expect_eq(info.workers, workers, "%s: %u workers, want %u", name, info.workers, workers);
    cr_expect_eq(info.blocking, blocking, "%s: blocking", name);
}

/* The pool an actor spawned into `pool` runs on, by asking it. */
static void expect_runs_in(troupe_system *sys, const char *pool)
{
    troupe_spawn_opts o;
    troupe_spawn_opts_defaults(&o);
    o.pool = pool;
    troupe_ref ref;
    cr_assert_eq(troupe_spawn(sys, &where_beh, NULL, &o, &ref), 0);
    char where[TROUPE_POOL_NAME_MAX + 1] = "";
    uint32_t type;
    size_t len;
    cr_assert_eq(troupe_ask(sys, ref, M_WHERE, NULL, 0, ASK_FOREVER_NS, &type, where, sizeof where, &len), 0);
    cr_expect_str_eq(where, pool);
}

Test(deploy_env, troupe_deploy_gives_the_pools)
{
    env_clear();
    setenv("TROUPE_DEPLOY", "pool default workers=2 cpus=0-1 pin=no;pool io blocking=yes workers=1 max=3", 1);
    troupe_config c = base_cfg();
    troupe_system *sys;
    cr_assert_eq(troupe_system_create(&sys, &c), 0);
    const char *names[4];
    cr_assert_eq(troupe_system_pools(sys, names, 4), 2);
    cr_expect_str_eq(names[0], "default");
    cr_expect_str_eq(names[1], "io");
    expect_pool(sys, "default", 2, 0);
    expect_pool(sys, "io", 1, 1);
    troupe_pool_info info;
    cr_assert_eq(troupe_pool_info_get(sys, "io", &info), 0);
    cr_expect_eq(info.max_workers, 3u);
    expect_runs_in(sys, "io");
    char err[64] = "x";
    cr_expect_eq(troupe_deploy_last_error(err, sizeof err), 0);
    cr_expect_str_eq(err, "", "a create that succeeded leaves no error");
    troupe_system_destroy(sys);
}

Test(deploy_env, a_null_config_reads_the_environment_too)
{
    env_clear();
    setenv("TROUPE_DEPLOY", "pool default workers=1 pin=no;pool side workers=1 pin=no", 1);
    troupe_system *sys;
    cr_assert_eq(troupe_system_create(&sys, NULL), 0);
    cr_expect_eq(troupe_system_pools(sys, NULL, 0), 2);
    expect_pool(sys, "side", 1, 0);
    troupe_system_destroy(sys);
}

Test(deploy_env, troupe_deploy_file_gives_the_pools)
{
    env_clear();
    char path[] = "/tmp/troupe-deploy-env-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    const char *text = "# a file\npool default workers=1 pin=no\npool shard workers=2 cpus=0,1 pin=no\n";
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    setenv("TROUPE_DEPLOY_FILE", path, 1);
    troupe_config c = base_cfg();
    troupe_system *sys;
    int rc = troupe_system_create(&sys, &c);
    unlink(path);
    cr_assert_eq(rc, 0);
    cr_expect_eq(troupe_system_pools(sys, NULL, 0), 2);
    expect_pool(sys, "default", 1, 0);
    expect_pool(sys, "shard", 2, 0);
    expect_runs_in(sys, "shard");
    troupe_system_destroy(sys);
}

/* The create fails with rc, leaves *out NULL, and the thread's last error
 * is want (which stderr shows too: deploy_env's stderr tests). */
static void expect_create_fails(int rc, const char *want)
{
    troupe_config c = base_cfg();
    troupe_system *sys = (troupe_system *)1;
    cr_expect_eq(troupe_system_create(&sys, &c), rc);
    cr_expect_null(sys);
    char err[512];
    cr_assert_eq(troupe_deploy_last_error(err, sizeof err), 0);
    cr_expect_str_eq(err, want);
}

Test(deploy_env, a_bad_line_fails_the_create_with_its_code)
{
    env_clear();
    setenv("TROUPE_DEPLOY", "pool default workers=1;pool io wrokers=1", 1);
    expect_create_fails(TROUPE_EINVAL, "TROUPE_DEPLOY: line 2: unknown key 'wrokers'");
    setenv("TROUPE_DEPLOY", "pool a;pool a", 1);
    expect_create_fails(TROUPE_EEXIST, "TROUPE_DEPLOY: line 2: pool 'a' defined twice (first on line 1)");
    setenv("TROUPE_DEPLOY", "pool default cpus=4000", 1);
    expect_create_fails(TROUPE_ENOTFOUND, "TROUPE_DEPLOY: line 1: cpus: the machine has no CPU 4000");
    setenv("TROUPE_DEPLOY", "pool default;pool IO blocking=yes", 1);
    expect_create_fails(TROUPE_EINVAL,
                        "TROUPE_DEPLOY: line 2: pool name 'IO': bad character (a-z 0-9 _ - . only)");
    env_clear();
    setenv("TROUPE_DEPLOY_FILE", "/nonexistent/deploy", 1);
    expect_create_fails(TROUPE_EIO,
                        "TROUPE_DEPLOY_FILE: /nonexistent/deploy: cannot open: No such file or directory");
    troupe_config c = base_cfg();
    c.batch = 0; /* the config's own error: the deployment's text is gone */
    troupe_system *sys;
    cr_expect_eq(troupe_system_create(&sys, &c), TROUPE_EINVAL);
    char err[64] = "x";
    cr_assert_eq(troupe_deploy_last_error(err, sizeof err), 0);
    cr_expect_str_eq(err, "");
    cr_expect_eq(troupe_deploy_last_error(NULL, 1), TROUPE_EINVAL);
    cr_expect_eq(troupe_deploy_last_error(err, 0), TROUPE_EINVAL);
}

/* Each pool within the pools' bounds, their sum over TROUPE_MAX_WORKERS:
 * the parser passes it, the system's check refuses it, and the error
 * still names the deployment. */
Test(deploy_env, pools_the_system_refuses_name_the_deployment)
{
    env_clear();
    setenv("TROUPE_DEPLOY", "pool default workers=200 pin=no;pool more workers=100 pin=no", 1);
    expect_create_fails(TROUPE_EINVAL, "TROUPE_DEPLOY: the system refuses the deployment's pools "
                                       "(more than 256 workers in all, a blocking pool counting its max)");
}

Test(deploy_env, a_failure_goes_to_stderr, .init = cr_redirect_stderr)
{
    env_clear();
    setenv("TROUPE_DEPLOY", "\n\npool a wrokers=1", 1);
    expect_create_fails(TROUPE_EINVAL, "TROUPE_DEPLOY: line 3: unknown key 'wrokers'");
    fflush(stderr);
    cr_expect_stderr_eq_str("troupe: TROUPE_DEPLOY: line 3: unknown key 'wrokers' (TROUPE_EINVAL)\n");
}

Test(deploy_env, explicit_pools_win_over_the_environment)
{
    env_clear();
    setenv("TROUPE_DEPLOY", "pool default wrokers=9", 1); /* bad: never read */
    troupe_pool_config p[1];
    troupe_pool_config_defaults(&p[0]);
    p[0].name = "mine";
    p[0].workers = 1;
    p[0].pin = 0;
    troupe_config c = base_cfg();
    c.pools = p;
    c.npools = 1;
    troupe_system *sys;
    cr_assert_eq(troupe_system_create(&sys, &c), 0);
    const char *names[2];
    cr_assert_eq(troupe_system_pools(sys, names, 2), 1);
    cr_expect_str_eq(names[0], "mine");
    troupe_system_destroy(sys);
}

Test(deploy_env, no_env_deploy_opts_out)
{
    env_clear();
    setenv("TROUPE_DEPLOY", "pool default workers=1 pin=no;pool io blocking=yes", 1);
    troupe_config c = base_cfg();
    c.no_env_deploy = 1;
    troupe_system *sys;
    cr_assert_eq(troupe_system_create(&sys, &c), 0);
    cr_expect_eq(troupe_system_pools(sys, NULL, 0), 1, "the config's one pool, not the environment's");
    expect_pool(sys, "default", 2, 0);
    troupe_system_destroy(sys);
    setenv("TROUPE_DEPLOY", "pool default wrokers=1", 1);
    cr_assert_eq(troupe_system_create(&sys, &c), 0, "a bad deployment opted out of is not read");
    troupe_system_destroy(sys);
}

Test(deploy_env, nothing_set_gives_the_defaults)
{
    env_clear();
    setenv("TROUPE_DEPLOY", "", 1); /* empty: as unset */
    troupe_config c = base_cfg();
    troupe_system *sys;
    cr_assert_eq(troupe_system_create(&sys, &c), 0);
    const char *names[2];
    cr_assert_eq(troupe_system_pools(sys, names, 2), 1);
    cr_expect_str_eq(names[0], "default");
    expect_pool(sys, "default", 2, 0);
    troupe_system_destroy(sys);
}

/* A test kit's runs must not depend on the shell: even a bad deployment
 * in the environment leaves its system alone (one pool, "default"). */
Test(deploy_env, a_test_kit_never_reads_the_environment)
{
    env_clear();
    setenv("TROUPE_DEPLOY", "pool default wrokers=1", 1);
    troupe_testkit *kit;
    cr_assert_eq(troupe_testkit_create(&kit, NULL), 0);
    const char *names[2];
    cr_expect_eq(troupe_system_pools(troupe_testkit_system(kit), names, 2), 1);
    cr_expect_str_eq(names[0], "default");
    troupe_testkit_destroy(kit);
}
