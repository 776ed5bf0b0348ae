#include "parallel.h"

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>

namespace nerve {

namespace {
std::atomic<int> g_threads{0};  // nerve's count; 0: not yet initialised
bool g_forked = false;  // this process is a fork() child: libgomp's threads are gone
std::atomic<bool> g_warned{false};  // the shortage warning was given since the last set_num_threads

void warn_on_stderr(const char* message) { std::fprintf(stderr, "nerve: %s\n", message); }
std::atomic<void (*)(const char*)> g_warning_handler{warn_on_stderr};

void on_fork_child() {
  g_forked = true;
  g_threads.store(1, std::memory_order_relaxed);
}

const bool g_fork_handler_registered = pthread_atfork(nullptr, nullptr, on_fork_child) == 0;

int nerve_count() {
  int n = g_threads.load(std::memory_order_relaxed);
  if (n == 0) {
    n = default_num_threads();
    g_threads.store(n, std::memory_order_relaxed);
  }
  return n;
}

#ifdef NERVE_HAVE_OPENMP
// The OpenMP thread count nerve last left on this thread: its ICV still equals it unless
// someone else changed it. 0: nerve has not run on this thread yet.
thread_local int t_agreed_icv = 0;
// The team this thread's libgomp pool was last started for (1: no workers yet).
thread_local int t_team_ready = 1;

void* read_icv(void* out) {
  *static_cast<int*>(out) = omp_get_max_threads();
  return nullptr;
}

// omp_get_max_threads() on a thread that never set its own (libgomp's process default, from
// OMP_NUM_THREADS or the CPU count), read on a fresh thread; 0 if none could be started.
int process_default_icv() {
  static const int icv = [] {
    int value = 0;
    pthread_t thread;
    if (pthread_create(&thread, nullptr, read_icv, &value) == 0) pthread_join(thread, nullptr);
    return value;
  }();
  return icv;
}

// nerve's count, lowered by another party's OpenMP setting on this thread (see parallel.h).
int count_allowed_here() {
  const int own = nerve_count();
  const int icv = omp_get_max_threads();
  if (t_agreed_icv == 0) t_agreed_icv = process_default_icv() > 0 ? process_default_icv() : icv;
  if (icv != t_agreed_icv) return icv < own ? icv : own;
  if (icv != own) {
    omp_set_num_threads(own);
    t_agreed_icv = own;
  }
  return own;
}

struct Gate {
  std::mutex mutex;
  std::condition_variable opened;
  bool open = false;
};

void* wait_at_gate(void* arg) {
  Gate& gate = *static_cast<Gate*>(arg);
  std::unique_lock<std::mutex> lock(gate.mutex);
  gate.opened.wait(lock, [&] { return gate.open; });
  return nullptr;
}

// 0 when `count` more threads could run at once in this process, else pthread_create's error.
int try_start_threads(int count) {
  std::unique_ptr<pthread_t[]> threads(new (std::nothrow) pthread_t[count]);
  if (!threads) return ENOMEM;
  Gate gate;
  int started = 0, error = 0;
  while (started < count && (error = pthread_create(&threads[started], nullptr, wait_at_gate,
                                                    &gate)) == 0)
    ++started;
  {
    std::lock_guard<std::mutex> lock(gate.mutex);
    gate.open = true;
  }
  gate.opened.notify_all();
  for (int i = 0; i < started; ++i) pthread_join(threads[i], nullptr);
  return error;
}

// Makes this thread's libgomp pool hold a team of `team`, or drops nerve to 1 thread and warns
// when the system will not give the process that many threads. Returns the team to use.
int prepare_team(int team) {
  const int error = try_start_threads(team - t_team_ready);
  if (error != 0) {
    g_threads.store(1, std::memory_order_relaxed);
    if (!g_warned.exchange(true)) {
      const std::string message = "could not start " + std::to_string(team) + " threads (" +
                                  std::strerror(error) + "), running on 1 thread: raise the " +
                                  "process limit (ulimit -u, the container's pids limit) or " +
                                  "call nerve.set_num_threads(1) to silence this";
      g_warning_handler.load()(message.c_str());
    }
    return 1;
  }
  // A region with work in it (an empty one compiles to nothing): libgomp starts the workers
  // now and keeps them for the later regions of this size (fewer, if OMP_THREAD_LIMIT says so).
  int arrived = 0;
#pragma omp parallel num_threads(team)
  {
#pragma omp atomic
    ++arrived;
  }
  t_team_ready = team;
  return team;
}
#endif
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
#ifdef NERVE_HAVE_OPENMP
  if (in_parallel_region()) return nerve_count();  // a nested call never starts a team
  const int team = count_allowed_here();
  // A smaller team ends the pool's surplus workers: a later, larger one must probe again.
  if (team > 1 && team < t_team_ready) t_team_ready = team;
  return team > t_team_ready ? prepare_team(team) : team;
#else
  return 1;
#endif
}

void set_num_threads(int n) {
#ifdef NERVE_HAVE_OPENMP
  if (g_forked) return;  // stays 1: see the fork note in parallel.h
  const int cpus = available_cpus();  // extra threads would only wait for a core
  const int count = n < 1 ? default_num_threads() : (n < cpus ? n : cpus);
  g_threads.store(count, std::memory_order_relaxed);
  g_warned.store(false);
  if (!in_parallel_region()) {
    omp_set_num_threads(count);
    t_agreed_icv = count;
  }
#else
  (void)n;
  g_threads.store(1, std::memory_order_relaxed);
#endif
}

void set_thread_warning_handler(void (*handler)(const char* message)) {
  g_warning_handler.store(handler ? handler : warn_on_stderr);
}

}  // namespace nerve
