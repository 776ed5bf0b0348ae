// The optimizer updates (every variant, three steps each, so state feeds back) against their
// scalar twins, and the global norm against a plain double sum, on sizes with every tail and
// one above kOptimSerialBelow (65536), so it threads.
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "check.h"
#include "optim.h"

namespace kernel_check {
namespace {

constexpr int64_t kSizes[] = {1, 3, 7, 17, 33, 130, 70001};

// Parameters and the optimizer's state arrays, all n long; the state starts at values a
// step would leave (non-negative where it is a sum of squares).
template <class T>
struct State {
  std::vector<T> p, a, b, c;
  explicit State(int64_t n, uint64_t seed)
      : p(uniform<T>(n, -1, 1, seed)), a(uniform<T>(n, -0.1, 0.1, seed + 1)),
        b(uniform<T>(n, 0, 0.1, seed + 2)), c(uniform<T>(n, 0, 0.1, seed + 3)) {}
};

// update(state, gradient, step, scalar) runs one step of a variant on either path.
template <class T>
using Update = std::function<void(State<T>&, const std::vector<T>&, int64_t, bool)>;

template <class T>
void check_variant(const std::string& name, const Update<T>& update, int64_t n, uint64_t seed) {
  State<T> fast(n, seed), twin(n, seed);
  for (int64_t step = 1; step <= 3; ++step) {
    const auto g = uniform<T>(n, -1, 1, seed + 10 * step);
    update(fast, g, step, false);
    update(twin, g, step, true);
  }
  const std::string what = name + " " + dtype_name<T>() + " n " + std::to_string(n);
  expect_close(what + " params", fast.p, twin.p);
  expect_close(what + " state a", fast.a, twin.a);
  expect_close(what + " state b", fast.b, twin.b);
  expect_close(what + " state c", fast.c, twin.c);
}

template <class T>
void check_dtype() {
  using namespace nerve;
  const T lr = T(0.01), wd = T(0.004);
  const std::vector<std::pair<std::string, Update<T>>> variants = {
      {"sgd", [&](State<T>& s, const std::vector<T>& g, int64_t, bool scalar) {
         (scalar ? sgd_update_scalar<T> : sgd_update<T>)(s.p.data(), g.data(), nullptr, g.size(), lr, T(0), false, wd);
       }},
      {"sgd momentum nesterov", [&](State<T>& s, const std::vector<T>& g, int64_t, bool scalar) {
         (scalar ? sgd_update_scalar<T> : sgd_update<T>)(s.p.data(), g.data(), s.a.data(), g.size(), lr, T(0.9), true, wd);
       }},
      {"adam", [&](State<T>& s, const std::vector<T>& g, int64_t step, bool scalar) {
         (scalar ? adam_update_scalar<T> : adam_update<T>)(s.p.data(), g.data(), s.a.data(), s.b.data(), nullptr,
                                                           g.size(), lr, T(0.9), T(0.999), T(1e-7), step, wd);
       }},
      {"adam amsgrad", [&](State<T>& s, const std::vector<T>& g, int64_t step, bool scalar) {
         (scalar ? adam_update_scalar<T> : adam_update<T>)(s.p.data(), g.data(), s.a.data(), s.b.data(), s.c.data(),
                                                           g.size(), lr, T(0.9), T(0.999), T(1e-7), step, T(0));
       }},
      {"rmsprop centered momentum", [&](State<T>& s, const std::vector<T>& g, int64_t, bool scalar) {
         (scalar ? rmsprop_update_scalar<T> : rmsprop_update<T>)(s.p.data(), g.data(), s.b.data(), s.a.data(),
                                                                 s.c.data(), g.size(), lr, T(0.9), T(0.5), T(1e-7), wd);
       }},
      {"rmsprop", [&](State<T>& s, const std::vector<T>& g, int64_t, bool scalar) {
         (scalar ? rmsprop_update_scalar<T> : rmsprop_update<T>)(s.p.data(), g.data(), s.b.data(), nullptr,
                                                                 nullptr, g.size(), lr, T(0.9), T(0), T(1e-7), T(0));
       }},
      {"adagrad", [&](State<T>& s, const std::vector<T>& g, int64_t, bool scalar) {
         (scalar ? adagrad_update_scalar<T> : adagrad_update<T>)(s.p.data(), g.data(), s.b.data(), g.size(), lr,
                                                                 T(1e-7), wd);
       }},
  };
  uint64_t seed = 1300;
  for (int64_t n : kSizes) {
    for (const auto& [name, update] : variants) check_variant<T>(name, update, n, seed += 50);
    // Two ranges, as a model's gradients: the norm of both.
    const auto x = uniform<T>(n, -2, 2, seed), y = uniform<T>(n / 2 + 1, -2, 2, seed + 1);
    const T* grads[] = {x.data(), y.data()};
    const int64_t sizes[] = {n, n / 2 + 1};
    double sum = 0;
    for (T v : x) sum += double(v) * v;
    for (T v : y) sum += double(v) * v;
    const double norm = global_norm<T>(grads, sizes, 2), want = std::sqrt(sum);
    expect_close(std::string("global_norm ") + dtype_name<T>() + " n " + std::to_string(n), &norm, &want, 1,
                 1e-12, 0);
  }
}

}  // namespace

void check_optim() {
  check_dtype<float>();
  check_dtype<double>();
}

}  // namespace kernel_check
