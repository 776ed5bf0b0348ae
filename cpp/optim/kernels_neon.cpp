// The optimizer kernels for aarch64 NEON: updates.h for the baseline target, which has ASIMD
// there, with the sum-of-squares accumulators sized for NEON's 32 vector registers.
#include "optim/updates.h"

namespace nerve::optim {

// 16 double accumulators: 8 q registers, as many FMA chains as hide the latency.
const Kernels<float> neon_f32 = kernels<float, 16>();
const Kernels<double> neon_f64 = kernels<double, 16>();

}  // namespace nerve::optim
