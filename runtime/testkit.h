/* runtime/testkit.h — the test kit's internal shape (include/troupe/testkit.h
 * is the API): its life and trace in runtime/testkit.c, its steps, the
 * clock and asks in runtime/testkit_run.c. */
#ifndef TROUPE_RUNTIME_TESTKIT_H
#define TROUPE_RUNTIME_TESTKIT_H

#include "core/system.h"
#include "troupe/testkit.h"

struct troupe_testkit {
    troupe_system *sys;
    troupe_clock *clock;
    bool own_clock;        /* the kit made it: destroyed with the kit */
    uint64_t rng[4];       /* xoshiro256**, seeded by splitmix64 */
    worker *w;             /* the stand-in a run needs (core/call.c's kind) */
    troupe_testkit_step_info *ring; /* the last `cap` steps */
    uint32_t cap;
    uint64_t steps;        /* steps since create: the next one's index */
    uint64_t hash;         /* FNV-1a over every step */
};

/* The live kit at this address, or NULL (never dereferences an unknown
 * one): every public entry starts here. */
troupe_testkit *kit_find(const troupe_testkit *k);
/* Record a step: the trace ring and the hash. */
void kit_record(troupe_testkit *k, const troupe_testkit_step_info *st);
/* One step; pick NULL = the PRNG's choice. 1 ran, 0 idle (or `pick` not
 * ready: the caller tells the two apart). */
int kit_step(troupe_testkit *k, actor *pick, troupe_testkit_step_info *out);
/* Step until idle, at most max steps: 0, or TROUPE_EBUSY. */
int kit_run(troupe_testkit *k, uint64_t max, uint64_t *ran);
/* splitmix64: the seed's expansion (and the supervisor's jitter seed). */
uint64_t kit_splitmix(uint64_t *x);

#define KIT_MAX_STEPS_DEFAULT 1000000ull

#endif
