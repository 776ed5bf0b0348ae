// The normalization kernels for AVX2 + FMA: passes.h compiled after the target pragma.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "normalization/kernels.h"

#include "simd/target_avx2.h"

#include "normalization/passes.h"

namespace nerve::normalization {

const Kernels<float> avx2_f32 = kernels<float>();
const Kernels<double> avx2_f64 = kernels<double>();

}  // namespace nerve::normalization
