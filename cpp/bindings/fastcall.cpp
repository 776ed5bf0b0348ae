#include "fastcall.h"

#include <new>
#include <string>
#include <vector>

#include "checks.h"

namespace nerve::bind {

namespace {

// What a fast binding's function object carries (in a capsule, its __self__).
struct FastFunction {
  std::string name, doc;
  std::vector<py::object> keywords;  // the parameter names, interned
  std::vector<py::object> defaults;  // null where required
  FastBody body;
  PyMethodDef method;
};

[[noreturn]] void raise_call(const FastFunction& f, const std::string& what) {
  throw py::type_error(f.name + "() " + what);
}

// Places positional arguments by position and keyword arguments by name, then the defaults.
void place_arguments(const FastFunction& f, PyObject* const* args, Py_ssize_t nargs,
                     PyObject* kwnames, PyObject** values) {
  const size_t count = f.keywords.size();
  const auto given = static_cast<size_t>(nargs);
  if (given > count) {
    raise_call(f, "takes at most " + std::to_string(count) + " arguments (" +
                      std::to_string(given) + " given)");
  }
  for (size_t i = 0; i < count; ++i) values[i] = i < given ? args[i] : nullptr;
  const Py_ssize_t keyword_count = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  for (Py_ssize_t k = 0; k < keyword_count; ++k) {
    PyObject* key = PyTuple_GET_ITEM(kwnames, k);
    size_t i = 0;
    while (i < count && f.keywords[i].ptr() != key) ++i;  // interned: usually the same object
    if (i == count) {
      i = 0;
      while (i < count && PyUnicode_Compare(f.keywords[i].ptr(), key) != 0) ++i;
    }
    if (i == count) {
      raise_call(f, "got an unexpected keyword argument " + std::string(py::repr(key)));
    }
    if (values[i]) raise_call(f, "got multiple values for argument " + std::string(py::repr(key)));
    values[i] = args[given + static_cast<size_t>(k)];
  }
  for (size_t i = 0; i < count; ++i) {
    if (values[i]) continue;
    if (!f.defaults[i]) {
      raise_call(f, "missing required argument " + std::string(py::repr(f.keywords[i])) +
                        " (pos " + std::to_string(i + 1) + ")");
    }
    values[i] = f.defaults[i].ptr();
  }
}

PyObject* call_fast(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  const auto* f = static_cast<const FastFunction*>(PyCapsule_GetPointer(self, nullptr));
  if (!f) return nullptr;
  // C++ exceptions become Python ones as pybind11's default translators make them.
  try {
    PyObject* values[kMaxParameters];
    place_arguments(*f, args, nargs, kwnames, values);
    return f->body(values).release().ptr();
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (const py::builtin_exception& e) {
    e.set_error();
  } catch (const std::bad_alloc&) {
    PyErr_NoMemory();
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
  return nullptr;
}

}  // namespace

void def_fast(py::module_& m, const char* name, std::initializer_list<Parameter> parameters,
              FastBody body, const char* doc) {
  auto* f = new FastFunction{name, "", {}, {}, body, {}};
  std::string signature;
  for (const Parameter& p : parameters) {
    if (!p.default_value && !f->defaults.empty() && f->defaults.back()) {
      throw std::logic_error(std::string(name) + ": a required parameter after a default");
    }
    py::str keyword(p.name);
    PyObject* interned = keyword.release().ptr();
    PyUnicode_InternInPlace(&interned);
    f->keywords.push_back(py::reinterpret_steal<py::object>(interned));
    f->defaults.push_back(p.default_value);
    signature += (signature.empty() ? "" : ", ") + std::string(p.name) +
                 (p.default_value ? "=" + std::string(py::repr(p.default_value)) : "");
  }
  if (f->keywords.size() > kMaxParameters) {
    throw std::logic_error(std::string(name) + ": more parameters than kMaxParameters");
  }
  f->doc = f->name + "(" + signature + ")\n--\n\n" + doc;
  f->method = {f->name.c_str(), reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(&call_fast)),
               METH_FASTCALL | METH_KEYWORDS, f->doc.c_str()};
  // The capsule owns the record; the function object holds the capsule, so the record (and
  // the PyMethodDef inside it) lives exactly as long as the function.
  py::capsule self(f, [](void* p) { delete static_cast<FastFunction*>(p); });
  PyObject* function = PyCFunction_NewEx(&f->method, self.ptr(), m.attr("__name__").ptr());
  if (!function) throw py::error_already_set();
  m.add_object(name, py::reinterpret_steal<py::object>(function));
}

double float_arg(py::handle value, const char* name) {
  const double x = PyFloat_AsDouble(value.ptr());
  if (x == -1.0 && PyErr_Occurred()) {
    const bool overflow = PyErr_ExceptionMatches(PyExc_OverflowError);
    PyErr_Clear();
    if (overflow) raise_type(name, "a number that fits a float", "an int of magnitude >= 1e308");
    raise_type(name, "a number", type_name(value));
  }
  return x;
}

bool bool_arg(py::handle value, const char* name) {
  PyObject* o = value.ptr();
  if (o == Py_True) return true;
  if (o == Py_False) return false;
  Py_ssize_t truth = -1;
  if (o == Py_None) {
    truth = 0;
  } else if (PyNumberMethods* number = Py_TYPE(o)->tp_as_number; number && number->nb_bool) {
    truth = number->nb_bool(o);
  }
  if (truth == 0 || truth == 1) return truth == 1;
  PyErr_Clear();
  raise_type(name, "True or False", type_name(value));
}

}  // namespace nerve::bind
