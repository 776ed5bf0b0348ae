// The loss rows for AVX-512: vector.h over 512-bit lanes (cpp/simd/README.md).
#include <cmath>
#include <cstdint>

#include "cpu.h"
#include "loss/kernels.h"

#include "simd/target_avx512.h"

#include "simd/avx512.h"
#include "simd/blocks.h"
#include "simd/math.h"
#include "loss/vector.h"

namespace nerve {

constexpr LossKernels loss_kernels_avx512 = make_loss_kernels<simd::avx512::Lanes>();

}  // namespace nerve
