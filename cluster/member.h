/* cluster/member.h — membership on PostgreSQL: a row per node with an
 * incarnation and a lease in the server's time, renewed by a thread of
 * the node's own (docs/CLUSTER.md, "Membership"). */
#ifndef TROUPE_CLUSTER_MEMBER_H
#define TROUPE_CLUSTER_MEMBER_H

#include "base/namespace.h"
/* Added after base/namespace.h's list: the same rule (troupei_ at link
 * level, checked by tests/symbols.sh). */
#define member_renew_stats_get troupei_member_renew_stats_get
#define member_renew_bounds_ns troupei_member_renew_bounds_ns
#define member_set_rejoin troupei_member_set_rejoin
#define member_live_incarnation troupei_member_live_incarnation

#include <stdbool.h>
#include <stdint.h>

typedef struct member member;

typedef struct member_node {
    char name[64];
    uint64_t incarnation;
    bool live; /* state 'up' and the lease not expired, in server time */
} member_node;

/* Connect, create the schema if absent, take a new incarnation and start
 * renewing. TROUPE_EEXIST if the node's row holds a live lease;
 * TROUPE_EIO if the server cannot be reached or refuses. */
int member_join(const char *conninfo, const char *cluster, const char *node, uint32_t lease_ms,
                uint32_t renew_ms, member **out);
/* Stop renewing; with mark_left, mark the row left. Frees m. */
void member_leave(member *m, bool mark_left);
/* TROUPE_CLUSTER_JOINED or _FENCED: fenced once the local deadline (the
 * start of the last renewal that succeeded + the lease) has passed or the
 * server refused this incarnation. */
int member_state(member *m);
uint64_t member_incarnation(const member *m);
/* The incarnation while joined, 0 while fenced: the deadline is read
 * first (acquire), so a node seen joined is seen with the incarnation it
 * joined with, never an older one. */
uint64_t member_live_incarnation(member *m);
/* Rejoin (off after member_join): a fenced node tries, every renew_ms, to
 * take a new incarnation, and is joined again once the server lets it
 * (its old lease expired in the server's time). */
void member_set_rejoin(member *m, bool on);
/* Up to cap nodes of the cluster, by name; the count or TROUPE_EIO. */
int member_list(member *m, member_node *out, int cap);
/* Tests: stop the renewal thread without leaving (a stalled node). */
void member_stop_renewing(member *m);
/* One renewal now: 0, TROUPE_EFENCED (the server refused the
 * incarnation), TROUPE_ETIMEDOUT or TROUPE_EIO. */
int member_renew(member *m);

/* Renewals since join, by outcome, and their latency (from the start of
 * the query to its answer or failure, every attempt counted once). */
#define MEMBER_RENEW_BUCKETS 12
typedef struct member_renew_stats {
    uint64_t ok;      /* the server renewed the lease */
    uint64_t refused; /* the server refused this incarnation (TROUPE_EFENCED) */
    uint64_t failed;  /* no answer: TROUPE_EIO or TROUPE_ETIMEDOUT */
    uint64_t sum_ns, max_ns;
    uint64_t rejoins; /* new incarnations taken after a fence (member_set_rejoin) */
    uint64_t bucket[MEMBER_RENEW_BUCKETS]; /* not cumulative; the last one is +Inf */
} member_renew_stats;
/* The buckets' upper bounds, in ns (the last bucket has none). */
extern const uint64_t member_renew_bounds_ns[MEMBER_RENEW_BUCKETS - 1];
void member_renew_stats_get(member *m, member_renew_stats *out);

#endif /* TROUPE_CLUSTER_MEMBER_H */
