// How a GEMM is split over the cores, shared by the fp32 (OpenBLAS) and bf16 (oneDNN) paths.
//
// Results must not depend on the thread count, and neither library's own threading promises
// that. So the library always runs single-threaded (inside an active parallel region, or when
// omp_get_max_threads() is 1), C is split into blocks of rows (or of columns, when there are few
// rows) whose size depends on the shape and the machine's processor count only (all online
// processors, not this process's affinity mask: an MPI rank bound to one core, or a run under
// taskset, computes the same bits as an unbound process on the same machine), each block is one
// library call, and OpenMP spreads the blocks over the threads. Every element of C is then
// reduced over K by the same kernel in the same order whatever the thread count. Each call packs
// its share of the other operand again, so there are as few blocks as the cores need: one per
// core (W1's weight-gradient GEMM packs its 10 MB input once per block; 16 blocks cost 20% of a
// batch on 2 cores).
#pragma once

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>

#include "tensor/blas.hpp"

namespace homeostat::gemm_blocking {

inline std::size_t blocks_per_call() {
  static const std::size_t blocks =
      static_cast<std::size_t>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  return blocks;
}
inline constexpr std::size_t kMinBlockRows = 32;
inline constexpr double kMinParallelFlops = 4e6;

// call(row, rows, column, columns) computes that block of C, single-threaded.
template <typename Call>
void for_each_block(std::size_t m, std::size_t n, std::size_t k, const Call& call) {
  const bool by_rows = m >= 2 * kMinBlockRows || m >= n;
  const std::size_t extent = by_rows ? m : n;
  const std::size_t block =
      std::max(kMinBlockRows, (extent + blocks_per_call() - 1) / blocks_per_call());
  const std::size_t blocks = (extent + block - 1) / block;
  const bool parallel = blocks > 1 && 2.0 * static_cast<double>(m) * static_cast<double>(n) *
                                              static_cast<double>(k) >=
                                          kMinParallelFlops;
  const auto run_block = [&](std::size_t b) {
    const std::size_t start = b * block;
    const std::size_t size = std::min(block, extent - start);
    if (by_rows) {
      call(start, size, std::size_t{0}, n);
    } else {
      call(std::size_t{0}, m, start, size);
    }
  };
  if (parallel) {
#pragma omp parallel for schedule(static)
    for (std::size_t b = 0; b < blocks; ++b) run_block(b);
    return;
  }
  // Outside a parallel region the libraries would use omp_get_max_threads() threads: lower it.
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  for (std::size_t b = 0; b < blocks; ++b) run_block(b);
  omp_set_num_threads(threads);
}

// Pointers to the first element of row `row` of op(X), or of column `column` of op(X).
template <typename Real>
const Real* op_row(const Real* x, Transpose trans, std::size_t ld, std::size_t row) {
  return trans == Transpose::no ? x + row * ld : x + row;
}
template <typename Real>
const Real* op_column(const Real* x, Transpose trans, std::size_t ld, std::size_t column) {
  return trans == Transpose::no ? x + column : x + column * ld;
}

}  // namespace homeostat::gemm_blocking
