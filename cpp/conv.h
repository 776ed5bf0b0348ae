// 2-D convolution (1-D is the H = 1 case), NHWC data and Keras's kernel layout.
//   Geometry: X (N, H, W, C), kernel Wt (KH, KW, C / G, F) read as the (KH*KW*C/G, F) matrix,
//   Y and Z (N, OH, OW, F). Output pixel (oh, ow), tap (i, j) reads input row
//   oh*SH - PT + i*DH and column ow*SW - PL + j*DW; taps outside the input read zero (padding).
//   Group g (G groups) maps input channels [g*C/G, (g+1)*C/G) to filters [g*F/G, (g+1)*F/G).
//   conv2d_forward:  Z = conv(X, Wt) + b, Y = act(Z). b (F) or null. Z may be null (not
//          stored) or Y's buffer when the activation is linear. Overwrites Y (and Z).
//   conv2d_backward: dZ = act'(Z) * dY; dX = conv^T(dZ, Wt) (null: not wanted), dWt (+)=
//          patches^T dZ, db (+)= per-filter sums of dZ (null: no bias). dZ (N, OH, OW, F) is
//          an output and may be exactly dY. `accumulate` adds into dWt and db.
// Both are the packed GEMM of matmul.h over tiles of output pixels: each tile's image patches
// are gathered into an L2-resident (rows x KH*KW*C/G) block, the A operand the micro-kernel
// reads in place; no full im2col matrix is ever built. A pointwise conv (1x1, stride 1, no
// padding, one group) reads X itself. Threads split output tiles (forward), fixed groups of
// tiles whose weight-gradient partials are summed in order (dWt, db), and images (dX), so
// results are bitwise independent of the thread count; serial below kConvSerialBelow flops.
#pragma once

#include <cstdint>

#include "activations.h"

namespace nerve {

struct ConvShape {
  int64_t N, H, W, C;     // input
  int64_t OH, OW, F;      // output
  int64_t KH, KW;         // kernel taps
  int64_t SH, SW;         // strides
  int64_t DH, DW;         // dilations
  int64_t PT, PL;         // zeros before the first row / column (after: implied by OH, OW)
  int64_t G;              // groups
};

// Same cost model as gemm's kGemmSerialBelow (~33 us of work at 1-thread GEMM speed).
constexpr int64_t kConvSerialBelow = int64_t{3} << 20;

template <class T>
void conv2d_forward(T* y, T* z, const T* x, const T* w, const T* b, const ConvShape& s,
                    Activation act, T alpha);

template <class T>
void conv2d_backward(T* dx, T* dw, T* db, T* dz, const T* dy, const T* x, const T* w,
                     const T* z, const T* y, const ConvShape& s, Activation act, T alpha,
                     bool accumulate);

// The definitions, as direct loops, single-threaded: what the fast kernels are tested against.
template <class T>
void conv2d_forward_scalar(T* y, T* z, const T* x, const T* w, const T* b, const ConvShape& s,
                           Activation act, T alpha);

template <class T>
void conv2d_backward_scalar(T* dx, T* dw, T* db, T* dz, const T* dy, const T* x, const T* w,
                            const T* z, const T* y, const ConvShape& s, Activation act, T alpha,
                            bool accumulate);

}  // namespace nerve
