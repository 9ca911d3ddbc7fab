/* group/group.h — process groups (include/troupe/group.h), the system's side.
 *
 * A fixed table of buckets of groups, each an append-only chain: a group,
 * once made, lives as long as its system, so readers (publish, members)
 * walk the chains lock-free. A group's members are kept twice: the
 * writers' array under the table's mutex (with each member's monitor id),
 * and a snapshot of the refs published to readers, replaced on every
 * change and freed after an urcu-bp grace period (readers hold a read-side
 * section while they use it).
 *
 * Members leave by themselves through monitors: a keeper actor
 * (troupe.groups, group/keeper.c) watches every member and removes it from
 * every group it is in when its DOWN arrives.
 */
#ifndef TROUPE_GROUP_GROUP_H
#define TROUPE_GROUP_GROUP_H

#include <pthread.h>
#include <urcu/urcu-bp.h>

#include "core/system.h"
#include "troupe/group.h"

#define GROUP_BUCKETS 256u

typedef struct gsnap {
    struct rcu_head rcu; /* freed after a grace period (group_publish_snap) */
    uint32_t n;
    troupe_ref refs[];
} gsnap;

typedef struct gmember {
    troupe_ref ref;
    uint64_t mon; /* the keeper's monitor on it */
} gmember;

typedef struct gwatch {
    uint64_t id;
    troupe_ref watcher;
} gwatch;

typedef struct group {
    char name[TROUPE_GROUP_NAME_MAX];
    uint32_t hash;
    /* the next group of the bucket: written once, before the release that
     * publishes this group (group_find_or_make), read with acquire */
    struct group *_Atomic next;
    /* readers' snapshot: release by the writer that replaces it, acquire by
     * readers inside a read-side section; NULL = no member yet */
    gsnap *_Atomic snap;
    gmember *mem; /* under groups.lock */
    uint32_t n, cap;
    gwatch *w;    /* under groups.lock */
    uint32_t nw, wcap;
} group;

typedef struct groups {
    pthread_mutex_t lock; /* writers: joins, leaves, monitors, the keeper */
    struct group *_Atomic bucket[GROUP_BUCKETS];
    uint32_t ngroups;     /* under lock */
    uint64_t next_id;     /* group monitor ids, under lock */
    troupe_ref keeper;    /* under lock: group_keeper_locked */
} groups;

/* The system's groups, or NULL before groups_create / after destroy. */
static inline groups *groups_of(troupe_system *sys) { return sys->grp; }

/* 0 if name is a valid group name (1..NAME_MAX-1 bytes), else EINVAL. */
int group_name_check(const char *name);
uint32_t group_hash(const char *name);
/* Lock-free: the group named name, or NULL. */
group *group_find(groups *g, const char *name, uint32_t h);
/* Under g->lock: the group named name, made if need be (NULL: ENOMEM or
 * TROUPE_GROUP_MAX reached, *rc says which). */
group *group_find_or_make_locked(groups *g, const char *name, uint32_t h, int *rc);
/* Under g->lock: publish grp's members as a new snapshot (the old one goes
 * after a grace period). TROUPE_ENOMEM leaves the old one. */
int group_snap_locked(group *grp);
/* Under g->lock: tell grp's watchers that member changed. */
void group_notify_locked(troupe_system *sys, group *grp, troupe_ref member, uint32_t change);
/* Under g->lock: remove member i of grp (snapshot, watchers told). Without
 * memory for the snapshot: TROUPE_ENOMEM and nothing changed, unless must
 * (an ended member: removed, the old snapshot kept until the next change). */
int group_remove_locked(troupe_system *sys, group *grp, uint32_t i, bool must);

/* The keeper (group/keeper.c): a member's DOWN removes it everywhere. */
int groups_create(troupe_system *sys);
/* Under g->lock: the keeper, spawned if there is none (yet, or any more:
 * the system is shutting down then and the spawn says so). */
int group_keeper_locked(troupe_system *sys, groups *g);
void groups_destroy(troupe_system *sys);

#endif /* TROUPE_GROUP_GROUP_H */
