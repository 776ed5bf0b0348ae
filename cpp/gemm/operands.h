// What the portable GEMM algorithm (driver.h) and its callers (gemm.cpp) share: the product's
// operands, the epilogues run on finished blocks of C, and the per-ISA driver tables. Included
// before any target pragma, so these inline functions keep the baseline target.
#pragma once

#include <cstdint>

#include "activations.h"

namespace nerve::matmul {

// C (M x N) = alpha * op(A) op(B) + beta * C, op(A) (M x K) and op(B) (K x N) as stored, with
// their transposes. beta == 0 overwrites.
template <class T>
struct Operands {
  bool trans_a, trans_b;
  int64_t M, N, K;
  T alpha;
  const T* A;
  int64_t lda;
  const T* B;
  int64_t ldb;
  T beta;
  T* C;
  int64_t ldc;
  // Dense layer finish run by the micro-kernel on the last K slice: C = relu(C + bias[j])
  // (bias null: none).
  const T* bias = nullptr;
  bool relu = false;

  // Address of op(A)(i, p) and the element steps along i and along p.
  const T* a_at(int64_t i, int64_t p) const { return trans_a ? A + p * lda + i : A + i * lda + p; }
  int64_t a_row_step() const { return trans_a ? 1 : lda; }
  int64_t a_k_step() const { return trans_a ? lda : 1; }
};

// The epilogue of a plain gemm: nothing.
struct NoEpilogue {
  void operator()(int64_t, int64_t, int64_t, int64_t) const {}
};

// Dense forward epilogue on a finished block whose pre-activation (in `pre`, Z's or Y's
// buffer) already holds the bias, added by the micro-kernel: Y = act(pre) one contiguous row
// segment at a time (small calls never start their own parallel region). Nothing is left to
// do when Y is pre and the activation linear or relu (applied by the micro-kernel as well).
// Softmax needs whole rows, so it runs after the product.
template <class T>
struct DenseEpilogue {
  T* y;
  T* pre;
  int64_t units;
  Activation act;
  T alpha;
  bool done() const { return y == pre && act == Activation::linear; }
  void operator()(int64_t i0, int64_t i1, int64_t j0, int64_t j1) const {
    if (done()) return;
    for (int64_t i = i0; i < i1; ++i)
      activation_forward(act, y + i * units + j0, pre + i * units + j0, 1, j1 - j0, alpha);
  }
};

// One instruction set's compiled algorithm. may_thread false keeps the product on the
// calling thread (gemm_serial); it also never threads inside a parallel region.
template <class T>
struct Driver {
  void (*plain)(const Operands<T>& op, bool may_thread);
  void (*dense)(const Operands<T>& op, const DenseEpilogue<T>& epilogue);
};

// Defined by kernels_<isa>.cpp as constant data, so reading a table runs none of its code;
// each architecture builds only its own (cpu.h's NERVE_ISA_TABLES).
extern const Driver<float> baseline_f32, avx2_f32, avx512_f32, neon_f32;
extern const Driver<double> baseline_f64, avx2_f64, avx512_f64, neon_f64;

// Packing space of at least `count` elements, 64-byte aligned, kept per calling thread so
// repeated calls neither allocate nor page-fault; grows when a larger product comes along
// (throws std::bad_alloc). One buffer per thread, shared by every instruction set.
template <class T>
T* workspace(int64_t count);

}  // namespace nerve::matmul
