// The pooling passes, written once; each kernels_<isa>.cpp includes this after its target
// pragma and gets its own code generation (cpp/simd/README.md). Each pass's innermost loop
// runs over the contiguous channels, which gcc vectorises for the target's widest vectors
// (pooling is bound by memory traffic, so no intrinsics). They add in the same order as the
// scalar twins (window rows, then columns; outputs in row-major order), so every set agrees
// with them bitwise. Everything here has internal linkage.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "pooling/kernels.h"

namespace nerve::pooling {
namespace {

// visit(image, rows, cols, out): every output of rows r = n * OH + oh in [begin, end), with its
// image's first element and its offset in the output.
template <class T, class Visit>
void for_each_window(const T* x, const Pool2dShape& s, int64_t begin, int64_t end,
                     const Visit& visit) {
  for (int64_t r = begin; r < end; ++r) {
    const Span hs = rows_of(s, r % s.out_height);
    const T* image = x + (r / s.out_height) * s.height * s.width * s.channels;
    for (int64_t ow = 0; ow < s.out_width; ++ow) {
      visit(image, hs, cols_of(s, ow), (r * s.out_width + ow) * s.channels);
    }
  }
}

// Channels searched together: their indices stay in a small array in L1.
constexpr int64_t kMaxBlock = 64;

// The search keeps indices of the values' width (int32 beside float, int64 beside double), so
// the compare-and-select loop vectorizes lane for lane; int32 ones widen to int64 when stored.
// The maxima start at -inf with the window's first index, which is what the first element
// gives too (-inf stays, anything else is greater, a NaN is taken), and a constant fill is
// cheaper than gcc's memcpy of a short copy.
template <class T, class Index>
void max_rows_indexed(T* __restrict y, int64_t* __restrict argmax, const T* __restrict x,
                      const Pool2dShape& s, int64_t begin, int64_t end) {
  constexpr bool kWide = std::is_same_v<Index, int64_t>;
  const int64_t W = s.width, C = s.channels;
  for_each_window(x, s, begin, end, [&](const T* image, Span hs, Span ws, int64_t out) {
    for (int64_t c0 = 0; c0 < C; c0 += kMaxBlock) {
      const int64_t lanes = std::min(kMaxBlock, C - c0);
      T* __restrict best = y + out + c0;
      Index narrow[kMaxBlock];
      Index* __restrict where;
      if constexpr (kWide) where = argmax + out + c0;
      else where = narrow;
      const Index first = static_cast<Index>(hs.begin * W + ws.begin);
      for (int64_t c = 0; c < lanes; ++c) {
        best[c] = -std::numeric_limits<T>::infinity();
        where[c] = first;
      }
      for (int64_t h = hs.begin; h < hs.end; ++h) {
        for (int64_t w = ws.begin; w < ws.end; ++w) {
          const Index index = static_cast<Index>(h * W + w);
          const T* __restrict v = image + (h * W + w) * C + c0;
          for (int64_t c = 0; c < lanes; ++c) {
            // Strictly greater keeps the first maximum; a NaN replaces any number. Bitwise
            // operators and unconditional stores: a select, not branches or masked stores.
            const T value = v[c], old = best[c];
            const bool take = (value > old) | ((value != value) & (old == old));
            best[c] = take ? value : old;
            where[c] = take ? index : where[c];
          }
        }
      }
      if constexpr (!kWide) {
        for (int64_t c = 0; c < lanes; ++c) argmax[out + c0 + c] = where[c];
      }
    }
  });
}

// int32 indices for float images of fewer than 2^31 pixels, else int64.
template <class T>
void max_rows(T* y, int64_t* argmax, const T* x, const Pool2dShape& s, int64_t begin,
              int64_t end) {
  if (sizeof(T) == 4 && s.height * s.width <= INT32_MAX) {
    max_rows_indexed<T, int32_t>(y, argmax, x, s, begin, end);
  } else {
    max_rows_indexed<T, int64_t>(y, argmax, x, s, begin, end);
  }
}

template <class T>
void avg_rows(T* __restrict y, const T* __restrict x, const Pool2dShape& s, int64_t begin,
              int64_t end) {
  const int64_t W = s.width, C = s.channels;
  for_each_window(x, s, begin, end, [&](const T* image, Span hs, Span ws, int64_t out) {
    T* __restrict sum = y + out;
    std::fill(sum, sum + C, T(0));
    for (int64_t h = hs.begin; h < hs.end; ++h) {
      for (int64_t w = ws.begin; w < ws.end; ++w) {
        const T* __restrict v = image + (h * W + w) * C;
        for (int64_t c = 0; c < C; ++c) sum[c] += v[c];
      }
    }
    const T count = static_cast<T>(area(hs, ws));
    for (int64_t c = 0; c < C; ++c) sum[c] /= count;
  });
}

// Each image's scatter runs in output order on one thread.
template <class T>
void max_backward_images(T* __restrict dx, const T* __restrict dy,
                         const int64_t* __restrict argmax, const Pool2dShape& s, int64_t begin,
                         int64_t end) {
  const int64_t C = s.channels, in_size = s.height * s.width * C;
  const int64_t out_size = s.out_height * s.out_width * C;
  for (int64_t n = begin; n < end; ++n) {
    T* image = dx + n * in_size;
    std::fill(image, image + in_size, T(0));
    const T* g = dy + n * out_size;
    const int64_t* where = argmax + n * out_size;
    for (int64_t o = 0; o < out_size; o += C) {
      for (int64_t c = 0; c < C; ++c) image[where[o + c] * C + c] += g[o + c];
    }
  }
}

template <class T>
void avg_backward_images(T* __restrict dx, const T* __restrict dy, const Pool2dShape& s,
                         int64_t begin, int64_t end) {
  const int64_t W = s.width, C = s.channels, in_size = s.height * W * C;
  for (int64_t n = begin; n < end; ++n) {
    T* image = dx + n * in_size;
    std::fill(image, image + in_size, T(0));
    for (int64_t oh = 0; oh < s.out_height; ++oh) {
      const Span hs = rows_of(s, oh);
      for (int64_t ow = 0; ow < s.out_width; ++ow) {
        const Span ws = cols_of(s, ow);
        const T* g = dy + ((n * s.out_height + oh) * s.out_width + ow) * C;
        const T count = static_cast<T>(area(hs, ws));
        for (int64_t h = hs.begin; h < hs.end; ++h) {
          for (int64_t w = ws.begin; w < ws.end; ++w) {
            T* d = image + (h * W + w) * C;
            for (int64_t c = 0; c < C; ++c) d[c] += g[c] / count;
          }
        }
      }
    }
  }
}

template <class T>
constexpr Kernels<T> kernels() {
  return {max_rows<T>, avg_rows<T>, max_backward_images<T>, avg_backward_images<T>};
}

}  // namespace
}  // namespace nerve::pooling
