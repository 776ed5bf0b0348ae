// The vector bodies of the activation kinds, templates over a Lanes wrapper (cpp/simd), for
// kernels_avx2.cpp and kernels_avx512.cpp to instantiate. Each kind computes what its scalar
// definition in activations.cpp does (the comments there say what and why), f forward and df
// backward. Kinds that call simd/math.h (exp and friends) are float only; the others get float
// and double versions. Include after the ISA's lane header, simd/math.h and simd/blocks.h.
#pragma once

namespace nerve {
namespace {

template <class L>
struct Linear {
  using V = typename L::V;
  NERVE_INLINE static V f(V x, V) { return x; }
  NERVE_INLINE static V df(V, V, V dy, V) { return dy; }
};

template <class L>
struct Relu {
  using V = typename L::V;
  NERVE_INLINE static V f(V x, V) { return L::max(L::zero(), x); }  // x second: NaN passes
  NERVE_INLINE static V df(V x, V, V dy, V) { return L::keep(L::gt(x, L::zero()), dy); }
};

template <class L>
struct LeakyRelu {
  using V = typename L::V;
  NERVE_INLINE static V f(V x, V alpha) { return L::select(L::lt(x, L::zero()), alpha * x, x); }
  NERVE_INLINE static V df(V x, V, V dy, V alpha) {
    return L::select(L::gt(x, L::zero()), dy, alpha * dy);
  }
};

template <class L>
struct Elu {
  using V = typename L::V;
  NERVE_INLINE static V f(V x, V alpha) {
    return L::select(L::gt(x, L::zero()), x, alpha * (simd::exp<L>(x) - L::set1(1)));
  }
  NERVE_INLINE static V df(V x, V y, V dy, V alpha) {
    return L::select(L::gt(x, L::zero()), dy, dy * (y + alpha));
  }
};

template <class L>
struct Selu {
  using V = typename L::V;
  NERVE_INLINE static V f(V x, V) {
    const V below = L::set1(float(kSeluAlpha)) * (simd::exp<L>(x) - L::set1(1));
    return L::set1(float(kSeluScale)) * L::select(L::gt(x, L::zero()), x, below);
  }
  NERVE_INLINE static V df(V x, V y, V dy, V) {
    return L::select(L::gt(x, L::zero()), L::set1(float(kSeluScale)) * dy,
                     dy * (y + L::set1(float(kSeluScale * kSeluAlpha))));
  }
};

template <class L>
struct Sigmoid {
  using V = typename L::V;
  NERVE_INLINE static V f(V x, V) { return simd::sigmoid<L>(x); }
  NERVE_INLINE static V df(V, V y, V dy, V) { return dy * y * (L::set1(1) - y); }
};

template <class L>
struct HardSigmoid {
  using V = typename L::V;
  NERVE_INLINE static V f(V x, V) {
    return L::min(L::set1(1), L::max(L::zero(), x / L::set1(6) + L::set1(0.5)));
  }
  NERVE_INLINE static V df(V x, V, V dy, V) {
    return L::keep(L::mask_and(L::gt(x, L::set1(-3)), L::lt(x, L::set1(3))), dy / L::set1(6));
  }
};

template <class L>
struct Tanh {
  using V = typename L::V;
  NERVE_INLINE static V f(V x, V) { return simd::tanh<L>(x); }
  NERVE_INLINE static V df(V, V y, V dy, V) { return dy * (L::set1(1) - y * y); }
};

template <class L>
struct Softplus {
  using V = typename L::V;
  NERVE_INLINE static V f(V x, V) {
    return L::max(L::zero(), x) + simd::log1p_unit<L>(simd::exp<L>(L::bit_or(x, L::set1(-0.0f))));
  }
  NERVE_INLINE static V df(V x, V, V dy, V) { return dy * simd::sigmoid<L>(x); }
};

template <class L>
struct Softsign {
  using V = typename L::V;
  NERVE_INLINE static V f(V x, V) { return x / (L::set1(1) + L::abs(x)); }
  NERVE_INLINE static V df(V x, V, V dy, V) {
    const V d = L::set1(1) + L::abs(x);
    return dy / (d * d);
  }
};

template <class L>
struct Silu {
  using V = typename L::V;
  NERVE_INLINE static V f(V x, V) { return x * simd::sigmoid<L>(x); }
  NERVE_INLINE static V df(V x, V, V dy, V) {
    const V s = simd::sigmoid<L>(x);
    return dy * (s * (L::set1(1) + x * (L::set1(1) - s)));
  }
};

template <class L>
struct GeluTanh {
  using V = typename L::V;
  NERVE_INLINE static V f(V x, V) {
    const V u = L::set1(float(kSqrt2OverPi)) * (x + L::set1(float(kGeluCubic)) * x * x * x);
    return x * simd::sigmoid<L>(u + u);
  }
  NERVE_INLINE static V df(V x_in, V, V dy, V) {
    const V limit = L::set1(float(kGeluGradClamp));
    const V x = L::min(limit, L::max(-limit, x_in));
    const V u = L::set1(float(kSqrt2OverPi)) * (x + L::set1(float(kGeluCubic)) * x * x * x);
    const V du = L::set1(float(kSqrt2OverPi)) * (L::set1(1) + L::set1(float(3 * kGeluCubic)) * x * x);
    const V s = simd::sigmoid<L>(u + u);
    return dy * (s + L::set1(2) * x * s * (L::set1(1) - s) * du);
  }
};

template <class L>
struct Exponential {
  using V = typename L::V;
  NERVE_INLINE static V f(V x, V) { return simd::exp<L>(x); }
  NERVE_INLINE static V df(V, V y, V dy, V) { return dy * y; }
};

template <class L>
struct Step {
  using V = typename L::V;
  NERVE_INLINE static V f(V x, V theta) { return L::keep(L::ge(x, theta), L::set1(1)); }
  NERVE_INLINE static V df(V, V, V, V) { return L::zero(); }
};

template <template <class> class Kind, class L>
void forward_range(typename L::T* y, const typename L::T* x, int64_t n, typename L::T alpha) {
  const auto a = L::set1(alpha);
  simd::for_blocks<L>(n, [&](auto block) { block.store(y, Kind<L>::f(block.load(x), a)); });
}

template <template <class> class Kind, class L>
void backward_range(typename L::T* dx, const typename L::T* dy, const typename L::T* x,
                    const typename L::T* y, int64_t n, typename L::T alpha) {
  const auto a = L::set1(alpha);
  simd::for_blocks<L>(n, [&](auto block) {
    block.store(dx, Kind<L>::df(block.load(x), block.load(y), block.load(dy), a));
  });
}

// softmax_row_scalar (activations.cpp) over lanes. The row's tail is loaded before y is
// written (y may be x); its lanes past the row count as -inf for the max and as 0, not
// e^-inf, for the sum: an exp underflowing through the subnormal range costs a microcode
// assist on Zen 3.
template <class L>
void softmax_row(float* y, const float* x, int64_t cols) {
  using V = typename L::V;
  const int64_t whole = cols - cols % L::W;
  const auto in_row = L::first(cols - whole);
  const V minus_inf = L::set1(-std::numeric_limits<float>::infinity());
  const V tail_x = L::select(in_row, L::load(x + whole, in_row), minus_inf);
  V peak = tail_x;
  for (int64_t j = 0; j < whole; j += L::W) peak = L::max(peak, L::load(x + j));  // NaN passes
  const V shift = L::set1(L::reduce_max(peak));
  V sum = L::zero();
  for (int64_t j = 0; j < whole; j += L::W) {
    const V e = simd::exp<L>(L::load(x + j) - shift);
    L::store(y + j, e);
    sum = sum + e;
  }
  const V tail = L::keep(in_row, simd::exp<L>(L::select(in_row, tail_x, shift) - shift));
  sum = sum + tail;
  const V inv = L::set1(1.0f / L::reduce_add(sum));
  for (int64_t j = 0; j < whole; j += L::W) L::store(y + j, L::load(y + j) * inv);
  L::store(y + whole, in_row, tail * inv);
}

// softmax_backward_row_scalar over lanes, float or double; dx may be dy.
template <class L>
void softmax_backward_row(typename L::T* dx, const typename L::T* dy, const typename L::T* y,
                          int64_t cols) {
  auto dot_lanes = L::zero();
  simd::for_blocks<L>(cols, [&](auto block) {
    dot_lanes = L::fmadd(block.load(dy), block.load(y), dot_lanes);
  });
  const auto dot = L::set1(L::reduce_add(dot_lanes));
  simd::for_blocks<L>(cols, [&](auto block) {
    block.store(dx, block.load(y) * (block.load(dy) - dot));
  });
}

template <template <class> class Kind, class L, class T>
constexpr void add_vector_kind(ActivationKernels<T>& kernels, Activation act) {
  kernels.forward[static_cast<int>(act)] = &forward_range<Kind, L>;
  kernels.backward[static_cast<int>(act)] = &backward_range<Kind, L>;
}

// The table of one ISA: float versions of every kind but exact gelu, double versions of the
// kinds that need no exp.
template <template <class> class Lanes>
constexpr ActivationKernelSet make_activation_kernels() {
  using F = Lanes<float>;
  using D = Lanes<double>;
  ActivationKernelSet set{};
  auto& f32 = set.f32;
  auto& f64 = set.f64;
  add_vector_kind<Linear, F>(f32, Activation::linear);
  add_vector_kind<Linear, D>(f64, Activation::linear);
  add_vector_kind<Relu, F>(f32, Activation::relu);
  add_vector_kind<Relu, D>(f64, Activation::relu);
  add_vector_kind<LeakyRelu, F>(f32, Activation::leaky_relu);
  add_vector_kind<LeakyRelu, D>(f64, Activation::leaky_relu);
  add_vector_kind<HardSigmoid, F>(f32, Activation::hard_sigmoid);
  add_vector_kind<HardSigmoid, D>(f64, Activation::hard_sigmoid);
  add_vector_kind<Softsign, F>(f32, Activation::softsign);
  add_vector_kind<Softsign, D>(f64, Activation::softsign);
  add_vector_kind<Step, F>(f32, Activation::step);
  add_vector_kind<Step, D>(f64, Activation::step);
  add_vector_kind<Elu, F>(f32, Activation::elu);
  add_vector_kind<Selu, F>(f32, Activation::selu);
  add_vector_kind<Sigmoid, F>(f32, Activation::sigmoid);
  add_vector_kind<Tanh, F>(f32, Activation::tanh);
  add_vector_kind<Softplus, F>(f32, Activation::softplus);
  add_vector_kind<Silu, F>(f32, Activation::silu);
  add_vector_kind<GeluTanh, F>(f32, Activation::gelu_tanh);
  add_vector_kind<Exponential, F>(f32, Activation::exponential);
  f32.softmax_row = &softmax_row<F>;
  f32.softmax_backward_row = &softmax_backward_row<F>;
  f64.softmax_backward_row = &softmax_backward_row<D>;
  return set;
}

}  // namespace
}  // namespace nerve
