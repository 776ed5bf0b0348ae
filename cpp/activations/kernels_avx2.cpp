// The activation kernels for AVX2+FMA: vector.h over 256-bit lanes (cpp/simd/README.md).
#include <cstdint>
#include <limits>

#include "activations/kernels.h"
#include "cpu.h"

#include "simd/target_avx2.h"

#include "simd/avx2.h"
#include "simd/blocks.h"
#include "simd/math.h"
#include "activations/vector.h"

namespace nerve {

constexpr ActivationKernelSet activation_kernels_avx2 =
    make_activation_kernels<simd::avx2::Lanes>();

}  // namespace nerve
