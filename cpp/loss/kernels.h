// What the loss dispatcher (loss.cpp) and its per-ISA vector rows (kernels_avx2.cpp,
// kernels_avx512.cpp over vector.h) share: the arguments of a row function and the table of
// vector rows each ISA unit exports.
#pragma once

#include <cstdint>

#include "loss.h"

namespace nerve {

constexpr int kLossKinds = static_cast<int>(Loss::huber) + 1;

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

// Row r: writes its gradient row (when a.grad is set) and returns its loss l_r.
using LossRow = double (*)(const LossArgs<float>& a, int64_t r, double scale);

// The float32 vector rows of one ISA, by kind; null where a kind has none (it runs the
// scalar row, in double).
struct LossKernels {
  LossRow row[kLossKinds];
};

extern const LossKernels loss_kernels_avx2;
extern const LossKernels loss_kernels_avx512;
extern const LossKernels loss_kernels_neon;

}  // namespace nerve
