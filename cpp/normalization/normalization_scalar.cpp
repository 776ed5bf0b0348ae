// The scalar twins of cpp/normalization.cpp: each formula as one plain loop over the
// elements, in double, on one thread (the readable definitions the tests check the fast
// kernels against). Conventions: normalization.h.
#include <cmath>

#include "normalization.h"

namespace nerve {

namespace {

// Index of element (o, c, i) of an (outer, C, inner) array.
inline int64_t at(int64_t o, int64_t c, int64_t i, int64_t C, int64_t inner) {
  return (o * C + c) * inner + i;
}

double inverse_std_scalar(double variance, double epsilon) {
  return 1.0 / std::sqrt(variance + epsilon);
}

template <class T>
void normalize_scalar(T* y, const T* x, const T* mean, const T* variance, const T* gamma,
                      const T* beta, int64_t outer, int64_t C, int64_t inner, T epsilon) {
  for (int64_t c = 0; c < C; ++c) {
    const double inv = inverse_std_scalar(double(variance[c]), double(epsilon));
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t j = at(o, c, i, C, inner);
        const double xhat = (double(x[j]) - double(mean[c])) * inv;
        y[j] = T(xhat * (gamma ? double(gamma[c]) : 1.0) + (beta ? double(beta[c]) : 0.0));
      }
    }
  }
}

// Channel c's sums of dy and of dy * xhat, xhat = (x - mean) * inv.
struct ChannelSums {
  double dy, dy_xhat;
};
template <class T>
ChannelSums channel_sums_scalar(const T* dy, const T* x, const T* mean, double inv, int64_t c,
                                int64_t outer, int64_t C, int64_t inner) {
  ChannelSums sums{0, 0};
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t j = at(o, c, i, C, inner);
      sums.dy += double(dy[j]);
      sums.dy_xhat += double(dy[j]) * (double(x[j]) - double(mean[c])) * inv;
    }
  }
  return sums;
}

// dgamma, dbeta from the statistics (mean, variance) held constant.
template <class T>
void weight_grads_scalar(T* dgamma, T* dbeta, const T* dy, const T* x, const T* mean,
                         const T* variance, int64_t outer, int64_t C, int64_t inner, T epsilon,
                         bool accumulate) {
  for (int64_t c = 0; c < C; ++c) {
    const double inv = inverse_std_scalar(double(variance[c]), double(epsilon));
    const ChannelSums sums = channel_sums_scalar(dy, x, mean, inv, c, outer, C, inner);
    if (dgamma) dgamma[c] = T((accumulate ? double(dgamma[c]) : 0.0) + sums.dy_xhat);
    if (dbeta) dbeta[c] = T((accumulate ? double(dbeta[c]) : 0.0) + sums.dy);
  }
}

}  // namespace

template <class T>
void batch_norm_forward_scalar(T* y, T* mean, T* variance, const T* x, const T* gamma,
                               const T* beta, int64_t outer, int64_t C, int64_t inner,
                               T epsilon) {
  const int64_t m = outer * inner;
  for (int64_t c = 0; c < C; ++c) {
    double sum = 0, squares = 0;
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) sum += double(x[at(o, c, i, C, inner)]);
    }
    const double mu = m ? sum / m : 0.0;
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        const double d = double(x[at(o, c, i, C, inner)]) - mu;
        squares += d * d;
      }
    }
    mean[c] = T(mu);
    variance[c] = T(m ? squares / m : 0.0);
  }
  normalize_scalar(y, x, mean, variance, gamma, beta, outer, C, inner, epsilon);
}

template <class T>
void batch_norm_backward_scalar(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x,
                                const T* mean, const T* variance, const T* gamma, int64_t outer,
                                int64_t C, int64_t inner, T epsilon, bool accumulate) {
  const double m = static_cast<double>(outer * inner);
  for (int64_t c = 0; dx && c < C; ++c) {
    const double inv = inverse_std_scalar(double(variance[c]), double(epsilon));
    const ChannelSums sums = channel_sums_scalar(dy, x, mean, inv, c, outer, C, inner);
    const double g = gamma ? double(gamma[c]) : 1.0;
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t j = at(o, c, i, C, inner);
        const double xhat = (double(x[j]) - double(mean[c])) * inv;
        dx[j] = T(g * inv / m * (m * double(dy[j]) - sums.dy - xhat * sums.dy_xhat));
      }
    }
  }
  weight_grads_scalar(dgamma, dbeta, dy, x, mean, variance, outer, C, inner, epsilon, accumulate);
}

template <class T>
void batch_norm_inference_scalar(T* y, const T* x, const T* mean, const T* variance,
                                 const T* gamma, const T* beta, int64_t outer, int64_t C,
                                 int64_t inner, T epsilon) {
  normalize_scalar(y, x, mean, variance, gamma, beta, outer, C, inner, epsilon);
}

template <class T>
void batch_norm_inference_backward_scalar(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x,
                                          const T* mean, const T* variance, const T* gamma,
                                          int64_t outer, int64_t C, int64_t inner, T epsilon,
                                          bool accumulate) {
  for (int64_t c = 0; dx && c < C; ++c) {
    const double inv = inverse_std_scalar(double(variance[c]), double(epsilon));
    const double g = gamma ? double(gamma[c]) : 1.0;
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t j = at(o, c, i, C, inner);
        dx[j] = T(double(dy[j]) * g * inv);
      }
    }
  }
  weight_grads_scalar(dgamma, dbeta, dy, x, mean, variance, outer, C, inner, epsilon, accumulate);
}

template <class T>
void layer_norm_forward_scalar(T* y, T* mean, T* inv_std, const T* x, const T* gamma,
                               const T* beta, int64_t rows, int64_t features, T epsilon) {
  const int64_t F = features;
  for (int64_t r = 0; r < rows; ++r) {
    double sum = 0, squares = 0;
    for (int64_t f = 0; f < F; ++f) sum += double(x[r * F + f]);
    const double mu = F ? sum / F : 0.0;
    for (int64_t f = 0; f < F; ++f) squares += (double(x[r * F + f]) - mu) * (double(x[r * F + f]) - mu);
    const double inv = 1.0 / std::sqrt((F ? squares / F : 0.0) + double(epsilon));
    mean[r] = T(mu);
    inv_std[r] = T(inv);
    for (int64_t f = 0; f < F; ++f) {
      const double xhat = (double(x[r * F + f]) - mu) * inv;
      y[r * F + f] = T(xhat * (gamma ? double(gamma[f]) : 1.0) + (beta ? double(beta[f]) : 0.0));
    }
  }
}

template <class T>
void layer_norm_backward_scalar(T* dx, T* dgamma, T* dbeta, const T* dy, const T* x,
                                const T* mean, const T* inv_std, const T* gamma, int64_t rows,
                                int64_t features, bool accumulate) {
  const int64_t F = features;
  for (int64_t f = 0; f < F; ++f) {
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const double xhat = (double(x[r * F + f]) - double(mean[r])) * double(inv_std[r]);
      sum_dy += double(dy[r * F + f]);
      sum_dy_xhat += double(dy[r * F + f]) * xhat;
    }
    if (dgamma) dgamma[f] = T((accumulate ? double(dgamma[f]) : 0.0) + sum_dy_xhat);
    if (dbeta) dbeta[f] = T((accumulate ? double(dbeta[f]) : 0.0) + sum_dy);
  }
  for (int64_t r = 0; dx && r < rows; ++r) {
    const double inv = double(inv_std[r]);
    double sum_g = 0, sum_g_xhat = 0;
    for (int64_t f = 0; f < F; ++f) {
      const double g = double(dy[r * F + f]) * (gamma ? double(gamma[f]) : 1.0);
      sum_g += g;
      sum_g_xhat += g * (double(x[r * F + f]) - double(mean[r])) * inv;
    }
    for (int64_t f = 0; f < F; ++f) {
      const double g = double(dy[r * F + f]) * (gamma ? double(gamma[f]) : 1.0);
      const double xhat = (double(x[r * F + f]) - double(mean[r])) * inv;
      dx[r * F + f] = T(inv / F * (F * g - sum_g - xhat * sum_g_xhat));
    }
  }
}

#define NERVE_INSTANTIATE_NORMALIZATION_SCALAR(T)                                             \
  template void batch_norm_forward_scalar<T>(T*, T*, T*, const T*, const T*, const T*,        \
                                             int64_t, int64_t, int64_t, T);                    \
  template void batch_norm_backward_scalar<T>(T*, T*, T*, const T*, const T*, const T*,       \
                                              const T*, const T*, int64_t, int64_t, int64_t,   \
                                              T, bool);                                        \
  template void batch_norm_inference_scalar<T>(T*, const T*, const T*, const T*, const T*,    \
                                               const T*, int64_t, int64_t, int64_t, T);        \
  template void batch_norm_inference_backward_scalar<T>(T*, T*, T*, const T*, const T*,       \
                                                        const T*, const T*, const T*, int64_t, \
                                                        int64_t, int64_t, T, bool);            \
  template void layer_norm_forward_scalar<T>(T*, T*, T*, const T*, const T*, const T*,        \
                                             int64_t, int64_t, T);                             \
  template void layer_norm_backward_scalar<T>(T*, T*, T*, const T*, const T*, const T*,       \
                                              const T*, const T*, int64_t, int64_t, bool);

NERVE_INSTANTIATE_NORMALIZATION_SCALAR(float)
NERVE_INSTANTIATE_NORMALIZATION_SCALAR(double)
#undef NERVE_INSTANTIATE_NORMALIZATION_SCALAR

}  // namespace nerve
