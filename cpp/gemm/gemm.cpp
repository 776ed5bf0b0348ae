// Matrix products (contracts in matmul.h): the entry points pick the active instruction set's
// compiled algorithm (driver.h, kernels_<isa>.cpp); the Dense layer's forward and backward are
// built from them. gemm_scalar is the readable definition the fast paths are tested against.
#include <cstdlib>
#include <new>
#include <type_traits>

#include "cpu.h"
#include "gemm/operands.h"
#include "matmul.h"
#include "parallel.h"

namespace nerve {

namespace matmul {

template <class T>
T* workspace(int64_t count) {
  struct Buffer {
    void* data = nullptr;
    size_t bytes = 0;
    ~Buffer() { std::free(data); }
  };
  thread_local Buffer buffer;
  const size_t bytes = (static_cast<size_t>(count) * sizeof(T) + 63) / 64 * 64;
  if (bytes > buffer.bytes) {
    std::free(buffer.data);
    buffer.data = std::aligned_alloc(64, bytes);
    buffer.bytes = buffer.data ? bytes : 0;
    if (!buffer.data) throw std::bad_alloc();
  }
  return static_cast<T*>(buffer.data);
}

template float* workspace<float>(int64_t);
template double* workspace<double>(int64_t);

}  // namespace matmul

namespace {

template <class T>
const matmul::Driver<T>& driver() {
  using namespace matmul;
  if constexpr (std::is_same_v<T, float>)
    return for_active_isa(NERVE_ISA_TABLES(baseline_f32, avx2_f32, avx512_f32, neon_f32));
  else return for_active_isa(NERVE_ISA_TABLES(baseline_f64, avx2_f64, avx512_f64, neon_f64));
}

// db (+)= column sums of dZ (batch x units), each column summed in row order.
template <class T>
void column_sums(T* db, const T* dz, int64_t batch, int64_t units, bool accumulate) {
  constexpr int64_t kCols = 128;  // columns per chunk: a 1 KiB stack row at most
  const int64_t serial_below = batch * units >= kActivationSerialBelow ? 0 : INT64_MAX;
  parallel_for(units, kCols, serial_below, [&](int64_t j0, int64_t j1) {
    T sums[kCols] = {};
    const int64_t n = j1 - j0;
    for (int64_t i = 0; i < batch; ++i) {
      const T* row = dz + i * units + j0;
      for (int64_t j = 0; j < n; ++j) sums[j] += row[j];
    }
    for (int64_t j = 0; j < n; ++j) db[j0 + j] = accumulate ? db[j0 + j] + sums[j] : sums[j];
  });
}

}  // namespace

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  driver<T>().plain({trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc}, true);
}

template <class T>
void gemm_serial(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A,
                 int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc,
                 const T* bias, bool relu) {
  matmul::Operands<T> op{trans_a, trans_b, M, N, K, T(1), A, lda, B, ldb, beta, C, ldc};
  op.bias = bias;
  op.relu = relu;
  driver<T>().plain(op, false);
}

// The definition: each C(i, j) is one dot product in k order. Single-threaded.
template <class T>
void gemm_scalar(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha,
                 const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      T sum = 0;
      for (int64_t p = 0; p < K; ++p) {
        const T a = trans_a ? A[p * lda + i] : A[i * lda + p];
        const T b = trans_b ? B[j * ldb + p] : B[p * ldb + j];
        sum += a * b;
      }
      T& c = C[i * ldc + j];
      c = beta == T(0) ? alpha * sum : alpha * sum + beta * c;
    }
}

// Z (batch x units) = X (batch x in) W (in x units) + b (units, or null); Y = act(Z).
// Overwrites Y and Z (Z null: not stored; Z == Y: linear only). The bias, and relu when Z is
// not kept, are applied by the micro-kernel to the register tile on the last K slice: as a
// separate pass per finished block they cost 3-4% of the product at 32x784->256 (mostly one
// activation call per row segment). Other element-wise activations run per finished block
// inside the product, while it is in cache.
template <class T>
void dense_forward(T* y, T* z, const T* x, const T* w, const T* b, int64_t batch, int64_t in,
                   int64_t units, Activation act, T alpha) {
  T* pre = z && z != y ? z : y;
  const bool softmax = act == Activation::softmax;
  const bool relu_in_kernel = act == Activation::relu && pre == y;
  const matmul::DenseEpilogue<T> epilogue{softmax ? pre : y, pre, units,
                                        softmax || relu_in_kernel ? Activation::linear : act, alpha};
  matmul::Operands<T> op{false, false, batch, units, in, T(1), x, in, w, units, T(0), pre, units};
  op.bias = b;
  op.relu = relu_in_kernel;
  driver<T>().dense(op, epilogue);
  if (softmax) activation_forward(act, y, pre, batch, units, alpha);
}

// dZ = act'(Z) dY (batch x units; may be dY itself), dX (batch x in, or null) = dZ W^T,
// dW (in x units) (+)= X^T dZ, db (units, or null) (+)= column sums of dZ. `accumulate` adds
// into dW and db. Each product is a gemm (threaded over output tiles), db sums rows in order.
template <class T>
void dense_backward(T* dx, T* dw, T* db, T* dz, const T* dy, const T* x, const T* w,
                    const T* z, const T* y, int64_t batch, int64_t in, int64_t units,
                    Activation act, T alpha, bool accumulate) {
  activation_backward(act, dz, dy, z, y, batch, units, alpha);
  if (dx) gemm(false, true, batch, in, units, T(1), dz, units, w, units, T(0), dx, in);
  gemm(true, false, in, units, batch, T(1), x, in, dz, units, accumulate ? T(1) : T(0), dw, units);
  if (db) column_sums(db, dz, batch, units, accumulate);
}

#define NERVE_INSTANTIATE_MATMUL(T)                                                               \
  template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*,    \
                        int64_t, T, T*, int64_t);                                                 \
  template void gemm_serial<T>(bool, bool, int64_t, int64_t, int64_t, const T*, int64_t,          \
                               const T*, int64_t, T, T*, int64_t, const T*, bool);                \
  template void gemm_scalar<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t,       \
                               const T*, int64_t, T, T*, int64_t);                                \
  template void dense_forward<T>(T*, T*, const T*, const T*, const T*, int64_t, int64_t, int64_t, \
                                 Activation, T);                                                  \
  template void dense_backward<T>(T*, T*, T*, T*, const T*, const T*, const T*, const T*,        \
                                  const T*, int64_t, int64_t, int64_t, Activation, T, bool);
NERVE_INSTANTIATE_MATMUL(float)
NERVE_INSTANTIATE_MATMUL(double)
#undef NERVE_INSTANTIATE_MATMUL

}  // namespace nerve
