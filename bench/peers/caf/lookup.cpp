// bench/peers/caf/lookup.cpp — finding and asking actors on CAF 0.17.
//
//   registry_lookup  1,000 actors registered by name in CAF's actor registry
//                    (system.registry().put(atom, handle); 0.17 keys names
//                    by atom_value). Two plain threads look up random names
//                    (registry().get<caf::actor>(atom)), 5,000,000 lookups in
//                    all: ops/s. Checks: every lookup found the actor
//                    registered under that name.
//   ask_latency      a plain thread (scoped_actor) requests a number from an
//                    actor and blocks for the reply, 100,000 times: p50 and
//                    p99 of the round trip (µs). Checks: every reply is the
//                    number asked.
#include "common.hpp"

#include <string>
#include <thread>

namespace cb {

// ---- registry_lookup -----------------------------------------------------------------

void registry_lookup(caf::actor_system& sys) {
  const uint64_t names = 1000, nthreads = 2;
  uint64_t total = scaled(5000000, 10000);
  uint64_t per_thread = total / nthreads;
  total = per_thread * nthreads;
  auto& reg = sys.registry();
  std::vector<caf::atom_value> keys;
  std::vector<caf::actor> handles;
  for (uint64_t i = 0; i < names; ++i) {
    keys.push_back(caf::atom_from_string("w" + std::to_string(i)));
    handles.push_back(sys.spawn([](caf::event_based_actor*) -> caf::behavior {
      return {[](ping_atom) {}};
    }));
    reg.put(keys.back(), handles.back());
  }
  std::atomic<bool> go{false};
  std::atomic<uint64_t> wrong{0};
  auto lookups = [&](uint64_t seed) {
    rng r{seed};
    uint64_t bad = 0;
    while (!go.load(std::memory_order_acquire)) {
    }
    for (uint64_t i = 0; i < per_thread; ++i) {
      uint64_t k = r.below(names);
      auto found = reg.get<caf::actor>(keys[k]);
      bad += found != handles[k];
    }
    wrong.fetch_add(bad);
  };
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < nthreads; ++t)
    threads.emplace_back(lookups, t + 1);
  uint64_t t0 = now_ns();
  go.store(true, std::memory_order_release);
  for (auto& t : threads)
    t.join();
  uint64_t t1 = now_ns();
  if (wrong.load() != 0)
    fail("registry_lookup: %llu of %llu lookups found the wrong actor",
         static_cast<unsigned long long>(wrong.load()), static_cast<unsigned long long>(total));
  // The registry holds strong references: drop them so the system can end.
  for (auto& k : keys)
    reg.erase(k);
  summary("registry_lookup", "lookups",
          static_cast<double>(total) / (static_cast<double>(t1 - t0) / 1e9), "ops/s");
}

// ---- ask_latency ---------------------------------------------------------------------

void ask_latency(caf::actor_system& sys) {
  uint64_t n = scaled(100000, 1000);
  auto echo = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](ping_atom, uint64_t i) { return i; }};
  });
  caf::scoped_actor self{sys};
  std::vector<uint64_t> samples(n);
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t t0 = now_ns();
    self->request(echo, hang_limit, ping_atom::value, i)
      .receive(
        [&](uint64_t r) {
          if (r != i)
            fail("ask_latency: reply %llu, expected %llu", static_cast<unsigned long long>(r),
                 static_cast<unsigned long long>(i));
        },
        [&](caf::error& e) { fail("ask_latency: %s", sys.render(e).c_str()); });
    samples[i] = now_ns() - t0;
  }
  summary("ask_latency", "p50", static_cast<double>(percentile(samples, 50)) / 1000.0, "us");
  summary("ask_latency", "p99", static_cast<double>(percentile(samples, 99)) / 1000.0, "us");
}

} // namespace cb
