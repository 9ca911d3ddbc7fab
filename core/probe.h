/* core/probe.h — sampled latency stamps and the per-actor trace buffer.
 *
 * Stamps: a sender that writes a mailbox slot whose position is a multiple
 * of the ring's stamp stride (mailbox/ring.c, mb_write: one in 256, every
 * one while the receiver is traced) sets MF_STAMP and writes its clock in
 * the slot's spare word. The consumer meets the flag where it tests the
 * flags already (tmsg_view's slow side, dispatch's destroy test): an
 * unstamped message costs nothing more than before. A stamped one records
 * its time in mailbox and its handling time in its actor type's histograms
 * (atomic counters, no lock) and in its actor's own.
 *
 * Trace (troupe_trace_arm): the actor's owner sets AF_PROBE when it serves
 * SYSMSG_PROBE; a run of a probed actor times every message (run.c's timed
 * branch) and appends one record each to the actor's buffer, under its
 * lock — a traced actor is not on a fast path. */
#ifndef TROUPE_CORE_PROBE_H
#define TROUPE_CORE_PROBE_H

#include "core/system.h"
#include "troupe/probe.h"

#define PROBE_BUCKETS 25 /* bounds 256 ns * 2^i, i = 0..23, then +Inf */
#define PROBE_TYPES 64   /* actor types with histograms; later ones share the last */

typedef struct probe_hist {
    _Atomic uint64_t b[PROBE_BUCKETS];
    _Atomic uint64_t sum_ns;
} probe_hist;

/* One actor type's histograms, and the system's table of them. */
typedef struct probe_type {
    _Atomic(const troupe_behaviour *) beh; /* set once (CAS from NULL) */
    probe_hist wait, handle;
} probe_type;

struct probe_tab {
    probe_type types[PROBE_TYPES];
    _Atomic uint32_t armed; /* actors whose trace waits for messages */
};

/* An actor slot's latency and trace (in its ext, type-stable). */
typedef struct probe_actor {
    probe_hist wait, handle;
    pthread_mutex_t lock;
    /* --- under lock; `left` also read without it (relaxed) by the owner --- */
    _Atomic uint32_t left; /* messages the trace still waits for */
    uint32_t n, cap;
    uint32_t gen; /* the traced incarnation (its ref reads the records) */
    troupe_trace_record *recs;
} probe_actor;

/* Bucket i's upper bound in ns (i < PROBE_BUCKETS - 1). */
static inline uint64_t probe_bound(int i) { return 256ull << i; }

/* Add one sample (relaxed adds: counters read by exporters). */
void probe_hist_add(probe_hist *h, uint64_t ns);
/* The upper bound of the bucket holding quantile q (0..1) of what h
 * counted; 0 when empty. */
uint64_t probe_hist_quantile(const probe_hist *h, double q, uint64_t *count);

/* The system's side: allocated with it (core_new), freed with it. */
struct probe_tab *probe_tab_new(void);
void probe_tab_free(struct probe_tab *t);
/* Call fn for each actor type that has samples (exporters). */
void probe_each_type(troupe_system *sys,
                     void (*fn)(void *ud, const char *type, const probe_hist *wait,
                                const probe_hist *handle),
                     void *ud);

/* tmsg_view met MF_STAMP: if m is the message its thread is dispatching,
 * start timing it. */
void probe_view(const tmsg *m);
/* dispatch's destroy test met MF_STAMP: record the stamped message's times. */
void probe_done(worker *w, actor *a, const tmsg *m);
/* run_actor met AF_PROBE: keep timing every message of this run, or
 * clear the flag when the trace is over. */
void probe_run(worker *w, actor *a);
/* A probed actor's message m starts its handler at t0 (before dispatch). */
void probe_trace_start(worker *w, const tmsg *m, uint64_t t0);
/* ... and was handled, at t1 (a failure goes to probe_failed instead). */
void probe_traced(worker *w, actor *a, uint64_t t1);
/* The time m waited in its slot, or UINT64_MAX when it carries no stamp. */
uint64_t probe_wait(const worker *w, const tmsg *m, uint64_t now);
/* fail_actor of a probed actor: the message being handled failed. */
void probe_failed(worker *w, actor *a, troupe_failure_kind kind);
/* SYSMSG_PROBE (core/hooks.c registers it). */
int probe_serve(worker *w, actor *a, troupe_failure_kind *kind, const char **reason);
/* The public calls' side (core/probe_api.c): an actor's block. */
struct probe_actor *probe_actor_peek(const actor *a);
struct probe_actor *probe_actor_get(troupe_system *sys, actor *a);
/* ext_free: an actor slot's probe block. */
void probe_actor_free(struct probe_actor *p);

#endif
