/* core/hooks.c — core's defaults for the operations it calls upward
 * (core/hooks.h): what a system without the feature does. A feature's
 * create (runtime/system.c calls it) replaces them with its own. */
#include "core/hooks.h"
#include "core/fault.h"
#include "core/probe.h"
#include "core/system.h"

/* No supervisor: nothing is supervised, yet an exit must still end the
 * actor (its stop callback already ran when it should). */
static void end_unsupervised(troupe_system *sys, actor *a, troupe_failure_kind kind, int code,
                             const char *reason)
{
    (void)code;
    actor_end(sys, a, kind, false, reason);
}

static void no_reinit(troupe_system *sys, actor *a)
{
    (void)sys;
    (void)a; /* AF_REINIT is only ever set by a supervisor */
}

/* No persistence: a persistent behaviour cannot be spawned. */
static int no_attach(troupe_system *sys, actor *a, const troupe_spawn_opts *opts)
{
    (void)sys;
    (void)a;
    (void)opts;
    return TROUPE_ENOTSUP;
}

static int no_recover(troupe_system *sys, actor *a, troupe_ctx *ctx)
{
    (void)sys;
    (void)a;
    (void)ctx;
    return 0;
}

static void no_handled(troupe_system *sys, troupe_ctx *ctx, actor *a, int rc)
{
    (void)sys;
    (void)ctx;
    (void)rc;
    a->flags &= (uint16_t)~AF_PBUF;
}

static bool no_park(actor *a)
{
    a->flags &= (uint16_t)~AF_PWAIT;
    return false; /* run on */
}

static void no_fold(troupe_system *sys, actor *a)
{
    (void)sys;
    (void)a;
}

static void no_detach(actor *a) { (void)a; }

static void no_failed(troupe_system *sys, actor *a, const troupe_failure *f)
{
    (void)sys;
    (void)a;
    (void)f;
}

/* No registry: a name cannot be taken. */
static int no_name(troupe_system *sys, const char *name, troupe_ref ref)
{
    (void)sys;
    (void)name;
    (void)ref;
    return TROUPE_ENOTSUP;
}

static void no_forget(troupe_system *sys, void *entry)
{
    (void)sys;
    (void)entry;
}

void hooks_defaults(core_hooks *h)
{
    *h = (core_hooks){.exited = end_unsupervised,
                      .reinit = no_reinit,
                      .attach = no_attach,
                      .recover = no_recover,
                      .handled = no_handled,
                      .park = no_park,
                      .fold = no_fold,
                      .detach = no_detach,
                      .failed = no_failed,
                      .name = no_name,
                      .forget = no_forget};
    hooks_sysmsg(h, SYSMSG_PROBE, probe_serve); /* core's own: a trace was armed */
    hooks_sysmsg(h, SYSMSG_FAULT, fault_serve); /* core's own: message faults (core/fault.c) */
}

void hooks_sysmsg(core_hooks *h, uint32_t type, sysmsg_fn f)
{
    uint32_t slot = type - SYSMSG_FIRST;
    TR_ASSERT(slot < SYSMSG_SLOTS && type != SYSMSG_STOP && type != SYSMSG_KILL);
    if (slot < SYSMSG_SLOTS)
        h->sysmsg[slot] = f;
}
