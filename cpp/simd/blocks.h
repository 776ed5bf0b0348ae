// A loop over [0, n) in blocks of L::W lanes, the last one partial under a mask, so a vector
// body is written once for whole blocks and the tail. The tail is one masked load per input
// and one masked store per output: it never touches memory past n, and every element runs
// the same instructions wherever it falls. Include after the ISA's lane header, with cpu.h
// (NERVE_INLINE) included before the target pragma.
#pragma once

#ifndef NERVE_INLINE
#error "include cpu.h before the target pragma: blocks.h needs NERVE_INLINE"
#endif

namespace nerve::simd {
namespace {

// Lanes [at, at + W) of the arrays a body reads and writes. kWhole is a compile-time
// constant: whole blocks use plain loads and stores (masked stores are slow on Zen).
template <class L, bool kWhole>
struct Block {
  using T = typename L::T;
  using V = typename L::V;
  int64_t at;
  typename L::Mask mask;  // the lanes inside [0, n)

  NERVE_INLINE V load(const T* p) const {
    if constexpr (kWhole) return L::load(p + at);
    else return L::load(p + at, mask);  // zero outside
  }
  NERVE_INLINE void store(T* p, V v) const {
    if constexpr (kWhole) L::store(p + at, v);
    else L::store(p + at, mask, v);
  }
  // v inside [0, n), `outside` on the lanes past n.
  NERVE_INLINE V where(V v, V outside) const {
    if constexpr (kWhole) return v;
    else return L::select(mask, v, outside);
  }
  NERVE_INLINE V zero_outside(V v) const {
    if constexpr (kWhole) return v;
    else return L::keep(mask, v);
  }
};

// body(block) for every whole block of [0, n) in order, then for the partial one if any.
template <class L, class Body>
NERVE_INLINE void for_blocks(int64_t n, Body&& body) {
  int64_t j = 0;
  for (; j + L::W <= n; j += L::W) body(Block<L, true>{j, L::first(L::W)});
  if (j < n) body(Block<L, false>{j, L::first(n - j)});
}

}  // namespace
}  // namespace nerve::simd
