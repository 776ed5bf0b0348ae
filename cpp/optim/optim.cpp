// Optimizer dispatch (the formulas are in optim.h): the coefficients of a step, computed once
// per call, and the threading. The kernels come from the active instruction set's table
// (kernels.h, bodies in updates.h) and run over fixed chunks of kOptimGrain elements (threads
// above kOptimSerialBelow), so results are bitwise the same on any thread count; the *_scalar
// versions run the baseline kernels over the whole range on the calling thread.
#include "optim.h"

#include <cmath>
#include <type_traits>

#include "cpu.h"
#include "optim/kernels.h"
#include "parallel.h"

namespace nerve {
namespace {

using namespace optim;

constexpr int64_t kOptimGrain = 1 << 14;  // 64 KiB per float32 array: chunks stay in L2

template <class T>
const Kernels<T>& active_kernels() {
  if constexpr (std::is_same_v<T, float>)
    return for_active_isa(NERVE_ISA_TABLES(baseline_f32, avx2_f32, avx512_f32, neon_f32));
  else return for_active_isa(NERVE_ISA_TABLES(baseline_f64, avx2_f64, avx512_f64, neon_f64));
}

template <class T>
const Kernels<T>& baseline_kernels() {
  if constexpr (std::is_same_v<T, float>) return baseline_f32; else return baseline_f64;
}

// kernel(step, begin, end) over [0, n) in fixed chunks, threaded, for the active set.
template <class T, class Step>
void run_threaded(void (*Kernels<T>::*kernel)(const Step&, int64_t, int64_t), const Step& step,
                  int64_t n) {
  const auto run = active_kernels<T>().*kernel;
  parallel_for(n, kOptimGrain, kOptimSerialBelow,
               [&](int64_t begin, int64_t end) { run(step, begin, end); });
}

// The scalar reference: the baseline kernel over everything, on this thread.
template <class T, class Step>
void run_serial(void (*Kernels<T>::*kernel)(const Step&, int64_t, int64_t), const Step& step,
                int64_t n) {
  (baseline_kernels<T>().*kernel)(step, 0, n);
}

template <class T>
T decay_factor(T lr, T weight_decay) {
  return static_cast<T>(1.0 - static_cast<double>(lr) * weight_decay);
}

template <class T>
SgdStep<T> sgd_step(T* p, const T* g, T* velocity, T lr, T momentum, bool nesterov,
                    T weight_decay) {
  return {p, g, momentum == 0 ? nullptr : velocity, decay_factor(lr, weight_decay), lr,
          momentum, nesterov};
}

template <class T>
AdamStep<T> adam_step(T* p, const T* g, T* m, T* v, T* v_hat, T lr, T beta1, T beta2, T eps,
                      int64_t step, T weight_decay) {
  // Keras folds both bias corrections into the step size: lr*sqrt(1-b2^t)/(1-b1^t).
  const double t = static_cast<double>(step);
  const double alpha = lr * std::sqrt(1.0 - std::pow(static_cast<double>(beta2), t)) /
                       (1.0 - std::pow(static_cast<double>(beta1), t));
  return {p, g, m, v, v_hat, decay_factor(lr, weight_decay), static_cast<T>(alpha),
          static_cast<T>(1.0 - beta1), static_cast<T>(1.0 - beta2), eps};
}

template <class T>
RmspropStep<T> rmsprop_step(T* p, const T* g, T* velocity, T* momentum_buf, T* avg_grad,
                            T lr, T rho, T momentum, T eps, T weight_decay) {
  return {p, g, velocity, momentum > 0 ? momentum_buf : nullptr, avg_grad,
          decay_factor(lr, weight_decay), lr, rho, static_cast<T>(1.0 - rho), momentum, eps};
}

template <class T>
double sum_squares(const T* x, int64_t n) {
  const auto body = active_kernels<T>().sum_squares;
  return parallel_sum(n, kOptimGrain, kOptimSerialBelow,
                      [&](int64_t begin, int64_t end) { return body(x + begin, end - begin); });
}

// f(x + begin, end - begin) over fixed chunks of x (n elements), threaded.
template <class T, class F>
void for_chunks(T* x, int64_t n, F f) {
  parallel_for(n, kOptimGrain, kOptimSerialBelow,
               [&](int64_t begin, int64_t end) { f(x + begin, end - begin); });
}

}  // namespace

template <class T>
void sgd_update(T* p, const T* g, T* velocity, int64_t n, T lr, T momentum, bool nesterov,
                T weight_decay) {
  run_threaded(&Kernels<T>::sgd,
               sgd_step(p, g, velocity, lr, momentum, nesterov, weight_decay), n);
}

template <class T>
void sgd_update_scalar(T* p, const T* g, T* velocity, int64_t n, T lr, T momentum,
                       bool nesterov, T weight_decay) {
  run_serial(&Kernels<T>::sgd, sgd_step(p, g, velocity, lr, momentum, nesterov, weight_decay),
             n);
}

template <class T>
void adam_update(T* p, const T* g, T* m, T* v, T* v_hat, int64_t n, T lr, T beta1, T beta2,
                 T eps, int64_t step, T weight_decay) {
  run_threaded(&Kernels<T>::adam,
               adam_step(p, g, m, v, v_hat, lr, beta1, beta2, eps, step, weight_decay), n);
}

template <class T>
void adam_update_scalar(T* p, const T* g, T* m, T* v, T* v_hat, int64_t n, T lr, T beta1,
                        T beta2, T eps, int64_t step, T weight_decay) {
  run_serial(&Kernels<T>::adam,
             adam_step(p, g, m, v, v_hat, lr, beta1, beta2, eps, step, weight_decay), n);
}

template <class T>
void rmsprop_update(T* p, const T* g, T* velocity, T* momentum_buf, T* avg_grad, int64_t n,
                    T lr, T rho, T momentum, T eps, T weight_decay) {
  run_threaded(&Kernels<T>::rmsprop,
               rmsprop_step(p, g, velocity, momentum_buf, avg_grad, lr, rho, momentum, eps,
                            weight_decay), n);
}

template <class T>
void rmsprop_update_scalar(T* p, const T* g, T* velocity, T* momentum_buf, T* avg_grad,
                           int64_t n, T lr, T rho, T momentum, T eps, T weight_decay) {
  run_serial(&Kernels<T>::rmsprop,
             rmsprop_step(p, g, velocity, momentum_buf, avg_grad, lr, rho, momentum, eps,
                          weight_decay), n);
}

template <class T>
void adagrad_update(T* p, const T* g, T* accumulator, int64_t n, T lr, T eps, T weight_decay) {
  run_threaded(&Kernels<T>::adagrad,
               AdagradStep<T>{p, g, accumulator, decay_factor(lr, weight_decay), lr, eps}, n);
}

template <class T>
void adagrad_update_scalar(T* p, const T* g, T* accumulator, int64_t n, T lr, T eps,
                           T weight_decay) {
  run_serial(&Kernels<T>::adagrad,
             AdagradStep<T>{p, g, accumulator, decay_factor(lr, weight_decay), lr, eps}, n);
}

template <class T>
double global_norm(const T* const* grads, const int64_t* sizes, int64_t count) {
  double total = 0.0;
  for (int64_t k = 0; k < count; ++k) total += sum_squares(grads[k], sizes[k]);
  return std::sqrt(total);
}

template <class T>
double clip_by_global_norm(T* const* grads, const int64_t* sizes, int64_t count, T max_norm) {
  const double norm = global_norm<T>(grads, sizes, count);
  if (!(norm > max_norm)) return norm;
  const T factor = static_cast<T>(max_norm / norm);
  const auto scale = active_kernels<T>().scale;
  for (int64_t k = 0; k < count; ++k) {
    for_chunks(grads[k], sizes[k], [&](T* x, int64_t n) { scale(x, n, factor); });
  }
  return norm;
}

template <class T>
void clip_by_value(T* const* grads, const int64_t* sizes, int64_t count, T limit) {
  const auto clip = active_kernels<T>().clip;
  for (int64_t k = 0; k < count; ++k) {
    for_chunks(grads[k], sizes[k], [&](T* x, int64_t n) { clip(x, n, limit); });
  }
}

#define NERVE_INSTANTIATE_OPTIM(T)                                                             \
  template void sgd_update<T>(T*, const T*, T*, int64_t, T, T, bool, T);                       \
  template void sgd_update_scalar<T>(T*, const T*, T*, int64_t, T, T, bool, T);                \
  template void adam_update<T>(T*, const T*, T*, T*, T*, int64_t, T, T, T, T, int64_t, T);     \
  template void adam_update_scalar<T>(T*, const T*, T*, T*, T*, int64_t, T, T, T, T, int64_t,  \
                                      T);                                                      \
  template void rmsprop_update<T>(T*, const T*, T*, T*, T*, int64_t, T, T, T, T, T);           \
  template void rmsprop_update_scalar<T>(T*, const T*, T*, T*, T*, int64_t, T, T, T, T, T);    \
  template void adagrad_update<T>(T*, const T*, T*, int64_t, T, T, T);                         \
  template void adagrad_update_scalar<T>(T*, const T*, T*, int64_t, T, T, T);                  \
  template double global_norm<T>(const T* const*, const int64_t*, int64_t);                    \
  template double clip_by_global_norm<T>(T* const*, const int64_t*, int64_t, T);               \
  template void clip_by_value<T>(T* const*, const int64_t*, int64_t, T);

NERVE_INSTANTIATE_OPTIM(float)
NERVE_INSTANTIATE_OPTIM(double)

}  // namespace nerve
