// Argument checks shared by every binding. Each raises TypeError (wrong kind or dtype) or
// ValueError (wrong shape, layout, writability, aliasing) with the message
//   "<argument>: expected <what was expected>, received <what was given>"
// and runs before any kernel, so no exception can start inside an OpenMP region.
// Arrays are taken as they are: nothing is converted or copied, so in-place outputs are
// always written where the caller can see them. A check that passes allocates nothing (no
// string, vector or dtype object is built until an argument is rejected), as a training step
// calls these once per argument per layer.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "activations.h"

namespace nerve::bind {

namespace py = pybind11;

enum class DType { f32, f64 };

[[noreturn]] void raise_type(const char* name, const std::string& expected, const std::string& received);
[[noreturn]] void raise_value(const char* name, const std::string& expected, const std::string& received);

std::string shape_str(const py::array& a);
std::string dtype_str(const py::array& a);
std::string strides_str(const py::array& a);
// The name of obj's type, as error messages show it ("list", "NoneType").
std::string type_name(py::handle obj);

// NumPy's dtype objects for float32, float64 and int64, which the checks compare with: made
// once and kept for the life of the process (never destroyed, as a py::object must not be
// after the interpreter has gone).
struct DtypeObjects {
  py::handle f32, f64, i64;
};
DtypeObjects make_dtype_objects();
inline const DtypeObjects& dtype_objects() {
  static const DtypeObjects objects = make_dtype_objects();
  return objects;
}
inline py::handle dtype_object(DType dtype) {
  return dtype == DType::f32 ? dtype_objects().f32 : dtype_objects().f64;
}

// The fields of an ndarray, read straight from the object: the checks below read them inline
// (pybind11's accessors take and drop references or ask for NumPy's version on the way) and
// leave messages to out-of-line functions that raise.
inline const py::detail::PyArray_Proxy& fields(const py::array& a) {
  return *py::detail::array_proxy(a.ptr());
}
// The kernels' dtypes told apart by identity; any other asks NumPy.
inline py::ssize_t item_size(const py::array& a) {
  const PyObject* descr = fields(a).descr;
  if (descr == dtype_objects().f32.ptr()) return 4;
  if (descr == dtype_objects().f64.ptr()) return 8;
  return a.itemsize();
}
inline py::ssize_t element_count(const py::array& a) {
  const auto& f = fields(a);
  py::ssize_t count = 1;
  for (int i = 0; i < f.nd; ++i) count *= f.dimensions[i];
  return count;
}

// The out-of-line halves of the checks: each raises, except require_dtype_by_value, which
// first compares by value (an equal dtype object made elsewhere, e.g. unpickled).
void require_dtype_by_value(const py::array& a, const char* name, DType expected);
DType float_dtype_by_value(const py::array& a, const char* name);
[[noreturn]] void raise_not_array(py::handle obj, const char* name);
[[noreturn]] void raise_ndim(const py::array& a, const char* name, int ndim);
[[noreturn]] void raise_shape(const py::array& a, const char* name, const int64_t* shape, size_t ndim);
[[noreturn]] void raise_not_c_contiguous(const py::array& a, const char* name);
[[noreturn]] void raise_misaligned(const py::array& a, const char* name);
[[noreturn]] void raise_read_only(const char* name);

// The object itself as an ndarray (TypeError otherwise; array-likes are not converted).
inline py::array as_array(py::handle obj, const char* name) {
  if (!py::isinstance<py::array>(obj)) raise_not_array(obj, name);
  return py::reinterpret_borrow<py::array>(obj);
}
// As as_array, but None gives an empty optional.
std::optional<py::array> as_optional_array(py::handle obj, const char* name);

// float32 or float64.
inline DType float_dtype(const py::array& a, const char* name) {
  if (fields(a).descr == dtype_objects().f32.ptr()) return DType::f32;
  if (fields(a).descr == dtype_objects().f64.ptr()) return DType::f64;
  return float_dtype_by_value(a, name);
}
// Same float dtype as the reference argument.
inline void require_dtype(const py::array& a, const char* name, DType expected) {
  if (fields(a).descr != dtype_object(expected).ptr()) require_dtype_by_value(a, name, expected);
}
void require_int64(const py::array& a, const char* name);
inline void require_ndim(const py::array& a, const char* name, int ndim) {
  if (fields(a).nd != ndim) raise_ndim(a, name, ndim);
}
// Dimensions given as -1 are not checked. A braced list ({rows, -1}) builds no vector.
inline void require_shape(const py::array& a, const char* name, const int64_t* shape, size_t ndim) {
  const auto& f = fields(a);
  bool ok = f.nd == static_cast<int>(ndim);
  for (size_t i = 0; ok && i < ndim; ++i) ok = shape[i] < 0 || f.dimensions[i] == shape[i];
  if (!ok) raise_shape(a, name, shape, ndim);
}
inline void require_shape(const py::array& a, const char* name, std::initializer_list<int64_t> shape) {
  require_shape(a, name, shape.begin(), shape.size());
}
inline void require_shape(const py::array& a, const char* name, const std::vector<int64_t>& shape) {
  require_shape(a, name, shape.data(), shape.size());
}
// Data address a multiple of the item size (C++ cannot load a float64 at an odd address,
// though NumPy can make such views, e.g. of a byte buffer).
inline void require_aligned(const py::array& a, const char* name) {
  const auto address = reinterpret_cast<std::uintptr_t>(fields(a).data);
  const auto size = static_cast<std::uintptr_t>(item_size(a));
  if (size != 0 && element_count(a) > 0 && address % size != 0) raise_misaligned(a, name);
}
// C-contiguous and aligned to its item size (the kernels read whole elements).
inline void require_c_contiguous(const py::array& a, const char* name) {
  if (!(fields(a).flags & py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_)) raise_not_c_contiguous(a, name);
  require_aligned(a, name);
}
inline void require_writable(const py::array& a, const char* name) {
  if (!(fields(a).flags & py::detail::npy_api::NPY_ARRAY_WRITEABLE_)) raise_read_only(name);
}
// Rejects any overlap of the two arrays' memory. With allow_identical, the very same buffer
// (same start, same size) is accepted: element-wise kernels may run in place.
void require_disjoint(const py::array& a, const char* name_a, const py::array& b,
                      const char* name_b, bool allow_identical = false);

// obj as an ndarray of `ndim` dimensions and the given dtype.
py::array typed_array(py::handle obj, const char* name, int ndim, DType dtype);
// obj as an ndarray of `ndim` dimensions and a float dtype, which the other arrays must share.
py::array first_array(py::handle obj, const char* name, int ndim, DType* dtype);

// A vector whose first N elements live inside it, so the short lists a call builds (its
// arrays, their names) never reach the heap; longer ones spill into a std::vector.
template <class T, size_t N>
class SmallVector {
  static_assert(std::is_trivially_copyable_v<T>, "elements are copied as bytes");

 public:
  SmallVector() = default;
  SmallVector(std::initializer_list<T> items) {
    for (const T& item : items) push_back(item);
  }
  void push_back(const T& item) {
    if (size_ < N) {
      inline_[size_] = item;
    } else {
      if (size_ == N) heap_.assign(inline_, inline_ + N);
      heap_.push_back(item);
    }
    ++size_;
  }
  size_t size() const { return size_; }
  T* data() { return size_ <= N ? inline_ : heap_.data(); }
  const T* data() const { return size_ <= N ? inline_ : heap_.data(); }
  T& operator[](size_t i) { return data()[i]; }
  const T& operator[](size_t i) const { return data()[i]; }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }

 private:
  T inline_[N];
  std::vector<T> heap_;
  size_t size_ = 0;
};

struct Named {
  const py::array* array;
  const char* name;
};
using NamedArrays = SmallVector<Named, 8>;
// Every output disjoint from every later output and every input; dz may be exactly dy.
void require_all_disjoint(const Named* outputs, size_t output_count, const Named* inputs,
                          size_t input_count, const py::array* dz = nullptr,
                          const py::array* dy = nullptr);
inline void require_all_disjoint(const NamedArrays& outputs, const NamedArrays& inputs,
                                 const py::array* dz = nullptr, const py::array* dy = nullptr) {
  require_all_disjoint(outputs.data(), outputs.size(), inputs.data(), inputs.size(), dz, dy);
}
inline void require_all_disjoint(const std::vector<Named>& outputs, const std::vector<Named>& inputs,
                                 const py::array* dz = nullptr, const py::array* dy = nullptr) {
  require_all_disjoint(outputs.data(), outputs.size(), inputs.data(), inputs.size(), dz, dy);
}

// An activation name (str) parsed to the kernel enum; with `trainable`, only activations that
// have a derivative are accepted (the step unit is forward-only).
Activation activation_arg(py::handle obj, bool trainable = false);

// Checks shared by every output and in-place argument: dtype, contiguity, writability.
inline void require_output(const py::array& a, const char* name, DType dtype) {
  require_dtype(a, name, dtype);
  require_c_contiguous(a, name);
  require_writable(a, name);
}
// dtype + C-contiguity for an input.
inline void require_input(const py::array& a, const char* name, DType dtype) {
  require_dtype(a, name, dtype);
  require_c_contiguous(a, name);
}

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
