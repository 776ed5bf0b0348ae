// Bindings for cpp/pooling.h. Sizes come from the arrays' shapes (4-D, NHWC); the window
// geometry is checked here so that every window overlaps its image, and a backward pass's
// argmax is read in full before dx is written, so a corrupted one is a ValueError rather than a
// write outside dx. Checks run in the same order as nerve/reference/pooling.py, so both
// backends raise the same message.
#include <cstdint>
#include <string>

#include "checks.h"
#include "pooling.h"
#include "register.h"

namespace nerve::bind {
namespace {

// Pool sizes and strides beyond 2^31 mean nothing, and bounding them keeps the geometry's
// arithmetic (size + pad, o * stride) far from int64 overflow.
constexpr int64_t kMaxWindow = (int64_t{1} << 31) - 1;

// An integer (Python int, NumPy integer or bool; not a float) in [low, high].
int64_t require_int(py::handle obj, const char* name, int64_t low, int64_t high) {
  if (PyFloat_Check(obj.ptr()) || !PyIndex_Check(obj.ptr())) {
    raise_type(name, "an integer", py::str(py::type::of(obj).attr("__name__")).cast<std::string>());
  }
  const auto index = py::reinterpret_steal<py::object>(PyNumber_Index(obj.ptr()));
  if (!index) throw py::error_already_set();
  int overflow = 0;
  const long long value = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
  if (overflow != 0 || value < low || value > high) {
    raise_value(name, "an integer in [" + std::to_string(low) + ", " + std::to_string(high) + "]",
                py::str(index).cast<std::string>());
  }
  return value;
}

struct Window {
  int64_t pool_h, pool_w, stride_h, stride_w, pad_top, pad_left;
};

Window window_args(py::handle pool_h, py::handle pool_w, py::handle stride_h,
                   py::handle stride_w, py::handle pad_top, py::handle pad_left) {
  Window w{};
  w.pool_h = require_int(pool_h, "pool_h", 1, kMaxWindow);
  w.pool_w = require_int(pool_w, "pool_w", 1, kMaxWindow);
  w.stride_h = require_int(stride_h, "stride_h", 1, kMaxWindow);
  w.stride_w = require_int(stride_w, "stride_w", 1, kMaxWindow);
  w.pad_top = require_int(pad_top, "pad_top", 0, w.pool_h - 1);
  w.pad_left = require_int(pad_left, "pad_left", 0, w.pool_w - 1);
  return w;
}

void require_pixels(const py::array& a, const char* name) {
  if (dim(a, 1) < 1 || dim(a, 2) < 1) {
    raise_value(name, "height and width >= 1", "shape " + shape_str(a));
  }
}

// A 4-D (N, H, W, C) input of `dtype` whose images have at least one pixel.
void require_images(const py::array& a, const char* name, DType dtype) {
  require_input(a, name, dtype);
  require_ndim(a, name, 4);
  require_pixels(a, name);
}

// The output's rows and columns: at least one, and each window must overlap the image, so at
// most (size - 1 + pad) / stride + 1 of them.
void require_output_grid(const py::array& out, const char* name, const py::array& in,
                         const Window& w) {
  const int64_t most_rows = (dim(in, 1) - 1 + w.pad_top) / w.stride_h + 1;
  const int64_t most_cols = (dim(in, 2) - 1 + w.pad_left) / w.stride_w + 1;
  if (dim(out, 1) < 1 || dim(out, 1) > most_rows || dim(out, 2) < 1 || dim(out, 2) > most_cols) {
    raise_value(name, "1 to " + std::to_string(most_rows) + " rows and 1 to " +
                          std::to_string(most_cols) + " columns (every window overlapping the " +
                          "input's " + std::to_string(dim(in, 1)) + "x" + std::to_string(dim(in, 2)) +
                          " image)",
                "shape " + shape_str(out));
  }
}

// A forward pass's x and y: x's dtype, y (N, OH, OW, C) an output whose windows fit x.
DType require_forward_pair(py::array& y, const py::array& x, const Window& w) {
  const DType dtype = float_dtype(x, "x");
  require_images(x, "x", dtype);
  require_output(y, "y", dtype);
  require_shape(y, "y", {dim(x, 0), -1, -1, dim(x, 3)});
  require_output_grid(y, "y", x, w);
  return dtype;
}

Pool2dShape pool_shape(const py::array& in, const py::array& out, const Window& w) {
  return {dim(in, 0), dim(in, 1), dim(in, 2), dim(in, 3), dim(out, 1), dim(out, 2),
          w.pool_h, w.pool_w, w.stride_h, w.stride_w, w.pad_top, w.pad_left};
}

void require_argmax_in_range(const py::array& argmax, int64_t pixels) {
  const int64_t* where = cptr<int64_t>(argmax);
  for (py::ssize_t i = 0; i < argmax.size(); ++i) {
    if (where[i] < 0 || where[i] >= pixels) {
      raise_value("argmax", "indices in [0, " + std::to_string(pixels) + ") (h * W + w)",
                  std::to_string(where[i]));
    }
  }
}

template <bool Scalar>
void max_forward(py::handle y_obj, py::handle argmax_obj, py::handle x_obj, py::handle pool_h,
                 py::handle pool_w, py::handle stride_h, py::handle stride_w, py::handle pad_top,
                 py::handle pad_left) {
  py::array y = as_array(y_obj, "y");
  py::array argmax = as_array(argmax_obj, "argmax");
  const py::array x = as_array(x_obj, "x");
  const Window w = window_args(pool_h, pool_w, stride_h, stride_w, pad_top, pad_left);
  const DType dtype = require_forward_pair(y, x, w);
  require_int64(argmax, "argmax");
  require_c_contiguous(argmax, "argmax");
  require_writable(argmax, "argmax");
  require_shape(argmax, "argmax", {dim(y, 0), dim(y, 1), dim(y, 2), dim(y, 3)});
  require_disjoint(y, "y", x, "x");
  require_disjoint(argmax, "argmax", x, "x");
  require_disjoint(argmax, "argmax", y, "y");
  if (y.size() == 0) return;  // no images or no channels (the loops would still run)
  const Pool2dShape s = pool_shape(x, y, w);
  with_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    MaybeReleaseGil gil(x.size() + y.size());
    (Scalar ? &max_pool2d_forward_scalar<T> : &max_pool2d_forward<T>)(
        ptr<T>(y), ptr<int64_t>(argmax), cptr<T>(x), s);
  });
}

template <bool Scalar>
void max_backward(py::handle dx_obj, py::handle dy_obj, py::handle argmax_obj) {
  py::array dx = as_array(dx_obj, "dx");
  const py::array dy = as_array(dy_obj, "dy");
  const py::array argmax = as_array(argmax_obj, "argmax");
  const DType dtype = float_dtype(dy, "dy");
  require_images(dy, "dy", dtype);
  require_int64(argmax, "argmax");
  require_c_contiguous(argmax, "argmax");
  require_shape(argmax, "argmax", {dim(dy, 0), dim(dy, 1), dim(dy, 2), dim(dy, 3)});
  require_output(dx, "dx", dtype);
  require_shape(dx, "dx", {dim(dy, 0), -1, -1, dim(dy, 3)});
  require_pixels(dx, "dx");
  require_disjoint(dx, "dx", dy, "dy");
  require_disjoint(dx, "dx", argmax, "argmax");
  require_argmax_in_range(argmax, dim(dx, 1) * dim(dx, 2));
  if (dx.size() == 0) return;  // then dy is empty too: no images or no channels
  // Only the sizes matter to the scatter: the windows are in argmax.
  const Pool2dShape s{dim(dx, 0), dim(dx, 1), dim(dx, 2), dim(dx, 3), dim(dy, 1), dim(dy, 2),
                      1, 1, 1, 1, 0, 0};
  with_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    MaybeReleaseGil gil(dx.size() + dy.size());
    (Scalar ? &max_pool2d_backward_scalar<T> : &max_pool2d_backward<T>)(
        ptr<T>(dx), cptr<T>(dy), cptr<int64_t>(argmax), s);
  });
}

template <bool Scalar>
void avg_forward(py::handle y_obj, py::handle x_obj, py::handle pool_h, py::handle pool_w,
                 py::handle stride_h, py::handle stride_w, py::handle pad_top,
                 py::handle pad_left) {
  py::array y = as_array(y_obj, "y");
  const py::array x = as_array(x_obj, "x");
  const Window w = window_args(pool_h, pool_w, stride_h, stride_w, pad_top, pad_left);
  const DType dtype = require_forward_pair(y, x, w);
  require_disjoint(y, "y", x, "x");
  if (y.size() == 0) return;
  const Pool2dShape s = pool_shape(x, y, w);
  with_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    MaybeReleaseGil gil(x.size() + y.size());
    (Scalar ? &avg_pool2d_forward_scalar<T> : &avg_pool2d_forward<T>)(ptr<T>(y), cptr<T>(x), s);
  });
}

template <bool Scalar>
void avg_backward(py::handle dx_obj, py::handle dy_obj, py::handle pool_h, py::handle pool_w,
                  py::handle stride_h, py::handle stride_w, py::handle pad_top,
                  py::handle pad_left) {
  py::array dx = as_array(dx_obj, "dx");
  const py::array dy = as_array(dy_obj, "dy");
  const Window w = window_args(pool_h, pool_w, stride_h, stride_w, pad_top, pad_left);
  const DType dtype = float_dtype(dy, "dy");
  require_input(dy, "dy", dtype);
  require_ndim(dy, "dy", 4);
  require_output(dx, "dx", dtype);
  require_ndim(dx, "dx", 4);
  require_pixels(dx, "dx");
  require_shape(dy, "dy", {dim(dx, 0), -1, -1, dim(dx, 3)});
  require_output_grid(dy, "dy", dx, w);
  require_disjoint(dx, "dx", dy, "dy");
  if (dx.size() == 0) return;
  const Pool2dShape s = pool_shape(dx, dy, w);
  with_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    MaybeReleaseGil gil(dx.size() + dy.size());
    (Scalar ? &avg_pool2d_backward_scalar<T> : &avg_pool2d_backward<T>)(ptr<T>(dx), cptr<T>(dy), s);
  });
}

constexpr const char* kMaxForwardDoc =
    "Max pooling, NHWC. y and argmax (N, OH, OW, C) are overwritten: the maximum of each window "
    "of x (N, H, W, C) (rows oh*stride_h - pad_top + [0, pool_h), columns likewise, clipped to "
    "the image: padding is never a value) and its flat index h*W + w in the image (the first "
    "maximum; NaN wins). argmax is int64.";
constexpr const char* kMaxBackwardDoc =
    "dx (N, H, W, C) = 0, then dx[n, argmax, c] += dy for every output of max_pool2d_forward "
    "(dy and argmax (N, OH, OW, C)).";
constexpr const char* kAvgForwardDoc =
    "Average pooling, NHWC: y (N, OH, OW, C) = the mean of each window's elements inside x "
    "(N, H, W, C); the padding is not counted. Overwrites y.";
constexpr const char* kAvgBackwardDoc =
    "Gradient of avg_pool2d_forward: dx (N, H, W, C) = 0, then each window's in-bounds "
    "elements get dy / (their count). Overwrites dx.";

template <bool Scalar>
void define(py::module_& m) {
  const std::string prefix = Scalar ? "_" : "";
  const std::string suffix = Scalar ? "_scalar" : "";
  const auto name = [&](const char* base) { return prefix + base + suffix; };
  const char* scalar_doc = "The same on the plain scalar kernels (for tests).";
  m.def(name("max_pool2d_forward").c_str(), &max_forward<Scalar>, py::arg("y"), py::arg("argmax"),
        py::arg("x"), py::arg("pool_h"), py::arg("pool_w"), py::arg("stride_h"),
        py::arg("stride_w"), py::arg("pad_top"), py::arg("pad_left"),
        Scalar ? scalar_doc : kMaxForwardDoc);
  m.def(name("max_pool2d_backward").c_str(), &max_backward<Scalar>, py::arg("dx"), py::arg("dy"),
        py::arg("argmax"), Scalar ? scalar_doc : kMaxBackwardDoc);
  m.def(name("avg_pool2d_forward").c_str(), &avg_forward<Scalar>, py::arg("y"), py::arg("x"),
        py::arg("pool_h"), py::arg("pool_w"), py::arg("stride_h"), py::arg("stride_w"),
        py::arg("pad_top"), py::arg("pad_left"), Scalar ? scalar_doc : kAvgForwardDoc);
  m.def(name("avg_pool2d_backward").c_str(), &avg_backward<Scalar>, py::arg("dx"), py::arg("dy"),
        py::arg("pool_h"), py::arg("pool_w"), py::arg("stride_h"), py::arg("stride_w"),
        py::arg("pad_top"), py::arg("pad_left"), Scalar ? scalar_doc : kAvgBackwardDoc);
}

}  // namespace

void register_pooling(py::module_& m) {
  define<false>(m);
  define<true>(m);
}

}  // namespace nerve::bind
