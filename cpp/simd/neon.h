// Lanes<T> over 128-bit NEON (ASIMD) registers: 4 floats or 2 doubles, with the interface of
// avx2.h. aarch64 only; ASIMD is part of the baseline target there, so no target pragma.
// NEON has no masked loads or stores: a Mask is a lane-wise comparison result (all ones or
// zero per lane), and a masked load or store goes lane by lane, touching only the lanes the
// mask sets (tails only: whole blocks use plain loads and stores).
// max(a, b) and min(a, b) are a compare and a select, not vmaxq/vminq: they give b when either
// is NaN, as x86's do, which the vector bodies rely on ("x second: NaN passes").
#pragma once

#include <arm_neon.h>

#include <cstdint>

namespace nerve::simd::neon {
namespace {

#define NERVE_LANE static inline __attribute__((always_inline))

// Lane by lane (gcc's vector subscripts): reads or writes only the lanes m sets, zero elsewhere.
template <class V, class T, class Mask>
NERVE_LANE V masked_load(const T* p, Mask m) {
  V v = {};
  for (int l = 0; l < static_cast<int>(sizeof(V) / sizeof(T)); ++l)
    if (m[l]) v[l] = p[l];
  return v;
}
template <class V, class T, class Mask>
NERVE_LANE void masked_store(T* p, Mask m, V v) {
  for (int l = 0; l < static_cast<int>(sizeof(V) / sizeof(T)); ++l)
    if (m[l]) p[l] = v[l];
}

template <class T> struct Lanes;

template <> struct Lanes<float> {
  using T = float;
  using V = float32x4_t;
  using Mask = uint32x4_t;
  static constexpr int W = 4;
  NERVE_LANE V zero() { return vdupq_n_f32(0.0f); }
  NERVE_LANE V set1(T x) { return vdupq_n_f32(x); }
  NERVE_LANE V load(const T* p) { return vld1q_f32(p); }
  NERVE_LANE void store(T* p, V v) { vst1q_f32(p, v); }
  NERVE_LANE V broadcast(const T* p) { return vld1q_dup_f32(p); }
  NERVE_LANE Mask first(int64_t n) {
    const uint32_t lanes = n <= 0 ? 0 : n < W ? static_cast<uint32_t>(n) : W;
    const uint32_t index[W] = {0, 1, 2, 3};
    return vcltq_u32(vld1q_u32(index), vdupq_n_u32(lanes));
  }
  NERVE_LANE V load(const T* p, Mask m) { return masked_load<V>(p, m); }
  NERVE_LANE void store(T* p, Mask m, V v) { masked_store(p, m, v); }
  NERVE_LANE V add(V a, V b) { return vaddq_f32(a, b); }
  NERVE_LANE V sub(V a, V b) { return vsubq_f32(a, b); }
  NERVE_LANE V mul(V a, V b) { return vmulq_f32(a, b); }
  NERVE_LANE V div(V a, V b) { return vdivq_f32(a, b); }
  NERVE_LANE V fmadd(V a, V b, V c) { return vfmaq_f32(c, a, b); }
  NERVE_LANE V fnmadd(V a, V b, V c) { return vfmsq_f32(c, a, b); }
  NERVE_LANE V min(V a, V b) { return vbslq_f32(vcltq_f32(a, b), a, b); }
  NERVE_LANE V max(V a, V b) { return vbslq_f32(vcgtq_f32(a, b), a, b); }
  NERVE_LANE V abs(V v) { return vabsq_f32(v); }
  NERVE_LANE V sqrt(V v) { return vsqrtq_f32(v); }
  NERVE_LANE Mask gt(V a, V b) { return vcgtq_f32(a, b); }
  NERVE_LANE Mask lt(V a, V b) { return vcltq_f32(a, b); }
  NERVE_LANE Mask ge(V a, V b) { return vcgeq_f32(a, b); }
  NERVE_LANE Mask le(V a, V b) { return vcleq_f32(a, b); }
  NERVE_LANE V select(Mask m, V if_true, V if_false) { return vbslq_f32(m, if_true, if_false); }
  // Pairwise, in a fixed order, as avx2.h's: (l0 + l2) + (l1 + l3).
  NERVE_LANE T reduce_add(V v) {
    const float32x2_t s = vadd_f32(vget_low_f32(v), vget_high_f32(v));
    return vget_lane_f32(s, 0) + vget_lane_f32(s, 1);
  }
  NERVE_LANE V round(V v) { return vrndnq_f32(v); }
  NERVE_LANE V bit_and(V a, V b) {
    return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(a), vreinterpretq_u32_f32(b)));
  }
  NERVE_LANE V bit_or(V a, V b) {
    return vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(a), vreinterpretq_u32_f32(b)));
  }
  NERVE_LANE V keep(Mask m, V v) { return vreinterpretq_f32_u32(vandq_u32(m, vreinterpretq_u32_f32(v))); }
  NERVE_LANE Mask mask_and(Mask a, Mask b) { return vandq_u32(a, b); }
  // Halving in a fixed order with max's NaN rule, as avx2.h's.
  NERVE_LANE T reduce_max(V v) {
    const float32x2_t low = vget_low_f32(v), high = vget_high_f32(v);
    const float32x2_t m = vbsl_f32(vcgt_f32(low, high), low, high);
    const T a = vget_lane_f32(m, 0), b = vget_lane_f32(m, 1);
    return a > b ? a : b;
  }
  // x 2^n by two exact scalings, as avx2.h's: the product is rounded once.
  NERVE_LANE V ldexp(V x, V n) {
    const int32x4_t ni = vcvtnq_s32_f32(n);
    const int32x4_t half = vshrq_n_s32(ni, 1);
    const int32x4_t bias = vdupq_n_s32(127);
    const V first = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(half, bias), 23));
    const V second = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vsubq_s32(ni, half), bias), 23));
    return vmulq_f32(vmulq_f32(x, first), second);
  }
  NERVE_LANE float64x2_t to_double_low(V v) { return vcvt_f64_f32(vget_low_f32(v)); }
  NERVE_LANE float64x2_t to_double_high(V v) { return vcvt_high_f64_f32(v); }
};

template <> struct Lanes<double> {
  using T = double;
  using V = float64x2_t;
  using Mask = uint64x2_t;
  static constexpr int W = 2;
  NERVE_LANE V zero() { return vdupq_n_f64(0.0); }
  NERVE_LANE V set1(T x) { return vdupq_n_f64(x); }
  NERVE_LANE V load(const T* p) { return vld1q_f64(p); }
  NERVE_LANE void store(T* p, V v) { vst1q_f64(p, v); }
  NERVE_LANE V broadcast(const T* p) { return vld1q_dup_f64(p); }
  NERVE_LANE Mask first(int64_t n) {
    const uint64_t lanes = n <= 0 ? 0 : n < W ? static_cast<uint64_t>(n) : W;
    const uint64_t index[W] = {0, 1};
    return vcltq_u64(vld1q_u64(index), vdupq_n_u64(lanes));
  }
  NERVE_LANE V load(const T* p, Mask m) { return masked_load<V>(p, m); }
  NERVE_LANE void store(T* p, Mask m, V v) { masked_store(p, m, v); }
  NERVE_LANE V add(V a, V b) { return vaddq_f64(a, b); }
  NERVE_LANE V sub(V a, V b) { return vsubq_f64(a, b); }
  NERVE_LANE V mul(V a, V b) { return vmulq_f64(a, b); }
  NERVE_LANE V div(V a, V b) { return vdivq_f64(a, b); }
  NERVE_LANE V fmadd(V a, V b, V c) { return vfmaq_f64(c, a, b); }
  NERVE_LANE V fnmadd(V a, V b, V c) { return vfmsq_f64(c, a, b); }
  NERVE_LANE V min(V a, V b) { return vbslq_f64(vcltq_f64(a, b), a, b); }
  NERVE_LANE V max(V a, V b) { return vbslq_f64(vcgtq_f64(a, b), a, b); }
  NERVE_LANE V abs(V v) { return vabsq_f64(v); }
  NERVE_LANE V sqrt(V v) { return vsqrtq_f64(v); }
  NERVE_LANE Mask gt(V a, V b) { return vcgtq_f64(a, b); }
  NERVE_LANE Mask lt(V a, V b) { return vcltq_f64(a, b); }
  NERVE_LANE Mask ge(V a, V b) { return vcgeq_f64(a, b); }
  NERVE_LANE Mask le(V a, V b) { return vcleq_f64(a, b); }
  NERVE_LANE V select(Mask m, V if_true, V if_false) { return vbslq_f64(m, if_true, if_false); }
  NERVE_LANE T reduce_add(V v) { return vgetq_lane_f64(v, 0) + vgetq_lane_f64(v, 1); }
  NERVE_LANE V keep(Mask m, V v) { return vreinterpretq_f64_u64(vandq_u64(m, vreinterpretq_u64_f64(v))); }
  NERVE_LANE Mask mask_and(Mask a, Mask b) { return vandq_u64(a, b); }
};

#undef NERVE_LANE

}  // namespace
}  // namespace nerve::simd::neon
