// Loss kernels; the conventions are in loss.h. Each row is independent: its per-sample loss
// l_i and, when grad is given, its gradient row d(w_i l_i / rows)/d pred (overwritten) come
// from one row function. Rows are split into fixed chunks (about kChunkElements each; threads
// above kLossSerialBelow elements) whose sums of w_i l_i are added in chunk order, so the loss
// is bitwise the same on any thread count. Element math is in double, except in the vector
// rows of the hot float32 kinds (vector.h, instantiated per ISA by kernels_avx2.cpp and
// kernels_avx512.cpp): float math, sums in double.
#include "loss.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "cpu.h"
#include "loss/kernels.h"
#include "parallel.h"

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

// The baseline path and the scalar entry point: every row scalar.
constexpr LossKernels kScalarRows{};

// The vector rows of the active instruction set (float32 only).
const LossKernels& vector_rows() {
  return for_active_isa(
      NERVE_ISA_TABLES(kScalarRows, loss_kernels_avx2, loss_kernels_avx512, loss_kernels_neon));
}

template <class T>
double rows_of(Loss kind, const LossArgs<T>& a, int64_t begin, int64_t end,
               const LossKernels& vector) {
  if constexpr (std::is_same_v<T, float>) {
    if (const LossRow row = vector.row[static_cast<int>(kind)]) {
      return weighted_rows(a, begin, end, [&](int64_t r, double s) { return row(a, r, s); });
    }
  }
  switch (kind) {
    case Loss::mse:
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
  const LossKernels& vector = vector_rows();
  const int64_t grain = std::max<int64_t>(1, kChunkElements / cols);
  const int64_t serial_below = (kLossSerialBelow + cols - 1) / cols;
  const double sum = parallel_sum(rows, grain, serial_below, [&](int64_t begin, int64_t end) {
    return rows_of(kind, a, begin, end, vector);
  });
  return sum / static_cast<double>(rows);
}

template <class T>
double loss_forward_backward_scalar(Loss kind, T* grad, const T* pred, const T* target,
                                    const int64_t* labels, const T* sample_weight,
                                    int64_t rows, int64_t cols, T delta) {
  const LossArgs<T> a = make_args(grad, pred, target, labels, sample_weight, rows, cols, delta);
  return rows_of(kind, a, 0, rows, kScalarRows) / static_cast<double>(rows);
}

#define NERVE_INSTANTIATE_LOSS(T)                                                              \
  template double loss_forward_backward<T>(Loss, T*, const T*, const T*, const int64_t*,       \
                                           const T*, int64_t, int64_t, T);                      \
  template double loss_forward_backward_scalar<T>(Loss, T*, const T*, const T*,                \
                                                  const int64_t*, const T*, int64_t, int64_t, T);

NERVE_INSTANTIATE_LOSS(float)
NERVE_INSTANTIATE_LOSS(double)

}  // namespace nerve
