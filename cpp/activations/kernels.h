// What the activation dispatcher (activations.cpp) and its per-ISA vector kernels
// (kernels_avx2.cpp, kernels_avx512.cpp over vector.h) share: the constants of the kinds and
// the table of vector kernels each ISA unit exports.
#pragma once

#include <cstdint>

#include "activations.h"

namespace nerve {

constexpr int kActivationKinds = static_cast<int>(Activation::step) + 1;

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kSqrt2OverPi = 0.79788456080286535587989211986876;
constexpr double kGeluCubic = 0.044715;
constexpr double kGeluGradClamp = 20.0;

// The vector kernels of one ISA for one dtype. A null entry has no vector version (float64
// kinds that need exp, exact gelu, float64 softmax forward): it runs the scalar definition.
template <class T>
struct ActivationKernels {
  // Element-wise kind over a flat range of n elements (activations.h's forward and backward).
  void (*forward[kActivationKinds])(T* y, const T* x, int64_t n, T alpha);
  void (*backward[kActivationKinds])(T* dx, const T* dy, const T* x, const T* y, int64_t n, T alpha);
  // One softmax row of `cols` elements.
  void (*softmax_row)(T* y, const T* x, int64_t cols);
  void (*softmax_backward_row)(T* dx, const T* dy, const T* y, int64_t cols);
};

struct ActivationKernelSet {
  ActivationKernels<float> f32;
  ActivationKernels<double> f64;
};

extern const ActivationKernelSet activation_kernels_avx2;
extern const ActivationKernelSet activation_kernels_avx512;
extern const ActivationKernelSet activation_kernels_neon;

}  // namespace nerve
