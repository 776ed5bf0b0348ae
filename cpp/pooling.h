// 2-D max and average pooling, forward and backward, float and double, NHWC layout:
//   x, dx      (N, H, W, C)     the input and its gradient
//   y, dy      (N, OH, OW, C)   the output and its gradient
//   argmax     (N, OH, OW, C)   int64: flat index h * W + w, inside its image, of the input
//                               element each output took
// Output (oh, ow) pools the window of rows [oh * stride_h - pad_top, ... + pool_h) and
// columns [ow * stride_w - pad_left, ... + pool_w), clipped to the image: padding is never a
// value, it only moves the windows (Keras/TensorFlow "same" pooling).
//   max forward:  y = the window's maximum, argmax = where it is: the first maximum in
//                 row-major window order; a NaN beats every number (the first NaN wins), so NaN
//                 propagates as in np.max. Overwrites y and argmax.
//   max backward: dx = 0, then dx[n, argmax, c] += dy for every output. Overwrites dx.
//   avg forward:  y = the mean of the window's in-bounds elements (the count excludes the
//                 padding). Overwrites y.
//   avg backward: dx = 0, then each output's dy / count added to its window. Overwrites dx.
// Contract (checked by the bindings): every window holds at least one in-bounds element
// (0 <= pad < pool, (OH - 1) * stride_h - pad_top < H, likewise for columns), every argmax
// value is in [0, H * W), outputs overlap no input.
// Threading: forward over output rows (n, oh), backward over images n (windows overlap when
// stride < pool, and one image's scatter stays serial and in order); serial below
// kPoolSerialBelow element visits. Chunks are fixed by the sizes alone, and every element is
// computed in the same order whatever the thread count, so results are bitwise independent of
// it. The loop over C is innermost and contiguous: gcc vectorizes it.
#pragma once

#include <cstdint>

namespace nerve {

// An OpenMP region costs a few microseconds to start; 32K element visits (a 16x16x128 tile
// pooled 2x2) take about that long on one core, so smaller calls stay on the calling thread.
constexpr int64_t kPoolSerialBelow = 1 << 15;

struct Pool2dShape {
  int64_t batch, height, width, channels;  // N, H, W, C
  int64_t out_height, out_width;           // OH, OW
  int64_t pool_h, pool_w, stride_h, stride_w, pad_top, pad_left;
};

template <class T>
void max_pool2d_forward(T* y, int64_t* argmax, const T* x, const Pool2dShape& s);
template <class T>
void max_pool2d_backward(T* dx, const T* dy, const int64_t* argmax, const Pool2dShape& s);
template <class T>
void avg_pool2d_forward(T* y, const T* x, const Pool2dShape& s);
template <class T>
void avg_pool2d_backward(T* dx, const T* dy, const Pool2dShape& s);

// Plain scalar versions, one element at a time on the calling thread: the readable definition
// the optimized kernels are tested against.
template <class T>
void max_pool2d_forward_scalar(T* y, int64_t* argmax, const T* x, const Pool2dShape& s);
template <class T>
void max_pool2d_backward_scalar(T* dx, const T* dy, const int64_t* argmax, const Pool2dShape& s);
template <class T>
void avg_pool2d_forward_scalar(T* y, const T* x, const Pool2dShape& s);
template <class T>
void avg_pool2d_backward_scalar(T* dx, const T* dy, const Pool2dShape& s);

}  // namespace nerve
