// The GEMM for AVX2 + FMA: 6 x 16 float (6 x 8 double) tiles of 12 ymm accumulators, which
// cover the FMA latency (4 cycles x 2 pipes), and BLIS's Zen 3 blocking: A's MC x KC block in
// L2 (~144 KiB), B's KC x NR micro-panel in L1 (16 KiB), B's KC x NC block in L3.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <utility>

#include "cpu.h"
#include "gemm/operands.h"
#include "matmul.h"
#include "parallel.h"

#include "simd/target_avx2.h"

#include "simd/avx2.h"
#include "gemm/microkernel.h"
#include "gemm/driver.h"

namespace nerve::matmul {
namespace {

template <class T> struct Avx2Blocking;
template <> struct Avx2Blocking<float> {
  static constexpr int64_t MR = 6, NR = 16, MC = 144, KC = 256, NC = 4080;
};
template <> struct Avx2Blocking<double> {
  static constexpr int64_t MR = 6, NR = 8, MC = 72, KC = 256, NC = 4080;
};

struct Avx2Config : VectorKernel<simd::avx2::Lanes, Avx2Blocking> {
  template <class T> using Blocking = Avx2Blocking<T>;
  template <class T> static constexpr int64_t kTransposeWidth = simd::avx2::Lanes<T>::W;
  template <class T>
  static NERVE_INLINE void transpose(const T* const* rows, int64_t p, T* dst, int64_t dst_step) {
    simd::avx2::transpose(rows, p, dst, dst_step);
  }
};

}  // namespace

const Driver<float> avx2_f32 = Algorithm<Avx2Config>::kDriver<float>;
const Driver<double> avx2_f64 = Algorithm<Avx2Config>::kDriver<double>;

}  // namespace nerve::matmul
