// Lanes<T> over 512-bit registers: 16 floats or 8 doubles, with the interface of avx2.h.
// Masks are AVX-512 mask registers: a tail is one masked load or store, which never touches
// (nor faults on) the lanes it leaves out. Include after target_avx512.h.
#pragma once

// GCC 12.2's _mm512_undefined_* initialise a variable with itself, which -Wall reports at
// every intrinsic that uses one (GCC bug 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>

namespace nerve::simd::avx512 {
namespace {

#define NERVE_LANE static inline __attribute__((always_inline))

template <class T> struct Lanes;

template <> struct Lanes<float> {
  using T = float;
  using V = __m512;
  using Mask = __mmask16;
  static constexpr int W = 16;
  NERVE_LANE V zero() { return _mm512_setzero_ps(); }
  NERVE_LANE V set1(T x) { return _mm512_set1_ps(x); }
  NERVE_LANE V load(const T* p) { return _mm512_loadu_ps(p); }
  NERVE_LANE void store(T* p, V v) { _mm512_storeu_ps(p, v); }
  NERVE_LANE V broadcast(const T* p) { return _mm512_set1_ps(*p); }
  NERVE_LANE Mask first(int64_t n) {
    return n >= W ? Mask(0xFFFF) : static_cast<Mask>((1u << static_cast<unsigned>(n)) - 1u);
  }
  NERVE_LANE V load(const T* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  NERVE_LANE void store(T* p, Mask m, V v) { _mm512_mask_storeu_ps(p, m, v); }
  NERVE_LANE V add(V a, V b) { return _mm512_add_ps(a, b); }
  NERVE_LANE V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  NERVE_LANE V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  NERVE_LANE V div(V a, V b) { return _mm512_div_ps(a, b); }
  NERVE_LANE V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  NERVE_LANE V fnmadd(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }
  NERVE_LANE V min(V a, V b) { return _mm512_min_ps(a, b); }
  // The masked form with every lane set: the same instruction, without gcc 12's false
  // maybe-uninitialized warning on _mm512_max_ps.
  NERVE_LANE V max(V a, V b) { return _mm512_mask_max_ps(b, Mask(0xFFFF), a, b); }
  NERVE_LANE V abs(V v) { return _mm512_abs_ps(v); }
  NERVE_LANE V sqrt(V v) { return _mm512_sqrt_ps(v); }
  NERVE_LANE Mask gt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  NERVE_LANE Mask lt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  NERVE_LANE Mask ge(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
  NERVE_LANE Mask le(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
  NERVE_LANE V select(Mask m, V if_true, V if_false) { return _mm512_mask_blend_ps(m, if_false, if_true); }
  // Halves added pairwise in a fixed order, as avx2.h's.
  NERVE_LANE T reduce_add(V v) {
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v),
                                   _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
  }
  // Appended for simd/math.h and the element-wise families.
  NERVE_LANE V round(V v) {
    return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  NERVE_LANE V bit_and(V a, V b) { return _mm512_and_ps(a, b); }
  NERVE_LANE V bit_or(V a, V b) { return _mm512_or_ps(a, b); }
  NERVE_LANE V keep(Mask m, V v) { return _mm512_maskz_mov_ps(m, v); }
  NERVE_LANE Mask mask_and(Mask a, Mask b) { return static_cast<Mask>(a & b); }
  NERVE_LANE T reduce_max(V v) {
    const __m256 h = _mm256_max_ps(_mm512_castps512_ps256(v),
                                   _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
  }
  // One instruction, rounded once as avx2.h's.
  NERVE_LANE V ldexp(V x, V n) { return _mm512_scalef_ps(x, n); }
  NERVE_LANE __m512d to_double_low(V v) { return _mm512_cvtps_pd(_mm512_castps512_ps256(v)); }
  NERVE_LANE __m512d to_double_high(V v) {
    return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  }
};

template <> struct Lanes<double> {
  using T = double;
  using V = __m512d;
  using Mask = __mmask8;
  static constexpr int W = 8;
  NERVE_LANE V zero() { return _mm512_setzero_pd(); }
  NERVE_LANE V set1(T x) { return _mm512_set1_pd(x); }
  NERVE_LANE V load(const T* p) { return _mm512_loadu_pd(p); }
  NERVE_LANE void store(T* p, V v) { _mm512_storeu_pd(p, v); }
  NERVE_LANE V broadcast(const T* p) { return _mm512_set1_pd(*p); }
  NERVE_LANE Mask first(int64_t n) {
    return n >= W ? Mask(0xFF) : static_cast<Mask>((1u << static_cast<unsigned>(n)) - 1u);
  }
  NERVE_LANE V load(const T* p, Mask m) { return _mm512_maskz_loadu_pd(m, p); }
  NERVE_LANE void store(T* p, Mask m, V v) { _mm512_mask_storeu_pd(p, m, v); }
  NERVE_LANE V add(V a, V b) { return _mm512_add_pd(a, b); }
  NERVE_LANE V sub(V a, V b) { return _mm512_sub_pd(a, b); }
  NERVE_LANE V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  NERVE_LANE V div(V a, V b) { return _mm512_div_pd(a, b); }
  NERVE_LANE V fmadd(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  NERVE_LANE V fnmadd(V a, V b, V c) { return _mm512_fnmadd_pd(a, b, c); }
  NERVE_LANE V min(V a, V b) { return _mm512_min_pd(a, b); }
  NERVE_LANE V max(V a, V b) { return _mm512_mask_max_pd(b, Mask(0xFF), a, b); }
  NERVE_LANE V abs(V v) { return _mm512_abs_pd(v); }
  NERVE_LANE V sqrt(V v) { return _mm512_sqrt_pd(v); }
  NERVE_LANE Mask gt(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_GT_OQ); }
  NERVE_LANE Mask lt(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
  NERVE_LANE Mask ge(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_GE_OQ); }
  NERVE_LANE Mask le(V a, V b) { return _mm512_cmp_pd_mask(a, b, _CMP_LE_OQ); }
  NERVE_LANE V select(Mask m, V if_true, V if_false) { return _mm512_mask_blend_pd(m, if_false, if_true); }
  NERVE_LANE T reduce_add(V v) {
    const __m256d h = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
    const __m128d s = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  }
  // Appended for the element-wise families.
  NERVE_LANE V keep(Mask m, V v) { return _mm512_maskz_mov_pd(m, v); }
  NERVE_LANE Mask mask_and(Mask a, Mask b) { return static_cast<Mask>(a & b); }
};

#undef NERVE_LANE

}  // namespace
}  // namespace nerve::simd::avx512
