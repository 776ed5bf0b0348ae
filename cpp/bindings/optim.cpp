// Bindings for cpp/optim.h. Every list argument is a list or tuple of arrays, one per
// parameter tensor; everything (scalars, every element of every list, pairwise overlap) is
// checked before any array is written, in the same order as nerve/reference/optim.py, so a
// bad call leaves everything unchanged and both backends raise the same message.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "checks.h"
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
    raise_type("step", "an integer", py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
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

// The checked arrays: arrays[k][i] is element i of argument k, all of one dtype.
struct Tensors {
  DType dtype = DType::f32;
  std::vector<std::vector<py::array>> arrays;

  int64_t count() const { return static_cast<int64_t>(arrays[0].size()); }
  int64_t size(int64_t i) const { return static_cast<int64_t>(arrays[0][i].size()); }
  int64_t total_size() const {
    int64_t n = 0;
    for (int64_t i = 0; i < count(); ++i) n += size(i);
    return n;
  }
  // Element i of argument k, or null for an argument that was not given. Writability was
  // checked for the arguments the kernels write; grads are only read.
  template <class T>
  T* data(size_t k, int64_t i) const {
    return k < arrays.size() ? static_cast<T*>(const_cast<void*>(arrays[k][i].data())) : nullptr;
  }
};

std::string element_name(const ListArg& arg, int64_t i) {
  return std::string(arg.name) + "[" + std::to_string(i) + "]";
}

// No two arrays share a byte. Sorted by start address, any overlap shows up between an array
// and the furthest-reaching one before it; the later argument (list-major) is reported.
void require_all_disjoint(const std::vector<ListArg>& args, const Tensors& t) {
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
  std::vector<Span> spans;
  for (size_t k = 0; k < args.size(); ++k) {
    for (int64_t i = 0; i < t.count(); ++i) {
      const py::array& a = t.arrays[k][i];
      if (a.nbytes() == 0) continue;
      const auto start = reinterpret_cast<uintptr_t>(a.data());
      spans.push_back({start, start + static_cast<uintptr_t>(a.nbytes()), k, i});
    }
  }
  std::sort(spans.begin(), spans.end());
  const Span* widest = nullptr;
  for (const Span& s : spans) {
    if (widest && s.start < widest->end) {
      const Span& first = widest->before(s) ? *widest : s;
      const Span& second = widest->before(s) ? s : *widest;
      const std::string name = element_name(args[second.list], second.element);
      const std::string other = element_name(args[first.list], first.element);
      require_disjoint(t.arrays[second.list][second.element], name.c_str(),
                       t.arrays[first.list][first.element], other.c_str());
    }
    if (!widest || s.end > widest->end) widest = &s;
  }
}

py::handle item(py::handle sequence, int64_t i) {
  return PyList_Check(sequence.ptr()) ? PyList_GET_ITEM(sequence.ptr(), i)
                                      : PyTuple_GET_ITEM(sequence.ptr(), i);
}

// The lead argument (first) sets the length, every element's shape and, by its first element,
// the dtype. Elements are checked element by element, then all arrays for overlap.
Tensors check_lists(const std::vector<ListArg>& args) {
  const ListArg& lead = args[0];
  for (const ListArg& arg : args) {
    if (!PyList_Check(arg.list.ptr()) && !PyTuple_Check(arg.list.ptr())) {
      raise_type(arg.name, "a list or tuple of arrays",
                 py::str(py::type::of(arg.list).attr("__name__")).cast<std::string>());
    }
    if (py::len(arg.list) != py::len(lead.list)) {
      raise_value(arg.name,
                  std::to_string(py::len(lead.list)) + " arrays (like " + lead.name + ")",
                  std::to_string(py::len(arg.list)));
    }
  }
  const auto count = static_cast<int64_t>(py::len(lead.list));
  Tensors t;
  t.arrays.resize(args.size());
  for (int64_t i = 0; i < count; ++i) {
    for (size_t k = 0; k < args.size(); ++k) {
      const std::string name = element_name(args[k], i);
      py::array a = as_array(item(args[k].list, i), name.c_str());
      if (i == 0 && k == 0) t.dtype = float_dtype(a, name.c_str());
      else require_dtype(a, name.c_str(), t.dtype);
      if (k > 0) {
        const py::array& shape_of = t.arrays[0][i];
        require_shape(a, name.c_str(),
                      std::vector<int64_t>(shape_of.shape(), shape_of.shape() + shape_of.ndim()));
      }
      require_c_contiguous(a, name.c_str());
      if (args[k].writable) require_writable(a, name.c_str());
      t.arrays[k].push_back(std::move(a));
    }
  }
  require_all_disjoint(args, t);
  return t;
}

// Runs update(T tag, element) for each tensor, without the GIL when the work is large.
template <class Update>
void for_each_tensor(Tensors& t, Update&& update) {
  MaybeReleaseGil gil(t.total_size() * static_cast<int64_t>(t.arrays.size()));
  with_dtype(t.dtype, [&](auto tag) {
    for (int64_t i = 0; i < t.count(); ++i) update(tag, i);
  });
}

// ---- the functions ----------------------------------------------------------------------------

template <bool Scalar>
void sgd(py::object params, py::object grads, py::object velocities, double lr,
         double momentum, bool nesterov, double weight_decay) {
  require_finite(lr, "lr");
  require_unit_interval(momentum, "momentum");
  require_non_negative(weight_decay, "weight_decay");
  if (momentum > 0) require_state(velocities, "velocities", "momentum > 0");
  std::vector<ListArg> args{{"params", params, true}, {"grads", grads, false}};
  if (!velocities.is_none()) args.push_back({"velocities", velocities, true});
  Tensors t = check_lists(args);
  for_each_tensor(t, [&](auto tag, int64_t i) {
    using T = decltype(tag);
    auto run = Scalar ? &sgd_update_scalar<T> : &sgd_update<T>;
    run(t.data<T>(0, i), t.data<T>(1, i), momentum > 0 ? t.data<T>(2, i) : nullptr, t.size(i),
        T(lr), T(momentum), nesterov, T(weight_decay));
  });
}

template <bool Scalar>
void adam(py::object params, py::object grads, py::object ms, py::object vs, double lr,
          double beta1, double beta2, double epsilon, py::handle step_obj, double weight_decay,
          py::object v_hats) {
  require_finite(lr, "lr");
  require_unit_interval_open(beta1, "beta1");
  require_unit_interval_open(beta2, "beta2");
  require_non_negative(epsilon, "epsilon");
  const int64_t step = require_step(step_obj);
  require_non_negative(weight_decay, "weight_decay");
  std::vector<ListArg> args{{"params", params, true}, {"grads", grads, false},
                            {"ms", ms, true}, {"vs", vs, true}};
  if (!v_hats.is_none()) args.push_back({"v_hats", v_hats, true});
  Tensors t = check_lists(args);
  for_each_tensor(t, [&](auto tag, int64_t i) {
    using T = decltype(tag);
    auto run = Scalar ? &adam_update_scalar<T> : &adam_update<T>;
    run(t.data<T>(0, i), t.data<T>(1, i), t.data<T>(2, i), t.data<T>(3, i), t.data<T>(4, i),
        t.size(i), T(lr), T(beta1), T(beta2), T(epsilon), step, T(weight_decay));
  });
}

template <bool Scalar>
void rmsprop(py::object params, py::object grads, py::object velocities, py::object momenta,
             py::object avg_grads, double lr, double rho, double momentum, double epsilon,
             double weight_decay) {
  require_finite(lr, "lr");
  require_unit_interval(rho, "rho");
  require_unit_interval(momentum, "momentum");
  require_non_negative(epsilon, "epsilon");
  require_non_negative(weight_decay, "weight_decay");
  if (momentum > 0) require_state(momenta, "momenta", "momentum > 0");
  std::vector<ListArg> args{
      {"params", params, true}, {"grads", grads, false}, {"velocities", velocities, true}};
  const size_t momenta_at = momenta.is_none() ? SIZE_MAX : args.size();
  if (!momenta.is_none()) args.push_back({"momenta", momenta, true});
  const size_t avg_grads_at = avg_grads.is_none() ? SIZE_MAX : args.size();
  if (!avg_grads.is_none()) args.push_back({"avg_grads", avg_grads, true});
  Tensors t = check_lists(args);
  for_each_tensor(t, [&](auto tag, int64_t i) {
    using T = decltype(tag);
    auto run = Scalar ? &rmsprop_update_scalar<T> : &rmsprop_update<T>;
    run(t.data<T>(0, i), t.data<T>(1, i), t.data<T>(2, i),
        momentum > 0 ? t.data<T>(momenta_at, i) : nullptr, t.data<T>(avg_grads_at, i),
        t.size(i), T(lr), T(rho), T(momentum), T(epsilon), T(weight_decay));
  });
}

template <bool Scalar>
void adagrad(py::object params, py::object grads, py::object accumulators, double lr,
             double epsilon, double weight_decay) {
  require_finite(lr, "lr");
  require_non_negative(epsilon, "epsilon");
  require_non_negative(weight_decay, "weight_decay");
  Tensors t = check_lists(
      {{"params", params, true}, {"grads", grads, false}, {"accumulators", accumulators, true}});
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
  std::vector<T*> data;
  std::vector<int64_t> sizes;
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

double global_norm_binding(py::object grads) {
  Tensors t = check_lists({{"grads", grads, false}});
  return over_all_grads(t, [](auto tag, auto& r) {
    using T = decltype(tag);
    return global_norm<T>(r.data.data(), r.sizes.data(), r.count());
  });
}

double clip_by_global_norm_binding(py::object grads, double max_norm) {
  require_positive(max_norm, "max_norm");
  Tensors t = check_lists({{"grads", grads, true}});
  return over_all_grads(t, [&](auto tag, auto& r) {
    using T = decltype(tag);
    return clip_by_global_norm<T>(r.data.data(), r.sizes.data(), r.count(), T(max_norm));
  });
}

void clip_by_value_binding(py::object grads, double clip) {
  require_positive(clip, "clip");
  Tensors t = check_lists({{"grads", grads, true}});
  over_all_grads(t, [&](auto tag, auto& r) {
    using T = decltype(tag);
    clip_by_value<T>(r.data.data(), r.sizes.data(), r.count(), T(clip));
    return 0;
  });
}

template <bool Scalar>
void define_updates(py::module_& m, const std::string& prefix, const std::string& suffix) {
  m.def((prefix + "sgd_update" + suffix).c_str(), &sgd<Scalar>, py::arg("params"),
        py::arg("grads"), py::arg("velocities"), py::arg("lr"), py::arg("momentum") = 0.0,
        py::arg("nesterov") = false, py::arg("weight_decay") = 0.0,
        "SGD in place: v = momentum*v - lr*g; p += v (nesterov: p += momentum*v - lr*g); with "
        "momentum 0, p -= lr*g and velocities may be None. Weight decay is decoupled.");
  m.def((prefix + "adam_update" + suffix).c_str(), &adam<Scalar>, py::arg("params"),
        py::arg("grads"), py::arg("ms"), py::arg("vs"), py::arg("lr"), py::arg("beta1"),
        py::arg("beta2"), py::arg("epsilon"), py::arg("step"), py::arg("weight_decay") = 0.0,
        py::arg("v_hats") = py::none(),
        "Adam in place (Keras 3): m += (1-b1)(g-m); v += (1-b2)(g^2-v); "
        "p -= lr*sqrt(1-b2^t)/(1-b1^t) * m/(sqrt(v)+eps), t = step >= 1. AMSGrad when v_hats "
        "is given: v_hat = max(v_hat, v), used in place of v.");
  m.def((prefix + "rmsprop_update" + suffix).c_str(), &rmsprop<Scalar>, py::arg("params"),
        py::arg("grads"), py::arg("velocities"), py::arg("momenta"), py::arg("avg_grads"),
        py::arg("lr"), py::arg("rho"), py::arg("momentum"), py::arg("epsilon"),
        py::arg("weight_decay") = 0.0,
        "RMSprop in place (Keras 3); centered when avg_grads is given; momenta may be None "
        "when momentum == 0.");
  m.def((prefix + "adagrad_update" + suffix).c_str(), &adagrad<Scalar>, py::arg("params"),
        py::arg("grads"), py::arg("accumulators"), py::arg("lr"), py::arg("epsilon"),
        py::arg("weight_decay") = 0.0, "Adagrad in place: acc += g^2; p -= lr*g/sqrt(acc + eps).");
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
