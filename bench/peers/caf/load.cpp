// bench/peers/caf/load.cpp — many actors on CAF 0.17: fan-in, spawning,
// and what idle actors cost.
//
//   fan_in_2, fan_in_16, fan_in_256
//           N sender actors each send an equal share of 4,000,000 messages
//           to one counter. A sender sends a chunk of 256, then tells itself
//           "cont" so that it yields its worker between chunks and the
//           counter gets to run (the same shape as troupe's fan-in). msg/s
//           from the first start message to the counter's last message.
//           Checks: every message counted once, and per sender in the order
//           sent.
//   spawn   1,000,000 idle actors spawned from the main thread (plain
//           sys.spawn, so CAF schedules each one's initialisation at once):
//           actors/s until every actor has run its initialisation, and the
//           RSS growth over those spawns divided by the count (bytes).
//           Checks: every actor initialised once, the registry counts them
//           running, handles valid and distinct.
//   idle_cpu
//           10,000 actors, each handles one message and goes idle; then the
//           process CPU time (getrusage) over 5 s of wall time (at least 1 s),
//           as a percentage of one core. Checks: each actor handled exactly
//           its one message.
#include "common.hpp"

#include <memory>

namespace cb {

// ---- fan_in --------------------------------------------------------------------------

namespace {

constexpr uint64_t chunk = 256;

struct fan_counter_state {
  uint64_t count = 0;
  std::vector<uint64_t> next; // the next seq expected from each sender
};

caf::behavior fan_counter(caf::stateful_actor<fan_counter_state>* self, uint64_t senders,
                          uint64_t total, caf::actor report) {
  self->state.next.assign(senders, 0);
  return {
    [=](data_atom, uint64_t sender, uint64_t seq) {
      auto& st = self->state;
      if (sender >= senders || seq != st.next[sender])
        fail("fan_in: message %llu from sender %llu out of order (expected %llu)",
             static_cast<unsigned long long>(seq), static_cast<unsigned long long>(sender),
             sender < senders ? static_cast<unsigned long long>(st.next[sender]) : 0ull);
      ++st.next[sender];
      if (++st.count == total) {
        self->send(report, done_atom::value, now_ns());
        self->quit();
      }
    },
  };
}

struct fan_sender_state {
  uint64_t next = 0;
};

caf::behavior fan_sender(caf::stateful_actor<fan_sender_state>* self, caf::actor counter,
                         uint64_t id, uint64_t share) {
  auto send_chunk = [=] {
    auto& st = self->state;
    uint64_t end = std::min(share, st.next + chunk);
    for (; st.next < end; ++st.next)
      self->send(counter, data_atom::value, id, st.next);
    if (st.next < share)
      self->send(self, cont_atom::value);
    else
      self->quit();
  };
  return {
    [=](start_atom) { send_chunk(); },
    [=](cont_atom) { send_chunk(); },
  };
}

} // namespace

void fan_in(caf::actor_system& sys, uint64_t senders) {
  uint64_t share = scaled(4000000, 1000 * senders) / senders;
  uint64_t total = share * senders;
  char name[32];
  snprintf(name, sizeof name, "fan_in_%llu", static_cast<unsigned long long>(senders));
  caf::scoped_actor self{sys};
  auto counter = sys.spawn(fan_counter, senders, total, caf::actor_cast<caf::actor>(self));
  std::vector<caf::actor> all;
  for (uint64_t i = 0; i < senders; ++i)
    all.push_back(sys.spawn(fan_sender, counter, i, share));
  uint64_t t0 = now_ns();
  for (auto& s : all)
    self->send(s, start_atom::value);
  uint64_t t1 = await_done(self, "the counter's last message");
  summary(name, "throughput", static_cast<double>(total) / (static_cast<double>(t1 - t0) / 1e9),
          "msg/s");
}

// ---- spawn ---------------------------------------------------------------------------

namespace {

std::atomic<uint64_t> spawn_inits;
std::atomic<uint64_t> spawn_target;
std::atomic<uint64_t> spawn_end_ns;
std::atomic<bool> spawn_done;

caf::behavior idle_actor(caf::event_based_actor*) {
  if (spawn_inits.fetch_add(1, std::memory_order_acq_rel) + 1 == spawn_target.load()) {
    spawn_end_ns.store(now_ns());
    spawn_done.store(true, std::memory_order_release);
  }
  return {
    [](poke_atom) {},
  };
}

} // namespace

void spawn(caf::actor_system& sys) {
  uint64_t n = scaled(1000000, 1000);
  // The handles are the bench's memory, not CAF's: touch them first.
  std::vector<caf::actor> handles(n);
  spawn_target.store(n);
  size_t running0 = sys.registry().running();
  uint64_t rss0 = rss_bytes();
  uint64_t t0 = now_ns();
  for (uint64_t i = 0; i < n; ++i)
    handles[i] = sys.spawn(idle_actor);
  wait_flag(spawn_done, spawn_inits, "every spawned actor's initialisation");
  uint64_t t1 = spawn_end_ns.load();
  uint64_t rss1 = rss_bytes();
  if (spawn_inits.load() != n)
    fail("spawn: %llu initialisations, expected %llu",
         static_cast<unsigned long long>(spawn_inits.load()), static_cast<unsigned long long>(n));
  size_t running = sys.registry().running() - running0;
  if (running != n)
    fail("spawn: the registry counts %zu more running actors, expected %llu", running,
         static_cast<unsigned long long>(n));
  for (uint64_t i = 0; i < n; ++i) {
    if (!handles[i])
      fail("spawn: handle %llu is invalid", static_cast<unsigned long long>(i));
    if (i > 0 && handles[i].id() <= handles[i - 1].id())
      fail("spawn: handles %llu and %llu are not distinct", static_cast<unsigned long long>(i - 1),
           static_cast<unsigned long long>(i));
  }
  summary("spawn", "rate", static_cast<double>(n) / (static_cast<double>(t1 - t0) / 1e9),
          "actors/s");
  summary("spawn", "bytes_per_actor",
          rss1 > rss0 ? static_cast<double>(rss1 - rss0) / static_cast<double>(n) : 0.0, "bytes");
}

// ---- idle_cpu ------------------------------------------------------------------------

namespace {

std::atomic<uint64_t> idle_poked;
std::atomic<uint64_t> idle_target;
std::atomic<bool> idle_all_poked;

struct idle_state {
  uint64_t pokes = 0;
};

caf::behavior poked_actor(caf::stateful_actor<idle_state>* self) {
  return {
    [=](poke_atom) {
      ++self->state.pokes;
      if (idle_poked.fetch_add(1, std::memory_order_acq_rel) + 1 == idle_target.load())
        idle_all_poked.store(true, std::memory_order_release);
    },
    [=](count_atom) { return self->state.pokes; },
  };
}

} // namespace

void idle_cpu(caf::actor_system& sys) {
  uint64_t n = scaled(10000, 100);
  double window = std::max(1.0, 5.0 * scale);
  idle_target.store(n);
  std::vector<caf::actor> all;
  for (uint64_t i = 0; i < n; ++i)
    all.push_back(sys.spawn(poked_actor));
  for (auto& a : all)
    caf::anon_send(a, poke_atom::value);
  wait_flag(idle_all_poked, idle_poked, "every actor's first message");
  // Let the workers run out of polling and settle before measuring.
  sleep_s(0.2);
  uint64_t cpu0 = cpu_ns(), t0 = now_ns();
  sleep_s(window);
  uint64_t cpu1 = cpu_ns(), t1 = now_ns();
  caf::scoped_actor self{sys};
  for (auto& a : all)
    self->request(a, hang_limit, count_atom::value)
      .receive(
        [&](uint64_t pokes) {
          if (pokes != 1)
            fail("idle_cpu: an actor handled %llu messages, expected 1",
                 static_cast<unsigned long long>(pokes));
        },
        [&](caf::error& e) { fail("idle_cpu: count: %s", sys.render(e).c_str()); });
  summary("idle_cpu", "cpu", 100.0 * static_cast<double>(cpu1 - cpu0) / static_cast<double>(t1 - t0),
          "percent");
}

} // namespace cb
