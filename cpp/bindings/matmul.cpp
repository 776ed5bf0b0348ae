// Bindings for cpp/matmul.h. Outputs come first; arrays are taken as they are (py::handle, no
// conversion) and validated with checks.h before any kernel runs. They are fast bindings
// (fastcall.h): a training step calls dense_forward and dense_backward once per layer, and
// nerve.ops.matmul calls matmul, on operands as small as 10x8.
#include <cstring>

#include "activations.h"
#include "checks.h"
#include "fastcall.h"
#include "matmul.h"
#include "register.h"

namespace nerve::bind {

namespace {

template <class T>
using GemmFn = void (*)(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*,
                        int64_t, T, T*, int64_t);

void gemm_binding(py::handle c_obj, py::handle a_obj, py::handle b_obj, bool trans_a,
                  bool trans_b, double alpha, double beta, bool scalar) {
  DType dtype;
  py::array c = first_array(c_obj, "c", 2, &dtype);
  const py::array a = typed_array(a_obj, "a", 2, dtype);
  const py::array b = typed_array(b_obj, "b", 2, dtype);
  const int64_t M = dim(a, trans_a ? 1 : 0), K = dim(a, trans_a ? 0 : 1);
  if (trans_b) require_shape(b, "b", {-1, K});
  else require_shape(b, "b", {K, -1});
  const int64_t N = dim(b, trans_b ? 0 : 1);
  require_shape(c, "c", {M, N});
  require_output(c, "c", dtype);
  require_input(a, "a", dtype);
  require_input(b, "b", dtype);
  require_disjoint(c, "c", a, "a");
  require_disjoint(c, "c", b, "b");
  with_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    MaybeReleaseGil gil(M * N * K);
    (scalar ? GemmFn<T>(&gemm_scalar<T>) : GemmFn<T>(&gemm<T>))(
        trans_a, trans_b, M, N, K, T(alpha), cptr<T>(a), dim(a, 1), cptr<T>(b), dim(b, 1), T(beta),
        ptr<T>(c), N);
  });
}

// The layout gemm reads an operand of matmul in: as it is (C-contiguous, false) or as the
// transpose of a C-contiguous array (an x.T view, true), so that neither is copied.
bool read_transposed(const py::array& x, const char* name) {
  const int flags = x.flags();
  const bool transposed = !(flags & py::array::c_style);
  if (transposed && !(flags & py::array::f_style)) {
    raise_value(name, "a C-contiguous array or the transpose of one",
                "strides " + strides_str(x) + " for shape " + shape_str(x));
  }
  require_aligned(x, name);
  return transposed;
}

// A new C-contiguous (rows, cols) array, made by NumPy's C API with the cached dtype
// (py::array's constructor would build a std::vector of the shape).
py::array new_matrix(DType dtype, int64_t rows, int64_t cols) {
  auto& api = py::detail::npy_api::get();
  Py_intptr_t dims[2] = {static_cast<Py_intptr_t>(rows), static_cast<Py_intptr_t>(cols)};
  PyObject* descr = dtype_object(dtype).inc_ref().ptr();  // NumPy takes this reference
  PyObject* out = api.PyArray_NewFromDescr_(api.PyArray_Type_, descr, 2, dims,
                                            nullptr, nullptr, 0, nullptr);
  if (!out) throw py::error_already_set();
  return py::reinterpret_steal<py::array>(out);
}

py::array matmul_binding(py::handle a_obj, py::handle b_obj) {
  DType dtype;
  const py::array a = first_array(a_obj, "a", 2, &dtype);
  const py::array b = typed_array(b_obj, "b", 2, dtype);
  const int64_t M = dim(a, 0), K = dim(a, 1);
  require_shape(b, "b", {K, -1});
  const int64_t N = dim(b, 1);
  const bool trans_a = read_transposed(a, "a");
  const bool trans_b = read_transposed(b, "b");
  py::array c = new_matrix(dtype, M, N);
  with_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    MaybeReleaseGil gil(M * N * K);
    // A transposed operand is the C-contiguous transpose in memory: its rows are M (or K) long.
    gemm<T>(trans_a, trans_b, M, N, K, T(1), cptr<T>(a), trans_a ? M : K, cptr<T>(b),
            trans_b ? K : N, T(0), ptr<T>(c), N);
  });
  return c;
}

void dense_forward_binding(py::handle y_obj, py::handle x_obj, py::handle w_obj, py::handle b_obj,
                           py::handle activation, double alpha, py::handle z_obj) {
  DType dtype;
  py::array y = first_array(y_obj, "y", 2, &dtype);
  const py::array x = typed_array(x_obj, "x", 2, dtype);
  const py::array w = typed_array(w_obj, "w", 2, dtype);
  const int64_t batch = dim(x, 0), in = dim(x, 1);
  require_shape(w, "w", {in, -1});
  const int64_t units = dim(w, 1);
  require_shape(y, "y", {batch, units});
  require_output(y, "y", dtype);
  require_input(x, "x", dtype);
  require_input(w, "w", dtype);
  NamedArrays sources{{&x, "x"}, {&w, "w"}};
  std::optional<py::array> b = as_optional_array(b_obj, "b");
  if (b) {
    b = typed_array(*b, "b", 1, dtype);
    require_shape(*b, "b", {units});
    require_input(*b, "b", dtype);
    sources.push_back({&*b, "b"});
  }
  const Activation act = activation_arg(activation, /*trainable=*/false);
  std::optional<py::array> z = as_optional_array(z_obj, "z");
  NamedArrays outputs{{&y, "y"}};
  if (z) {
    z = typed_array(*z, "z", 2, dtype);
    require_shape(*z, "z", {batch, units});
    require_output(*z, "z", dtype);
    require_disjoint(*z, "z", y, "y", /*allow_identical=*/act == Activation::linear);
    outputs.push_back({&*z, "z"});
  }
  for (const Named& out : outputs) require_all_disjoint(&out, 1, sources.data(), sources.size());
  // y and z empty: nothing to write, and the kernel's activation would still loop over the
  // rows of shapes like (2**40, 0).
  if (y.size() == 0) return;
  with_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    MaybeReleaseGil gil(batch * in * units);
    dense_forward<T>(ptr<T>(y), z ? ptr<T>(*z) : nullptr, cptr<T>(x), cptr<T>(w),
                     b ? cptr<T>(*b) : nullptr, batch, in, units, act, T(alpha));
  });
}

// dx, dw and db when dz has no elements: zeros, or unchanged when accumulating into dw, db.
void zero_empty_product_outputs(std::optional<py::array>& dx, py::array& dw,
                                std::optional<py::array>& db, bool accumulate) {
  if (dx) std::memset(dx->mutable_data(), 0, static_cast<size_t>(dx->nbytes()));
  if (accumulate) return;
  std::memset(dw.mutable_data(), 0, static_cast<size_t>(dw.nbytes()));
  if (db) std::memset(db->mutable_data(), 0, static_cast<size_t>(db->nbytes()));
}

void dense_backward_binding(py::handle dx_obj, py::handle dw_obj, py::handle db_obj, py::handle dz_obj,
                            py::handle dy_obj, py::handle x_obj, py::handle w_obj, py::handle z_obj,
                            py::handle y_obj, py::handle activation, double alpha, bool accumulate) {
  DType dtype;
  py::array dw = first_array(dw_obj, "dw", 2, &dtype);
  py::array dz = typed_array(dz_obj, "dz", 2, dtype);
  const py::array dy = typed_array(dy_obj, "dy", 2, dtype);
  const py::array x = typed_array(x_obj, "x", 2, dtype);
  const py::array w = typed_array(w_obj, "w", 2, dtype);
  const py::array z = typed_array(z_obj, "z", 2, dtype);
  const py::array y = typed_array(y_obj, "y", 2, dtype);
  const int64_t batch = dim(x, 0), in = dim(x, 1);
  require_shape(w, "w", {in, -1});
  const int64_t units = dim(w, 1);
  require_shape(dy, "dy", {batch, units});
  require_shape(z, "z", {batch, units});
  require_shape(y, "y", {batch, units});
  require_shape(dz, "dz", {batch, units});
  require_shape(dw, "dw", {in, units});
  NamedArrays outputs{{&dz, "dz"}, {&dw, "dw"}};
  std::optional<py::array> dx = as_optional_array(dx_obj, "dx");
  if (dx) {
    dx = typed_array(*dx, "dx", 2, dtype);
    require_shape(*dx, "dx", {batch, in});
    outputs.push_back({&*dx, "dx"});
  }
  std::optional<py::array> db = as_optional_array(db_obj, "db");
  if (db) {
    db = typed_array(*db, "db", 1, dtype);
    require_shape(*db, "db", {units});
    outputs.push_back({&*db, "db"});
  }
  const NamedArrays inputs{{&dy, "dy"}, {&x, "x"}, {&w, "w"}, {&z, "z"}, {&y, "y"}};
  for (const Named& out : outputs) require_output(*out.array, out.name, dtype);
  for (const Named& source : inputs) require_input(*source.array, source.name, dtype);
  const Activation act = activation_arg(activation, /*trainable=*/true);
  require_all_disjoint(outputs, inputs, &dz, &dy);
  if (dz.size() == 0) {  // dz empty: every product is a sum of nothing (see dense_forward)
    zero_empty_product_outputs(dx, dw, db, accumulate);
    return;
  }
  with_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    MaybeReleaseGil gil(batch * in * units);
    dense_backward<T>(dx ? ptr<T>(*dx) : nullptr, ptr<T>(dw), db ? ptr<T>(*db) : nullptr, ptr<T>(dz),
                      cptr<T>(dy), cptr<T>(x), cptr<T>(w), cptr<T>(z), cptr<T>(y), batch, in, units,
                      act, T(alpha), accumulate);
  });
}

// The fast bindings' bodies: scalars converted first, in order, as pybind11 did.
template <bool Scalar>
py::object gemm_call(PyObject* const* v) {
  const bool trans_a = bool_arg(v[3], "trans_a"), trans_b = bool_arg(v[4], "trans_b");
  const double alpha = float_arg(v[5], "alpha"), beta = float_arg(v[6], "beta");
  gemm_binding(v[0], v[1], v[2], trans_a, trans_b, alpha, beta, Scalar);
  return py::none();
}

py::object matmul_call(PyObject* const* v) { return matmul_binding(v[0], v[1]); }

py::object dense_forward_call(PyObject* const* v) {
  const double alpha = float_arg(v[5], "alpha");
  dense_forward_binding(v[0], v[1], v[2], v[3], v[4], alpha, v[6]);
  return py::none();
}

py::object dense_backward_call(PyObject* const* v) {
  const double alpha = float_arg(v[10], "alpha");
  const bool accumulate = bool_arg(v[11], "accumulate");
  dense_backward_binding(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], alpha,
                         accumulate);
  return py::none();
}

}  // namespace

void register_matmul(py::module_& m) {
  const py::object no = py::bool_(false), one = py::float_(1.0), zero = py::float_(0.0);
  const std::initializer_list<Parameter> gemm_parameters{
      {"c"}, {"a"}, {"b"}, {"trans_a", no}, {"trans_b", no}, {"alpha", one}, {"beta", zero}};
  def_fast(m, "gemm", gemm_parameters, &gemm_call<false>,
           "c = alpha * op(a) @ op(b) + beta * c in place (op transposes when trans_*); beta == 0 "
           "overwrites c. All 2-D, C-contiguous, one float dtype; c disjoint from a and b.");
  def_fast(m, "_gemm_scalar", gemm_parameters, &gemm_call<true>,
           "gemm by the plain triple loop (the definition the fast kernel is tested against).");
  def_fast(m, "matmul", {{"a"}, {"b"}}, &matmul_call,
           "a @ b as a new C-contiguous array. a (M, K) and b (K, N) of one float dtype, each "
           "C-contiguous or the transpose of a C-contiguous array (read in place, not copied).");
  def_fast(m, "dense_forward",
           {{"y"}, {"x"}, {"w"}, {"b"}, {"activation", py::str("linear")}, {"alpha", zero},
            {"z", py::none()}},
           &dense_forward_call,
           "z = x @ w + b, y = activation(z) in place. x (batch, in), w (in, units), b (units,) or "
           "None, y and z (batch, units); z optional (may be y for 'linear').");
  def_fast(m, "dense_backward",
           {{"dx"}, {"dw"}, {"db"}, {"dz"}, {"dy"}, {"x"}, {"w"}, {"z"}, {"y"},
            {"activation", py::str("linear")}, {"alpha", zero}, {"accumulate", no}},
           &dense_backward_call,
           "dz = activation'(z) * dy; dx = dz @ w.T (dx may be None); dw (+)= x.T @ dz; db (+)= "
           "column sums of dz (db may be None). dz may be dy itself; 'accumulate' adds into dw, db.");
}

}  // namespace nerve::bind
