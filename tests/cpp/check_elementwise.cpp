// Activations (every kind, forward and backward, softmax by rows) and losses (every kind, with
// and without sample weights) against their scalar twins, on shapes whose sizes leave every
// lane-block tail, and one above the threading threshold of each.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "activations.h"
#include "check.h"
#include "loss.h"

namespace kernel_check {
namespace {

using nerve::Activation;
using nerve::Loss;

struct Shape {
  int64_t rows, cols;
};

// The last is above kActivationSerialBelow and kLossSerialBelow (32768 elements).
constexpr Shape kShapes[] = {{1, 1}, {1, 3}, {2, 5}, {3, 17}, {4, 33}, {1, 67}, {5, 129}, {9, 4001}};
constexpr Activation kActivations[] = {
    Activation::linear,    Activation::relu,      Activation::leaky_relu,   Activation::elu,
    Activation::selu,      Activation::sigmoid,   Activation::hard_sigmoid, Activation::tanh,
    Activation::softplus,  Activation::softsign,  Activation::silu,         Activation::gelu_tanh,
    Activation::gelu,      Activation::exponential, Activation::softmax,    Activation::step};
constexpr Loss kLosses[] = {Loss::binary_crossentropy, Loss::binary_crossentropy_logits,
                            Loss::categorical_crossentropy, Loss::categorical_crossentropy_logits,
                            Loss::sparse_categorical_crossentropy,
                            Loss::sparse_categorical_crossentropy_logits, Loss::mse, Loss::mae,
                            Loss::huber};

std::string shape_name(const Shape& s) { return std::to_string(s.rows) + "x" + std::to_string(s.cols); }

// Inputs in [-6, 6] with values at the edges of the math: signed zeros, tiny, large.
template <class T>
std::vector<T> activation_inputs(int64_t n, uint64_t seed) {
  auto x = uniform<T>(n, -6, 6, seed);
  const T special[] = {T(0), T(-0.0), T(1e-4), T(-1e-4), T(-20), T(20), T(60), T(-60), T(3), T(-3)};
  for (int64_t i = 0; i < n && i < 10; ++i) x[(i * 7919) % n] = special[i];
  return x;
}

template <class T>
void check_activation(Activation act, const Shape& s, uint64_t seed) {
  const int64_t n = s.rows * s.cols;
  const T alpha = T(0.3);
  const auto x = activation_inputs<T>(n, seed);
  std::vector<T> y(n), want(n);
  nerve::activation_forward(act, y.data(), x.data(), s.rows, s.cols, alpha);
  nerve::activation_forward_scalar(act, want.data(), x.data(), s.rows, s.cols, alpha);
  const std::string what = std::string(nerve::activation_name(act)) + " " + dtype_name<T>() + " " + shape_name(s);
  expect_close(what + " forward", y, want);
  if (!nerve::activation_has_backward(act)) return;
  const auto dy = uniform<T>(n, -1, 1, seed + 1);
  std::vector<T> dx(n), dx_want(n);
  nerve::activation_backward(act, dx.data(), dy.data(), x.data(), want.data(), s.rows, s.cols, alpha);
  nerve::activation_backward_scalar(act, dx_want.data(), dy.data(), x.data(), want.data(), s.rows, s.cols, alpha);
  expect_close(what + " backward", dx, dx_want);
}

// Predictions and targets each kind accepts: probabilities in (0, 1), rows of categorical
// targets summing to 1, logits and regression values anywhere.
template <class T>
struct LossInputs {
  std::vector<T> pred, target, weight;
  std::vector<int64_t> labels;
};

template <class T>
LossInputs<T> loss_inputs(Loss kind, const Shape& s, uint64_t seed) {
  const int64_t n = s.rows * s.cols;
  const bool logits = kind == Loss::binary_crossentropy_logits ||
                      kind == Loss::categorical_crossentropy_logits ||
                      kind == Loss::sparse_categorical_crossentropy_logits;
  const bool regression = kind == Loss::mse || kind == Loss::mae || kind == Loss::huber;
  LossInputs<T> in;
  in.pred = logits || regression ? uniform<T>(n, -5, 5, seed) : uniform<T>(n, 0.01, 0.99, seed);
  in.target = regression ? uniform<T>(n, -5, 5, seed + 1) : uniform<T>(n, 0, 1, seed + 1);
  if (kind == Loss::categorical_crossentropy || kind == Loss::categorical_crossentropy_logits)
    for (int64_t r = 0; r < s.rows; ++r) {
      T sum = 0;
      for (int64_t j = 0; j < s.cols; ++j) sum += in.target[r * s.cols + j];
      for (int64_t j = 0; j < s.cols; ++j) in.target[r * s.cols + j] /= sum;
    }
  for (int64_t r = 0; r < s.rows; ++r) in.labels.push_back((r * 7 + seed) % s.cols);
  in.weight = uniform<T>(s.rows, 0, 2, seed + 2);
  return in;
}

template <class T>
void check_loss_kind(Loss kind, const Shape& s, bool weighted, uint64_t seed) {
  const auto in = loss_inputs<T>(kind, s, seed);
  const bool sparse = nerve::loss_is_sparse(kind);
  const T* target = sparse ? nullptr : in.target.data();
  const int64_t* labels = sparse ? in.labels.data() : nullptr;
  const T* weight = weighted ? in.weight.data() : nullptr;
  const T delta = T(1.5);
  std::vector<T> grad(in.pred.size()), grad_want(in.pred.size());
  const double loss = nerve::loss_forward_backward(kind, grad.data(), in.pred.data(), target, labels,
                                                   weight, s.rows, s.cols, delta);
  const double want = nerve::loss_forward_backward_scalar(kind, grad_want.data(), in.pred.data(),
                                                          target, labels, weight, s.rows, s.cols, delta);
  const std::string what = "loss " + std::to_string(static_cast<int>(kind)) + " " + dtype_name<T>() +
                           " " + shape_name(s) + (weighted ? " weighted" : "");
  expect_close(what + " value", &loss, &want, 1, kRtol<T>, kAtol<T>);
  expect_close(what + " gradient", grad, grad_want);
}

template <class T>
void check_activation_dtype() {
  uint64_t seed = 500;
  for (const Shape& s : kShapes)
    for (Activation act : kActivations) check_activation<T>(act, s, seed += 2);
}

template <class T>
void check_loss_dtype() {
  uint64_t seed = 900;
  for (const Shape& s : kShapes)
    for (Loss kind : kLosses)
      for (bool weighted : {false, true}) check_loss_kind<T>(kind, s, weighted, seed += 3);
}

}  // namespace

void check_activations() {
  check_activation_dtype<float>();
  check_activation_dtype<double>();
}

void check_loss() {
  check_loss_dtype<float>();
  check_loss_dtype<double>();
}

}  // namespace kernel_check
