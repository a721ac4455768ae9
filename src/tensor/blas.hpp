// GEMM through CBLAS for float and double, row-major. C = alpha * op(A) op(B) + beta * C.
#pragma once

#include <cstddef>

namespace homeostat {

enum class Transpose { no, yes };

void gemm(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
          float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta,
          float* c, std::size_t ldc);
void gemm(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
          double alpha, const double* a, std::size_t lda, const double* b, std::size_t ldb,
          double beta, double* c, std::size_t ldc);

// Thread count for BLAS and OpenMP alike (OpenBLAS's OpenMP build uses the OpenMP pool).
void set_thread_count(int threads);
int thread_count();
// Name of the OpenBLAS kernel set in use (e.g. "SkylakeX", "Haswell"), for reports.
const char* blas_core_name();

}  // namespace homeostat
