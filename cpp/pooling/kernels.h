// What the pooling dispatcher (pooling.cpp) and the scalar twins share with each instruction
// set's kernels: the window geometry, and the table of kernels a kernels_<isa>.cpp compiles
// from the passes in passes.h.
#pragma once

#include <cstdint>

#include "pooling.h"

namespace nerve::pooling {

// The in-bounds part [begin, end) of window `o` along one axis; non-empty by the contract,
// which keeps o * stride - pad in [-pad, size - 1], so nothing here overflows.
struct Span {
  int64_t begin, end;
};
inline Span window(int64_t o, int64_t stride, int64_t pad, int64_t pool, int64_t size) {
  const int64_t start = o * stride - pad;
  return {start < 0 ? 0 : start, pool >= size - start ? size : start + pool};
}
inline int64_t area(Span rows, Span cols) {
  return (rows.end - rows.begin) * (cols.end - cols.begin);
}
inline Span rows_of(const Pool2dShape& s, int64_t oh) {
  return window(oh, s.stride_h, s.pad_top, s.pool_h, s.height);
}
inline Span cols_of(const Pool2dShape& s, int64_t ow) {
  return window(ow, s.stride_w, s.pad_left, s.pool_w, s.width);
}

// Forward kernels run over output rows r = n * OH + oh in [begin, end), backward ones over
// images [begin, end).
template <class T>
struct Kernels {
  void (*max_rows)(T* y, int64_t* argmax, const T* x, const Pool2dShape& s, int64_t begin,
                   int64_t end);
  void (*avg_rows)(T* y, const T* x, const Pool2dShape& s, int64_t begin, int64_t end);
  void (*max_backward_images)(T* dx, const T* dy, const int64_t* argmax, const Pool2dShape& s,
                              int64_t begin, int64_t end);
  void (*avg_backward_images)(T* dx, const T* dy, const Pool2dShape& s, int64_t begin,
                              int64_t end);
};

// Defined by kernels_<isa>.cpp as constant data, so reading a table runs none of its code;
// each architecture builds only its own (cpu.h's NERVE_ISA_TABLES).
extern const Kernels<float> baseline_f32, avx2_f32, avx512_f32;
extern const Kernels<double> baseline_f64, avx2_f64, avx512_f64;

}  // namespace nerve::pooling
