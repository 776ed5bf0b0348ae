// Bindings for cpp/conv.h. Outputs first; arrays taken as they are and checked (checks.h),
// the geometry included, before any kernel runs.
#include <cstring>
#include <string>
#include <vector>

#include "checks.h"
#include "conv.h"
#include "register.h"

namespace nerve::bind {

namespace {

// The strides, dilations, paddings and groups a call passes, before the arrays fix the rest.
struct ConvArgs {
  int64_t stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, groups;
};

// Geometry and spatial sizes stay below 2^30, so no index sum (oh * stride + i * dilation)
// can overflow.
constexpr int64_t kMaxGeometry = int64_t{1} << 30;

void require_at_least(int64_t value, const char* name, int64_t least) {
  if (value < least || value >= kMaxGeometry)
    raise_value(name, "an int in [" + std::to_string(least) + ", 2**30)", std::to_string(value));
}

// One spatial axis: `in` inputs, `out` outputs, `taps` kernel taps. The first window may
// start at most the kernel's span - 1 before the input and the last must start inside it,
// so the padding after is at most span - 1 as well.
void require_axis(const char* axis, int64_t in, int64_t out, int64_t taps, int64_t stride,
                  int64_t dilation, int64_t pad) {
  const int64_t span = (taps - 1) * dilation + 1;
  if (pad >= span)
    raise_value(axis, "padding before smaller than the kernel's span " + std::to_string(span),
                std::to_string(pad));
  if (out < 1 || (out - 1) * stride - pad > in - 1)
    raise_value(axis, "an output size whose windows start inside the padded input (" +
                          std::to_string(in) + " inputs, span " + std::to_string(span) +
                          ", stride " + std::to_string(stride) + ", padding before " +
                          std::to_string(pad) + ")",
                std::to_string(out) + " outputs");
}

// The checked geometry of x (N, H, W, C), w (KH, KW, C / G, F) and y (N, OH, OW, F).
ConvShape conv_shape(const py::array& x, const py::array& w, const py::array& y,
                     const ConvArgs& a) {
  require_at_least(a.stride_h, "stride_h", 1);
  require_at_least(a.stride_w, "stride_w", 1);
  require_at_least(a.dilation_h, "dilation_h", 1);
  require_at_least(a.dilation_w, "dilation_w", 1);
  require_at_least(a.pad_top, "pad_top", 0);
  require_at_least(a.pad_left, "pad_left", 0);
  require_at_least(a.groups, "groups", 1);
  ConvShape s{dim(x, 0), dim(x, 1), dim(x, 2), dim(x, 3), dim(y, 1), dim(y, 2), dim(w, 3),
              dim(w, 0), dim(w, 1), a.stride_h, a.stride_w, a.dilation_h, a.dilation_w,
              a.pad_top, a.pad_left, a.groups};
  if (s.C % s.G != 0 || s.F % s.G != 0)
    raise_value("groups", "a divisor of the channels (" + std::to_string(s.C) +
                              ") and filters (" + std::to_string(s.F) + ")",
                std::to_string(s.G));
  require_shape(w, "w", {-1, -1, s.C / s.G, -1});
  require_at_least(s.KH, "w.shape[0]", 1);
  require_at_least(s.KW, "w.shape[1]", 1);
  require_shape(y, "y", {s.N, -1, -1, s.F});
  require_at_least(s.H, "x.shape[1]", 1);
  require_at_least(s.W, "x.shape[2]", 1);
  require_axis("y.shape[1]", s.H, s.OH, s.KH, s.SH, s.DH, s.PT);
  require_axis("y.shape[2]", s.W, s.OW, s.KW, s.SW, s.DW, s.PL);
  return s;
}

int64_t flops(const ConvShape& s) { return s.N * s.OH * s.OW * s.F * s.KH * s.KW * (s.C / s.G); }

template <class T>
using ForwardFn = void (*)(T*, T*, const T*, const T*, const T*, const ConvShape&, Activation, T);
template <class T>
using BackwardFn = void (*)(T*, T*, T*, T*, const T*, const T*, const T*, const T*, const T*,
                            const ConvShape&, Activation, T, bool);

void forward_binding(py::handle y_obj, py::handle x_obj, py::handle w_obj, py::handle b_obj,
                     const ConvArgs& args, py::handle activation, double alpha, py::handle z_obj,
                     bool scalar) {
  DType dtype;
  py::array y = first_array(y_obj, "y", 4, &dtype);
  const py::array x = typed_array(x_obj, "x", 4, dtype);
  const py::array w = typed_array(w_obj, "w", 4, dtype);
  const ConvShape s = conv_shape(x, w, y, args);
  require_output(y, "y", dtype);
  require_input(x, "x", dtype);
  require_input(w, "w", dtype);
  std::vector<Named> sources{{&x, "x"}, {&w, "w"}};
  std::optional<py::array> b = as_optional_array(b_obj, "b");
  if (b) {
    b = typed_array(*b, "b", 1, dtype);
    require_shape(*b, "b", {s.F});
    require_input(*b, "b", dtype);
    sources.push_back({&*b, "b"});
  }
  const Activation act = activation_arg(activation, /*trainable=*/false);
  std::optional<py::array> z = as_optional_array(z_obj, "z");
  std::vector<Named> outputs{{&y, "y"}};
  if (z) {
    z = typed_array(*z, "z", 4, dtype);
    require_shape(*z, "z", {s.N, s.OH, s.OW, s.F});
    require_output(*z, "z", dtype);
    require_disjoint(*z, "z", y, "y", /*allow_identical=*/act == Activation::linear);
    outputs.push_back({&*z, "z"});
  }
  for (const Named& out : outputs) require_all_disjoint({out}, sources);
  if (y.size() == 0) return;
  with_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    MaybeReleaseGil gil(flops(s));
    (scalar ? ForwardFn<T>(&conv2d_forward_scalar<T>) : ForwardFn<T>(&conv2d_forward<T>))(
        ptr<T>(y), z ? ptr<T>(*z) : nullptr, cptr<T>(x), cptr<T>(w), b ? cptr<T>(*b) : nullptr, s,
        act, T(alpha));
  });
}

void backward_binding(py::handle dx_obj, py::handle dw_obj, py::handle db_obj, py::handle dz_obj,
                      py::handle dy_obj, py::handle x_obj, py::handle w_obj, py::handle z_obj,
                      py::handle y_obj, const ConvArgs& args, py::handle activation,
                      double alpha, bool accumulate, bool scalar) {
  DType dtype;
  py::array dw = first_array(dw_obj, "dw", 4, &dtype);
  py::array dz = typed_array(dz_obj, "dz", 4, dtype);
  const py::array dy = typed_array(dy_obj, "dy", 4, dtype);
  const py::array x = typed_array(x_obj, "x", 4, dtype);
  const py::array w = typed_array(w_obj, "w", 4, dtype);
  const py::array z = typed_array(z_obj, "z", 4, dtype);
  const py::array y = typed_array(y_obj, "y", 4, dtype);
  const ConvShape s = conv_shape(x, w, y, args);
  const std::vector<int64_t> out_shape{s.N, s.OH, s.OW, s.F};
  require_shape(dy, "dy", out_shape);
  require_shape(z, "z", out_shape);
  require_shape(dz, "dz", out_shape);
  require_shape(dw, "dw", {s.KH, s.KW, s.C / s.G, s.F});
  std::vector<Named> outputs{{&dz, "dz"}, {&dw, "dw"}};
  std::optional<py::array> dx = as_optional_array(dx_obj, "dx");
  if (dx) {
    dx = typed_array(*dx, "dx", 4, dtype);
    require_shape(*dx, "dx", {s.N, s.H, s.W, s.C});
    outputs.push_back({&*dx, "dx"});
  }
  std::optional<py::array> db = as_optional_array(db_obj, "db");
  if (db) {
    db = typed_array(*db, "db", 1, dtype);
    require_shape(*db, "db", {s.F});
    outputs.push_back({&*db, "db"});
  }
  const std::vector<Named> inputs{{&dy, "dy"}, {&x, "x"}, {&w, "w"}, {&z, "z"}, {&y, "y"}};
  for (const Named& out : outputs) require_output(*out.array, out.name, dtype);
  for (const Named& source : inputs) require_input(*source.array, source.name, dtype);
  const Activation act = activation_arg(activation, /*trainable=*/true);
  require_all_disjoint(outputs, inputs, &dz, &dy);
  if (dz.size() == 0) {  // no outputs (batch 0): every gradient is a sum of nothing
    if (dx) std::memset(dx->mutable_data(), 0, static_cast<size_t>(dx->nbytes()));
    if (!accumulate) {
      std::memset(dw.mutable_data(), 0, static_cast<size_t>(dw.nbytes()));
      if (db) std::memset(db->mutable_data(), 0, static_cast<size_t>(db->nbytes()));
    }
    return;
  }
  with_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    MaybeReleaseGil gil(flops(s));
    (scalar ? BackwardFn<T>(&conv2d_backward_scalar<T>) : BackwardFn<T>(&conv2d_backward<T>))(
        dx ? ptr<T>(*dx) : nullptr, ptr<T>(dw), db ? ptr<T>(*db) : nullptr, ptr<T>(dz),
        cptr<T>(dy), cptr<T>(x), cptr<T>(w), cptr<T>(z), cptr<T>(y), s, act, T(alpha),
        accumulate);
  });
}

const char* kForwardDoc =
    "z = conv(x, w) + b, y = activation(z) in place. x (N, H, W, C), w (KH, KW, C // groups, F) "
    "(Keras's layout), b (F,) or None, y and z (N, OH, OW, F); output pixel (oh, ow) reads input "
    "rows oh*stride_h - pad_top + i*dilation_h (columns likewise), zeros outside. z optional "
    "(may be y for 'linear').";
const char* kBackwardDoc =
    "dz = activation'(z) * dy; dx = the input gradient (dx may be None); dw (+)= the kernel "
    "gradient; db (+)= per-filter sums of dz (db may be None). dz may be dy itself; "
    "'accumulate' adds into dw, db. Same geometry arguments as conv2d_forward.";

}  // namespace

void register_conv(py::module_& m) {
  for (const bool scalar : {false, true}) {
    const std::string prefix = scalar ? "_" : "", suffix = scalar ? "_scalar" : "";
    m.def((prefix + "conv2d_forward" + suffix).c_str(),
          [scalar](py::handle y, py::handle x, py::handle w, py::handle b, int64_t stride_h,
                   int64_t stride_w, int64_t dilation_h, int64_t dilation_w, int64_t pad_top,
                   int64_t pad_left, int64_t groups, py::handle activation, double alpha,
                   py::handle z) {
            forward_binding(y, x, w, b, {stride_h, stride_w, dilation_h, dilation_w, pad_top,
                                         pad_left, groups},
                            activation, alpha, z, scalar);
          },
          py::arg("y"), py::arg("x"), py::arg("w"), py::arg("b"), py::arg("stride_h") = 1,
          py::arg("stride_w") = 1, py::arg("dilation_h") = 1, py::arg("dilation_w") = 1,
          py::arg("pad_top") = 0, py::arg("pad_left") = 0, py::arg("groups") = 1,
          py::arg("activation") = "linear", py::arg("alpha") = 0.0, py::arg("z") = py::none(),
          scalar ? "conv2d_forward by direct loops (for tests)." : kForwardDoc);
    m.def((prefix + "conv2d_backward" + suffix).c_str(),
          [scalar](py::handle dx, py::handle dw, py::handle db, py::handle dz, py::handle dy,
                   py::handle x, py::handle w, py::handle z, py::handle y, int64_t stride_h,
                   int64_t stride_w, int64_t dilation_h, int64_t dilation_w, int64_t pad_top,
                   int64_t pad_left, int64_t groups, py::handle activation, double alpha,
                   bool accumulate) {
            backward_binding(dx, dw, db, dz, dy, x, w, z, y,
                             {stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, groups},
                             activation, alpha, accumulate, scalar);
          },
          py::arg("dx"), py::arg("dw"), py::arg("db"), py::arg("dz"), py::arg("dy"), py::arg("x"),
          py::arg("w"), py::arg("z"), py::arg("y"), py::arg("stride_h") = 1,
          py::arg("stride_w") = 1, py::arg("dilation_h") = 1, py::arg("dilation_w") = 1,
          py::arg("pad_top") = 0, py::arg("pad_left") = 0, py::arg("groups") = 1,
          py::arg("activation") = "linear", py::arg("alpha") = 0.0, py::arg("accumulate") = false,
          scalar ? "conv2d_backward by direct loops (for tests)." : kBackwardDoc);
  }
}

}  // namespace nerve::bind
