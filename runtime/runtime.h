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

struct troupe_deploy;
/* The environment's deployment for a create with cfg (runtime/deploy_env.c):
 * when cfg names no pools and its no_env_deploy is 0, troupe_deploy_from_env;
 * a deployment found is *dep (the caller's to free: the system's, once
 * created) and *use is cfg with its pools (cfg otherwise). A failure's
 * text is kept for troupe_deploy_last_error and printed on stderr. 0 or
 * its code. */
int system_env_deploy(const troupe_config *cfg, troupe_config *use, struct troupe_deploy **dep);
/* Clear the thread's last deploy error (every troupe_system_create). */
void system_env_forget(void);
/* The system refused the deployment's pools (rc, from its checks): keep
 * and print why, as for a parse error. */
void system_env_refused(int rc);

#endif
