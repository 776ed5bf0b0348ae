// The portable GEMM: the same algorithm and tile shape as AVX2's (6 x 16 float, 6 x 8
// double) with a plain C++ micro-kernel the compiler vectorises for the baseline target
// (SSE2 on x86-64). NERVE_ISA=baseline runs it, and it is what CPUs without AVX2 get.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <utility>

#include "cpu.h"
#include "gemm/operands.h"
#include "matmul.h"
#include "parallel.h"

#include "gemm/tile.h"
#include "gemm/driver.h"

namespace nerve::matmul {
namespace {

template <class T> struct BaselineBlocking;
template <> struct BaselineBlocking<float> {
  static constexpr int64_t MR = 6, NR = 16, MC = 144, KC = 256, NC = 4080;
};
template <> struct BaselineBlocking<double> {
  static constexpr int64_t MR = 6, NR = 8, MC = 72, KC = 256, NC = 4080;
};

struct BaselineConfig {
  template <class T> using Blocking = BaselineBlocking<T>;
  template <class T> static constexpr int64_t kTransposeWidth = 0;  // element by element
  template <class T>
  static void transpose(const T* const*, int64_t, T*, int64_t) {}

  // acc (ROWS x COLS) over the kc steps, then the TileJob's update of C (tile.h).
  template <class T, int ROWS, int VECS, bool PACKED>
  static void run(const TileJob<T>& job) {
    constexpr int64_t NR = Blocking<T>::NR;
    constexpr int COLS = static_cast<int>(NR / 2) * VECS;
    const int64_t row_step = PACKED ? 1 : job.a_row_step;
    const int64_t k_step = PACKED ? Blocking<T>::MR : job.a_k_step;
    const int64_t b_step = PACKED ? NR : job.b_k_step;
    const T *a = job.a, *b = job.b;
    T acc[ROWS][COLS] = {};
    for (int64_t p = 0; p < job.kc; ++p) {
      if (job.b_copy) std::memcpy(job.b_copy + p * NR, b, sizeof(T) * NR);
      for (int r = 0; r < ROWS; ++r) {
        const T ar = a[r * row_step];
        for (int j = 0; j < COLS; ++j) acc[r][j] += ar * b[j];
      }
      a += k_step;
      b += b_step;
    }
    const T alpha = job.alpha, beta = job.beta;
    for (int r = 0; r < ROWS; ++r)
      for (int64_t j = 0; j < job.cols; ++j) {
        T& out = job.c[r * job.ldc + j];
        T result = beta == T(0) ? alpha * acc[r][j] : alpha * acc[r][j] + beta * out;
        if (job.bias) result += job.bias[j];
        if (job.relu) result = result < T(0) ? T(0) : result;
        out = result;
      }
  }
};

}  // namespace

const Driver<float> baseline_f32 = Algorithm<BaselineConfig>::kDriver<float>;
const Driver<double> baseline_f64 = Algorithm<BaselineConfig>::kDriver<double>;

}  // namespace nerve::matmul
