// Bindings for cpp/matmul.h. Outputs come first; arrays are taken as they are (py::handle, no
// conversion: a call costs ~0.3 us) and validated with checks.h before any kernel runs.
#include <cstring>
#include <string>
#include <vector>

#include "activations.h"
#include "checks.h"
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
  require_shape(b, "b", trans_b ? std::vector<int64_t>{-1, K} : std::vector<int64_t>{K, -1});
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
  std::vector<Named> sources{{&x, "x"}, {&w, "w"}};
  std::optional<py::array> b = as_optional_array(b_obj, "b");
  if (b) {
    b = typed_array(*b, "b", 1, dtype);
    require_shape(*b, "b", {units});
    require_input(*b, "b", dtype);
    sources.push_back({&*b, "b"});
  }
  const Activation act = activation_arg(activation, /*trainable=*/false);
  std::optional<py::array> z = as_optional_array(z_obj, "z");
  std::vector<Named> outputs{{&y, "y"}};
  if (z) {
    z = typed_array(*z, "z", 2, dtype);
    require_shape(*z, "z", {batch, units});
    require_output(*z, "z", dtype);
    require_disjoint(*z, "z", y, "y", /*allow_identical=*/act == Activation::linear);
    outputs.push_back({&*z, "z"});
  }
  for (const Named& out : outputs) require_all_disjoint({out}, sources);
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
  std::vector<Named> outputs{{&dz, "dz"}, {&dw, "dw"}};
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
  const std::vector<Named> inputs{{&dy, "dy"}, {&x, "x"}, {&w, "w"}, {&z, "z"}, {&y, "y"}};
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

}  // namespace

void register_matmul(py::module_& m) {
  m.def("gemm",
        [](py::handle c, py::handle a, py::handle b, bool trans_a, bool trans_b, double alpha, double beta) {
          gemm_binding(c, a, b, trans_a, trans_b, alpha, beta, /*scalar=*/false);
        },
        py::arg("c"), py::arg("a"), py::arg("b"), py::arg("trans_a") = false,
        py::arg("trans_b") = false, py::arg("alpha") = 1.0, py::arg("beta") = 0.0,
        "c = alpha * op(a) @ op(b) + beta * c in place (op transposes when trans_*); beta == 0 "
        "overwrites c. All 2-D, C-contiguous, one float dtype; c disjoint from a and b.");
  m.def("_gemm_scalar",
        [](py::handle c, py::handle a, py::handle b, bool trans_a, bool trans_b, double alpha, double beta) {
          gemm_binding(c, a, b, trans_a, trans_b, alpha, beta, /*scalar=*/true);
        },
        py::arg("c"), py::arg("a"), py::arg("b"), py::arg("trans_a") = false,
        py::arg("trans_b") = false, py::arg("alpha") = 1.0, py::arg("beta") = 0.0,
        "gemm by the plain triple loop (the definition the fast kernel is tested against).");
  m.def("dense_forward", &dense_forward_binding, py::arg("y"), py::arg("x"), py::arg("w"),
        py::arg("b"), py::arg("activation") = "linear", py::arg("alpha") = 0.0,
        py::arg("z") = py::none(),
        "z = x @ w + b, y = activation(z) in place. x (batch, in), w (in, units), b (units,) or "
        "None, y and z (batch, units); z optional (may be y for 'linear').");
  m.def("dense_backward", &dense_backward_binding, py::arg("dx"), py::arg("dw"), py::arg("db"),
        py::arg("dz"), py::arg("dy"), py::arg("x"), py::arg("w"), py::arg("z"), py::arg("y"),
        py::arg("activation") = "linear", py::arg("alpha") = 0.0, py::arg("accumulate") = false,
        "dz = activation'(z) * dy; dx = dz @ w.T (dx may be None); dw (+)= x.T @ dz; db (+)= "
        "column sums of dz (db may be None). dz may be dy itself; 'accumulate' adds into dw, db.");
}

}  // namespace nerve::bind
