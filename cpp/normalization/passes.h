// The normalization passes, written once; each kernels_<isa>.cpp includes this after its
// target pragma and gets its own code generation (cpp/simd/README.md). The passes are plain
// loops over contiguous data that gcc vectorises for the target's widest vectors; sums are in
// double over lanes added in a fixed order. Everything here has internal linkage.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "normalization/kernels.h"

namespace nerve::normalization {
namespace {

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

// Calls f(index, c) for every element of `rows`, the channel loop innermost for
// channels_last data so that it vectorises.
template <class F>
void for_rows(Rows rows, F f) {
  const int64_t C = rows.channels, inner = rows.inner;
  for (int64_t r = rows.begin; r < rows.end; ++r) {
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

// Channels_last sums run over kSumBlock channels at a time, down all the rows, so that the
// running sums stay in registers instead of making a store and a reload per row.
constexpr int64_t kSumBlock = 16;

// Per-channel sums of term(index, c) over `rows`, added into s (C); each s[c] adds its terms
// in row order.
template <class Term>
void add_channel_sums(double* __restrict s, Rows rows, Term term) {
  const int64_t C = rows.channels, inner = rows.inner;
  if (inner == 1) {
    int64_t c0 = 0;
    for (; c0 + kSumBlock <= C; c0 += kSumBlock) {
      double sums[kSumBlock];
      for (int64_t c = 0; c < kSumBlock; ++c) sums[c] = s[c0 + c];
      for (int64_t r = rows.begin; r < rows.end; ++r) {
        for (int64_t c = 0; c < kSumBlock; ++c) sums[c] += term(r * C + c0 + c, c0 + c);
      }
      for (int64_t c = 0; c < kSumBlock; ++c) s[c0 + c] = sums[c];
    }
    for (int64_t r = rows.begin; r < rows.end; ++r) {
      for (int64_t c = c0; c < C; ++c) s[c] += term(r * C + c, c);
    }
    return;
  }
  for (int64_t r = rows.begin; r < rows.end; ++r) {
    for (int64_t c = 0; c < C; ++c) {
      const int64_t start = (r * C + c) * inner;
      s[c] += lane_sum(inner, [&](int64_t i) { return term(start + i, c); });
    }
  }
}

// Two passes per cache block (mean, then squared deviations), blocks merged in order.
template <class T>
void moments(double* mean, double* m2, double* scratch, const T* x, Rows rows) {
  const int64_t C = rows.channels;
  double* block_mean = scratch;
  double* block_m2 = scratch + C;
  const int64_t step = block_rows(C * rows.inner);
  double count = 0;
  for (int64_t b = rows.begin; b < rows.end; b += step) {
    const Rows block{b, std::min(b + step, rows.end), C, rows.inner};
    const double n = static_cast<double>((block.end - b) * rows.inner);
    std::fill(block_mean, block_mean + 2 * C, 0.0);
    add_channel_sums(block_mean, block, [&](int64_t j, int64_t) { return double(x[j]); });
    for (int64_t c = 0; c < C; ++c) block_mean[c] /= n;
    add_channel_sums(block_m2, block, [&](int64_t j, int64_t c) {
      const double d = double(x[j]) - block_mean[c];
      return d * d;
    });
    merge_moments(mean, m2, count, block_mean, block_m2, n, C);
    count += n;
  }
}

template <class T>
void gradient_sums(double* sums, const T* dy, const T* x, const T* mean, Rows rows) {
  add_channel_sums(sums, rows, [&](int64_t j, int64_t) { return double(dy[j]); });
  add_channel_sums(sums + rows.channels, rows, [&](int64_t j, int64_t c) {
    return double(dy[j]) * (double(x[j]) - double(mean[c]));
  });
}

template <class T>
void normalize(T* __restrict y, const T* __restrict x, const T* __restrict mean,
               const T* __restrict scale, const T* __restrict offset, Rows rows) {
  for_rows(rows, [&](int64_t j, int64_t c) { y[j] = (x[j] - mean[c]) * scale[c] + offset[c]; });
}

template <class T>
void batch_backward(T* __restrict dx, const T* __restrict dy, const T* __restrict x,
                    const T* __restrict mean, const T* __restrict a, const T* __restrict b,
                    const T* __restrict k, Rows rows) {
  for_rows(rows, [&](int64_t j, int64_t c) {
    dx[j] = a[c] * (dy[j] - b[c] - (x[j] - mean[c]) * k[c]);
  });
}

template <class T>
void scale(T* __restrict dx, const T* __restrict dy, const T* __restrict a, Rows rows) {
  for_rows(rows, [&](int64_t j, int64_t c) { dx[j] = dy[j] * a[c]; });
}

template <class T>
void layer_forward(T* y, T* mean, T* inv_std, const T* x, const T* gamma, const T* beta,
                   int64_t begin, int64_t end, int64_t F, T epsilon) {
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
}

template <class T>
void layer_backward(T* dx, double* sums, const T* dy, const T* x, const T* mean,
                    const T* inv_std, const T* gamma, int64_t begin, int64_t end, int64_t F) {
  for (int64_t r = begin; r < end; ++r) {
    const T *xr = x + r * F, *dyr = dy + r * F;
    const T m = mean[r], inv = inv_std[r];
    if (dx && F) {
      auto g = [&](int64_t f) { return double(gamma ? dyr[f] * gamma[f] : dyr[f]); };
      const double sum_g = lane_sum(F, g);
      const double sum_gx =
          lane_sum(F, [&](int64_t f) { return g(f) * double((xr[f] - m) * inv); });
      const T a = T(sum_g / F), b = T(sum_gx / F);
      T* dxr = dx + r * F;
      for (int64_t f = 0; f < F; ++f) {
        const T gf = gamma ? dyr[f] * gamma[f] : dyr[f];
        dxr[f] = inv * (gf - a - (xr[f] - m) * inv * b);
      }
    }
    if (sums) {
      for (int64_t f = 0; f < F; ++f) {
        sums[f] += double(dyr[f]) * double((xr[f] - m) * inv);
        sums[F + f] += double(dyr[f]);
      }
    }
  }
}

template <class T>
constexpr Kernels<T> kernels() {
  return {moments<T>, gradient_sums<T>, normalize<T>,     batch_backward<T>,
          scale<T>,   layer_forward<T>, layer_backward<T>};
}

}  // namespace
}  // namespace nerve::normalization
