#include "cpu.h"

#include <immintrin.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace nerve {

namespace {
std::atomic<int> g_isa{static_cast<int>(Isa::baseline)};
}

bool cpu_supports(Isa isa) {
  if (isa == Isa::baseline) return true;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

Isa active_isa() { return static_cast<Isa>(g_isa.load(std::memory_order_relaxed)); }

bool set_isa(Isa isa) {
  if (!cpu_supports(isa)) return false;
  g_isa.store(static_cast<int>(isa), std::memory_order_relaxed);
  return true;
}

const char* isa_name(Isa isa) { return isa == Isa::avx2 ? "avx2" : "baseline"; }

void init_isa_from_environment() {
  const char* forced = std::getenv("NERVE_ISA");
  if (forced && std::strcmp(forced, "baseline") == 0) {
    set_isa(Isa::baseline);
    return;
  }
  set_isa(cpu_supports(Isa::avx2) ? Isa::avx2 : Isa::baseline);
}

namespace {

constexpr int kChains = 12;

NERVE_TARGET_AVX2 double probe_avx2_f32(int64_t iterations) {
  __m256 acc[kChains];
  const __m256 mul = _mm256_set1_ps(0.9999f), add = _mm256_set1_ps(1e-4f);
  for (auto& a : acc) a = mul;
  for (int64_t i = 0; i < iterations; ++i)
    for (auto& a : acc) a = _mm256_fmadd_ps(a, mul, add);
  for (auto& a : acc) asm volatile("" : : "x"(a));  // keep the chains without storing them
  return 2.0 * 8 * kChains * static_cast<double>(iterations);
}

NERVE_TARGET_AVX2 double probe_avx2_f64(int64_t iterations) {
  __m256d acc[kChains];
  const __m256d mul = _mm256_set1_pd(0.999999), add = _mm256_set1_pd(1e-6);
  for (auto& a : acc) a = mul;
  for (int64_t i = 0; i < iterations; ++i)
    for (auto& a : acc) a = _mm256_fmadd_pd(a, mul, add);
  for (auto& a : acc) asm volatile("" : : "x"(a));
  return 2.0 * 4 * kChains * static_cast<double>(iterations);
}

// Without AVX2: SSE2 multiply + add (two operations per lane, as an FMA counts).
template <class Vec, class T>
double probe_sse2(int64_t iterations, Vec (*mul)(Vec, Vec), Vec (*add)(Vec, Vec), Vec (*set)(T)) {
  Vec acc[kChains];
  const Vec m = set(T(0.9999)), c = set(T(1e-4));
  for (auto& a : acc) a = m;
  for (int64_t i = 0; i < iterations; ++i)
    for (auto& a : acc) a = add(mul(a, m), c);
  for (auto& a : acc) asm volatile("" : : "x"(a));
  return 2.0 * (16 / sizeof(T)) * kChains * static_cast<double>(iterations);
}

double probe_one_thread(int64_t iterations, bool f64, bool avx2) {
  if (avx2) return f64 ? probe_avx2_f64(iterations) : probe_avx2_f32(iterations);
  return f64 ? probe_sse2<__m128d, double>(iterations, _mm_mul_pd, _mm_add_pd, _mm_set1_pd)
             : probe_sse2<__m128, float>(iterations, _mm_mul_ps, _mm_add_ps, _mm_set1_ps);
}

}  // namespace

double fma_peak_probe(int64_t iterations, int threads, bool f64) {
  const bool avx2 = cpu_supports(Isa::avx2);
  double flops = 0.0;
#ifdef NERVE_HAVE_OPENMP
#pragma omp parallel for num_threads(threads) reduction(+ : flops) schedule(static, 1)
#endif
  for (int t = 0; t < threads; ++t)
    flops += probe_one_thread(iterations, f64, avx2);
  return flops;
}

}  // namespace nerve
