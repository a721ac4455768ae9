// The bf16 GEMM behind gemm(..., GemmPrecision::bf16): both operands rounded to bfloat16, products
// accumulated in fp32 by oneDNN's matmul, C in fp32. Same arguments and blocking as gemm().
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/blas.hpp"

namespace homeostat {

void gemm_bf16(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
               float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb,
               float beta, float* c, std::size_t ldc);

// As gemm_bf16 (no transpose of A) with A already in bf16, row-major with leading dimension
// lda, read in place: no conversion or copy. Keep A dense (lda == k): oneDNN runs strided
// sources on a slower kernel. The reduction over K is one matmul (gemm_bf16 converts and
// reduces in chunks of at most 512), so for k <= 512 the result is bit-identical to gemm_bf16
// on fp32 values that round to these bits, and within fp32 summation order of it beyond. Runs
// as one block on the calling thread (its callers run one GEMM per thread already; split, each
// block converted op(B) again).
void gemm_bf16_prepared(Transpose trans_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
                        const std::uint16_t* a, std::size_t lda, const float* b, std::size_t ldb,
                        float beta, float* c, std::size_t ldc);

// Whether oneDNN runs the bf16 GEMMs on AMX tiles (Sapphire Rapids and later), many times the
// multiply-add rate of AVX512-BF16: callers then prefer the GEMM over sparse alternatives.
bool bf16_gemm_has_amx();

// Converts `count` floats to bf16 bits as the GEMMs do (rounded to nearest even; with
// AVX512-BF16 denormals become zero).
void to_bf16(const float* values, std::uint16_t* bits, std::size_t count);

// fp32 -> bf16 bits, rounded to nearest even as the hardware converts; NaN stays a quiet NaN.
std::uint16_t to_bf16(float value);
float from_bf16(std::uint16_t bits);

}  // namespace homeostat
