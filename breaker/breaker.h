/* breaker/breaker.h — the shape of a breaker and of its circuits.
 * Nothing here is API (include/troupe/breaker.h is). */
#ifndef TROUPE_BREAKER_BREAKER_H
#define TROUPE_BREAKER_BREAKER_H

#include <pthread.h>

#include "core/common.h"

/* Lock stripes per breaker: a key's circuit lives in stripe (hash >> 60). */
#define NSTRIPE 16

#define PERMIT_LIVE 1u  /* given by acquire, not yet recorded or cancelled */
#define PERMIT_TRIAL 2u /* a HALF_OPEN trial: holds one of half_open_max slots */

/* One bucket of the sliding window: the outcomes of one time slot
 * (now / width); a bucket whose slot is older than the window is stale. */
typedef struct bucket {
    uint64_t slot;
    uint32_t calls, fails;
} bucket;

/* One key's circuit. Every field is guarded by its stripe's lock. */
typedef struct circuit {
    uint64_t key;
    uint64_t epoch; /* +1 at every transition: permits of an older one are stale */
    troupe_breaker_state state;
    uint32_t consec;    /* consecutive failures (CLOSED) */
    uint32_t inflight;  /* trials running (HALF_OPEN) */
    uint32_t successes; /* successful trials (HALF_OPEN) */
    uint32_t trips;     /* opens since the last close */
    uint64_t timeout;   /* the current (or last) open period */
    uint64_t open_until;
    uint64_t opened, half_opened, closed, rejected, calls, failures;
    bucket win[]; /* cfg.window_buckets */
} circuit;

/* Open addressing (linear probing, at most half full), never shrinks:
 * circuits live as long as their breaker. */
typedef struct stripe {
    alignas(CACHELINE) pthread_mutex_t lock;
    circuit **slots;
    uint32_t cap, n;
} stripe;

struct troupe_breaker {
    troupe_system *sys;
    troupe_breaker_config cfg;
    uint64_t width; /* window bucket width, ns */
    uint32_t id;    /* process-unique: a permit names its breaker */
    char name[TROUPE_BREAKER_NAME_MAX + 1];
    struct troupe_breaker *next, *prev; /* the system's list, under its lock */
    stripe stripes[NSTRIPE];
};

/* The system's breakers (sys->brk), newest first. */
struct breakers {
    pthread_mutex_t lock;
    troupe_breaker *head;
};

/* breaker/circuit.c — the state machine; the caller holds the stripe lock
 * and passes the system clock's `now`. */
circuit *circuit_new(const troupe_breaker *b, uint64_t key);
int circuit_acquire(const troupe_breaker *b, circuit *c, uint64_t now,
                    troupe_breaker_permit *p);
void circuit_record(const troupe_breaker *b, circuit *c, uint64_t now,
                    const troupe_breaker_permit *p, bool success);
void circuit_cancel(circuit *c, const troupe_breaker_permit *p);
void circuit_fill(const troupe_breaker *b, circuit *c, uint64_t now, troupe_breaker_info *out);

/* breaker/breaker.c — free a breaker already unlinked from its system;
 * fill out[n..cap) with b's circuits, one stripe lock at a time, and
 * return n plus how many b has. */
void breaker_free(troupe_breaker *b);
size_t breaker_fill_all(troupe_breaker *b, troupe_breaker_info *out, size_t cap, size_t n);

/* breaker/list.c — the system's list; create and destroy run in
 * troupe_system_create / troupe_system_destroy. */
int breakers_create(troupe_system *sys);
void breakers_destroy(troupe_system *sys);
int breakers_link(troupe_system *sys, troupe_breaker *b);
void breakers_unlink(troupe_breaker *b);

#endif
