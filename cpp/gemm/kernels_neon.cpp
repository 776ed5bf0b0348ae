// The GEMM for aarch64 NEON: 8 x 8 float (8 x 4 double) tiles of 16 q-register accumulators
// (the micro-kernel template keeps NR at two vectors). gcc turns the broadcasts into vector
// loads of A and FMAs by lane, so a k step holds 16 accumulators, 2 vectors of B and 2 (4) of
// A. 16 chains cover the FMA latency (4 cycles x 2 pipes on Neoverse N1, x 4 on V1). 12 rows
// (24 accumulators) would fit the 32 registers on paper, but gcc 12 spilled 7-22 accumulators
// per k-loop there and none at 8 (objdump: no [sp] access in the loops). Blocking not measured
// on ARM hardware: A's MC x KC block (96 KiB) in L2, B's KC x NR micro-panel (8 KiB) in L1.
// ASIMD is the aarch64 baseline: no target pragma; the unnamed namespaces keep it internal.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <utility>

#include "cpu.h"
#include "gemm/operands.h"
#include "matmul.h"
#include "parallel.h"

#include "simd/neon.h"
#include "gemm/microkernel.h"
#include "gemm/driver.h"

namespace nerve::matmul {
namespace {

template <class T> struct NeonBlocking;
template <> struct NeonBlocking<float> {
  static constexpr int64_t MR = 8, NR = 8, MC = 96, KC = 256, NC = 4080;
};
template <> struct NeonBlocking<double> {
  static constexpr int64_t MR = 8, NR = 4, MC = 48, KC = 256, NC = 4080;
};

// Packing copies element by element: no register transpose for NEON yet.
struct NeonConfig : VectorKernel<simd::neon::Lanes, NeonBlocking> {
  template <class T> using Blocking = NeonBlocking<T>;
  template <class T> static constexpr int64_t kTransposeWidth = 0;
  template <class T>
  static void transpose(const T* const*, int64_t, T*, int64_t) {}
};

}  // namespace

const Driver<float> neon_f32 = Algorithm<NeonConfig>::kDriver<float>;
const Driver<double> neon_f64 = Algorithm<NeonConfig>::kDriver<double>;

}  // namespace nerve::matmul
