// Optimizer kernels; the formulas are in optim.h. Each update is one fused pass over its
// arrays, written once as an inline body with __restrict pointers so gcc vectorises it (sqrt
// too, thanks to -fno-math-errno), and compiled twice: baseline and AVX2+FMA. The optimized
// entry points run it over fixed chunks of kOptimGrain elements (threads above
// kOptimSerialBelow), so results are bitwise the same on any thread count; the *_scalar
// versions run the baseline body over the whole range on the calling thread.
// The updates are bound by memory traffic (Adam moves 28 bytes per float32 element), not by
// sqrt or division: an intrinsics Adam with rsqrt/rcp estimates measured no faster.
#include "optim.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "cpu.h"
#include "parallel.h"

// Lambdas handed to run_chunk_avx2 must be inlined into it to get its AVX2 code generation.
#define NERVE_INLINE_LAMBDA __attribute__((always_inline))

namespace nerve {
namespace {

constexpr int64_t kOptimGrain = 1 << 14;  // 64 KiB per float32 array: chunks stay in L2

template <class Chunk>
NERVE_TARGET_AVX2 void run_chunk_avx2(const Chunk& chunk, int64_t begin, int64_t end) {
  chunk(begin, end);
}

// chunk(begin, end) over [0, n) in fixed chunks, threaded, for the selected instruction set.
struct Threaded {
  template <class Chunk>
  void operator()(int64_t n, const Chunk& chunk) const {
    const bool avx2 = use_avx2();
    parallel_for(n, kOptimGrain, kOptimSerialBelow, [&](int64_t begin, int64_t end) {
      if (avx2) run_chunk_avx2(chunk, begin, end);
      else chunk(begin, end);
    });
  }
};

// The scalar reference: the baseline body over everything, on this thread.
struct Serial {
  template <class Chunk>
  void operator()(int64_t n, const Chunk& chunk) const { chunk(0, n); }
};

// Decoupled weight decay p -= lr*wd*p as one factor (exactly 1 when wd == 0).
template <class T>
T decay_factor(T lr, T weight_decay) {
  return static_cast<T>(1.0 - static_cast<double>(lr) * weight_decay);
}

// ---- SGD --------------------------------------------------------------------------------------

template <class T>
struct SgdCoefficients { T keep, lr, momentum; };

template <class T, bool Momentum, bool Nesterov>
NERVE_INLINE void sgd_body(T* __restrict p, const T* __restrict g, T* __restrict velocity,
                           int64_t n, SgdCoefficients<T> c) {
  for (int64_t i = 0; i < n; ++i) {
    const T step = c.lr * g[i];
    if constexpr (!Momentum) {
      p[i] = p[i] * c.keep - step;
    } else {
      const T v = c.momentum * velocity[i] - step;
      velocity[i] = v;
      p[i] = p[i] * c.keep + (Nesterov ? c.momentum * v - step : v);
    }
  }
}

template <class T, class Run>
void sgd(Run run, T* p, const T* g, T* velocity, int64_t n, T lr, T momentum, bool nesterov,
         T weight_decay) {
  const SgdCoefficients<T> c{decay_factor(lr, weight_decay), lr, momentum};
  if (momentum == 0) {
    run(n, [=](int64_t b, int64_t e) NERVE_INLINE_LAMBDA {
      sgd_body<T, false, false>(p + b, g + b, nullptr, e - b, c);
    });
  } else if (nesterov) {
    run(n, [=](int64_t b, int64_t e) NERVE_INLINE_LAMBDA {
      sgd_body<T, true, true>(p + b, g + b, velocity + b, e - b, c);
    });
  } else {
    run(n, [=](int64_t b, int64_t e) NERVE_INLINE_LAMBDA {
      sgd_body<T, true, false>(p + b, g + b, velocity + b, e - b, c);
    });
  }
}

// ---- Adam -------------------------------------------------------------------------------------

template <class T>
struct AdamCoefficients { T keep, alpha, one_minus_beta1, one_minus_beta2, eps; };

template <class T, bool AmsGrad>
NERVE_INLINE void adam_body(T* __restrict p, const T* __restrict g, T* __restrict m,
                            T* __restrict v, T* __restrict v_hat, int64_t n,
                            AdamCoefficients<T> c) {
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i];
    const T mi = m[i] + c.one_minus_beta1 * (gi - m[i]);
    T vi = v[i] + c.one_minus_beta2 * (gi * gi - v[i]);
    m[i] = mi;
    v[i] = vi;
    if constexpr (AmsGrad) {
      // max(v_hat, v) that keeps a NaN from either side, as np.maximum does.
      const T hat = v_hat[i];
      vi = (vi > hat || vi != vi) ? vi : hat;
      v_hat[i] = vi;
    }
    p[i] = p[i] * c.keep - c.alpha * mi / (std::sqrt(vi) + c.eps);
  }
}

template <class T, class Run>
void adam(Run run, T* p, const T* g, T* m, T* v, T* v_hat, int64_t n, T lr, T beta1, T beta2,
          T eps, int64_t step, T weight_decay) {
  // Keras folds both bias corrections into the step size: lr*sqrt(1-b2^t)/(1-b1^t).
  const double t = static_cast<double>(step);
  const double alpha = lr * std::sqrt(1.0 - std::pow(static_cast<double>(beta2), t)) /
                       (1.0 - std::pow(static_cast<double>(beta1), t));
  const AdamCoefficients<T> c{decay_factor(lr, weight_decay), static_cast<T>(alpha),
                              static_cast<T>(1.0 - beta1), static_cast<T>(1.0 - beta2), eps};
  if (v_hat != nullptr) {
    run(n, [=](int64_t b, int64_t e) NERVE_INLINE_LAMBDA {
      adam_body<T, true>(p + b, g + b, m + b, v + b, v_hat + b, e - b, c);
    });
  } else {
    run(n, [=](int64_t b, int64_t e) NERVE_INLINE_LAMBDA {
      adam_body<T, false>(p + b, g + b, m + b, v + b, nullptr, e - b, c);
    });
  }
}

// ---- RMSprop ----------------------------------------------------------------------------------

template <class T>
struct RmspropCoefficients { T keep, lr, rho, one_minus_rho, momentum, eps; };

template <class T, bool Centered, bool Momentum>
NERVE_INLINE void rmsprop_body(T* __restrict p, const T* __restrict g, T* __restrict velocity,
                               T* __restrict momentum_buf, T* __restrict avg_grad, int64_t n,
                               RmspropCoefficients<T> c) {
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i];
    const T v = c.rho * velocity[i] + c.one_minus_rho * (gi * gi);
    velocity[i] = v;
    T denominator = v + c.eps;
    if constexpr (Centered) {
      const T a = c.rho * avg_grad[i] + c.one_minus_rho * gi;
      avg_grad[i] = a;
      // v - a^2 >= 0 in exact arithmetic; rounding (rho = 0 gives v = g^2, a = g) can take
      // it below zero, and sqrt of that would be NaN.
      denominator = std::max(v - a * a, T(0)) + c.eps;
    }
    const T increment = c.lr * gi / std::sqrt(denominator);
    if constexpr (Momentum) {
      const T m = c.momentum * momentum_buf[i] + increment;
      momentum_buf[i] = m;
      p[i] = p[i] * c.keep - m;
    } else {
      p[i] = p[i] * c.keep - increment;
    }
  }
}

template <class T, bool Centered, bool Momentum, class Run>
void rmsprop_variant(Run run, T* p, const T* g, T* velocity, T* momentum_buf, T* avg_grad,
                     int64_t n, RmspropCoefficients<T> c) {
  run(n, [=](int64_t b, int64_t e) NERVE_INLINE_LAMBDA {
    rmsprop_body<T, Centered, Momentum>(p + b, g + b, velocity + b,
                                        Momentum ? momentum_buf + b : nullptr,
                                        Centered ? avg_grad + b : nullptr, e - b, c);
  });
}

template <class T, class Run>
void rmsprop(Run run, T* p, const T* g, T* velocity, T* momentum_buf, T* avg_grad, int64_t n,
             T lr, T rho, T momentum, T eps, T weight_decay) {
  const RmspropCoefficients<T> c{decay_factor(lr, weight_decay), lr, rho,
                                 static_cast<T>(1.0 - rho), momentum, eps};
  const bool centered = avg_grad != nullptr, with_momentum = momentum > 0;
  if (centered && with_momentum)
    rmsprop_variant<T, true, true>(run, p, g, velocity, momentum_buf, avg_grad, n, c);
  else if (centered)
    rmsprop_variant<T, true, false>(run, p, g, velocity, momentum_buf, avg_grad, n, c);
  else if (with_momentum)
    rmsprop_variant<T, false, true>(run, p, g, velocity, momentum_buf, avg_grad, n, c);
  else
    rmsprop_variant<T, false, false>(run, p, g, velocity, momentum_buf, avg_grad, n, c);
}

// ---- Adagrad ----------------------------------------------------------------------------------

template <class T>
struct AdagradCoefficients { T keep, lr, eps; };

template <class T>
NERVE_INLINE void adagrad_body(T* __restrict p, const T* __restrict g, T* __restrict acc,
                               int64_t n, AdagradCoefficients<T> c) {
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i];
    const T a = acc[i] + gi * gi;
    acc[i] = a;
    p[i] = p[i] * c.keep - c.lr * gi / std::sqrt(a + c.eps);
  }
}

template <class T, class Run>
void adagrad(Run run, T* p, const T* g, T* accumulator, int64_t n, T lr, T eps,
             T weight_decay) {
  const AdagradCoefficients<T> c{decay_factor(lr, weight_decay), lr, eps};
  run(n, [=](int64_t b, int64_t e) NERVE_INLINE_LAMBDA {
    adagrad_body(p + b, g + b, accumulator + b, e - b, c);
  });
}

// ---- clipping ---------------------------------------------------------------------------------

// Sum of squares in double over 8 interleaved lanes (vectorisable, fixed order), then the tail.
template <class T>
NERVE_INLINE double sum_squares_body(const T* __restrict x, int64_t n) {
  double lanes[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) {
      const double xj = static_cast<double>(x[i + j]);
      lanes[j] += xj * xj;
    }
  }
  double total = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) +
                 ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
  for (; i < n; ++i) total += static_cast<double>(x[i]) * x[i];
  return total;
}

NERVE_TARGET_AVX2 inline __m256d load4_as_double(const float* x) {
  return _mm256_cvtps_pd(_mm_loadu_ps(x));
}
NERVE_TARGET_AVX2 inline __m256d load4_as_double(const double* x) { return _mm256_loadu_pd(x); }

// AVX2: squares summed in double over 16 lanes (four 4-wide accumulators), fixed order.
template <class T>
NERVE_TARGET_AVX2 double sum_squares_avx2(const T* x, int64_t n) {
  __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
                    _mm256_setzero_pd()};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int k = 0; k < 4; ++k) {
      const __m256d xk = load4_as_double(x + i + 4 * k);
      acc[k] = _mm256_fmadd_pd(xk, xk, acc[k]);
    }
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes,
                  _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3])));
  return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + sum_squares_body(x + i, n - i);
}

template <class T>
double sum_squares(const T* x, int64_t n) {
  const bool avx2 = use_avx2();
  return parallel_sum(n, kOptimGrain, kOptimSerialBelow, [&](int64_t begin, int64_t end) {
    const int64_t count = end - begin;
    return avx2 ? sum_squares_avx2(x + begin, count) : sum_squares_body(x + begin, count);
  });
}

}  // namespace

template <class T>
void sgd_update(T* p, const T* g, T* velocity, int64_t n, T lr, T momentum, bool nesterov,
                T weight_decay) {
  sgd(Threaded{}, p, g, velocity, n, lr, momentum, nesterov, weight_decay);
}

template <class T>
void sgd_update_scalar(T* p, const T* g, T* velocity, int64_t n, T lr, T momentum,
                       bool nesterov, T weight_decay) {
  sgd(Serial{}, p, g, velocity, n, lr, momentum, nesterov, weight_decay);
}

template <class T>
void adam_update(T* p, const T* g, T* m, T* v, T* v_hat, int64_t n, T lr, T beta1, T beta2,
                 T eps, int64_t step, T weight_decay) {
  adam(Threaded{}, p, g, m, v, v_hat, n, lr, beta1, beta2, eps, step, weight_decay);
}

template <class T>
void adam_update_scalar(T* p, const T* g, T* m, T* v, T* v_hat, int64_t n, T lr, T beta1,
                        T beta2, T eps, int64_t step, T weight_decay) {
  adam(Serial{}, p, g, m, v, v_hat, n, lr, beta1, beta2, eps, step, weight_decay);
}

template <class T>
void rmsprop_update(T* p, const T* g, T* velocity, T* momentum_buf, T* avg_grad, int64_t n,
                    T lr, T rho, T momentum, T eps, T weight_decay) {
  rmsprop(Threaded{}, p, g, velocity, momentum_buf, avg_grad, n, lr, rho, momentum, eps,
          weight_decay);
}

template <class T>
void rmsprop_update_scalar(T* p, const T* g, T* velocity, T* momentum_buf, T* avg_grad,
                           int64_t n, T lr, T rho, T momentum, T eps, T weight_decay) {
  rmsprop(Serial{}, p, g, velocity, momentum_buf, avg_grad, n, lr, rho, momentum, eps,
          weight_decay);
}

template <class T>
void adagrad_update(T* p, const T* g, T* accumulator, int64_t n, T lr, T eps, T weight_decay) {
  adagrad(Threaded{}, p, g, accumulator, n, lr, eps, weight_decay);
}

template <class T>
void adagrad_update_scalar(T* p, const T* g, T* accumulator, int64_t n, T lr, T eps,
                           T weight_decay) {
  adagrad(Serial{}, p, g, accumulator, n, lr, eps, weight_decay);
}

template <class T>
double global_norm(const T* const* grads, const int64_t* sizes, int64_t count) {
  double total = 0.0;
  for (int64_t k = 0; k < count; ++k) total += sum_squares(grads[k], sizes[k]);
  return std::sqrt(total);
}

template <class T>
double clip_by_global_norm(T* const* grads, const int64_t* sizes, int64_t count, T max_norm) {
  const double norm = global_norm<T>(grads, sizes, count);
  if (!(norm > max_norm)) return norm;
  const T scale = static_cast<T>(max_norm / norm);
  for (int64_t k = 0; k < count; ++k) {
    T* g = grads[k];
    Threaded{}(sizes[k], [=](int64_t b, int64_t e) NERVE_INLINE_LAMBDA {
      for (int64_t i = b; i < e; ++i) g[i] *= scale;
    });
  }
  return norm;
}

template <class T>
void clip_by_value(T* const* grads, const int64_t* sizes, int64_t count, T clip) {
  for (int64_t k = 0; k < count; ++k) {
    T* g = grads[k];
    // Written so that NaN passes through, as np.clip does.
    Threaded{}(sizes[k], [=](int64_t b, int64_t e) NERVE_INLINE_LAMBDA {
      for (int64_t i = b; i < e; ++i) g[i] = g[i] < -clip ? -clip : (g[i] > clip ? clip : g[i]);
    });
  }
}

#define NERVE_INSTANTIATE_OPTIM(T)                                                             \
  template void sgd_update<T>(T*, const T*, T*, int64_t, T, T, bool, T);                       \
  template void sgd_update_scalar<T>(T*, const T*, T*, int64_t, T, T, bool, T);                \
  template void adam_update<T>(T*, const T*, T*, T*, T*, int64_t, T, T, T, T, int64_t, T);     \
  template void adam_update_scalar<T>(T*, const T*, T*, T*, T*, int64_t, T, T, T, T, int64_t,  \
                                      T);                                                      \
  template void rmsprop_update<T>(T*, const T*, T*, T*, T*, int64_t, T, T, T, T, T);           \
  template void rmsprop_update_scalar<T>(T*, const T*, T*, T*, T*, int64_t, T, T, T, T, T);    \
  template void adagrad_update<T>(T*, const T*, T*, int64_t, T, T, T);                         \
  template void adagrad_update_scalar<T>(T*, const T*, T*, int64_t, T, T, T);                  \
  template double global_norm<T>(const T* const*, const int64_t*, int64_t);                    \
  template double clip_by_global_norm<T>(T* const*, const int64_t*, int64_t, T);               \
  template void clip_by_value<T>(T* const*, const int64_t*, int64_t, T);

NERVE_INSTANTIATE_OPTIM(float)
NERVE_INSTANTIATE_OPTIM(double)

}  // namespace nerve
