// Threading policy shared by all kernels.
// - nerve's thread count (set_num_threads) is process-wide, initialised from OMP_NUM_THREADS and
//   capped at the CPUs in this process's affinity mask (more threads than CPUs only spin).
// - The count a call uses (get_num_threads) also obeys OpenMP's own setting, which is per
//   thread (the nthreads ICV, omp_get_max_threads): nerve keeps it equal to its count on every
//   thread it runs on, so threadpoolctl reports nerve's count; when someone else has changed it
//   on the calling thread (threadpoolctl's threadpool_limits, omp_set_num_threads), the call
//   uses min(nerve's count, that value), and nerve's own count again once it is restored. A
//   thread nerve has not run on yet holds libgomp's process default, which counts as unchanged
//   (so there a limit equal to that default, set before nerve's first call, goes unnoticed),
//   and other Python threads get nerve's count, not libgomp's default.
// - Before a thread's first region at a count, nerve starts (and joins) that many extra threads
//   with pthread_create, then runs a region of that size so libgomp creates its workers and
//   keeps them. libgomp prints "Thread creation failed" and exits the process when it cannot
//   start a worker (a container's pids limit, RLIMIT_NPROC); where the probe fails, nerve
//   drops to 1 thread instead and warns (once per set_num_threads). Every region uses the whole
//   team: libgomp ends surplus workers when a smaller team starts, and would create them again.
// - parallel_for splits [0, n) into fixed chunks of `grain` items: the partition depends on
//   n and grain only, never on the thread count, so any per-chunk computation gives bitwise
//   the same result on 1 or 2 threads. Chunks are handed out dynamically so a core taken by
//   another process does not stall the others.
// - Below `serial_below` items the loop runs inline: an OpenMP region costs microseconds.
// - libgomp's worker threads do not survive fork(): a child forked after the parent ran a
//   parallel region hangs in its first one. A forked child therefore runs every loop inline
//   (set_num_threads cannot raise it), as PyTorch does.
// Bodies must not throw: validate everything before calling (bindings do).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <vector>

#ifdef NERVE_HAVE_OPENMP
#include <omp.h>
#endif

namespace nerve {

// Threads a region started on this thread may use (see above); outside a region it may probe
// and start libgomp's workers, so call it before the region and size per-thread scratch with it.
int get_num_threads();
// Capped at available_cpus(); n < 1 resets to the default (OMP_NUM_THREADS or the CPU count).
// Also sets the calling thread's OpenMP thread count.
void set_num_threads(int n);
// Where the thread-shortage warning goes (the bindings raise a Python RuntimeWarning); stderr
// until one is set. Called outside any parallel region.
void set_thread_warning_handler(void (*handler)(const char* message));
int default_num_threads();
bool openmp_enabled();
// CPUs this process may run on.
int available_cpus();

// True inside a parallel region: a kernel called from another kernel's threads (an
// activation on a convolution tile) runs inline instead of nesting a team.
inline bool in_parallel_region() {
#ifdef NERVE_HAVE_OPENMP
  return omp_in_parallel() != 0;
#else
  return false;
#endif
}

template <class Body>
void parallel_for(int64_t n, int64_t grain, int64_t serial_below, Body body) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  const int64_t chunks = (n + grain - 1) / grain;
#ifdef NERVE_HAVE_OPENMP
  const bool worth_a_team = chunks > 1 && n >= serial_below && !in_parallel_region();
  const int threads = worth_a_team ? get_num_threads() : 1;
  if (threads > 1) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t begin = c * grain;
      body(begin, begin + grain < n ? begin + grain : n);
    }
    return;
  }
#else
  (void)serial_below;
#endif
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t begin = c * grain;
    body(begin, begin + grain < n ? begin + grain : n);
  }
}

// This thread's index in the running parallel_for team (0 outside one): for scratch space
// allocated per thread before the loop.
inline int thread_index() {
#ifdef NERVE_HAVE_OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// parallel_for for a body that may throw (a workspace allocation inside it): the first
// exception is caught inside the region, the remaining chunks are skipped, and it is
// rethrown once the region is over, so nothing escapes an OpenMP region.
template <class Body>
void parallel_for_rethrow(int64_t n, int64_t grain, int64_t serial_below, Body body) {
  std::exception_ptr error;
  std::atomic<bool> failed{false};
  parallel_for(n, grain, serial_below, [&](int64_t begin, int64_t end) {
    if (failed.load(std::memory_order_relaxed)) return;
    try {
      body(begin, end);
    } catch (...) {
#pragma omp critical(nerve_parallel_for_rethrow)
      if (!error) error = std::current_exception();
      failed.store(true, std::memory_order_relaxed);
    }
  });
  if (error) std::rethrow_exception(error);
}

// Sum of per-chunk partials in chunk order: deterministic whatever the thread count.
// partial(begin, end) must return the chunk's own sum.
template <class Partial>
double parallel_sum(int64_t n, int64_t grain, int64_t serial_below, Partial partial) {
  if (n <= 0) return 0.0;
  if (grain < 1) grain = 1;
  const int64_t chunks = (n + grain - 1) / grain;
  if (chunks == 1) return partial(int64_t{0}, n);
  std::vector<double> sums(static_cast<size_t>(chunks));
  parallel_for(n, grain, serial_below, [&](int64_t begin, int64_t end) {
    sums[static_cast<size_t>(begin / grain)] = partial(begin, end);
  });
  double total = 0.0;
  for (double s : sums) total += s;
  return total;
}
}  // namespace nerve
