/* runtime/system.c — the composition root: which subsystems a system is
 * made of, and the one order in which they are created, started, drained,
 * stopped and destroyed.
 *
 * Core (core/system.c) knows none of the subsystems above it; each one
 * registers what core must call of it (core/hooks.h) in its create. This
 * file is the only place that names them all: a new subsystem is one row
 * of `subsystems`, and core does not change.
 *
 * The life of a system, in order:
 *   create   core_init, then every row's create, in table order
 *   start    core_start (the dead-letter actor, the workers), then every
 *            row's start, in table order
 *   shutdown every row's drain, in reverse order (the supervision tree
 *            first, while the system still runs), then core_shutdown
 *            (every actor's stop, and the wait for them)
 *   destroy  shutdown; core_halt (the workers are joined); every row's
 *            stop, in reverse order (their threads end, their last messages
 *            are sent); core_finish (every actor still open ends); every
 *            row's destroy, in reverse order; core_free
 * A row's functions may be NULL. stop and destroy run for every row, also
 * after a failed create: each copes with a subsystem it never created.
 */
#include <stddef.h>
#include <string.h>

#include "breaker/breaker.h"
#include "core/system.h"
#include "group/group.h"
#include "migrate/mig.h"
#include "observe/obs.h"
#include "persistence/pers.h"
#include "registry/registry.h"
#include "runtime/runtime.h"
#include "supervisor/sv.h"
#include "trace/trace_sub.h"
#include "troupe/deploy.h"

typedef struct subsystem {
    const char *name;
    int (*create)(troupe_system *sys);
    int (*start)(troupe_system *sys);
    int (*drain)(troupe_system *sys, uint64_t timeout_ns);
    void (*stop)(troupe_system *sys);
    void (*destroy)(troupe_system *sys);
} subsystem;

/* Created in this order, destroyed in reverse. observe comes before the
 * features that register their metric writers with it (breakers, migrate):
 * obs_metrics_register answers TROUPE_ESTATE before obs_create. */
/* clang-format off */
static const subsystem subsystems[] = {
    /* name          create           start         drain             stop            destroy */
    {"supervisor",   sv_create,       NULL,         sv_shutdown_root, sv_stop_thread, sv_destroy},
    {"registry",     registry_create, NULL,         NULL,             NULL,           registry_destroy},
    {"groups",       groups_create,   NULL,         NULL,             NULL,           groups_destroy},
    {"observe",      obs_create,      health_start, NULL,             NULL,           obs_destroy},
    {"breakers",     breakers_create, NULL,         NULL,             NULL,           breakers_destroy},
    {"migrate",      migrate_create,  NULL,         NULL,             NULL,           migrate_destroy},
    {"persistence",  persist_create,  NULL,         NULL,             persist_stop,   NULL},
    /* after supervisor (it wraps its reinit) and observe (its metrics) */
    {"trace",        trace_create,    NULL,         NULL,             trace_stop,     trace_destroy},
};
/* clang-format on */
#define NSUB (sizeof subsystems / sizeof subsystems[0])

/* no_env_deploy came out of the reserved bytes (core/system.c asserts
 * the size): the reserved bytes start right after it. */
_Static_assert(offsetof(troupe_config, reserved) == offsetof(troupe_config, no_env_deploy) + sizeof(int),
               "troupe_config's layout");

#define SHUTDOWN_DEFAULT_NS (30ull * 1000000000ull)

TROUPE_API void troupe_config_defaults(troupe_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->workers = 0;
    cfg->pin = 1;
    cfg->mailbox_capacity = 1000;
    cfg->overflow = TROUPE_OVERFLOW_BLOCK;
    cfg->batch = 100;
    cfg->block_timeout_ns = 5000000000ull;
    cfg->spin_ns = 50000;
    cfg->use_arena = 1;
    troupe_restart_policy_defaults(&cfg->restart);
    cfg->stable_ns = 10000000000ll;
    cfg->root_intensity = 10;
    cfg->root_period_ns = 60000000000ll;
    cfg->shutdown_timeout_ns = (int64_t)SHUTDOWN_DEFAULT_NS;
    cfg->health_interval_ns = 1000000000ll;
    cfg->health_misses = 3;
    cfg->stall_ns = 5000000000ll;
}

/* Core's fields, then the supervisor's and the health monitor's. */
static int validate(const troupe_config *c)
{
    int rc = core_config_check(c);
    if (rc)
        return rc;
    if (c->stable_ns <= 0 || c->root_period_ns <= 0 || c->root_intensity > 1000000 ||
        c->restart.kind == TROUPE_RESTART_DEFAULT)
        return TROUPE_EINVAL;
    if (c->health_interval_ns < 0 || c->health_misses == 0 || c->stall_ns < 0)
        return TROUPE_EINVAL;
    return sv_check_policy(&c->restart);
}

/* After the workers are joined: stop, finish, destroy and free (every
 * row, whether it was created or not). `shutdown`: the system was
 * created, shut it down first. */
static void teardown(troupe_system *sys, bool shutdown)
{
    if (shutdown)
        troupe_system_shutdown(sys, (uint64_t)sys->cfg.shutdown_timeout_ns);
    core_halt(sys);
    for (size_t i = NSUB; i-- > 0;)
        if (subsystems[i].stop)
            subsystems[i].stop(sys);
    core_finish(sys);
    for (size_t i = NSUB; i-- > 0;)
        if (subsystems[i].destroy)
            subsystems[i].destroy(sys);
    struct troupe_deploy *dep = sys->deploy;
    core_free(sys);
    troupe_deploy_destroy(dep); /* sys->cfg.pools pointed into it */
}

static int create_all(troupe_system *sys, const troupe_config *cfg)
{
    int rc = core_init(sys, cfg);
    for (size_t i = 0; rc == 0 && i < NSUB; i++)
        if (subsystems[i].create)
            rc = subsystems[i].create(sys);
    return rc;
}

static int start_all(troupe_system *sys)
{
    int rc = core_start(sys);
    for (size_t i = 0; rc == 0 && i < NSUB; i++)
        if (subsystems[i].start)
            rc = subsystems[i].start(sys);
    return rc;
}

TROUPE_API int troupe_system_create(troupe_system **out, const troupe_config *cfg)
{
    return system_create_mode(out, cfg, false);
}

/* cfg (NULL: the defaults) checked, then with the environment's
 * deployment in *use when cfg leaves the pools to it (a test kit's never:
 * its runs must not depend on the environment). A refusal of the
 * deployment's pools is reported as the deployment's. */
static int config_of(const troupe_config *cfg, bool manual, troupe_config *use,
                     struct troupe_deploy **dep)
{
    troupe_config def;
    if (!cfg) {
        troupe_config_defaults(&def);
        cfg = &def;
    }
    int rc = validate(cfg);
    *dep = NULL;
    *use = *cfg;
    if (manual)
        return rc;
    system_env_forget(); /* a create's own error only, whatever fails it */
    if (rc || (rc = system_env_deploy(cfg, use, dep)) || !*dep)
        return rc;
    if ((rc = validate(use))) {
        system_env_refused(rc);
        troupe_deploy_destroy(*dep);
        *dep = NULL;
    }
    return rc;
}

int system_create_mode(troupe_system **out, const troupe_config *cfg, bool manual)
{
    troupe_config use;
    struct troupe_deploy *dep;
    if (!out)
        return TROUPE_EINVAL;
    *out = NULL;
    int rc = config_of(cfg, manual, &use, &dep);
    if (rc)
        return rc;
    troupe_system *sys = core_new();
    if (!sys) {
        troupe_deploy_destroy(dep);
        return TROUPE_ENOMEM;
    }
    sys->manual = manual; /* before any create: the supervisor reads it */
    sys->deploy = dep;    /* the system's now: its pools' names live in it */
    if ((rc = create_all(sys, &use))) {
        teardown(sys, false);
        return rc;
    }
    if ((rc = start_all(sys))) {
        teardown(sys, !manual); /* a kit's system has no thread to wait on */
        return rc;
    }
    *out = sys;
    return 0;
}

TROUPE_API int troupe_system_shutdown(troupe_system *sys, uint64_t timeout_ns)
{
    if (!sys)
        return TROUPE_EINVAL;
    if (troupei_tls.ctx || troupei_tls.w || sys->manual) /* a kit's: troupe_testkit_destroy */
        return TROUPE_ESTATE;
    uint64_t t0 = mono_ns();
    int rc = 0;
    for (size_t i = NSUB; i-- > 0;) {
        uint64_t spent = mono_ns() - t0;
        int r = subsystems[i].drain
                    ? subsystems[i].drain(sys, spent < timeout_ns ? timeout_ns - spent : 0)
                    : 0;
        rc = rc ? rc : r;
    }
    uint64_t spent = mono_ns() - t0;
    int rc2 = core_shutdown(sys, spent < timeout_ns ? timeout_ns - spent : 0);
    return rc ? rc : rc2;
}

TROUPE_API void troupe_system_destroy(troupe_system *sys)
{
    if (!sys || troupei_tls.ctx || troupei_tls.w || sys->manual) /* a kit's: its destroy */
        return;
    teardown(sys, true);
}

void system_teardown(troupe_system *sys)
{
    teardown(sys, false);
}
