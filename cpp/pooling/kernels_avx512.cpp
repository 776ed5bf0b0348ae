// The pooling kernels for AVX-512: passes.h compiled after the target pragma, which also asks
// gcc for 512-bit vectors in the loops it vectorises.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "pooling/kernels.h"

#include "simd/target_avx512.h"

#include "pooling/passes.h"

namespace nerve::pooling {

const Kernels<float> avx512_f32 = kernels<float>();
const Kernels<double> avx512_f64 = kernels<double>();

}  // namespace nerve::pooling
