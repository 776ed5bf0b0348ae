#include "cpu.h"

#include <atomic>
#include <cstdlib>
#include <iterator>

#ifdef NERVE_X86
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace nerve {

namespace {

std::atomic<int> g_isa{static_cast<int>(Isa::baseline)};

#ifdef NERVE_X86
struct CpuFeatures {
  bool avx2 = false, avx512 = false;
};

// XCR0, the register state the OS saves on a context switch: without it the instructions
// fault even when CPUID lists them (a kernel booted with AVX-512 disabled, some hypervisors).
uint64_t read_xcr0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (uint64_t{edx} << 32) | eax;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool fma = c & bit_FMA, osxsave = c & bit_OSXSAVE, avx = c & bit_AVX;
  if (!osxsave || !avx) return f;
  const uint64_t xcr0 = read_xcr0();
  constexpr uint64_t kYmm = 0x6;          // SSE and AVX state
  constexpr uint64_t kZmm = 0x6 | 0xE0;   // plus opmask, ZMM0-15 upper halves, ZMM16-31
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  f.avx2 = fma && (b & bit_AVX2) && (xcr0 & kYmm) == kYmm;
  const bool avx512 = (b & bit_AVX512F) && (b & bit_AVX512VL) && (b & bit_AVX512BW) && (b & bit_AVX512DQ);
  f.avx512 = f.avx2 && avx512 && (xcr0 & kZmm) == kZmm;
  return f;
}

const CpuFeatures& features() {
  static const CpuFeatures f = detect();
  return f;
}
#endif

}  // namespace

bool isa_compiled(Isa isa) {
  for (Isa compiled : kAllIsas)
    if (isa == compiled) return true;
  return false;
}

bool cpu_supports(Isa isa) {
  switch (isa) {
    case Isa::baseline: return true;
#ifdef NERVE_X86
    case Isa::avx2: return features().avx2;
    case Isa::avx512: return features().avx512;
#endif
#ifdef NERVE_AARCH64
    case Isa::neon: return true;  // ASIMD: mandatory in ARMv8-A, assumed by the aarch64 ABIs
#endif
    default: return false;
  }
}

Isa active_isa() { return static_cast<Isa>(g_isa.load(std::memory_order_relaxed)); }

bool set_isa(Isa isa) {
  if (!isa_compiled(isa) || !cpu_supports(isa)) return false;
  g_isa.store(static_cast<int>(isa), std::memory_order_relaxed);
  return true;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::neon: return "neon";
    case Isa::baseline: break;
  }
  return "baseline";
}

bool isa_from_name(const std::string& name, Isa* isa) {
  for (Isa candidate : kAllIsas)
    if (name == isa_name(candidate)) {
      *isa = candidate;
      return true;
    }
  return false;
}

std::string runnable_isa_names() {
  std::string names;
  for (Isa isa : kAllIsas)
    if (isa_compiled(isa) && cpu_supports(isa)) names += (names.empty() ? "'" : ", '") + std::string(isa_name(isa)) + "'";
  return names;
}

std::string init_isa_from_environment() {
  const char* forced = std::getenv("NERVE_ISA");
  if (forced && *forced) {
    Isa isa;
    if (!isa_from_name(forced, &isa))
      return std::string("NERVE_ISA: expected one of ") + runnable_isa_names() + " (this CPU's), received '" + forced + "'";
    if (!set_isa(isa))
      return std::string("NERVE_ISA: this CPU cannot run '") + forced + "'; it runs " + runnable_isa_names();
    return "";
  }
  for (size_t i = std::size(kAllIsas); i-- > 1;)  // the widest first
    if (set_isa(kAllIsas[i])) return "";
  set_isa(Isa::baseline);
  return "";
}

namespace {

constexpr int kChains = 12;

// Chains of a = a * m + c in vectors of type V; asm keeps them live without storing them.
#define NERVE_PROBE(NAME, TARGET, V, SET1, FMA, LANES)                          \
  __attribute__((target(TARGET))) double NAME(int64_t iterations, bool) {     \
    V acc[kChains];                                                             \
    const V mul = SET1(0.9999), add = SET1(1e-4);                               \
    for (auto& a : acc) a = mul;                                                \
    for (int64_t i = 0; i < iterations; ++i)                                    \
      for (auto& a : acc) a = FMA(a, mul, add);                                 \
    for (auto& a : acc) asm volatile("" : : "v"(a));                            \
    return 2.0 * (LANES) * kChains * static_cast<double>(iterations);          \
  }

#ifdef NERVE_X86
NERVE_PROBE(probe_avx512_f32, "avx512f", __m512, _mm512_set1_ps, _mm512_fmadd_ps, 16)
NERVE_PROBE(probe_avx512_f64, "avx512f", __m512d, _mm512_set1_pd, _mm512_fmadd_pd, 8)
NERVE_PROBE(probe_avx2_f32, "avx2,fma", __m256, _mm256_set1_ps, _mm256_fmadd_ps, 8)
NERVE_PROBE(probe_avx2_f64, "avx2,fma", __m256d, _mm256_set1_pd, _mm256_fmadd_pd, 4)
#endif
#undef NERVE_PROBE

// Without vector FMA: a multiply and an add on 16-byte vectors (two operations per lane, as an
// FMA counts), in gcc's generic vectors so it builds for any target.
#ifdef NERVE_X86
#define NERVE_VECTOR_REGISTER "x"
#else
#define NERVE_VECTOR_REGISTER "w"
#endif

template <class T>
double probe_baseline(int64_t iterations) {
  typedef T V __attribute__((vector_size(16)));
  constexpr int kLanes = 16 / sizeof(T);
  V acc[kChains];
  const V mul = V{} + T(0.9999), add = V{} + T(1e-4);
  for (auto& a : acc) a = mul;
  for (int64_t i = 0; i < iterations; ++i)
    for (auto& a : acc) {
      a = a * mul + add;
      asm("" : "+" NERVE_VECTOR_REGISTER(a));  // opaque: no chain folded or dropped
    }
  return 2.0 * kLanes * kChains * static_cast<double>(iterations);
}

double probe_one_thread(int64_t iterations, bool f64, Isa isa) {
#ifdef NERVE_X86
  if (isa == Isa::avx512) return f64 ? probe_avx512_f64(iterations, f64) : probe_avx512_f32(iterations, f64);
  if (isa == Isa::avx2) return f64 ? probe_avx2_f64(iterations, f64) : probe_avx2_f32(iterations, f64);
#else
  (void)isa;
#endif
  return f64 ? probe_baseline<double>(iterations) : probe_baseline<float>(iterations);
}

}  // namespace

double fma_peak_probe(int64_t iterations, int threads, bool f64) {
  const Isa isa = active_isa();
  double flops = 0.0;
#ifdef NERVE_HAVE_OPENMP
#pragma omp parallel for num_threads(threads) reduction(+ : flops) schedule(static, 1)
#endif
  for (int t = 0; t < threads; ++t)
    flops += probe_one_thread(iterations, f64, isa);
  return flops;
}

}  // namespace nerve
