// The portable optimizer kernels: updates.h for the baseline target (SSE2 on x86-64), what
// NERVE_ISA=baseline runs, CPUs without AVX2 get, and the *_scalar references use.
#include "optim/updates.h"

namespace nerve::optim {

// 8 double accumulators: 4 SSE2 registers.
const Kernels<float> baseline_f32 = kernels<float, 8>();
const Kernels<double> baseline_f64 = kernels<double, 8>();

}  // namespace nerve::optim
