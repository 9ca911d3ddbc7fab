/* bench/fan_in.c — many senders, one receiver: mailbox throughput.
 *
 * Two sender actors stream 10 M messages in total (times the scale) of
 * 16 bytes (inline in the mailbox slot) to one counter actor; see fanin.c
 * for the workload and its checks.
 */
#include "fanin.h"

#define BASE_MESSAGES 10000000ull

int main(int argc, char **argv)
{
    uint64_t per_sender = bench_scaled(BASE_MESSAGES / NSENDERS, bench_scale(argc, argv), 1000);
    double rate = fanin_run(per_sender, 16, 1);
    bench_summary("fan_in", "throughput", rate, "msg/s");
    return 0;
}
