// Pooling dispatch (contract in pooling.h): fixed chunks sized from the geometry, and the
// active instruction set's kernels (kernels.h, passes in passes.h) run over them. The chunks
// depend on the sizes alone, so results are bitwise the same on any thread count.
#include "pooling.h"

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "cpu.h"
#include "parallel.h"
#include "pooling/kernels.h"

namespace nerve {
namespace {

using namespace pooling;

// About 64 KiB of float32 read per chunk: enough work to amortise handing it out, small
// enough that two threads share a 2-image batch evenly.
constexpr int64_t kPoolGrain = 1 << 14;

// NEON is the aarch64 baseline target, and these plain loops vectorise for it: the baseline
// table is the neon one.
template <class T>
const Kernels<T>& active_kernels() {
  if constexpr (std::is_same_v<T, float>)
    return for_active_isa(NERVE_ISA_TABLES(baseline_f32, avx2_f32, avx512_f32, baseline_f32));
  else return for_active_isa(NERVE_ISA_TABLES(baseline_f64, avx2_f64, avx512_f64, baseline_f64));
}

// Fixed chunks of items that cost `visits` element visits each (a double: the estimate of an
// absurd geometry must not overflow), serial below kPoolSerialBelow visits in all.
struct Split {
  int64_t grain, serial_below;
};
Split split_for(double visits) {
  const double per_item = std::max(visits, 1.0);
  return {static_cast<int64_t>(std::max(1.0, kPoolGrain / per_item)),
          static_cast<int64_t>(std::max(1.0, kPoolSerialBelow / per_item))};
}
// Element visits of one output row (n, oh): the window, clipped to the image, per output.
double row_visits(const Pool2dShape& s) {
  return static_cast<double>(s.out_width) * static_cast<double>(s.channels) *
         static_cast<double>(std::min(s.pool_h, s.height)) *
         static_cast<double>(std::min(s.pool_w, s.width));
}
double image_size(const Pool2dShape& s) {
  return static_cast<double>(s.height) * static_cast<double>(s.width) *
         static_cast<double>(s.channels);
}

}  // namespace

template <class T>
void max_pool2d_forward(T* y, int64_t* argmax, const T* x, const Pool2dShape& s) {
  const Split split = split_for(row_visits(s));
  const auto kernel = active_kernels<T>().max_rows;
  parallel_for(s.batch * s.out_height, split.grain, split.serial_below,
               [&](int64_t begin, int64_t end) { kernel(y, argmax, x, s, begin, end); });
}

template <class T>
void avg_pool2d_forward(T* y, const T* x, const Pool2dShape& s) {
  const Split split = split_for(row_visits(s));
  const auto kernel = active_kernels<T>().avg_rows;
  parallel_for(s.batch * s.out_height, split.grain, split.serial_below,
               [&](int64_t begin, int64_t end) { kernel(y, x, s, begin, end); });
}

template <class T>
void max_pool2d_backward(T* dx, const T* dy, const int64_t* argmax, const Pool2dShape& s) {
  // Zeroing the image, then one addition per output element.
  const Split split = split_for(image_size(s) + static_cast<double>(s.out_height) *
                                                    static_cast<double>(s.out_width) *
                                                    static_cast<double>(s.channels));
  const auto kernel = active_kernels<T>().max_backward_images;
  parallel_for(s.batch, split.grain, split.serial_below,
               [&](int64_t begin, int64_t end) { kernel(dx, dy, argmax, s, begin, end); });
}

template <class T>
void avg_pool2d_backward(T* dx, const T* dy, const Pool2dShape& s) {
  const Split split = split_for(image_size(s) + row_visits(s) * static_cast<double>(s.out_height));
  const auto kernel = active_kernels<T>().avg_backward_images;
  parallel_for(s.batch, split.grain, split.serial_below,
               [&](int64_t begin, int64_t end) { kernel(dx, dy, s, begin, end); });
}

#define NERVE_INSTANTIATE_POOLING(T)                                                          \
  template void max_pool2d_forward<T>(T*, int64_t*, const T*, const Pool2dShape&);            \
  template void max_pool2d_backward<T>(T*, const T*, const int64_t*, const Pool2dShape&);     \
  template void avg_pool2d_forward<T>(T*, const T*, const Pool2dShape&);                      \
  template void avg_pool2d_backward<T>(T*, const T*, const Pool2dShape&);

NERVE_INSTANTIATE_POOLING(float)
NERVE_INSTANTIATE_POOLING(double)
#undef NERVE_INSTANTIATE_POOLING

}  // namespace nerve
