// Loss kernels; the conventions are in loss.h. Each row is independent: its per-sample loss
// l_i and, when grad is given, its gradient row d(w_i l_i / rows)/d pred (overwritten) come
// from one row function. Rows are split into fixed chunks (about kChunkElements each; threads
// above kLossSerialBelow elements) whose sums of w_i l_i are added in chunk order, so the loss
// is bitwise the same on any thread count. Element math is in double, except in the AVX2 rows
// of the hot float32 kinds (mse, binary and categorical logits): float math, sums in double.
#include "loss.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "cpu.h"
#include "parallel.h"

// Loop bodies of the AVX2 functions: AVX2 code, inlined into their caller.
#define NERVE_AVX2_LAMBDA __attribute__((target("avx2,fma"), always_inline))

namespace nerve {
namespace {

constexpr int64_t kChunkElements = 1 << 13;

struct LossName {
  const char* name;
  Loss kind;
};
constexpr LossName kLossNames[] = {
    {"binary_crossentropy", Loss::binary_crossentropy},
    {"binary_crossentropy_logits", Loss::binary_crossentropy_logits},
    {"categorical_crossentropy", Loss::categorical_crossentropy},
    {"categorical_crossentropy_logits", Loss::categorical_crossentropy_logits},
    {"sparse_categorical_crossentropy", Loss::sparse_categorical_crossentropy},
    {"sparse_categorical_crossentropy_logits", Loss::sparse_categorical_crossentropy_logits},
    {"mse", Loss::mse},
    {"mae", Loss::mae},
    {"huber", Loss::huber},
};

// Everything a row function needs; scale_i = w_i / rows multiplies the gradient row.
template <class T>
struct LossArgs {
  T* grad;
  const T* pred;
  const T* target;
  const int64_t* labels;
  const T* sample_weight;
  int64_t rows, cols;
  double delta;
  double clip_low, clip_high;  // Keras' [eps, 1 - eps], rounded to T as Keras does
};

// ---- element-wise kinds: l_i = mean_j f(p_ij, y_ij) -------------------------------------------

struct ValueAndSlope {
  double value, slope;
};

// Runs f over the row; the gradient is f' * scale / cols.
template <class T, class F>
NERVE_INLINE double elementwise_row(const LossArgs<T>& a, int64_t r, double scale, F f) {
  const T* p = a.pred + r * a.cols;
  const T* y = a.target + r * a.cols;
  const double grad_scale = scale / static_cast<double>(a.cols);
  double sum = 0.0;
  for (int64_t j = 0; j < a.cols; ++j) {
    const ValueAndSlope e = f(static_cast<double>(p[j]), static_cast<double>(y[j]));
    sum += e.value;
    if (a.grad) a.grad[r * a.cols + j] = static_cast<T>(e.slope * grad_scale);
  }
  return sum / static_cast<double>(a.cols);
}

double sign(double x) { return x > 0 ? 1.0 : (x < 0 ? -1.0 : x); }

ValueAndSlope squared_error(double p, double y) {
  const double e = p - y;
  return {e * e, 2.0 * e};
}

ValueAndSlope absolute_error(double p, double y) { return {std::fabs(p - y), sign(p - y)}; }

ValueAndSlope huber_error(double p, double y, double delta) {
  const double e = p - y;
  if (std::fabs(e) <= delta) return {0.5 * e * e, e};
  return {delta * std::fabs(e) - 0.5 * delta * delta, delta * sign(e)};
}

// -(y log c + (1-y) log(1-c)), c = p clipped; no gradient where the clip is active.
ValueAndSlope binary_crossentropy(double p, double y, double low, double high) {
  const double c = std::min(std::max(p, low), high);
  const double value = -(y * std::log(c) + (1.0 - y) * std::log1p(-c));
  const bool passes = p >= low && p <= high;
  return {value, passes ? (c - y) / (c * (1.0 - c)) : 0.0};
}

// softplus(z) - z y = max(z, 0) - z y + log1p(exp(-|z|)); slope sigmoid(z) - y.
ValueAndSlope binary_crossentropy_logits(double z, double y) {
  const double e = std::exp(-std::fabs(z));
  const double sigmoid = z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
  return {std::max(z, 0.0) - z * y + std::log1p(e), sigmoid - y};
}

// ---- row-wise kinds: l_i = -sum_j y_ij log(...) -----------------------------------------------

// The target of row r, element j: the dense row, or one-hot from the label.
template <class T>
NERVE_INLINE double target_at(const LossArgs<T>& a, int64_t r, int64_t j) {
  if (a.labels) return a.labels[r] == j ? 1.0 : 0.0;
  return static_cast<double>(a.target[r * a.cols + j]);
}

// Keras on probabilities: q = p / sum(p), c = clip(q), l = -sum y log c. With
// s_j = d l / d q_j = -y_j / c_j where the clip passes (else 0),
// d l / d p_k = (s_k - sum_j s_j q_j) / sum(p).
template <class T>
double categorical_row(const LossArgs<T>& a, int64_t r, double scale) {
  const T* p = a.pred + r * a.cols;
  double total = 0.0;
  for (int64_t j = 0; j < a.cols; ++j) total += p[j];
  auto slope = [&](int64_t j, double q, double c) {
    return q >= a.clip_low && q <= a.clip_high ? -target_at(a, r, j) / c : 0.0;
  };
  double loss = 0.0, slope_dot_q = 0.0;
  for (int64_t j = 0; j < a.cols; ++j) {
    const double q = p[j] / total;
    const double c = std::min(std::max(q, a.clip_low), a.clip_high);
    loss -= target_at(a, r, j) * std::log(c);
    slope_dot_q += slope(j, q, c) * q;
  }
  if (a.grad) {
    T* g = a.grad + r * a.cols;
    for (int64_t j = 0; j < a.cols; ++j) {
      const double q = p[j] / total;
      const double c = std::min(std::max(q, a.clip_low), a.clip_high);
      g[j] = static_cast<T>((slope(j, q, c) - slope_dot_q) / total * scale);
    }
  }
  return loss;
}

// Log-sum-exp form: l = sum_j y_j (m + log sum_k exp(z_k - m) - z_j), m = max z; gradient
// softmax(z) sum(y) - y (softmax - y for the usual targets summing to 1). Finite for any z.
template <class T>
double categorical_logits_row(const LossArgs<T>& a, int64_t r, double scale) {
  const T* z = a.pred + r * a.cols;
  double m = z[0];
  for (int64_t j = 1; j < a.cols; ++j) m = std::max(m, static_cast<double>(z[j]));
  double exp_sum = 0.0;
  for (int64_t j = 0; j < a.cols; ++j) exp_sum += std::exp(z[j] - m);
  const double log_sum = std::log(exp_sum);
  double loss = 0.0, target_sum = 0.0;
  for (int64_t j = 0; j < a.cols; ++j) {
    const double y = target_at(a, r, j);
    loss += y * ((m - z[j]) + log_sum);
    target_sum += y;
  }
  if (a.grad) {
    T* g = a.grad + r * a.cols;
    for (int64_t j = 0; j < a.cols; ++j) {
      const double softmax = std::exp(z[j] - m) / exp_sum;
      g[j] = static_cast<T>((softmax * target_sum - target_at(a, r, j)) * scale);
    }
  }
  return loss;
}

// ---- AVX2 float32 rows for the hot kinds: float element math, sums in double --------------------

// exp and log as Cephes' single-precision polynomials (~1-2 ulp).

NERVE_TARGET_AVX2 inline __m256 exp_ps(__m256 x) {
  // exp(x) = 2^n exp(r), n = round(x / ln 2), r = x - n ln 2 in two parts; clamped so 2^n stays
  // a normal float (exp below -87.3 gives ~1e-38 instead of less: nothing downstream notices).
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  for (float c : {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f,
                  5.0000001201e-1f}) {
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(c));
  }
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i exponent = _mm256_slli_epi32(
      _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(exponent));
}

// Natural log of positive normal floats.
NERVE_TARGET_AVX2 inline __m256 log_ps(__m256 x) {
  // x = m 2^e with m in [sqrt(0.5), sqrt(2)); log x = log1p(m - 1) + e ln 2.
  const __m256i bits = _mm256_castps_si256(x);
  __m256 e = _mm256_cvtepi32_ps(
      _mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(126)));
  __m256 m = _mm256_castsi256_ps(_mm256_or_si256(
      _mm256_and_si256(bits, _mm256_set1_epi32(0x007FFFFF)), _mm256_set1_epi32(0x3F000000)));
  const __m256 small = _mm256_cmp_ps(m, _mm256_set1_ps(0.707106781186547524f), _CMP_LT_OQ);
  e = _mm256_sub_ps(e, _mm256_and_ps(small, _mm256_set1_ps(1.0f)));
  m = _mm256_sub_ps(_mm256_add_ps(m, _mm256_and_ps(small, m)), _mm256_set1_ps(1.0f));
  const __m256 z = _mm256_mul_ps(m, m);
  __m256 y = _mm256_set1_ps(7.0376836292e-2f);
  for (float c : {-1.1514610310e-1f, 1.1676998740e-1f, -1.2420140846e-1f, 1.4249322787e-1f,
                  -1.6668057665e-1f, 2.0000714765e-1f, -2.4999993993e-1f, 3.3333331174e-1f}) {
    y = _mm256_fmadd_ps(y, m, _mm256_set1_ps(c));
  }
  y = _mm256_mul_ps(_mm256_mul_ps(y, m), z);
  y = _mm256_fmadd_ps(e, _mm256_set1_ps(-2.12194440e-4f), y);
  y = _mm256_fnmadd_ps(z, _mm256_set1_ps(0.5f), y);
  return _mm256_fmadd_ps(e, _mm256_set1_ps(0.693359375f), _mm256_add_ps(m, y));
}

// Adds the 8 floats of x to two double accumulators.
NERVE_TARGET_AVX2 inline void accumulate(__m256 x, __m256d& lo, __m256d& hi) {
  lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(x)));
  hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)));
}

NERVE_TARGET_AVX2 inline double horizontal_sum(__m256d lo, __m256d hi) {
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(lo, hi));
  return (lanes[0] + lanes[2]) + (lanes[1] + lanes[3]);
}

// The first `count` (< 8) lanes: row tails go through the vector code under a mask.
NERVE_TARGET_AVX2 inline __m256i tail_mask(int64_t count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Calls body(j, mask, full) for each block of 8 columns; mask selects the valid lanes, and
// full (a constant once inlined) lets whole blocks skip the masked moves, slow stores on Zen.
template <class Body>
NERVE_TARGET_AVX2 NERVE_INLINE void for_column_blocks(int64_t cols, Body body) {
  const __m256i all = _mm256_set1_epi32(-1);
  int64_t j = 0;
  for (; j + 8 <= cols; j += 8) body(j, all, true);
  if (j < cols) body(j, tail_mask(cols - j), false);
}

NERVE_TARGET_AVX2 NERVE_INLINE __m256 load8(const float* p, __m256i mask, bool full) {
  return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
}

NERVE_TARGET_AVX2 NERVE_INLINE void store8(float* p, __m256 x, __m256i mask, bool full) {
  if (full) _mm256_storeu_ps(p, x);
  else _mm256_maskstore_ps(p, mask, x);
}

// Mean squared error, 8 columns at a time: l = mean e^2, gradient 2 e scale / cols.
NERVE_TARGET_AVX2 double mse_row_avx2(const LossArgs<float>& a, int64_t r, double scale) {
  const float* p = a.pred + r * a.cols;
  const float* y = a.target + r * a.cols;
  float* g = a.grad ? a.grad + r * a.cols : nullptr;
  const __m256 gs = _mm256_set1_ps(static_cast<float>(2.0 * scale / static_cast<double>(a.cols)));
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  for_column_blocks(a.cols, [&](int64_t j, __m256i mask, bool full) NERVE_AVX2_LAMBDA {
    const __m256 e = _mm256_sub_ps(load8(p + j, mask, full), load8(y + j, mask, full));
    accumulate(_mm256_mul_ps(e, e), lo, hi);  // masked lanes are 0 - 0
    if (g) store8(g + j, _mm256_mul_ps(e, gs), mask, full);
  });
  return horizontal_sum(lo, hi) / static_cast<double>(a.cols);
}

// Binary cross-entropy from logits, as binary_crossentropy_logits(), 8 columns at a time, with
// log1p(e) = log(u) e / (u - 1), u = 1 + e (and e itself where u rounds to 1).
NERVE_TARGET_AVX2 double binary_logits_row_avx2(const LossArgs<float>& a, int64_t r, double scale) {
  const float* z = a.pred + r * a.cols;
  const float* y = a.target + r * a.cols;
  float* g = a.grad ? a.grad + r * a.cols : nullptr;
  const __m256 gs = _mm256_set1_ps(static_cast<float>(scale / static_cast<double>(a.cols)));
  const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  for_column_blocks(a.cols, [&](int64_t j, __m256i mask, bool full) NERVE_AVX2_LAMBDA {
    const __m256 z8 = load8(z + j, mask, full), y8 = load8(y + j, mask, full);
    const __m256 e = exp_ps(_mm256_or_ps(z8, _mm256_set1_ps(-0.0f)));  // exp(-|z|)
    const __m256 u = _mm256_add_ps(one, e);
    const __m256 log1p_e = _mm256_blendv_ps(
        _mm256_div_ps(_mm256_mul_ps(log_ps(u), e), _mm256_sub_ps(u, one)), e,
        _mm256_cmp_ps(u, one, _CMP_EQ_OQ));
    const __m256 value = _mm256_add_ps(_mm256_fnmadd_ps(z8, y8, _mm256_max_ps(z8, zero)), log1p_e);
    accumulate(_mm256_and_ps(value, _mm256_castsi256_ps(mask)), lo, hi);
    if (g) {
      const __m256 positive = _mm256_cmp_ps(z8, zero, _CMP_GE_OQ);
      const __m256 sigmoid = _mm256_div_ps(_mm256_blendv_ps(e, one, positive), u);
      store8(g + j, _mm256_mul_ps(_mm256_sub_ps(sigmoid, y8), gs), mask, full);
    }
  });
  return horizontal_sum(lo, hi) / static_cast<double>(a.cols);
}

// Categorical cross-entropy from logits (dense or sparse), as categorical_logits_row(): the
// exponentials are summed in double and parked in grad, which the last pass turns into
// (softmax sum(y) - y) scale.
NERVE_TARGET_AVX2 double categorical_logits_row_avx2(const LossArgs<float>& a, int64_t r,
                                                     double scale) {
  const int64_t cols = a.cols;
  const float* z = a.pred + r * cols;
  const float* y = a.target ? a.target + r * cols : nullptr;
  float* g = a.grad ? a.grad + r * cols : nullptr;
  __m256 max8 = _mm256_set1_ps(z[0]);
  for_column_blocks(cols, [&](int64_t j, __m256i mask, bool full) NERVE_AVX2_LAMBDA {
    max8 = _mm256_max_ps(max8, _mm256_blendv_ps(max8, load8(z + j, mask, full),
                                                 _mm256_castsi256_ps(mask)));
  });
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, max8);
  const float m = *std::max_element(lanes, lanes + 8);
  const __m256 m8 = _mm256_set1_ps(m);
  // exp_sum, and l = log(exp_sum) sum(y) + sum y (m - z), with y one-hot when sparse.
  __m256d exp_lo = _mm256_setzero_pd(), exp_hi = _mm256_setzero_pd();
  __m256d y_lo = _mm256_setzero_pd(), y_hi = _mm256_setzero_pd();
  __m256d gap_lo = _mm256_setzero_pd(), gap_hi = _mm256_setzero_pd();
  for_column_blocks(cols, [&](int64_t j, __m256i mask, bool full) NERVE_AVX2_LAMBDA {
    const __m256 z8 = load8(z + j, mask, full);
    const __m256 e = _mm256_and_ps(exp_ps(_mm256_sub_ps(z8, m8)), _mm256_castsi256_ps(mask));
    accumulate(e, exp_lo, exp_hi);
    if (g) store8(g + j, e, mask, full);
    if (y) {
      const __m256 y8 = load8(y + j, mask, full);
      accumulate(y8, y_lo, y_hi);
      accumulate(_mm256_mul_ps(y8, _mm256_sub_ps(m8, z8)), gap_lo, gap_hi);
    }
  });
  const double exp_sum = horizontal_sum(exp_lo, exp_hi);
  const double target_sum = y ? horizontal_sum(y_lo, y_hi) : 1.0;
  const double gap = y ? horizontal_sum(gap_lo, gap_hi) : static_cast<double>(m) - z[a.labels[r]];
  if (g) {
    const __m256 k = _mm256_set1_ps(static_cast<float>(target_sum / exp_sum));
    const __m256 s = _mm256_set1_ps(static_cast<float>(scale));
    for_column_blocks(cols, [&](int64_t j, __m256i mask, bool full) NERVE_AVX2_LAMBDA {
      const __m256 y8 = y ? load8(y + j, mask, full) : _mm256_setzero_ps();
      const __m256 e = load8(g + j, mask, full);
      store8(g + j, _mm256_mul_ps(_mm256_fmsub_ps(e, k, y8), s), mask, full);
    });
    if (!y) g[a.labels[r]] -= static_cast<float>(scale);
  }
  return std::log(exp_sum) * target_sum + gap;
}

// ---- driving the rows -------------------------------------------------------------------------

// row(r, scale) -> l_r for rows [begin, end); returns sum of w_r l_r.
template <class T, class Row>
double weighted_rows(const LossArgs<T>& a, int64_t begin, int64_t end, Row row) {
  const double inv_rows = 1.0 / static_cast<double>(a.rows);
  double sum = 0.0;
  for (int64_t r = begin; r < end; ++r) {
    const double w = a.sample_weight ? static_cast<double>(a.sample_weight[r]) : 1.0;
    sum += w * row(r, w * inv_rows);
  }
  return sum;
}

template <class T>
double rows_of(Loss kind, const LossArgs<T>& a, int64_t begin, int64_t end, bool vectorized) {
  switch (kind) {
    case Loss::mse:
      if constexpr (std::is_same_v<T, float>) {
        if (vectorized) {
          return weighted_rows(a, begin, end, [&](int64_t r, double s) {
            return mse_row_avx2(a, r, s);
          });
        }
      }
      return weighted_rows(a, begin, end, [&](int64_t r, double s) {
        return elementwise_row(a, r, s, squared_error);
      });
    case Loss::mae:
      return weighted_rows(a, begin, end, [&](int64_t r, double s) {
        return elementwise_row(a, r, s, absolute_error);
      });
    case Loss::huber:
      return weighted_rows(a, begin, end, [&](int64_t r, double s) {
        return elementwise_row(a, r, s, [&](double p, double y) {
          return huber_error(p, y, a.delta);
        });
      });
    case Loss::binary_crossentropy:
      return weighted_rows(a, begin, end, [&](int64_t r, double s) {
        return elementwise_row(a, r, s, [&](double p, double y) {
          return binary_crossentropy(p, y, a.clip_low, a.clip_high);
        });
      });
    case Loss::binary_crossentropy_logits:
      if constexpr (std::is_same_v<T, float>) {
        if (vectorized) {
          return weighted_rows(a, begin, end, [&](int64_t r, double s) {
            return binary_logits_row_avx2(a, r, s);
          });
        }
      }
      return weighted_rows(a, begin, end, [&](int64_t r, double s) {
        return elementwise_row(a, r, s, binary_crossentropy_logits);
      });
    case Loss::categorical_crossentropy:
    case Loss::sparse_categorical_crossentropy:
      return weighted_rows(a, begin, end, [&](int64_t r, double s) {
        return categorical_row(a, r, s);
      });
    case Loss::categorical_crossentropy_logits:
    case Loss::sparse_categorical_crossentropy_logits:
      if constexpr (std::is_same_v<T, float>) {
        if (vectorized) {
          return weighted_rows(a, begin, end, [&](int64_t r, double s) {
            return categorical_logits_row_avx2(a, r, s);
          });
        }
      }
      return weighted_rows(a, begin, end, [&](int64_t r, double s) {
        return categorical_logits_row(a, r, s);
      });
  }
  return 0.0;
}

template <class T>
LossArgs<T> make_args(T* grad, const T* pred, const T* target, const int64_t* labels,
                      const T* sample_weight, int64_t rows, int64_t cols, T delta) {
  return {grad, pred, target, labels, sample_weight, rows, cols, static_cast<double>(delta),
          static_cast<double>(static_cast<T>(kProbabilityEpsilon)),
          static_cast<double>(static_cast<T>(1.0 - kProbabilityEpsilon))};
}

}  // namespace

bool parse_loss(const char* name, Loss* out) {
  for (const LossName& entry : kLossNames) {
    if (std::strcmp(name, entry.name) == 0) {
      *out = entry.kind;
      return true;
    }
  }
  return false;
}

const char* loss_names() {
  return "binary_crossentropy, binary_crossentropy_logits, categorical_crossentropy, "
         "categorical_crossentropy_logits, sparse_categorical_crossentropy, "
         "sparse_categorical_crossentropy_logits, mse, mae, huber";
}

bool loss_is_sparse(Loss l) {
  return l == Loss::sparse_categorical_crossentropy ||
         l == Loss::sparse_categorical_crossentropy_logits;
}

template <class T>
double loss_forward_backward(Loss kind, T* grad, const T* pred, const T* target,
                             const int64_t* labels, const T* sample_weight, int64_t rows,
                             int64_t cols, T delta) {
  const LossArgs<T> a = make_args(grad, pred, target, labels, sample_weight, rows, cols, delta);
  const bool vectorized = use_avx2();
  const int64_t grain = std::max<int64_t>(1, kChunkElements / cols);
  const int64_t serial_below = (kLossSerialBelow + cols - 1) / cols;
  const double sum = parallel_sum(rows, grain, serial_below, [&](int64_t begin, int64_t end) {
    return rows_of(kind, a, begin, end, vectorized);
  });
  return sum / static_cast<double>(rows);
}

template <class T>
double loss_forward_backward_scalar(Loss kind, T* grad, const T* pred, const T* target,
                                    const int64_t* labels, const T* sample_weight,
                                    int64_t rows, int64_t cols, T delta) {
  const LossArgs<T> a = make_args(grad, pred, target, labels, sample_weight, rows, cols, delta);
  return rows_of(kind, a, 0, rows, false) / static_cast<double>(rows);
}

#define NERVE_INSTANTIATE_LOSS(T)                                                              \
  template double loss_forward_backward<T>(Loss, T*, const T*, const T*, const int64_t*,       \
                                           const T*, int64_t, int64_t, T);                      \
  template double loss_forward_backward_scalar<T>(Loss, T*, const T*, const T*,                \
                                                  const int64_t*, const T*, int64_t, int64_t, T);

NERVE_INSTANTIATE_LOSS(float)
NERVE_INSTANTIATE_LOSS(double)

}  // namespace nerve
