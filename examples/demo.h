/* examples/demo.h — what the two files of the demo share: the messages,
 * the actors' behaviours (demo_actors.c) and the counts kept outside them.
 * demo.c builds the tree, serves the dashboard, runs and checks. */
#ifndef TROUPE_EXAMPLES_DEMO_H
#define TROUPE_EXAMPLES_DEMO_H

#include <stdatomic.h>
#include <stdint.h>

#include <troupe/troupe.h>

#define NPRODUCERS 3
#define NSOURCES (NPRODUCERS + 1) /* the producers, then the plain thread */
#define CHUNK 500
#define THREAD_BURST 1000
#define SEC 1000000000ull

enum { MSG_SAMPLE = 1, MSG_GO, MSG_GET, MSG_TICK, MSG_WORK };

/* 16 bytes: travels inline in the mailbox slot. seq counts per source. */
typedef struct sample {
    uint32_t source;
    uint32_t pad;
    uint64_t seq;
} sample;

typedef struct totals {
    uint64_t count;
    uint64_t out_of_order; /* must stay 0: one sender's messages keep order */
    uint64_t per_source[NSOURCES];
} totals;

typedef struct producer {
    troupe_ref to;
    uint32_t id;
} producer;

typedef struct thread_job {
    troupe_system *sys;
    troupe_ref to;
    uint64_t sent;
    uint64_t refused; /* sends that failed (a BLOCK timeout); retried */
} thread_job;

typedef struct reporter_arg {
    troupe_ref aggregator;
    troupe_breaker *breaker; /* one circuit: the aggregator's ref */
} reporter_arg;

extern const troupe_behaviour aggregator_beh, producer_beh, reporter_beh, flaky_beh;
/* Plain actors (troupe_spawn, no supervisor): the persistent ledger and an
 * unnamed idler, so the dashboard lists actors outside the tree. */
extern const troupe_behaviour ledger_beh, idler_beh;

extern atomic_int g_running;   /* cleared when senders must stop */
extern atomic_int g_failures;  /* panics seen by on_failure */
extern uint64_t g_start_ns;
extern uint64_t g_crash_ns;    /* when flaky is told to fail, from the start */
/* The counts live here, not in the actors' state (see demo_actors.c). */
extern totals g_totals;
extern uint64_t g_sent[NPRODUCERS];

uint64_t now_ns(void);
void *thread_main(void *arg); /* the plain thread: arg is its thread_job */
void on_failure(const troupe_failure *f, void *ud);

#endif
