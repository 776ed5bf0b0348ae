// The portable pooling kernels: passes.h for the baseline target (SSE2 on x86-64), what
// NERVE_ISA=baseline runs and CPUs without AVX2 get.
#include "pooling/passes.h"

namespace nerve::pooling {

const Kernels<float> baseline_f32 = kernels<float>();
const Kernels<double> baseline_f64 = kernels<double>();

}  // namespace nerve::pooling
