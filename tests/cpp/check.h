// What the kernel_check families share: random data, the comparison of a dispatched kernel's
// output with its scalar twin's, and the tally main() reports. No Python: this is the test
// that runs where the extension cannot (an aarch64 cross build under qemu-aarch64, .ci/aarch64).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

namespace kernel_check {

struct Tally {
  int64_t checks = 0, failures = 0;
  std::string context;  // the instruction set and thread count under test
};
Tally& tally();

// Tolerances of the vector paths against the scalar twins, which round differently (FMA,
// summation order, polynomial exp): a few float ulps, or a few hundred double ulps.
template <class T>
constexpr double kRtol = std::is_same_v<T, float> ? 3e-5 : 1e-12;
template <class T>
constexpr double kAtol = std::is_same_v<T, float> ? 3e-6 : 1e-13;

inline bool close(double got, double want, double rtol, double atol) {
  if (std::isnan(want)) return std::isnan(got);
  if (std::isinf(want)) return got == want;
  return std::fabs(got - want) <= atol + rtol * std::fabs(want);
}

// One check: got[i] ~ want[i] for every i; the first few mismatches are printed.
template <class T>
void expect_close(const std::string& what, const T* got, const T* want, int64_t n,
                  double rtol = kRtol<T>, double atol = kAtol<T>) {
  ++tally().checks;
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (close(got[i], want[i], rtol, atol)) continue;
    if (bad++ < 3)
      std::printf("FAIL [%s] %s: element %lld is %.9g, expected %.9g\n", tally().context.c_str(),
                  what.c_str(), static_cast<long long>(i), double(got[i]), double(want[i]));
  }
  if (bad) ++tally().failures;
}

template <class T>
void expect_close(const std::string& what, const std::vector<T>& got, const std::vector<T>& want,
                  double rtol = kRtol<T>, double atol = kAtol<T>) {
  if (got.size() != want.size()) {
    ++tally().checks;
    ++tally().failures;
    std::printf("FAIL [%s] %s: sizes differ\n", tally().context.c_str(), what.c_str());
    return;
  }
  expect_close(what, got.data(), want.data(), static_cast<int64_t>(got.size()), rtol, atol);
}

template <class T>
std::vector<T> uniform(int64_t n, double low, double high, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(low, high);
  std::vector<T> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<T>(dist(rng));
  return v;
}

template <class T>
const char* dtype_name() {
  return std::is_same_v<T, float> ? "f32" : "f64";
}

void check_gemm();
void check_activations();
void check_loss();
void check_optim();
void check_normalization_pooling();

}  // namespace kernel_check
