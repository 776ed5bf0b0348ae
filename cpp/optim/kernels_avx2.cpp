// The optimizer kernels for AVX2 + FMA: updates.h compiled after the target pragma.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "optim/kernels.h"

#include "simd/target_avx2.h"

#include "optim/updates.h"

namespace nerve::optim {

// 16 double accumulators: 4 ymm registers, as many FMA chains as hide the latency.
const Kernels<float> avx2_f32 = kernels<float, 16>();
const Kernels<double> avx2_f64 = kernels<double, 16>();

}  // namespace nerve::optim
