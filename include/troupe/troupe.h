/* troupe/troupe.h — the whole public API.
 *
 *   troupe_system *sys;
 *   troupe_system_create(&sys, NULL);          // one worker per core
 *   troupe_ref r;
 *   troupe_spawn(sys, &counter_behaviour, NULL, NULL, &r);
 *   troupe_tell(sys, r, MSG_ADD, &n, sizeof n);
 *   troupe_ask(sys, r, MSG_GET, NULL, 0, 1000000000, NULL, &v, sizeof v, NULL);
 *   troupe_system_destroy(sys);
 */
#ifndef TROUPE_TROUPE_H
#define TROUPE_TROUPE_H

#include "troupe/actor.h"
#include "troupe/adapter.h"
#include "troupe/async.h"
#include "troupe/breaker.h"
#include "troupe/clock.h"
#include "troupe/cluster.h"
#include "troupe/deploy.h"
#include "troupe/error.h"
#include "troupe/export.h"
#include "troupe/failure.h"
#include "troupe/flags.h"
#include "troupe/http.h"
#include "troupe/mailbox.h"
#include "troupe/message.h"
#include "troupe/monitor.h"
#include "troupe/observe.h"
#include "troupe/persist.h"
#include "troupe/pool.h"
#include "troupe/fault.h"
#include "troupe/probe.h"
#include "troupe/group.h"
#include "troupe/router.h"
#include "troupe/registry.h"
#include "troupe/supervisor.h"
#include "troupe/system.h"
#include "troupe/testkit.h"
#include "troupe/timer.h"
#include "troupe/trace.h"
#include "troupe/types.h"

#define TROUPE_VERSION_MAJOR 0
#define TROUPE_VERSION_MINOR 1
#define TROUPE_VERSION_PATCH 0

#endif /* TROUPE_TROUPE_H */
