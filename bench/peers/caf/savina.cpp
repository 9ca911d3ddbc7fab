// bench/peers/caf/savina.cpp — Savina 1–7 (Imam & Sarkar 2014) on CAF 0.17.
//
//   ping_pong             2 actors, 1,000,000 round trips: ns per round trip
//   counting              a producer sends 1,000,000 increments to a counter,
//                         then asks it for the total: msg/s
//   fork_join_throughput  one sender, 60 workers, 10,000 messages each, a
//                         tiny computation per message: msg/s
//   fork_join_create      40,000 actors spawned by the main thread, each
//                         handles one message and quits: actors/s
//   thread_ring           100 actors in a ring, a token passed 1,000,000
//                         hops: ns per hop
//   chameneos             100 chameneos meet through a mall, 200,000
//                         meetings: meetings/s
//   big                   120 workers, each sends 2,000 pings to random peers,
//                         one at a time (waits for the pong): msg/s, counting
//                         pings and pongs
//
// All sizes are times the scale. The clock starts when the main thread sends
// the first message and stops where the work ends (an actor stamps now_ns()
// into the done message). Checks: every message counted, values and order as
// sent; a failed check exits 1.
#include "common.hpp"

#include <cmath>
#include <memory>

namespace cb {

namespace {

caf::actor as_actor(caf::scoped_actor& self) {
  return caf::actor_cast<caf::actor>(self);
}

// ---- ping_pong -----------------------------------------------------------------------

struct pong_state {
  uint64_t pings = 0;
};

caf::behavior pong_actor(caf::stateful_actor<pong_state>* self) {
  return {
    // The returned tuple goes back to the sender.
    [=](ping_atom, uint64_t n) {
      ++self->state.pings;
      return std::make_tuple(pong_atom::value, n);
    },
    [=](count_atom) { return self->state.pings; },
  };
}

struct ping_state {
  uint64_t next = 1; // the round trip awaited
};

caf::behavior ping_actor(caf::stateful_actor<ping_state>* self, caf::actor pong,
                         uint64_t rounds, caf::actor report) {
  return {
    [=](start_atom) { self->send(pong, ping_atom::value, self->state.next); },
    [=](pong_atom, uint64_t n) {
      if (n != self->state.next)
        fail("ping_pong: pong %llu, expected %llu", static_cast<unsigned long long>(n),
             static_cast<unsigned long long>(self->state.next));
      if (n == rounds) {
        self->send(report, done_atom::value, now_ns());
        self->quit();
        return;
      }
      self->send(pong, ping_atom::value, ++self->state.next);
    },
  };
}

} // namespace

void ping_pong(caf::actor_system& sys) {
  uint64_t rounds = scaled(1000000, 1000);
  caf::scoped_actor self{sys};
  auto pong = sys.spawn(pong_actor);
  auto ping = sys.spawn(ping_actor, pong, rounds, as_actor(self));
  uint64_t t0 = now_ns();
  self->send(ping, start_atom::value);
  uint64_t t1 = await_done(self, "the last pong");
  self->request(pong, hang_limit, count_atom::value)
    .receive(
      [&](uint64_t pings) {
        if (pings != rounds)
          fail("ping_pong: pong saw %llu pings, expected %llu",
               static_cast<unsigned long long>(pings), static_cast<unsigned long long>(rounds));
      },
      [&](caf::error& e) { fail("ping_pong: count: %s", sys.render(e).c_str()); });
  summary("ping_pong", "round_trip", static_cast<double>(t1 - t0) / static_cast<double>(rounds),
          "ns");
}

// ---- counting ------------------------------------------------------------------------

namespace {

struct counter_state {
  uint64_t count = 0;
};

caf::behavior counter_actor(caf::stateful_actor<counter_state>* self) {
  return {
    [=](inc_atom) { ++self->state.count; },
    [=](total_atom) { return self->state.count; },
  };
}

caf::behavior producer_actor(caf::event_based_actor* self, caf::actor counter, uint64_t n,
                             caf::actor report) {
  return {
    [=](start_atom) {
      for (uint64_t i = 0; i < n; ++i)
        self->send(counter, inc_atom::value);
      // The ask queues behind the increments (same sender, same receiver).
      self->request(counter, caf::infinite, total_atom::value)
        .then([=](uint64_t total) {
          if (total != n)
            fail("counting: total %llu, expected %llu", static_cast<unsigned long long>(total),
                 static_cast<unsigned long long>(n));
          self->send(report, done_atom::value, now_ns());
          self->quit();
        });
    },
  };
}

} // namespace

void counting(caf::actor_system& sys) {
  uint64_t n = scaled(1000000, 1000);
  caf::scoped_actor self{sys};
  auto counter = sys.spawn(counter_actor);
  auto producer = sys.spawn(producer_actor, counter, n, as_actor(self));
  uint64_t t0 = now_ns();
  self->send(producer, start_atom::value);
  uint64_t t1 = await_done(self, "the total");
  summary("counting", "throughput", static_cast<double>(n) / (static_cast<double>(t1 - t0) / 1e9),
          "msg/s");
}

// ---- fork_join_throughput ------------------------------------------------------------

namespace {

// Savina's "tiny computation": a sine, squared.
double compute(uint64_t i) {
  double s = std::sin(static_cast<double>(i) * 0.001);
  return s * s;
}

struct fj_state {
  uint64_t count = 0;
  uint64_t isum = 0;
  double acc = 0.0;
};

caf::behavior fj_worker(caf::stateful_actor<fj_state>* self, uint64_t per, double expect_acc,
                        caf::actor sink) {
  return {
    [=](work_atom, uint64_t i) {
      auto& st = self->state;
      st.acc += compute(i);
      st.isum += i;
      if (++st.count == per) {
        if (st.isum != per * (per - 1) / 2 || st.acc != expect_acc)
          fail("fork_join_throughput: a worker summed %llu and %.17g, expected %llu and %.17g",
               static_cast<unsigned long long>(st.isum), st.acc,
               static_cast<unsigned long long>(per * (per - 1) / 2), expect_acc);
        self->send(sink, done_atom::value);
        self->quit();
      }
    },
  };
}

caf::behavior fj_sender(caf::event_based_actor* self, std::vector<caf::actor> workers,
                        uint64_t per) {
  return {
    [=](start_atom) {
      for (uint64_t i = 0; i < per; ++i)
        for (const auto& w : workers)
          self->send(w, work_atom::value, i);
      self->quit();
    },
  };
}

} // namespace

void fork_join_throughput(caf::actor_system& sys) {
  const uint64_t nworkers = 60;
  uint64_t per = scaled(10000, 100);
  // What each worker must end with: the same sums in the same order.
  double expect_acc = 0.0;
  for (uint64_t i = 0; i < per; ++i)
    expect_acc += compute(i);
  caf::scoped_actor self{sys};
  auto sink = sys.spawn(countdown, nworkers, as_actor(self));
  std::vector<caf::actor> workers;
  for (uint64_t w = 0; w < nworkers; ++w)
    workers.push_back(sys.spawn(fj_worker, per, expect_acc, sink));
  auto sender = sys.spawn(fj_sender, std::move(workers), per);
  uint64_t t0 = now_ns();
  self->send(sender, start_atom::value);
  uint64_t t1 = await_done(self, "every worker");
  summary("fork_join_throughput", "throughput",
          static_cast<double>(nworkers * per) / (static_cast<double>(t1 - t0) / 1e9), "msg/s");
}

// ---- fork_join_create ----------------------------------------------------------------

namespace {

std::atomic<uint64_t> fjc_handled;
std::atomic<uint64_t> fjc_isum;

caf::behavior fjc_worker(caf::event_based_actor* self, uint64_t n, caf::actor report) {
  return {
    [=](work_atom, uint64_t i) {
      volatile double r = compute(i);
      (void)r;
      fjc_isum.fetch_add(i, std::memory_order_relaxed);
      if (fjc_handled.fetch_add(1, std::memory_order_acq_rel) + 1 == n)
        self->send(report, done_atom::value, now_ns());
      self->quit();
    },
  };
}

} // namespace

void fork_join_create(caf::actor_system& sys) {
  uint64_t n = scaled(40000, 100);
  caf::scoped_actor self{sys};
  auto report = as_actor(self);
  // As in Savina, the benchmark's main thread spawns each worker and sends
  // it its message. (Spawning all of them from inside one actor is much
  // slower on CAF 0.17: the spawned actors queue on that worker, and the
  // other worker steals from the tail of that queue, a walk along it —
  // quadratic in the count.)
  uint64_t t0 = now_ns();
  for (uint64_t i = 0; i < n; ++i) {
    auto w = sys.spawn(fjc_worker, n, report);
    caf::anon_send(w, work_atom::value, i);
  }
  uint64_t t1 = await_done(self, "every created actor");
  if (fjc_handled.load() != n || fjc_isum.load() != n * (n - 1) / 2)
    fail("fork_join_create: %llu handled (index sum %llu), expected %llu (%llu)",
         static_cast<unsigned long long>(fjc_handled.load()),
         static_cast<unsigned long long>(fjc_isum.load()), static_cast<unsigned long long>(n),
         static_cast<unsigned long long>(n * (n - 1) / 2));
  summary("fork_join_create", "rate", static_cast<double>(n) / (static_cast<double>(t1 - t0) / 1e9),
          "actors/s");
}

// ---- thread_ring ---------------------------------------------------------------------

namespace {

struct ring_state {
  caf::actor next;
  uint64_t seen = 0;
};

std::atomic<int64_t> ring_end{-1}; // which node saw the token's last hop

caf::behavior ring_node(caf::stateful_actor<ring_state>* self, int64_t index,
                        caf::actor report) {
  return {
    [=](next_atom, caf::actor next) { self->state.next = std::move(next); },
    [=](token_atom, uint64_t left) {
      ++self->state.seen;
      if (left == 0) {
        ring_end.store(index);
        self->send(report, done_atom::value, now_ns());
        return;
      }
      self->send(self->state.next, token_atom::value, left - 1);
    },
    [=](count_atom) { return self->state.seen; },
  };
}

} // namespace

void thread_ring(caf::actor_system& sys) {
  const uint64_t nodes = 100;
  uint64_t hops = scaled(1000000, 1000);
  caf::scoped_actor self{sys};
  std::vector<caf::actor> ring;
  for (uint64_t i = 0; i < nodes; ++i)
    ring.push_back(sys.spawn(ring_node, static_cast<int64_t>(i), as_actor(self)));
  for (uint64_t i = 0; i < nodes; ++i)
    self->send(ring[i], next_atom::value, ring[(i + 1) % nodes]);
  uint64_t t0 = now_ns();
  self->send(ring[0], token_atom::value, hops);
  uint64_t t1 = await_done(self, "the token's last hop");
  if (ring_end.load() != static_cast<int64_t>(hops % nodes))
    fail("thread_ring: the token ended at node %lld, expected %llu",
         static_cast<long long>(ring_end.load()), static_cast<unsigned long long>(hops % nodes));
  uint64_t seen = 0;
  for (auto& node : ring)
    self->request(node, hang_limit, count_atom::value)
      .receive([&](uint64_t n) { seen += n; },
               [&](caf::error& e) { fail("thread_ring: count: %s", sys.render(e).c_str()); });
  if (seen != hops + 1)
    fail("thread_ring: the nodes saw %llu tokens, expected %llu",
         static_cast<unsigned long long>(seen), static_cast<unsigned long long>(hops + 1));
  // The ring's handles form a cycle: stop the nodes so the system can end.
  for (auto& node : ring)
    self->send_exit(node, caf::exit_reason::user_shutdown);
  summary("thread_ring", "hop", static_cast<double>(t1 - t0) / static_cast<double>(hops), "ns");
}

// ---- chameneos -----------------------------------------------------------------------

namespace {

// Savina 6: a chameneo asks the mall for a meeting; the mall pairs two
// requests by telling the first one about the second; they exchange colours
// (each takes the complement of the pair) and ask again. Once the mall has
// arranged all its meetings it answers every request with "fade": the
// chameneo reports how many meetings it had and quits.
int complement(int a, int b) {
  return a == b ? a : 3 - a - b;
}

struct chameneo_state {
  int colour = 0;
  uint64_t meetings = 0;
};

caf::behavior chameneo(caf::stateful_actor<chameneo_state>* self, caf::actor mall,
                       int colour) {
  self->state.colour = colour;
  return {
    [=](start_atom) { self->send(mall, meet_atom::value, self->state.colour); },
    // The mall paired us with `partner` of colour `other`.
    [=](meet_atom, int other, caf::actor partner) {
      auto& st = self->state;
      st.colour = complement(st.colour, other);
      ++st.meetings;
      self->send(partner, change_atom::value, st.colour);
      self->send(mall, meet_atom::value, st.colour);
    },
    // Our partner's answer: the colour we both take.
    [=](change_atom, int colour) {
      auto& st = self->state;
      st.colour = colour;
      ++st.meetings;
      self->send(mall, meet_atom::value, st.colour);
    },
    [=](fade_atom) {
      self->send(mall, count_atom::value, self->state.meetings);
      self->quit();
    },
  };
}

struct mall_state {
  uint64_t left = 0;        // meetings still to arrange
  caf::actor waiting;       // the first of a pair, if any
  int waiting_colour = 0;
  uint64_t faded = 0;
  uint64_t total = 0;       // meetings the chameneos counted
};

caf::behavior mall_actor(caf::stateful_actor<mall_state>* self, uint64_t meetings,
                         uint64_t chameneos, caf::actor report) {
  self->state.left = meetings;
  return {
    [=](meet_atom, int colour) {
      auto& st = self->state;
      auto sender = caf::actor_cast<caf::actor>(self->current_sender());
      if (st.left == 0) {
        self->send(sender, fade_atom::value);
      } else if (!st.waiting) {
        st.waiting = std::move(sender);
        st.waiting_colour = colour;
      } else {
        --st.left;
        self->send(st.waiting, meet_atom::value, colour, sender);
        st.waiting = nullptr;
      }
    },
    [=](count_atom, uint64_t n) {
      auto& st = self->state;
      st.total += n;
      if (++st.faded == chameneos) {
        if (st.total != 2 * meetings || st.waiting)
          fail("chameneos: the chameneos counted %llu meetings, expected %llu",
               static_cast<unsigned long long>(st.total),
               static_cast<unsigned long long>(2 * meetings));
        self->send(report, done_atom::value, now_ns());
        self->quit();
      }
    },
  };
}

} // namespace

void chameneos(caf::actor_system& sys) {
  const uint64_t n = 100;
  uint64_t meetings = scaled(200000, 1000);
  caf::scoped_actor self{sys};
  auto mall = sys.spawn(mall_actor, meetings, n, as_actor(self));
  std::vector<caf::actor> all;
  for (uint64_t i = 0; i < n; ++i)
    all.push_back(sys.spawn(chameneo, mall, static_cast<int>(i % 3)));
  uint64_t t0 = now_ns();
  for (auto& c : all)
    self->send(c, start_atom::value);
  uint64_t t1 = await_done(self, "the last chameneo to fade");
  summary("chameneos", "throughput",
          static_cast<double>(meetings) / (static_cast<double>(t1 - t0) / 1e9), "meetings/s");
}

// ---- big -----------------------------------------------------------------------------

namespace {

struct big_state {
  uint64_t sent = 0;  // pings sent (each waits for its pong)
  uint64_t pings = 0; // pings answered
  rng r{0};
};

using peers_ptr = std::shared_ptr<const std::vector<caf::actor>>;

caf::behavior big_worker(caf::stateful_actor<big_state>* self, uint64_t index,
                         peers_ptr peers, uint64_t per, caf::actor sink) {
  self->state.r = rng{index + 1};
  auto ping_someone = [=] {
    auto& st = self->state;
    uint64_t to = st.r.below(peers->size() - 1);
    if (to >= index)
      ++to; // anyone but ourselves
    ++st.sent;
    self->send((*peers)[to], ping_atom::value);
  };
  return {
    [=](start_atom) { ping_someone(); },
    [=](ping_atom) {
      ++self->state.pings;
      return pong_atom::value;
    },
    [=](pong_atom) {
      if (self->state.sent < per)
        ping_someone();
      else
        self->send(sink, done_atom::value);
    },
    [=](stats_atom) { return std::make_tuple(self->state.sent, self->state.pings); },
  };
}

} // namespace

void big(caf::actor_system& sys) {
  const uint64_t n = 120;
  uint64_t per = scaled(2000, 20);
  caf::scoped_actor self{sys};
  auto sink = sys.spawn(countdown, n, as_actor(self));
  // Every worker needs every handle: they share one list, filled before any
  // worker gets its start message.
  auto peers = std::make_shared<std::vector<caf::actor>>();
  for (uint64_t i = 0; i < n; ++i)
    peers->push_back(sys.spawn(big_worker, i, peers_ptr{peers}, per, sink));
  uint64_t t0 = now_ns();
  for (auto& w : *peers)
    self->send(w, start_atom::value);
  uint64_t t1 = await_done(self, "every worker's last pong");
  uint64_t sent = 0, answered = 0;
  for (auto& w : *peers)
    self->request(w, hang_limit, stats_atom::value)
      .receive(
        [&](uint64_t s, uint64_t p) {
          sent += s;
          answered += p;
        },
        [&](caf::error& e) { fail("big: stats: %s", sys.render(e).c_str()); });
  if (sent != n * per || answered != n * per)
    fail("big: %llu pings sent, %llu answered, expected %llu",
         static_cast<unsigned long long>(sent), static_cast<unsigned long long>(answered),
         static_cast<unsigned long long>(n * per));
  // The workers hold the list of handles that holds them: stop them.
  for (auto& w : *peers)
    self->send_exit(w, caf::exit_reason::user_shutdown);
  summary("big", "throughput",
          static_cast<double>(2 * n * per) / (static_cast<double>(t1 - t0) / 1e9), "msg/s");
}

} // namespace cb
