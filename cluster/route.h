/* cluster/route.h — node numbers and the map of the cluster a node routes
 * by (docs/CLUSTER.md, "Remote refs").
 *
 * Each node name of a cluster holds a number, its slot (1..1023), for
 * good: the row troupe_slots (cluster, node, slot), taken at its first
 * join and kept across incarnations. A ref carries a slot in its 10 tag
 * bits. Locally those bits hold the system's own tag (core/system.h), so
 * a node translates: its own slot and its system's tag trade places, every
 * other slot stands for itself (route_tag_of, an involution: the same
 * function decodes). */
#ifndef TROUPE_CLUSTER_ROUTE_H
#define TROUPE_CLUSTER_ROUTE_H

#include "base/namespace.h"
/* after base/namespace.h's list: the same rule */
#define route_query troupei_route_query
#define route_conninfo troupei_route_conninfo

#include <stdbool.h>
#include <stdint.h>

typedef struct route route;

typedef struct route_entry {
    char name[64];
    uint32_t slot;
    uint64_t incarnation;
    bool live; /* up and the lease not expired, in the server's time */
} route_entry;

/* Connect, create troupe_slots if absent, take (or find) node's slot. */
int route_open(const char *conninfo, const char *cluster, const char *node, uint32_t timeout_ms,
               route **out);
void route_close(route *r);
uint32_t route_my_slot(const route *r);
/* Every node of the cluster with a slot: the count (at most cap) or
 * TROUPE_EIO / TROUPE_ETIMEDOUT. */
int route_list(route *r, route_entry *out, int cap);
/* Another read on the route's connection (cluster/nodes.c): sql with $1
 * the cluster's name; *out the result to PQclear. 0, TROUPE_EIO or
 * TROUPE_ETIMEDOUT. Serialised by the caller, as route_list. */
struct pg_result;
int route_query(route *r, const char *sql, struct pg_result **out);
/* The conninfo (with its connect_timeout) and the query timeout, for a
 * connection of the caller's own: *conninfo is a copy to free.
 * TROUPE_ENOMEM. */
int route_conninfo(const route *r, char **conninfo, uint32_t *timeout_ms);

/* Tag bits (the value, not shifted) <-> slot, for a system whose tag value
 * is `own_tag` on the node whose slot is `own_slot`. */
static inline uint32_t route_swap(uint32_t own_slot, uint32_t own_tag, uint32_t v)
{
    return v == own_slot ? own_tag : v == own_tag ? own_slot : v;
}

#endif /* TROUPE_CLUSTER_ROUTE_H */
