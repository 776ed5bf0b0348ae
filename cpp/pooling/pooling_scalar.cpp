// The pooling scalar twins (pooling.h): one element at a time on the calling thread, adding in
// the same order as the passes (window rows, then columns), so the two agree bitwise.
#include <algorithm>
#include <cstdint>

#include "pooling.h"
#include "pooling/kernels.h"

namespace nerve {
namespace {

using namespace pooling;

// visit(n, rows, cols, out) for every output window in row-major order; out is the flat
// index of its channel 0 in y (or dy).
template <class Visit>
void for_each_output(const Pool2dShape& s, Visit visit) {
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t oh = 0; oh < s.out_height; ++oh) {
      const Span hs = rows_of(s, oh);
      for (int64_t ow = 0; ow < s.out_width; ++ow) {
        visit(n, hs, cols_of(s, ow), ((n * s.out_height + oh) * s.out_width + ow) * s.channels);
      }
    }
  }
}

}  // namespace

template <class T>
void max_pool2d_forward_scalar(T* y, int64_t* argmax, const T* x, const Pool2dShape& s) {
  const int64_t H = s.height, W = s.width, C = s.channels;
  for_each_output(s, [&](int64_t n, Span hs, Span ws, int64_t out) {
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
      y[out + c] = best;
      argmax[out + c] = where;
    }
  });
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
  for_each_output(s, [&](int64_t n, Span hs, Span ws, int64_t out) {
    const T count = static_cast<T>(area(hs, ws));
    for (int64_t c = 0; c < C; ++c) {
      T sum = 0;
      for (int64_t h = hs.begin; h < hs.end; ++h)
        for (int64_t w = ws.begin; w < ws.end; ++w) sum += x[((n * H + h) * W + w) * C + c];
      y[out + c] = sum / count;
    }
  });
}

template <class T>
void avg_pool2d_backward_scalar(T* dx, const T* dy, const Pool2dShape& s) {
  const int64_t H = s.height, W = s.width, C = s.channels;
  std::fill(dx, dx + s.batch * H * W * C, T(0));
  for_each_output(s, [&](int64_t n, Span hs, Span ws, int64_t out) {
    const T count = static_cast<T>(area(hs, ws));
    for (int64_t c = 0; c < C; ++c) {
      const T share = dy[out + c] / count;
      for (int64_t h = hs.begin; h < hs.end; ++h)
        for (int64_t w = ws.begin; w < ws.end; ++w) dx[((n * H + h) * W + w) * C + c] += share;
    }
  });
}

#define NERVE_INSTANTIATE_POOLING_SCALAR(T)                                                   \
  template void max_pool2d_forward_scalar<T>(T*, int64_t*, const T*, const Pool2dShape&);     \
  template void max_pool2d_backward_scalar<T>(T*, const T*, const int64_t*,                   \
                                              const Pool2dShape&);                            \
  template void avg_pool2d_forward_scalar<T>(T*, const T*, const Pool2dShape&);               \
  template void avg_pool2d_backward_scalar<T>(T*, const T*, const Pool2dShape&);

NERVE_INSTANTIATE_POOLING_SCALAR(float)
NERVE_INSTANTIATE_POOLING_SCALAR(double)
#undef NERVE_INSTANTIATE_POOLING_SCALAR

}  // namespace nerve
