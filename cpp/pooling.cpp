// Pooling kernels (contract in pooling.h). Each pass is an inline body over a range of output
// rows (forward) or images (backward) whose innermost loop runs over the contiguous channels,
// compiled twice: baseline and AVX2 (gcc vectorizes the channel loop; pooling is bound by
// memory traffic, so no intrinsics). The *_scalar versions compute one element at a time.
// Both add in the same order (window rows, then columns; outputs in row-major order), so the
// optimized and scalar kernels agree bitwise.
#include "pooling.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "cpu.h"
#include "parallel.h"

namespace nerve {
namespace {

// About 64 KiB of float32 read per chunk: enough work to amortise handing it out, small
// enough that two threads share a 2-image batch evenly.
constexpr int64_t kPoolGrain = 1 << 14;

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

// Fixed chunks of items that cost `visits` element visits each (a double: the estimate of an
// absurd geometry must not overflow), serial below kPoolSerialBelow visits in all.
struct Split {
  int64_t grain, serial_below;
};
Split split_for(double visits) {
  const double per_item = std::max(visits, 1.0);
  return {static_cast<int64_t>(std::max(1.0, kPoolGrain / per_item)),
          static_cast<int64_t>(std::max(1.0, kPoolSerialBelow / per_item))};
}
// Element visits of one output row (n, oh): the window, clipped to the image, per output.
double row_visits(const Pool2dShape& s) {
  return static_cast<double>(s.out_width) * static_cast<double>(s.channels) *
         static_cast<double>(std::min(s.pool_h, s.height)) *
         static_cast<double>(std::min(s.pool_w, s.width));
}
double image_size(const Pool2dShape& s) {
  return static_cast<double>(s.height) * static_cast<double>(s.width) *
         static_cast<double>(s.channels);
}

// ---- bodies: compiled for both instruction sets ------------------------------------------

// Lambdas handed to the bodies must be inlined into them to get their AVX2 code generation.
#define NERVE_INLINE_LAMBDA __attribute__((always_inline))

// visit(image, rows, cols, out): every output of rows r = n * OH + oh in [begin, end), with its
// image's first element and its offset in the output.
template <class T, class Visit>
NERVE_INLINE void for_each_window(const T* x, const Pool2dShape& s, int64_t begin, int64_t end,
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
NERVE_INLINE void max_rows(T* __restrict y, int64_t* __restrict argmax, const T* __restrict x,
                           const Pool2dShape& s, int64_t begin, int64_t end) {
  constexpr bool kWide = std::is_same_v<Index, int64_t>;
  const int64_t W = s.width, C = s.channels;
  for_each_window(x, s, begin, end, [&](const T* image, Span hs, Span ws, int64_t out)
                                        NERVE_INLINE_LAMBDA {
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
NERVE_INLINE void max_rows(T* y, int64_t* argmax, const T* x, const Pool2dShape& s,
                           int64_t begin, int64_t end) {
  if (sizeof(T) == 4 && s.height * s.width <= INT32_MAX) {
    max_rows<T, int32_t>(y, argmax, x, s, begin, end);
  } else {
    max_rows<T, int64_t>(y, argmax, x, s, begin, end);
  }
}

template <class T>
NERVE_INLINE void avg_rows(T* __restrict y, const T* __restrict x, const Pool2dShape& s,
                           int64_t begin, int64_t end) {
  const int64_t W = s.width, C = s.channels;
  for_each_window(x, s, begin, end, [&](const T* image, Span hs, Span ws, int64_t out)
                                        NERVE_INLINE_LAMBDA {
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

// Images [begin, end): each one's scatter runs in output order on one thread.
template <class T>
NERVE_INLINE void max_backward_images(T* __restrict dx, const T* __restrict dy,
                                      const int64_t* __restrict argmax, const Pool2dShape& s,
                                      int64_t begin, int64_t end) {
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
NERVE_INLINE void avg_backward_images(T* __restrict dx, const T* __restrict dy,
                                      const Pool2dShape& s, int64_t begin, int64_t end) {
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
NERVE_TARGET_AVX2 void max_rows_avx2(T* y, int64_t* argmax, const T* x, const Pool2dShape& s,
                                     int64_t begin, int64_t end) {
  max_rows(y, argmax, x, s, begin, end);
}
template <class T>
NERVE_TARGET_AVX2 void avg_rows_avx2(T* y, const T* x, const Pool2dShape& s, int64_t begin,
                                     int64_t end) {
  avg_rows(y, x, s, begin, end);
}
template <class T>
NERVE_TARGET_AVX2 void max_backward_images_avx2(T* dx, const T* dy, const int64_t* argmax,
                                                const Pool2dShape& s, int64_t begin,
                                                int64_t end) {
  max_backward_images(dx, dy, argmax, s, begin, end);
}
template <class T>
NERVE_TARGET_AVX2 void avg_backward_images_avx2(T* dx, const T* dy, const Pool2dShape& s,
                                                int64_t begin, int64_t end) {
  avg_backward_images(dx, dy, s, begin, end);
}

}  // namespace

template <class T>
void max_pool2d_forward(T* y, int64_t* argmax, const T* x, const Pool2dShape& s) {
  const Split split = split_for(row_visits(s));
  const bool avx2 = use_avx2();
  parallel_for(s.batch * s.out_height, split.grain, split.serial_below,
               [&](int64_t begin, int64_t end) {
                 if (avx2) max_rows_avx2(y, argmax, x, s, begin, end);
                 else max_rows(y, argmax, x, s, begin, end);
               });
}

template <class T>
void avg_pool2d_forward(T* y, const T* x, const Pool2dShape& s) {
  const Split split = split_for(row_visits(s));
  const bool avx2 = use_avx2();
  parallel_for(s.batch * s.out_height, split.grain, split.serial_below,
               [&](int64_t begin, int64_t end) {
                 if (avx2) avg_rows_avx2(y, x, s, begin, end);
                 else avg_rows(y, x, s, begin, end);
               });
}

template <class T>
void max_pool2d_backward(T* dx, const T* dy, const int64_t* argmax, const Pool2dShape& s) {
  // Zeroing the image, then one addition per output element.
  const Split split = split_for(image_size(s) + static_cast<double>(s.out_height) *
                                                    static_cast<double>(s.out_width) *
                                                    static_cast<double>(s.channels));
  const bool avx2 = use_avx2();
  parallel_for(s.batch, split.grain, split.serial_below, [&](int64_t begin, int64_t end) {
    if (avx2) max_backward_images_avx2(dx, dy, argmax, s, begin, end);
    else max_backward_images(dx, dy, argmax, s, begin, end);
  });
}

template <class T>
void avg_pool2d_backward(T* dx, const T* dy, const Pool2dShape& s) {
  const Split split = split_for(image_size(s) + row_visits(s) * static_cast<double>(s.out_height));
  const bool avx2 = use_avx2();
  parallel_for(s.batch, split.grain, split.serial_below, [&](int64_t begin, int64_t end) {
    if (avx2) avg_backward_images_avx2(dx, dy, s, begin, end);
    else avg_backward_images(dx, dy, s, begin, end);
  });
}

// ---- scalar twins -------------------------------------------------------------------------

template <class T>
void max_pool2d_forward_scalar(T* y, int64_t* argmax, const T* x, const Pool2dShape& s) {
  const int64_t H = s.height, W = s.width, C = s.channels;
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t oh = 0; oh < s.out_height; ++oh) {
      const Span hs = rows_of(s, oh);
      for (int64_t ow = 0; ow < s.out_width; ++ow) {
        const Span ws = cols_of(s, ow);
        for (int64_t c = 0; c < C; ++c) {
          int64_t where = hs.begin * W + ws.begin;
          T best = x[(n * H * W + where) * C + c];
          for (int64_t h = hs.begin; h < hs.end; ++h) {
            for (int64_t w = ws.begin; w < ws.end; ++w) {
              const T v = x[((n * H + h) * W + w) * C + c];
              if (v > best || (v != v && best == best)) {
                best = v;
                where = h * W + w;
              }
            }
          }
          const int64_t out = ((n * s.out_height + oh) * s.out_width + ow) * C + c;
          y[out] = best;
          argmax[out] = where;
        }
      }
    }
  }
}

template <class T>
void max_pool2d_backward_scalar(T* dx, const T* dy, const int64_t* argmax, const Pool2dShape& s) {
  const int64_t C = s.channels, in_size = s.height * s.width * C;
  const int64_t out_size = s.out_height * s.out_width * C;
  std::fill(dx, dx + s.batch * in_size, T(0));
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t o = 0; o < out_size; ++o) {
      const int64_t i = n * out_size + o;
      dx[n * in_size + argmax[i] * C + o % C] += dy[i];
    }
  }
}

template <class T>
void avg_pool2d_forward_scalar(T* y, const T* x, const Pool2dShape& s) {
  const int64_t H = s.height, W = s.width, C = s.channels;
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t oh = 0; oh < s.out_height; ++oh) {
      const Span hs = rows_of(s, oh);
      for (int64_t ow = 0; ow < s.out_width; ++ow) {
        const Span ws = cols_of(s, ow);
        const T count = static_cast<T>(area(hs, ws));
        for (int64_t c = 0; c < C; ++c) {
          T sum = 0;
          for (int64_t h = hs.begin; h < hs.end; ++h)
            for (int64_t w = ws.begin; w < ws.end; ++w) sum += x[((n * H + h) * W + w) * C + c];
          y[((n * s.out_height + oh) * s.out_width + ow) * C + c] = sum / count;
        }
      }
    }
  }
}

template <class T>
void avg_pool2d_backward_scalar(T* dx, const T* dy, const Pool2dShape& s) {
  const int64_t H = s.height, W = s.width, C = s.channels;
  std::fill(dx, dx + s.batch * H * W * C, T(0));
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t oh = 0; oh < s.out_height; ++oh) {
      const Span hs = rows_of(s, oh);
      for (int64_t ow = 0; ow < s.out_width; ++ow) {
        const Span ws = cols_of(s, ow);
        const T count = static_cast<T>(area(hs, ws));
        for (int64_t c = 0; c < C; ++c) {
          const T share = dy[((n * s.out_height + oh) * s.out_width + ow) * C + c] / count;
          for (int64_t h = hs.begin; h < hs.end; ++h)
            for (int64_t w = ws.begin; w < ws.end; ++w) dx[((n * H + h) * W + w) * C + c] += share;
        }
      }
    }
  }
}

#define NERVE_INSTANTIATE_POOLING(T)                                                          \
  template void max_pool2d_forward<T>(T*, int64_t*, const T*, const Pool2dShape&);            \
  template void max_pool2d_backward<T>(T*, const T*, const int64_t*, const Pool2dShape&);     \
  template void avg_pool2d_forward<T>(T*, const T*, const Pool2dShape&);                      \
  template void avg_pool2d_backward<T>(T*, const T*, const Pool2dShape&);                     \
  template void max_pool2d_forward_scalar<T>(T*, int64_t*, const T*, const Pool2dShape&);     \
  template void max_pool2d_backward_scalar<T>(T*, const T*, const int64_t*,                   \
                                              const Pool2dShape&);                            \
  template void avg_pool2d_forward_scalar<T>(T*, const T*, const Pool2dShape&);               \
  template void avg_pool2d_backward_scalar<T>(T*, const T*, const Pool2dShape&);

NERVE_INSTANTIATE_POOLING(float)
NERVE_INSTANTIATE_POOLING(double)

}  // namespace nerve
