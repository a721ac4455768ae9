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
// that. So the rows of C are split into blocks whose size depends on the shape only, each block
// is one single-threaded BLAS call (OpenBLAS runs serially inside an OpenMP region), and OpenMP
// spreads the blocks over the threads. Every element of C is then reduced over K by the same
// kernel in the same order whatever the thread count.
constexpr std::size_t kBlocksPerCall = 16;
constexpr std::size_t kMinBlockRows = 32;
constexpr double kMinParallelFlops = 4e6;

template <typename Real, typename Call>
void blocked_gemm(Transpose trans_a, std::size_t m, std::size_t n, std::size_t k, const Real* a,
                  std::size_t lda, Real* c, std::size_t ldc, const Call& call) {
  const std::size_t block_rows =
      std::max(kMinBlockRows, (m + kBlocksPerCall - 1) / kBlocksPerCall);
  const std::size_t blocks = (m + block_rows - 1) / block_rows;
  const bool parallel =
      blocks > 1 && 2.0 * static_cast<double>(m) * static_cast<double>(n) *
                            static_cast<double>(k) >= kMinParallelFlops;
#pragma omp parallel for schedule(static) if (parallel)
  for (std::size_t block = 0; block < blocks; ++block) {
    const std::size_t row = block * block_rows;
    const std::size_t rows = std::min(block_rows, m - row);
    // Row `row` of op(A): row of A (no transpose) or column of A (transpose).
    const Real* a_block = trans_a == Transpose::no ? a + row * lda : a + row;
    call(rows, a_block, c + row * ldc);
  }
}

}  // namespace

void gemm(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
          float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta,
          float* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  blocked_gemm(trans_a, m, n, k, a, lda, c, ldc,
               [&](std::size_t rows, const float* a_block, float* c_block) {
                 cblas_sgemm(CblasRowMajor, to_cblas(trans_a), to_cblas(trans_b), to_int(rows),
                             to_int(n), to_int(k), alpha, a_block, to_int(lda), b, to_int(ldb),
                             beta, c_block, to_int(ldc));
               });
}

void gemm(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
          double alpha, const double* a, std::size_t lda, const double* b, std::size_t ldb,
          double beta, double* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  blocked_gemm(trans_a, m, n, k, a, lda, c, ldc,
               [&](std::size_t rows, const double* a_block, double* c_block) {
                 cblas_dgemm(CblasRowMajor, to_cblas(trans_a), to_cblas(trans_b), to_int(rows),
                             to_int(n), to_int(k), alpha, a_block, to_int(lda), b, to_int(ldb),
                             beta, c_block, to_int(ldc));
               });
}

void set_thread_count(int threads) {
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
}

int thread_count() { return omp_get_max_threads(); }

const char* blas_core_name() { return openblas_get_corename(); }

}  // namespace homeostat
