// The optimizer updates, written once; each kernels_<isa>.cpp includes this after its target
// pragma and gets its own code generation (cpp/simd/README.md). Each update is one fused pass
// over its arrays with __restrict pointers, so gcc vectorises it (sqrt too, thanks to
// -fno-math-errno) for the target's widest vectors. The updates are bound by memory traffic
// (Adam moves 28 bytes per float32 element), not by sqrt or division: an intrinsics Adam with
// rsqrt/rcp estimates measured no faster. Everything here has internal linkage.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "optim/kernels.h"

namespace nerve::optim {
namespace {

// ---- SGD --------------------------------------------------------------------------------------

template <class T, bool Momentum, bool Nesterov>
void sgd_body(T* __restrict p, const T* __restrict g, T* __restrict velocity, int64_t n,
              const SgdStep<T>& c) {
  const T keep = c.keep, lr = c.lr, momentum = c.momentum;
  for (int64_t i = 0; i < n; ++i) {
    const T step = lr * g[i];
    if constexpr (!Momentum) {
      p[i] = p[i] * keep - step;
    } else {
      const T v = momentum * velocity[i] - step;
      velocity[i] = v;
      p[i] = p[i] * keep + (Nesterov ? momentum * v - step : v);
    }
  }
}

template <class T>
void sgd_kernel(const SgdStep<T>& s, int64_t b, int64_t e) {
  if (s.velocity == nullptr) sgd_body<T, false, false>(s.p + b, s.g + b, nullptr, e - b, s);
  else if (s.nesterov) sgd_body<T, true, true>(s.p + b, s.g + b, s.velocity + b, e - b, s);
  else sgd_body<T, true, false>(s.p + b, s.g + b, s.velocity + b, e - b, s);
}

// ---- Adam -------------------------------------------------------------------------------------

template <class T, bool AmsGrad>
void adam_body(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v,
               T* __restrict v_hat, int64_t n, const AdamStep<T>& c) {
  const T keep = c.keep, alpha = c.alpha, one_minus_beta1 = c.one_minus_beta1,
          one_minus_beta2 = c.one_minus_beta2, eps = c.eps;
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i];
    const T mi = m[i] + one_minus_beta1 * (gi - m[i]);
    T vi = v[i] + one_minus_beta2 * (gi * gi - v[i]);
    m[i] = mi;
    v[i] = vi;
    if constexpr (AmsGrad) {
      // max(v_hat, v) that keeps a NaN from either side, as np.maximum does.
      const T hat = v_hat[i];
      vi = (vi > hat || vi != vi) ? vi : hat;
      v_hat[i] = vi;
    }
    p[i] = p[i] * keep - alpha * mi / (std::sqrt(vi) + eps);
  }
}

template <class T>
void adam_kernel(const AdamStep<T>& s, int64_t b, int64_t e) {
  if (s.v_hat != nullptr) {
    adam_body<T, true>(s.p + b, s.g + b, s.m + b, s.v + b, s.v_hat + b, e - b, s);
  } else {
    adam_body<T, false>(s.p + b, s.g + b, s.m + b, s.v + b, nullptr, e - b, s);
  }
}

// ---- RMSprop ----------------------------------------------------------------------------------

template <class T, bool Centered, bool Momentum>
void rmsprop_body(T* __restrict p, const T* __restrict g, T* __restrict velocity,
                  T* __restrict momentum_buf, T* __restrict avg_grad, int64_t n,
                  const RmspropStep<T>& c) {
  const T keep = c.keep, lr = c.lr, rho = c.rho, one_minus_rho = c.one_minus_rho,
          momentum = c.momentum, eps = c.eps;
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i];
    const T v = rho * velocity[i] + one_minus_rho * (gi * gi);
    velocity[i] = v;
    T denominator = v + eps;
    if constexpr (Centered) {
      const T a = rho * avg_grad[i] + one_minus_rho * gi;
      avg_grad[i] = a;
      // v - a^2 >= 0 in exact arithmetic; rounding (rho = 0 gives v = g^2, a = g) can take
      // it below zero, and sqrt of that would be NaN.
      denominator = std::max(v - a * a, T(0)) + eps;
    }
    const T increment = lr * gi / std::sqrt(denominator);
    if constexpr (Momentum) {
      const T m = momentum * momentum_buf[i] + increment;
      momentum_buf[i] = m;
      p[i] = p[i] * keep - m;
    } else {
      p[i] = p[i] * keep - increment;
    }
  }
}

template <class T, bool Centered, bool Momentum>
void rmsprop_variant(const RmspropStep<T>& s, int64_t b, int64_t e) {
  rmsprop_body<T, Centered, Momentum>(s.p + b, s.g + b, s.velocity + b,
                                      Momentum ? s.momentum_buf + b : nullptr,
                                      Centered ? s.avg_grad + b : nullptr, e - b, s);
}

template <class T>
void rmsprop_kernel(const RmspropStep<T>& s, int64_t b, int64_t e) {
  const bool centered = s.avg_grad != nullptr, with_momentum = s.momentum_buf != nullptr;
  if (centered && with_momentum) rmsprop_variant<T, true, true>(s, b, e);
  else if (centered) rmsprop_variant<T, true, false>(s, b, e);
  else if (with_momentum) rmsprop_variant<T, false, true>(s, b, e);
  else rmsprop_variant<T, false, false>(s, b, e);
}

// ---- Adagrad ----------------------------------------------------------------------------------

template <class T>
void adagrad_body(T* __restrict p, const T* __restrict g, T* __restrict acc, int64_t n,
                  const AdagradStep<T>& c) {
  const T keep = c.keep, lr = c.lr, eps = c.eps;
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i];
    const T a = acc[i] + gi * gi;
    acc[i] = a;
    p[i] = p[i] * keep - lr * gi / std::sqrt(a + eps);
  }
}

template <class T>
void adagrad_kernel(const AdagradStep<T>& s, int64_t b, int64_t e) {
  adagrad_body(s.p + b, s.g + b, s.accumulator + b, e - b, s);
}

// ---- clipping ---------------------------------------------------------------------------------

// Squares summed in double over Lanes interleaved accumulators (as many as the target's
// registers keep busy), folded pairwise in a fixed order, then the tail.
template <class T, int Lanes>
double sum_squares_body(const T* __restrict x, int64_t n) {
  double lanes[Lanes] = {};
  int64_t i = 0;
  for (; i + Lanes <= n; i += Lanes) {
    for (int j = 0; j < Lanes; ++j) {
      const double xj = static_cast<double>(x[i + j]);
      lanes[j] += xj * xj;
    }
  }
  for (int width = Lanes / 2; width > 0; width /= 2) {
    for (int j = 0; j < width; ++j) lanes[j] += lanes[j + width];
  }
  double total = lanes[0];
  for (; i < n; ++i) total += static_cast<double>(x[i]) * x[i];
  return total;
}

template <class T>
void scale_body(T* __restrict x, int64_t n, T factor) {
  for (int64_t i = 0; i < n; ++i) x[i] *= factor;
}

template <class T>
void clip_body(T* __restrict x, int64_t n, T limit) {
  // Written so that NaN passes through, as np.clip does.
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] < -limit ? -limit : (x[i] > limit ? limit : x[i]);
}

// The table of this target's kernels; SumLanes accumulators for the sum of squares.
template <class T, int SumLanes>
constexpr Kernels<T> kernels() {
  return {sgd_kernel<T>,  adam_kernel<T>,  rmsprop_kernel<T>, adagrad_kernel<T>,
          sum_squares_body<T, SumLanes>, scale_body<T>, clip_body<T>};
}

}  // namespace
}  // namespace nerve::optim
