#include "cpu.h"

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

}  // namespace nerve
