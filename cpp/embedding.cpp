// Embedding gather and scatter-add; the conventions are in embedding.h.
#include "embedding.h"

#include <algorithm>
#include <cstring>

#include "parallel.h"

namespace nerve {
namespace {

// Indices per forward chunk (about 8K copied elements) and columns per backward chunk (a
// multiple of the 64-byte cache line for float and double, so chunks never share a line).
int64_t rows_per_chunk(int64_t dim) { return std::max<int64_t>(1, (1 << 13) / std::max<int64_t>(dim, 1)); }
constexpr int64_t kColumnChunk = 64;

}  // namespace

template <class T, class I>
void embedding_forward(T* y, const T* table, const I* indices, int64_t n, int64_t rows,
                       int64_t dim) {
  (void)rows;
  if (dim == 0) return;
  const int64_t serial = (kEmbeddingSerialBelow + dim - 1) / dim;
  parallel_for(n, rows_per_chunk(dim), serial, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      std::memcpy(y + i * dim, table + static_cast<int64_t>(indices[i]) * dim,
                  static_cast<size_t>(dim) * sizeof(T));
    }
  });
}

template <class T, class I>
void embedding_backward(T* dtable, const T* dy, const I* indices, int64_t n, int64_t rows,
                        int64_t dim, bool accumulate) {
  if (dim == 0) return;
  // Each column chunk zeroes its own columns, then adds dy's rows in index order. The loop
  // runs over columns, so the element threshold becomes a column count it never reaches.
  const int64_t work = std::max(n, rows) * dim;
  const int64_t serial_columns = work < kEmbeddingSerialBelow ? dim + 1 : 0;
  parallel_for(dim, kColumnChunk, serial_columns, [&](int64_t begin, int64_t end) {
    if (!accumulate) {
      for (int64_t r = 0; r < rows; ++r) std::fill(dtable + r * dim + begin, dtable + r * dim + end, T(0));
    }
    for (int64_t i = 0; i < n; ++i) {
      T* target = dtable + static_cast<int64_t>(indices[i]) * dim;
      const T* source = dy + i * dim;
      for (int64_t j = begin; j < end; ++j) target[j] += source[j];
    }
  });
}

template <class T, class I>
void embedding_forward_scalar(T* y, const T* table, const I* indices, int64_t n, int64_t rows,
                              int64_t dim) {
  (void)rows;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < dim; ++j) y[i * dim + j] = table[static_cast<int64_t>(indices[i]) * dim + j];
  }
}

template <class T, class I>
void embedding_backward_scalar(T* dtable, const T* dy, const I* indices, int64_t n,
                               int64_t rows, int64_t dim, bool accumulate) {
  if (!accumulate) std::fill(dtable, dtable + rows * dim, T(0));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < dim; ++j) dtable[static_cast<int64_t>(indices[i]) * dim + j] += dy[i * dim + j];
  }
}

#define NERVE_INSTANTIATE_EMBEDDING(T, I)                                                      \
  template void embedding_forward<T, I>(T*, const T*, const I*, int64_t, int64_t, int64_t);    \
  template void embedding_backward<T, I>(T*, const T*, const I*, int64_t, int64_t, int64_t,    \
                                         bool);                                                \
  template void embedding_forward_scalar<T, I>(T*, const T*, const I*, int64_t, int64_t,       \
                                               int64_t);                                       \
  template void embedding_backward_scalar<T, I>(T*, const T*, const I*, int64_t, int64_t,      \
                                                int64_t, bool);

NERVE_INSTANTIATE_EMBEDDING(float, int32_t)
NERVE_INSTANTIATE_EMBEDDING(float, int64_t)
NERVE_INSTANTIATE_EMBEDDING(double, int32_t)
NERVE_INSTANTIATE_EMBEDDING(double, int64_t)
#undef NERVE_INSTANTIATE_EMBEDDING

}  // namespace nerve
