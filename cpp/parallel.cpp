#include "parallel.h"

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <cstdlib>

namespace nerve {

namespace {
std::atomic<int> g_threads{0};  // 0: not yet initialised
bool g_forked = false;  // this process is a fork() child: libgomp's threads are gone

void on_fork_child() {
  g_forked = true;
  g_threads.store(1, std::memory_order_relaxed);
}

const bool g_fork_handler_registered = pthread_atfork(nullptr, nullptr, on_fork_child) == 0;
}  // namespace

int available_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return 1;
}

bool openmp_enabled() {
#ifdef NERVE_HAVE_OPENMP
  return true;
#else
  return false;
#endif
}

int default_num_threads() {
#ifdef NERVE_HAVE_OPENMP
  const int cpus = available_cpus();
  const char* env = std::getenv("OMP_NUM_THREADS");
  if (env) {
    const int requested = std::atoi(env);  // "4,2" (nested lists) reads as its first level
    if (requested > 0) return requested < cpus ? requested : cpus;
  }
  return cpus;
#else
  return 1;
#endif
}

int get_num_threads() {
  int n = g_threads.load(std::memory_order_relaxed);
  if (n == 0) {
    n = default_num_threads();
    g_threads.store(n, std::memory_order_relaxed);
  }
  return n;
}

void set_num_threads(int n) {
#ifdef NERVE_HAVE_OPENMP
  if (g_forked) return;  // stays 1: see the fork note in parallel.h
  const int cpus = available_cpus();  // extra threads would only wait for a core
  g_threads.store(n < 1 ? default_num_threads() : (n < cpus ? n : cpus), std::memory_order_relaxed);
#else
  (void)n;
  g_threads.store(1, std::memory_order_relaxed);
#endif
}

}  // namespace nerve
