// Activation kernels (contract in activations.h): names, the scalar definitions, dispatch and
// threading. Each element-wise kind is one struct holding f / df, the scalar definition
// (forward, backward), run by the *_scalar entry points and by the baseline instruction-set
// path. The vector versions are in vector.h, instantiated per ISA by kernels_avx2.cpp and
// kernels_avx512.cpp; float64 kinds that need exp/log/erf have none and run f/df (std::
// functions) on every path.
// Overwrite semantics: every element is read before its output is written, so y may be x and
// dx may be dy. Element-wise kinds treat (rows, cols) as one flat range split into fixed chunks
// of kElementGrain elements; softmax splits rows into chunks of about as many elements. Below
// kActivationSerialBelow elements everything runs on the calling thread.
#include "activations.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

#include "activations/kernels.h"
#include "cpu.h"
#include "parallel.h"

namespace nerve {

namespace {

struct NamedActivation {
  const char* name;
  Activation act;
};

// The first entry of each kind is its canonical name.
constexpr NamedActivation kNames[] = {
    {"linear", Activation::linear},       {"relu", Activation::relu},
    {"leaky_relu", Activation::leaky_relu}, {"elu", Activation::elu},
    {"selu", Activation::selu},           {"sigmoid", Activation::sigmoid},
    {"hard_sigmoid", Activation::hard_sigmoid}, {"tanh", Activation::tanh},
    {"softplus", Activation::softplus},   {"softsign", Activation::softsign},
    {"silu", Activation::silu},           {"swish", Activation::silu},
    {"gelu", Activation::gelu},           {"gelu_tanh", Activation::gelu_tanh},
    {"exponential", Activation::exponential}, {"softmax", Activation::softmax},
    {"step", Activation::step},
};

// 16K elements: 64 KiB of float per chunk, large enough to amortise scheduling, small
// enough to balance two threads when one core is busy elsewhere. A multiple of the lane width.
constexpr int64_t kElementGrain = 1 << 14;

constexpr double kSqrtHalf = 0.70710678118654752440084436210485;
constexpr double kInvSqrt2Pi = 0.39894228040143267793994605993438;

// 1 / (1 + e^-x) evaluated with e^-|x| only, so it never overflows.
template <class T>
T sigmoid_of(T x) {
  const T e = std::exp(-std::abs(x));
  const T r = T(1) / (T(1) + e);
  return x >= 0 ? r : e * r;
}

// ---- Element-wise kinds ---------------------------------------------------------------------

// y = x.
struct Linear {
  template <class T> static T f(T x, T) { return x; }
  template <class T> static T df(T, T, T dy, T) { return dy; }
};

// y = max(x, 0) (NaN passes through); dy where x > 0.
struct Relu {
  template <class T> static T f(T x, T) { return x < 0 ? T(0) : x; }
  template <class T> static T df(T x, T, T dy, T) { return x > 0 ? dy : T(0); }
};

// y = x for x >= 0, alpha x below; derivative alpha at 0 (as TensorFlow).
struct LeakyRelu {
  template <class T> static T f(T x, T alpha) { return x < 0 ? alpha * x : x; }
  template <class T> static T df(T x, T, T dy, T alpha) { return x > 0 ? dy : alpha * dy; }
};

// y = x for x > 0, alpha (e^x - 1) otherwise; below 0 the derivative alpha e^x is y + alpha.
struct Elu {
  template <class T> static T f(T x, T alpha) { return x > 0 ? x : alpha * std::expm1(x); }
  template <class T> static T df(T x, T y, T dy, T alpha) { return x > 0 ? dy : dy * (y + alpha); }
};

// Elu with Keras's fixed alpha, scaled: y = scale * elu(x, kSeluAlpha).
struct Selu {
  template <class T> static T f(T x, T) {
    return T(kSeluScale) * (x > 0 ? x : T(kSeluAlpha) * std::expm1(x));
  }
  template <class T> static T df(T x, T y, T dy, T) {
    return x > 0 ? T(kSeluScale) * dy : dy * (y + T(kSeluScale * kSeluAlpha));
  }
};

// y = 1 / (1 + e^-x); derivative y (1 - y).
struct Sigmoid {
  template <class T> static T f(T x, T) { return sigmoid_of(x); }
  template <class T> static T df(T, T y, T dy, T) { return dy * y * (T(1) - y); }
};

// Keras 3: y = clip(x / 6 + 1/2, 0, 1); slope 1/6 strictly inside (-3, 3).
struct HardSigmoid {
  template <class T> static T f(T x, T) {
    const T v = x / T(6) + T(0.5);
    return v < 0 ? T(0) : (v > 1 ? T(1) : v);
  }
  template <class T> static T df(T x, T, T dy, T) { return x > -3 && x < 3 ? dy / T(6) : T(0); }
};

// y = tanh(x); derivative 1 - y^2.
struct Tanh {
  template <class T> static T f(T x, T) { return std::tanh(x); }
  template <class T> static T df(T, T y, T dy, T) { return dy * (T(1) - y * y); }
};

// y = log(1 + e^x) = max(x, 0) + log1p(e^-|x|), never overflowing; derivative sigmoid(x).
struct Softplus {
  template <class T> static T f(T x, T) { return std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x))); }
  template <class T> static T df(T x, T, T dy, T) { return dy * sigmoid_of(x); }
};

// y = x / (1 + |x|); derivative 1 / (1 + |x|)^2.
struct Softsign {
  template <class T> static T f(T x, T) { return x / (T(1) + std::abs(x)); }
  template <class T> static T df(T x, T, T dy, T) {
    const T d = T(1) + std::abs(x);
    return dy / (d * d);
  }
};

// y = x sigmoid(x); derivative s (1 + x (1 - s)) with s = sigmoid(x).
struct Silu {
  template <class T> static T f(T x, T) { return x * sigmoid_of(x); }
  template <class T> static T df(T x, T, T dy, T) {
    const T s = sigmoid_of(x);
    return dy * (s * (T(1) + x * (T(1) - s)));
  }
};

// y = x/2 (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), computed as x sigmoid(2u), which
// keeps its accuracy in the negative tail where 1 + tanh(u) cancels.
// Derivative s + 2 x s (1 - s) u' with s = sigmoid(2u), u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2),
// taken at x clamped to [-20, 20]: beyond, it is 1 or 0 to double precision, and the clamp
// keeps x u' finite (inf * 0 would give NaN).
struct GeluTanh {
  template <class T> static T f(T x, T) {
    const T u = T(kSqrt2OverPi) * (x + T(kGeluCubic) * x * x * x);
    return x * sigmoid_of(T(2) * u);
  }
  template <class T> static T df(T x_in, T, T dy, T) {
    const T x = std::clamp(x_in, T(-kGeluGradClamp), T(kGeluGradClamp));
    const T u = T(kSqrt2OverPi) * (x + T(kGeluCubic) * x * x * x);
    const T du = T(kSqrt2OverPi) * (T(1) + T(3 * kGeluCubic) * x * x);
    const T s = sigmoid_of(T(2) * u);
    return dy * (s + T(2) * x * s * (T(1) - s) * du);
  }
};

// Exact: y = x Phi(x), Phi(x) = erfc(-x / sqrt 2) / 2 (erfc keeps the negative tail accurate);
// derivative Phi(x) + x phi(x).
struct Gelu {
  template <class T> static T f(T x, T) { return x * T(0.5) * std::erfc(-x * T(kSqrtHalf)); }
  template <class T> static T df(T x, T, T dy, T) {
    const T cdf = T(0.5) * std::erfc(-x * T(kSqrtHalf));
    const T pdf = T(kInvSqrt2Pi) * std::exp(T(-0.5) * x * x);
    return dy * (cdf + x * pdf);
  }
};

// y = e^x; derivative y.
struct Exponential {
  template <class T> static T f(T x, T) { return std::exp(x); }
  template <class T> static T df(T, T y, T dy, T) { return dy * y; }
};

// y = 1 when x >= theta (alpha), else 0. Forward only (bindings reject its backward); the
// derivative, zero wherever it exists, is what the kernel writes if asked.
struct Step {
  template <class T> static T f(T x, T theta) { return x >= theta ? T(1) : T(0); }
  template <class T> static T df(T, T, T, T) { return T(0); }
};

// Calls visit(Kind{}) with the struct of an element-wise kind (never softmax).
template <class Visit>
void visit_elementwise(Activation act, Visit&& visit) {
  switch (act) {
    case Activation::linear: return visit(Linear{});
    case Activation::relu: return visit(Relu{});
    case Activation::leaky_relu: return visit(LeakyRelu{});
    case Activation::elu: return visit(Elu{});
    case Activation::selu: return visit(Selu{});
    case Activation::sigmoid: return visit(Sigmoid{});
    case Activation::hard_sigmoid: return visit(HardSigmoid{});
    case Activation::tanh: return visit(Tanh{});
    case Activation::softplus: return visit(Softplus{});
    case Activation::softsign: return visit(Softsign{});
    case Activation::silu: return visit(Silu{});
    case Activation::gelu_tanh: return visit(GeluTanh{});
    case Activation::gelu: return visit(Gelu{});
    case Activation::exponential: return visit(Exponential{});
    case Activation::step: return visit(Step{});
    case Activation::softmax: break;
  }
}

// Plain loops over a flat range: the scalar definitions.
template <class Kind, class T>
void forward_range_scalar(T* y, const T* x, int64_t n, T alpha) {
  for (int64_t i = 0; i < n; ++i) y[i] = Kind::f(x[i], alpha);
}

template <class Kind, class T>
void backward_range_scalar(T* dx, const T* dy, const T* x, const T* y, int64_t n, T alpha) {
  for (int64_t i = 0; i < n; ++i) dx[i] = Kind::df(x[i], y[i], dy[i], alpha);
}

// ---- Softmax, row-wise ----------------------------------------------------------------------

// y = e^(x - max x) / sum e^(x - max x) over one row. A row holding NaN, +inf, or only -inf
// gives NaN everywhere (x - max is NaN somewhere, and the sum carries it).
template <class T>
void softmax_row_scalar(T* y, const T* x, int64_t cols) {
  T peak = -std::numeric_limits<T>::infinity();
  for (int64_t j = 0; j < cols; ++j) peak = x[j] > peak ? x[j] : peak;
  T sum = 0;
  for (int64_t j = 0; j < cols; ++j) {
    y[j] = std::exp(x[j] - peak);
    sum += y[j];
  }
  const T inv = T(1) / sum;
  for (int64_t j = 0; j < cols; ++j) y[j] *= inv;
}

// dx = y (dy - sum(dy y)) over one row; dx may be dy.
template <class T>
void softmax_backward_row_scalar(T* dx, const T* dy, const T* y, int64_t cols) {
  T dot = 0;
  for (int64_t j = 0; j < cols; ++j) dot += dy[j] * y[j];
  for (int64_t j = 0; j < cols; ++j) dx[j] = y[j] * (dy[j] - dot);
}

// Rows per chunk so a chunk holds about kElementGrain elements.
int64_t row_grain(int64_t cols) {
  return std::max<int64_t>(1, kElementGrain / std::max<int64_t>(cols, 1));
}
int64_t serial_rows(int64_t cols) {
  const int64_t c = std::max<int64_t>(cols, 1);
  return (kActivationSerialBelow + c - 1) / c;
}

// ---- Dispatch -------------------------------------------------------------------------------

// The vector kernels of the active instruction set; all null on the baseline path.
template <class T>
const ActivationKernels<T>& vector_kernels() {
  static constexpr ActivationKernelSet kNone{};
  const ActivationKernelSet& set = for_active_isa(
      NERVE_ISA_TABLES(kNone, activation_kernels_avx2, activation_kernels_avx512, activation_kernels_neon));
  if constexpr (std::is_same_v<T, float>) return set.f32;
  else return set.f64;
}

// The vector kernel where there is one, else the scalar definition.
template <class Kernel>
Kernel vector_or(Kernel vector, Kernel scalar) { return vector ? vector : scalar; }

template <class T>
void softmax_forward(T* y, const T* x, int64_t rows, int64_t cols) {
  const auto row_kernel = vector_or(vector_kernels<T>().softmax_row, &softmax_row_scalar<T>);
  parallel_for(rows, row_grain(cols), serial_rows(cols), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) row_kernel(y + r * cols, x + r * cols, cols);
  });
}

template <class T>
void softmax_backward(T* dx, const T* dy, const T* y, int64_t rows, int64_t cols) {
  const auto row_kernel =
      vector_or(vector_kernels<T>().softmax_backward_row, &softmax_backward_row_scalar<T>);
  parallel_for(rows, row_grain(cols), serial_rows(cols), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) row_kernel(dx + r * cols, dy + r * cols, y + r * cols, cols);
  });
}

}  // namespace

bool parse_activation(const char* name, Activation* out) {
  for (const auto& entry : kNames) {
    if (std::strcmp(entry.name, name) == 0) {
      *out = entry.act;
      return true;
    }
  }
  return false;
}

const char* activation_name(Activation a) {
  for (const auto& entry : kNames)
    if (entry.act == a) return entry.name;
  return "unknown";
}

const char* activation_names() {
  static const std::string names = [] {
    std::string s;
    for (const auto& entry : kNames) s += (s.empty() ? "" : ", ") + std::string(entry.name);
    return s;
  }();
  return names.c_str();
}

bool activation_has_backward(Activation a) { return a != Activation::step; }

template <class T>
void activation_forward(Activation act, T* y, const T* x, int64_t rows, int64_t cols, T alpha) {
  if (act == Activation::softmax) return softmax_forward(y, x, rows, cols);
  visit_elementwise(act, [&](auto kind) {
    const auto kernel = vector_or(vector_kernels<T>().forward[static_cast<int>(act)],
                                  &forward_range_scalar<decltype(kind), T>);
    parallel_for(rows * cols, kElementGrain, kActivationSerialBelow, [&](int64_t begin, int64_t end) {
      kernel(y + begin, x + begin, end - begin, alpha);
    });
  });
}

template <class T>
void activation_backward(Activation act, T* dx, const T* dy, const T* x, const T* y,
                         int64_t rows, int64_t cols, T alpha) {
  if (act == Activation::softmax) return softmax_backward(dx, dy, y, rows, cols);
  visit_elementwise(act, [&](auto kind) {
    const auto kernel = vector_or(vector_kernels<T>().backward[static_cast<int>(act)],
                                  &backward_range_scalar<decltype(kind), T>);
    parallel_for(rows * cols, kElementGrain, kActivationSerialBelow, [&](int64_t begin, int64_t end) {
      kernel(dx + begin, dy + begin, x + begin, y + begin, end - begin, alpha);
    });
  });
}

template <class T>
void activation_forward_scalar(Activation act, T* y, const T* x, int64_t rows, int64_t cols, T alpha) {
  if (act == Activation::softmax) {
    for (int64_t r = 0; r < rows; ++r) softmax_row_scalar(y + r * cols, x + r * cols, cols);
    return;
  }
  visit_elementwise(act, [&](auto kind) {
    forward_range_scalar<decltype(kind)>(y, x, rows * cols, alpha);
  });
}

template <class T>
void activation_backward_scalar(Activation act, T* dx, const T* dy, const T* x, const T* y,
                                int64_t rows, int64_t cols, T alpha) {
  if (act == Activation::softmax) {
    for (int64_t r = 0; r < rows; ++r) {
      softmax_backward_row_scalar(dx + r * cols, dy + r * cols, y + r * cols, cols);
    }
    return;
  }
  visit_elementwise(act, [&](auto kind) {
    backward_range_scalar<decltype(kind)>(dx, dy, x, y, rows * cols, alpha);
  });
}

#define NERVE_INSTANTIATE_ACTIVATIONS(T)                                                          \
  template void activation_forward<T>(Activation, T*, const T*, int64_t, int64_t, T);            \
  template void activation_backward<T>(Activation, T*, const T*, const T*, const T*, int64_t,    \
                                       int64_t, T);                                              \
  template void activation_forward_scalar<T>(Activation, T*, const T*, int64_t, int64_t, T);     \
  template void activation_backward_scalar<T>(Activation, T*, const T*, const T*, const T*,      \
                                              int64_t, int64_t, T);
NERVE_INSTANTIATE_ACTIVATIONS(float)
NERVE_INSTANTIATE_ACTIVATIONS(double)
#undef NERVE_INSTANTIATE_ACTIVATIONS

}  // namespace nerve
