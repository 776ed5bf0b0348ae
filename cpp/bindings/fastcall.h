// Bindings called through CPython's own fast calling convention (METH_FASTCALL |
// METH_KEYWORDS) instead of pybind11's dispatcher, for the functions a training step calls
// per layer and per batch. pybind11's dispatcher spends ~1000 instructions on a call (as much
// as a 10x10 layer's kernel) and heap-allocates its argument vector for more than 6
// arguments (arg_vector_small_size in pybind11 3); here a call's arguments are placed in a
// stack array of borrowed references, allocating nothing. Calls look as they did under
// pybind11: every parameter positional or by keyword, the same defaults, float and bool
// parameters converted as pybind11 converts them (conversions before any array check).
#pragma once

#include <pybind11/pybind11.h>

#include <initializer_list>

namespace nerve::bind {

namespace py = pybind11;

// A parameter: its name and, unless it is required, its default value.
struct Parameter {
  const char* name;
  py::object default_value;  // null: required
};

// The most parameters a fast binding takes (the stack array of its arguments).
constexpr size_t kMaxParameters = 16;

// The body of a fast binding: arguments[i] is parameter i's value (given, or its default),
// borrowed for the call. It returns the result (py::none() for nothing).
using FastBody = py::object (*)(PyObject* const* arguments);

// Adds `name` to m: a builtin function of `parameters` (required ones first) running body.
// Its __text_signature__ lists the parameters and defaults before `doc`.
void def_fast(py::module_& m, const char* name, std::initializer_list<Parameter> parameters,
              FastBody body, const char* doc);

// A float argument, from whatever pybind11 converts to double (float, int, numpy scalars,
// objects with __float__ or __index__); TypeError naming the argument otherwise.
double float_arg(py::handle value, const char* name);
// A bool argument as pybind11 converts one: True, False, None (false) or an object whose
// __bool__ answers; TypeError naming the argument otherwise.
bool bool_arg(py::handle value, const char* name);

}  // namespace nerve::bind
