// The SIMD micro-kernel, written once over a Lanes<T> wrapper (cpp/simd/) and instantiated by
// each vector ISA's translation unit with its register width and tile shape:
//   VectorKernel<Lanes, Blocking>::run<T, ROWS, VECS, PACKED>(job)
// keeps a ROWS x VECS tile of accumulator vectors in registers (AVX2: 6 x 2 ymm, AVX-512:
// 12 x 2 zmm), broadcasting one A element per row and loading VECS vectors of B per k step.
// Internal linkage (cpp/simd/README.md).
#pragma once

#include <cstdint>

#include "gemm/tile.h"

namespace nerve::matmul {
namespace {

template <template <class> class Lanes, template <class> class Blocking>
struct VectorKernel {
  template <class T>
  using V = typename Lanes<T>::V;

  // A's rows in groups of three from one base pointer each: row r is
  // base[r / 3] + (r % 3) * row_step, addresses x86 forms from a base, an index and a scale.
  static constexpr int kRowsPerBase = 3;
  template <int ROWS>
  static constexpr int kBases = (ROWS + kRowsPerBase - 1) / kRowsPerBase;

  // acc += A(rows, p) * bv (one k step's B row), row r's element at
  // base[r / 3] + offset + (r % 3) * row_step.
  template <class T, int ROWS, int VECS>
  static NERVE_INLINE void fma_rows(V<T> (&acc)[ROWS][VECS], const T* const (&base)[kBases<ROWS>],
                                    int64_t offset, int64_t row_step, const V<T> (&bv)[VECS]) {
    NERVE_UNROLL for (int r = 0; r < ROWS; ++r) {
      const V<T> ar = Lanes<T>::broadcast(base[r / kRowsPerBase] + offset + (r % kRowsPerBase) * row_step);
      NERVE_UNROLL for (int v = 0; v < VECS; ++v) acc[r][v] = Lanes<T>::fmadd(ar, bv[v], acc[r][v]);
    }
  }

  template <class T, int VECS>
  static NERVE_INLINE void load_b(V<T> (&bv)[VECS], const T* b) {
    NERVE_UNROLL for (int v = 0; v < VECS; ++v) bv[v] = Lanes<T>::load(b + v * Lanes<T>::W);
  }

  template <class T, int ROWS, int VECS>
  static NERVE_INLINE void zero(V<T> (&acc)[ROWS][VECS]) {
    NERVE_UNROLL for (int r = 0; r < ROWS; ++r)
      NERVE_UNROLL for (int v = 0; v < VECS; ++v) acc[r][v] = Lanes<T>::zero();
  }

  template <class T, int ROWS, int VECS>
  static NERVE_INLINE void save(const V<T> (&acc)[ROWS][VECS], V<T>* __restrict sums) {
    NERVE_UNROLL for (int r = 0; r < ROWS; ++r)
      NERVE_UNROLL for (int v = 0; v < VECS; ++v) sums[r * VECS + v] = acc[r][v];
  }

  // How an unpacked-A kernel reads B (see TileJob).
  enum BRead { kPackedB, kCopyB, kPackedBFetchNext };

  // The k-loop over packed panels (A: MR per step, B: NR per step), sums stored to `sums`.
  // kUnroll steps per iteration: with one, the counter, pointer bumps and branch ride along
  // every FMA group; measured on Zen 3 on a hot 6x16 tile (kc 256, thread CPU time, medians
  // of 40) 65-70 GFLOP/s for one step against 78-81 for four, peak 90. It is a function of its
  // own, not inlined: inside the whole kernel (C pointers, strides, epilogue live) gcc 12
  // spilled an accumulator of the unrolled loop; alone it keeps them all in registers (check
  // with objdump: no (%rsp) access in the loop). The call and the stores are per tile.
  static constexpr int kUnroll = 4;
  template <class T, int ROWS, int VECS>
  __attribute__((noinline)) static void packed_k_loop(int64_t kc, const T* __restrict a,
                                                      const T* __restrict b, V<T>* __restrict sums) {
    constexpr int64_t MR = Blocking<T>::MR, NR = Blocking<T>::NR;
    V<T> acc[ROWS][VECS];
    zero<T>(acc);
    int64_t p = 0;
    for (; p + kUnroll <= kc; p += kUnroll) {
      NERVE_UNROLL for (int u = 0; u < kUnroll; ++u) {
        V<T> bv[VECS];
        load_b<T>(bv, b + u * NR);
        NERVE_UNROLL for (int r = 0; r < ROWS; ++r) {
          const V<T> ar = Lanes<T>::broadcast(a + u * MR + r);
          NERVE_UNROLL for (int v = 0; v < VECS; ++v) acc[r][v] = Lanes<T>::fmadd(ar, bv[v], acc[r][v]);
        }
      }
      a += kUnroll * MR;
      b += kUnroll * NR;
    }
    for (; p < kc; ++p, a += MR, b += NR) {
      V<T> bv[VECS];
      load_b<T>(bv, b);
      NERVE_UNROLL for (int r = 0; r < ROWS; ++r) {
        const V<T> ar = Lanes<T>::broadcast(a + r);
        NERVE_UNROLL for (int v = 0; v < VECS; ++v) acc[r][v] = Lanes<T>::fmadd(ar, bv[v], acc[r][v]);
      }
    }
    save<T>(acc, sums);
  }

  // One k step of an unpacked-A kernel, reading B as MODE says (see strided_k_loop).
  template <class T, int ROWS, int VECS, BRead MODE>
  static NERVE_INLINE void step(V<T> (&acc)[ROWS][VECS], const T* const (&base)[kBases<ROWS>], int64_t offset,
                                int64_t row_step, const T* b, int64_t b_step, T* copy, const T* next) {
    if constexpr (MODE == kCopyB) fetch_l1(b + kPrefetchRows * b_step);
    if constexpr (MODE == kPackedBFetchNext) fetch_l2(next);
    V<T> bv[VECS];
    load_b<T>(bv, b);
    if constexpr (MODE == kCopyB)
      NERVE_UNROLL for (int v = 0; v < VECS; ++v) Lanes<T>::store(copy + v * Lanes<T>::W, bv[v]);
    fma_rows<T, ROWS, VECS>(acc, base, offset, row_step, bv);
  }

  // The k-loop with A read in place (rows a_row_step apart, a_k_step per step) and B rows
  // b_k_step apart, unrolled and kept apart from the epilogue like packed_k_loop. With kCopyB
  // (job.b_copy set) B is an NR-wide panel read in place from its row-major store, copied to
  // b_copy on the way while a row kPrefetchRows ahead is fetched: at a 1 KiB row stride a
  // panel's lines all fall into a few L1 sets, so without the copy the other row tiles would
  // read every B row from L2. With kPackedBFetchNext a line of the next panel is fetched into
  // L2 each step. A's k step is a template constant 1 when A is stored untransposed (the usual
  // case): with a run-time step, gcc 12 kept the row x step addresses of the unrolled body on
  // the stack. A transposed A runs one step per iteration. Loops that copy or fetch run 2
  // steps per iteration: with 4, gcc 12 spilled accumulators (AVX2).
  template <class T, int ROWS, int VECS, BRead MODE, bool UNIT_K>
  __attribute__((noinline)) static void strided_k_loop(const TileJob<T>& job, V<T>* __restrict sums) {
    constexpr int64_t NR = Blocking<T>::NR;
    constexpr int BASES = kBases<ROWS>;
    constexpr bool COPY = MODE == kCopyB, FETCH = MODE == kPackedBFetchNext;
    constexpr int kSteps = !UNIT_K ? 1 : MODE == kPackedB ? kUnroll : 2;
    const int64_t kc = job.kc, row_step = job.a_row_step, k_step = UNIT_K ? 1 : job.a_k_step;
    const int64_t b_step = COPY ? job.b_k_step : NR;  // a panel packed in the workspace otherwise
    const int64_t next_step = job.next_b_step;
    const T* base[BASES];
    NERVE_UNROLL for (int g = 0; g < BASES; ++g) base[g] = job.a + g * kRowsPerBase * row_step;
    const T* b = job.b;
    T* copy = job.b_copy;
    const T* next = job.next_b;
    V<T> acc[ROWS][VECS];
    zero<T>(acc);
    int64_t p = 0;
    for (; p + kSteps <= kc; p += kSteps) {
      NERVE_UNROLL for (int u = 0; u < kSteps; ++u)
        step<T, ROWS, VECS, MODE>(acc, base, u * k_step, row_step, b + u * b_step, b_step,
                                  COPY ? copy + u * NR : nullptr, FETCH ? next + u * next_step : nullptr);
      NERVE_UNROLL for (int g = 0; g < BASES; ++g) {
        base[g] += kSteps * k_step;
        asm("" : "+r"(base[g]));  // one register per base, or gcc derives all rows from one and spills
      }
      b += kSteps * b_step;
      if constexpr (COPY) copy += kSteps * NR;
      if constexpr (FETCH) next += kSteps * next_step;
    }
    for (; p < kc; ++p) {
      step<T, ROWS, VECS, MODE>(acc, base, 0, row_step, b, b_step, copy, next);
      NERVE_UNROLL for (int g = 0; g < BASES; ++g) base[g] += k_step;
      b += b_step;
      if constexpr (COPY) copy += NR;
      if constexpr (FETCH) next += next_step;
    }
    save<T>(acc, sums);
  }

  template <class T, int ROWS, int VECS, bool UNIT_K>
  static NERVE_INLINE void strided_loop_for(const TileJob<T>& job, V<T>* sums) {
    if (job.b_copy) {
      strided_k_loop<T, ROWS, VECS, kCopyB, UNIT_K>(job, sums);
    } else if (job.next_b) {
      strided_k_loop<T, ROWS, VECS, kPackedBFetchNext, UNIT_K>(job, sums);
    } else {
      strided_k_loop<T, ROWS, VECS, kPackedB, UNIT_K>(job, sums);
    }
  }

  template <class T, int ROWS, int VECS, bool PACKED>
  static void run(const TileJob<T>& job) {
    constexpr int W = Lanes<T>::W;
    NERVE_UNROLL for (int r = 0; r < ROWS; ++r) {  // C's lines arrive while the k-loop runs
      fetch_l1(job.c + r * job.ldc);
      fetch_l1(job.c + r * job.ldc + VECS * W - 1);
    }
    V<T> acc[ROWS][VECS];
    if constexpr (PACKED) {
      packed_k_loop<T, ROWS, VECS>(job.kc, job.a, job.b, &acc[0][0]);
    } else if (job.a_k_step == 1) {
      strided_loop_for<T, ROWS, VECS, true>(job, &acc[0][0]);
    } else {
      strided_loop_for<T, ROWS, VECS, false>(job, &acc[0][0]);
    }
    if (job.bias || job.relu) {  // the Dense finish as a code path of its own: no tests per row
      update_tile<T, ROWS, VECS, true>(acc, job);
    } else {
      update_tile<T, ROWS, VECS, false>(acc, job);
    }
  }

  // C = alpha * acc + beta * C on the tile (beta == 0: C is not read). All of a column's
  // rows are loaded before any is stored: with ldc * sizeof(T) a multiple of 4 KiB (n = 1024,
  // 2048) a load issued after a store to the row above matches its address bits 11:0 and
  // waits for it (4K aliasing); at n = 1024 the epilogue took 5.6% of the time instead of 1.9%.
  // Edge tiles use masked loads and stores, outside the k-loop.
  template <class T, int ROWS, int VECS, bool FINISH>
  static NERVE_INLINE void update_tile(const V<T> (&acc)[ROWS][VECS], const TileJob<T>& job) {
    using L = Lanes<T>;
    const int64_t ldc = job.ldc, cols = job.cols;
    const T beta = job.beta;
    const T* bias_row = FINISH ? job.bias : nullptr;  // locals: C's stores might alias job for gcc
    const bool relu = FINISH && job.relu;
    const V<T> va = L::set1(job.alpha), vb = L::set1(beta);
    const bool full = cols == VECS * L::W;
    NERVE_UNROLL for (int v = 0; v < VECS; ++v) {
      T* out = job.c + v * L::W;
      const auto m = L::first(cols - v * L::W);
      V<T> old[ROWS];
      if (beta != T(0))
        NERVE_UNROLL for (int r = 0; r < ROWS; ++r) old[r] = full ? L::load(out + r * ldc) : L::load(out + r * ldc, m);
      else
        NERVE_UNROLL for (int r = 0; r < ROWS; ++r) old[r] = L::zero();
      const V<T> bias = !FINISH || !bias_row ? L::zero() : full ? L::load(bias_row + v * L::W) : L::load(bias_row + v * L::W, m);
      NERVE_UNROLL for (int r = 0; r < ROWS; ++r) {
        V<T> result = beta == T(0) ? L::mul(va, acc[r][v]) : L::fmadd(vb, old[r], L::mul(va, acc[r][v]));
        if (FINISH && bias_row) result = L::add(result, bias);
        if (FINISH && relu) result = L::max(L::zero(), result);  // x < 0 ? 0 : x, NaN kept, as Relu's
        if (full) {
          L::store(out + r * ldc, result);
        } else {
          L::store(out + r * ldc, m, result);
        }
      }
    }
  }
};

}  // namespace
}  // namespace nerve::matmul
