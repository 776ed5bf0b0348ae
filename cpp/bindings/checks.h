// Argument checks shared by every binding. Each raises TypeError (wrong kind or dtype) or
// ValueError (wrong shape, layout, writability, aliasing) with the message
//   "<argument>: expected <what was expected>, received <what was given>"
// and runs before any kernel, so no exception can start inside an OpenMP region.
// Arrays are taken as they are: nothing is converted or copied, so in-place outputs are
// always written where the caller can see them.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "activations.h"

namespace nerve::bind {

namespace py = pybind11;

enum class DType { f32, f64 };

[[noreturn]] void raise_type(const char* name, const std::string& expected, const std::string& received);
[[noreturn]] void raise_value(const char* name, const std::string& expected, const std::string& received);

std::string shape_str(const py::array& a);
std::string dtype_str(const py::array& a);

// The object itself as an ndarray (TypeError otherwise; array-likes are not converted).
py::array as_array(py::handle obj, const char* name);
// As as_array, but None gives an empty optional.
std::optional<py::array> as_optional_array(py::handle obj, const char* name);

// float32 or float64.
DType float_dtype(const py::array& a, const char* name);
// Same float dtype as the reference argument.
void require_dtype(const py::array& a, const char* name, DType expected);
void require_int64(const py::array& a, const char* name);
void require_ndim(const py::array& a, const char* name, int ndim);
// Dimensions given as -1 are not checked.
void require_shape(const py::array& a, const char* name, const std::vector<int64_t>& shape);
// C-contiguous and aligned to its item size (the kernels read whole elements).
void require_c_contiguous(const py::array& a, const char* name);
void require_writable(const py::array& a, const char* name);
// Rejects any overlap of the two arrays' memory. With allow_identical, the very same buffer
// (same start, same size) is accepted: element-wise kernels may run in place.
void require_disjoint(const py::array& a, const char* name_a, const py::array& b,
                      const char* name_b, bool allow_identical = false);

// obj as an ndarray of `ndim` dimensions and the given dtype.
py::array typed_array(py::handle obj, const char* name, int ndim, DType dtype);
// obj as an ndarray of `ndim` dimensions and a float dtype, which the other arrays must share.
py::array first_array(py::handle obj, const char* name, int ndim, DType* dtype);

struct Named {
  const py::array* array;
  const char* name;
};
// Every output disjoint from every later output and every input; dz may be exactly dy.
void require_all_disjoint(const std::vector<Named>& outputs, const std::vector<Named>& inputs,
                          const py::array* dz = nullptr, const py::array* dy = nullptr);

// An activation name (str) parsed to the kernel enum; with `trainable`, only activations that
// have a derivative are accepted (the step unit is forward-only).
Activation activation_arg(py::handle obj, bool trainable = false);

// Checks shared by every output and in-place argument: dtype, contiguity, writability.
void require_output(const py::array& a, const char* name, DType dtype);
// dtype + C-contiguity for an input.
void require_input(const py::array& a, const char* name, DType dtype);

inline int64_t dim(const py::array& a, int i) { return static_cast<int64_t>(a.shape(i)); }
template <class T> T* ptr(py::array& a) { return static_cast<T*>(a.mutable_data()); }
template <class T> const T* cptr(const py::array& a) { return static_cast<const T*>(a.data()); }

// Calls f with a float or double tag.
template <class F> decltype(auto) with_dtype(DType d, F&& f) {
  if (d == DType::f32) return f(float{});
  return f(double{});
}

// Releasing the GIL costs ~0.1-0.2 us; only worth it around real work.
constexpr int64_t kReleaseGilAbove = 20000;  // elements touched
struct MaybeReleaseGil {
  explicit MaybeReleaseGil(int64_t work) {
    if (work > kReleaseGilAbove) release.emplace();
  }
  std::optional<py::gil_scoped_release> release;
};

}  // namespace nerve::bind
