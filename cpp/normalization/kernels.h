// What the normalization dispatcher (normalization.cpp) shares with each instruction set's
// kernels: the cache blocking, the merge of moments, and the table of kernels a
// kernels_<isa>.cpp compiles from the passes in passes.h.
#pragma once

#include <algorithm>
#include <cstdint>

#include "normalization.h"

namespace nerve::normalization {

inline int64_t at_least_one(int64_t n) { return std::max<int64_t>(n, 1); }

// Rows that hold about kNormBlock elements: what one cache-resident block covers.
inline int64_t block_rows(int64_t row_size) {
  return at_least_one(kNormBlock / at_least_one(row_size));
}

// (mean, m2) over `count` values merged with (block_mean, block_m2) over n more: Chan et al.'s
// pairwise update (m2 = sum of squared deviations; it only ever adds non-negative terms).
inline void merge_moments(double* mean, double* m2, double count, const double* block_mean,
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

// Rows [begin, end) of an (outer, channels, inner) array, inner > 0.
struct Rows {
  int64_t begin, end, channels, inner;
};

// Batch-norm kernels over Rows (per-channel arrays have `channels` elements); layer-norm
// kernels over rows [begin, end) of `features` elements.
template <class T>
struct Kernels {
  // mean, m2 (C each) = the moments of x's rows; scratch holds 2 * C doubles.
  void (*moments)(double* mean, double* m2, double* scratch, const T* x, Rows rows);
  // sums[c] += sum of dy, sums[C + c] += sum of dy * (x - mean[c]).
  void (*gradient_sums)(double* sums, const T* dy, const T* x, const T* mean, Rows rows);
  // y = (x - mean) * scale + offset.
  void (*normalize)(T* y, const T* x, const T* mean, const T* scale, const T* offset,
                    Rows rows);
  // dx = a * (dy - b - (x - mean) * k).
  void (*batch_backward)(T* dx, const T* dy, const T* x, const T* mean, const T* a,
                         const T* b, const T* k, Rows rows);
  // dx = dy * a.
  void (*scale)(T* dx, const T* dy, const T* a, Rows rows);
  // y, mean, inv_std of rows [begin, end) (normalization.h).
  void (*layer_forward)(T* y, T* mean, T* inv_std, const T* x, const T* gamma, const T* beta,
                        int64_t begin, int64_t end, int64_t features, T epsilon);
  // dx of rows [begin, end) when dx is not null; sums[f] += dy * xhat and
  // sums[features + f] += dy when sums is not null.
  void (*layer_backward)(T* dx, double* sums, const T* dy, const T* x, const T* mean,
                         const T* inv_std, const T* gamma, int64_t begin, int64_t end,
                         int64_t features);
};

// Defined by kernels_<isa>.cpp as constant data, so reading a table runs none of its code;
// each architecture builds only its own (cpu.h's NERVE_ISA_TABLES).
extern const Kernels<float> baseline_f32, avx2_f32, avx512_f32;
extern const Kernels<double> baseline_f64, avx2_f64, avx512_f64;

}  // namespace nerve::normalization
