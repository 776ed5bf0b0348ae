// Bindings for cpp/normalization.h. Batch normalization takes x and y as 3-D (outer, C,
// inner) arrays and per-channel vectors (C,); layer normalization 2-D (rows, features) arrays
// with per-row statistics (rows,) and per-feature gamma, beta (features,). Optional arrays
// accept None. Everything is checked (in the order of nerve/reference/normalization.py, so
// both backends raise the same message) before any kernel runs. Each function also exists as
// _<name>_scalar, on the plain scalar kernels, for the tests.
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "checks.h"
#include "normalization.h"
#include "register.h"

namespace nerve::bind {
namespace {

struct Named {
  const py::array* array;
  const char* name;
};

// The arrays of one call: the first sets the dtype, every later one must share it.
class Arrays {
 public:
  py::array first(py::handle obj, const char* name, int ndim) {
    py::array a = as_array(obj, name);
    dtype = float_dtype(a, name);
    require_ndim(a, name, ndim);
    return a;
  }
  py::array like(py::handle obj, const char* name, int ndim) {
    py::array a = as_array(obj, name);
    require_dtype(a, name, dtype);
    require_ndim(a, name, ndim);
    return a;
  }
  std::optional<py::array> optional(py::handle obj, const char* name, int64_t size) {
    if (obj.is_none()) return std::nullopt;
    py::array a = like(obj, name, 1);
    require_shape(a, name, {size});
    return a;
  }
  DType dtype = DType::f32;
};

double epsilon_arg(double epsilon) {
  if (!(std::isfinite(epsilon) && epsilon > 0)) {
    raise_value("epsilon", "a finite number > 0", py::repr(py::float_(epsilon)));
  }
  return epsilon;
}

// Outputs writable and disjoint from each other and from every input; inputs contiguous.
void require_arguments(const std::vector<Named>& outputs, const std::vector<Named>& inputs,
                       DType dtype) {
  for (const Named& out : outputs) require_output(*out.array, out.name, dtype);
  for (const Named& in : inputs) require_input(*in.array, in.name, dtype);
  for (size_t i = 0; i < outputs.size(); ++i) {
    for (size_t j = i + 1; j < outputs.size(); ++j) {
      require_disjoint(*outputs[i].array, outputs[i].name, *outputs[j].array, outputs[j].name);
    }
    for (const Named& in : inputs) {
      require_disjoint(*outputs[i].array, outputs[i].name, *in.array, in.name);
    }
  }
}

void add(std::vector<Named>& list, const std::optional<py::array>& a, const char* name) {
  if (a) list.push_back({&*a, name});
}

// No element (a dimension 0): nothing for a kernel to loop over, so shapes like (2**40, 0, 1)
// return at once; sums of nothing are 0.
bool no_elements(int64_t outer, int64_t C, int64_t inner) {
  return C == 0 || outer == 0 || inner == 0;
}
void zero(py::array& a) { std::memset(a.mutable_data(), 0, static_cast<size_t>(a.nbytes())); }

template <class T>
T* ptr_or_null(std::optional<py::array>& a) { return a ? ptr<T>(*a) : nullptr; }
template <class T>
const T* cptr_or_null(const std::optional<py::array>& a) { return a ? cptr<T>(*a) : nullptr; }

// batch_norm_forward and batch_norm_inference: y from x and per-channel vectors. With
// `training`, mean and variance are outputs (the batch statistics).
void batch_norm_apply(py::handle y_obj, py::handle mean_obj, py::handle variance_obj,
                      py::handle x_obj, py::handle gamma_obj, py::handle beta_obj,
                      double epsilon, bool training, bool scalar) {
  epsilon_arg(epsilon);
  Arrays arrays;
  py::array y = arrays.first(y_obj, "y", 3);
  const py::array x = arrays.like(x_obj, "x", 3);
  const int64_t outer = dim(x, 0), C = dim(x, 1), inner = dim(x, 2);
  require_shape(y, "y", {outer, C, inner});
  py::array mean = arrays.like(mean_obj, "mean", 1);
  require_shape(mean, "mean", {C});
  py::array variance = arrays.like(variance_obj, "variance", 1);
  require_shape(variance, "variance", {C});
  const std::optional<py::array> gamma = arrays.optional(gamma_obj, "gamma", C);
  const std::optional<py::array> beta = arrays.optional(beta_obj, "beta", C);
  std::vector<Named> outputs{{&y, "y"}}, inputs{{&x, "x"}};
  (training ? outputs : inputs).push_back({&mean, "mean"});
  (training ? outputs : inputs).push_back({&variance, "variance"});
  add(inputs, gamma, "gamma");
  add(inputs, beta, "beta");
  require_arguments(outputs, inputs, arrays.dtype);
  if (no_elements(outer, C, inner)) {
    if (training) {
      zero(mean);
      zero(variance);
    }
    return;
  }
  with_dtype(arrays.dtype, [&](auto tag) {
    using T = decltype(tag);
    MaybeReleaseGil gil(2 * outer * C * inner);
    if (training) {
      (scalar ? &batch_norm_forward_scalar<T> : &batch_norm_forward<T>)(
          ptr<T>(y), ptr<T>(mean), ptr<T>(variance), cptr<T>(x), cptr_or_null<T>(gamma),
          cptr_or_null<T>(beta), outer, C, inner, T(epsilon));
    } else {
      (scalar ? &batch_norm_inference_scalar<T> : &batch_norm_inference<T>)(
          ptr<T>(y), cptr<T>(x), cptr<T>(mean), cptr<T>(variance), cptr_or_null<T>(gamma),
          cptr_or_null<T>(beta), outer, C, inner, T(epsilon));
    }
  });
}

// batch_norm_backward (through the batch statistics) and batch_norm_inference_backward.
void batch_norm_gradient(py::handle dx_obj, py::handle dgamma_obj, py::handle dbeta_obj,
                         py::handle dy_obj, py::handle x_obj, py::handle mean_obj,
                         py::handle variance_obj, py::handle gamma_obj, double epsilon,
                         bool accumulate, bool training, bool scalar) {
  epsilon_arg(epsilon);
  Arrays arrays;
  const py::array dy = arrays.first(dy_obj, "dy", 3);
  const int64_t outer = dim(dy, 0), C = dim(dy, 1), inner = dim(dy, 2);
  const py::array x = arrays.like(x_obj, "x", 3);
  require_shape(x, "x", {outer, C, inner});
  const py::array mean = arrays.like(mean_obj, "mean", 1);
  require_shape(mean, "mean", {C});
  const py::array variance = arrays.like(variance_obj, "variance", 1);
  require_shape(variance, "variance", {C});
  const std::optional<py::array> gamma = arrays.optional(gamma_obj, "gamma", C);
  std::optional<py::array> dx;
  if (!dx_obj.is_none()) {
    dx = arrays.like(dx_obj, "dx", 3);
    require_shape(*dx, "dx", {outer, C, inner});
  }
  std::optional<py::array> dgamma = arrays.optional(dgamma_obj, "dgamma", C);
  std::optional<py::array> dbeta = arrays.optional(dbeta_obj, "dbeta", C);
  std::vector<Named> outputs, inputs{{&dy, "dy"}, {&x, "x"}, {&mean, "mean"},
                                     {&variance, "variance"}};
  add(outputs, dx, "dx");
  add(outputs, dgamma, "dgamma");
  add(outputs, dbeta, "dbeta");
  add(inputs, gamma, "gamma");
  require_arguments(outputs, inputs, arrays.dtype);
  if (no_elements(outer, C, inner)) {
    for (std::optional<py::array>* sum : {&dgamma, &dbeta}) {
      if (*sum && !accumulate) zero(**sum);
    }
    return;
  }
  with_dtype(arrays.dtype, [&](auto tag) {
    using T = decltype(tag);
    MaybeReleaseGil gil(3 * outer * C * inner);
    auto kernel = training ? (scalar ? &batch_norm_backward_scalar<T> : &batch_norm_backward<T>)
                           : (scalar ? &batch_norm_inference_backward_scalar<T>
                                     : &batch_norm_inference_backward<T>);
    kernel(ptr_or_null<T>(dx), ptr_or_null<T>(dgamma), ptr_or_null<T>(dbeta), cptr<T>(dy),
           cptr<T>(x), cptr<T>(mean), cptr<T>(variance), cptr_or_null<T>(gamma), outer, C, inner,
           T(epsilon), accumulate);
  });
}

void layer_norm_forward_binding(py::handle y_obj, py::handle mean_obj, py::handle inv_std_obj,
                                py::handle x_obj, py::handle gamma_obj, py::handle beta_obj,
                                double epsilon, bool scalar) {
  epsilon_arg(epsilon);
  Arrays arrays;
  py::array y = arrays.first(y_obj, "y", 2);
  const py::array x = arrays.like(x_obj, "x", 2);
  const int64_t rows = dim(x, 0), features = dim(x, 1);
  require_shape(y, "y", {rows, features});
  py::array mean = arrays.like(mean_obj, "mean", 1);
  require_shape(mean, "mean", {rows});
  py::array inv_std = arrays.like(inv_std_obj, "inv_std", 1);
  require_shape(inv_std, "inv_std", {rows});
  const std::optional<py::array> gamma = arrays.optional(gamma_obj, "gamma", features);
  const std::optional<py::array> beta = arrays.optional(beta_obj, "beta", features);
  std::vector<Named> outputs{{&y, "y"}, {&mean, "mean"}, {&inv_std, "inv_std"}},
      inputs{{&x, "x"}};
  add(inputs, gamma, "gamma");
  add(inputs, beta, "beta");
  require_arguments(outputs, inputs, arrays.dtype);
  with_dtype(arrays.dtype, [&](auto tag) {
    using T = decltype(tag);
    MaybeReleaseGil gil(2 * rows * features);
    (scalar ? &layer_norm_forward_scalar<T> : &layer_norm_forward<T>)(
        ptr<T>(y), ptr<T>(mean), ptr<T>(inv_std), cptr<T>(x), cptr_or_null<T>(gamma),
        cptr_or_null<T>(beta), rows, features, T(epsilon));
  });
}

void layer_norm_backward_binding(py::handle dx_obj, py::handle dgamma_obj, py::handle dbeta_obj,
                                 py::handle dy_obj, py::handle x_obj, py::handle mean_obj,
                                 py::handle inv_std_obj, py::handle gamma_obj, bool accumulate,
                                 bool scalar) {
  Arrays arrays;
  const py::array dy = arrays.first(dy_obj, "dy", 2);
  const int64_t rows = dim(dy, 0), features = dim(dy, 1);
  const py::array x = arrays.like(x_obj, "x", 2);
  require_shape(x, "x", {rows, features});
  const py::array mean = arrays.like(mean_obj, "mean", 1);
  require_shape(mean, "mean", {rows});
  const py::array inv_std = arrays.like(inv_std_obj, "inv_std", 1);
  require_shape(inv_std, "inv_std", {rows});
  const std::optional<py::array> gamma = arrays.optional(gamma_obj, "gamma", features);
  std::optional<py::array> dx;
  if (!dx_obj.is_none()) {
    dx = arrays.like(dx_obj, "dx", 2);
    require_shape(*dx, "dx", {rows, features});
  }
  std::optional<py::array> dgamma = arrays.optional(dgamma_obj, "dgamma", features);
  std::optional<py::array> dbeta = arrays.optional(dbeta_obj, "dbeta", features);
  std::vector<Named> outputs, inputs{{&dy, "dy"}, {&x, "x"}, {&mean, "mean"},
                                     {&inv_std, "inv_std"}};
  add(outputs, dx, "dx");
  add(outputs, dgamma, "dgamma");
  add(outputs, dbeta, "dbeta");
  add(inputs, gamma, "gamma");
  require_arguments(outputs, inputs, arrays.dtype);
  with_dtype(arrays.dtype, [&](auto tag) {
    using T = decltype(tag);
    MaybeReleaseGil gil(3 * rows * features);
    (scalar ? &layer_norm_backward_scalar<T> : &layer_norm_backward<T>)(
        ptr_or_null<T>(dx), ptr_or_null<T>(dgamma), ptr_or_null<T>(dbeta), cptr<T>(dy),
        cptr<T>(x), cptr<T>(mean), cptr<T>(inv_std), cptr_or_null<T>(gamma), rows, features,
        accumulate);
  });
}

}  // namespace

void register_normalization(py::module_& m) {
  for (const bool scalar : {false, true}) {
    auto name = [scalar](const char* base) {
      return scalar ? "_" + std::string(base) + "_scalar" : std::string(base);
    };
    auto doc = [scalar](const char* text) {
      return scalar ? "The same on the plain scalar kernels (for tests)." : text;
    };
    m.def(name("batch_norm_forward").c_str(),
          [scalar](py::handle y, py::handle mean, py::handle variance, py::handle x,
                   py::handle gamma, py::handle beta, double epsilon) {
            batch_norm_apply(y, mean, variance, x, gamma, beta, epsilon, true, scalar);
          },
          py::arg("y"), py::arg("mean"), py::arg("variance"), py::arg("x"), py::arg("gamma"),
          py::arg("beta"), py::arg("epsilon"),
          doc("Batch statistics per channel of x (outer, C, inner) into mean, variance (C,) "
              "(biased); y = (x - mean) / sqrt(variance + epsilon) * gamma + beta. gamma, beta "
              "(C,) or None."));
    m.def(name("batch_norm_backward").c_str(),
          [scalar](py::handle dx, py::handle dgamma, py::handle dbeta, py::handle dy,
                   py::handle x, py::handle mean, py::handle variance, py::handle gamma,
                   double epsilon, bool accumulate) {
            batch_norm_gradient(dx, dgamma, dbeta, dy, x, mean, variance, gamma, epsilon,
                                accumulate, true, scalar);
          },
          py::arg("dx"), py::arg("dgamma"), py::arg("dbeta"), py::arg("dy"), py::arg("x"),
          py::arg("mean"), py::arg("variance"), py::arg("gamma"), py::arg("epsilon"),
          py::arg("accumulate") = false,
          doc("Training-mode gradient through the batch statistics: dbeta = sum dy, dgamma = "
              "sum dy * xhat, dx = gamma * inv_std / m * (m * dy - dbeta - xhat * dgamma). "
              "dx, dgamma, dbeta may be None; accumulate adds into dgamma, dbeta."));
    m.def(name("batch_norm_inference").c_str(),
          [scalar](py::handle y, py::handle x, py::handle mean, py::handle variance,
                   py::handle gamma, py::handle beta, double epsilon) {
            batch_norm_apply(y, mean, variance, x, gamma, beta, epsilon, false, scalar);
          },
          py::arg("y"), py::arg("x"), py::arg("mean"), py::arg("variance"), py::arg("gamma"),
          py::arg("beta"), py::arg("epsilon"),
          doc("y = (x - mean) / sqrt(variance + epsilon) * gamma + beta with given (moving) "
              "statistics; x, y (outer, C, inner), the rest (C,), gamma and beta may be None."));
    m.def(name("batch_norm_inference_backward").c_str(),
          [scalar](py::handle dx, py::handle dgamma, py::handle dbeta, py::handle dy,
                   py::handle x, py::handle mean, py::handle variance, py::handle gamma,
                   double epsilon, bool accumulate) {
            batch_norm_gradient(dx, dgamma, dbeta, dy, x, mean, variance, gamma, epsilon,
                                accumulate, false, scalar);
          },
          py::arg("dx"), py::arg("dgamma"), py::arg("dbeta"), py::arg("dy"), py::arg("x"),
          py::arg("mean"), py::arg("variance"), py::arg("gamma"), py::arg("epsilon"),
          py::arg("accumulate") = false,
          doc("Gradient of batch_norm_inference (statistics constant): dx = dy * gamma * "
              "inv_std, dgamma = sum dy * xhat, dbeta = sum dy."));
    m.def(name("layer_norm_forward").c_str(),
          [scalar](py::handle y, py::handle mean, py::handle inv_std, py::handle x,
                   py::handle gamma, py::handle beta, double epsilon) {
            layer_norm_forward_binding(y, mean, inv_std, x, gamma, beta, epsilon, scalar);
          },
          py::arg("y"), py::arg("mean"), py::arg("inv_std"), py::arg("x"), py::arg("gamma"),
          py::arg("beta"), py::arg("epsilon"),
          doc("Per row of x (rows, features): mean, inv_std = 1 / sqrt(variance + epsilon) "
              "(rows,) saved; y = (x - mean) * inv_std * gamma + beta (gamma, beta (features,) "
              "or None)."));
    m.def(name("layer_norm_backward").c_str(),
          [scalar](py::handle dx, py::handle dgamma, py::handle dbeta, py::handle dy,
                   py::handle x, py::handle mean, py::handle inv_std, py::handle gamma,
                   bool accumulate) {
            layer_norm_backward_binding(dx, dgamma, dbeta, dy, x, mean, inv_std, gamma,
                                        accumulate, scalar);
          },
          py::arg("dx"), py::arg("dgamma"), py::arg("dbeta"), py::arg("dy"), py::arg("x"),
          py::arg("mean"), py::arg("inv_std"), py::arg("gamma"), py::arg("accumulate") = false,
          doc("Gradient of layer_norm_forward from its saved mean and inv_std; dx, dgamma, "
              "dbeta may be None; accumulate adds into dgamma, dbeta."));
  }
}

}  // namespace nerve::bind
