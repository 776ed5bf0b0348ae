// The vector rows of the hot float32 losses (mse, binary and categorical from logits), over a
// Lanes wrapper (cpp/simd), for kernels_avx2.cpp and kernels_avx512.cpp to instantiate. Each
// computes what the scalar row of its kind in loss.cpp does, with float element math and the
// sums in double. Include after the ISA's lane header, simd/math.h and simd/blocks.h.
#pragma once

namespace nerve {
namespace {

// Float lanes summed in double lanes, reduced in a fixed order.
template <template <class> class Lanes>
struct DoubleSum {
  using F = Lanes<float>;
  using D = Lanes<double>;
  typename D::V low, high;

  // Written out: an implicit constructor would not take the target pragma's instruction set.
  NERVE_INLINE DoubleSum() : low(D::zero()), high(D::zero()) {}

  NERVE_INLINE void add(typename F::V x) {
    low = low + F::to_double_low(x);
    high = high + F::to_double_high(x);
  }
  NERVE_INLINE double total() const { return D::reduce_add(low + high); }
};

// Row r of the predictions, the targets and the gradient; null where the call has none.
struct FloatRow {
  const float* pred;
  const float* target;
  float* grad;
};

NERVE_INLINE FloatRow row_of(const LossArgs<float>& a, int64_t r) {
  return {a.pred + r * a.cols, a.target ? a.target + r * a.cols : nullptr,
          a.grad ? a.grad + r * a.cols : nullptr};
}

// Mean squared error: l = mean e^2, gradient 2 e scale / cols.
template <template <class> class Lanes>
double mse_row(const LossArgs<float>& a, int64_t r, double scale) {
  using F = Lanes<float>;
  using V = typename F::V;
  const FloatRow row = row_of(a, r);
  const float *p = row.pred, *y = row.target;
  float* g = row.grad;
  const V grad_scale = F::set1(static_cast<float>(2.0 * scale / static_cast<double>(a.cols)));
  DoubleSum<Lanes> sum;
  simd::for_blocks<F>(a.cols, [&](auto block) {
    const V e = block.load(p) - block.load(y);
    sum.add(e * e);  // lanes past the row are 0 - 0
    if (g) block.store(g, e * grad_scale);
  });
  return sum.total() / static_cast<double>(a.cols);
}

// Binary cross-entropy from logits: max(z, 0) - z y + log1p(e^-|z|), slope sigmoid(z) - y.
template <template <class> class Lanes>
double binary_logits_row(const LossArgs<float>& a, int64_t r, double scale) {
  using F = Lanes<float>;
  using V = typename F::V;
  const FloatRow row = row_of(a, r);
  const float *z = row.pred, *y = row.target;
  float* g = row.grad;
  const V grad_scale = F::set1(static_cast<float>(scale / static_cast<double>(a.cols)));
  const V one = F::set1(1.0f), zero = F::zero();
  DoubleSum<Lanes> sum;
  simd::for_blocks<F>(a.cols, [&](auto block) {
    const V zb = block.load(z), yb = block.load(y);
    const V e = simd::exp<F>(F::bit_or(zb, F::set1(-0.0f)));  // e^-|z|
    const V value = F::fnmadd(zb, yb, F::max(zb, zero)) + simd::log1p_unit<F>(e);
    sum.add(block.zero_outside(value));
    if (g) {
      const V sigmoid = F::select(F::ge(zb, zero), one, e) / (one + e);
      block.store(g, (sigmoid - yb) * grad_scale);
    }
  });
  return sum.total() / static_cast<double>(a.cols);
}

// Categorical cross-entropy from logits, dense or sparse: l = log(exp_sum) sum(y) +
// sum y (m - z), m = max z, y one-hot when sparse. The exponentials are summed in double and
// parked in grad, which the last pass turns into (softmax sum(y) - y) scale.
template <template <class> class Lanes>
double categorical_logits_row(const LossArgs<float>& a, int64_t r, double scale) {
  using F = Lanes<float>;
  using V = typename F::V;
  const int64_t cols = a.cols;
  const FloatRow row = row_of(a, r);
  const float *z = row.pred, *y = row.target;
  float* g = row.grad;
  V peak = F::set1(z[0]);
  simd::for_blocks<F>(cols, [&](auto block) {
    peak = F::max(peak, block.where(block.load(z), peak));
  });
  const float m = F::reduce_max(peak);
  const V shift = F::set1(m);
  DoubleSum<Lanes> exp_sum, target_sum, gap;
  simd::for_blocks<F>(cols, [&](auto block) {
    const V zb = block.load(z);
    // Lanes past the row take e^0, then 0: no exp of an arbitrary -m into the subnormals.
    const V e = block.zero_outside(simd::exp<F>(block.where(zb, shift) - shift));
    exp_sum.add(e);
    if (g) block.store(g, e);
    if (y) {
      const V yb = block.load(y);
      target_sum.add(yb);
      gap.add(yb * (shift - zb));
    }
  });
  const double exps = exp_sum.total();
  const double targets = y ? target_sum.total() : 1.0;
  const double gaps = y ? gap.total() : static_cast<double>(m) - z[a.labels[r]];
  if (g) {
    const V softmax_scale = F::set1(static_cast<float>(targets / exps));
    const V row_scale = F::set1(static_cast<float>(scale));
    simd::for_blocks<F>(cols, [&](auto block) {
      const V yb = y ? block.load(y) : F::zero();
      block.store(g, F::fmadd(block.load(g), softmax_scale, -yb) * row_scale);
    });
    if (!y) g[a.labels[r]] -= static_cast<float>(scale);
  }
  return std::log(exps) * targets + gaps;
}

// The table of one ISA.
template <template <class> class Lanes>
constexpr LossKernels make_loss_kernels() {
  LossKernels kernels{};
  auto row = [&kernels](Loss kind) -> LossRow& { return kernels.row[static_cast<int>(kind)]; };
  row(Loss::mse) = &mse_row<Lanes>;
  row(Loss::binary_crossentropy_logits) = &binary_logits_row<Lanes>;
  row(Loss::categorical_crossentropy_logits) = &categorical_logits_row<Lanes>;
  row(Loss::sparse_categorical_crossentropy_logits) = &categorical_logits_row<Lanes>;
  return kernels;
}

}  // namespace
}  // namespace nerve
