// The optimizer kernels for AVX-512: updates.h compiled after the target pragma, which also
// asks gcc for 512-bit vectors in the loops it vectorises.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "optim/kernels.h"

#include "simd/target_avx512.h"

#include "optim/updates.h"

namespace nerve::optim {

// 32 double accumulators: 4 zmm registers.
const Kernels<float> avx512_f32 = kernels<float, 32>();
const Kernels<double> avx512_f64 = kernels<double, 32>();

}  // namespace nerve::optim
