// Matrix products (contracts in matmul.h).
//
// gemm is a Goto/BLIS-style blocked product:
//   for each (jc: NC columns of C) for each (pc: KC-deep slice of the reduction)
//     pack op(B)[pc, jc] into NR-column micro-panels and op(A)[:, pc] into MR-row micro-panels
//     (transposes are absorbed here), then for each output unit (MC rows x a column group)
//     run the MR x NR register-blocked micro-kernel over every tile of the unit.
// Batch-sized M (the training case) never packs A: the micro-kernel reads it in place with
// row/k strides. Each B panel is packed into an L1-resident stack buffer, by the first row
// tile as it reads an untransposed B in place (a 1 KiB row stride would keep it out of L1),
// else just before use. No workspace is allocated and no OpenMP region starts below
// kGemmSerialBelow flops. A Dense layer's bias and relu are applied to the register tile.
// Threads only ever split output tiles; every element gets the same K blocking and the same
// micro-kernel whatever the thread count, so results are bitwise thread-count independent.
#include "matmul.h"

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "cpu.h"
#include "parallel.h"

namespace nerve {

namespace {

// Fully unrolls a loop over tile rows, vectors or panel lanes before scalar replacement, so every
// accumulator is a named register; otherwise gcc keeps the tile in memory and stores it each k step.
#define NERVE_UNROLL _Pragma("GCC unroll 16")

// Micro-tile MR x NR (NR = two AVX2 vectors) and cache blocking for Zen 3 (BLIS's values):
// A's MC x KC block stays in L2 (~144 KiB), B's KC x NR micro-panel in L1 (16 KiB),
// B's KC x NC block in L3.
template <class T> struct Blocking;
template <> struct Blocking<float> {
  static constexpr int64_t MR = 6, NR = 16, MC = 144, KC = 256, NC = 4080;
};
template <> struct Blocking<double> {
  static constexpr int64_t MR = 6, NR = 8, MC = 72, KC = 256, NC = 4080;
};
constexpr int kMaxRows = 6;

// M up to this runs the unpacked-A path: A (M x KC) is read from L2 in place, cheaper than packing.
// An untransposed A gets the unrolled strided kernel, and up to 128 rows (a batch of 128) it
// beats the packed path: measured 128x128x256 0.93-0.99 -> 1.10-1.14 x OpenBLAS, 128x256x784
// 0.95-0.99 -> 0.99-1.00 (thread CPU time, 1 thread).
constexpr int64_t kUnpackedAMaxRows = 96, kUnpackedAMaxRowsUntransposed = 128;
// Column groups per call in the unpacked-A path, and output units per K slice in the packed
// path: enough for dynamic balancing on two cores, few enough to keep per-unit overhead low.
constexpr int64_t kTargetUnits = 8;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Splits n into ceil(n / max_block) near-equal blocks, each a multiple of `multiple`.
int64_t balanced_block(int64_t n, int64_t max_block, int64_t multiple) {
  return round_up(ceil_div(n, ceil_div(n, max_block)), multiple);
}

// One micro-kernel call: acc (rows x cols, rows <= MR, cols <= NR) = sum over kc steps of
// A(r, p) * B(p, j), then C = alpha * acc + beta * C; beta == 0 overwrites (NaN in C
// ignored), and later K slices pass beta = 1, which adds exactly. A(r, p) is read at
// a[r * a_row_step + p * a_k_step] and B(p, j) at b[p * b_k_step + j] (packed panels: steps
// 1, MR and NR, fixed by the template). Unpacked-A kernels (A strided) read B either packed
// (b_k_step NR) or, with b_copy set, as a full NR-wide panel in place, also storing each B row
// to b_copy[p * NR + j]: the first row tile packs the panel for the others while it computes.
// With next_b set, each k step of a packed-B kernel fetches one line of next_b (advanced by
// next_b_step) into L2: the panel the next copying tile will read in place.
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
// 4 of L1's 64 sets, 8 ways each, half of them held by the packed copy; further ahead, fetched
// lines would evict each other before use.
constexpr int64_t kPrefetchRows = 16;
template <class T>
using MicroKernel = void (*)(const TileJob<T>& job);

// ---- AVX2 + FMA micro-kernel: ROWS x VECS vectors of accumulators (6 x 2 = 12 ymm) ----

template <class T> struct Avx2;
template <> struct Avx2<float> {
  using V = __m256;
  static constexpr int W = 8;
  NERVE_TARGET_AVX2 static NERVE_INLINE V zero() { return _mm256_setzero_ps(); }
  NERVE_TARGET_AVX2 static NERVE_INLINE V set1(float x) { return _mm256_set1_ps(x); }
  NERVE_TARGET_AVX2 static NERVE_INLINE V broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  NERVE_TARGET_AVX2 static NERVE_INLINE V load(const float* p) { return _mm256_loadu_ps(p); }
  NERVE_TARGET_AVX2 static NERVE_INLINE void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  NERVE_TARGET_AVX2 static NERVE_INLINE V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  NERVE_TARGET_AVX2 static NERVE_INLINE V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  NERVE_TARGET_AVX2 static NERVE_INLINE V add(V a, V b) { return _mm256_add_ps(a, b); }
  NERVE_TARGET_AVX2 static NERVE_INLINE V max(V a, V b) { return _mm256_max_ps(a, b); }  // b if NaN
  // Lanes [0, n) set.
  NERVE_TARGET_AVX2 static NERVE_INLINE __m256i mask(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  NERVE_TARGET_AVX2 static NERVE_INLINE V load(const float* p, __m256i m) { return _mm256_maskload_ps(p, m); }
  NERVE_TARGET_AVX2 static NERVE_INLINE void store(float* p, __m256i m, V v) { _mm256_maskstore_ps(p, m, v); }
  // dst[q * dst_step + l] = rows[l][p + q] for l, q < 8: an 8 x 8 transpose in registers.
  NERVE_TARGET_AVX2 static NERVE_INLINE void transpose(const float* const* rows, int64_t p, float* dst,
                                                       int64_t dst_step) {
    V r[8], t[8];
    NERVE_UNROLL for (int l = 0; l < 8; ++l) r[l] = load(rows[l] + p);
    NERVE_UNROLL for (int l = 0; l < 8; l += 2) {
      t[l] = _mm256_unpacklo_ps(r[l], r[l + 1]);      // k 0 1 4 5 of rows l, l+1 interleaved
      t[l + 1] = _mm256_unpackhi_ps(r[l], r[l + 1]);  // k 2 3 6 7
    }
    NERVE_UNROLL for (int l = 0; l < 8; l += 4) {  // rows l..l+3 of k 0 4 | 1 5 | 2 6 | 3 7
      r[l] = _mm256_shuffle_ps(t[l], t[l + 2], _MM_SHUFFLE(1, 0, 1, 0));
      r[l + 1] = _mm256_shuffle_ps(t[l], t[l + 2], _MM_SHUFFLE(3, 2, 3, 2));
      r[l + 2] = _mm256_shuffle_ps(t[l + 1], t[l + 3], _MM_SHUFFLE(1, 0, 1, 0));
      r[l + 3] = _mm256_shuffle_ps(t[l + 1], t[l + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    NERVE_UNROLL for (int q = 0; q < 4; ++q) {
      store(dst + q * dst_step, _mm256_permute2f128_ps(r[q], r[q + 4], 0x20));
      store(dst + (q + 4) * dst_step, _mm256_permute2f128_ps(r[q], r[q + 4], 0x31));
    }
  }
};
template <> struct Avx2<double> {
  using V = __m256d;
  static constexpr int W = 4;
  NERVE_TARGET_AVX2 static NERVE_INLINE V zero() { return _mm256_setzero_pd(); }
  NERVE_TARGET_AVX2 static NERVE_INLINE V set1(double x) { return _mm256_set1_pd(x); }
  NERVE_TARGET_AVX2 static NERVE_INLINE V broadcast(const double* p) { return _mm256_broadcast_sd(p); }
  NERVE_TARGET_AVX2 static NERVE_INLINE V load(const double* p) { return _mm256_loadu_pd(p); }
  NERVE_TARGET_AVX2 static NERVE_INLINE void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  NERVE_TARGET_AVX2 static NERVE_INLINE V fmadd(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  NERVE_TARGET_AVX2 static NERVE_INLINE V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  NERVE_TARGET_AVX2 static NERVE_INLINE V add(V a, V b) { return _mm256_add_pd(a, b); }
  NERVE_TARGET_AVX2 static NERVE_INLINE V max(V a, V b) { return _mm256_max_pd(a, b); }  // b if NaN
  NERVE_TARGET_AVX2 static NERVE_INLINE __m256i mask(int64_t n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
  }
  NERVE_TARGET_AVX2 static NERVE_INLINE V load(const double* p, __m256i m) { return _mm256_maskload_pd(p, m); }
  NERVE_TARGET_AVX2 static NERVE_INLINE void store(double* p, __m256i m, V v) { _mm256_maskstore_pd(p, m, v); }
  // dst[q * dst_step + l] = rows[l][p + q] for l, q < 4: a 4 x 4 transpose in registers.
  NERVE_TARGET_AVX2 static NERVE_INLINE void transpose(const double* const* rows, int64_t p, double* dst,
                                                       int64_t dst_step) {
    V r[4];
    NERVE_UNROLL for (int l = 0; l < 4; ++l) r[l] = load(rows[l] + p);
    const V t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);  // k 0 2 | 1 3
    const V t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    store(dst, _mm256_permute2f128_pd(t0, t2, 0x20));
    store(dst + dst_step, _mm256_permute2f128_pd(t1, t3, 0x20));
    store(dst + 2 * dst_step, _mm256_permute2f128_pd(t0, t2, 0x31));
    store(dst + 3 * dst_step, _mm256_permute2f128_pd(t1, t3, 0x31));
  }
};

struct Avx2Kernel {
  template <class T>
  using V = typename Avx2<T>::V;

  // acc += A(rows, p) * bv (one k step's B row); A rows are row_step apart, and a3 is row 3
  // (a + 3 * row_step): each row's address is then one base + row_step * {0, 1, 2} + a
  // constant, which keeps the strided loop's addresses in three registers.
  template <class T, int ROWS, int VECS>
  NERVE_TARGET_AVX2 static NERVE_INLINE void fma_rows(V<T> (&acc)[ROWS][VECS], const T* a, const T* a3,
                                                      int64_t row_step, const V<T> (&bv)[VECS]) {
    NERVE_UNROLL for (int r = 0; r < ROWS; ++r) {
      const V<T> ar = Avx2<T>::broadcast((r < 3 ? a : a3) + (r % 3) * row_step);
      NERVE_UNROLL for (int v = 0; v < VECS; ++v) acc[r][v] = Avx2<T>::fmadd(ar, bv[v], acc[r][v]);
    }
  }

  // acc += A(rows, p) * B(p, cols) for one k step.
  template <class T, int ROWS, int VECS>
  NERVE_TARGET_AVX2 static NERVE_INLINE void step(V<T> (&acc)[ROWS][VECS], const T* a, int64_t row_step,
                                                  const T* b) {
    V<T> bv[VECS];
    NERVE_UNROLL for (int v = 0; v < VECS; ++v) bv[v] = Avx2<T>::load(b + v * Avx2<T>::W);
    fma_rows<T, ROWS, VECS>(acc, a, a + 3 * row_step, row_step, bv);
  }

  // How an unpacked-A kernel reads B (see TileJob).
  enum BRead { kPackedB, kCopyB, kPackedBFetchNext };

  // The same, reading B as MODE says: with kCopyB the B row (read in place, rows b_step apart)
  // also goes to `copy` while a row kPrefetchRows ahead is fetched; with kPackedBFetchNext a
  // line of the next panel (`next`) is fetched into L2.
  template <class T, int ROWS, int VECS, BRead MODE>
  NERVE_TARGET_AVX2 static NERVE_INLINE void copying_step(V<T> (&acc)[ROWS][VECS], const T* a, const T* a3,
                                                          int64_t row_step, const T* b, int64_t b_step, T* copy,
                                                          const T* next) {
    constexpr bool COPY = MODE == kCopyB;
    if constexpr (COPY) _mm_prefetch(reinterpret_cast<const char*>(b + kPrefetchRows * b_step), _MM_HINT_T0);
    if constexpr (MODE == kPackedBFetchNext) _mm_prefetch(reinterpret_cast<const char*>(next), _MM_HINT_T1);
    V<T> bv[VECS];
    NERVE_UNROLL for (int v = 0; v < VECS; ++v) bv[v] = Avx2<T>::load(b + v * Avx2<T>::W);
    if constexpr (COPY) NERVE_UNROLL for (int v = 0; v < VECS; ++v) Avx2<T>::store(copy + v * Avx2<T>::W, bv[v]);
    fma_rows<T, ROWS, VECS>(acc, a, a3, row_step, bv);
  }

  // The k-loop over packed panels (A: MR per step, B: NR per step), sums stored to `sums`.
  // kUnroll steps per iteration: with one, the counter, pointer bumps and branch ride along
  // every 12-FMA group; measured here on a hot 6x16 tile (kc 256, thread CPU time, medians of
  // 40) 65-70 GFLOP/s for one step against 78-81 for four, peak 90. It is a function of its
  // own, not inlined: inside the whole kernel (C pointers, strides, epilogue live) gcc 12
  // spilled an accumulator of the unrolled loop; alone it keeps all 12 in registers (check
  // with objdump: no (%rsp) access in the loop). The call and the 12 stores are per tile.
  static constexpr int kUnroll = 4;
  template <class T, int ROWS, int VECS>
  NERVE_TARGET_AVX2 __attribute__((noinline)) static void packed_k_loop(int64_t kc, const T* __restrict a,
                                                                       const T* __restrict b,
                                                                       V<T>* __restrict sums) {
    constexpr int64_t MR = Blocking<T>::MR, NR = Blocking<T>::NR;
    V<T> acc[ROWS][VECS];
    NERVE_UNROLL for (int r = 0; r < ROWS; ++r)
      NERVE_UNROLL for (int v = 0; v < VECS; ++v) acc[r][v] = Avx2<T>::zero();
    int64_t p = 0;
    for (; p + kUnroll <= kc; p += kUnroll) {
      NERVE_UNROLL for (int u = 0; u < kUnroll; ++u) step<T, ROWS, VECS>(acc, a + u * MR, 1, b + u * NR);
      a += kUnroll * MR;
      b += kUnroll * NR;
    }
    for (; p < kc; ++p, a += MR, b += NR) step<T, ROWS, VECS>(acc, a, 1, b);
    NERVE_UNROLL for (int r = 0; r < ROWS; ++r)
      NERVE_UNROLL for (int v = 0; v < VECS; ++v) sums[r * VECS + v] = acc[r][v];
  }

  // The k-loop with A read in place (rows a_row_step apart, a_k_step per step) and B rows
  // b_k_step apart, unrolled and kept apart from the epilogue like packed_k_loop. With COPY
  // (job.b_copy set) B is an NR-wide panel read in place from its row-major store, which is
  // copied to b_copy on the way: at a 1 KiB row stride a panel's lines all fall into 4 of
  // L1's 64 sets, so without the copy the other row tiles would read every B row from L2.
  // A's k step is a template constant 1 when A is stored untransposed (the usual case): with a
  // run-time step, gcc 12 kept the 24 row x step addresses of the unrolled body on the stack.
  // A transposed A runs one step per iteration.
  // Loops that copy or fetch run 2 steps per iteration: with 4, gcc 12 spilled accumulators.
  template <class T, int ROWS, int VECS, BRead MODE, bool UNIT_K>
  NERVE_TARGET_AVX2 __attribute__((noinline)) static void strided_k_loop(const TileJob<T>& job,
                                                                        V<T>* __restrict sums) {
    constexpr int64_t NR = Blocking<T>::NR;
    constexpr bool COPY = MODE == kCopyB, FETCH = MODE == kPackedBFetchNext;
    constexpr int kUnroll = !UNIT_K ? 1 : MODE == kPackedB ? Avx2Kernel::kUnroll : 2;
    const int64_t kc = job.kc, row_step = job.a_row_step, k_step = UNIT_K ? 1 : job.a_k_step;
    const int64_t b_step = COPY ? job.b_k_step : NR;  // a panel packed on the stack otherwise
    const int64_t next_step = job.next_b_step;
    const T* a = job.a;
    const T* a3 = a + 3 * row_step;
    const T* b = job.b;
    T* copy = job.b_copy;
    const T* next = job.next_b;
    V<T> acc[ROWS][VECS];
    NERVE_UNROLL for (int r = 0; r < ROWS; ++r)
      NERVE_UNROLL for (int v = 0; v < VECS; ++v) acc[r][v] = Avx2<T>::zero();
    int64_t p = 0;
    for (; p + kUnroll <= kc; p += kUnroll) {
      NERVE_UNROLL for (int u = 0; u < kUnroll; ++u)
        copying_step<T, ROWS, VECS, MODE>(acc, a + u * k_step, a3 + u * k_step, row_step, b + u * b_step, b_step,
                                           COPY ? copy + u * NR : nullptr,
                                           FETCH ? next + u * next_step : nullptr);
      a += kUnroll * k_step;
      a3 += kUnroll * k_step;
      asm("" : "+r"(a), "+r"(a3));  // two pointers, or gcc derives all rows from one and spills
      b += kUnroll * b_step;
      if constexpr (COPY) copy += kUnroll * NR;
      if constexpr (FETCH) next += kUnroll * next_step;
    }
    for (; p < kc; ++p) {
      copying_step<T, ROWS, VECS, MODE>(acc, a, a3, row_step, b, b_step, copy, next);
      a += k_step;
      a3 += k_step;
      b += b_step;
      if constexpr (COPY) copy += NR;
      if constexpr (FETCH) next += next_step;
    }
    NERVE_UNROLL for (int r = 0; r < ROWS; ++r)
      NERVE_UNROLL for (int v = 0; v < VECS; ++v) sums[r * VECS + v] = acc[r][v];
  }

  template <class T, int ROWS, int VECS, bool UNIT_K>
  NERVE_TARGET_AVX2 static NERVE_INLINE void strided_loop_for(const TileJob<T>& job, V<T>* sums) {
    if (job.b_copy) {
      strided_k_loop<T, ROWS, VECS, kCopyB, UNIT_K>(job, sums);
    } else if (job.next_b) {
      strided_k_loop<T, ROWS, VECS, kPackedBFetchNext, UNIT_K>(job, sums);
    } else {
      strided_k_loop<T, ROWS, VECS, kPackedB, UNIT_K>(job, sums);
    }
  }

  template <class T, int ROWS, int VECS, bool PACKED>
  NERVE_TARGET_AVX2 static void run(const TileJob<T>& job) {
    using O = Avx2<T>;
    const int64_t ldc = job.ldc;
    T* c = job.c;
    NERVE_UNROLL for (int r = 0; r < ROWS; ++r) {  // C's lines arrive while the k-loop runs
      _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + VECS * O::W - 1), _MM_HINT_T0);
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
  template <class T, int ROWS, int VECS, bool FINISH>
  NERVE_TARGET_AVX2 static NERVE_INLINE void update_tile(const V<T> (&acc)[ROWS][VECS], const TileJob<T>& job) {
    using O = Avx2<T>;
    const int64_t ldc = job.ldc, cols = job.cols;
    const T beta = job.beta;
    const T* bias_row = FINISH ? job.bias : nullptr;  // locals: C's stores might alias job for gcc
    const bool relu = FINISH && job.relu;
    const V<T> va = O::set1(job.alpha), vb = O::set1(beta);
    const bool full = cols == VECS * O::W;
    NERVE_UNROLL for (int v = 0; v < VECS; ++v) {
      T* out = job.c + v * O::W;
      const __m256i m = O::mask(cols - v * O::W);  // edge tiles: masked, outside the k-loop
      V<T> old[ROWS];
      if (beta != T(0))
        NERVE_UNROLL for (int r = 0; r < ROWS; ++r) old[r] = full ? O::load(out + r * ldc) : O::load(out + r * ldc, m);
      const V<T> bias = !FINISH || !bias_row ? O::zero() : full ? O::load(bias_row + v * O::W) : O::load(bias_row + v * O::W, m);
      NERVE_UNROLL for (int r = 0; r < ROWS; ++r) {
        V<T> result = beta == T(0) ? O::mul(va, acc[r][v]) : O::fmadd(vb, old[r], O::mul(va, acc[r][v]));
        if (FINISH && bias_row) result = O::add(result, bias);
        if (FINISH && relu) result = O::max(O::zero(), result);  // x < 0 ? 0 : x, NaN kept, as Relu's
        if (full) {
          O::store(out + r * ldc, result);
        } else {
          O::store(out + r * ldc, m, result);
        }
      }
    }
  }
};

// ---- Portable micro-kernel: the same tile in plain C++ (the compiler vectorizes it) ----

struct BaselineKernel {
  template <class T, int ROWS, int VECS, bool PACKED>
  static void run(const TileJob<T>& job) {
    constexpr int64_t NR = Blocking<T>::NR;
    constexpr int COLS = static_cast<int>(NR / 2) * VECS;
    const int64_t row_step = PACKED ? 1 : job.a_row_step;
    const int64_t k_step = PACKED ? Blocking<T>::MR : job.a_k_step;
    const int64_t b_step = PACKED ? NR : job.b_k_step;
    const T *a = job.a, *b = job.b;
    T acc[ROWS][COLS] = {};
    for (int64_t p = 0; p < job.kc; ++p) {
      if (job.b_copy) std::memcpy(job.b_copy + p * NR, b, sizeof(T) * NR);
      for (int r = 0; r < ROWS; ++r) {
        const T ar = a[r * row_step];
        for (int j = 0; j < COLS; ++j) acc[r][j] += ar * b[j];
      }
      a += k_step;
      b += b_step;
    }
    const T alpha = job.alpha, beta = job.beta;
    for (int r = 0; r < ROWS; ++r)
      for (int64_t j = 0; j < job.cols; ++j) {
        T& out = job.c[r * job.ldc + j];
        T result = beta == T(0) ? alpha * acc[r][j] : alpha * acc[r][j] + beta * out;
        if (job.bias) result += job.bias[j];
        if (job.relu) result = result < T(0) ? T(0) : result;
        out = result;
      }
  }
};

// Micro-kernels of one instruction set, by rows (1..MR) and vectors per row (1..2): edge
// tiles run a smaller kernel instead of computing zero padding.
template <class T>
struct KernelTable {
  std::array<std::array<MicroKernel<T>, 2>, kMaxRows> packed, strided;
  MicroKernel<T> get(bool packed_a, int64_t rows, int64_t cols) const {
    const int vecs = cols > Blocking<T>::NR / 2 ? 2 : 1;
    return (packed_a ? packed : strided)[rows - 1][vecs - 1];
  }
};

template <class T, class Impl, bool PACKED, size_t... R>
constexpr std::array<std::array<MicroKernel<T>, 2>, kMaxRows> kernel_rows(std::index_sequence<R...>) {
  return {{{{&Impl::template run<T, int(R) + 1, 1, PACKED>,
             &Impl::template run<T, int(R) + 1, 2, PACKED>}}...}};
}

template <class T, class Impl>
constexpr KernelTable<T> make_table() {
  static_assert(Blocking<T>::MR == kMaxRows, "table rows follow MR");
  return {kernel_rows<T, Impl, true>(std::make_index_sequence<kMaxRows>{}),
          kernel_rows<T, Impl, false>(std::make_index_sequence<kMaxRows>{})};
}

template <class T>
const KernelTable<T>& kernels() {
  static constexpr KernelTable<T> avx2 = make_table<T, Avx2Kernel>();
  static constexpr KernelTable<T> baseline = make_table<T, BaselineKernel>();
  return use_avx2() ? avx2 : baseline;
}

// ---- Operands and packing ----

// op(A) (M x K) and op(B) (K x N) as stored, with their transposes.
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
  // Dense layer finish run by the micro-kernel on the last K slice (see TileJob).
  const T* bias = nullptr;
  bool relu = false;

  // Address of op(A)(i, p) and the element steps along i and along p.
  const T* a_at(int64_t i, int64_t p) const { return trans_a ? A + p * lda + i : A + i * lda + p; }
  int64_t a_row_step() const { return trans_a ? 1 : lda; }
  int64_t a_k_step() const { return trans_a ? lda : 1; }
};

// An operand as packing sees it: X(lane, p), lanes across a panel (A's rows, B's columns), p
// along K. k_contiguous: X(i, p) = data[i * ld + p], else data[p * ld + i].
template <class T>
struct PanelSource {
  const T* data;
  int64_t ld;
  bool k_contiguous;
};
template <class T> PanelSource<T> a_source(const Operands<T>& op) { return {op.A, op.lda, !op.trans_a}; }
template <class T> PanelSource<T> b_source(const Operands<T>& op) { return {op.B, op.ldb, op.trans_b}; }

// Stored row p0 + p (lane-contiguous source) across lanes [i0, i0 + n) into consecutive R-lane
// panels of a kc-deep slice: dst[(i / R) * R * kc + p * R + i % R], the last panel zero-padded.
// Reading whole rows in order keeps the hardware prefetcher and the TLB effective.
template <int64_t R, class T>
void pack_row_across_panels(const PanelSource<T>& x, int64_t i0, int64_t n, int64_t p0, int64_t p,
                            int64_t kc, T* dst) {
  const T* src = x.data + (p0 + p) * x.ld + i0;
  for (int64_t q = 0; q * R < n; ++q) {
    const int64_t lanes = std::min(R, n - q * R);
    T* out = dst + q * R * kc + p * R;
    if (lanes == R) {
      std::memcpy(out, src + q * R, sizeof(T) * R);
      continue;
    }
    for (int64_t r = 0; r < lanes; ++r) out[r] = src[q * R + r];
    for (int64_t r = lanes; r < R; ++r) out[r] = T(0);
  }
}

// dst[p * R + r] = src[r][p] for p in [p_begin, kc): R rows of a k-contiguous source, one
// element at a time. Each line's first step also fetches the next panel's rows (ld further
// on): short runs the hardware prefetcher learns late.
template <int64_t R, class T>
void pack_transposed(const T* const* src, int64_t ld, int64_t p_begin, int64_t kc, T* dst) {
  constexpr int64_t kLine = 64 / sizeof(T);
  for (int64_t p = p_begin; p < kc; ++p) {
    if (p % kLine == 0)
      NERVE_UNROLL for (int64_t r = 0; r < R; ++r)
        _mm_prefetch(reinterpret_cast<const char*>(src[r] + R * ld + p), _MM_HINT_T0);
    NERVE_UNROLL for (int64_t r = 0; r < R; ++r) dst[p * R + r] = src[r][p];
  }
}

// The same with W x W register transposes (W = vector lanes) for whole blocks of W steps: the
// transposed B of dX = dZ W^T was packed at ~1 element per cycle, a third of the product's time
// at batch 32.
template <int64_t R, class T>
NERVE_TARGET_AVX2 void pack_transposed_avx2(const T* const* src, int64_t ld, int64_t kc, T* dst) {
  constexpr int64_t W = Avx2<T>::W, kLine = 64 / sizeof(T);
  int64_t p = 0;
  for (; p + W <= kc; p += W) {
    if (p % kLine == 0)
      NERVE_UNROLL for (int64_t r = 0; r < R; ++r)
        _mm_prefetch(reinterpret_cast<const char*>(src[r] + R * ld + p), _MM_HINT_T0);
    NERVE_UNROLL for (int64_t l = 0; l < R; l += W) Avx2<T>::transpose(src + l, p, dst + p * R + l, R);
  }
  pack_transposed<R>(src, ld, p, kc, dst);
}

// One panel: lanes [i0, i0 + lanes) of X over p in [p0, p0 + kc) into dst[p * R + r],
// zero-padded to R lanes so vector loads of B panels read defined values.
template <int64_t R, class T>
void pack_panel(const PanelSource<T>& x, int64_t i0, int64_t lanes, int64_t p0, int64_t kc, T* dst) {
  if (!x.k_contiguous) {
    for (int64_t p = 0; p < kc; ++p) {  // one line per stored row: fetch rows ahead
      _mm_prefetch(reinterpret_cast<const char*>(x.data + (p0 + p + kPrefetchRows) * x.ld + i0), _MM_HINT_T0);
      pack_row_across_panels<R>(x, i0, lanes, p0, p, kc, dst);
    }
    return;
  }
  const T* src[R];  // lanes past `lanes` repeat the last row; their values are zeroed below
  for (int64_t r = 0; r < R; ++r) src[r] = x.data + (i0 + std::min(r, lanes - 1)) * x.ld + p0;
  if constexpr (R % Avx2<T>::W == 0) {
    if (use_avx2()) {
      pack_transposed_avx2<R>(src, x.ld, kc, dst);
    } else {
      pack_transposed<R>(src, x.ld, 0, kc, dst);
    }
  } else {
    pack_transposed<R>(src, x.ld, 0, kc, dst);
  }
  for (int64_t p = 0; p < kc; ++p)
    for (int64_t r = lanes; r < R; ++r) dst[p * R + r] = T(0);
}

// Packing buffers, kept per calling thread so repeated calls neither allocate nor page-fault.
// Grown (never inside a parallel region) when a larger product comes along.
template <class T>
T* workspace(int64_t count) {
  struct Buffer {
    void* data = nullptr;
    size_t bytes = 0;
    ~Buffer() { std::free(data); }
  };
  thread_local Buffer buffer;
  const size_t bytes = static_cast<size_t>(round_up(count * int64_t(sizeof(T)), 64));
  if (bytes > buffer.bytes) {
    std::free(buffer.data);
    buffer.data = std::aligned_alloc(64, bytes);
    buffer.bytes = buffer.data ? bytes : 0;
    if (!buffer.data) throw std::bad_alloc();
  }
  return static_cast<T*>(buffer.data);
}

// The epilogue of a plain gemm: nothing.
struct NoEpilogue {
  void operator()(int64_t, int64_t, int64_t, int64_t) const {}
};

// ---- Unpacked-A path (batch-sized M, see kUnpackedAMaxRows) ----
// Units are fixed column groups of NR panels, handed to threads dynamically. Within a unit,
// for each K slice, each NR panel of B is swept by all row tiles reading A in place; the
// panel is packed onto the stack first, or, when it is a full panel of an untransposed B, by
// the first row tile as it reads it in place. The M rows are split into near-equal tiles of
// at most MR (32 = 6+6+5+5+5+5, not 5x6 + 2: a 2-row tile has 4 accumulators, too few to
// cover the FMA latency). epilogue(rows, cols) runs on the unit once its sums are final.
// The start of the B panel that unpacked_a_unit reads in place after the one at (p0, j): the
// next panel of the unit, else the unit's first one in the next K slice, else null.
template <class T>
const T* next_panel(const Operands<T>& op, int64_t kc_max, int64_t p0, int64_t j, int64_t j_begin, int64_t j_end) {
  constexpr int64_t NR = Blocking<T>::NR;
  if (j + 2 * NR <= j_end) return op.B + p0 * op.ldb + j + NR;
  if (p0 + kc_max < op.K && j_begin + NR <= j_end) return op.B + (p0 + kc_max) * op.ldb + j_begin;
  return nullptr;
}

template <class T, class Epilogue>
void unpacked_a_unit(const Operands<T>& op, int64_t kc_max, int64_t j_begin, int64_t j_end,
                     const Epilogue& epilogue) {
  constexpr int64_t MR = Blocking<T>::MR, NR = Blocking<T>::NR;
  const KernelTable<T>& table = kernels<T>();
  const int64_t row_tiles = ceil_div(op.M, MR), short_rows = op.M / row_tiles, long_tiles = op.M % row_tiles;
  alignas(64) T b_panel[Blocking<T>::KC * NR];
  for (int64_t p0 = 0; p0 < op.K; p0 += kc_max) {
    const int64_t kc = std::min(kc_max, op.K - p0);
    const T beta = p0 == 0 ? op.beta : T(1);
    const bool last_slice = p0 + kc == op.K;
    for (int64_t j = j_begin; j < j_end; j += NR) {
      const int64_t cols = std::min(NR, j_end - j);
      const bool in_place = !op.trans_b && cols == NR;
      if (!in_place) pack_panel<NR>(b_source(op), j, cols, p0, kc, b_panel);
      const T* next = in_place ? next_panel(op, kc_max, p0, j, j_begin, j_end) : nullptr;
      for (int64_t t = 0, i = 0; t < row_tiles; ++t) {
        const int64_t rows = short_rows + (t < long_tiles ? 1 : 0);
        const bool copying = in_place && t == 0, fetching = next && t == 1;
        const T* b = copying ? op.B + p0 * op.ldb + j : b_panel;
        table.get(false, rows, cols)({kc, op.a_at(i, p0), op.a_row_step(), op.a_k_step(), b,
                                      copying ? op.ldb : NR, op.C + i * op.ldc + j, op.ldc, cols,
                                      op.alpha, beta, copying ? b_panel : nullptr,
                                      fetching ? next : nullptr, op.ldb,
                                      last_slice && op.bias ? op.bias + j : nullptr, last_slice && op.relu});
        i += rows;
      }
    }
  }
  epilogue(0, op.M, j_begin, j_end);
}

template <class T, class Epilogue>
void gemm_unpacked_a(const Operands<T>& op, bool parallel, const Epilogue& epilogue) {
  constexpr int64_t NR = Blocking<T>::NR;
  const int64_t kc_max = balanced_block(op.K, Blocking<T>::KC, 1);
  const int64_t unit_cols = NR * ceil_div(ceil_div(op.N, NR), kTargetUnits);
  parallel_for(ceil_div(op.N, unit_cols), 1, parallel ? 0 : INT64_MAX, [&](int64_t u0, int64_t u1) {
    for (int64_t unit = u0; unit < u1; ++unit)
      unpacked_a_unit(op, kc_max, unit * unit_cols, std::min(op.N, (unit + 1) * unit_cols), epilogue);
  });
}

// Packing a kc-deep slice of lanes [i0, i0 + n) into panels is split into independent tasks:
// one per panel for k-contiguous sources, one per stored row otherwise (sequential reads).
template <int64_t R, class T>
int64_t pack_tasks(const PanelSource<T>& x, int64_t n, int64_t kc) {
  return x.k_contiguous ? ceil_div(n, R) : kc;
}

template <int64_t R, class T>
void pack_slice(const PanelSource<T>& x, int64_t i0, int64_t n, int64_t p0, int64_t kc, int64_t task, T* dst) {
  if (x.k_contiguous) {
    pack_panel<R>(x, i0 + task * R, std::min(R, n - task * R), p0, kc, dst + task * R * kc);
  } else if (task < kc) {
    pack_row_across_panels<R>(x, i0, n, p0, task, kc, dst);
  }
}

// ---- Packed path ----
// One parallel region. For each (NC columns, K slice): threads pack A (all M rows) and B
// cooperatively, then take output units (MC rows x a column group) dynamically. The implicit
// barriers of the two worksharing loops keep the shared packed blocks consistent. Called
// outside a parallel region, the same worksharing loops simply run on this thread.
template <class T, class Epilogue>
void packed_product(const Operands<T>& op, const Epilogue& epilogue, T* packed_a, T* packed_b) {
  constexpr int64_t MR = Blocking<T>::MR, NR = Blocking<T>::NR;
  const KernelTable<T>& table = kernels<T>();
  const int64_t kc_max = balanced_block(op.K, Blocking<T>::KC, 1);
  const int64_t nc_max = balanced_block(op.N, Blocking<T>::NC, NR);
  const int64_t mc = balanced_block(op.M, Blocking<T>::MC, MR);
  const int64_t row_blocks = ceil_div(op.M, mc);
  const PanelSource<T> a = a_source(op), b = b_source(op);
  const int64_t a_tasks = pack_tasks<MR>(a, op.M, kc_max);
  for (int64_t jc = 0; jc < op.N; jc += nc_max) {
    const int64_t nc = std::min(nc_max, op.N - jc);
    const int64_t b_panels = ceil_div(nc, NR);
    const int64_t b_tasks = pack_tasks<NR>(b, nc, kc_max);
    const int64_t group_cols = NR * ceil_div(b_panels, ceil_div(kTargetUnits, row_blocks));
    const int64_t units = row_blocks * ceil_div(nc, group_cols);
    for (int64_t p0 = 0; p0 < op.K; p0 += kc_max) {
      const int64_t kc = std::min(kc_max, op.K - p0);
      const T beta = p0 == 0 ? op.beta : T(1);
      const bool last_slice = p0 + kc == op.K;
#pragma omp for schedule(static)
      for (int64_t task = 0; task < a_tasks + b_tasks; ++task) {
        if (task < a_tasks) {
          pack_slice<MR>(a, 0, op.M, p0, kc, task, packed_a);
        } else {
          pack_slice<NR>(b, jc, nc, p0, kc, task - a_tasks, packed_b);
        }
      }
#pragma omp for schedule(dynamic, 1)
      for (int64_t unit = 0; unit < units; ++unit) {
        const int64_t i_begin = (unit % row_blocks) * mc, i_end = std::min(op.M, i_begin + mc);
        const int64_t j_begin = (unit / row_blocks) * group_cols, j_end = std::min(nc, j_begin + group_cols);
        for (int64_t j = j_begin; j < j_end; j += NR) {
          const int64_t cols = std::min(NR, nc - j);
          for (int64_t i = i_begin; i < i_end; i += MR) {
            const int64_t rows = std::min(MR, op.M - i);
            const T* b_panel = packed_b + j * kc;
            table.get(true, rows, cols)({kc, packed_a + i * kc, 0, 0, b_panel, NR, op.C + i * op.ldc + jc + j,
                                         op.ldc, cols, op.alpha, beta, nullptr, nullptr, 0,
                                         last_slice && op.bias ? op.bias + jc + j : nullptr, last_slice && op.relu});
          }
        }
        if (last_slice) epilogue(i_begin, i_end, jc + j_begin, jc + j_end);
      }
    }
  }
}

template <class T, class Epilogue>
void gemm_packed(const Operands<T>& op, bool parallel, const Epilogue& epilogue) {
  constexpr int64_t MR = Blocking<T>::MR, NR = Blocking<T>::NR;
  const int64_t kc_max = balanced_block(op.K, Blocking<T>::KC, 1);
  const int64_t nc_max = balanced_block(op.N, Blocking<T>::NC, NR);
  const int64_t a_size = round_up(round_up(op.M, MR) * kc_max, 64 / int64_t(sizeof(T)));  // B on a cache line
  T* packed_a = workspace<T>(a_size + kc_max * nc_max);
  T* packed_b = packed_a + a_size;
#ifdef NERVE_HAVE_OPENMP
  // Inside a caller's parallel region (gemm_serial from a convolution tile) the worksharing
  // loops would bind to the caller's team: a team of one of their own keeps them on this thread.
  if (parallel || in_parallel_region()) {
#pragma omp parallel num_threads(parallel ? get_num_threads() : 1)
    packed_product(op, epilogue, packed_a, packed_b);
    return;
  }
#endif
  (void)parallel;
  packed_product(op, epilogue, packed_a, packed_b);
}

// C = beta * C (the K == 0 product); beta == 0 overwrites.
template <class T>
void scale_rows(T* C, int64_t ldc, int64_t M, int64_t N, T beta) {
  for (int64_t i = 0; i < M; ++i) {
    T* row = C + i * ldc;
    for (int64_t j = 0; j < N; ++j) row[j] = beta == T(0) ? T(0) : beta * row[j];
  }
}

// The micro-kernel's Dense finish (C = relu(C + bias)) for the K == 0 product.
template <class T>
void finish_rows(const Operands<T>& op) {
  for (int64_t i = 0; i < op.M; ++i) {
    T* row = op.C + i * op.ldc;
    for (int64_t j = 0; j < op.N; ++j) {
      if (op.bias) row[j] += op.bias[j];
      if (op.relu) row[j] = row[j] < T(0) ? T(0) : row[j];
    }
  }
}

// gemm with a hook run on each block of C once its sums are final.
template <class T, class Epilogue>
void gemm_with_epilogue(const Operands<T>& op, const Epilogue& epilogue, bool may_thread = true) {
  if (op.M == 0 || op.N == 0) return;
  if (op.K == 0) {
    scale_rows(op.C, op.ldc, op.M, op.N, op.beta);
    finish_rows(op);
    epilogue(0, op.M, 0, op.N);
    return;
  }
  const bool parallel = may_thread && get_num_threads() > 1 && !in_parallel_region() &&
                        2 * op.M * op.N * op.K >= kGemmSerialBelow;
  if (op.M <= (op.trans_a ? kUnpackedAMaxRows : kUnpackedAMaxRowsUntransposed)) {
    gemm_unpacked_a(op, parallel, epilogue);
  } else {
    gemm_packed(op, parallel, epilogue);
  }
}

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

// db (+)= column sums of dZ (batch x units), each column summed in row order.
template <class T>
void column_sums(T* db, const T* dz, int64_t batch, int64_t units, bool accumulate) {
  constexpr int64_t kCols = 256;  // columns per chunk: a stack accumulator row
  const int64_t serial_below = batch * units >= kActivationSerialBelow ? 0 : INT64_MAX;
  parallel_for(units, kCols, serial_below, [&](int64_t j0, int64_t j1) {
    T sums[kCols] = {};
    const int64_t n = j1 - j0;
    for (int64_t i = 0; i < batch; ++i) {
      const T* row = dz + i * units + j0;
      for (int64_t j = 0; j < n; ++j) sums[j] += row[j];
    }
    for (int64_t j = 0; j < n; ++j) db[j0 + j] = accumulate ? db[j0 + j] + sums[j] : sums[j];
  });
}

}  // namespace

// C (M x N) = alpha * op(A) op(B) + beta * C; A (M x K) or (K x M) when trans_a, B (K x N) or
// (N x K) when trans_b, row strides lda/ldb/ldc. beta == 0 overwrites. Parallel above
// kGemmSerialBelow flops, over output tiles only.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  gemm_with_epilogue(Operands<T>{trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc},
                     NoEpilogue{});
}

template <class T>
void gemm_serial(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A,
                 int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc,
                 const T* bias, bool relu) {
  Operands<T> op{trans_a, trans_b, M, N, K, T(1), A, lda, B, ldb, beta, C, ldc};
  op.bias = bias;
  op.relu = relu;
  gemm_with_epilogue(op, NoEpilogue{}, false);
}

// The definition: each C(i, j) is one dot product in k order. Single-threaded.
template <class T>
void gemm_scalar(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha,
                 const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      T sum = 0;
      for (int64_t p = 0; p < K; ++p) {
        const T a = trans_a ? A[p * lda + i] : A[i * lda + p];
        const T b = trans_b ? B[j * ldb + p] : B[p * ldb + j];
        sum += a * b;
      }
      T& c = C[i * ldc + j];
      c = beta == T(0) ? alpha * sum : alpha * sum + beta * c;
    }
}

// Z (batch x units) = X (batch x in) W (in x units) + b (units, or null); Y = act(Z).
// Overwrites Y and Z (Z null: not stored; Z == Y: linear only). The bias, and relu when Z is
// not kept, are applied by the micro-kernel to the register tile on the last K slice: as a
// separate pass per finished block they cost 3-4% of the product at 32x784->256 (mostly one
// activation call per row segment). Other element-wise activations run per finished block
// inside the product, while it is in cache.
template <class T>
void dense_forward(T* y, T* z, const T* x, const T* w, const T* b, int64_t batch, int64_t in,
                   int64_t units, Activation act, T alpha) {
  T* pre = z && z != y ? z : y;
  const bool softmax = act == Activation::softmax;
  const bool relu_in_kernel = act == Activation::relu && pre == y;
  const DenseEpilogue<T> epilogue{softmax ? pre : y, pre, units,
                                  softmax || relu_in_kernel ? Activation::linear : act, alpha};
  Operands<T> op{false, false, batch, units, in, T(1), x, in, w, units, T(0), pre, units};
  op.bias = b;
  op.relu = relu_in_kernel;
  gemm_with_epilogue(op, epilogue);
  if (softmax) activation_forward(act, y, pre, batch, units, alpha);
}

// dZ = act'(Z) dY (batch x units; may be dY itself), dX (batch x in, or null) = dZ W^T,
// dW (in x units) (+)= X^T dZ, db (units, or null) (+)= column sums of dZ. `accumulate` adds
// into dW and db. Each product is a gemm (threaded over output tiles), db sums rows in order.
template <class T>
void dense_backward(T* dx, T* dw, T* db, T* dz, const T* dy, const T* x, const T* w,
                    const T* z, const T* y, int64_t batch, int64_t in, int64_t units,
                    Activation act, T alpha, bool accumulate) {
  activation_backward(act, dz, dy, z, y, batch, units, alpha);
  if (dx) gemm(false, true, batch, in, units, T(1), dz, units, w, units, T(0), dx, in);
  gemm(true, false, in, units, batch, T(1), x, in, dz, units, accumulate ? T(1) : T(0), dw, units);
  if (db) column_sums(db, dz, batch, units, accumulate);
}

#define NERVE_INSTANTIATE_MATMUL(T)                                                               \
  template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*,    \
                        int64_t, T, T*, int64_t);                                                 \
  template void gemm_serial<T>(bool, bool, int64_t, int64_t, int64_t, const T*, int64_t,          \
                               const T*, int64_t, T, T*, int64_t, const T*, bool);                \
  template void gemm_scalar<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t,       \
                               const T*, int64_t, T, T*, int64_t);                                \
  template void dense_forward<T>(T*, T*, const T*, const T*, const T*, int64_t, int64_t, int64_t, \
                                 Activation, T);                                                  \
  template void dense_backward<T>(T*, T*, T*, T*, const T*, const T*, const T*, const T*,        \
                                  const T*, int64_t, int64_t, int64_t, Activation, T, bool);
NERVE_INSTANTIATE_MATMUL(float)
NERVE_INSTANTIATE_MATMUL(double)
#undef NERVE_INSTANTIATE_MATMUL

}  // namespace nerve
