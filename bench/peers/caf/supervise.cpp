// bench/peers/caf/supervise.cpp — restarting failed actors on CAF 0.17.
//
// CAF has no OTP-style supervisor: this is hand-written supervision, the
// idiomatic CAF equivalent. A supervising actor spawns its children with
// `monitored`, and its down handler (set_down_handler) sees a child's
// down_msg and spawns a replacement. A child fails by quitting with an
// error reason (crash_reason() below).
//
//   restart_cycle     one child. A driver actor sends the child "crash"; the
//                     supervisor gets the down_msg, spawns a new child and
//                     tells the driver its handle (CAF handles are not stable
//                     across a restart, so the supervisor hands the new one
//                     out, like a name re-registered); the driver pings the
//                     new child. Time from the crash send to the ping's
//                     reply, 2,000 cycles: median and p99 (ns). Then, as
//                     bench=ping_baseline, the same cycles without the crash
//                     (the floor the restart adds to; troupe's and Erlang's
//                     restart benchmarks print it too).
//                     Checks: the supervisor restarted once per crash, every
//                     exit had the crash reason, the children initialised
//                     once per restart (plus the first), every reply matched.
//   one_for_all_1000  the same supervisor with 1,000 children and the
//                     one_for_all strategy: when one fails, it demonitors and
//                     kills the other 999 and spawns all 1,000 anew. Time from
//                     the crash send until all 1,000 replacements have run
//                     their initialisation (an atomic counter in the actor's
//                     function body; the last one stamps the clock), 10
//                     repetitions: median and min (µs).
//                     Checks: one restart per crash, all 1,000 old children
//                     terminated each time, no stray down messages, every
//                     replacement initialised once.
#include "common.hpp"

namespace cb {

namespace {

caf::error crash_reason() {
  return caf::error{1, caf::atom("crashed")};
}

// ---- restart_cycle -------------------------------------------------------------------

std::atomic<uint64_t> rc_inits;

caf::behavior rc_child(caf::event_based_actor* self) {
  rc_inits.fetch_add(1, std::memory_order_relaxed);
  return {
    [=](crash_atom) { self->quit(crash_reason()); },
    [=](ping_atom, uint64_t n) { return n; },
  };
}

struct rc_sup_state {
  caf::actor child;
  caf::actor listener;     // told each new child's handle
  uint64_t restarts = 0;
  uint64_t odd_exits = 0;  // down_msgs without the crash reason
};

caf::behavior rc_supervisor(caf::stateful_actor<rc_sup_state>* self) {
  self->state.child = self->spawn<caf::monitored>(rc_child);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source != st.child.address())
      return;
    if (dm.reason != crash_reason())
      ++st.odd_exits;
    ++st.restarts;
    st.child = self->spawn<caf::monitored>(rc_child);
    if (st.listener)
      self->send(st.listener, child_atom::value, st.child);
  });
  return {
    [=](subscr_atom) {
      self->state.listener = caf::actor_cast<caf::actor>(self->current_sender());
      return self->state.child;
    },
    [=](stats_atom) { return std::make_tuple(self->state.restarts, self->state.odd_exits); },
  };
}

struct rc_driver_state {
  caf::actor child;
  uint64_t done = 0; // cycles completed
  uint64_t t0 = 0;   // when the current cycle began
};

// With `crash` set, a cycle is: crash the child, wait for the supervisor to
// name its replacement, ping that. Without, a cycle is the ping alone (the
// baseline the restart adds to).
caf::behavior rc_driver(caf::stateful_actor<rc_driver_state>* self, caf::actor sup, bool crash,
                        uint64_t n, std::vector<uint64_t>* samples, caf::actor report) {
  auto ping = [=] {
    auto& st = self->state;
    self->request(st.child, caf::infinite, ping_atom::value, st.done).then([=](uint64_t echo) {
      auto& st = self->state;
      if (echo != st.done)
        fail("restart_cycle: reply %llu, expected %llu", static_cast<unsigned long long>(echo),
             static_cast<unsigned long long>(st.done));
      (*samples)[st.done++] = now_ns() - st.t0;
      if (st.done == n) {
        self->send(report, done_atom::value, now_ns());
        self->quit();
        return;
      }
      st.t0 = now_ns();
      if (crash)
        self->send(st.child, crash_atom::value);
      else
        self->send(self, next_atom::value);
    });
  };
  return {
    [=](start_atom) {
      self->request(sup, caf::infinite, subscr_atom::value).then([=](caf::actor child) {
        auto& st = self->state;
        st.child = std::move(child);
        st.t0 = now_ns();
        if (crash)
          self->send(st.child, crash_atom::value);
        else
          ping();
      });
    },
    // The supervisor restarted the child: ping the new one.
    [=](child_atom, caf::actor child) {
      self->state.child = std::move(child);
      ping();
    },
    // Baseline: the next ping (through the mailbox, as a crash cycle's
    // ping follows a message too).
    [=](next_atom) { ping(); },
  };
}

uint64_t rc_restarts(caf::scoped_actor& self, const caf::actor& sup) {
  uint64_t restarts = 0;
  self->request(sup, hang_limit, stats_atom::value)
    .receive(
      [&](uint64_t r, uint64_t odd) {
        if (odd != 0)
          fail("restart_cycle: %llu exits without the crash reason",
               static_cast<unsigned long long>(odd));
        restarts = r;
      },
      [&](caf::error& e) {
        fail("restart_cycle: stats: %s", self->home_system().render(e).c_str());
      });
  return restarts;
}

} // namespace

void restart_cycle(caf::actor_system& sys) {
  uint64_t n = scaled(2000, 100);
  std::vector<uint64_t> samples(n), baseline(n);
  caf::scoped_actor self{sys};
  auto report = caf::actor_cast<caf::actor>(self);
  auto sup = sys.spawn(rc_supervisor);
  self->send(sys.spawn(rc_driver, sup, true, n, &samples, report), start_atom::value);
  await_done(self, "the last restart cycle");
  uint64_t restarts = rc_restarts(self, sup);
  if (restarts != n || rc_inits.load() != n + 1)
    fail("restart_cycle: %llu restarts and %llu child initialisations for %llu crashes",
         static_cast<unsigned long long>(restarts),
         static_cast<unsigned long long>(rc_inits.load()), static_cast<unsigned long long>(n));
  self->send(sys.spawn(rc_driver, sup, false, n, &baseline, report), start_atom::value);
  await_done(self, "the last baseline ping");
  if (rc_restarts(self, sup) != n || rc_inits.load() != n + 1)
    fail("restart_cycle: the child restarted during the baseline");
  self->send_exit(sup, caf::exit_reason::user_shutdown);
  summary("ping_baseline", "median", static_cast<double>(percentile(baseline, 50)), "ns");
  summary("ping_baseline", "p99", static_cast<double>(percentile(baseline, 99)), "ns");
  summary("restart_cycle", "median", static_cast<double>(percentile(samples, 50)), "ns");
  summary("restart_cycle", "p99", static_cast<double>(percentile(samples, 99)), "ns");
}

// ---- one_for_all_1000 ----------------------------------------------------------------

namespace {

constexpr uint64_t group = 1000;

std::atomic<uint64_t> ofa_inits;
std::atomic<uint64_t> ofa_exits;
std::atomic<uint64_t> ofa_target; // ofa_inits value that completes a restart
std::atomic<uint64_t> ofa_end_ns;
std::atomic<bool> ofa_done;

caf::behavior ofa_child(caf::event_based_actor* self) {
  self->attach_functor([](const caf::error&) { ofa_exits.fetch_add(1); });
  if (ofa_inits.fetch_add(1, std::memory_order_acq_rel) + 1 == ofa_target.load()) {
    ofa_end_ns.store(now_ns());
    ofa_done.store(true, std::memory_order_release);
  }
  return {
    [=](crash_atom) { self->quit(crash_reason()); },
  };
}

struct ofa_sup_state {
  std::vector<caf::actor> children;
  uint64_t restarts = 0;
  uint64_t stray = 0; // down_msgs of no current child, or without the crash reason
};

caf::behavior ofa_supervisor(caf::stateful_actor<ofa_sup_state>* self) {
  auto start_all = [=] {
    auto& kids = self->state.children;
    kids.clear();
    for (uint64_t i = 0; i < group; ++i)
      kids.push_back(self->spawn<caf::monitored>(ofa_child));
  };
  start_all();
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    bool ours = false;
    for (auto& c : st.children)
      ours = ours || c.address() == dm.source;
    if (!ours || dm.reason != crash_reason()) {
      ++st.stray;
      return;
    }
    // one_for_all: stop every sibling (without hearing of it), then start
    // the whole group again.
    for (auto& c : st.children) {
      if (c.address() == dm.source)
        continue;
      self->demonitor(c);
      self->send_exit(c, caf::exit_reason::kill);
    }
    ++st.restarts;
    start_all();
  });
  return {
    [=](child_atom, uint64_t i) { return self->state.children.at(i); },
    [=](stats_atom) { return std::make_tuple(self->state.restarts, self->state.stray); },
  };
}

void wait_count(const std::atomic<uint64_t>& counter, uint64_t want, const char* what) {
  uint64_t t0 = now_ns();
  while (counter.load() < want) {
    if (now_ns() - t0 > 10000000000ull)
      fail("one_for_all_1000: %s: %llu, expected %llu after 10 s", what,
           static_cast<unsigned long long>(counter.load()), static_cast<unsigned long long>(want));
    sleep_s(0.0001);
  }
  if (counter.load() != want)
    fail("one_for_all_1000: %s: %llu, expected %llu", what,
         static_cast<unsigned long long>(counter.load()), static_cast<unsigned long long>(want));
}

} // namespace

void one_for_all(caf::actor_system& sys) {
  uint64_t reps = scaled(10, 3);
  std::vector<uint64_t> ns;
  caf::scoped_actor self{sys};
  ofa_target.store(group);
  auto sup = sys.spawn(ofa_supervisor);
  wait_flag(ofa_done, ofa_inits, "the first 1,000 children");
  for (uint64_t rep = 0; rep < reps; ++rep) {
    caf::actor victim;
    self->request(sup, hang_limit, child_atom::value, (rep * 389) % group)
      .receive([&](caf::actor c) { victim = std::move(c); },
               [&](caf::error& e) { fail("one_for_all_1000: child: %s", sys.render(e).c_str()); });
    ofa_done.store(false);
    ofa_target.store(ofa_inits.load() + group);
    uint64_t t0 = now_ns();
    self->send(victim, crash_atom::value);
    wait_flag(ofa_done, ofa_inits, "1,000 re-initialised children");
    ns.push_back(ofa_end_ns.load() - t0);
    // The old group, the victim included, must all be gone.
    wait_count(ofa_exits, group * (rep + 1), "old children terminated");
  }
  wait_count(ofa_inits, group * (reps + 1), "children initialised");
  self->request(sup, hang_limit, stats_atom::value)
    .receive(
      [&](uint64_t restarts, uint64_t stray) {
        if (restarts != reps || stray != 0)
          fail("one_for_all_1000: %llu restarts, %llu stray down messages, expected %llu and 0",
               static_cast<unsigned long long>(restarts), static_cast<unsigned long long>(stray),
               static_cast<unsigned long long>(reps));
      },
      [&](caf::error& e) { fail("one_for_all_1000: stats: %s", sys.render(e).c_str()); });
  self->send_exit(sup, caf::exit_reason::user_shutdown);
  summary("one_for_all_1000", "median", static_cast<double>(percentile(ns, 50)) / 1000.0, "us");
  summary("one_for_all_1000", "min", static_cast<double>(percentile(ns, 0)) / 1000.0, "us");
}

} // namespace cb
