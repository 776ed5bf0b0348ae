// Optimizer updates, in place, over one contiguous parameter range (the model keeps all
// parameters in one flat buffer, so one call updates everything). Keras 3 conventions:
// weight_decay is decoupled, p -= lr * weight_decay * p, applied before the update.
//   sgd:     m = momentum*m - lr*g;  p += m  (nesterov: p += momentum*m - lr*g);
//            momentum == 0: p -= lr*g and velocity may be null.
//   adam:    m += (1-b1)(g - m); v += (1-b2)(g^2 - v);
//            p -= lr*sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)        (t = step >= 1)
//            AMSGrad (v_hat not null): v_hat = max(v_hat, v) (NaN kept), then v_hat in place of
//            v in the step; v_hat is overwritten, not accumulated into.
//   rmsprop: v = rho*v + (1-rho)g^2; centered: a = rho*a + (1-rho)g, d = max(v - a^2, 0) + eps,
//            else d = v + eps; inc = lr*g/sqrt(d); momentum: m = momentum*m + inc, p -= m,
//            else p -= inc. avg_grad null unless centered, mom null unless momentum > 0.
//   adagrad: acc += g^2; p -= lr*g/sqrt(acc + eps)
// Gradient clipping works over several ranges at once:
//   global_norm = sqrt(sum of all g^2) (fixed-chunk reduction, thread-count independent);
//   clip_by_global_norm scales every g by max_norm/global_norm when that is < 1;
//   clip_by_value clamps every g to [-clip, clip].
// All arrays have n elements, do not overlap each other; serial below kOptimSerialBelow.
#pragma once

#include <cstdint>

namespace nerve {

constexpr int64_t kOptimSerialBelow = 1 << 16;

template <class T>
void sgd_update(T* p, const T* g, T* velocity, int64_t n, T lr, T momentum, bool nesterov,
                T weight_decay);
template <class T>
void adam_update(T* p, const T* g, T* m, T* v, T* v_hat, int64_t n, T lr, T beta1, T beta2,
                 T eps, int64_t step, T weight_decay);
template <class T>
void rmsprop_update(T* p, const T* g, T* velocity, T* momentum_buf, T* avg_grad, int64_t n,
                    T lr, T rho, T momentum, T eps, T weight_decay);
template <class T>
void adagrad_update(T* p, const T* g, T* accumulator, int64_t n, T lr, T eps, T weight_decay);

template <class T>
double global_norm(const T* const* grads, const int64_t* sizes, int64_t count);
template <class T>
double clip_by_global_norm(T* const* grads, const int64_t* sizes, int64_t count, T max_norm);
template <class T>
void clip_by_value(T* const* grads, const int64_t* sizes, int64_t count, T clip);

// Scalar references for the tests of the vectorized versions: one thread, baseline code.
template <class T>
void sgd_update_scalar(T* p, const T* g, T* velocity, int64_t n, T lr, T momentum,
                       bool nesterov, T weight_decay);
template <class T>
void adam_update_scalar(T* p, const T* g, T* m, T* v, T* v_hat, int64_t n, T lr, T beta1,
                        T beta2, T eps, int64_t step, T weight_decay);
template <class T>
void rmsprop_update_scalar(T* p, const T* g, T* velocity, T* momentum_buf, T* avg_grad,
                           int64_t n, T lr, T rho, T momentum, T eps, T weight_decay);
template <class T>
void adagrad_update_scalar(T* p, const T* g, T* accumulator, int64_t n, T lr, T eps,
                           T weight_decay);

}  // namespace nerve
