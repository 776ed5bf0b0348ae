// Batch and layer normalization, forward and backward, float and double. Arrays are
// C-contiguous; the callers (bindings) check shapes, aliasing and epsilon > 0.
//
// Batch normalization views x and y as (outer, C, inner): channels_last data (N, ..., C) has
// inner = 1 and outer = the product of the other axes; channels_first (N, C, H, W) has
// outer = N and inner = H * W. Statistics are per channel over the m = outer * inner values.
//   batch_norm_forward:   mean, variance (C,) = the batch moments (variance biased, as
//                         keras.ops.moments); y = (x - mean) * rsqrt(variance + eps) * gamma
//                         + beta. Overwrites y, mean, variance.
//   batch_norm_backward:  the training-mode gradient, through the batch statistics, with
//                         xhat = (x - mean) * inv_std:
//                           dbeta = sum dy, dgamma = sum dy * xhat,
//                           dx = gamma * inv_std / m * (m * dy - dbeta - xhat * dgamma).
//   batch_norm_inference: y as in forward, from given (moving) statistics.
//   batch_norm_inference_backward: the statistics are constants: dx = dy * gamma * inv_std,
//                         dgamma and dbeta as above (used by a frozen layer in training).
// Layer normalization views x and y as (rows, features), statistics per row:
//   layer_norm_forward:   mean, inv_std (rows,) saved for the backward pass; y = (x - mean) *
//                         inv_std * gamma + beta.
//   layer_norm_backward:  g = dy * gamma; dx = inv_std / F * (F * g - sum g - xhat * sum g *
//                         xhat) per row; dgamma = column sums of dy * xhat, dbeta of dy.
// gamma and beta (C,) / (features,) may be null (1 and 0). dx may be null (not needed);
// dgamma, dbeta may be null; accumulate adds into dgamma and dbeta instead of overwriting.
// An empty reduction gives mean 0 and variance 0.
//
// Numerics: sums are in double. Batch statistics are two passes (mean, then squared
// deviations) over blocks of about kNormBlock elements, which stay in cache, merged with
// Chan's pairwise formula, so the variance is never negative and is accurate for data far
// from zero. Threading: fixed chunks of rows (at most kNormMaxChunks), partial sums merged in
// chunk order, so results are bitwise the same on any thread count; serial below
// kNormSerialBelow elements (an OpenMP region costs microseconds, a pass over 32K elements
// about as much).
#pragma once

#include <cstdint>

namespace nerve {

constexpr int64_t kNormSerialBelow = 1 << 15;
constexpr int64_t kNormBlock = 1 << 13;
constexpr int64_t kNormMaxChunks = 64;

template <class T>
void batch_norm_forward(T* y, T* mean, T* variance, const T* x, const T* gamma, const T* beta,
                        int64_t outer, int64_t C, int64_t inner, T epsilon);
template <class T>
void batch_norm_backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* mean,
                         const T* variance, const T* gamma, int64_t outer, int64_t C,
                         int64_t inner, T epsilon, bool accumulate);
template <class T>
void batch_norm_inference(T* y, const T* x, const T* mean, const T* variance, const T* gamma,
                          const T* beta, int64_t outer, int64_t C, int64_t inner, T epsilon);
template <class T>
void batch_norm_inference_backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x,
                                   const T* mean, const T* variance, const T* gamma,
                                   int64_t outer, int64_t C, int64_t inner, T epsilon,
                                   bool accumulate);
template <class T>
void layer_norm_forward(T* y, T* mean, T* inv_std, const T* x, const T* gamma, const T* beta,
                        int64_t rows, int64_t features, T epsilon);
template <class T>
void layer_norm_backward(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x, const T* mean,
                         const T* inv_std, const T* gamma, int64_t rows, int64_t features,
                         bool accumulate);

// Plain scalar versions (one thread, one pass per formula): the readable definitions.
template <class T>
void batch_norm_forward_scalar(T* y, T* mean, T* variance, const T* x, const T* gamma,
                               const T* beta, int64_t outer, int64_t C, int64_t inner, T epsilon);
template <class T>
void batch_norm_backward_scalar(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x,
                                const T* mean, const T* variance, const T* gamma, int64_t outer,
                                int64_t C, int64_t inner, T epsilon, bool accumulate);
template <class T>
void batch_norm_inference_scalar(T* y, const T* x, const T* mean, const T* variance,
                                 const T* gamma, const T* beta, int64_t outer, int64_t C,
                                 int64_t inner, T epsilon);
template <class T>
void batch_norm_inference_backward_scalar(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x,
                                          const T* mean, const T* variance, const T* gamma,
                                          int64_t outer, int64_t C, int64_t inner, T epsilon,
                                          bool accumulate);
template <class T>
void layer_norm_forward_scalar(T* y, T* mean, T* inv_std, const T* x, const T* gamma,
                               const T* beta, int64_t rows, int64_t features, T epsilon);
template <class T>
void layer_norm_backward_scalar(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x,
                                const T* mean, const T* inv_std, const T* gamma, int64_t rows,
                                int64_t features, bool accumulate);

}  // namespace nerve
