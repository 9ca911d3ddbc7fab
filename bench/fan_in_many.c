/* bench/fan_in_many.c — fan_in with a batch send: each sender's chunk of
 * 256 messages goes as one troupe_tell_many (fanin.c). Same workload and
 * checks as fan_in; the figure shows what claiming a burst's slots at once
 * buys against the handler's growing reservations. */
#include "fanin.h"

#define BASE_MESSAGES 10000000ull

int main(int argc, char **argv)
{
    uint64_t per_sender = bench_scaled(BASE_MESSAGES / NSENDERS, bench_scale(argc, argv), 1000);
    double rate = fanin_run_many(per_sender, 16, 1);
    bench_summary("fan_in_many", "throughput", rate, "msg/s");
    return 0;
}
