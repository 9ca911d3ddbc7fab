/* bench/fanin.h — the fan-in workload (see fanin.c). */
#ifndef TROUPE_BENCH_FANIN_H
#define TROUPE_BENCH_FANIN_H

#include "common.h"

#define NSENDERS 2
#define FANIN_CAPACITY 65536

/* Run NSENDERS senders of per_sender messages of `payload` bytes (16..256;
 * above TROUPE_INLINE_MAX the runtime copies each one to the heap) into
 * one counter, in a fresh system with troupe_config.use_arena = use_arena.
 * Returns messages per second; exits 1 if any check fails. */
double fanin_run(uint64_t per_sender, uint32_t payload, int use_arena);

/* fanin_run with each sender's chunk of 256 sent by one troupe_tell_many. */
double fanin_run_many(uint64_t per_sender, uint32_t payload, int use_arena);

#endif
