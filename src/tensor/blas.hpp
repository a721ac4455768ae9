// GEMM through CBLAS for float and double, row-major. C = alpha * op(A) op(B) + beta * C.
#pragma once

#include <cstddef>
#include <string>

namespace homeostat {

enum class Transpose { no, yes };

// Operand precision of a float GEMM, a value each caller passes (a layer holds the one its
// network was set to; Network::set_gemm_precision, from the config's gemm_precision). fp32 (the
// default) runs OpenBLAS's SGEMM. bf16 rounds both operands to bfloat16 (8-bit significand,
// round to nearest even) and accumulates in fp32 through oneDNN's AVX512-BF16 kernels, at about
// twice SGEMM's speed; spikes (0 and 1) are exact in bf16, weights and gradients are rounded.
// C stays fp32 either way, and double GEMMs are never rounded. Results stay independent of the
// thread count. Only GEMMs where bf16 pays take that path (every dimension >= 64 and >= 2^24
// multiply-adds); smaller ones, such as a 10-class readout, stay fp32.
enum class GemmPrecision { fp32, bf16 };

void gemm(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
          float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta,
          float* c, std::size_t ldc, GemmPrecision precision = GemmPrecision::fp32);
// `precision` is ignored (double GEMMs are never rounded); it lets Real-generic callers pass it.
void gemm(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
          double alpha, const double* a, std::size_t lda, const double* b, std::size_t ldb,
          double beta, double* c, std::size_t ldc, GemmPrecision precision = GemmPrecision::fp32);

// True when this CPU has AVX512-BF16 instructions (bf16 would otherwise run emulated, slowly).
bool bf16_gemm_supported();
// Throws std::runtime_error when `precision` is bf16 and this CPU has no AVX512-BF16; for the
// places a precision enters from outside (Network::set_gemm_precision).
void require_gemm_precision(GemmPrecision precision);
const char* gemm_precision_name(GemmPrecision precision);
// Whether a float gemm() of this shape at `precision` runs in bf16 (bf16 precision and a shape
// that pays), for callers that can hand it operands already in bf16 (gemm_bf16_prepared).
bool gemm_runs_bf16(GemmPrecision precision, std::size_t m, std::size_t n, std::size_t k);

// Thread count for BLAS and OpenMP alike (OpenBLAS's OpenMP build uses the OpenMP pool).
void set_thread_count(int threads);
int thread_count();
// Name of the OpenBLAS kernel set in use (e.g. "SkylakeX", "Haswell"), for reports.
const char* blas_core_name();
// Whether the kernel set was named by OPENBLAS_CORETYPE (which homeostat always respects: some
// processors need it for OpenBLAS to compute right) rather than chosen by OpenBLAS from the CPU.
bool blas_core_forced();
// The kernel set and why it runs, e.g. "Zen (chosen by OpenBLAS for this CPU)" or
// "Prescott (set by OPENBLAS_CORETYPE)", for banners.
std::string blas_core_description();

}  // namespace homeostat
