// kernel_check: every instruction set this build compiles and this CPU runs (NEON on aarch64,
// AVX2 and AVX-512 on x86-64, and the baseline), on 1 and 2 threads where OpenMP is built in,
// checked family by family against the scalar twins the Python tests also trust. Prints the
// number of checks; exits 1 on any failure. Built with -DNERVE_KERNEL_CHECK=ON.
#include <cstdio>
#include <string>
#include <vector>

#include "check.h"
#include "cpu.h"
#include "parallel.h"

namespace kernel_check {

Tally& tally() {
  static Tally t;
  return t;
}

}  // namespace kernel_check

int main() {
  using namespace nerve;
  using kernel_check::tally;
  const std::string error = init_isa_from_environment();
  if (!error.empty()) {
    std::printf("kernel_check: %s\n", error.c_str());
    return 2;
  }
  std::printf("kernel_check: selected at start: %s; runnable: %s\n", isa_name(active_isa()),
              runnable_isa_names().c_str());
#ifdef NERVE_HAVE_OPENMP
  const std::vector<int> thread_counts = {1, 2};
#else
  const std::vector<int> thread_counts = {1};
#endif
  std::string ran;
  for (Isa isa : kAllIsas) {
    if (!set_isa(isa)) continue;
    ran += std::string(ran.empty() ? "" : ", ") + isa_name(isa);
    for (int threads : thread_counts) {
      set_num_threads(threads);
      tally().context = std::string(isa_name(isa)) + ", " + std::to_string(threads) + " thread(s)";
      kernel_check::check_gemm();
      kernel_check::check_activations();
      kernel_check::check_loss();
      kernel_check::check_optim();
      kernel_check::check_normalization_pooling();
    }
  }
  std::printf("kernel_check: %lld checks, %lld failed (%s; threads up to %d)\n",
              static_cast<long long>(tally().checks), static_cast<long long>(tally().failures),
              ran.c_str(), thread_counts.back());
  return tally().failures ? 1 : 0;
}
