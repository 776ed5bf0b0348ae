// Instruction-set selection. Every SIMD kernel exists twice: a portable baseline (plain C++,
// SSE2 at most) and an AVX2+FMA version compiled with NERVE_TARGET_AVX2. The active set is
// chosen once at import from CPUID (NERVE_ISA=baseline forces the baseline) and read by each
// kernel's dispatcher; set_isa() exists so tests can exercise both paths in one process.
#pragma once

#include <cstdint>

#define NERVE_TARGET_AVX2 __attribute__((target("avx2,fma")))
// Forces a generic body to be inlined into both variants so each gets its own codegen.
#define NERVE_INLINE inline __attribute__((always_inline))

namespace nerve {

enum class Isa { baseline = 0, avx2 = 1 };

bool cpu_supports(Isa isa);
Isa active_isa();
// Selects `isa`; returns false (and changes nothing) when this CPU lacks it.
bool set_isa(Isa isa);
const char* isa_name(Isa isa);
// Picks the best supported set unless the environment variable NERVE_ISA names one.
void init_isa_from_environment();

// Peak probe for benchmarks: `iterations` rounds of 12 independent FMA chains (the FMA latency
// of 4 cycles times 2 pipes needs >= 8 in flight) on each of `threads` threads. Returns the
// floating-point operations done; the caller times it. Uses AVX2+FMA when supported.
double fma_peak_probe(int64_t iterations, int threads, bool f64);

inline bool use_avx2() { return active_isa() == Isa::avx2; }

}  // namespace nerve
