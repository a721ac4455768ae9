// Event-driven products with binary spike matrices (see spike_rows.hpp). Both kernels work on
// blocks of output columns small enough that one block of the weight (or weight-gradient) rows
// stays in L2 while every row of the batch streams past it, and accumulate a row's block in a
// fixed-size local array the compiler keeps in registers.
#include "tensor/spike_rows.hpp"

#include <algorithm>
#include <cstdint>

#include "tensor/parallel.hpp"

namespace homeostat {
namespace {

constexpr std::size_t kColumnBlock = 64;

std::int64_t signed_size(std::size_t n) { return static_cast<std::int64_t>(n); }

// out[0, W) = sum of rows[i][0, W) for the listed i; W a compile-time width, so the
// accumulator lives in vector registers.
template <typename Real, std::size_t W>
void sum_rows(const std::uint32_t* first, const std::uint32_t* last, const Real* rows,
              std::size_t stride, Real* __restrict out) {
  Real sum[W] = {};
  for (; first != last; ++first) {
    const Real* __restrict w = rows + std::size_t{*first} * stride;
    // Vectorize along the columns: left alone, GCC vectorizes across the index list instead,
    // with gathers, at a fifth of the speed.
#pragma omp simd
    for (std::size_t j = 0; j < W; ++j) sum[j] += w[j];
  }
  std::copy(sum, sum + W, out);
}

template <typename Real>
void sum_rows_tail(const std::uint32_t* first, const std::uint32_t* last, const Real* rows,
                   std::size_t stride, std::size_t width, Real* __restrict out) {
  std::fill(out, out + width, Real{0});
  for (; first != last; ++first) {
    const Real* __restrict w = rows + std::size_t{*first} * stride;
    for (std::size_t j = 0; j < width; ++j) out[j] += w[j];
  }
}

}  // namespace

double SpikeRows::density() const {
  const double cells = static_cast<double>(rows) * static_cast<double>(features);
  return cells > 0 ? static_cast<double>(indices.size()) / cells : 0.0;
}

template <typename Real>
bool collect_spike_rows(const Real* x, std::size_t rows, std::size_t features, double max_density,
                        SpikeRows& spikes) {
  spikes.rows = rows;
  spikes.features = features;
  spikes.offsets.resize(rows + 1);
  spikes.indices.clear();
  const auto budget = static_cast<std::size_t>(max_density * static_cast<double>(rows) *
                                               static_cast<double>(features));
  spikes.indices.reserve(budget + 1);
  spikes.offsets[0] = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    const Real* row = x + r * features;
    for (std::size_t i = 0; i < features; ++i) {
      const Real value = row[i];
      if (value == Real{0}) continue;
      if (value != Real{1} || spikes.indices.size() >= budget) return false;
      spikes.indices.push_back(static_cast<std::uint32_t>(i));
    }
    spikes.offsets[r + 1] = static_cast<std::uint32_t>(spikes.indices.size());
  }
  return true;
}

template <typename Real>
void spike_rows_times(const SpikeRows& spikes, const Real* weight_t, std::size_t units, Real* out) {
  const std::size_t work = spikes.indices.size() * units;
  for (std::size_t begin = 0; begin < units; begin += kColumnBlock) {
    const std::size_t width = std::min(kColumnBlock, units - begin);
#pragma omp parallel for schedule(static) if (work >= kMinParallelWork)
    for (std::int64_t r = 0; r < signed_size(spikes.rows); ++r) {
      const auto row = static_cast<std::size_t>(r);
      const std::uint32_t* first = spikes.indices.data() + spikes.offsets[row];
      const std::uint32_t* last = spikes.indices.data() + spikes.offsets[row + 1];
      if (width == kColumnBlock) {
        sum_rows<Real, kColumnBlock>(first, last, weight_t + begin, units,
                                     out + row * units + begin);
      } else {
        sum_rows_tail(first, last, weight_t + begin, units, width, out + row * units + begin);
      }
    }
  }
}

template <typename Real>
void accumulate_spike_outer(const SpikeRows& spikes, const Real* grad_out, std::size_t units,
                            Real* grad_weight_t) {
  // Each thread owns a block of columns of the gradient, so every element is summed over the
  // rows in their order whatever the thread count.
  constexpr std::size_t kGradientBlock = 64;
  const std::size_t blocks = (units + kGradientBlock - 1) / kGradientBlock;
  const std::size_t work = spikes.indices.size() * units;
#pragma omp parallel for schedule(static) if (work >= kMinParallelWork)
  for (std::int64_t b = 0; b < signed_size(blocks); ++b) {
    const std::size_t begin = static_cast<std::size_t>(b) * kGradientBlock;
    const std::size_t width = std::min(kGradientBlock, units - begin);
    for (std::size_t r = 0; r < spikes.rows; ++r) {
      Real error[kGradientBlock];
      std::copy(grad_out + r * units + begin, grad_out + r * units + begin + width, error);
      if (width == kGradientBlock) {
        for (std::uint32_t k = spikes.offsets[r]; k < spikes.offsets[r + 1]; ++k) {
          Real* __restrict g = grad_weight_t + std::size_t{spikes.indices[k]} * units + begin;
#pragma omp simd
          for (std::size_t j = 0; j < kGradientBlock; ++j) g[j] += error[j];
        }
      } else {
        for (std::uint32_t k = spikes.offsets[r]; k < spikes.offsets[r + 1]; ++k) {
          Real* __restrict g = grad_weight_t + std::size_t{spikes.indices[k]} * units + begin;
          for (std::size_t j = 0; j < width; ++j) g[j] += error[j];
        }
      }
    }
  }
}

template <typename Real>
void transpose_matrix(const Real* src, std::size_t rows, std::size_t columns, Real* dst,
                      bool accumulate) {
  constexpr std::size_t kTile = 32;
#pragma omp parallel for schedule(static) if (rows * columns >= kMinParallelWork)
  for (std::int64_t tile = 0; tile < signed_size((rows + kTile - 1) / kTile); ++tile) {
    const std::size_t r0 = static_cast<std::size_t>(tile) * kTile;
    const std::size_t r1 = std::min(rows, r0 + kTile);
    for (std::size_t c0 = 0; c0 < columns; c0 += kTile) {
      const std::size_t c1 = std::min(columns, c0 + kTile);
      for (std::size_t r = r0; r < r1; ++r) {
        for (std::size_t c = c0; c < c1; ++c) {
          Real& target = dst[c * rows + r];
          target = accumulate ? target + src[r * columns + c] : src[r * columns + c];
        }
      }
    }
  }
}

template bool collect_spike_rows<float>(const float*, std::size_t, std::size_t, double, SpikeRows&);
template bool collect_spike_rows<double>(const double*, std::size_t, std::size_t, double,
                                         SpikeRows&);
template void spike_rows_times<float>(const SpikeRows&, const float*, std::size_t, float*);
template void spike_rows_times<double>(const SpikeRows&, const double*, std::size_t, double*);
template void accumulate_spike_outer<float>(const SpikeRows&, const float*, std::size_t, float*);
template void accumulate_spike_outer<double>(const SpikeRows&, const double*, std::size_t, double*);
template void transpose_matrix<float>(const float*, std::size_t, std::size_t, float*, bool);
template void transpose_matrix<double>(const double*, std::size_t, std::size_t, double*, bool);

}  // namespace homeostat
