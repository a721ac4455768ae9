// Event-driven products with binary spike matrices. A [rows, features] matrix of 0/1 values is
// stored as the index list of its ones per row (CSR without values), and the two products a
// dense layer needs touch only the weight rows of active inputs:
//   forward          Y[r, :]  = sum_{i in active(r)} W^T[i, :]      (W^T is [features, units])
//   weight gradient  G^T[i, :] += sum_{r : i in active(r)} dY[r, :]
// Both add the same terms as the dense GEMMs, in a different order, so results agree with them
// to rounding. Work scales with the number of ones instead of rows x features: at W1's input
// density (0.29) a third of the GEMM's multiply-adds. Every output element is summed in a fixed
// order, so results do not depend on the thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace homeostat {

struct SpikeRows {
  std::size_t rows = 0;
  std::size_t features = 0;
  std::vector<std::uint32_t> offsets;  // rows + 1
  std::vector<std::uint32_t> indices;  // the active features of each row, ascending
  [[nodiscard]] double density() const;
};

// Fills `spikes` with the ones of `x` ([rows, features], row-major) if every value is 0 or 1
// and the density is at most `max_density`; returns false (and leaves `spikes` unusable)
// otherwise. Stops scanning as soon as a non-binary value shows up.
template <typename Real>
bool collect_spike_rows(const Real* x, std::size_t rows, std::size_t features, double max_density,
                        SpikeRows& spikes);

// out[r, :] = sum over the active features i of row r of weight_t[i, :] ([features, units]).
template <typename Real>
void spike_rows_times(const SpikeRows& spikes, const Real* weight_t, std::size_t units, Real* out);

// grad_weight_t[i, :] += sum over the rows r where feature i is active of grad_out[r, :].
template <typename Real>
void accumulate_spike_outer(const SpikeRows& spikes, const Real* grad_out, std::size_t units,
                            Real* grad_weight_t);

// dst[c, r] = src[r, c] for a [rows, columns] src; `accumulate` adds instead of assigning.
template <typename Real>
void transpose_matrix(const Real* src, std::size_t rows, std::size_t columns, Real* dst,
                      bool accumulate);

// Not yet used by the layers: bench/micro_spike_rows.cpp measures the weight-gradient kernel
// faster than OpenBLAS's SGEMM up to W1's input density but the forward kernel still slower
// (docs/performance.md), so DenseLayer stays dense until both are wired in behind a measured
// density switch.

}  // namespace homeostat
