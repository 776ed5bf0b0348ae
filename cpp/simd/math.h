// Lane math written once over the Lanes<float> interface of avx2.h and avx512.h: exp,
// log1p on [0, 1], sigmoid and tanh as Cephes' single-precision polynomials. Call as
// simd::exp<L>(x). Include after the ISA's lane header (so after its target pragma), with
// cpu.h (NERVE_INLINE) included before the pragma.
#pragma once

#ifndef NERVE_INLINE
#error "include cpu.h before the target pragma: math.h needs NERVE_INLINE"
#endif

namespace nerve::simd {
namespace {

// e^x, Cephes expf: x = n ln2 + r with |r| <= ln2/2 (ln2 split in two for an exact reduction),
// e^r by a degree-6 polynomial, then 2^n. Within ~1 ulp. x >= 88.73 gives inf, x <= -103.97
// gives 0, results in the subnormal range are rounded once, NaN stays NaN.
template <class L>
NERVE_INLINE typename L::V exp(typename L::V x) {
  using V = typename L::V;
  static_assert(sizeof(typename L::T) == 4, "float lanes: the polynomials are single precision");
  x = L::max(L::set1(-104.0f), L::min(L::set1(89.0f), x));  // x second: NaN passes
  const V n = L::round(x * L::set1(1.44269504088896341f));
  V r = L::fnmadd(n, L::set1(0.693359375f), x);
  r = L::fnmadd(n, L::set1(-2.12194440e-4f), r);
  V p = L::set1(1.9875691500e-4f);
  p = L::fmadd(p, r, L::set1(1.3981999507e-3f));
  p = L::fmadd(p, r, L::set1(8.3334519073e-3f));
  p = L::fmadd(p, r, L::set1(4.1665795894e-2f));
  p = L::fmadd(p, r, L::set1(1.6666665459e-1f));
  p = L::fmadd(p, r, L::set1(5.0000001201e-1f));
  const V er = L::fmadd(p, r * r, r) + L::set1(1.0f);
  return L::ldexp(er, n);  // n reaches -150, below the normal exponents
}

// log(1 + u) with u in [0, 1] (or NaN): Cephes logf of w = 1 + u on [sqrt(1/2), sqrt 2) after
// halving w > sqrt 2, plus the log1p correction (u - (w - 1)) / w for the rounding of 1 + u,
// so tiny u gives u.
template <class L>
NERVE_INLINE typename L::V log1p_unit(typename L::V u) {
  using V = typename L::V;
  const V one = L::set1(1.0f);
  const V w = one + u;
  const auto halve = L::gt(w, L::set1(1.41421356237f));
  const V k = L::keep(halve, one);  // exponent: 1 where w was halved
  const V f = L::select(halve, w * L::set1(0.5f), w) - one;
  const V z = f * f;
  V p = L::set1(7.0376836292e-2f);
  p = L::fmadd(p, f, L::set1(-1.1514610310e-1f));
  p = L::fmadd(p, f, L::set1(1.1676998740e-1f));
  p = L::fmadd(p, f, L::set1(-1.2420140846e-1f));
  p = L::fmadd(p, f, L::set1(1.4249322787e-1f));
  p = L::fmadd(p, f, L::set1(-1.6668057665e-1f));
  p = L::fmadd(p, f, L::set1(2.0000714765e-1f));
  p = L::fmadd(p, f, L::set1(-2.4999993993e-1f));
  p = L::fmadd(p, f, L::set1(3.3333331174e-1f));
  V y = p * f * z;
  y = L::fmadd(k, L::set1(-2.12194440e-4f), y);
  y = L::fnmadd(L::set1(0.5f), z, y);
  V log_w = f + y;
  log_w = L::fmadd(k, L::set1(0.693359375f), log_w);
  return log_w + (u - (w - one)) / w;
}

// 1 / (1 + e^-x) evaluated with e^-|x| only, so it never overflows.
template <class L>
NERVE_INLINE typename L::V sigmoid(typename L::V x) {
  using V = typename L::V;
  const V e = exp<L>(L::bit_or(x, L::set1(-0.0f)));  // e^-|x|
  const V r = L::set1(1.0f) / (L::set1(1.0f) + e);
  return L::select(L::ge(x, L::zero()), r, e * r);
}

// tanh, Cephes tanhf: an odd polynomial below |x| = 0.625, else 1 - 2 / (e^2|x| + 1) (which
// reaches exactly 1, and stays 1 when e^2|x| is inf); sign of x.
template <class L>
NERVE_INLINE typename L::V tanh(typename L::V x) {
  using V = typename L::V;
  const V sign = L::bit_and(x, L::set1(-0.0f));
  const V a = L::abs(x);
  const V one = L::set1(1.0f);
  const V large = one - L::set1(2.0f) / (exp<L>(a + a) + one);
  const V z = a * a;
  V p = L::set1(-5.70498872745e-3f);
  p = L::fmadd(p, z, L::set1(2.06390887954e-2f));
  p = L::fmadd(p, z, L::set1(-5.37397155531e-2f));
  p = L::fmadd(p, z, L::set1(1.33314422036e-1f));
  p = L::fmadd(p, z, L::set1(-3.33332819422e-1f));
  const V small = L::fmadd(p * z, a, a);
  return L::bit_or(L::select(L::lt(a, L::set1(0.625f)), small, large), sign);
}

}  // namespace
}  // namespace nerve::simd
