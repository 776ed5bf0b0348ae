// Lanes<T> over 256-bit registers: 8 floats or 4 doubles. Include after target_avx2.h (or
// target_avx512.h, whose set contains AVX2). The interface, shared with avx512.h:
//   V, W (lanes), Mask (a tail or comparison mask), zero, set1, load, store, broadcast,
//   first(n) (lanes [0, n) set; n may exceed W), masked load (zero elsewhere) and store,
//   add sub mul div fmadd (a*b+c) fnmadd (c-a*b) min max (b when either is NaN) abs sqrt,
//   gt lt ge le (ordered, false on NaN), select(mask, if_true, if_false), reduce_add.
//   keep(mask, v) (v where set, else +0), mask_and; on float lanes only: round (to nearest,
//   ties to even), bit_and, bit_or, reduce_max, ldexp(x, n) (x 2^n, rounded once, for |x| in
//   [1/2, 2] and integral n in [-200, 200]), to_double_low/high (each half as double lanes).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace nerve::simd::avx2 {
namespace {

#define NERVE_LANE static inline __attribute__((always_inline))

template <class T> struct Lanes;

template <> struct Lanes<float> {
  using T = float;
  using V = __m256;
  using Mask = __m256;
  static constexpr int W = 8;
  NERVE_LANE V zero() { return _mm256_setzero_ps(); }
  NERVE_LANE V set1(T x) { return _mm256_set1_ps(x); }
  NERVE_LANE V load(const T* p) { return _mm256_loadu_ps(p); }
  NERVE_LANE void store(T* p, V v) { _mm256_storeu_ps(p, v); }
  NERVE_LANE V broadcast(const T* p) { return _mm256_broadcast_ss(p); }
  NERVE_LANE Mask first(int64_t n) {
    const int lanes = n < W ? static_cast<int>(n) : W;
    return _mm256_castsi256_ps(
        _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
  }
  NERVE_LANE V load(const T* p, Mask m) { return _mm256_maskload_ps(p, _mm256_castps_si256(m)); }
  NERVE_LANE void store(T* p, Mask m, V v) { _mm256_maskstore_ps(p, _mm256_castps_si256(m), v); }
  NERVE_LANE V add(V a, V b) { return _mm256_add_ps(a, b); }
  NERVE_LANE V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  NERVE_LANE V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  NERVE_LANE V div(V a, V b) { return _mm256_div_ps(a, b); }
  NERVE_LANE V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  NERVE_LANE V fnmadd(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }
  NERVE_LANE V min(V a, V b) { return _mm256_min_ps(a, b); }
  NERVE_LANE V max(V a, V b) { return _mm256_max_ps(a, b); }
  NERVE_LANE V abs(V v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }
  NERVE_LANE V sqrt(V v) { return _mm256_sqrt_ps(v); }
  NERVE_LANE Mask gt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  NERVE_LANE Mask lt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  NERVE_LANE Mask ge(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
  NERVE_LANE Mask le(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
  NERVE_LANE V select(Mask m, V if_true, V if_false) { return _mm256_blendv_ps(if_false, if_true, m); }
  // Pairwise, in a fixed order: the same sum for the same lanes on every call.
  NERVE_LANE T reduce_add(V v) {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
  }
  // Appended for simd/math.h and the element-wise families.
  NERVE_LANE V round(V v) { return _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  NERVE_LANE V bit_and(V a, V b) { return _mm256_and_ps(a, b); }
  NERVE_LANE V bit_or(V a, V b) { return _mm256_or_ps(a, b); }
  NERVE_LANE V keep(Mask m, V v) { return _mm256_and_ps(m, v); }
  NERVE_LANE Mask mask_and(Mask a, Mask b) { return _mm256_and_ps(a, b); }
  // Halving in a fixed order, as reduce_add.
  NERVE_LANE T reduce_max(V v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
  }
  // x 2^n by two exact scalings, 2^(n>>1) then 2^(n - (n>>1)), each factor a normal float, so
  // the product is rounded once, into the subnormals too.
  NERVE_LANE V ldexp(V x, V n) {
    const __m256i ni = _mm256_cvtps_epi32(n);
    const __m256i half = _mm256_srai_epi32(ni, 1);
    const __m256i bias = _mm256_set1_epi32(127);
    const V first = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, bias), 23));
    const V second =
        _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, half), bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(x, first), second);
  }
  NERVE_LANE __m256d to_double_low(V v) { return _mm256_cvtps_pd(_mm256_castps256_ps128(v)); }
  NERVE_LANE __m256d to_double_high(V v) { return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)); }
};

template <> struct Lanes<double> {
  using T = double;
  using V = __m256d;
  using Mask = __m256d;
  static constexpr int W = 4;
  NERVE_LANE V zero() { return _mm256_setzero_pd(); }
  NERVE_LANE V set1(T x) { return _mm256_set1_pd(x); }
  NERVE_LANE V load(const T* p) { return _mm256_loadu_pd(p); }
  NERVE_LANE void store(T* p, V v) { _mm256_storeu_pd(p, v); }
  NERVE_LANE V broadcast(const T* p) { return _mm256_broadcast_sd(p); }
  NERVE_LANE Mask first(int64_t n) {
    const int64_t lanes = n < W ? n : W;
    return _mm256_castsi256_pd(_mm256_cmpgt_epi64(_mm256_set1_epi64x(lanes), _mm256_setr_epi64x(0, 1, 2, 3)));
  }
  NERVE_LANE V load(const T* p, Mask m) { return _mm256_maskload_pd(p, _mm256_castpd_si256(m)); }
  NERVE_LANE void store(T* p, Mask m, V v) { _mm256_maskstore_pd(p, _mm256_castpd_si256(m), v); }
  NERVE_LANE V add(V a, V b) { return _mm256_add_pd(a, b); }
  NERVE_LANE V sub(V a, V b) { return _mm256_sub_pd(a, b); }
  NERVE_LANE V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  NERVE_LANE V div(V a, V b) { return _mm256_div_pd(a, b); }
  NERVE_LANE V fmadd(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  NERVE_LANE V fnmadd(V a, V b, V c) { return _mm256_fnmadd_pd(a, b, c); }
  NERVE_LANE V min(V a, V b) { return _mm256_min_pd(a, b); }
  NERVE_LANE V max(V a, V b) { return _mm256_max_pd(a, b); }
  NERVE_LANE V abs(V v) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), v); }
  NERVE_LANE V sqrt(V v) { return _mm256_sqrt_pd(v); }
  NERVE_LANE Mask gt(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_GT_OQ); }
  NERVE_LANE Mask lt(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_LT_OQ); }
  NERVE_LANE Mask ge(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_GE_OQ); }
  NERVE_LANE Mask le(V a, V b) { return _mm256_cmp_pd(a, b, _CMP_LE_OQ); }
  NERVE_LANE V select(Mask m, V if_true, V if_false) { return _mm256_blendv_pd(if_false, if_true, m); }
  NERVE_LANE T reduce_add(V v) {
    const __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
  }
  // Appended for the element-wise families.
  NERVE_LANE V keep(Mask m, V v) { return _mm256_and_pd(m, v); }
  NERVE_LANE Mask mask_and(Mask a, Mask b) { return _mm256_and_pd(a, b); }
};

// dst[q * dst_step + l] = rows[l][p + q] for l, q < W: a W x W transpose in registers, for
// packing a k-contiguous operand into lane-contiguous panels.
NERVE_LANE void transpose(const float* const* rows, int64_t p, float* dst, int64_t dst_step) {
  __m256 r[8], t[8];
  _Pragma("GCC unroll 8") for (int l = 0; l < 8; ++l) r[l] = _mm256_loadu_ps(rows[l] + p);
  _Pragma("GCC unroll 8") for (int l = 0; l < 8; l += 2) {
    t[l] = _mm256_unpacklo_ps(r[l], r[l + 1]);      // k 0 1 4 5 of rows l, l+1 interleaved
    t[l + 1] = _mm256_unpackhi_ps(r[l], r[l + 1]);  // k 2 3 6 7
  }
  _Pragma("GCC unroll 8") for (int l = 0; l < 8; l += 4) {  // rows l..l+3 of k 0 4 | 1 5 | 2 6 | 3 7
    r[l] = _mm256_shuffle_ps(t[l], t[l + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[l + 1] = _mm256_shuffle_ps(t[l], t[l + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[l + 2] = _mm256_shuffle_ps(t[l + 1], t[l + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[l + 3] = _mm256_shuffle_ps(t[l + 1], t[l + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  _Pragma("GCC unroll 8") for (int q = 0; q < 4; ++q) {
    _mm256_storeu_ps(dst + q * dst_step, _mm256_permute2f128_ps(r[q], r[q + 4], 0x20));
    _mm256_storeu_ps(dst + (q + 4) * dst_step, _mm256_permute2f128_ps(r[q], r[q + 4], 0x31));
  }
}

NERVE_LANE void transpose(const double* const* rows, int64_t p, double* dst, int64_t dst_step) {
  __m256d r[4];
  _Pragma("GCC unroll 8") for (int l = 0; l < 4; ++l) r[l] = _mm256_loadu_pd(rows[l] + p);
  const __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);  // k 0 2 | 1 3
  const __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
  _mm256_storeu_pd(dst, _mm256_permute2f128_pd(t0, t2, 0x20));
  _mm256_storeu_pd(dst + dst_step, _mm256_permute2f128_pd(t1, t3, 0x20));
  _mm256_storeu_pd(dst + 2 * dst_step, _mm256_permute2f128_pd(t0, t2, 0x31));
  _mm256_storeu_pd(dst + 3 * dst_step, _mm256_permute2f128_pd(t1, t3, 0x31));
}

#undef NERVE_LANE

}  // namespace
}  // namespace nerve::simd::avx2
