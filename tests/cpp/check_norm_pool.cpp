// Batch and layer normalization (forward, backward, inference) and 2-D max/average pooling
// (forward, backward) against their scalar twins, on odd channel counts and one size above
// each threading threshold. On aarch64 these run their baseline table, compiled for NEON.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "check.h"
#include "normalization.h"
#include "pooling.h"

namespace kernel_check {
namespace {

struct NormShape {
  int64_t outer, C, inner;
};
// The last two are above kNormSerialBelow (32768 elements), channels_last and channels_first.
constexpr NormShape kNormShapes[] = {{1, 1, 1}, {3, 5, 1}, {2, 3, 7}, {5, 17, 3}, {301, 131, 1}, {4, 9, 1001}};

std::string norm_name(const NormShape& s) {
  return std::to_string(s.outer) + "x" + std::to_string(s.C) + "x" + std::to_string(s.inner);
}

template <class T>
void check_batch_norm(const NormShape& s, uint64_t seed) {
  using namespace nerve;
  const int64_t n = s.outer * s.C * s.inner;
  const T eps = T(1e-3);
  const auto x = uniform<T>(n, -2, 3, seed), dy = uniform<T>(n, -1, 1, seed + 1);
  const auto gamma = uniform<T>(s.C, 0.5, 1.5, seed + 2), beta = uniform<T>(s.C, -1, 1, seed + 3);
  std::vector<T> y(n), y_want(n), mean(s.C), mean_want(s.C), var(s.C), var_want(s.C);
  batch_norm_forward(y.data(), mean.data(), var.data(), x.data(), gamma.data(), beta.data(), s.outer, s.C, s.inner, eps);
  batch_norm_forward_scalar(y_want.data(), mean_want.data(), var_want.data(), x.data(), gamma.data(), beta.data(),
                            s.outer, s.C, s.inner, eps);
  const std::string what = std::string("batch_norm ") + dtype_name<T>() + " " + norm_name(s);
  expect_close(what + " y", y, y_want);
  expect_close(what + " mean", mean, mean_want);
  expect_close(what + " variance", var, var_want);
  std::vector<T> dx(n), dx_want(n), dg(s.C), dg_want(s.C), db(s.C), db_want(s.C);
  batch_norm_backward(dx.data(), dg.data(), db.data(), dy.data(), x.data(), mean_want.data(), var_want.data(),
                      gamma.data(), s.outer, s.C, s.inner, eps, false);
  batch_norm_backward_scalar(dx_want.data(), dg_want.data(), db_want.data(), dy.data(), x.data(), mean_want.data(),
                             var_want.data(), gamma.data(), s.outer, s.C, s.inner, eps, false);
  expect_close(what + " dx", dx, dx_want);
  expect_close(what + " dgamma", dg, dg_want);
  expect_close(what + " dbeta", db, db_want);
  batch_norm_inference(y.data(), x.data(), mean_want.data(), var_want.data(), gamma.data(), beta.data(), s.outer,
                       s.C, s.inner, eps);
  batch_norm_inference_scalar(y_want.data(), x.data(), mean_want.data(), var_want.data(), gamma.data(), beta.data(),
                              s.outer, s.C, s.inner, eps);
  expect_close(what + " inference y", y, y_want);
  batch_norm_inference_backward(dx.data(), dg.data(), db.data(), dy.data(), x.data(), mean_want.data(),
                                var_want.data(), gamma.data(), s.outer, s.C, s.inner, eps, true);
  batch_norm_inference_backward_scalar(dx_want.data(), dg_want.data(), db_want.data(), dy.data(), x.data(),
                                       mean_want.data(), var_want.data(), gamma.data(), s.outer, s.C, s.inner,
                                       eps, true);
  expect_close(what + " inference dx", dx, dx_want);
  expect_close(what + " inference dgamma (accumulated)", dg, dg_want);
  expect_close(what + " inference dbeta (accumulated)", db, db_want);
}

// Layer norm over (outer * C) rows of `inner` features.
template <class T>
void check_layer_norm(const NormShape& s, uint64_t seed) {
  using namespace nerve;
  const int64_t rows = s.outer * s.C, features = s.inner, n = rows * features;
  const T eps = T(1e-3);
  const auto x = uniform<T>(n, -2, 3, seed), dy = uniform<T>(n, -1, 1, seed + 1);
  const auto gamma = uniform<T>(features, 0.5, 1.5, seed + 2), beta = uniform<T>(features, -1, 1, seed + 3);
  std::vector<T> y(n), y_want(n), mean(rows), mean_want(rows), inv(rows), inv_want(rows);
  layer_norm_forward(y.data(), mean.data(), inv.data(), x.data(), gamma.data(), beta.data(), rows, features, eps);
  layer_norm_forward_scalar(y_want.data(), mean_want.data(), inv_want.data(), x.data(), gamma.data(), beta.data(),
                            rows, features, eps);
  const std::string what = std::string("layer_norm ") + dtype_name<T>() + " " + std::to_string(rows) + "x" +
                           std::to_string(features);
  expect_close(what + " y", y, y_want);
  expect_close(what + " mean", mean, mean_want);
  expect_close(what + " inv_std", inv, inv_want);
  std::vector<T> dx(n), dx_want(n), dg(features), dg_want(features), db(features), db_want(features);
  layer_norm_backward(dx.data(), dg.data(), db.data(), dy.data(), x.data(), mean_want.data(), inv_want.data(),
                      gamma.data(), rows, features, false);
  layer_norm_backward_scalar(dx_want.data(), dg_want.data(), db_want.data(), dy.data(), x.data(), mean_want.data(),
                             inv_want.data(), gamma.data(), rows, features, false);
  expect_close(what + " dx", dx, dx_want);
  expect_close(what + " dgamma", dg, dg_want);
  expect_close(what + " dbeta", db, db_want);
}

// A pooling geometry: "same" (pad > 0 allowed) or "valid", as the Keras layers make them.
nerve::Pool2dShape pool_shape(int64_t N, int64_t H, int64_t W, int64_t C, int64_t ph, int64_t pw, int64_t sh,
                              int64_t sw, bool same) {
  const auto out = [same](int64_t size, int64_t pool, int64_t stride) {
    return same ? (size + stride - 1) / stride : (size - pool) / stride + 1;
  };
  const auto pad = [same](int64_t size, int64_t pool, int64_t stride, int64_t o) {
    return same ? std::max<int64_t>((o - 1) * stride + pool - size, 0) / 2 : 0;
  };
  const int64_t OH = out(H, ph, sh), OW = out(W, pw, sw);
  return {N, H, W, C, OH, OW, ph, pw, sh, sw, pad(H, ph, sh, OH), pad(W, pw, sw, OW)};
}

// The last is above kPoolSerialBelow (32768 element visits).
const nerve::Pool2dShape kPoolShapes[] = {
    pool_shape(1, 1, 1, 1, 1, 1, 1, 1, false), pool_shape(2, 5, 7, 3, 2, 2, 2, 2, false),
    pool_shape(1, 6, 6, 5, 3, 3, 1, 1, true),  pool_shape(2, 9, 8, 17, 3, 2, 2, 3, true),
    pool_shape(4, 32, 32, 16, 2, 2, 2, 2, false)};

template <class T>
void check_pooling(const nerve::Pool2dShape& s, uint64_t seed) {
  using namespace nerve;
  const int64_t in = s.batch * s.height * s.width * s.channels;
  const int64_t out = s.batch * s.out_height * s.out_width * s.channels;
  const auto x = uniform<T>(in, -1, 1, seed), dy = uniform<T>(out, -1, 1, seed + 1);
  const std::string what = std::string("pool ") + dtype_name<T>() + " " + std::to_string(s.height) + "x" +
                           std::to_string(s.width) + "x" + std::to_string(s.channels) + " window " +
                           std::to_string(s.pool_h) + "x" + std::to_string(s.pool_w);
  std::vector<T> y(out), y_want(out), dx(in), dx_want(in);
  std::vector<int64_t> argmax(out), argmax_want(out);
  max_pool2d_forward(y.data(), argmax.data(), x.data(), s);
  max_pool2d_forward_scalar(y_want.data(), argmax_want.data(), x.data(), s);
  expect_close(what + " max y", y, y_want, 0, 0);
  expect_close(what + " argmax", std::vector<double>(argmax.begin(), argmax.end()),
               std::vector<double>(argmax_want.begin(), argmax_want.end()), 0, 0);
  max_pool2d_backward(dx.data(), dy.data(), argmax_want.data(), s);
  max_pool2d_backward_scalar(dx_want.data(), dy.data(), argmax_want.data(), s);
  expect_close(what + " max dx", dx, dx_want);
  avg_pool2d_forward(y.data(), x.data(), s);
  avg_pool2d_forward_scalar(y_want.data(), x.data(), s);
  expect_close(what + " avg y", y, y_want);
  avg_pool2d_backward(dx.data(), dy.data(), s);
  avg_pool2d_backward_scalar(dx_want.data(), dy.data(), s);
  expect_close(what + " avg dx", dx, dx_want);
}

template <class T>
void check_dtype() {
  uint64_t seed = 2000;
  for (const NormShape& s : kNormShapes) {
    check_batch_norm<T>(s, seed += 5);
    check_layer_norm<T>(s, seed += 5);
  }
  for (const auto& s : kPoolShapes) check_pooling<T>(s, seed += 5);
}

}  // namespace

void check_normalization_pooling() {
  check_dtype<float>();
  check_dtype<double>();
}

}  // namespace kernel_check
