#include "tensor/blas.hpp"

#include <cblas.h>
#include <omp.h>

#include <algorithm>

namespace homeostat {
namespace {

CBLAS_TRANSPOSE to_cblas(Transpose trans) {
  return trans == Transpose::yes ? CblasTrans : CblasNoTrans;
}
blasint to_int(std::size_t value) { return static_cast<blasint>(value); }

// Results must not depend on the thread count, and OpenBLAS's own threading does not promise
// that. So OpenBLAS always runs single-threaded (its OpenMP build does so inside an active
// parallel region, or when omp_get_max_threads() is 1), C is split into blocks of rows (or of
// columns, when there are few rows) whose size depends on the shape and the machine's core count
// only, each block is one BLAS call, and OpenMP spreads the blocks over the threads. Every
// element of C is then reduced over K by the same kernel in the same order whatever the thread
// count. Each call packs its share of the other operand again, so there are as few blocks as
// the cores need: one per core (W1's weight-gradient GEMM packs its 10 MB input once per block;
// 16 blocks cost 20% of a batch on 2 cores).
std::size_t blocks_per_call() {
  static const std::size_t blocks = static_cast<std::size_t>(std::max(1, omp_get_num_procs()));
  return blocks;
}
constexpr std::size_t kMinBlockRows = 32;
constexpr double kMinParallelFlops = 4e6;

// call(row, rows, column, columns) computes that block of C.
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
  // Outside a parallel region OpenBLAS would use omp_get_max_threads() threads: lower it.
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

// One precision-generic body; `blas_gemm` is cblas_sgemm or cblas_dgemm.
template <typename Real, typename BlasGemm>
void blocked_gemm(BlasGemm blas_gemm, Transpose trans_a, Transpose trans_b, std::size_t m,
                  std::size_t n, std::size_t k, Real alpha, const Real* a, std::size_t lda,
                  const Real* b, std::size_t ldb, Real beta, Real* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  for_each_block(m, n, k,
                 [&](std::size_t row, std::size_t rows, std::size_t column, std::size_t columns) {
                   blas_gemm(CblasRowMajor, to_cblas(trans_a), to_cblas(trans_b), to_int(rows),
                             to_int(columns), to_int(k), alpha, op_row(a, trans_a, lda, row),
                             to_int(lda), op_column(b, trans_b, ldb, column), to_int(ldb), beta,
                             c + row * ldc + column, to_int(ldc));
                 });
}

}  // namespace

void gemm(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
          float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta,
          float* c, std::size_t ldc) {
  blocked_gemm(cblas_sgemm, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
          double alpha, const double* a, std::size_t lda, const double* b, std::size_t ldb,
          double beta, double* c, std::size_t ldc) {
  blocked_gemm(cblas_dgemm, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void set_thread_count(int threads) { omp_set_num_threads(threads); }

int thread_count() { return omp_get_max_threads(); }

const char* blas_core_name() { return openblas_get_corename(); }

}  // namespace homeostat
