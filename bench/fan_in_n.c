/* bench/fan_in_n.c — fan-in by sender count: fan_in_2, fan_in_16,
 * fan_in_256.
 *
 * N sender actors share 4,000,000 messages (times the scale) of 16 bytes
 * and stream them to one counter actor; see fanin_n.c for the workload and
 * its checks. Each case runs in a fresh system.
 * metric: messages per second (msg/s).
 */
#include <stdio.h>

#include "fanin_n.h"

#define BASE_MESSAGES 4000000ull

int main(int argc, char **argv)
{
    static const uint32_t senders[] = {2, 16, 256};
    uint64_t total = bench_scaled(BASE_MESSAGES, bench_scale(argc, argv), 10000);
    for (size_t i = 0; i < sizeof senders / sizeof senders[0]; i++) {
        char bench[32];
        snprintf(bench, sizeof bench, "fan_in_%u", senders[i]);
        bench_summary(bench, "throughput", fanin_n_run(senders[i], total, bench), "msg/s");
    }
    return 0;
}
