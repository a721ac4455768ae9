#include "tensor/blas.hpp"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "tensor/gemm_bf16.hpp"
#include "tensor/gemm_blocking.hpp"

namespace homeostat {
namespace {

CBLAS_TRANSPOSE to_cblas(Transpose trans) {
  return trans == Transpose::yes ? CblasTrans : CblasNoTrans;
}
blasint to_int(std::size_t value) { return static_cast<blasint>(value); }

// bf16 only where it pays: below these sizes converting the operands costs more than the faster
// kernel saves, and a thin dimension (a 10-class readout) runs oneDNN's bf16 kernel poorly. Such
// GEMMs (readouts, W2's per-step recurrent products) stay fp32.
constexpr std::size_t kMinBf16Dimension = 64;
constexpr double kMinBf16MultiplyAdds = 16.0 * 1024 * 1024;

bool bf16_pays(std::size_t m, std::size_t n, std::size_t k) {
  return std::min({m, n, k}) >= kMinBf16Dimension &&
         static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) >=
             kMinBf16MultiplyAdds;
}

// One precision-generic body; `blas_gemm` is cblas_sgemm or cblas_dgemm.
template <typename Real, typename BlasGemm>
void blocked_gemm(BlasGemm blas_gemm, Transpose trans_a, Transpose trans_b, std::size_t m,
                  std::size_t n, std::size_t k, Real alpha, const Real* a, std::size_t lda,
                  const Real* b, std::size_t ldb, Real beta, Real* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  gemm_blocking::for_each_block(
      m, n, k, [&](std::size_t row, std::size_t rows, std::size_t column, std::size_t columns) {
        blas_gemm(CblasRowMajor, to_cblas(trans_a), to_cblas(trans_b), to_int(rows),
                  to_int(columns), to_int(k), alpha, gemm_blocking::op_row(a, trans_a, lda, row),
                  to_int(lda), gemm_blocking::op_column(b, trans_b, ldb, column), to_int(ldb), beta,
                  c + row * ldc + column, to_int(ldc));
      });
}

}  // namespace

bool gemm_runs_bf16(GemmPrecision precision, std::size_t m, std::size_t n, std::size_t k) {
  return precision == GemmPrecision::bf16 && bf16_pays(m, n, k);
}

void gemm(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
          float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta,
          float* c, std::size_t ldc, GemmPrecision precision) {
  if (gemm_runs_bf16(precision, m, n, k)) {
    gemm_bf16(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  blocked_gemm(cblas_sgemm, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
          double alpha, const double* a, std::size_t lda, const double* b, std::size_t ldb,
          double beta, double* c, std::size_t ldc, GemmPrecision /*precision*/) {
  blocked_gemm(cblas_dgemm, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

bool bf16_gemm_supported() { return __builtin_cpu_supports("avx512bf16"); }

void require_gemm_precision(GemmPrecision precision) {
  if (precision == GemmPrecision::bf16 && !bf16_gemm_supported()) {
    throw std::runtime_error("bf16 GEMMs need a CPU with AVX512-BF16, and this one has none");
  }
}

const char* gemm_precision_name(GemmPrecision precision) {
  return precision == GemmPrecision::bf16 ? "bf16" : "fp32";
}

void set_thread_count(int threads) { omp_set_num_threads(threads); }

int thread_count() { return omp_get_max_threads(); }

const char* blas_core_name() { return openblas_get_corename(); }

bool blas_core_forced() {
  const char* forced = std::getenv("OPENBLAS_CORETYPE");
  return forced != nullptr && *forced != '\0';
}

std::string blas_core_description() {
  return std::string(blas_core_name()) + (blas_core_forced()
                                              ? " (set by OPENBLAS_CORETYPE)"
                                              : " (chosen by OpenBLAS for this CPU)");
}

}  // namespace homeostat
