// The activation kernels for aarch64 NEON: vector.h over 128-bit lanes (cpp/simd/README.md).
#include <cstdint>
#include <limits>

#include "activations/kernels.h"
#include "cpu.h"

#include "simd/neon.h"
#include "simd/blocks.h"
#include "simd/math.h"
#include "activations/vector.h"

namespace nerve {

constexpr ActivationKernelSet activation_kernels_neon =
    make_activation_kernels<simd::neon::Lanes>();

}  // namespace nerve
