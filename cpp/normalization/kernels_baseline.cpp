// The portable normalization kernels: passes.h for the baseline target (SSE2 on x86-64), what
// NERVE_ISA=baseline runs and CPUs without AVX2 get.
#include "normalization/passes.h"

namespace nerve::normalization {

const Kernels<float> baseline_f32 = kernels<float>();
const Kernels<double> baseline_f64 = kernels<double>();

}  // namespace nerve::normalization
