// The loss rows for AVX2+FMA: vector.h over 256-bit lanes (cpp/simd/README.md).
#include <cmath>
#include <cstdint>

#include "cpu.h"
#include "loss/kernels.h"

#include "simd/target_avx2.h"

#include "simd/avx2.h"
#include "simd/blocks.h"
#include "simd/math.h"
#include "loss/vector.h"

namespace nerve {

constexpr LossKernels loss_kernels_avx2 = make_loss_kernels<simd::avx2::Lanes>();

}  // namespace nerve
