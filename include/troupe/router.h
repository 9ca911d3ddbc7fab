/* troupe/router.h — routers: one handle that spreads tells and asks over the
 * members of a process group (troupe/group.h).
 *
 * A router names a group, not a list: it grows and shrinks with the group
 * (members join in their init, leave by stopping), and a member restarted
 * by its supervisor keeps its ref, so callers never see the restart. Each
 * tell or ask picks one member by the router's rule and goes straight to it
 * (troupe_tell / troupe_ask): a router adds no hop and no actor.
 *
 *   ROUND_ROBIN  members in turn (one shared counter)
 *   RANDOM       a member at random
 *   HASH         rendezvous hashing of the caller's key: one key goes to
 *                one member while the membership stays, so the messages of
 *                one key from one sender keep their order; when a member
 *                leaves only its keys move
 *   SMALLEST     the member with the fewest messages queued, of two drawn
 *                at random (the power of two choices)
 *   BROADCAST    every member (troupe_group_publish); asks are refused
 *
 * Thread safety: every call from any thread; troupe_router_ask as
 * troupe_ask (not from a handler: pick, then troupe_ask_async).
 */
#ifndef TROUPE_ROUTER_H
#define TROUPE_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "troupe/export.h"
#include "troupe/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct troupe_system troupe_system;
typedef struct troupe_router troupe_router;

typedef enum troupe_route {
    TROUPE_ROUTE_ROUND_ROBIN = 0,
    TROUPE_ROUTE_RANDOM = 1,
    TROUPE_ROUTE_HASH = 2,
    TROUPE_ROUTE_SMALLEST = 3,
    TROUPE_ROUTE_BROADCAST = 4,
} troupe_route;

/* A router over the group `group` (which need not exist yet) of sys.
 * Errors: TROUPE_EINVAL (NULL sys or out, a bad group name as in
 * troupe_group_join, an unknown route), TROUPE_ENOMEM. */
TROUPE_API int troupe_router_create(troupe_system *sys, const char *group, troupe_route route,
                                    troupe_router **out);

/* Free the router (NULL is ignored). The group and its members stay. No
 * call on it may run at the same time or after. */
TROUPE_API void troupe_router_destroy(troupe_router *r);

/* The member the next tell or ask with this key would go to (key is used
 * by HASH only). Errors: TROUPE_EINVAL (NULL r or out; a BROADCAST
 * router), TROUPE_ENOTFOUND (the group has no member). */
TROUPE_API int troupe_router_pick(troupe_router *r, uint64_t key, troupe_ref *out);

/* troupe_tell to the member picked for key (every member for BROADCAST).
 * A member that ended after it was picked is skipped for the next (up to
 * a few tries). Errors: as troupe_router_pick, and as troupe_tell. */
TROUPE_API int troupe_router_tell(troupe_router *r, uint64_t key, uint32_t type, const void *data,
                                  size_t len);

/* troupe_ask to the member picked for key, with troupe_ask's arguments and
 * errors, and troupe_router_pick's (TROUPE_EINVAL for BROADCAST). */
TROUPE_API int troupe_router_ask(troupe_router *r, uint64_t key, uint32_t type, const void *data,
                                 size_t len, uint64_t timeout_ns, uint32_t *reply_type,
                                 void *reply_buf, size_t reply_cap, size_t *reply_len);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_ROUTER_H */
