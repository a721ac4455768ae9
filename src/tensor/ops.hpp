// Small dense verbs over [rows, cols] row-major buffers, deterministic for any thread count
// (every output element is reduced by one thread in a fixed order).
#pragma once

#include <cstddef>

#include "tensor/parallel.hpp"

namespace homeostat {

// y[r, c] += bias[c]
template <typename Real>
void add_row_vector(Real* y, const Real* bias, std::size_t rows, std::size_t cols) {
#pragma omp parallel for schedule(static) if (rows * cols >= kMinParallelWork)
  for (std::size_t r = 0; r < rows; ++r) {
    Real* row = y + r * cols;
    for (std::size_t c = 0; c < cols; ++c) row[c] += bias[c];
  }
}

// out[c] += sum_r x[r, c]; blocked over columns so each thread owns whole columns.
template <typename Real>
void accumulate_column_sums(const Real* x, std::size_t rows, std::size_t cols, Real* out) {
  constexpr std::size_t kColumnBlock = 64;
  const std::size_t blocks = (cols + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for schedule(static) if (rows * cols >= kMinParallelWork)
  for (std::size_t block = 0; block < blocks; ++block) {
    const std::size_t begin = block * kColumnBlock;
    const std::size_t end = begin + kColumnBlock < cols ? begin + kColumnBlock : cols;
    Real sums[kColumnBlock] = {};
    for (std::size_t r = 0; r < rows; ++r) {
      const Real* row = x + r * cols;
      for (std::size_t c = begin; c < end; ++c) sums[c - begin] += row[c];
    }
    for (std::size_t c = begin; c < end; ++c) out[c] += sums[c - begin];
  }
}

}  // namespace homeostat
