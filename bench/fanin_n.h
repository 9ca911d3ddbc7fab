/* bench/fanin_n.h — fan-in with any number of senders (see fanin_n.c). */
#ifndef TROUPE_BENCH_FANIN_N_H
#define TROUPE_BENCH_FANIN_N_H

#include "common.h"

/* Run `senders` sender actors (1..65536) that share `total` messages of
 * 16 bytes as equally as they can (the first total % senders send one
 * more) into one counter actor, in a fresh system. Returns messages per
 * second; exits 1 if any check fails. `what` names the case in failures. */
double fanin_n_run(uint32_t senders, uint64_t total, const char *what);

#endif
