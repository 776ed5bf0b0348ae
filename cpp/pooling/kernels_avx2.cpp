// The pooling kernels for AVX2 + FMA: passes.h compiled after the target pragma.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "pooling/kernels.h"

#include "simd/target_avx2.h"

#include "pooling/passes.h"

namespace nerve::pooling {

const Kernels<float> avx2_f32 = kernels<float>();
const Kernels<double> avx2_f64 = kernels<double>();

}  // namespace nerve::pooling
