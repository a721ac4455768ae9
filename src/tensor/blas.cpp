#include "tensor/blas.hpp"

#include <cblas.h>
#include <omp.h>

namespace homeostat {
namespace {

CBLAS_TRANSPOSE to_cblas(Transpose trans) {
  return trans == Transpose::yes ? CblasTrans : CblasNoTrans;
}
blasint to_int(std::size_t value) { return static_cast<blasint>(value); }

}  // namespace

void gemm(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
          float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta,
          float* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, to_cblas(trans_a), to_cblas(trans_b), to_int(m), to_int(n), to_int(k),
              alpha, a, to_int(lda), b, to_int(ldb), beta, c, to_int(ldc));
}

void gemm(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
          double alpha, const double* a, std::size_t lda, const double* b, std::size_t ldb,
          double beta, double* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_dgemm(CblasRowMajor, to_cblas(trans_a), to_cblas(trans_b), to_int(m), to_int(n), to_int(k),
              alpha, a, to_int(lda), b, to_int(ldb), beta, c, to_int(ldc));
}

void set_thread_count(int threads) {
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
}

int thread_count() { return omp_get_max_threads(); }

const char* blas_core_name() { return openblas_get_corename(); }

}  // namespace homeostat
