// gemm (every transpose, alpha, beta, strided operands, shapes across the tile, K-slice and
// packed-A boundaries) and gemm_serial's fused bias + relu, against gemm_scalar.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "check.h"
#include "matmul.h"

namespace kernel_check {
namespace {

struct Shape {
  int64_t M, N, K;
};

// Odd sizes and tails of every tile width; K past one K slice (256); M past the unpacked-A
// limit (128) into the packed path; the last one above kGemmSerialBelow, so it threads.
constexpr Shape kShapes[] = {{1, 1, 1},   {3, 5, 7},    {12, 8, 16}, {13, 9, 17},
                             {7, 33, 300}, {25, 17, 64}, {131, 21, 9}, {150, 70, 160}};

// A sum of K products of values in [-1, 1]: error grows with K.
template <class T>
double gemm_atol(int64_t K) {
  return kAtol<T> * 4 * static_cast<double>(K);
}

template <class T>
void check_product(const Shape& s, bool ta, bool tb, T alpha, T beta, int64_t pad, uint64_t seed) {
  const int64_t lda = (ta ? s.M : s.K) + pad, ldb = (tb ? s.K : s.N) + pad, ldc = s.N + pad;
  const auto a = uniform<T>((ta ? s.K : s.M) * lda, -1, 1, seed);
  const auto b = uniform<T>((tb ? s.N : s.K) * ldb, -1, 1, seed + 1);
  auto c = uniform<T>(s.M * ldc, -1, 1, seed + 2);
  if (beta == T(0)) std::fill(c.begin(), c.end(), std::numeric_limits<T>::quiet_NaN());  // ignored
  auto want = c;
  nerve::gemm(ta, tb, s.M, s.N, s.K, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
  nerve::gemm_scalar(ta, tb, s.M, s.N, s.K, alpha, a.data(), lda, b.data(), ldb, beta, want.data(), ldc);
  const std::string what = std::string("gemm ") + dtype_name<T>() + " " + std::to_string(s.M) + "x" +
                           std::to_string(s.N) + "x" + std::to_string(s.K) + (ta ? " A^T" : "") +
                           (tb ? " B^T" : "") + " beta " + std::to_string(double(beta));
  expect_close(what, c, want, kRtol<T> * 10, gemm_atol<T>(s.K));
}

// C = relu(A B + bias), the Dense layer's fused finish in the micro-kernel.
template <class T>
void check_dense_finish(const Shape& s, uint64_t seed) {
  const auto a = uniform<T>(s.M * s.K, -1, 1, seed);
  const auto b = uniform<T>(s.K * s.N, -1, 1, seed + 1);
  const auto bias = uniform<T>(s.N, -1, 1, seed + 2);
  std::vector<T> c(s.M * s.N), want(s.M * s.N);
  nerve::gemm_serial(false, false, s.M, s.N, s.K, a.data(), s.K, b.data(), s.N, T(0), c.data(), s.N,
                     bias.data(), true);
  nerve::gemm_scalar(false, false, s.M, s.N, s.K, T(1), a.data(), s.K, b.data(), s.N, T(0),
                     want.data(), s.N);
  for (int64_t i = 0; i < s.M; ++i)
    for (int64_t j = 0; j < s.N; ++j) {
      T& w = want[i * s.N + j];
      w = std::max(T(0), w + bias[j]);
    }
  expect_close(std::string("gemm_serial bias+relu ") + dtype_name<T>() + " " + std::to_string(s.M) +
                   "x" + std::to_string(s.N) + "x" + std::to_string(s.K),
               c, want, kRtol<T> * 10, gemm_atol<T>(s.K));
}

template <class T>
void check_dtype() {
  uint64_t seed = 100;
  for (const Shape& s : kShapes) {
    for (int t = 0; t < 4; ++t) check_product<T>(s, t & 1, t & 2, T(1), T(0), 0, seed += 3);
    check_product<T>(s, false, false, T(0.5), T(1), 3, seed += 3);
    check_product<T>(s, true, false, T(-2), T(0.25), 1, seed += 3);
    check_dense_finish<T>(s, seed += 3);
  }
}

}  // namespace

void check_gemm() {
  check_dtype<float>();
  check_dtype<double>();
}

}  // namespace kernel_check
