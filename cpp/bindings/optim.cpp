// Bindings for cpp/optim.h. Every list argument is a list or tuple of arrays, one per
// parameter tensor; everything (scalars, every element of every list, pairwise overlap) is
// checked before any array is written, in the same order as nerve/reference/optim.py, so a
// bad call leaves everything unchanged and both backends raise the same message. The updates
// are fast bindings (fastcall.h), and their checks allocate nothing for lists of up to a few
// arrays (a model passes one flat buffer per list): a training step calls one per batch.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "checks.h"
#include "fastcall.h"
#include "optim.h"
#include "register.h"

namespace nerve::bind {
namespace {

// ---- scalar arguments -------------------------------------------------------------------------

void require_number(double x, const char* name, bool ok, const char* expected) {
  if (!(std::isfinite(x) && ok)) raise_value(name, expected, py::repr(py::float_(x)));
}
void require_finite(double x, const char* name) {
  require_number(x, name, true, "a finite number");
}
void require_non_negative(double x, const char* name) {
  require_number(x, name, x >= 0, "a finite number >= 0");
}
void require_positive(double x, const char* name) {
  require_number(x, name, x > 0, "a finite number > 0");
}
void require_unit_interval(double x, const char* name) {
  require_number(x, name, x >= 0 && x <= 1, "a number in [0, 1]");
}
void require_unit_interval_open(double x, const char* name) {
  require_number(x, name, x >= 0 && x < 1, "a number in [0, 1)");
}
// An integer >= 1 of any size, as the reference takes it: Python ints past int64 clamp to
// INT64_MAX (beta**step is 0 long before), bool and integer scalars count, floats do not.
int64_t require_step(py::handle obj) {
  if (PyFloat_Check(obj.ptr()) || !PyIndex_Check(obj.ptr())) {
    raise_type("step", "an integer", type_name(obj));
  }
  const auto index = py::reinterpret_steal<py::object>(PyNumber_Index(obj.ptr()));
  if (!index) throw py::error_already_set();
  int overflow = 0;
  const long long step = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
  if (overflow < 0 || (overflow == 0 && step < 1)) {
    raise_value("step", "an integer >= 1", py::str(index).cast<std::string>());
  }
  return overflow > 0 ? INT64_MAX : static_cast<int64_t>(step);
}
void require_state(py::handle state, const char* name, const char* needed_when) {
  if (state.is_none()) {
    raise_value(name, std::string("a list of arrays when ") + needed_when, "None");
  }
}

// ---- tensor lists -----------------------------------------------------------------------------

struct ListArg {
  const char* name;
  py::handle list;
  bool writable;
};
using ListArgs = SmallVector<ListArg, 5>;

// "grads[3]": an element's name for the checks' messages, in a buffer of its own.
class ElementName {
 public:
  ElementName(const char* list, int64_t i) {
    const size_t length = std::min(std::strlen(list), sizeof(text_) - 24);
    std::memcpy(text_, list, length);
    char* at = text_ + length;
    *at++ = '[';
    at = std::to_chars(at, text_ + sizeof(text_) - 2, i).ptr;
    *at++ = ']';
    *at = '\0';
  }
  operator const char*() const { return text_; }

 private:
  char text_[48];
};

// One checked element of one list: the array (a reference held until the call returns, as the
// kernels may run without the GIL), where its data is and how large it is.
struct Element {
  PyObject* array;
  char* data;
  int64_t size;
  uintptr_t bytes;
};

// The checked arrays of a call, all of one dtype: element i of list k is at(k, i).
class Tensors {
 public:
  Tensors() = default;
  Tensors(const Tensors&) = delete;
  Tensors& operator=(const Tensors&) = delete;
  ~Tensors() {
    for (const Element& e : elements_) Py_DECREF(e.array);
  }

  DType dtype = DType::f32;
  size_t lists = 0;

  int64_t count() const { return count_; }
  int64_t size(int64_t i) const { return at(0, i).size; }
  int64_t total_size() const {
    int64_t n = 0;
    for (int64_t i = 0; i < count(); ++i) n += size(i);
    return n;
  }
  const Element& at(size_t k, int64_t i) const {
    return elements_[static_cast<size_t>(i) * lists + k];
  }
  py::array array(size_t k, int64_t i) const { return py::reinterpret_borrow<py::array>(at(k, i).array); }
  // Element i of list k, or null for a list that was not given. Writability was checked for
  // the lists the kernels write; grads are only read.
  template <class T>
  T* data(size_t k, int64_t i) const {
    return k < lists ? reinterpret_cast<T*>(at(k, i).data) : nullptr;
  }
  void start(int64_t count, size_t list_count) { count_ = count, lists = list_count; }
  // Keeps `a` (checked), in order: element 0 of every list, then element 1, ...
  void add(py::array a) {
    char* data = static_cast<char*>(const_cast<void*>(a.data()));
    elements_.push_back({a.ptr(), data, static_cast<int64_t>(a.size()), static_cast<uintptr_t>(a.nbytes())});
    a.release();  // the reference now belongs to elements_
  }

 private:
  int64_t count_ = 0;
  SmallVector<Element, 8> elements_;
};

// No two arrays share a byte. Sorted by start address, any overlap shows up between an array
// and the furthest-reaching one before it; the later argument (list-major) is reported.
void require_all_disjoint(const ListArgs& args, const Tensors& t) {
  struct Span {
    uintptr_t start, end;
    size_t list;
    int64_t element;
    bool operator<(const Span& o) const {
      if (start != o.start) return start < o.start;
      return list != o.list ? list < o.list : element < o.element;
    }
    bool before(const Span& o) const {
      return list != o.list ? list < o.list : element < o.element;
    }
  };
  SmallVector<Span, 8> spans;
  for (size_t k = 0; k < args.size(); ++k) {
    for (int64_t i = 0; i < t.count(); ++i) {
      const Element& e = t.at(k, i);
      if (e.bytes == 0) continue;
      const auto start = reinterpret_cast<uintptr_t>(e.data);
      spans.push_back({start, start + e.bytes, k, i});
    }
  }
  std::sort(spans.begin(), spans.end());
  const Span* widest = nullptr;
  for (const Span& s : spans) {
    if (widest && s.start < widest->end) {
      const Span& first = widest->before(s) ? *widest : s;
      const Span& second = widest->before(s) ? s : *widest;
      require_disjoint(t.array(second.list, second.element),
                       ElementName(args[second.list].name, second.element),
                       t.array(first.list, first.element),
                       ElementName(args[first.list].name, first.element));
    }
    if (!widest || s.end > widest->end) widest = &s;
  }
}

py::handle item(py::handle sequence, int64_t i) {
  return PyList_Check(sequence.ptr()) ? PyList_GET_ITEM(sequence.ptr(), i)
                                      : PyTuple_GET_ITEM(sequence.ptr(), i);
}

// a has the shape of `like` (the lead list's element).
void require_same_shape(const py::array& a, const char* name, const py::array& like) {
  if (a.ndim() == like.ndim() && std::equal(a.shape(), a.shape() + a.ndim(), like.shape())) return;
  require_shape(a, name, std::vector<int64_t>(like.shape(), like.shape() + like.ndim()));
}

// The lead argument (first) sets the length, every element's shape and, by its first element,
// the dtype. Elements are checked element by element, then all arrays for overlap.
void check_lists(const ListArgs& args, Tensors& t) {
  const ListArg& lead = args[0];
  for (const ListArg& arg : args) {
    if (!PyList_Check(arg.list.ptr()) && !PyTuple_Check(arg.list.ptr())) {
      raise_type(arg.name, "a list or tuple of arrays", type_name(arg.list));
    }
    if (py::len(arg.list) != py::len(lead.list)) {
      raise_value(arg.name,
                  std::to_string(py::len(lead.list)) + " arrays (like " + lead.name + ")",
                  std::to_string(py::len(arg.list)));
    }
  }
  t.start(static_cast<int64_t>(py::len(lead.list)), args.size());
  for (int64_t i = 0; i < t.count(); ++i) {
    for (size_t k = 0; k < args.size(); ++k) {
      const ElementName name(args[k].name, i);
      py::array a = as_array(item(args[k].list, i), name);
      if (i == 0 && k == 0) t.dtype = float_dtype(a, name);
      else require_dtype(a, name, t.dtype);
      if (k > 0) require_same_shape(a, name, t.array(0, i));
      require_c_contiguous(a, name);
      if (args[k].writable) require_writable(a, name);
      t.add(std::move(a));
    }
  }
  require_all_disjoint(args, t);
}

// Runs update(T tag, element) for each tensor, without the GIL when the work is large.
template <class Update>
void for_each_tensor(Tensors& t, Update&& update) {
  MaybeReleaseGil gil(t.total_size() * static_cast<int64_t>(t.lists));
  with_dtype(t.dtype, [&](auto tag) {
    for (int64_t i = 0; i < t.count(); ++i) update(tag, i);
  });
}

// ---- the functions ----------------------------------------------------------------------------

template <bool Scalar>
void sgd(py::handle params, py::handle grads, py::handle velocities, double lr,
         double momentum, bool nesterov, double weight_decay) {
  require_finite(lr, "lr");
  require_unit_interval(momentum, "momentum");
  require_non_negative(weight_decay, "weight_decay");
  if (momentum > 0) require_state(velocities, "velocities", "momentum > 0");
  ListArgs args{{"params", params, true}, {"grads", grads, false}};
  if (!velocities.is_none()) args.push_back({"velocities", velocities, true});
  Tensors t;
  check_lists(args, t);
  for_each_tensor(t, [&](auto tag, int64_t i) {
    using T = decltype(tag);
    auto run = Scalar ? &sgd_update_scalar<T> : &sgd_update<T>;
    run(t.data<T>(0, i), t.data<T>(1, i), momentum > 0 ? t.data<T>(2, i) : nullptr, t.size(i),
        T(lr), T(momentum), nesterov, T(weight_decay));
  });
}

template <bool Scalar>
void adam(py::handle params, py::handle grads, py::handle ms, py::handle vs, double lr,
          double beta1, double beta2, double epsilon, py::handle step_obj, double weight_decay,
          py::handle v_hats) {
  require_finite(lr, "lr");
  require_unit_interval_open(beta1, "beta1");
  require_unit_interval_open(beta2, "beta2");
  require_non_negative(epsilon, "epsilon");
  const int64_t step = require_step(step_obj);
  require_non_negative(weight_decay, "weight_decay");
  ListArgs args{{"params", params, true}, {"grads", grads, false}, {"ms", ms, true}, {"vs", vs, true}};
  if (!v_hats.is_none()) args.push_back({"v_hats", v_hats, true});
  Tensors t;
  check_lists(args, t);
  for_each_tensor(t, [&](auto tag, int64_t i) {
    using T = decltype(tag);
    auto run = Scalar ? &adam_update_scalar<T> : &adam_update<T>;
    run(t.data<T>(0, i), t.data<T>(1, i), t.data<T>(2, i), t.data<T>(3, i), t.data<T>(4, i),
        t.size(i), T(lr), T(beta1), T(beta2), T(epsilon), step, T(weight_decay));
  });
}

template <bool Scalar>
void rmsprop(py::handle params, py::handle grads, py::handle velocities, py::handle momenta,
             py::handle avg_grads, double lr, double rho, double momentum, double epsilon,
             double weight_decay) {
  require_finite(lr, "lr");
  require_unit_interval(rho, "rho");
  require_unit_interval(momentum, "momentum");
  require_non_negative(epsilon, "epsilon");
  require_non_negative(weight_decay, "weight_decay");
  if (momentum > 0) require_state(momenta, "momenta", "momentum > 0");
  ListArgs args{{"params", params, true}, {"grads", grads, false}, {"velocities", velocities, true}};
  const size_t momenta_at = momenta.is_none() ? SIZE_MAX : args.size();
  if (!momenta.is_none()) args.push_back({"momenta", momenta, true});
  const size_t avg_grads_at = avg_grads.is_none() ? SIZE_MAX : args.size();
  if (!avg_grads.is_none()) args.push_back({"avg_grads", avg_grads, true});
  Tensors t;
  check_lists(args, t);
  for_each_tensor(t, [&](auto tag, int64_t i) {
    using T = decltype(tag);
    auto run = Scalar ? &rmsprop_update_scalar<T> : &rmsprop_update<T>;
    run(t.data<T>(0, i), t.data<T>(1, i), t.data<T>(2, i),
        momentum > 0 ? t.data<T>(momenta_at, i) : nullptr, t.data<T>(avg_grads_at, i),
        t.size(i), T(lr), T(rho), T(momentum), T(epsilon), T(weight_decay));
  });
}

template <bool Scalar>
void adagrad(py::handle params, py::handle grads, py::handle accumulators, double lr,
             double epsilon, double weight_decay) {
  require_finite(lr, "lr");
  require_non_negative(epsilon, "epsilon");
  require_non_negative(weight_decay, "weight_decay");
  Tensors t;
  check_lists({{"params", params, true}, {"grads", grads, false}, {"accumulators", accumulators, true}}, t);
  for_each_tensor(t, [&](auto tag, int64_t i) {
    using T = decltype(tag);
    auto run = Scalar ? &adagrad_update_scalar<T> : &adagrad_update<T>;
    run(t.data<T>(0, i), t.data<T>(1, i), t.data<T>(2, i), t.size(i), T(lr), T(epsilon),
        T(weight_decay));
  });
}

// The clipping kernels take every tensor at once.
template <class T>
struct Ranges {
  SmallVector<T*, 8> data;
  SmallVector<int64_t, 8> sizes;
  explicit Ranges(Tensors& t) {
    for (int64_t i = 0; i < t.count(); ++i) {
      data.push_back(t.data<T>(0, i));
      sizes.push_back(t.size(i));
    }
  }
  int64_t count() const { return static_cast<int64_t>(data.size()); }
};

template <class Kernel>
auto over_all_grads(Tensors& t, Kernel&& kernel) {
  MaybeReleaseGil gil(t.total_size());
  return with_dtype(t.dtype, [&](auto tag) {
    using T = decltype(tag);
    Ranges<T> r(t);
    return kernel(tag, r);
  });
}

double global_norm_binding(py::handle grads) {
  Tensors t;
  check_lists({{"grads", grads, false}}, t);
  return over_all_grads(t, [](auto tag, auto& r) {
    using T = decltype(tag);
    return global_norm<T>(r.data.data(), r.sizes.data(), r.count());
  });
}

double clip_by_global_norm_binding(py::handle grads, double max_norm) {
  require_positive(max_norm, "max_norm");
  Tensors t;
  check_lists({{"grads", grads, true}}, t);
  return over_all_grads(t, [&](auto tag, auto& r) {
    using T = decltype(tag);
    return clip_by_global_norm<T>(r.data.data(), r.sizes.data(), r.count(), T(max_norm));
  });
}

void clip_by_value_binding(py::handle grads, double clip) {
  require_positive(clip, "clip");
  Tensors t;
  check_lists({{"grads", grads, true}}, t);
  over_all_grads(t, [&](auto tag, auto& r) {
    using T = decltype(tag);
    clip_by_value<T>(r.data.data(), r.sizes.data(), r.count(), T(clip));
    return 0;
  });
}

// The fast bindings' bodies: scalars converted first, in order, as pybind11 did.
template <bool Scalar>
py::object sgd_call(PyObject* const* v) {
  const double lr = float_arg(v[3], "lr"), momentum = float_arg(v[4], "momentum");
  const bool nesterov = bool_arg(v[5], "nesterov");
  const double weight_decay = float_arg(v[6], "weight_decay");
  sgd<Scalar>(v[0], v[1], v[2], lr, momentum, nesterov, weight_decay);
  return py::none();
}

template <bool Scalar>
py::object adam_call(PyObject* const* v) {
  const double lr = float_arg(v[4], "lr"), beta1 = float_arg(v[5], "beta1");
  const double beta2 = float_arg(v[6], "beta2"), epsilon = float_arg(v[7], "epsilon");
  const double weight_decay = float_arg(v[9], "weight_decay");
  adam<Scalar>(v[0], v[1], v[2], v[3], lr, beta1, beta2, epsilon, v[8], weight_decay, v[10]);
  return py::none();
}

template <bool Scalar>
py::object rmsprop_call(PyObject* const* v) {
  const double lr = float_arg(v[5], "lr"), rho = float_arg(v[6], "rho");
  const double momentum = float_arg(v[7], "momentum"), epsilon = float_arg(v[8], "epsilon");
  const double weight_decay = float_arg(v[9], "weight_decay");
  rmsprop<Scalar>(v[0], v[1], v[2], v[3], v[4], lr, rho, momentum, epsilon, weight_decay);
  return py::none();
}

template <bool Scalar>
py::object adagrad_call(PyObject* const* v) {
  const double lr = float_arg(v[3], "lr"), epsilon = float_arg(v[4], "epsilon");
  const double weight_decay = float_arg(v[5], "weight_decay");
  adagrad<Scalar>(v[0], v[1], v[2], lr, epsilon, weight_decay);
  return py::none();
}

template <bool Scalar>
void define_updates(py::module_& m, const std::string& prefix, const std::string& suffix) {
  const py::object zero = py::float_(0.0), none = py::none();
  def_fast(m, (prefix + "sgd_update" + suffix).c_str(),
           {{"params"}, {"grads"}, {"velocities"}, {"lr"}, {"momentum", zero},
            {"nesterov", py::bool_(false)}, {"weight_decay", zero}},
           &sgd_call<Scalar>,
           "SGD in place: v = momentum*v - lr*g; p += v (nesterov: p += momentum*v - lr*g); with "
           "momentum 0, p -= lr*g and velocities may be None. Weight decay is decoupled.");
  def_fast(m, (prefix + "adam_update" + suffix).c_str(),
           {{"params"}, {"grads"}, {"ms"}, {"vs"}, {"lr"}, {"beta1"}, {"beta2"}, {"epsilon"},
            {"step"}, {"weight_decay", zero}, {"v_hats", none}},
           &adam_call<Scalar>,
           "Adam in place (Keras 3): m += (1-b1)(g-m); v += (1-b2)(g^2-v); "
           "p -= lr*sqrt(1-b2^t)/(1-b1^t) * m/(sqrt(v)+eps), t = step >= 1. AMSGrad when v_hats "
           "is given: v_hat = max(v_hat, v), used in place of v.");
  def_fast(m, (prefix + "rmsprop_update" + suffix).c_str(),
           {{"params"}, {"grads"}, {"velocities"}, {"momenta"}, {"avg_grads"}, {"lr"}, {"rho"},
            {"momentum"}, {"epsilon"}, {"weight_decay", zero}},
           &rmsprop_call<Scalar>,
           "RMSprop in place (Keras 3); centered when avg_grads is given; momenta may be None "
           "when momentum == 0.");
  def_fast(m, (prefix + "adagrad_update" + suffix).c_str(),
           {{"params"}, {"grads"}, {"accumulators"}, {"lr"}, {"epsilon"}, {"weight_decay", zero}},
           &adagrad_call<Scalar>, "Adagrad in place: acc += g^2; p -= lr*g/sqrt(acc + eps).");
}

}  // namespace

void register_optim(py::module_& m) {
  define_updates<false>(m, "", "");
  define_updates<true>(m, "_", "_scalar");
  m.def("global_norm", &global_norm_binding, py::arg("grads"),
        "sqrt of the sum of squares over every array in grads (float64, deterministic).");
  m.def("clip_by_global_norm", &clip_by_global_norm_binding, py::arg("grads"),
        py::arg("max_norm"),
        "Scale every array by max_norm / global_norm when that is < 1; returns the norm before.");
  m.def("clip_by_value", &clip_by_value_binding, py::arg("grads"), py::arg("clip"),
        "Clamp every element of every array in grads to [-clip, clip].");
}

}  // namespace nerve::bind
