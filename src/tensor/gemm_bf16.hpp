// The bf16 GEMM behind gemm_precision() == bf16: both operands rounded to bfloat16, products
// accumulated in fp32 by oneDNN's matmul, C in fp32. Same arguments and blocking as gemm().
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/blas.hpp"

namespace homeostat {

void gemm_bf16(Transpose trans_a, Transpose trans_b, std::size_t m, std::size_t n, std::size_t k,
               float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb,
               float beta, float* c, std::size_t ldc);

// fp32 -> bf16 bits, rounded to nearest even as the hardware converts; NaN stays a quiet NaN.
std::uint16_t to_bf16(float value);
float from_bf16(std::uint16_t bits);

}  // namespace homeostat
