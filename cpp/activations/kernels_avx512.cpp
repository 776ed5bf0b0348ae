// The activation kernels for AVX-512: vector.h over 512-bit lanes (cpp/simd/README.md).
#include <cstdint>
#include <limits>

#include "activations/kernels.h"
#include "cpu.h"

#include "simd/target_avx512.h"

#include "simd/avx512.h"
#include "simd/blocks.h"
#include "simd/math.h"
#include "activations/vector.h"

namespace nerve {

constexpr ActivationKernelSet activation_kernels_avx512 =
    make_activation_kernels<simd::avx512::Lanes>();

}  // namespace nerve
