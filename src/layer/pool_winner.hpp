// The max-pooling winner search, one definition for every max-pooling path (Pool2dLayer,
// ConvPoolLayer's fused pooling, the direct convolution's 2x2 pooling in registers), so that they
// all pick the same winner and stay bit-identical to each other: a running maximum, replaced only
// by a strictly larger value (ties keep the first maximum in row-major window order), by selects
// rather than branches (the comparisons on random data would mispredict). Inline: it is the body
// of the pooling loops.
#pragma once

#include <cstddef>
#include <cstdint>

namespace homeostat {

// One step of the search: `value` (entry `index` of the window) replaces the running maximum
// `best` (entry `best_index`) when strictly larger. Value may be a scalar or a GCC vector (lane by
// lane, Index then being the matching integer vector).
template <typename Value, typename Index>
inline void keep_larger(Value& best, Index& best_index, const Value& value, const Index& index) {
  const auto larger = value > best;
  best = larger ? value : best;
  best_index = larger ? index : best_index;
}

template <typename Real>
struct PoolWinner {
  Real value;
  std::uint8_t window;  // u * size + v: the winner's place in its window (size <= 16)
};

// Adds nothing: the window's values as they are.
struct AsStored {
  template <typename Real>
  Real operator()(Real value) const {
    return value;
  }
};

// The maximum of the size x size window at `corner` (entry (u, v) at corner[u * row_stride +
// v * column_stride], passed through `adjust`, e.g. adding the convolution's bias) and its place.
template <typename Real, typename Adjust = AsStored>
inline PoolWinner<Real> max_pool_winner(const Real* corner, std::size_t row_stride,
                                        std::size_t column_stride, std::size_t size,
                                        const Adjust& adjust = {}) {
  Real best = adjust(corner[0]);
  std::size_t best_window = 0;
  for (std::size_t u = 0; u < size; ++u) {
    const Real* row = corner + u * row_stride;
    for (std::size_t v = 0; v < size; ++v) {
      keep_larger(best, best_window, adjust(row[v * column_stride]), u * size + v);
    }
  }
  return {best, static_cast<std::uint8_t>(best_window)};
}

}  // namespace homeostat
