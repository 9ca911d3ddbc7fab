/* examples/cluster/node.h — one node of `make demo-cluster`: what node.c
 * (setup, signals, the final dumps) and traffic.c (the load on the chain
 * and the engine wherever they live) share. The chain and the engine are
 * those of `make demo` (examples/chain: chain.c, engine.c and the actors'
 * persistent behaviours in actors.c), registered as cluster kinds. */
#ifndef TROUPE_EXAMPLES_CLUSTER_NODE_H
#define TROUPE_EXAMPLES_CLUSTER_NODE_H

#include <stdatomic.h>
#include <stdio.h>

#include "../chain/chain.h"

#define ASK_NS (5 * SEC)
#define CLUSTER_ID "main" /* the id of both cluster actors */

/* Where a cluster actor lives now, as a ref this node can send to. */
typedef struct target {
    const char *kind; /* "chain" or "engine": also the local name the owner registers */
    troupe_ref ref;   /* NONE: resolve again */
    char owner[TROUPE_CLUSTER_NAME_MAX + 1];
    uint64_t epoch;
} target;

/* Counts of one node's load, printed as its "stats" line at the end. */
typedef struct counts {
    _Atomic uint64_t produced, imported, stale, forged_refused, forged_accepted;
    _Atomic uint64_t payloads, transfers_rejected, failed_asks;
} counts;

typedef struct node {
    const char *name;
    uint32_t index;      /* 1, 2, 3: the author of its blocks */
    uint64_t op_base;    /* payload ids of this process start here */
    troupe_system *sys;
    troupe_cluster *c;
    FILE *log;           /* the shared acknowledgement log */
    _Atomic int running; /* the load threads' flag */
    _Atomic uint64_t state_root; /* the engine's root last seen: produced blocks carry it */
    counts n;
    pthread_mutex_t resolve_mu; /* the threads' register/lookup of the local names */
} node;

uint64_t now_ns(void);
/* traffic.c */
int resolve(node *nd, target *t);
/* An op of a cluster actor through t (adapters' message MSG_*_OP + op):
 * 0 and the result, or the ask's or the op's code (t is then cleared). */
int ask_op(node *nd, target *t, uint32_t type, const void *arg, size_t len, void *res,
           size_t cap);
void *chain_load_main(void *arg);
void *engine_load_main(void *arg);

#endif
