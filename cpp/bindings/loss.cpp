// Bindings for cpp/loss.h. Arguments are checked in the order nerve/reference/loss.py checks
// them (kind, y_pred, y_true, sample_weight, grad, delta), labels included, before any work.
// A fast binding (fastcall.h): a training step calls it once per batch.
#include <cmath>
#include <string>

#include "checks.h"
#include "fastcall.h"
#include "loss.h"
#include "register.h"

namespace nerve::bind {
namespace {

Loss check_kind(py::handle kind) {
  if (!PyUnicode_Check(kind.ptr())) {
    raise_type("kind", "a str", type_name(kind));
  }
  Loss parsed;
  const char* name = PyUnicode_AsUTF8(kind.ptr());
  if (!name || !parse_loss(name, &parsed)) {
    PyErr_Clear();
    raise_value("kind", std::string("one of ") + loss_names(), py::repr(kind));
  }
  return parsed;
}

void check_labels(const py::array& labels, int64_t cols) {
  const int64_t* data = cptr<int64_t>(labels);
  for (int64_t i = 0; i < dim(labels, 0); ++i) {
    if (data[i] < 0 || data[i] >= cols) {
      raise_value("y_true", "labels in [0, " + std::to_string(cols) + ")", std::to_string(data[i]));
    }
  }
}

template <bool Scalar>
double loss(py::handle grad_obj, py::handle y_pred_obj, py::handle y_true_obj, py::handle kind_obj,
            py::handle sample_weight_obj, double delta) {
  const Loss kind = check_kind(kind_obj);
  const py::array y_pred = as_array(y_pred_obj, "y_pred");
  const DType dtype = float_dtype(y_pred, "y_pred");
  require_ndim(y_pred, "y_pred", 2);
  if (y_pred.size() == 0) {
    raise_value("y_pred", "at least one row and one column", "shape " + shape_str(y_pred));
  }
  require_c_contiguous(y_pred, "y_pred");
  const int64_t rows = dim(y_pred, 0), cols = dim(y_pred, 1);

  const py::array y_true = as_array(y_true_obj, "y_true");
  const bool sparse = loss_is_sparse(kind);
  if (sparse) {
    require_int64(y_true, "y_true");
    require_shape(y_true, "y_true", {rows});
    require_c_contiguous(y_true, "y_true");
    check_labels(y_true, cols);
  } else {
    require_dtype(y_true, "y_true", dtype);
    require_shape(y_true, "y_true", {rows, cols});
    require_c_contiguous(y_true, "y_true");
  }
  const std::optional<py::array> sample_weight =
      as_optional_array(sample_weight_obj, "sample_weight");
  if (sample_weight) {
    require_dtype(*sample_weight, "sample_weight", dtype);
    require_shape(*sample_weight, "sample_weight", {rows});
    require_c_contiguous(*sample_weight, "sample_weight");
  }
  std::optional<py::array> grad = as_optional_array(grad_obj, "grad");
  if (grad) {
    require_dtype(*grad, "grad", dtype);
    require_shape(*grad, "grad", {rows, cols});
    require_c_contiguous(*grad, "grad");
    require_writable(*grad, "grad");
    require_disjoint(*grad, "grad", y_pred, "y_pred");
    require_disjoint(*grad, "grad", y_true, "y_true");
    if (sample_weight) require_disjoint(*grad, "grad", *sample_weight, "sample_weight");
  }
  if (!(std::isfinite(delta) && delta > 0)) {
    raise_value("delta", "a finite number > 0", py::repr(py::float_(delta)));
  }

  MaybeReleaseGil gil(rows * cols);
  return with_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    auto run = Scalar ? &loss_forward_backward_scalar<T> : &loss_forward_backward<T>;
    return run(kind, grad ? ptr<T>(*grad) : nullptr, cptr<T>(y_pred),
               sparse ? nullptr : cptr<T>(y_true), sparse ? cptr<int64_t>(y_true) : nullptr,
               sample_weight ? cptr<T>(*sample_weight) : nullptr, rows, cols, T(delta));
  });
}

template <bool Scalar>
py::object loss_call(PyObject* const* v) {
  const double delta = float_arg(v[5], "delta");
  return py::float_(loss<Scalar>(v[0], v[1], v[2], v[3], v[4], delta));
}

template <bool Scalar>
void define_loss(py::module_& m, const char* name) {
  def_fast(m, name,
           {{"grad"}, {"y_pred"}, {"y_true"}, {"kind"}, {"sample_weight", py::none()},
            {"delta", py::float_(1.0)}},
           &loss_call<Scalar>,
           "Mean weighted loss sum_i(w_i l_i)/rows of y_pred (rows, cols) against y_true (same "
           "shape, or int64 labels (rows,) for the sparse kinds); grad, when not None, is "
           "overwritten with d loss / d y_pred. kind: one of nerve.reference.LOSSES.");
}

}  // namespace

void register_loss(py::module_& m) {
  define_loss<false>(m, "loss");
  define_loss<true>(m, "_loss_scalar");
}

}  // namespace nerve::bind
