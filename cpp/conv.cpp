// Convolution (contracts in conv.h): image patches gathered tile by tile into the A operand of
// the packed GEMM (matmul.h), the bias and relu finished on the register tile.
//
// Why a gathered tile and not patches packed straight into micro-panels: for batch-sized M the
// GEMM already reads A in place from L2 (no packing of A at all), so a tile of up to 120 patch
// rows (~140 KiB for the MNIST convnet's second layer) *is* the micro-kernel's A operand; the
// gather is the only copy, as it would be when packing. The tile never leaves L2, and nothing
// the size of the full im2col matrix (N*OH*OW x KH*KW*C) is ever allocated.
#include "conv.h"

#include <algorithm>
#include <vector>

#include "matmul.h"
#include "parallel.h"

namespace nerve {

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Fixed partition of the weight-gradient sum: per-group partials added in group order.
constexpr int64_t kReductionGroups = 16;
// Patch block budget: with the B panel and C tile it stays within a 512 KiB L2.
constexpr int64_t kPatchBytes = 192 * 1024;

struct Layout {
  int64_t cg, fg, kg;  // channels, filters and patch length (KH*KW*cg) per group
  int64_t pixels;      // OH * OW
  int64_t rows;        // N * OH * OW: output pixels, the GEMM's M
  bool pointwise;      // 1x1, stride 1, no padding, one group: patch rows are X's rows
  int64_t tile;        // output pixels per tile of the forward and data-gradient products
  int64_t sum_tile;    // output pixels per tile of the weight gradient (its reduction depth)
};

Layout layout_of(const ConvShape& s, int64_t item) {
  Layout l;
  l.cg = s.C / s.G;
  l.fg = s.F / s.G;
  l.kg = s.KH * s.KW * l.cg;
  l.pixels = s.OH * s.OW;
  l.rows = s.N * l.pixels;
  l.pointwise = s.KH == 1 && s.KW == 1 && s.SH == 1 && s.SW == 1 && s.PT == 0 && s.PL == 0 &&
                s.G == 1 && s.OH == s.H && s.OW == s.W;
  // A multiple of the 6-row micro-tile, so no thin edge tile; 120 = 20 micro-tiles.
  const int64_t fit = kPatchBytes / std::max<int64_t>(l.kg * item, 1) / 6 * 6;
  l.tile = std::clamp<int64_t>(fit, 24, 120);
  // The weight gradient sums over a tile: deeper tiles amortise each product's C traffic,
  // which dominates for short patches (a first layer's 3x3x1).
  l.sum_tile = std::clamp<int64_t>(fit, 24, 2048);
  return l;
}

// A buffer kept by the calling thread per slot, grown here (outside any parallel region, so
// an allocation failure is an ordinary exception), reused by later calls.
template <class T>
T* cached_buffer(int slot, int64_t count) {
  thread_local std::vector<T> buffers[2];
  std::vector<T>& buffer = buffers[slot];
  if (buffer.size() < static_cast<size_t>(count)) buffer.resize(static_cast<size_t>(count));
  return buffer.data();
}

int64_t serial_below(int64_t flops) { return flops >= kConvSerialBelow ? 0 : INT64_MAX; }

// Calls visit(patch_row_segment, input_segment, length) for each run of one output pixel's
// taps in group g: consecutive taps whose inputs are contiguous (one group, dilation 1, all
// inside the row) form one run; input_segment is null where taps fall in the padding.
// Patch rows are tap-major, channels contiguous, matching the kernel's (KH, KW, C/G, F) rows.
template <class T, class Visit>
void for_each_tap_run(const ConvShape& s, const Layout& l, T* x, int64_t m, int64_t g,
                      Visit visit) {
  const int64_t n = m / l.pixels, r = m % l.pixels, oh = r / s.OW, ow = r % s.OW;
  const int64_t iw0 = ow * s.SW - s.PL;
  const bool whole_rows = s.G == 1 && s.DW == 1 && iw0 >= 0 && iw0 + s.KW <= s.W;
  for (int64_t i = 0, offset = 0; i < s.KH; ++i) {
    const int64_t ih = oh * s.SH - s.PT + i * s.DH;
    T* row = ih >= 0 && ih < s.H ? x + ((n * s.H + ih) * s.W) * s.C + g * l.cg : nullptr;
    if (row && whole_rows) {
      visit(offset, row + iw0 * s.C, s.KW * s.C);
      offset += s.KW * s.C;
      continue;
    }
    for (int64_t j = 0; j < s.KW; ++j, offset += l.cg) {
      const int64_t iw = iw0 + j * s.DW;
      visit(offset, row && iw >= 0 && iw < s.W ? row + iw * s.C : nullptr, l.cg);
    }
  }
}

// Patch rows of output pixels [m0, m0 + rows) of group g into dst (rows x kg); zeros for padding.
template <class T>
void gather_patches(T* dst, const T* x, const ConvShape& s, const Layout& l, int64_t m0,
                    int64_t rows, int64_t g) {
  for (int64_t m = m0; m < m0 + rows; ++m) {
    T* patch = dst + (m - m0) * l.kg;
    for_each_tap_run(s, l, x, m, g, [&](int64_t offset, const T* src, int64_t n) {
      T* out = patch + offset;
      if (src) {
        for (int64_t c = 0; c < n; ++c) out[c] = src[c];
      } else {
        for (int64_t c = 0; c < n; ++c) out[c] = T(0);
      }
    });
  }
}

// The transpose of gather_patches: adds patch rows back onto the input pixels they came from.
template <class T>
void scatter_patches(T* dx, const T* src, const ConvShape& s, const Layout& l, int64_t m0,
                     int64_t rows, int64_t g) {
  for (int64_t m = m0; m < m0 + rows; ++m) {
    const T* patch = src + (m - m0) * l.kg;
    for_each_tap_run(s, l, dx, m, g, [&](int64_t offset, T* out, int64_t n) {
      if (!out) return;
      const T* in = patch + offset;
      for (int64_t c = 0; c < n; ++c) out[c] += in[c];
    });
  }
}

// dZ = act'(Z) dY, then dWt (+)= sum over tiles of patches^T dZ, db (+)= column sums of dZ.
// Each tile's dZ is made just before its product reads it, while it is in cache. Tiles fall
// into fixed groups; each group sums its tiles into its own partial, and the partials are
// added in order.
// The activation's derivative, dZ = act'(Z) dY, is applied tile by tile just before the
// tile's product reads dZ, while it is in cache.
template <class T>
void weight_gradient(T* dw, T* db, T* dz, const T* dy, const T* z, const T* y, Activation act,
                     T alpha, const T* x, const ConvShape& s, const Layout& l, bool accumulate) {
  const int64_t tiles = ceil_div(l.rows, l.sum_tile), groups = std::min(tiles, kReductionGroups);
  const int64_t weights = l.kg * s.F, stride = weights + s.F;
  T* partials = cached_buffer<T>(1, groups * stride);
  T* patches = cached_buffer<T>(0, l.pointwise ? 0 : get_num_threads() * l.sum_tile * l.kg);
  parallel_for_rethrow(groups, 1, serial_below(2 * l.rows * s.F * l.kg), [&](int64_t r0, int64_t r1) {
    T* own = patches + thread_index() * l.sum_tile * l.kg;
    for (int64_t r = r0; r < r1; ++r) {
      T* pw = partials + r * stride;
      T* pb = pw + weights;
      std::fill(pb, pb + s.F, T(0));
      for (int64_t t = r * tiles / groups; t < (r + 1) * tiles / groups; ++t) {
        const int64_t m0 = t * l.sum_tile, rows = std::min(l.sum_tile, l.rows - m0);
        const T beta = t == r * tiles / groups ? T(0) : T(1);
        const int64_t at = m0 * s.F;
        activation_backward(act, dz + at, dy + at, z + at, y + at, rows, s.F, alpha);
        for (int64_t g = 0; g < s.G; ++g) {
          if (!l.pointwise) gather_patches(own, x, s, l, m0, rows, g);
          const T* a = l.pointwise ? x + m0 * s.C : own;
          gemm_serial(true, false, l.kg, l.fg, rows, a, l.pointwise ? s.C : l.kg,
                      dz + m0 * s.F + g * l.fg, s.F, beta, pw + g * l.fg, s.F);
        }
        for (int64_t m = m0; m < m0 + rows; ++m)
          for (int64_t f = 0; f < s.F; ++f) pb[f] += dz[m * s.F + f];
      }
    }
  });
  const auto reduce = [&](T* out, int64_t offset, int64_t count) {
    parallel_for(count, 4096, serial_below(groups * count * 64), [&](int64_t k0, int64_t k1) {
      for (int64_t k = k0; k < k1; ++k) {
        T sum = partials[offset + k];
        for (int64_t r = 1; r < groups; ++r) sum += partials[r * stride + offset + k];
        out[k] = accumulate ? out[k] + sum : sum;
      }
    });
  };
  reduce(dw, 0, weights);
  if (db) reduce(db, weights, s.F);
}

// dX = the patches' gradient dZ Wt^T, scattered back; one image per task, so every input
// pixel sums its contributions in the same order whatever the thread count.
template <class T>
void data_gradient(T* dx, const T* dz, const T* w, const ConvShape& s, const Layout& l) {
  T* scratch = cached_buffer<T>(0, l.pointwise ? 0 : get_num_threads() * l.tile * l.kg);
  const int64_t image = s.H * s.W * s.C;
  parallel_for_rethrow(s.N, 1, serial_below(2 * l.rows * s.F * l.kg), [&](int64_t n0, int64_t n1) {
    T* own = scratch + thread_index() * l.tile * l.kg;
    for (int64_t n = n0; n < n1; ++n) {
      if (!l.pointwise) std::fill(dx + n * image, dx + (n + 1) * image, T(0));
      for (int64_t p0 = 0; p0 < l.pixels; p0 += l.tile) {
        const int64_t rows = std::min(l.tile, l.pixels - p0), m0 = n * l.pixels + p0;
        for (int64_t g = 0; g < s.G; ++g) {
          if (l.pointwise) {
            gemm_serial(false, true, rows, s.C, s.F, dz + m0 * s.F, s.F, w, s.F, T(0),
                        dx + m0 * s.C, s.C);
            continue;
          }
          gemm_serial(false, true, rows, l.kg, l.fg, dz + m0 * s.F + g * l.fg, s.F, w + g * l.fg,
                      s.F, T(0), own, l.kg);
          scatter_patches(dx, own, s, l, m0, rows, g);
        }
      }
    }
  });
}

}  // namespace

// Tiles of output pixels over threads; per tile and group, gather the patches and run the
// serial GEMM with the bias (and relu, when Z is not kept) on the register tile; any other
// activation runs on the finished tile while it is in cache (softmax over its full rows).
template <class T>
void conv2d_forward(T* y, T* z, const T* x, const T* w, const T* b, const ConvShape& s,
                    Activation act, T alpha) {
  const Layout l = layout_of(s, sizeof(T));
  T* pre = z && z != y ? z : y;
  const bool relu_in_kernel = act == Activation::relu && pre == y;
  const bool finish = !(pre == y && (act == Activation::linear || relu_in_kernel));
  const int64_t tiles = ceil_div(l.rows, l.tile);
  T* scratch = cached_buffer<T>(0, l.pointwise ? 0 : get_num_threads() * l.tile * l.kg);
  parallel_for_rethrow(tiles, 1, serial_below(2 * l.rows * s.F * l.kg), [&](int64_t t0, int64_t t1) {
    T* own = scratch + thread_index() * l.tile * l.kg;
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t m0 = t * l.tile, rows = std::min(l.tile, l.rows - m0);
      for (int64_t g = 0; g < s.G; ++g) {
        if (!l.pointwise) gather_patches(own, x, s, l, m0, rows, g);
        gemm_serial(false, false, rows, l.fg, l.kg, l.pointwise ? x + m0 * s.C : own,
                    l.pointwise ? s.C : l.kg, w + g * l.fg, s.F, T(0), pre + m0 * s.F + g * l.fg,
                    s.F, b ? b + g * l.fg : nullptr, relu_in_kernel);
      }
      if (finish) activation_forward(act, y + m0 * s.F, pre + m0 * s.F, rows, s.F, alpha);
    }
  });
}

template <class T>
void conv2d_backward(T* dx, T* dw, T* db, T* dz, const T* dy, const T* x, const T* w,
                     const T* z, const T* y, const ConvShape& s, Activation act, T alpha,
                     bool accumulate) {
  const Layout l = layout_of(s, sizeof(T));
  weight_gradient(dw, db, dz, dy, z, y, act, alpha, x, s, l, accumulate);
  if (dx) data_gradient(dx, dz, w, s, l);
}

// ---- Scalar twins: the convolution sums written out ----

template <class T>
void conv2d_forward_scalar(T* y, T* z, const T* x, const T* w, const T* b, const ConvShape& s,
                           Activation act, T alpha) {
  const int64_t cg = s.C / s.G, fg = s.F / s.G;
  T* pre = z && z != y ? z : y;
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t oh = 0; oh < s.OH; ++oh)
      for (int64_t ow = 0; ow < s.OW; ++ow)
        for (int64_t f = 0; f < s.F; ++f) {
          const int64_t g = f / fg;
          T sum = 0;
          for (int64_t i = 0; i < s.KH; ++i)
            for (int64_t j = 0; j < s.KW; ++j) {
              const int64_t ih = oh * s.SH - s.PT + i * s.DH, iw = ow * s.SW - s.PL + j * s.DW;
              if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
              for (int64_t c = 0; c < cg; ++c)
                sum += x[((n * s.H + ih) * s.W + iw) * s.C + g * cg + c] *
                       w[((i * s.KW + j) * cg + c) * s.F + f];
            }
          pre[((n * s.OH + oh) * s.OW + ow) * s.F + f] = sum + (b ? b[f] : T(0));
        }
  activation_forward_scalar(act, y, pre, s.N * s.OH * s.OW, s.F, alpha);
}

template <class T>
void conv2d_backward_scalar(T* dx, T* dw, T* db, T* dz, const T* dy, const T* x, const T* w,
                            const T* z, const T* y, const ConvShape& s, Activation act, T alpha,
                            bool accumulate) {
  const int64_t cg = s.C / s.G, fg = s.F / s.G, rows = s.N * s.OH * s.OW;
  activation_backward_scalar(act, dz, dy, z, y, rows, s.F, alpha);
  if (!accumulate) {
    std::fill(dw, dw + s.KH * s.KW * cg * s.F, T(0));
    if (db) std::fill(db, db + s.F, T(0));
  }
  if (dx) std::fill(dx, dx + s.N * s.H * s.W * s.C, T(0));
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t oh = 0; oh < s.OH; ++oh)
      for (int64_t ow = 0; ow < s.OW; ++ow)
        for (int64_t f = 0; f < s.F; ++f) {
          const T g_out = dz[((n * s.OH + oh) * s.OW + ow) * s.F + f];
          const int64_t g = f / fg;
          if (db) db[f] += g_out;
          for (int64_t i = 0; i < s.KH; ++i)
            for (int64_t j = 0; j < s.KW; ++j) {
              const int64_t ih = oh * s.SH - s.PT + i * s.DH, iw = ow * s.SW - s.PL + j * s.DW;
              if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
              for (int64_t c = 0; c < cg; ++c) {
                const int64_t xi = ((n * s.H + ih) * s.W + iw) * s.C + g * cg + c;
                const int64_t wi = ((i * s.KW + j) * cg + c) * s.F + f;
                dw[wi] += x[xi] * g_out;
                if (dx) dx[xi] += w[wi] * g_out;
              }
            }
        }
}

#define NERVE_INSTANTIATE_CONV(T)                                                                 \
  template void conv2d_forward<T>(T*, T*, const T*, const T*, const T*, const ConvShape&,         \
                                  Activation, T);                                                 \
  template void conv2d_backward<T>(T*, T*, T*, T*, const T*, const T*, const T*, const T*,        \
                                   const T*, const ConvShape&, Activation, T, bool);              \
  template void conv2d_forward_scalar<T>(T*, T*, const T*, const T*, const T*, const ConvShape&,  \
                                         Activation, T);                                          \
  template void conv2d_backward_scalar<T>(T*, T*, T*, T*, const T*, const T*, const T*,           \
                                          const T*, const T*, const ConvShape&, Activation, T,    \
                                          bool);
NERVE_INSTANTIATE_CONV(float)
NERVE_INSTANTIATE_CONV(double)
#undef NERVE_INSTANTIATE_CONV

}  // namespace nerve
