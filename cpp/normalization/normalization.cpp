// Batch and layer normalization dispatch; the conventions and numerics are in
// normalization.h. This file fixes the chunks (by the sizes alone), merges the per-chunk
// partials in chunk order and computes the per-channel coefficients; the passes over the data
// come from the active instruction set's kernels (kernels.h, passes.h).
#include "normalization.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "cpu.h"
#include "normalization/kernels.h"
#include "parallel.h"

namespace nerve {
namespace {

using namespace normalization;

// NEON is the aarch64 baseline target, and these plain loops vectorise for it: the baseline
// table is the neon one.
template <class T>
const Kernels<T>& active_kernels() {
  if constexpr (std::is_same_v<T, float>)
    return for_active_isa(NERVE_ISA_TABLES(baseline_f32, avx2_f32, avx512_f32, baseline_f32));
  else return for_active_isa(NERVE_ISA_TABLES(baseline_f64, avx2_f64, avx512_f64, baseline_f64));
}

// No element: nothing to loop over (tested first, so outer * inner cannot overflow when C is
// 0, and shapes like (2**40, 0, 1) return at once).
bool no_elements(int64_t outer, int64_t C, int64_t inner) {
  return C == 0 || outer == 0 || inner == 0;
}

// Rows per chunk of a reduction: a block or more, and at most kNormMaxChunks chunks so the
// per-chunk partials stay small. Depends on the sizes only, never on the thread count.
int64_t chunk_rows(int64_t rows, int64_t row_size) {
  return std::max(block_rows(row_size), (rows + kNormMaxChunks - 1) / kNormMaxChunks);
}

int64_t serial_rows(int64_t row_size) {
  return (kNormSerialBelow + at_least_one(row_size) - 1) / at_least_one(row_size);
}

// pass(Rows) over the outer rows of an (outer, C, inner) array in cache blocks, threaded.
template <class Pass>
void for_blocks(int64_t outer, int64_t C, int64_t inner, Pass pass) {
  const int64_t row = C * inner;
  parallel_for(outer, block_rows(row), serial_rows(row),
               [&](int64_t begin, int64_t end) { pass(Rows{begin, end, C, inner}); });
}

// Per-channel (sum dy, sum dy * (x - mean)) over all rows: fixed chunks, summed in order.
template <class T>
void gradient_sums(std::vector<double>& sum_dy, std::vector<double>& sum_dy_xc, const T* dy,
                   const T* x, const T* mean, int64_t outer, int64_t C, int64_t inner) {
  sum_dy.assign(static_cast<size_t>(C), 0.0);
  sum_dy_xc.assign(static_cast<size_t>(C), 0.0);
  if (no_elements(outer, C, inner)) return;
  const int64_t row = C * inner, grain = chunk_rows(outer, row);
  const int64_t chunks = (outer + grain - 1) / grain;
  std::vector<double> partial(static_cast<size_t>(chunks * 2 * C), 0.0);
  const auto kernel = active_kernels<T>().gradient_sums;
  parallel_for(outer, grain, serial_rows(row), [&](int64_t begin, int64_t end) {
    kernel(partial.data() + (begin / grain) * 2 * C, dy, x, mean, Rows{begin, end, C, inner});
  });
  for (int64_t k = 0; k < chunks; ++k) {
    const double* s = partial.data() + k * 2 * C;
    for (int64_t c = 0; c < C; ++c) {
      sum_dy[c] += s[c];
      sum_dy_xc[c] += s[C + c];
    }
  }
}

template <class T>
std::vector<double> inverse_std(const T* variance, int64_t C, T epsilon) {
  std::vector<double> inv(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) inv[c] = 1.0 / std::sqrt(double(variance[c]) + double(epsilon));
  return inv;
}

template <class T>
void write_weight_grads(T* dgamma, T* dbeta, const std::vector<double>& sum_dy,
                        const std::vector<double>& sum_dy_xc, const std::vector<double>& inv,
                        bool accumulate) {
  for (size_t c = 0; c < sum_dy.size(); ++c) {
    const T g = T(sum_dy_xc[c] * inv[c]), b = T(sum_dy[c]);
    if (dgamma) dgamma[c] = accumulate ? dgamma[c] + g : g;
    if (dbeta) dbeta[c] = accumulate ? dbeta[c] + b : b;
  }
}

// gamma * inv_std per channel (gamma null: 1).
template <class T>
std::vector<T> gamma_times(const std::vector<double>& inv, const T* gamma) {
  std::vector<T> a(inv.size());
  for (size_t c = 0; c < inv.size(); ++c) a[c] = T(inv[c] * (gamma ? double(gamma[c]) : 1.0));
  return a;
}

// y = (x - mean) * scale + offset per channel, with scale = gamma * inv_std.
template <class T>
void normalize(T* y, const T* x, const T* mean, const T* variance, const T* gamma,
               const T* beta, int64_t outer, int64_t C, int64_t inner, T epsilon) {
  if (no_elements(outer, C, inner)) return;
  const std::vector<T> scale = gamma_times(inverse_std(variance, C, epsilon), gamma);
  std::vector<T> offset(static_cast<size_t>(C), T(0));
  if (beta) std::copy(beta, beta + C, offset.begin());
  const auto kernel = active_kernels<T>().normalize;
  for_blocks(outer, C, inner,
             [&](Rows rows) { kernel(y, x, mean, scale.data(), offset.data(), rows); });
}

}  // namespace

template <class T>
void batch_norm_forward(T* y, T* mean, T* variance, const T* x, const T* gamma, const T* beta,
                        int64_t outer, int64_t C, int64_t inner, T epsilon) {
  if (no_elements(outer, C, inner)) {
    std::fill(mean, mean + C, T(0));
    std::fill(variance, variance + C, T(0));
    return;  // y is empty
  }
  const int64_t row = C * inner, grain = chunk_rows(outer, row);
  const int64_t chunks = (outer + grain - 1) / grain;
  // Per chunk: mean, m2 and the block scratch, C doubles each.
  std::vector<double> partial(static_cast<size_t>(chunks * 4 * C));
  const auto kernel = active_kernels<T>().moments;
  parallel_for(outer, grain, serial_rows(row), [&](int64_t begin, int64_t end) {
    double* p = partial.data() + (begin / grain) * 4 * C;
    kernel(p, p + C, p + 2 * C, x, Rows{begin, end, C, inner});
  });
  std::vector<double> total_mean(static_cast<size_t>(C)), total_m2(static_cast<size_t>(C));
  double count = 0;
  for (int64_t k = 0; k < chunks; ++k) {
    const double n = static_cast<double>((std::min(grain, outer - k * grain)) * inner);
    const double* p = partial.data() + k * 4 * C;
    merge_moments(total_mean.data(), total_m2.data(), count, p, p + C, n, C);
    count += n;
  }
  for (int64_t c = 0; c < C; ++c) {
    mean[c] = T(total_mean[c]);
    variance[c] = T(total_m2[c] / count);
  }
  normalize(y, x, mean, variance, gamma, beta, outer, C, inner, epsilon);
}

template <class T>
void batch_norm_backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* mean,
                         const T* variance, const T* gamma, int64_t outer, int64_t C,
                         int64_t inner, T epsilon, bool accumulate) {
  std::vector<double> sum_dy, sum_dy_xc;
  gradient_sums(sum_dy, sum_dy_xc, dy, x, mean, outer, C, inner);
  const std::vector<double> inv = inverse_std(variance, C, epsilon);
  write_weight_grads(dgamma, dbeta, sum_dy, sum_dy_xc, inv, accumulate);
  if (!dx || no_elements(outer, C, inner)) return;
  // dx = a * (dy - b - (x - mean) * k): a = gamma * inv_std, b = dbeta / m,
  // k = inv_std * dgamma / m = inv_std^2 * sum(dy * (x - mean)) / m.
  const double m = static_cast<double>(outer * inner);
  const std::vector<T> a = gamma_times(inv, gamma);
  std::vector<T> b(static_cast<size_t>(C)), k(b);
  for (int64_t c = 0; c < C; ++c) {
    b[c] = T(sum_dy[c] / m);
    k[c] = T(inv[c] * inv[c] * sum_dy_xc[c] / m);
  }
  const auto kernel = active_kernels<T>().batch_backward;
  for_blocks(outer, C, inner,
             [&](Rows rows) { kernel(dx, dy, x, mean, a.data(), b.data(), k.data(), rows); });
}

template <class T>
void batch_norm_inference(T* y, const T* x, const T* mean, const T* variance, const T* gamma,
                          const T* beta, int64_t outer, int64_t C, int64_t inner, T epsilon) {
  normalize(y, x, mean, variance, gamma, beta, outer, C, inner, epsilon);
}

template <class T>
void batch_norm_inference_backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x,
                                   const T* mean, const T* variance, const T* gamma,
                                   int64_t outer, int64_t C, int64_t inner, T epsilon,
                                   bool accumulate) {
  const std::vector<double> inv = inverse_std(variance, C, epsilon);
  if (dgamma || dbeta) {
    std::vector<double> sum_dy, sum_dy_xc;
    gradient_sums(sum_dy, sum_dy_xc, dy, x, mean, outer, C, inner);
    write_weight_grads(dgamma, dbeta, sum_dy, sum_dy_xc, inv, accumulate);
  }
  if (!dx || no_elements(outer, C, inner)) return;
  const std::vector<T> a = gamma_times(inv, gamma);
  const auto kernel = active_kernels<T>().scale;
  for_blocks(outer, C, inner, [&](Rows rows) { kernel(dx, dy, a.data(), rows); });
}

template <class T>
void layer_norm_forward(T* y, T* mean, T* inv_std, const T* x, const T* gamma, const T* beta,
                        int64_t rows, int64_t features, T epsilon) {
  const int64_t F = features;
  const auto kernel = active_kernels<T>().layer_forward;
  parallel_for(rows, block_rows(F), serial_rows(F), [&](int64_t begin, int64_t end) {
    kernel(y, mean, inv_std, x, gamma, beta, begin, end, F, epsilon);
  });
}

template <class T>
void layer_norm_backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* mean,
                         const T* inv_std, const T* gamma, int64_t rows, int64_t features,
                         bool accumulate) {
  const int64_t F = features, grain = chunk_rows(rows, F);
  const int64_t chunks = (rows + grain - 1) / grain;
  const bool weights = dgamma || dbeta;
  // Per chunk: column sums of dy * xhat, then of dy (F doubles each).
  std::vector<double> partial(weights ? static_cast<size_t>(chunks * 2 * F) : 0, 0.0);
  const auto kernel = active_kernels<T>().layer_backward;
  parallel_for(rows, grain, serial_rows(F), [&](int64_t begin, int64_t end) {
    double* sums = weights ? partial.data() + (begin / grain) * 2 * F : nullptr;
    kernel(dx, sums, dy, x, mean, inv_std, gamma, begin, end, F);
  });
  if (!weights) return;
  std::vector<double> sums(static_cast<size_t>(2 * F), 0.0);
  for (int64_t k = 0; k < chunks; ++k) {
    for (int64_t f = 0; f < 2 * F; ++f) sums[f] += partial[k * 2 * F + f];
  }
  for (int64_t f = 0; f < F; ++f) {
    if (dgamma) dgamma[f] = accumulate ? dgamma[f] + T(sums[f]) : T(sums[f]);
    if (dbeta) dbeta[f] = accumulate ? dbeta[f] + T(sums[F + f]) : T(sums[F + f]);
  }
}

#define NERVE_INSTANTIATE_NORMALIZATION(T)                                                    \
  template void batch_norm_forward<T>(T*, T*, T*, const T*, const T*, const T*, int64_t,      \
                                      int64_t, int64_t, T);                                    \
  template void batch_norm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*,    \
                                       const T*, int64_t, int64_t, int64_t, T, bool);          \
  template void batch_norm_inference<T>(T*, const T*, const T*, const T*, const T*, const T*, \
                                        int64_t, int64_t, int64_t, T);                         \
  template void batch_norm_inference_backward<T>(T*, T*, T*, const T*, const T*, const T*,    \
                                                 const T*, const T*, int64_t, int64_t,         \
                                                 int64_t, T, bool);                            \
  template void layer_norm_forward<T>(T*, T*, T*, const T*, const T*, const T*, int64_t,      \
                                      int64_t, T);                                             \
  template void layer_norm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*,    \
                                       const T*, int64_t, int64_t, bool);

NERVE_INSTANTIATE_NORMALIZATION(float)
NERVE_INSTANTIATE_NORMALIZATION(double)
#undef NERVE_INSTANTIATE_NORMALIZATION

}  // namespace nerve
