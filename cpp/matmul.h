// Matrix products, row-major throughout.
//   gemm:  C = alpha * op(A) * op(B) + beta * C, op(A) (M, K), op(B) (K, N), C (M, N).
//          A is stored (M, K), or (K, M) when trans_a; B is (K, N), or (N, K) when trans_b.
//          lda/ldb/ldc are row strides in elements. beta == 0 overwrites C (NaN in C ignored),
//          otherwise accumulates. Any M, N, K >= 0 (K == 0 gives beta * C).
//          C must not overlap A or B. Work is split over output tiles only, so the result
//          is bitwise independent of the thread count; serial below kGemmSerialBelow flops.
//   dense_forward:  Z = X*W + b, Y = act(Z). X (batch, in), W (in, units), b (units) or null,
//          Y and Z (batch, units), Z may be null (not stored) or equal to Y's buffer when the
//          activation is linear. Overwrites Y (and Z).
//   dense_backward: dZ = act'(Z) * dY, dX = dZ * W^T, dW (+)= X^T * dZ, db (+)= colsum(dZ).
//          dZ is a (batch, units) output and may be exactly dY. dX may be null (first layer);
//          db may be null (no bias). `accumulate` adds into dW and db instead of overwriting.
#pragma once

#include <cstdint>

#include "activations.h"

namespace nerve {

// 2*M*N*K flops below which one thread runs: ~33 us of work at 1-thread GEMM speed (80-96
// GFLOP/s). A parallel region costs ~2-5 us on an idle machine but ~35 us when the other core
// is busy (measured on the 2-core Zen 3 host at load 5-8, best of 300 calls, 1 vs 2 threads:
// 32x64x64 0.26 MFLOP 4.9 vs 38 us, 64x128x128 2.1 MFLOP 25 vs 60 us, 64x256x256 8.4 MFLOP
// 115 vs 154 us). The old 1 << 18 sent a 32x64x64 Dense step through two threads.
constexpr int64_t kGemmSerialBelow = int64_t{3} << 20;

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// The same product on the calling thread only, for kernels that split their work across
// threads themselves (convolution tiles), with alpha 1 and a Dense-style finish on the
// register tile: C = relu(C + bias[j]) (bias null: none; relu false: none). Same arithmetic,
// element for element, as gemm.
template <class T>
void gemm_serial(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A,
                 int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc,
                 const T* bias = nullptr, bool relu = false);

// Triple loop, the readable definition the fast gemm is tested against.
template <class T>
void gemm_scalar(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha,
                 const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

template <class T>
void dense_forward(T* y, T* z, const T* x, const T* w, const T* b, int64_t batch, int64_t in,
                   int64_t units, Activation act, T alpha);

template <class T>
void dense_backward(T* dx, T* dw, T* db, T* dz, const T* dy, const T* x, const T* w,
                    const T* z, const T* y, int64_t batch, int64_t in, int64_t units,
                    Activation act, T alpha, bool accumulate);

}  // namespace nerve
