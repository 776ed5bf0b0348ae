// Embedding gather and scatter-add, float and double, int32 or int64 indices.
//   embedding_forward:  y (n, dim) = table (rows, dim) [indices (n,)]; overwrites y.
//   embedding_backward: dtable (rows, dim) (+)= the rows of dy (n, dim) added at their
//                       indices; overwrites dtable (rows not indexed become 0) unless
//                       accumulate. A repeated index adds its rows in index order.
// Every index must be in [0, rows): the bindings check them all before any kernel runs, so
// the kernels never read or write outside the table.
// Threading: the forward pass splits the indices into fixed chunks; the backward pass splits
// the columns of dim, each chunk adding every row of dy in index order, so each element's sum
// has one fixed order and results are bitwise the same on any thread count. Serial below
// kEmbeddingSerialBelow elements of y / dy (an OpenMP region costs microseconds).
#pragma once

#include <cstdint>

namespace nerve {

constexpr int64_t kEmbeddingSerialBelow = 1 << 15;

template <class T, class I>
void embedding_forward(T* y, const T* table, const I* indices, int64_t n, int64_t rows,
                       int64_t dim);
template <class T, class I>
void embedding_backward(T* dtable, const T* dy, const I* indices, int64_t n, int64_t rows,
                        int64_t dim, bool accumulate);

// Plain scalar versions: the readable definitions.
template <class T, class I>
void embedding_forward_scalar(T* y, const T* table, const I* indices, int64_t n, int64_t rows,
                              int64_t dim);
template <class T, class I>
void embedding_backward_scalar(T* dtable, const T* dy, const I* indices, int64_t n,
                               int64_t rows, int64_t dim, bool accumulate);

}  // namespace nerve
