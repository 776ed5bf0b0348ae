// Batch and layer normalization; the conventions and numerics are in normalization.h.
// These passes are memory-bound: plain loops the compiler vectorises, no ISA-specific code.
#include "normalization.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "parallel.h"

namespace nerve {
namespace {

int64_t at_least_one(int64_t n) { return std::max<int64_t>(n, 1); }

// No element: nothing to loop over (tested first, so outer * inner cannot overflow when C is
// 0, and shapes like (2**40, 0, 1) return at once).
bool no_elements(int64_t outer, int64_t C, int64_t inner) {
  return C == 0 || outer == 0 || inner == 0;
}

// Rows that hold about kNormBlock elements: what one cache-resident block covers.
int64_t block_rows(int64_t row_size) { return at_least_one(kNormBlock / at_least_one(row_size)); }

// Rows per chunk of a reduction: a block or more, and at most kNormMaxChunks chunks so the
// per-chunk partials stay small. Depends on the sizes only, never on the thread count.
int64_t chunk_rows(int64_t rows, int64_t row_size) {
  return std::max(block_rows(row_size), (rows + kNormMaxChunks - 1) / kNormMaxChunks);
}

int64_t serial_rows(int64_t row_size) {
  return (kNormSerialBelow + at_least_one(row_size) - 1) / at_least_one(row_size);
}

// sum of term(i) for i in [0, n), in double, over 8 lanes added in a fixed order (the
// compiler can vectorise the lanes; one running sum would serialise the additions).
template <class Term>
double lane_sum(int64_t n, Term term) {
  double lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; ++l) lanes[l] += term(i + l);
  }
  for (int l = 0; i < n; ++i, ++l) lanes[l] += term(i);
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) +
         ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

// Calls f(index, c) for every element of rows [begin, end) of an (outer, C, inner) array, the
// channel loop innermost for channels_last data so that it vectorises.
template <class F>
void for_rows(int64_t begin, int64_t end, int64_t C, int64_t inner, F f) {
  for (int64_t r = begin; r < end; ++r) {
    const int64_t base = r * C * inner;
    if (inner == 1) {
      for (int64_t c = 0; c < C; ++c) f(base + c, c);
    } else {
      for (int64_t c = 0; c < C; ++c) {
        for (int64_t i = 0; i < inner; ++i) f(base + c * inner + i, c);
      }
    }
  }
}

// Per-channel sums of term(index, c) over rows [begin, end), added into s (C).
template <class Term>
void add_channel_sums(double* __restrict s, int64_t begin, int64_t end, int64_t C, int64_t inner,
                      Term term) {
  for (int64_t r = begin; r < end; ++r) {
    const int64_t base = r * C * inner;
    if (inner == 1) {
      for (int64_t c = 0; c < C; ++c) s[c] += term(base + c, c);
    } else {
      for (int64_t c = 0; c < C; ++c) {
        const int64_t start = base + c * inner;
        s[c] += lane_sum(inner, [&](int64_t i) { return term(start + i, c); });
      }
    }
  }
}

// (mean, m2) over `count` values merged with (block_mean, block_m2) over n more: Chan et al.'s
// pairwise update (m2 = sum of squared deviations; it only ever adds non-negative terms).
void merge_moments(double* mean, double* m2, double count, const double* block_mean,
                   const double* block_m2, double n, int64_t C) {
  if (count == 0) {
    std::copy(block_mean, block_mean + C, mean);
    std::copy(block_m2, block_m2 + C, m2);
    return;
  }
  const double total = count + n;
  for (int64_t c = 0; c < C; ++c) {
    const double delta = block_mean[c] - mean[c];
    mean[c] += delta * (n / total);
    m2[c] += block_m2[c] + delta * delta * (count * n / total);
  }
}

// Moments of rows [begin, end) (inner > 0): two passes per cache block, blocks merged in order.
// scratch holds 2 * C doubles.
template <class T>
void chunk_moments(double* mean, double* m2, double* scratch, const T* x, int64_t begin,
                   int64_t end, int64_t C, int64_t inner) {
  double* block_mean = scratch;
  double* block_m2 = scratch + C;
  const int64_t step = block_rows(C * inner);
  double count = 0;
  for (int64_t b = begin; b < end; b += step) {
    const int64_t e = std::min(b + step, end);
    const double n = static_cast<double>((e - b) * inner);
    std::fill(block_mean, block_mean + 2 * C, 0.0);
    add_channel_sums(block_mean, b, e, C, inner, [&](int64_t j, int64_t) { return double(x[j]); });
    for (int64_t c = 0; c < C; ++c) block_mean[c] /= n;
    add_channel_sums(block_m2, b, e, C, inner, [&](int64_t j, int64_t c) {
      const double d = double(x[j]) - block_mean[c];
      return d * d;
    });
    merge_moments(mean, m2, count, block_mean, block_m2, n, C);
    count += n;
  }
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
  parallel_for(outer, grain, serial_rows(row), [&](int64_t begin, int64_t end) {
    double* s = partial.data() + (begin / grain) * 2 * C;
    add_channel_sums(s, begin, end, C, inner, [&](int64_t j, int64_t) { return double(dy[j]); });
    add_channel_sums(s + C, begin, end, C, inner, [&](int64_t j, int64_t c) {
      return double(dy[j]) * (double(x[j]) - double(mean[c]));
    });
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

// y = (x - mean) * scale + offset per channel, with scale = gamma * inv_std.
template <class T>
void normalize(T* y, const T* x, const T* mean, const T* variance, const T* gamma,
               const T* beta, int64_t outer, int64_t C, int64_t inner, T epsilon) {
  if (no_elements(outer, C, inner)) return;
  const std::vector<double> inv = inverse_std(variance, C, epsilon);
  std::vector<T> scale(static_cast<size_t>(C)), offset(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    scale[c] = T(inv[c] * (gamma ? double(gamma[c]) : 1.0));
    offset[c] = beta ? beta[c] : T(0);
  }
  const T* s = scale.data();
  const T* o = offset.data();
  const int64_t row = C * inner;
  parallel_for(outer, block_rows(row), serial_rows(row), [&](int64_t begin, int64_t end) {
    for_rows(begin, end, C, inner,
             [&](int64_t j, int64_t c) { y[j] = (x[j] - mean[c]) * s[c] + o[c]; });
  });
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
  parallel_for(outer, grain, serial_rows(row), [&](int64_t begin, int64_t end) {
    double* p = partial.data() + (begin / grain) * 4 * C;
    chunk_moments(p, p + C, p + 2 * C, x, begin, end, C, inner);
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
  std::vector<T> a(static_cast<size_t>(C)), b(a), k(a);
  for (int64_t c = 0; c < C; ++c) {
    a[c] = T(inv[c] * (gamma ? double(gamma[c]) : 1.0));
    b[c] = T(sum_dy[c] / m);
    k[c] = T(inv[c] * inv[c] * sum_dy_xc[c] / m);
  }
  const T *pa = a.data(), *pb = b.data(), *pk = k.data();
  const int64_t row = C * inner;
  parallel_for(outer, block_rows(row), serial_rows(row), [&](int64_t begin, int64_t end) {
    for_rows(begin, end, C, inner, [&](int64_t j, int64_t c) {
      dx[j] = pa[c] * (dy[j] - pb[c] - (x[j] - mean[c]) * pk[c]);
    });
  });
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
  std::vector<T> a(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) a[c] = T(inv[c] * (gamma ? double(gamma[c]) : 1.0));
  const T* pa = a.data();
  const int64_t row = C * inner;
  parallel_for(outer, block_rows(row), serial_rows(row), [&](int64_t begin, int64_t end) {
    for_rows(begin, end, C, inner, [&](int64_t j, int64_t c) { dx[j] = dy[j] * pa[c]; });
  });
}

template <class T>
void layer_norm_forward(T* y, T* mean, T* inv_std, const T* x, const T* gamma, const T* beta,
                        int64_t rows, int64_t features, T epsilon) {
  const int64_t F = features;
  parallel_for(rows, block_rows(F), serial_rows(F), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* xr = x + r * F;
      T* yr = y + r * F;
      const double mu = F ? lane_sum(F, [&](int64_t f) { return double(xr[f]); }) / F : 0.0;
      const double var = F ? lane_sum(F, [&](int64_t f) {
        const double d = double(xr[f]) - mu;
        return d * d;
      }) / F : 0.0;
      const T m = T(mu), inv = T(1.0 / std::sqrt(var + double(epsilon)));
      mean[r] = m;
      inv_std[r] = inv;
      for (int64_t f = 0; f < F; ++f) {
        const T xhat = (xr[f] - m) * inv;
        yr[f] = (gamma ? xhat * gamma[f] : xhat) + (beta ? beta[f] : T(0));
      }
    }
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
  parallel_for(rows, grain, serial_rows(F), [&](int64_t begin, int64_t end) {
    double* pg = weights ? partial.data() + (begin / grain) * 2 * F : nullptr;
    for (int64_t r = begin; r < end; ++r) {
      const T *xr = x + r * F, *dyr = dy + r * F;
      const T m = mean[r], inv = inv_std[r];
      if (dx && F) {
        auto g = [&](int64_t f) { return double(gamma ? dyr[f] * gamma[f] : dyr[f]); };
        const double sum_g = lane_sum(F, g);
        const double sum_gx = lane_sum(F, [&](int64_t f) { return g(f) * double((xr[f] - m) * inv); });
        const T a = T(sum_g / F), b = T(sum_gx / F);
        T* dxr = dx + r * F;
        for (int64_t f = 0; f < F; ++f) {
          const T gf = gamma ? dyr[f] * gamma[f] : dyr[f];
          dxr[f] = inv * (gf - a - (xr[f] - m) * inv * b);
        }
      }
      if (weights) {
        for (int64_t f = 0; f < F; ++f) {
          pg[f] += double(dyr[f]) * double((xr[f] - m) * inv);
          pg[F + f] += double(dyr[f]);
        }
      }
    }
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
