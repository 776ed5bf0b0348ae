// Bindings for cpp/embedding.h. indices: a 1-D int32 or int64 array; every index is checked
// against the table's rows before anything is written (an index out of range is a
// ValueError naming the first bad value and its position, never a read outside the table).
// Checks run in the order of nerve/reference/embedding.py. Each function also exists as
// _<name>_scalar, on the plain scalar kernels, for the tests.
#include <cstdint>
#include <string>

#include "checks.h"
#include "embedding.h"
#include "register.h"

namespace nerve::bind {
namespace {

enum class IndexType { i32, i64 };

IndexType index_type(const py::array& a) {
  if (a.dtype().equal(py::dtype::of<int32_t>())) return IndexType::i32;
  if (a.dtype().equal(py::dtype::of<int64_t>())) return IndexType::i64;
  raise_type("indices", "dtype int32 or int64", "dtype " + dtype_str(a));
}

template <class I>
void require_in_range(const I* indices, int64_t n, int64_t rows) {
  for (int64_t i = 0; i < n; ++i) {
    const int64_t index = static_cast<int64_t>(indices[i]);
    if (index < 0 || index >= rows) {
      raise_value("indices", "values in [0, " + std::to_string(rows) + ") (the table's rows)",
                  std::to_string(index) + " at position " + std::to_string(i));
    }
  }
}

// The checked indices array (1-D, int32/int64, contiguous, every value in [0, rows)).
py::array indices_arg(py::handle obj, int64_t rows, IndexType* type) {
  py::array a = as_array(obj, "indices");
  *type = index_type(a);
  require_ndim(a, "indices", 1);
  require_c_contiguous(a, "indices");
  if (*type == IndexType::i32) {
    require_in_range(static_cast<const int32_t*>(a.data()), dim(a, 0), rows);
  } else {
    require_in_range(static_cast<const int64_t*>(a.data()), dim(a, 0), rows);
  }
  return a;
}

// Calls f with a value of the index type.
template <class F>
void with_index_type(IndexType type, F&& f) {
  if (type == IndexType::i32) {
    f(int32_t{});
  } else {
    f(int64_t{});
  }
}

void forward(py::handle y_obj, py::handle table_obj, py::handle indices_obj, bool scalar) {
  py::array y = as_array(y_obj, "y");
  const DType dtype = float_dtype(y, "y");
  require_ndim(y, "y", 2);
  const py::array table = as_array(table_obj, "table");
  require_dtype(table, "table", dtype);
  require_ndim(table, "table", 2);
  const int64_t rows = dim(table, 0), width = dim(table, 1);
  IndexType type;
  const py::array indices = indices_arg(indices_obj, rows, &type);
  const int64_t n = dim(indices, 0);
  require_shape(y, "y", {n, width});
  require_output(y, "y", dtype);
  require_input(table, "table", dtype);
  require_disjoint(y, "y", table, "table");
  require_disjoint(y, "y", indices, "indices");
  with_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    with_index_type(type, [&](auto index_tag) {
      using I = decltype(index_tag);
      MaybeReleaseGil gil(n * width);
      (scalar ? &embedding_forward_scalar<T, I> : &embedding_forward<T, I>)(
          ptr<T>(y), cptr<T>(table), cptr<I>(indices), n, rows, width);
    });
  });
}

void backward(py::handle dtable_obj, py::handle dy_obj, py::handle indices_obj,
              bool accumulate, bool scalar) {
  py::array dtable = as_array(dtable_obj, "dtable");
  const DType dtype = float_dtype(dtable, "dtable");
  require_ndim(dtable, "dtable", 2);
  const py::array dy = as_array(dy_obj, "dy");
  require_dtype(dy, "dy", dtype);
  require_ndim(dy, "dy", 2);
  const int64_t rows = dim(dtable, 0), width = dim(dtable, 1);
  IndexType type;
  const py::array indices = indices_arg(indices_obj, rows, &type);
  const int64_t n = dim(indices, 0);
  require_shape(dy, "dy", {n, width});
  require_output(dtable, "dtable", dtype);
  require_input(dy, "dy", dtype);
  require_disjoint(dtable, "dtable", dy, "dy");
  require_disjoint(dtable, "dtable", indices, "indices");
  with_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    with_index_type(type, [&](auto index_tag) {
      using I = decltype(index_tag);
      MaybeReleaseGil gil((n + rows) * width);
      (scalar ? &embedding_backward_scalar<T, I> : &embedding_backward<T, I>)(
          ptr<T>(dtable), cptr<T>(dy), cptr<I>(indices), n, rows, width, accumulate);
    });
  });
}

}  // namespace

void register_embedding(py::module_& m) {
  for (const bool scalar : {false, true}) {
    const std::string prefix = scalar ? "_" : "", suffix = scalar ? "_scalar" : "";
    m.def((prefix + "embedding_forward" + suffix).c_str(),
          [scalar](py::handle y, py::handle table, py::handle indices) {
            forward(y, table, indices, scalar);
          },
          py::arg("y"), py::arg("table"), py::arg("indices"),
          scalar ? "embedding_forward on the plain scalar kernel (for tests)."
                 : "y (n, dim) = table (rows, dim) [indices], indices 1-D int32 or int64 in "
                   "[0, rows) (ValueError otherwise, before anything is written).");
    m.def((prefix + "embedding_backward" + suffix).c_str(),
          [scalar](py::handle dtable, py::handle dy, py::handle indices, bool accumulate) {
            backward(dtable, dy, indices, accumulate, scalar);
          },
          py::arg("dtable"), py::arg("dy"), py::arg("indices"), py::arg("accumulate") = false,
          scalar ? "embedding_backward on the plain scalar kernel (for tests)."
                 : "dtable (rows, dim) (+)= dy (n, dim) rows added at their indices (in index "
                   "order: deterministic); overwrites dtable unless accumulate.");
  }
}

}  // namespace nerve::bind
