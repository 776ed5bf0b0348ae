// Activation kernels, forward and backward, float and double. All arrays are row-major
// (rows, cols) and contiguous. Element-wise kinds ignore the row structure; softmax is row-wise.
//   forward:  y = f(x)                 overwrites y; y may be exactly x (in place).
//   backward: dx = f'(x) * dy          overwrites dx; dx may be exactly dy. Each kind reads
//             what it needs of x (input) and y (forward output); both must be given, and y
//             must be f(x): elu, selu, sigmoid, tanh and softmax take f' from y.
//   softmax backward: dx = y * (dy - sum_j(dy_j * y_j)) per row.
// `alpha`: leaky_relu slope, elu alpha, step threshold theta; ignored by the other kinds.
// step (fires 1 when x >= theta, else 0) is forward-only: it has no useful derivative.
// Threading: rows are split over threads above kActivationSerialBelow elements; every
// element (row, for softmax) is computed the same way whatever the thread count.
#pragma once

#include <cstdint>

namespace nerve {

enum class Activation {
  linear, relu, leaky_relu, elu, selu, sigmoid, hard_sigmoid, tanh, softplus, softsign,
  silu, gelu_tanh, gelu, exponential, softmax, step
};

constexpr int64_t kActivationSerialBelow = 1 << 15;

// Parses the Keras name ("relu", "swish" = "silu", "gelu" exact, "gelu_tanh", ...);
// returns false for an unknown name.
bool parse_activation(const char* name, Activation* out);
const char* activation_name(Activation a);
// Comma-separated list of accepted names, for error messages.
const char* activation_names();
bool activation_has_backward(Activation a);

template <class T>
void activation_forward(Activation act, T* y, const T* x, int64_t rows, int64_t cols, T alpha);
template <class T>
void activation_backward(Activation act, T* dx, const T* dy, const T* x, const T* y,
                         int64_t rows, int64_t cols, T alpha);

// Plain scalar versions: the readable definition each optimized kernel is tested against.
template <class T>
void activation_forward_scalar(Activation act, T* y, const T* x, int64_t rows, int64_t cols, T alpha);
template <class T>
void activation_backward_scalar(Activation act, T* dx, const T* dy, const T* x, const T* y,
                                int64_t rows, int64_t cols, T alpha);

}  // namespace nerve
