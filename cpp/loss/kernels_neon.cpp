// The loss rows for aarch64 NEON: vector.h over 128-bit lanes (cpp/simd/README.md).
#include <cmath>
#include <cstdint>

#include "cpu.h"
#include "loss/kernels.h"

#include "simd/neon.h"
#include "simd/blocks.h"
#include "simd/math.h"
#include "loss/vector.h"

namespace nerve {

constexpr LossKernels loss_kernels_neon = make_loss_kernels<simd::neon::Lanes>();

}  // namespace nerve
