/* troupe/group.h — process groups: actors joined under a name (Erlang's pg).
 *
 * Any actor may join any number of groups, by name; a publish sends one
 * message to every member of a group; a group monitor tells a watcher when
 * members come and go. A member that stops for good leaves its groups by
 * itself: the runtime monitors every member (troupe/monitor.h), so a
 * restart under supervision (the ref survives) keeps it in, and its DOWN
 * removes it shortly after the stop, as pg does — until then a publish may
 * still address it and its tell fails quietly (not counted as delivered).
 *
 * Groups are per system and local to it. Names are 1..TROUPE_GROUP_NAME_MAX-1
 * bytes; a group exists from its first join and stays (empty) after its
 * last member leaves, up to TROUPE_GROUP_MAX groups per system.
 *
 * Thread safety: every call from any thread, including handlers. publish
 * and members take no lock: they read a snapshot of the members, so a join
 * or leave that runs at the same time may or may not be seen by them.
 */
#ifndef TROUPE_GROUP_H
#define TROUPE_GROUP_H

#include <stddef.h>
#include <stdint.h>

#include "troupe/export.h"
#include "troupe/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct troupe_system troupe_system;

#define TROUPE_GROUP_NAME_MAX 64u /* bytes, with the terminating NUL */
#define TROUPE_GROUP_MAX 4096u    /* groups per system */
#define TROUPE_GROUP_MEMBERS_MAX 65536u /* members of one group (a join or leave copies them) */

/* The type of a group monitor's messages: msg->data is a troupe_group_event. */
#define TROUPE_MSG_GROUP (TROUPE_MSG_SYSTEM + 5u)

typedef enum troupe_group_change {
    TROUPE_GROUP_JOINED = 1, /* member joined the group */
    TROUPE_GROUP_LEFT = 2,   /* member left: troupe_group_leave, or it stopped */
} troupe_group_change;

typedef struct troupe_group_event {
    char group[TROUPE_GROUP_NAME_MAX]; /* the group's name */
    troupe_ref member;
    uint64_t monitor;            /* the id troupe_group_monitor returned */
    uint32_t change;             /* troupe_group_change */
    uint32_t reserved;
} troupe_group_event;

/* Add a live actor to the group `name` (made on the first join). Errors:
 * TROUPE_EINVAL (NULL sys or name, a name empty or of TROUPE_GROUP_NAME_MAX
 * bytes or more, a NONE ref), TROUPE_ENOACTOR (member is not a live actor of this
 * system), TROUPE_EEXIST (it is a member already), TROUPE_EFULL (the system
 * has TROUPE_GROUP_MAX groups, or the group TROUPE_GROUP_MEMBERS_MAX
 * members), TROUPE_ENOMEM, TROUPE_ESHUTDOWN. */
TROUPE_API int troupe_group_join(troupe_system *sys, const char *name, troupe_ref member);

/* Remove member from the group. Errors: TROUPE_EINVAL (as join),
 * TROUPE_ENOTFOUND (no such group, or member is not in it), TROUPE_ENOMEM
 * (it stays a member). */
TROUPE_API int troupe_group_leave(troupe_system *sys, const char *name, troupe_ref member);

/* The members of the group, in the order they joined: up to cap refs into
 * out (out may be NULL when cap is 0), and their count in *count (which may
 * exceed cap). An unknown group has no members (0, *count = 0). Errors:
 * TROUPE_EINVAL (NULL sys, name or count; out NULL with cap > 0; a bad name). */
TROUPE_API int troupe_group_members(troupe_system *sys, const char *name, troupe_ref *out,
                                    size_t cap, size_t *count);

/* Tell every member of the group a copy of the message (troupe_tell's
 * rules: data copied, len <= TROUPE_COPY_MAX, type below TROUPE_MSG_SYSTEM).
 * *delivered (may be NULL) counts the members whose mailbox took it; a
 * member with a full mailbox or that ended is skipped, not an error. An
 * unknown or empty group delivers to nobody (0). Errors: TROUPE_EINVAL (NULL
 * sys or name, a bad name, NULL data with len > 0, len too big, a reserved
 * type), TROUPE_ESHUTDOWN, TROUPE_ENOMEM (a copy could not be had: the members
 * after it got nothing). */
TROUPE_API int troupe_group_publish(troupe_system *sys, const char *name, uint32_t type,
                                    const void *data, size_t len, size_t *delivered);

/* Monitor the group `name` (it need not exist yet): watcher, a live actor,
 * receives a TROUPE_MSG_GROUP message for every member that joins or
 * leaves from now on, in the order they happen. *id (never 0) names the
 * monitor for troupe_group_demonitor; the monitor ends with the watcher.
 * An event whose message cannot be allocated (out of memory) is lost.
 * Errors: TROUPE_EINVAL (NULL sys, name or id, a bad name, a NONE ref),
 * TROUPE_ENOACTOR (the watcher is not live), TROUPE_EFULL (too many
 * groups), TROUPE_ENOMEM, TROUPE_ESHUTDOWN. */
TROUPE_API int troupe_group_monitor(troupe_system *sys, const char *name, troupe_ref watcher,
                                    uint64_t *id);

/* End a group monitor: no event is sent for it afterwards. Errors:
 * TROUPE_EINVAL (NULL sys, id 0), TROUPE_ENOTFOUND (no such monitor). */
TROUPE_API int troupe_group_demonitor(troupe_system *sys, uint64_t id);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_GROUP_H */
