// bench/peers/caf/common.hpp — what every CAF workload shares: the scale,
// clocks, RSS and CPU readings, the SUMMARY line, failing loudly, the actor
// system configuration (2 scheduler threads) and the message atoms.
//
// Each workload prints one line per metric, exactly
//   SUMMARY bench=<case> impl=caf metric=<name> value=<number> unit=<unit>
// and exits 1 when its own cross-checks fail, so that a fast but wrong run
// never reports a figure. Written for CAF 0.17 (Debian's libcaf-dev 0.17.6):
// atom_constant atoms, function-based and stateful actors, scoped_actor.
#pragma once

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

namespace cb {

// ---- the scale, clocks and readings ---------------------------------------------

// TROUPE_BENCH_SCALE (or argv[2] when run by hand), default 1; exits 1 on
// garbage. Set once by main() before the case runs.
extern double scale;

// base * scale, rounded, at least `min`.
uint64_t scaled(uint64_t base, uint64_t min);

uint64_t now_ns();        // CLOCK_MONOTONIC
uint64_t cpu_ns();        // user + system time of the process (getrusage)
uint64_t rss_bytes();     // resident set size (/proc/self/statm)
int thread_count();       // threads of this process (/proc/self/task)
void sleep_s(double s);

// One SUMMARY line, flushed.
void summary(const char* bench, const char* metric, double value, const char* unit);

// "bench: FAIL ..." on stderr and exit 1.
[[noreturn]] void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// The p-th percentile (0..100) of `v` (sorts it).
uint64_t percentile(std::vector<uint64_t>& v, double p);

// ---- the actor system ---------------------------------------------------------------

// Two scheduler threads (scheduler.max-threads = 2), the rest CAF's defaults
// (work-stealing policy). No config file or command line is read.
struct config : caf::actor_system_config {
  config();
};

// Checks that the system really runs 2 workers.
void check_workers(caf::actor_system& sys);

// How long a blocking wait for a workload's completion may take before the
// run is declared hung (the programs are meant to finish within ~30 s).
constexpr auto hang_limit = std::chrono::seconds(120);

// Wait until `flag` becomes true, sleeping 100 µs between looks (the main
// thread must not take a core from the two workers). Fails when `progress`
// has not moved for 10 s.
void wait_flag(const std::atomic<bool>& flag, const std::atomic<uint64_t>& progress,
               const char* what);

// Block `self` until a (done_atom, uint64_t stamp) message arrives and return
// the stamp (now_ns() where the workload finished, taken by the actor that
// finished it). Fails after hang_limit.
uint64_t await_done(caf::scoped_actor& self, const char* what);

// An actor that sends (done_atom, now_ns()) to `report` once it has received
// `n` done_atom messages, then quits: the completion of a set of actors.
struct countdown_state {
  uint64_t left = 0;
};
caf::behavior countdown(caf::stateful_actor<countdown_state>* self, uint64_t n,
                        caf::actor report);

// A small, fast pseudo-random sequence (xorshift64*), one per actor/thread.
struct rng {
  uint64_t s;
  explicit rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1Dull;
  }
  uint64_t below(uint64_t n) { return (next() >> 11) % n; }
};

// ---- atoms (CAF 0.17: at most 10 characters) ---------------------------------------

using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
using start_atom = caf::atom_constant<caf::atom("start")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using inc_atom = caf::atom_constant<caf::atom("inc")>;
using total_atom = caf::atom_constant<caf::atom("total")>;
using work_atom = caf::atom_constant<caf::atom("work")>;
using token_atom = caf::atom_constant<caf::atom("token")>;
using next_atom = caf::atom_constant<caf::atom("next")>;
using meet_atom = caf::atom_constant<caf::atom("meet")>;
using change_atom = caf::atom_constant<caf::atom("change")>;
using fade_atom = caf::atom_constant<caf::atom("fade")>;
using count_atom = caf::atom_constant<caf::atom("count")>;
using data_atom = caf::atom_constant<caf::atom("data")>;
using cont_atom = caf::atom_constant<caf::atom("cont")>;
using crash_atom = caf::atom_constant<caf::atom("crash")>;
using child_atom = caf::atom_constant<caf::atom("child")>;
using subscr_atom = caf::atom_constant<caf::atom("subscribe")>;
using poke_atom = caf::atom_constant<caf::atom("poke")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;

// ---- the cases ----------------------------------------------------------------------

void ping_pong(caf::actor_system& sys);
void counting(caf::actor_system& sys);
void fork_join_throughput(caf::actor_system& sys);
void fork_join_create(caf::actor_system& sys);
void thread_ring(caf::actor_system& sys);
void chameneos(caf::actor_system& sys);
void big(caf::actor_system& sys);
void fan_in(caf::actor_system& sys, uint64_t senders);
void spawn(caf::actor_system& sys);
void idle_cpu(caf::actor_system& sys);
void restart_cycle(caf::actor_system& sys);
void one_for_all(caf::actor_system& sys);
void registry_lookup(caf::actor_system& sys);
void ask_latency(caf::actor_system& sys);

} // namespace cb
