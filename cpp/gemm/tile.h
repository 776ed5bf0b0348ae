// One micro-kernel call, as the algorithm (driver.h) hands it to an instruction set's
// micro-kernel (microkernel.h, kernels_baseline.cpp). Included after a target pragma: internal
// linkage (cpp/simd/README.md).
#pragma once

#include <cstdint>

namespace nerve::matmul {
namespace {

// Fully unrolls a loop over tile rows, vectors or panel lanes before scalar replacement, so every
// accumulator is a named register; otherwise gcc keeps the tile in memory and stores it each k step.
#define NERVE_UNROLL _Pragma("GCC unroll 16")

// acc (rows x cols, rows <= MR, cols <= NR) = sum over kc steps of A(r, p) * B(p, j), then
// C = alpha * acc + beta * C; beta == 0 overwrites (NaN in C ignored), and later K slices
// pass beta = 1, which adds exactly. A(r, p) is read at a[r * a_row_step + p * a_k_step] and
// B(p, j) at b[p * b_k_step + j] (packed panels: steps 1, MR and NR, fixed by the template).
// Unpacked-A kernels (A strided) read B either packed (b_k_step NR) or, with b_copy set, as a
// full NR-wide panel in place, also storing each B row to b_copy[p * NR + j]: the first row
// tile packs the panel for the others while it computes. With next_b set, each k step of a
// packed-B kernel fetches one line of next_b (advanced by next_b_step) into L2: the panel the
// next copying tile will read in place.
template <class T>
struct TileJob {
  int64_t kc;
  const T* a;
  int64_t a_row_step, a_k_step;
  const T* b;
  int64_t b_k_step;
  T* c;
  int64_t ldc, cols;
  T alpha, beta;
  T* b_copy;
  const T* next_b;
  int64_t next_b_step;
  // Finishing a Dense layer on the last K slice, while the tile is in registers:
  // C = relu(C + bias[j]) (bias null: none), the same operations as DenseEpilogue's.
  const T* bias = nullptr;
  bool relu = false;
};

// Rows of a B read in place fetched ahead into L1. At a 1 KiB row stride a panel's lines share
// 4 of L1's 64 sets (Zen 3's 32 KiB, 8 ways), half of them held by the packed copy; further
// ahead, fetched lines would evict each other before use.
constexpr int64_t kPrefetchRows = 16;

template <class T>
using MicroKernel = void (*)(const TileJob<T>& job);

// Read and write prefetch hints that compile on every architecture.
inline void fetch_l1(const void* p) { __builtin_prefetch(p, 0, 3); }
inline void fetch_l2(const void* p) { __builtin_prefetch(p, 0, 2); }

}  // namespace
}  // namespace nerve::matmul
