// Bindings for cpp/activations.h. Outputs come first; every array is taken as it is (no
// conversion), validated with checks.h, then viewed as (rows, cols) with cols the last dim.
#include <string>
#include <vector>

#include "activations.h"
#include "checks.h"
#include "register.h"

namespace nerve::bind {

namespace {

// Shape of the reference array, which must have at least one dimension.
std::vector<int64_t> shape_of(const py::array& a, const char* name) {
  if (a.ndim() == 0) raise_value(name, "an array with at least 1 dimension", "shape ()");
  return std::vector<int64_t>(a.shape(), a.shape() + a.ndim());
}

struct Matrix {
  int64_t rows, cols;
};

Matrix as_matrix(const std::vector<int64_t>& shape) {
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < shape.size(); ++i) rows *= shape[i];
  return {rows, shape.back()};
}

void forward(py::handle y_obj, py::handle x_obj, py::handle activation, double alpha, bool scalar) {
  py::array y = as_array(y_obj, "y");
  const py::array x = as_array(x_obj, "x");
  const Activation act = activation_arg(activation);
  const DType dtype = float_dtype(x, "x");
  require_input(x, "x", dtype);
  const std::vector<int64_t> shape = shape_of(x, "x");
  require_output(y, "y", dtype);
  require_shape(y, "y", shape);
  require_disjoint(y, "y", x, "x", /*allow_identical=*/true);
  // Nothing to write; the row loop of softmax would still run over shapes like (2**40, 0).
  if (x.size() == 0) return;
  const Matrix m = as_matrix(shape);
  with_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    MaybeReleaseGil gil(m.rows * m.cols);
    (scalar ? &activation_forward_scalar<T> : &activation_forward<T>)(
        act, ptr<T>(y), cptr<T>(x), m.rows, m.cols, static_cast<T>(alpha));
  });
}

void backward(py::handle dx_obj, py::handle dy_obj, py::handle x_obj, py::handle y_obj,
              py::handle activation, double alpha, bool scalar) {
  py::array dx = as_array(dx_obj, "dx");
  const py::array dy = as_array(dy_obj, "dy");
  const py::array x = as_array(x_obj, "x");
  const py::array y = as_array(y_obj, "y");
  const Activation act = activation_arg(activation);
  if (!activation_has_backward(act)) {
    raise_value("activation", "an activation with a derivative (trainable)",
                std::string("'") + activation_name(act) + "', which is not trainable");
  }
  const DType dtype = float_dtype(dy, "dy");
  require_input(dy, "dy", dtype);
  const std::vector<int64_t> shape = shape_of(dy, "dy");
  require_input(x, "x", dtype);
  require_shape(x, "x", shape);
  require_input(y, "y", dtype);
  require_shape(y, "y", shape);
  require_output(dx, "dx", dtype);
  require_shape(dx, "dx", shape);
  require_disjoint(dx, "dx", dy, "dy", /*allow_identical=*/true);
  require_disjoint(dx, "dx", x, "x");
  require_disjoint(dx, "dx", y, "y");
  if (dy.size() == 0) return;  // as in forward: no rows of empty rows to loop over
  const Matrix m = as_matrix(shape);
  with_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    MaybeReleaseGil gil(m.rows * m.cols);
    (scalar ? &activation_backward_scalar<T> : &activation_backward<T>)(
        act, ptr<T>(dx), cptr<T>(dy), cptr<T>(x), cptr<T>(y), m.rows, m.cols, static_cast<T>(alpha));
  });
}

constexpr const char* kForwardDoc =
    "y = f(x) for the Keras activation `activation` (softmax over the last axis). y and x: the "
    "same shape (ndim >= 1) and float dtype, C-contiguous; y may be x itself. alpha: "
    "leaky_relu slope, elu alpha, step threshold.";
constexpr const char* kBackwardDoc =
    "dx = f'(x) * dy (softmax: y * (dy - sum(dy * y)) per row), given the forward input x and "
    "output y. All the same shape and float dtype, C-contiguous; dx may be dy itself.";

}  // namespace

void register_activations(py::module_& m) {
  for (const bool scalar : {false, true}) {
    const char* prefix = scalar ? "_" : "";
    const std::string suffix = scalar ? "_scalar" : "";
    m.def((prefix + std::string("activation_forward") + suffix).c_str(),
          [scalar](py::handle y, py::handle x, py::handle activation, double alpha) {
            forward(y, x, activation, alpha, scalar);
          },
          py::arg("y"), py::arg("x"), py::arg("activation"), py::arg("alpha") = 0.0,
          scalar ? "activation_forward on the plain scalar kernels (for tests)." : kForwardDoc);
    m.def((prefix + std::string("activation_backward") + suffix).c_str(),
          [scalar](py::handle dx, py::handle dy, py::handle x, py::handle y, py::handle activation,
                   double alpha) { backward(dx, dy, x, y, activation, alpha, scalar); },
          py::arg("dx"), py::arg("dy"), py::arg("x"), py::arg("y"), py::arg("activation"),
          py::arg("alpha") = 0.0,
          scalar ? "activation_backward on the plain scalar kernels (for tests)." : kBackwardDoc);
  }
}

}  // namespace nerve::bind
