// bench/peers/caf/main.cpp — the CAF 0.17 peer of troupe's benchmarks.
//
//   bench_caf CASE [SCALE]
//
// runs one workload (list below) in a fresh actor_system with 2 scheduler
// threads and prints its SUMMARY lines. SCALE (else TROUPE_BENCH_SCALE, else
// 1) multiplies the workload's size; every size keeps a minimum. Exits 1 when
// the case's own cross-checks fail or it hangs, 2 on usage errors. meson
// registers one benchmark per case in the suite 'peers-caf'.
#include "common.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace {

struct entry {
  const char* name;
  void (*run)(caf::actor_system&);
};

const entry cases[] = {
  {"ping_pong", cb::ping_pong},
  {"counting", cb::counting},
  {"fork_join_throughput", cb::fork_join_throughput},
  {"fork_join_create", cb::fork_join_create},
  {"thread_ring", cb::thread_ring},
  {"chameneos", cb::chameneos},
  {"big", cb::big},
  {"fan_in_2", [](caf::actor_system& sys) { cb::fan_in(sys, 2); }},
  {"fan_in_16", [](caf::actor_system& sys) { cb::fan_in(sys, 16); }},
  {"fan_in_256", [](caf::actor_system& sys) { cb::fan_in(sys, 256); }},
  {"spawn", cb::spawn},
  {"restart_cycle", cb::restart_cycle},
  {"one_for_all_1000", cb::one_for_all},
  {"registry_lookup", cb::registry_lookup},
  {"ask_latency", cb::ask_latency},
  {"idle_cpu", cb::idle_cpu},
};

int usage() {
  fputs("usage: bench_caf CASE [SCALE]\ncases:", stderr);
  for (const auto& c : cases)
    fprintf(stderr, " %s", c.name);
  fputc('\n', stderr);
  return 2;
}

double parse_scale(const char* s) {
  if (s == nullptr || *s == '\0')
    return 1.0;
  char* end = nullptr;
  errno = 0;
  double v = strtod(s, &end);
  if (errno != 0 || end == s || *end != '\0' || !(v > 0.0) || v > 100.0)
    cb::fail("bad scale '%s' (want a number in (0, 100])", s);
  return v;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3)
    return usage();
  const entry* e = nullptr;
  for (const auto& c : cases)
    if (strcmp(c.name, argv[1]) == 0)
      e = &c;
  if (e == nullptr)
    return usage();
  cb::scale = parse_scale(argc > 2 ? argv[2] : getenv("TROUPE_BENCH_SCALE"));
  static std::atomic<bool> finished{false};
  {
    cb::config cfg;
    caf::actor_system sys{cfg};
    cb::check_workers(sys);
    e->run(sys);
    // Every case releases its handles and stops its long-lived actors, so
    // the system's destructor (which awaits all actors) returns promptly;
    // should one be left running, fail rather than hang.
    std::thread([] {
      for (int i = 0; i < 600 && !finished.load(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (!finished.load())
        cb::fail("the actor system did not shut down within 60 s");
    }).detach();
  }
  finished.store(true);
  return 0;
}
