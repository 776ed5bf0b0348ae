// Losses with their gradient. Row-major (rows, cols) predictions; the per-sample loss is
// reduced over cols (mean for mse/mae/huber/binary cross-entropy, sum for categorical), then
//   loss = sum_i(w_i * l_i) / rows          (Keras "sum_over_batch_size"; w_i = 1 if no weights)
// and grad (rows, cols), when not null, is d loss / d y_pred (overwritten).
// *_logits kinds take raw scores: binary via softplus, categorical via log-sum-exp, and
// their gradient is the fused (sigmoid(z) - y) / (softmax(z) - y), stable for any logit.
// Probability kinds clip to [eps, 1 - eps] with eps = 1e-7 as Keras does (categorical also
// renormalises each row to sum 1 first), and the gradient follows the clipped formula.
// Sparse kinds take integer labels (rows) in [0, cols) instead of a target matrix; callers
// must check the range first (the binding does).
// Reductions use fixed chunks summed in order: bitwise the same on any thread count.
#pragma once

#include <cstdint>

namespace nerve {

enum class Loss {
  binary_crossentropy, binary_crossentropy_logits, categorical_crossentropy,
  categorical_crossentropy_logits, sparse_categorical_crossentropy,
  sparse_categorical_crossentropy_logits, mse, mae, huber
};

constexpr int64_t kLossSerialBelow = 1 << 15;
constexpr double kProbabilityEpsilon = 1e-7;

bool parse_loss(const char* name, Loss* out);
const char* loss_names();
bool loss_is_sparse(Loss l);

// target: (rows, cols) for dense kinds, null for sparse; labels: (rows) for sparse kinds.
// sample_weight: (rows) or null. delta: Huber's threshold.
template <class T>
double loss_forward_backward(Loss kind, T* grad, const T* pred, const T* target,
                             const int64_t* labels, const T* sample_weight, int64_t rows,
                             int64_t cols, T delta);

template <class T>
double loss_forward_backward_scalar(Loss kind, T* grad, const T* pred, const T* target,
                                    const int64_t* labels, const T* sample_weight,
                                    int64_t rows, int64_t cols, T delta);

}  // namespace nerve
