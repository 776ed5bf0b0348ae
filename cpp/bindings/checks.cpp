#include "checks.h"

#include <algorithm>

namespace nerve::bind {

void raise_type(const char* name, const std::string& expected, const std::string& received) {
  throw py::type_error(std::string(name) + ": expected " + expected + ", received " + received);
}

void raise_value(const char* name, const std::string& expected, const std::string& received) {
  throw py::value_error(std::string(name) + ": expected " + expected + ", received " + received);
}

std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    s += std::to_string(a.shape(i));
    if (a.ndim() == 1 || i + 1 < a.ndim()) s += a.ndim() == 1 ? "," : ", ";
  }
  return s + ")";
}

std::string dtype_str(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

py::array as_array(py::handle obj, const char* name) {
  if (!py::isinstance<py::array>(obj)) {
    raise_type(name, "a numpy.ndarray", py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
  }
  return py::reinterpret_borrow<py::array>(obj);
}

std::optional<py::array> as_optional_array(py::handle obj, const char* name) {
  if (obj.is_none()) return std::nullopt;
  return as_array(obj, name);
}

DType float_dtype(const py::array& a, const char* name) {
  if (a.dtype().is(py::dtype::of<float>())) return DType::f32;
  if (a.dtype().is(py::dtype::of<double>())) return DType::f64;
  // dtype.is() compares identity; equal dtypes built elsewhere compare by value.
  if (a.dtype().equal(py::dtype::of<float>())) return DType::f32;
  if (a.dtype().equal(py::dtype::of<double>())) return DType::f64;
  raise_type(name, "dtype float32 or float64", "dtype " + dtype_str(a));
}

void require_dtype(const py::array& a, const char* name, DType expected) {
  const py::dtype want = expected == DType::f32 ? py::dtype::of<float>() : py::dtype::of<double>();
  if (!a.dtype().equal(want)) {
    raise_type(name, "dtype " + py::str(want).cast<std::string>() + " (like the other arrays)",
               "dtype " + dtype_str(a));
  }
}

void require_int64(const py::array& a, const char* name) {
  if (!a.dtype().equal(py::dtype::of<int64_t>())) raise_type(name, "dtype int64", "dtype " + dtype_str(a));
}

void require_ndim(const py::array& a, const char* name, int ndim) {
  if (a.ndim() != ndim) {
    raise_value(name, "a " + std::to_string(ndim) + "-D array", "shape " + shape_str(a));
  }
}

void require_shape(const py::array& a, const char* name, const std::vector<int64_t>& shape) {
  bool ok = a.ndim() == static_cast<py::ssize_t>(shape.size());
  for (size_t i = 0; ok && i < shape.size(); ++i) ok = shape[i] < 0 || a.shape(i) == shape[i];
  if (ok) return;
  std::string want = "shape (";
  for (size_t i = 0; i < shape.size(); ++i) {
    want += shape[i] < 0 ? std::string("any") : std::to_string(shape[i]);
    if (shape.size() == 1 || i + 1 < shape.size()) want += shape.size() == 1 ? "," : ", ";
  }
  raise_value(name, want + ")", "shape " + shape_str(a));
}

void require_c_contiguous(const py::array& a, const char* name) {
  if (!(a.flags() & py::array::c_style)) {
    std::string strides = "(";
    for (py::ssize_t i = 0; i < a.ndim(); ++i) strides += std::to_string(a.strides(i)) + (i + 1 < a.ndim() ? ", " : "");
    raise_value(name, "a C-contiguous array", "strides " + strides + ") for shape " + shape_str(a));
  }
  // The kernels load whole elements (and vectors of them): a float64 at an odd address is
  // undefined behaviour in C++, though NumPy can make such views (e.g. of a byte buffer).
  const auto address = reinterpret_cast<std::uintptr_t>(a.data());
  if (a.size() > 0 && address % static_cast<std::uintptr_t>(a.itemsize()) != 0) {
    raise_value(name, "an aligned array (data address a multiple of its item size)",
                "data at an address " + std::to_string(address % a.itemsize()) + " bytes off");
  }
}

void require_writable(const py::array& a, const char* name) {
  if (!a.writeable()) raise_value(name, "a writable array", "a read-only array");
}

void require_disjoint(const py::array& a, const char* name_a, const py::array& b,
                      const char* name_b, bool allow_identical) {
  const auto* a0 = static_cast<const char*>(a.data());
  const auto* b0 = static_cast<const char*>(b.data());
  const auto a_bytes = static_cast<std::ptrdiff_t>(a.nbytes());
  const auto b_bytes = static_cast<std::ptrdiff_t>(b.nbytes());
  if (a_bytes == 0 || b_bytes == 0) return;
  const bool overlap = a0 < b0 + b_bytes && b0 < a0 + a_bytes;
  if (!overlap) return;
  if (allow_identical && a0 == b0 && a_bytes == b_bytes) return;
  raise_value(name_a, std::string("memory separate from ") + name_b +
                          (allow_identical ? " (or exactly the same array)" : ""),
              "an array overlapping " + std::string(name_b));
}

void require_output(const py::array& a, const char* name, DType dtype) {
  require_dtype(a, name, dtype);
  require_c_contiguous(a, name);
  require_writable(a, name);
}

void require_input(const py::array& a, const char* name, DType dtype) {
  require_dtype(a, name, dtype);
  require_c_contiguous(a, name);
}

Activation activation_arg(py::handle obj, bool trainable) {
  if (!py::isinstance<py::str>(obj)) {
    raise_type("activation", "a str", py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
  }
  const std::string name = obj.cast<std::string>();
  Activation act;
  if (!parse_activation(name.c_str(), &act)) {
    raise_value("activation", std::string("one of ") + activation_names(), "'" + name + "'");
  }
  if (trainable && !activation_has_backward(act)) {
    raise_value("activation", "an activation with a derivative (trainable)",
                "'" + name + "', which is not trainable");
  }
  return act;
}

py::array typed_array(py::handle obj, const char* name, int ndim, DType dtype) {
  py::array a = as_array(obj, name);
  require_dtype(a, name, dtype);
  require_ndim(a, name, ndim);
  return a;
}

py::array first_array(py::handle obj, const char* name, int ndim, DType* dtype) {
  py::array a = as_array(obj, name);
  *dtype = float_dtype(a, name);
  require_ndim(a, name, ndim);
  return a;
}

void require_all_disjoint(const std::vector<Named>& outputs, const std::vector<Named>& inputs,
                          const py::array* dz, const py::array* dy) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::vector<Named> others(outputs.begin() + static_cast<std::ptrdiff_t>(i) + 1, outputs.end());
    others.insert(others.end(), inputs.begin(), inputs.end());
    for (const Named& other : others) {
      const bool may_alias = outputs[i].array == dz && other.array == dy;
      require_disjoint(*outputs[i].array, outputs[i].name, *other.array, other.name, may_alias);
    }
  }
}

}  // namespace nerve::bind
