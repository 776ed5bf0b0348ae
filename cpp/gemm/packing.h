// Packing for the GEMM (driver.h): operands copied into the micro-kernel's panel layout,
// transposes absorbed. Config gives kTransposeWidth<T> and transpose() (driver.h).
// Internal linkage (cpp/simd/README.md).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "gemm/operands.h"
#include "gemm/tile.h"

namespace nerve::matmul {
namespace {

constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
constexpr int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

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

// dst[p * R + r] = src[r][p] for p in [p, kc): R rows of a k-contiguous source, whole
// blocks of W steps by W x W register transposes where the ISA has them (the transposed B
// of dX = dZ W^T was packed at ~1 element per cycle element by element, a third of the
// product's time at batch 32), the rest one element at a time. Each line's first step also
// fetches the next panel's rows (ld further on): short runs the hardware prefetcher learns late.
template <class Config, int64_t R, class T>
void pack_transposed(const T* const* src, int64_t ld, int64_t kc, T* dst) {
  constexpr int64_t kLine = 64 / sizeof(T), W = Config::template kTransposeWidth<T>;
  int64_t p = 0;
  if constexpr (W > 0 && R % W == 0) {
    for (; p + W <= kc; p += W) {
      if (p % kLine == 0)
        NERVE_UNROLL for (int64_t r = 0; r < R; ++r) fetch_l1(src[r] + R * ld + p);
      NERVE_UNROLL for (int64_t l = 0; l < R; l += W) Config::transpose(src + l, p, dst + p * R + l, R);
    }
  }
  for (; p < kc; ++p) {
    if (p % kLine == 0)
      NERVE_UNROLL for (int64_t r = 0; r < R; ++r) fetch_l1(src[r] + R * ld + p);
    NERVE_UNROLL for (int64_t r = 0; r < R; ++r) dst[p * R + r] = src[r][p];
  }
}

// One panel: lanes [i0, i0 + lanes) of X over p in [p0, p0 + kc) into dst[p * R + r],
// zero-padded to R lanes so vector loads of B panels read defined values.
template <class Config, int64_t R, class T>
void pack_panel(const PanelSource<T>& x, int64_t i0, int64_t lanes, int64_t p0, int64_t kc, T* dst) {
  if (!x.k_contiguous) {
    for (int64_t p = 0; p < kc; ++p) {  // one line per stored row: fetch rows ahead
      fetch_l1(x.data + (p0 + p + kPrefetchRows) * x.ld + i0);
      pack_row_across_panels<R>(x, i0, lanes, p0, p, kc, dst);
    }
    return;
  }
  const T* src[R];  // lanes past `lanes` repeat the last row; their values are zeroed below
  for (int64_t r = 0; r < R; ++r) src[r] = x.data + (i0 + std::min(r, lanes - 1)) * x.ld + p0;
  pack_transposed<Config, R>(src, x.ld, kc, dst);
  for (int64_t p = 0; p < kc; ++p)
    for (int64_t r = lanes; r < R; ++r) dst[p * R + r] = T(0);
}

// Packing a kc-deep slice of lanes [i0, i0 + n) into panels is split into independent tasks:
// one per panel for k-contiguous sources, one per stored row otherwise (sequential reads).
template <int64_t R, class T>
int64_t pack_tasks(const PanelSource<T>& x, int64_t n, int64_t kc) {
  return x.k_contiguous ? ceil_div(n, R) : kc;
}

template <class Config, int64_t R, class T>
void pack_slice(const PanelSource<T>& x, int64_t i0, int64_t n, int64_t p0, int64_t kc, int64_t task,
                T* dst) {
  if (x.k_contiguous) {
    pack_panel<Config, R>(x, i0 + task * R, std::min(R, n - task * R), p0, kc, dst + task * R * kc);
  } else if (task < kc) {
    pack_row_across_panels<R>(x, i0, n, p0, task, kc, dst);
  }
}

}  // namespace
}  // namespace nerve::matmul
