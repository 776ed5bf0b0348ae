// The GEMM for AVX-512: 12 x 32 float (12 x 16 double) tiles of 24 zmm accumulators, two
// vectors of B per k step and twelve broadcasts of A (the row-major transpose of BLIS's
// Skylake-X 32 x 12 kernel), leaving 8 of the 32 registers for B and the broadcasts. Blocking
// for Sapphire Rapids (48 KiB L1D, 2 MiB L2 per core): B's KC x NR micro-panel (32 KiB at
// KC 256) stays in L1 while A's 12-row micro-panels stream from L2; B's KC x NC block in L3.
// MC measured (1 thread, thread CPU time, medians, ratio to OpenBLAS in the same process):
// float 2048^3 0.85 at MC 240, 0.89-0.97 at 120, 0.94-0.95 at 96 and 60 (1024^3 ~1.0 for
// all); double 2048^3 0.86 at MC 120, 0.90 at 48. KC 384 and NC 512/1024 measured no better.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <utility>

#include "cpu.h"
#include "gemm/operands.h"
#include "matmul.h"
#include "parallel.h"

#include "simd/target_avx512.h"

#include "simd/avx2.h"
#include "simd/avx512.h"
#include "gemm/microkernel.h"
#include "gemm/driver.h"

namespace nerve::matmul {
namespace {

template <class T> struct Avx512Blocking;
template <> struct Avx512Blocking<float> {
  static constexpr int64_t MR = 12, NR = 32, MC = 96, KC = 256, NC = 4080;
};
template <> struct Avx512Blocking<double> {
  static constexpr int64_t MR = 12, NR = 16, MC = 48, KC = 256, NC = 4080;
};

// Packing transposes with AVX2's 8 x 8 (4 x 4) register transpose: the packing is a small
// share of the time, and NR is a multiple of that width.
struct Avx512Config : VectorKernel<simd::avx512::Lanes, Avx512Blocking> {
  template <class T> using Blocking = Avx512Blocking<T>;
  template <class T> static constexpr int64_t kTransposeWidth = simd::avx2::Lanes<T>::W;
  template <class T>
  static NERVE_INLINE void transpose(const T* const* rows, int64_t p, T* dst, int64_t dst_step) {
    simd::avx2::transpose(rows, p, dst, dst_step);
  }
};

}  // namespace

const Driver<float> avx512_f32 = Algorithm<Avx512Config>::kDriver<float>;
const Driver<double> avx512_f64 = Algorithm<Avx512Config>::kDriver<double>;

}  // namespace nerve::matmul
