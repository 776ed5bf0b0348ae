// The normalization kernels for AVX-512: passes.h compiled after the target pragma, which
// also asks gcc for 512-bit vectors in the loops it vectorises.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "normalization/kernels.h"

#include "simd/target_avx512.h"

#include "normalization/passes.h"

namespace nerve::normalization {

const Kernels<float> avx512_f32 = kernels<float>();
const Kernels<double> avx512_f64 = kernels<double>();

}  // namespace nerve::normalization
