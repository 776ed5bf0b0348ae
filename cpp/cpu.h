// Instruction-set selection. Every SIMD kernel family has a portable baseline (plain C++)
// and per-ISA vector versions in translation units named by ISA (cpp/simd/README.md): AVX2
// and AVX-512 on x86-64, NEON on aarch64, none elsewhere. The active set is chosen once at
// import (x86: from CPUID and XCR0, the OS must save the registers; aarch64: NEON, which
// ARMv8-A makes mandatory), or forced by NERVE_ISA; each family's dispatcher reads it per
// call. set_isa() exists so tests and benchmarks can run every path the CPU has in one process.
#pragma once

#include <cstdint>
#include <string>

// Forces a body to be inlined into its caller, so it is compiled for the caller's instruction set.
#define NERVE_INLINE inline __attribute__((always_inline))

#if defined(__x86_64__) || defined(__i386__)
#define NERVE_X86 1
#elif defined(__aarch64__)
#define NERVE_AARCH64 1
#endif

namespace nerve {

enum class Isa { baseline = 0, avx2 = 1, avx512 = 2, neon = 3 };
// The sets this architecture compiles, from the portable one to the widest: what NERVE_ISA
// accepts, build_info lists, and import prefers last first.
#if defined(NERVE_X86)
constexpr Isa kAllIsas[] = {Isa::baseline, Isa::avx2, Isa::avx512};
#elif defined(NERVE_AARCH64)
constexpr Isa kAllIsas[] = {Isa::baseline, Isa::neon};
#else
constexpr Isa kAllIsas[] = {Isa::baseline};
#endif

// x86: CPUID feature bits and OS-enabled register state (XCR0) both present.
bool cpu_supports(Isa isa);
// Compiled into this build: one of kAllIsas.
bool isa_compiled(Isa isa);
Isa active_isa();
// Selects `isa`; returns false (and changes nothing) when this CPU or build lacks it.
bool set_isa(Isa isa);

// The active set's entry among one per set this architecture compiles: how a family's
// dispatcher picks its kernels. Call as
//   for_active_isa(NERVE_ISA_TABLES(baseline, avx2, avx512, neon))
// which passes on only the tables this architecture builds, so the others need not exist.
#if defined(NERVE_X86)
#define NERVE_ISA_TABLES(baseline, avx2, avx512, neon) baseline, avx2, avx512
template <class Table>
const Table& for_active_isa(const Table& baseline, const Table& avx2, const Table& avx512) {
  switch (active_isa()) {
    case Isa::avx512: return avx512;
    case Isa::avx2: return avx2;
    default: break;
  }
  return baseline;
}
#elif defined(NERVE_AARCH64)
#define NERVE_ISA_TABLES(baseline, avx2, avx512, neon) baseline, neon
template <class Table>
const Table& for_active_isa(const Table& baseline, const Table& neon) {
  return active_isa() == Isa::neon ? neon : baseline;
}
#else
#define NERVE_ISA_TABLES(baseline, avx2, avx512, neon) baseline
template <class Table>
const Table& for_active_isa(const Table& baseline) {
  return baseline;
}
#endif
const char* isa_name(Isa isa);
// The Isa called `name`; false when no set has that name.
bool isa_from_name(const std::string& name, Isa* isa);
// "'baseline', 'avx2'": the names this CPU and build can run, for error messages.
std::string runnable_isa_names();
// Selects the best set this CPU runs, or the one NERVE_ISA names. Returns an error message
// (empty on success) when NERVE_ISA names no set or one this CPU cannot run.
std::string init_isa_from_environment();

// Peak probe for benchmarks: `iterations` rounds of 12 independent FMA chains (latency 4
// cycles times 2 pipes needs >= 8 in flight) on each of `threads` threads, with the widest
// vectors of the active set. Returns the floating-point operations done; the caller times it.
double fma_peak_probe(int64_t iterations, int threads, bool f64);

}  // namespace nerve
