/* bench/scale_fan_in.c — the fan-in scaling curve: throughput against
 * 2, 4, 8, ..., 1024 senders.
 *
 * Each point is fan_in_n's workload (fanin_n.c): the senders share
 * 4,000,000 messages (times the scale) of 16 bytes into one counter, in a
 * fresh system. One line per sender count (the name carries the count, as
 * the other scale_<curve>_<n> cases, so that the harness plots the curve):
 *   SUMMARY bench=scale_fan_in_<n> impl=troupe metric=throughput unit=msg/s
 */
#include <stdio.h>

#include "fanin_n.h"

#define BASE_MESSAGES 4000000ull

int main(int argc, char **argv)
{
    uint64_t total = bench_scaled(BASE_MESSAGES, bench_scale(argc, argv), 10000);
    for (uint32_t n = 2; n <= 1024; n *= 2) {
        char bench[32];
        snprintf(bench, sizeof bench, "scale_fan_in_%u", n);
        bench_summary(bench, "throughput", fanin_n_run(n, total, bench), "msg/s");
    }
    return 0;
}
