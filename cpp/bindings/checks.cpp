#include "checks.h"

#include <algorithm>
#include <cstring>

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

std::string strides_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += std::to_string(a.strides(i)) + (i + 1 < a.ndim() ? ", " : "");
  return s + ")";
}

std::string type_name(py::handle obj) {
  return py::str(py::type::of(obj).attr("__name__")).cast<std::string>();
}

DtypeObjects make_dtype_objects() {
  return {py::dtype::of<float>().release(), py::dtype::of<double>().release(),
          py::dtype::of<int64_t>().release()};
}

namespace {
// a's dtype object, borrowed (a.dtype() would take and drop a reference).
py::handle descr_of(const py::array& a) {
  return py::handle(reinterpret_cast<PyObject*>(py::detail::array_proxy(a.ptr())->descr));
}


// a's dtype is `want`: the very object (NumPy's canonical dtypes are singletons), else equal
// by value (a dtype built elsewhere, e.g. unpickled).
bool has_dtype(const py::array& a, py::handle want) {
  const py::handle have = descr_of(a);
  return have.is(want) || py::reinterpret_borrow<py::dtype>(have).equal(
                              py::reinterpret_borrow<py::dtype>(want));
}

// The bytes an array's elements span (all of its memory when it is C-contiguous), [begin,
// end); an empty array spans nothing (null, null), so that it overlaps no other.
struct ByteSpan {
  const char* begin;
  const char* end;
};

ByteSpan byte_span(const py::array& a) {
  const py::ssize_t bytes = element_count(a) * item_size(a);
  if (bytes == 0) return {nullptr, nullptr};
  return {fields(a).data, fields(a).data + bytes};
}

bool overlap(ByteSpan a, ByteSpan b) { return a.begin < b.end && b.begin < a.end; }
bool identical(ByteSpan a, ByteSpan b) { return a.begin == b.begin && a.end == b.end; }

[[noreturn]] void raise_overlap(const char* name_a, const char* name_b, bool allow_identical) {
  raise_value(name_a, std::string("memory separate from ") + name_b +
                          (allow_identical ? " (or exactly the same array)" : ""),
              "an array overlapping " + std::string(name_b));
}
}  // namespace

void raise_not_array(py::handle obj, const char* name) {
  raise_type(name, "a numpy.ndarray", type_name(obj));
}

std::optional<py::array> as_optional_array(py::handle obj, const char* name) {
  if (obj.is_none()) return std::nullopt;
  return as_array(obj, name);
}

DType float_dtype_by_value(const py::array& a, const char* name) {
  if (has_dtype(a, dtype_objects().f32)) return DType::f32;
  if (has_dtype(a, dtype_objects().f64)) return DType::f64;
  raise_type(name, "dtype float32 or float64", "dtype " + dtype_str(a));
}

void require_dtype_by_value(const py::array& a, const char* name, DType expected) {
  const py::handle want = dtype_object(expected);
  if (!has_dtype(a, want)) {
    raise_type(name, "dtype " + py::str(want).cast<std::string>() + " (like the other arrays)",
               "dtype " + dtype_str(a));
  }
}

void require_int64(const py::array& a, const char* name) {
  if (!has_dtype(a, dtype_objects().i64)) raise_type(name, "dtype int64", "dtype " + dtype_str(a));
}

void raise_ndim(const py::array& a, const char* name, int ndim) {
  raise_value(name, "a " + std::to_string(ndim) + "-D array", "shape " + shape_str(a));
}

void raise_shape(const py::array& a, const char* name, const int64_t* shape, size_t ndim) {
  std::string want = "shape (";
  for (size_t i = 0; i < ndim; ++i) {
    want += shape[i] < 0 ? std::string("any") : std::to_string(shape[i]);
    if (ndim == 1 || i + 1 < ndim) want += ndim == 1 ? "," : ", ";
  }
  raise_value(name, want + ")", "shape " + shape_str(a));
}

void raise_not_c_contiguous(const py::array& a, const char* name) {
  raise_value(name, "a C-contiguous array", "strides " + strides_str(a) + " for shape " + shape_str(a));
}

void raise_misaligned(const py::array& a, const char* name) {
  const auto address = reinterpret_cast<std::uintptr_t>(fields(a).data);
  raise_value(name, "an aligned array (data address a multiple of its item size)",
              "data at an address " + std::to_string(address % static_cast<std::uintptr_t>(item_size(a))) +
                  " bytes off");
}

void raise_read_only(const char* name) { raise_value(name, "a writable array", "a read-only array"); }

void require_disjoint(const py::array& a, const char* name_a, const py::array& b,
                      const char* name_b, bool allow_identical) {
  const ByteSpan span_a = byte_span(a), span_b = byte_span(b);
  if (overlap(span_a, span_b) && !(allow_identical && identical(span_a, span_b))) {
    raise_overlap(name_a, name_b, allow_identical);
  }
}

Activation activation_arg(py::handle obj, bool trainable) {
  if (!PyUnicode_Check(obj.ptr())) raise_type("activation", "a str", type_name(obj));
  // The str's own UTF-8 buffer: no std::string on the way. A name with a NUL inside or one
  // that is not valid UTF-8 matches no activation.
  Py_ssize_t size = 0;
  const char* name = PyUnicode_AsUTF8AndSize(obj.ptr(), &size);
  Activation act;
  if (!name || std::strlen(name) != static_cast<size_t>(size) || !parse_activation(name, &act)) {
    const std::string shown = name ? "'" + std::string(name, static_cast<size_t>(size)) + "'"
                                   : std::string(py::repr(obj));
    PyErr_Clear();
    raise_value("activation", std::string("one of ") + activation_names(), shown);
  }
  if (trainable && !activation_has_backward(act)) {
    raise_value("activation", "an activation with a derivative (trainable)",
                "'" + std::string(name, static_cast<size_t>(size)) + "', which is not trainable");
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

void require_all_disjoint(const Named* outputs, size_t output_count, const Named* inputs,
                          size_t input_count, const py::array* dz, const py::array* dy) {
  const size_t count = output_count + input_count;
  const auto at = [&](size_t j) -> const Named& {
    return j < output_count ? outputs[j] : inputs[j - output_count];
  };
  SmallVector<ByteSpan, 16> spans;  // each array's span once, not once per pair
  for (size_t j = 0; j < count; ++j) spans.push_back(byte_span(*at(j).array));
  for (size_t i = 0; i < output_count; ++i) {
    for (size_t j = i + 1; j < count; ++j) {  // the later outputs, then the inputs
      if (!overlap(spans[i], spans[j])) continue;
      const bool may_alias = outputs[i].array == dz && at(j).array == dy;
      if (!(may_alias && identical(spans[i], spans[j]))) {
        raise_overlap(outputs[i].name, at(j).name, may_alias);
      }
    }
  }
}

}  // namespace nerve::bind
