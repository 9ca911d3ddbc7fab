/* registry/registry.h — the registry's internal interface to the core
 * (public API: include/troupe/registry.h). */
#ifndef TROUPE_REGISTRY_REGISTRY_H
#define TROUPE_REGISTRY_REGISTRY_H

struct troupe_system;

/* Called by troupe_system_create / destroy (after the workers are joined). */
int registry_create(struct troupe_system *sys);
void registry_destroy(struct troupe_system *sys);
/* An actor stopped for good: remove its entry (the `reg` pointer its ext
 * held; ext_on_finish has already cleared it under the ext lock). Any
 * thread; never waits for readers or a grace period (the entry is freed
 * later by call_rcu); takes only its behaviour group's writer lock. */
void registry_forget(struct troupe_system *sys, void *entry);

#endif
