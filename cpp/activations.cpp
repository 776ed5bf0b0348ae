// Activation kernels (contract in activations.h).
// Each element-wise kind is one struct holding, side by side:
//   f / df     the scalar definition (forward, backward): run by the *_scalar entry points and
//              by the baseline instruction-set path;
//   vf / vdf   the AVX2+FMA version over Avx<T> lanes, where one exists (kAvx2F32/kAvx2F64);
//              float64 kinds that need exp/log/erf keep f/df (std:: functions) on every path.
// Overwrite semantics: every element is read before its output is written, so y may be x and
// dx may be dy. Element-wise kinds treat (rows, cols) as one flat range split into fixed chunks
// of kElementGrain elements; softmax splits rows into chunks of about as many elements. Below
// kActivationSerialBelow elements everything runs on the calling thread.
#include "activations.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

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

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kSqrt2OverPi = 0.79788456080286535587989211986876;
constexpr double kGeluCubic = 0.044715;
constexpr double kGeluGradClamp = 20.0;
constexpr double kSqrtHalf = 0.70710678118654752440084436210485;
constexpr double kInvSqrt2Pi = 0.39894228040143267793994605993438;

// 1 / (1 + e^-x) evaluated with e^-|x| only, so it never overflows.
template <class T>
T sigmoid_of(T x) {
  const T e = std::exp(-std::abs(x));
  const T r = T(1) / (T(1) + e);
  return x >= 0 ? r : e * r;
}

// ---- AVX2 lanes -----------------------------------------------------------------------------

#define NERVE_AVX2_INLINE NERVE_TARGET_AVX2 static inline

// The few lane operations the kernels need, for 8 floats or 4 doubles. Plain arithmetic uses
// GCC's vector operators (+ - * /), which __m256 and __m256d support.
template <class T> struct Avx;

template <> struct Avx<float> {
  using V = __m256;
  static constexpr int64_t kWidth = 8;
  NERVE_AVX2_INLINE V load(const float* p) { return _mm256_loadu_ps(p); }
  NERVE_AVX2_INLINE void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  NERVE_AVX2_INLINE V set1(float v) { return _mm256_set1_ps(v); }
  // max(a, b) / min(a, b) return b when either is NaN: pass x second to let NaN through.
  NERVE_AVX2_INLINE V max(V a, V b) { return _mm256_max_ps(a, b); }
  NERVE_AVX2_INLINE V min(V a, V b) { return _mm256_min_ps(a, b); }
  NERVE_AVX2_INLINE V abs(V v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }
  NERVE_AVX2_INLINE V gt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  NERVE_AVX2_INLINE V lt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  NERVE_AVX2_INLINE V ge(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
  NERVE_AVX2_INLINE V select(V mask, V if_true, V if_false) { return _mm256_blendv_ps(if_false, if_true, mask); }
  NERVE_AVX2_INLINE V bit_and(V a, V b) { return _mm256_and_ps(a, b); }
};

template <> struct Avx<double> {
  using V = __m256d;
  static constexpr int64_t kWidth = 4;
  NERVE_AVX2_INLINE V load(const double* p) { return _mm256_loadu_pd(p); }
  NERVE_AVX2_INLINE void store(double* p, V v) { _mm256_storeu_pd(p, v); }
  NERVE_AVX2_INLINE V set1(double v) { return _mm256_set1_pd(v); }
  NERVE_AVX2_INLINE V max(V a, V b) { return _mm256_max_pd(a, b); }
  NERVE_AVX2_INLINE V min(V a, V b) { return _mm256_min_pd(a, b); }
  NERVE_AVX2_INLINE V abs(V v) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), v); }
  NERVE_AVX2_INLINE V gt(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_GT_OQ); }
  NERVE_AVX2_INLINE V lt(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_LT_OQ); }
  NERVE_AVX2_INLINE V ge(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_GE_OQ); }
  NERVE_AVX2_INLINE V select(V mask, V if_true, V if_false) { return _mm256_blendv_pd(if_false, if_true, mask); }
  NERVE_AVX2_INLINE V bit_and(V a, V b) { return _mm256_and_pd(a, b); }
};

using F8 = Avx<float>;

// e^x for 8 floats, Cephes expf: x = n ln2 + r with |r| <= ln2/2 (ln2 split in two for an
// exact reduction), e^r by a degree-6 polynomial, then 2^n. Within ~1 ulp. x >= 88.73 gives
// inf, x <= -103.97 gives 0, results in the subnormal range are rounded once, NaN stays NaN.
NERVE_AVX2_INLINE __m256 exp8(__m256 x) {
  x = _mm256_max_ps(_mm256_set1_ps(-104.0f), _mm256_min_ps(_mm256_set1_ps(89.0f), x));
  const __m256 n = _mm256_round_ps(x * _mm256_set1_ps(1.44269504088896341f),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  const __m256 er = _mm256_fmadd_ps(p, r * r, r) + _mm256_set1_ps(1.0f);
  // 2^n as two normal factors 2^(n/2) 2^(n - n/2): n reaches -150, below the normal exponents.
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i half = _mm256_srai_epi32(ni, 1);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 scale1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, bias), 23));
  const __m256 scale2 =
      _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, half), bias), 23));
  return er * scale1 * scale2;
}

// log(1 + u) for 8 floats with u in [0, 1] (or NaN): Cephes logf of w = 1 + u on
// [sqrt(1/2), sqrt 2) after halving w > sqrt 2, plus the log1p correction (u - (w - 1)) / w for
// the rounding of 1 + u, so tiny u gives u.
NERVE_AVX2_INLINE __m256 log1p8_unit(__m256 u) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 w = one + u;
  const __m256 halve = _mm256_cmp_ps(w, _mm256_set1_ps(1.41421356237f), _CMP_GT_OQ);
  const __m256 k = _mm256_and_ps(halve, one);  // exponent: 1 where w was halved
  const __m256 f = _mm256_blendv_ps(w, w * _mm256_set1_ps(0.5f), halve) - one;
  const __m256 z = f * f;
  __m256 p = _mm256_set1_ps(7.0376836292e-2f);
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.1514610310e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.1676998740e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.2420140846e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.4249322787e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.6668057665e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.0000714765e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-2.4999993993e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(3.3333331174e-1f));
  __m256 y = p * f * z;
  y = _mm256_fmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), y);
  y = _mm256_fnmadd_ps(_mm256_set1_ps(0.5f), z, y);
  __m256 log_w = f + y;
  log_w = _mm256_fmadd_ps(k, _mm256_set1_ps(0.693359375f), log_w);
  return log_w + (u - (w - one)) / w;
}

// 1 / (1 + e^-x) from e^-|x|, as sigmoid_of.
NERVE_AVX2_INLINE __m256 sigmoid8(__m256 x) {
  const __m256 e = exp8(_mm256_or_ps(x, _mm256_set1_ps(-0.0f)));  // e^-|x|
  const __m256 r = _mm256_set1_ps(1.0f) / (_mm256_set1_ps(1.0f) + e);
  return _mm256_blendv_ps(e * r, r, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ));
}

// tanh for 8 floats, Cephes tanhf: an odd polynomial below |x| = 0.625, else
// 1 - 2 / (e^2|x| + 1) (which reaches exactly 1, and stays 1 when e^2|x| is inf); sign of x.
NERVE_AVX2_INLINE __m256 tanh8(__m256 x) {
  const __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
  const __m256 a = F8::abs(x);
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 large = one - _mm256_set1_ps(2.0f) / (exp8(a + a) + one);
  const __m256 z = a * a;
  __m256 p = _mm256_set1_ps(-5.70498872745e-3f);
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.06390887954e-2f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.37397155531e-2f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.33314422036e-1f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.33332819422e-1f));
  const __m256 small = _mm256_fmadd_ps(p * z, a, a);
  const __m256 t = _mm256_blendv_ps(large, small, _mm256_cmp_ps(a, _mm256_set1_ps(0.625f), _CMP_LT_OQ));
  return _mm256_or_ps(t, sign);
}

// ---- Element-wise kinds ---------------------------------------------------------------------

// Which dtypes a kind has AVX2 lanes for (vf/vdf); the others run f/df on every path.
struct VectorBoth { static constexpr bool kAvx2F32 = true, kAvx2F64 = true; };
struct VectorF32 { static constexpr bool kAvx2F32 = true, kAvx2F64 = false; };
struct ScalarOnly { static constexpr bool kAvx2F32 = false, kAvx2F64 = false; };


// y = x.
struct Linear : VectorBoth {
  template <class T> static T f(T x, T) { return x; }
  template <class T> static T df(T, T, T dy, T) { return dy; }
  template <class W, class V> NERVE_AVX2_INLINE V vf(V x, V) { return x; }
  template <class W, class V> NERVE_AVX2_INLINE V vdf(V, V, V dy, V) { return dy; }
};

// y = max(x, 0) (NaN passes through); dy where x > 0.
struct Relu : VectorBoth {
  template <class T> static T f(T x, T) { return x < 0 ? T(0) : x; }
  template <class T> static T df(T x, T, T dy, T) { return x > 0 ? dy : T(0); }
  template <class W, class V> NERVE_AVX2_INLINE V vf(V x, V) { return W::max(W::set1(0), x); }
  template <class W, class V> NERVE_AVX2_INLINE V vdf(V x, V, V dy, V) { return W::bit_and(W::gt(x, W::set1(0)), dy); }
};

// y = x for x >= 0, alpha x below; derivative alpha at 0 (as TensorFlow).
struct LeakyRelu : VectorBoth {
  template <class T> static T f(T x, T alpha) { return x < 0 ? alpha * x : x; }
  template <class T> static T df(T x, T, T dy, T alpha) { return x > 0 ? dy : alpha * dy; }
  template <class W, class V> NERVE_AVX2_INLINE V vf(V x, V alpha) { return W::select(W::lt(x, W::set1(0)), alpha * x, x); }
  template <class W, class V> NERVE_AVX2_INLINE V vdf(V x, V, V dy, V alpha) {
    return W::select(W::gt(x, W::set1(0)), dy, alpha * dy);
  }
};

// y = x for x > 0, alpha (e^x - 1) otherwise; below 0 the derivative alpha e^x is y + alpha.
struct Elu : VectorF32 {
  template <class T> static T f(T x, T alpha) { return x > 0 ? x : alpha * std::expm1(x); }
  template <class T> static T df(T x, T y, T dy, T alpha) { return x > 0 ? dy : dy * (y + alpha); }
  template <class W> NERVE_AVX2_INLINE __m256 vf(__m256 x, __m256 alpha) {
    return F8::select(F8::gt(x, F8::set1(0)), x, alpha * (exp8(x) - F8::set1(1)));
  }
  template <class W> NERVE_AVX2_INLINE __m256 vdf(__m256 x, __m256 y, __m256 dy, __m256 alpha) {
    return F8::select(F8::gt(x, F8::set1(0)), dy, dy * (y + alpha));
  }
};

// Elu with Keras's fixed alpha, scaled: y = scale * elu(x, kSeluAlpha).
struct Selu : VectorF32 {
  template <class T> static T f(T x, T) {
    return T(kSeluScale) * (x > 0 ? x : T(kSeluAlpha) * std::expm1(x));
  }
  template <class T> static T df(T x, T y, T dy, T) {
    return x > 0 ? T(kSeluScale) * dy : dy * (y + T(kSeluScale * kSeluAlpha));
  }
  template <class W> NERVE_AVX2_INLINE __m256 vf(__m256 x, __m256) {
    const __m256 below = F8::set1(float(kSeluAlpha)) * (exp8(x) - F8::set1(1));
    return F8::set1(float(kSeluScale)) * F8::select(F8::gt(x, F8::set1(0)), x, below);
  }
  template <class W> NERVE_AVX2_INLINE __m256 vdf(__m256 x, __m256 y, __m256 dy, __m256) {
    return F8::select(F8::gt(x, F8::set1(0)), F8::set1(float(kSeluScale)) * dy,
                      dy * (y + F8::set1(float(kSeluScale * kSeluAlpha))));
  }
};

// y = 1 / (1 + e^-x); derivative y (1 - y).
struct Sigmoid : VectorF32 {
  template <class T> static T f(T x, T) { return sigmoid_of(x); }
  template <class T> static T df(T, T y, T dy, T) { return dy * y * (T(1) - y); }
  template <class W> NERVE_AVX2_INLINE __m256 vf(__m256 x, __m256) { return sigmoid8(x); }
  template <class W> NERVE_AVX2_INLINE __m256 vdf(__m256, __m256 y, __m256 dy, __m256) {
    return dy * y * (F8::set1(1) - y);
  }
};

// Keras 3: y = clip(x / 6 + 1/2, 0, 1); slope 1/6 strictly inside (-3, 3).
struct HardSigmoid : VectorBoth {
  template <class T> static T f(T x, T) {
    const T v = x / T(6) + T(0.5);
    return v < 0 ? T(0) : (v > 1 ? T(1) : v);
  }
  template <class T> static T df(T x, T, T dy, T) { return x > -3 && x < 3 ? dy / T(6) : T(0); }
  template <class W, class V> NERVE_AVX2_INLINE V vf(V x, V) {
    return W::min(W::set1(1), W::max(W::set1(0), x / W::set1(6) + W::set1(0.5)));
  }
  template <class W, class V> NERVE_AVX2_INLINE V vdf(V x, V, V dy, V) {
    const V inside = W::bit_and(W::gt(x, W::set1(-3)), W::lt(x, W::set1(3)));
    return W::bit_and(inside, dy / W::set1(6));
  }
};

// y = tanh(x); derivative 1 - y^2.
struct Tanh : VectorF32 {
  template <class T> static T f(T x, T) { return std::tanh(x); }
  template <class T> static T df(T, T y, T dy, T) { return dy * (T(1) - y * y); }
  template <class W> NERVE_AVX2_INLINE __m256 vf(__m256 x, __m256) { return tanh8(x); }
  template <class W> NERVE_AVX2_INLINE __m256 vdf(__m256, __m256 y, __m256 dy, __m256) {
    return dy * (F8::set1(1) - y * y);
  }
};

// y = log(1 + e^x) = max(x, 0) + log1p(e^-|x|), never overflowing; derivative sigmoid(x).
struct Softplus : VectorF32 {
  template <class T> static T f(T x, T) { return std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x))); }
  template <class T> static T df(T x, T, T dy, T) { return dy * sigmoid_of(x); }
  template <class W> NERVE_AVX2_INLINE __m256 vf(__m256 x, __m256) {
    return F8::max(F8::set1(0), x) + log1p8_unit(exp8(_mm256_or_ps(x, F8::set1(-0.0f))));
  }
  template <class W> NERVE_AVX2_INLINE __m256 vdf(__m256 x, __m256, __m256 dy, __m256) {
    return dy * sigmoid8(x);
  }
};

// y = x / (1 + |x|); derivative 1 / (1 + |x|)^2.
struct Softsign : VectorBoth {
  template <class T> static T f(T x, T) { return x / (T(1) + std::abs(x)); }
  template <class T> static T df(T x, T, T dy, T) {
    const T d = T(1) + std::abs(x);
    return dy / (d * d);
  }
  template <class W, class V> NERVE_AVX2_INLINE V vf(V x, V) { return x / (W::set1(1) + W::abs(x)); }
  template <class W, class V> NERVE_AVX2_INLINE V vdf(V x, V, V dy, V) {
    const V d = W::set1(1) + W::abs(x);
    return dy / (d * d);
  }
};

// y = x sigmoid(x); derivative s (1 + x (1 - s)) with s = sigmoid(x).
struct Silu : VectorF32 {
  template <class T> static T f(T x, T) { return x * sigmoid_of(x); }
  template <class T> static T df(T x, T, T dy, T) {
    const T s = sigmoid_of(x);
    return dy * (s * (T(1) + x * (T(1) - s)));
  }
  template <class W> NERVE_AVX2_INLINE __m256 vf(__m256 x, __m256) { return x * sigmoid8(x); }
  template <class W> NERVE_AVX2_INLINE __m256 vdf(__m256 x, __m256, __m256 dy, __m256) {
    const __m256 s = sigmoid8(x);
    return dy * (s * (F8::set1(1) + x * (F8::set1(1) - s)));
  }
};

// y = x/2 (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), computed as x sigmoid(2u), which
// keeps its accuracy in the negative tail where 1 + tanh(u) cancels.
// Derivative s + 2 x s (1 - s) u' with s = sigmoid(2u), u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2),
// taken at x clamped to [-20, 20]: beyond, it is 1 or 0 to double precision, and the clamp
// keeps x u' finite (inf * 0 would give NaN).
struct GeluTanh : VectorF32 {
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
  template <class W> NERVE_AVX2_INLINE __m256 vf(__m256 x, __m256) {
    const __m256 u = F8::set1(float(kSqrt2OverPi)) * (x + F8::set1(float(kGeluCubic)) * x * x * x);
    return x * sigmoid8(u + u);
  }
  template <class W> NERVE_AVX2_INLINE __m256 vdf(__m256 x_in, __m256, __m256 dy, __m256) {
    const __m256 limit = F8::set1(float(kGeluGradClamp));
    const __m256 x = F8::min(limit, F8::max(-limit, x_in));
    const __m256 u = F8::set1(float(kSqrt2OverPi)) * (x + F8::set1(float(kGeluCubic)) * x * x * x);
    const __m256 du = F8::set1(float(kSqrt2OverPi)) * (F8::set1(1) + F8::set1(float(3 * kGeluCubic)) * x * x);
    const __m256 s = sigmoid8(u + u);
    return dy * (s + F8::set1(2) * x * s * (F8::set1(1) - s) * du);
  }
};

// Exact: y = x Phi(x), Phi(x) = erfc(-x / sqrt 2) / 2 (erfc keeps the negative tail accurate);
// derivative Phi(x) + x phi(x).
struct Gelu : ScalarOnly {
  template <class T> static T f(T x, T) { return x * T(0.5) * std::erfc(-x * T(kSqrtHalf)); }
  template <class T> static T df(T x, T, T dy, T) {
    const T cdf = T(0.5) * std::erfc(-x * T(kSqrtHalf));
    const T pdf = T(kInvSqrt2Pi) * std::exp(T(-0.5) * x * x);
    return dy * (cdf + x * pdf);
  }
};

// y = e^x; derivative y.
struct Exponential : VectorF32 {
  template <class T> static T f(T x, T) { return std::exp(x); }
  template <class T> static T df(T, T y, T dy, T) { return dy * y; }
  template <class W> NERVE_AVX2_INLINE __m256 vf(__m256 x, __m256) { return exp8(x); }
  template <class W> NERVE_AVX2_INLINE __m256 vdf(__m256, __m256 y, __m256 dy, __m256) { return dy * y; }
};

// y = 1 when x >= theta (alpha), else 0. Forward only (bindings reject its backward); the
// derivative, zero wherever it exists, is what the kernel writes if asked.
struct Step : VectorBoth {
  template <class T> static T f(T x, T theta) { return x >= theta ? T(1) : T(0); }
  template <class T> static T df(T, T, T, T) { return T(0); }
  template <class W, class V> NERVE_AVX2_INLINE V vf(V x, V theta) { return W::bit_and(W::ge(x, theta), W::set1(1)); }
  template <class W, class V> NERVE_AVX2_INLINE V vdf(V, V, V, V) { return W::set1(0); }
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

// The same over AVX2 lanes. The last partial block goes through a zero-padded copy, so every
// element runs the very same instructions wherever it falls (and whatever the chunking).
template <class Kind, class T>
NERVE_TARGET_AVX2 void forward_range_avx2(T* y, const T* x, int64_t n, T alpha) {
  using W = Avx<T>;
  const auto a = W::set1(alpha);
  int64_t i = 0;
  for (; i + W::kWidth <= n; i += W::kWidth) W::store(y + i, Kind::template vf<W>(W::load(x + i), a));
  if (i == n) return;
  T block[W::kWidth] = {};
  std::copy(x + i, x + n, block);
  W::store(block, Kind::template vf<W>(W::load(block), a));
  std::copy(block, block + (n - i), y + i);
}

template <class Kind, class T>
NERVE_TARGET_AVX2 void backward_range_avx2(T* dx, const T* dy, const T* x, const T* y, int64_t n, T alpha) {
  using W = Avx<T>;
  const auto a = W::set1(alpha);
  int64_t i = 0;
  for (; i + W::kWidth <= n; i += W::kWidth) {
    W::store(dx + i, Kind::template vdf<W>(W::load(x + i), W::load(y + i), W::load(dy + i), a));
  }
  if (i == n) return;
  T bx[W::kWidth] = {}, by[W::kWidth] = {}, bdy[W::kWidth] = {};
  std::copy(x + i, x + n, bx);
  std::copy(y + i, y + n, by);
  std::copy(dy + i, dy + n, bdy);
  W::store(bdy, Kind::template vdf<W>(W::load(bx), W::load(by), W::load(bdy), a));
  std::copy(bdy, bdy + (n - i), dx + i);
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

// Horizontal reductions by halving (a fixed order, so every row sums the same way).
NERVE_AVX2_INLINE float horizontal_max(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

NERVE_AVX2_INLINE float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

NERVE_AVX2_INLINE double horizontal_sum(__m256d v) {
  const __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

// softmax_row_scalar over 8 lanes. The row's last partial block moves through masked loads and
// stores (a copy through a stack buffer stalls store-to-load forwarding on every row). Its
// missing lanes count as -inf for the max and as 0, not e^-inf, for the sum: an exp
// underflowing through the subnormal range costs a microcode assist on Zen 3.
NERVE_TARGET_AVX2 void softmax_row_avx2(float* y, const float* x, int64_t cols) {
  const int64_t full = cols - cols % 8;
  const __m256i tail_lanes = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(cols - full)),
                                                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  const __m256 in_row = _mm256_castsi256_ps(tail_lanes);
  // Loaded before y is written: y may be x.
  const __m256 tail_x = F8::select(in_row, _mm256_maskload_ps(x + full, tail_lanes),
                                   F8::set1(-std::numeric_limits<float>::infinity()));
  __m256 peak = tail_x;
  for (int64_t j = 0; j < full; j += 8) peak = F8::max(peak, F8::load(x + j));
  const __m256 shift = F8::set1(horizontal_max(peak));
  __m256 sum = F8::set1(0);
  for (int64_t j = 0; j < full; j += 8) {
    const __m256 e = exp8(F8::load(x + j) - shift);
    F8::store(y + j, e);
    sum += e;
  }
  const __m256 tail = F8::bit_and(in_row, exp8(F8::select(in_row, tail_x, shift) - shift));
  sum += tail;
  const __m256 inv = F8::set1(1.0f / horizontal_sum(sum));
  for (int64_t j = 0; j < full; j += 8) F8::store(y + j, F8::load(y + j) * inv);
  _mm256_maskstore_ps(y + full, tail_lanes, tail * inv);
}

// softmax_backward_row_scalar over AVX2 lanes, float or double.
template <class T>
NERVE_TARGET_AVX2 void softmax_backward_row_avx2(T* dx, const T* dy, const T* y, int64_t cols) {
  using W = Avx<T>;
  const int64_t full = cols - cols % W::kWidth;
  auto dot_lanes = W::set1(0);
  for (int64_t j = 0; j < full; j += W::kWidth) dot_lanes += W::load(dy + j) * W::load(y + j);
  T dot = horizontal_sum(dot_lanes);
  for (int64_t j = full; j < cols; ++j) dot += dy[j] * y[j];
  const auto dot_v = W::set1(dot);
  for (int64_t j = 0; j < full; j += W::kWidth) {
    W::store(dx + j, W::load(y + j) * (W::load(dy + j) - dot_v));
  }
  for (int64_t j = full; j < cols; ++j) dx[j] = y[j] * (dy[j] - dot);
}

// Rows per chunk so a chunk holds about kElementGrain elements.
int64_t row_grain(int64_t cols) { return std::max<int64_t>(1, kElementGrain / std::max<int64_t>(cols, 1)); }
int64_t serial_rows(int64_t cols) {
  const int64_t c = std::max<int64_t>(cols, 1);
  return (kActivationSerialBelow + c - 1) / c;
}

template <class T>
void softmax_forward(T* y, const T* x, int64_t rows, int64_t cols) {
  void (*row_kernel)(T*, const T*, int64_t) = &softmax_row_scalar<T>;
  if constexpr (std::is_same_v<T, float>) {
    if (use_avx2()) row_kernel = &softmax_row_avx2;
  }
  parallel_for(rows, row_grain(cols), serial_rows(cols), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) row_kernel(y + r * cols, x + r * cols, cols);
  });
}

template <class T>
void softmax_backward(T* dx, const T* dy, const T* y, int64_t rows, int64_t cols) {
  const auto row_kernel = use_avx2() ? &softmax_backward_row_avx2<T> : &softmax_backward_row_scalar<T>;
  parallel_for(rows, row_grain(cols), serial_rows(cols), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) row_kernel(dx + r * cols, dy + r * cols, y + r * cols, cols);
  });
}

// ---- Dispatch -------------------------------------------------------------------------------

template <class T>
using ForwardRange = void (*)(T* y, const T* x, int64_t n, T alpha);
template <class T>
using BackwardRange = void (*)(T* dx, const T* dy, const T* x, const T* y, int64_t n, T alpha);

template <class Kind, class T>
constexpr bool kHasAvx2 = std::is_same_v<T, float> ? Kind::kAvx2F32 : Kind::kAvx2F64;

template <class Kind, class T>
ForwardRange<T> forward_kernel() {
  if constexpr (kHasAvx2<Kind, T>) {
    if (use_avx2()) return &forward_range_avx2<Kind, T>;
  }
  return &forward_range_scalar<Kind, T>;
}

template <class Kind, class T>
BackwardRange<T> backward_kernel() {
  if constexpr (kHasAvx2<Kind, T>) {
    if (use_avx2()) return &backward_range_avx2<Kind, T>;
  }
  return &backward_range_scalar<Kind, T>;
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
    const ForwardRange<T> kernel = forward_kernel<decltype(kind), T>();
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
    const BackwardRange<T> kernel = backward_kernel<decltype(kind), T>();
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
