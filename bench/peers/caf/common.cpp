// bench/peers/caf/common.cpp — helpers shared by the CAF workloads (common.hpp).
#include "common.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <thread>

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

namespace cb {

double scale = 1.0;

uint64_t scaled(uint64_t base, uint64_t min) {
  auto n = static_cast<uint64_t>(static_cast<double>(base) * scale + 0.5);
  return n < min ? min : n;
}

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t cpu_ns() {
  rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0)
    fail("getrusage failed");
  auto us = static_cast<uint64_t>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u
            + static_cast<uint64_t>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  return us * 1000u;
}

uint64_t rss_bytes() {
  FILE* f = fopen("/proc/self/statm", "r");
  if (f == nullptr)
    fail("cannot open /proc/self/statm");
  unsigned long size = 0, resident = 0;
  int n = fscanf(f, "%lu %lu", &size, &resident);
  fclose(f);
  if (n != 2)
    fail("cannot parse /proc/self/statm");
  return static_cast<uint64_t>(resident) * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

int thread_count() {
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr)
    fail("cannot open /proc/self/task");
  int n = 0;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.')
      ++n;
  closedir(d);
  return n;
}

void sleep_s(double s) {
  std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

void summary(const char* bench, const char* metric, double value, const char* unit) {
  printf("SUMMARY bench=%s impl=caf metric=%s value=%.3f unit=%s\n", bench, metric, value,
         unit);
  fflush(stdout);
}

void fail(const char* fmt, ...) {
  fflush(stdout);
  fputs("bench: FAIL ", stderr);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
  // Not exit(): the actor system's destructor would wait for actors that a
  // failed run may have left hanging.
  _exit(1);
}

uint64_t percentile(std::vector<uint64_t>& v, double p) {
  if (v.empty())
    fail("percentile of no samples");
  std::sort(v.begin(), v.end());
  auto i = static_cast<size_t>(static_cast<double>(v.size()) * p / 100.0);
  return v[std::min(i, v.size() - 1)];
}

config::config() {
  set("scheduler.max-threads", 2);
}

void check_workers(caf::actor_system& sys) {
  auto n = sys.scheduler().num_workers();
  if (n != 2)
    fail("the scheduler runs %zu workers, expected 2", n);
}

void wait_flag(const std::atomic<bool>& flag, const std::atomic<uint64_t>& progress,
               const char* what) {
  uint64_t last = progress.load(), since = now_ns();
  while (!flag.load(std::memory_order_acquire)) {
    std::this_thread::sleep_for(std::chrono::microseconds(100));
    uint64_t p = progress.load(std::memory_order_relaxed), t = now_ns();
    if (p != last) {
      last = p;
      since = t;
    } else if (t - since > 10000000000ull) {
      fail("no progress for 10 s waiting for %s (progress %llu)", what,
           static_cast<unsigned long long>(p));
    }
  }
}

uint64_t await_done(caf::scoped_actor& self, const char* what) {
  uint64_t stamp = 0;
  self->receive(
    [&](done_atom, uint64_t t) { stamp = t; },
    caf::after(hang_limit) >> [&] { fail("timed out waiting for %s", what); });
  return stamp;
}

caf::behavior countdown(caf::stateful_actor<countdown_state>* self, uint64_t n,
                        caf::actor report) {
  self->state.left = n;
  return {
    [=](done_atom) {
      if (--self->state.left == 0) {
        self->send(report, done_atom::value, now_ns());
        self->quit();
      }
    },
  };
}

} // namespace cb
