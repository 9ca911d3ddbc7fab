/* runtime/runtime.h — what the composition root (runtime/system.c) lends
 * the test kit (runtime/testkit.c): a system created without threads to
 * run it, and its teardown once the kit has run it down. */
#ifndef TROUPE_RUNTIME_RUNTIME_H
#define TROUPE_RUNTIME_RUNTIME_H

#include "core/system.h"

/* troupe_system_create; manual: test mode (sys->manual: no worker and no
 * supervisor thread, nothing started that the caller's thread does not
 * run). The same errors. */
int system_create_mode(troupe_system **out, const troupe_config *cfg, bool manual);
/* Stop, finish, destroy and free every part, without the orderly
 * shutdown (the kit ran it: runtime/testkit.c). */
void system_teardown(troupe_system *sys);

#endif
