/* registry/registry.c — placeholder until the registry lands (issue 3). */
#include "core/system.h"
#include "registry/registry.h"

int registry_create(struct troupe_system *sys)
{
    (void)sys;
    return 0;
}

void registry_destroy(struct troupe_system *sys) { (void)sys; }

void registry_forget(struct troupe_system *sys, void *entry)
{
    (void)sys;
    (void)entry;
}
