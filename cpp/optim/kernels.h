// What the optimizer dispatcher (optim.cpp) hands each instruction set's kernels: one step's
// arrays and coefficients, and the table of kernels a kernels_<isa>.cpp compiles from the
// bodies in updates.h. A kernel updates elements [begin, end) of the step's arrays.
#pragma once

#include <cstdint>

namespace nerve::optim {

// keep = 1 - lr * weight_decay: the decoupled decay as one factor (exactly 1 when wd == 0).
// velocity null: plain SGD.
template <class T>
struct SgdStep {
  T* p;
  const T* g;
  T* velocity;
  T keep, lr, momentum;
  bool nesterov;
};

// alpha: lr with both bias corrections folded in; v_hat null unless AMSGrad.
template <class T>
struct AdamStep {
  T *p;
  const T* g;
  T *m, *v, *v_hat;
  T keep, alpha, one_minus_beta1, one_minus_beta2, eps;
};

// momentum_buf null unless momentum > 0, avg_grad null unless centered.
template <class T>
struct RmspropStep {
  T* p;
  const T* g;
  T *velocity, *momentum_buf, *avg_grad;
  T keep, lr, rho, one_minus_rho, momentum, eps;
};

template <class T>
struct AdagradStep {
  T* p;
  const T* g;
  T* accumulator;
  T keep, lr, eps;
};

template <class T>
struct Kernels {
  void (*sgd)(const SgdStep<T>& step, int64_t begin, int64_t end);
  void (*adam)(const AdamStep<T>& step, int64_t begin, int64_t end);
  void (*rmsprop)(const RmspropStep<T>& step, int64_t begin, int64_t end);
  void (*adagrad)(const AdagradStep<T>& step, int64_t begin, int64_t end);
  // Sum of x^2 in double, in an order fixed by n alone.
  double (*sum_squares)(const T* x, int64_t n);
  void (*scale)(T* x, int64_t n, T factor);
  // x clamped to [-limit, limit], NaN kept.
  void (*clip)(T* x, int64_t n, T limit);
};

// Defined by kernels_<isa>.cpp as constant data, so reading a table runs none of its code;
// each architecture builds only its own (cpu.h's NERVE_ISA_TABLES).
extern const Kernels<float> baseline_f32, avx2_f32, avx512_f32, neon_f32;
extern const Kernels<double> baseline_f64, avx2_f64, avx512_f64, neon_f64;

}  // namespace nerve::optim
