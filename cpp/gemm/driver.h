// The portable GEMM algorithm, written once and compiled by each instruction set's
// translation unit with its micro-kernel and blocking (Config, see kernels_*.cpp):
//   for each (jc: NC columns of C) for each (pc: KC-deep slice of the reduction)
//     pack op(B)[pc, jc] into NR-column micro-panels and op(A)[:, pc] into MR-row micro-panels
//     (transposes are absorbed here), then for each output unit (MC rows x a column group)
//     run the MR x NR register-blocked micro-kernel over every tile of the unit.
// Batch-sized M (the training case) never packs A: the micro-kernel reads it in place with
// row/k strides. Each B panel is packed into an L1-sized panel of the thread's workspace, by
// the first row tile as it reads an untransposed B in place (a 1 KiB row stride would keep it
// out of L1), else just before use. No OpenMP region starts below kGemmSerialBelow flops, and
// no thread keeps more than a few hundred bytes on its stack (a small OMP_STACKSIZE works).
// Threads only ever split output tiles; every element gets the same K blocking and the same
// micro-kernel whatever the thread count, so results are bitwise thread-count independent.
//
// Config provides Blocking<T> (MR, NR, MC, KC, NC), run<T, ROWS, VECS, PACKED>(TileJob) for
// ROWS in [1, MR] and VECS in {1, 2} halves of NR, and kTransposeWidth<T> with
// transpose(rows, p, dst, dst_step) (a W x W register transpose; width 0: none).
// Internal linkage (cpp/simd/README.md).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <utility>

#include "gemm/operands.h"
#include "gemm/packing.h"
#include "gemm/tile.h"
#include "matmul.h"
#include "parallel.h"

namespace nerve::matmul {
namespace {

// M up to this runs the unpacked-A path: A (M x KC) is read from L2 in place, cheaper than packing.
// An untransposed A gets the unrolled strided kernel, and up to 128 rows (a batch of 128) it
// beats the packed path: measured on Zen 3 128x128x256 0.93-0.99 -> 1.10-1.14 x OpenBLAS,
// 128x256x784 0.95-0.99 -> 0.99-1.00 (thread CPU time, 1 thread).
constexpr int64_t kUnpackedAMaxRows = 96, kUnpackedAMaxRowsUntransposed = 128;
// Column groups per call in the unpacked-A path, and output units per K slice in the packed
// path: enough for dynamic balancing on two cores, few enough to keep per-unit overhead low.
constexpr int64_t kTargetUnits = 8;

// Splits n into ceil(n / max_block) near-equal blocks, each a multiple of `multiple`.
constexpr int64_t balanced_block(int64_t n, int64_t max_block, int64_t multiple) {
  return round_up(ceil_div(n, ceil_div(n, max_block)), multiple);
}

template <class Config>
struct Algorithm {
  template <class T> using Blocking = typename Config::template Blocking<T>;

  // ---- Micro-kernel table: by rows (1..MR) and vectors per row (1..2); edge tiles run a
  // smaller kernel instead of computing zero padding. ----
  template <class T>
  struct KernelTable {
    std::array<std::array<MicroKernel<T>, 2>, Blocking<T>::MR> packed, strided;
    MicroKernel<T> get(bool packed_a, int64_t rows, int64_t cols) const {
      const int vecs = cols > Blocking<T>::NR / 2 ? 2 : 1;
      return (packed_a ? packed : strided)[rows - 1][vecs - 1];
    }
  };

  template <class T, bool PACKED, size_t... R>
  static constexpr std::array<std::array<MicroKernel<T>, 2>, sizeof...(R)> kernel_rows(std::index_sequence<R...>) {
    return {{{{&Config::template run<T, int(R) + 1, 1, PACKED>,
               &Config::template run<T, int(R) + 1, 2, PACKED>}}...}};
  }

  template <class T>
  static constexpr KernelTable<T> kTable = {
      kernel_rows<T, true>(std::make_index_sequence<Blocking<T>::MR>{}),
      kernel_rows<T, false>(std::make_index_sequence<Blocking<T>::MR>{})};

  // ---- Unpacked-A path (batch-sized M, see kUnpackedAMaxRows) ----
  // Units are fixed column groups of NR panels, handed to threads dynamically. Within a unit,
  // for each K slice, each NR panel of B is swept by all row tiles reading A in place; the
  // panel is packed into the thread's workspace first, or, when it is a full panel of an
  // untransposed B, by the first row tile as it reads it in place. The M rows are split into
  // near-equal tiles of at most MR (32 = 6+6+5+5+5+5 with MR 6, not 5x6 + 2: a 2-row tile has
  // too few accumulators to cover the FMA latency). epilogue(rows, cols) runs on the unit once
  // its sums are final.

  // It takes K up to 5/4 KC in one slice: a 288-deep product (a 3x3x32 convolution's patches)
  // in one slice instead of two of 144 saves a round trip of the C tile per micro-tile: 73 -> 81
  // GFLOP/s at 120x288x64 (1 thread, Zen 3). Its B panel (288 x 16 floats, 18 KiB) still fits
  // L1 beside the A rows.
  template <class T>
  static constexpr int64_t kUnpackedSliceMax = Blocking<T>::KC * 5 / 4;
  template <class T>
  static constexpr int64_t kPanelElements = kUnpackedSliceMax<T> * Blocking<T>::NR;

  // The start of the B panel that unpacked_a_unit reads in place after the one at (p0, j): the
  // next panel of the unit, else the unit's first one in the next K slice, else null.
  template <class T>
  static const T* next_panel(const Operands<T>& op, int64_t kc_max, int64_t p0, int64_t j, int64_t j_begin,
                             int64_t j_end) {
    constexpr int64_t NR = Blocking<T>::NR;
    if (j + 2 * NR <= j_end) return op.B + p0 * op.ldb + j + NR;
    if (p0 + kc_max < op.K && j_begin + NR <= j_end) return op.B + (p0 + kc_max) * op.ldb + j_begin;
    return nullptr;
  }

  template <class T, class Epilogue>
  static void unpacked_a_unit(const Operands<T>& op, int64_t kc_max, int64_t j_begin, int64_t j_end,
                              const Epilogue& epilogue, T* b_panel) {
    constexpr int64_t MR = Blocking<T>::MR, NR = Blocking<T>::NR;
    const KernelTable<T>& table = kTable<T>;
    const int64_t row_tiles = ceil_div(op.M, MR), short_rows = op.M / row_tiles, long_tiles = op.M % row_tiles;
    for (int64_t p0 = 0; p0 < op.K; p0 += kc_max) {
      const int64_t kc = std::min(kc_max, op.K - p0);
      const T beta = p0 == 0 ? op.beta : T(1);
      const bool last_slice = p0 + kc == op.K;
      for (int64_t j = j_begin; j < j_end; j += NR) {
        const int64_t cols = std::min(NR, j_end - j);
        const bool in_place = !op.trans_b && cols == NR;
        if (!in_place) pack_panel<Config, NR>(b_source(op), j, cols, p0, kc, b_panel);
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

  // Each thread's B panel lives in its own workspace (allocated once per thread, off the
  // stack): parallel_for_rethrow carries a failed first allocation out of the region.
  template <class T, class Epilogue>
  static void gemm_unpacked_a(const Operands<T>& op, bool parallel, const Epilogue& epilogue) {
    constexpr int64_t NR = Blocking<T>::NR;
    const int64_t kc_max = op.K <= kUnpackedSliceMax<T> ? op.K : balanced_block(op.K, Blocking<T>::KC, 1);
    const int64_t unit_cols = NR * ceil_div(ceil_div(op.N, NR), kTargetUnits);
    parallel_for_rethrow(ceil_div(op.N, unit_cols), 1, parallel ? 0 : INT64_MAX, [&](int64_t u0, int64_t u1) {
      T* b_panel = workspace<T>(kPanelElements<T>);
      for (int64_t unit = u0; unit < u1; ++unit)
        unpacked_a_unit(op, kc_max, unit * unit_cols, std::min(op.N, (unit + 1) * unit_cols), epilogue, b_panel);
    });
  }

  // ---- Packed path ----
  // One parallel region. For each (NC columns, K slice): threads pack A (all M rows) and B
  // cooperatively, then take output units (MC rows x a column group) dynamically. The implicit
  // barriers of the two worksharing loops keep the shared packed blocks consistent. Called
  // outside a parallel region, the same worksharing loops simply run on this thread.
  template <class T, class Epilogue>
  static void packed_product(const Operands<T>& op, const Epilogue& epilogue, T* packed_a, T* packed_b) {
    constexpr int64_t MR = Blocking<T>::MR, NR = Blocking<T>::NR;
    const KernelTable<T>& table = kTable<T>;
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
            pack_slice<Config, MR>(a, 0, op.M, p0, kc, task, packed_a);
          } else {
            pack_slice<Config, NR>(b, jc, nc, p0, kc, task - a_tasks, packed_b);
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
                                           last_slice && op.bias ? op.bias + jc + j : nullptr,
                                           last_slice && op.relu});
            }
          }
          if (last_slice) epilogue(i_begin, i_end, jc + j_begin, jc + j_end);
        }
      }
    }
  }

  template <class T, class Epilogue>
  static void gemm_packed(const Operands<T>& op, bool parallel, const Epilogue& epilogue) {
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

  // C = beta * C (the K == 0 product); beta == 0 overwrites. Then the micro-kernel's Dense
  // finish, C = relu(C + bias).
  template <class T>
  static void scale_and_finish(const Operands<T>& op) {
    for (int64_t i = 0; i < op.M; ++i) {
      T* row = op.C + i * op.ldc;
      for (int64_t j = 0; j < op.N; ++j) {
        T value = op.beta == T(0) ? T(0) : op.beta * row[j];
        if (op.bias) value += op.bias[j];
        if (op.relu) value = value < T(0) ? T(0) : value;
        row[j] = value;
      }
    }
  }

  // gemm with a hook run on each block of C once its sums are final.
  template <class T, class Epilogue>
  static void gemm_with_epilogue(const Operands<T>& op, const Epilogue& epilogue, bool may_thread) {
    if (op.M == 0 || op.N == 0) return;
    if (op.K == 0) {
      scale_and_finish(op);
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

  template <class T>
  static void plain(const Operands<T>& op, bool may_thread) {
    gemm_with_epilogue(op, NoEpilogue{}, may_thread);
  }

  template <class T>
  static void dense(const Operands<T>& op, const DenseEpilogue<T>& epilogue) {
    gemm_with_epilogue(op, epilogue, true);
  }

  template <class T>
  static constexpr Driver<T> kDriver = {&plain<T>, &dense<T>};

};

}  // namespace
}  // namespace nerve::matmul
