// The bf16 GEMM path (gemm(..., GemmPrecision::bf16)): exact where bf16 represents the operands,
// within bf16's rounding elsewhere, the same for 1 and 2 threads; fp32 by default.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "random/counter_rng.hpp"
#include "tensor/blas.hpp"
#include "tensor/gemm_bf16.hpp"

namespace homeostat {
namespace {

#define SKIP_WITHOUT_BF16() \
  if (!bf16_gemm_supported()) GTEST_SKIP() << "this CPU has no AVX512-BF16"

TEST(Bf16, RoundsToNearestEven) {
  EXPECT_EQ(to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(to_bf16(-2.0f), 0xc000);
  // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even significand (1).
  EXPECT_EQ(to_bf16(1.0f + 0x1p-8f), 0x3f80);
  // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6: the even one is 1 + 2^-6.
  EXPECT_EQ(to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);
  EXPECT_EQ(to_bf16(1.0f + 0x1p-8f + 0x1p-16f), 0x3f81);  // above halfway rounds up
  EXPECT_FLOAT_EQ(from_bf16(to_bf16(0.15625f)), 0.15625f);
  EXPECT_TRUE(std::isnan(from_bf16(to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_TRUE(std::isinf(from_bf16(to_bf16(std::numeric_limits<float>::infinity()))));
}

// Reference C = alpha op(A) op(B) + beta C in double.
std::vector<double> reference(Transpose ta, Transpose tb, std::size_t m, std::size_t n,
                              std::size_t k, float alpha, const std::vector<float>& a,
                              const std::vector<float>& b, float beta,
                              const std::vector<float>& c0) {
  std::vector<double> c(m * n);
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      double sum = 0;
      for (std::size_t p = 0; p < k; ++p) {
        const double x = ta == Transpose::no ? a[i * k + p] : a[p * m + i];
        const double y = tb == Transpose::no ? b[p * n + j] : b[j * k + p];
        sum += x * y;
      }
      c[i * n + j] = alpha * sum + beta * c0[i * n + j];
    }
  }
  return c;
}

struct Case {
  Transpose ta, tb;
  float alpha, beta;
};

TEST(GemmBf16, ExactOnBf16RepresentableOperandsForEveryTransposeAndScaling) {
  SKIP_WITHOUT_BF16();
  // k spans three reduction chunks, so alpha and beta must combine across them.
  const std::size_t m = 256, n = 128, k = 1100;
  const CounterRng rng(11, RngPurpose::test);
  // Spikes times multiples of 1/8 in [-1, 1): every product and partial sum is exact in fp32.
  std::vector<float> a(m * k), b(k * n), c0(m * n);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = rng.uniform_float(i) < 0.3f ? 1.0f : 0.0f;
  for (std::size_t i = 0; i < b.size(); ++i)
    b[i] = std::floor(rng.uniform_float(1u << 20 | i) * 16.0f - 8.0f) / 8.0f;
  for (std::size_t i = 0; i < c0.size(); ++i) c0[i] = static_cast<float>(i % 7) - 3.0f;
  for (const Case& test : {Case{Transpose::no, Transpose::no, 1.0f, 0.0f},
                           Case{Transpose::no, Transpose::yes, 1.0f, 1.0f},
                           Case{Transpose::yes, Transpose::no, 0.5f, 1.0f},
                           Case{Transpose::yes, Transpose::yes, 2.0f, 0.5f}}) {
    std::vector<float> c = c0;
    gemm(test.ta, test.tb, m, n, k, test.alpha, a.data(), test.ta == Transpose::no ? k : m,
         b.data(), test.tb == Transpose::no ? n : k, test.beta, c.data(), n, GemmPrecision::bf16);
    const std::vector<double> expected =
        reference(test.ta, test.tb, m, n, k, test.alpha, a, b, test.beta, c0);
    for (std::size_t i = 0; i < c.size(); ++i) ASSERT_EQ(c[i], expected[i]) << "element " << i;
  }
}

TEST(GemmBf16, RoundsGeneralOperandsToBf16AndAccumulatesInFp32) {
  SKIP_WITHOUT_BF16();
  const std::size_t m = 256, n = 128, k = 512;
  const CounterRng rng(12, RngPurpose::test);
  std::vector<float> a(m * k), b(k * n), zeros(m * n, 0.0f);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = rng.uniform_float(i) - 0.5f;
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = rng.uniform_float(1u << 20 | i) - 0.5f;
  std::vector<float> rounded_a(a.size()), rounded_b(b.size());
  for (std::size_t i = 0; i < a.size(); ++i) rounded_a[i] = from_bf16(to_bf16(a[i]));
  for (std::size_t i = 0; i < b.size(); ++i) rounded_b[i] = from_bf16(to_bf16(b[i]));
  const auto exact = reference(Transpose::no, Transpose::no, m, n, k, 1, a, b, 0, zeros);
  const auto of_rounded =
      reference(Transpose::no, Transpose::no, m, n, k, 1, rounded_a, rounded_b, 0, zeros);
  std::vector<float> c(m * n);
  gemm(Transpose::no, Transpose::no, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n,
       GemmPrecision::bf16);
  double error_to_rounded = 0, error_to_exact = 0, norm = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    error_to_rounded = std::max(error_to_rounded, std::abs(c[i] - of_rounded[i]));
    error_to_exact = std::max(error_to_exact, std::abs(c[i] - exact[i]));
    norm = std::max(norm, std::abs(exact[i]));
  }
  // The product of the rounded operands, up to fp32 accumulation...
  EXPECT_LT(error_to_rounded / norm, 1e-5);
  // ...which differs from the fp32 product by bf16's rounding (2^-9 relative per operand).
  EXPECT_GT(error_to_exact / norm, 1e-4);
  EXPECT_LT(error_to_exact / norm, 2e-2);
  // Without a precision the same call runs fp32, accurate to fp32.
  gemm(Transpose::no, Transpose::no, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n);
  for (std::size_t i = 0; i < c.size(); ++i) ASSERT_NEAR(c[i], exact[i], 1e-4 * norm);
}

TEST(GemmBf16, BitIdenticalForOneAndTwoThreads) {
  SKIP_WITHOUT_BF16();
  const std::size_t m = 3200, n = 300, k = 784;  // W1's first-layer shape, fewer units
  const CounterRng rng(13, RngPurpose::test);
  std::vector<float> x(m * k), w(n * k), dy(m * n);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = rng.uniform_float(i) < 0.29f ? 1.0f : 0.0f;
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = rng.uniform_float(1u << 24 | i) - 0.5f;
  for (std::size_t i = 0; i < dy.size(); ++i) dy[i] = rng.uniform_float(1u << 25 | i) - 0.5f;
  const int before = thread_count();
  std::vector<std::vector<float>> forward(2, std::vector<float>(m * n)),
      weight_gradient(2, std::vector<float>(n * k, 1.0f));
  for (int threads = 1; threads <= 2; ++threads) {
    set_thread_count(threads);
    gemm(Transpose::no, Transpose::yes, m, n, k, 1.0f, x.data(), k, w.data(), k, 0.0f,
         forward[threads - 1].data(), n, GemmPrecision::bf16);
    gemm(Transpose::yes, Transpose::no, n, k, m, 1.0f, dy.data(), n, x.data(), k, 1.0f,
         weight_gradient[threads - 1].data(), k, GemmPrecision::bf16);
  }
  set_thread_count(before);
  EXPECT_EQ(forward[0], forward[1]);
  EXPECT_EQ(weight_gradient[0], weight_gradient[1]);
}

// gemm_bf16_prepared on the bf16 bits of A runs the converting gemm_bf16's matmuls where K fits
// one of its chunks (the same bits, for both orientations of B, with and without accumulation
// into C); beyond, it reduces in one matmul instead of chunks (fp32 summation order apart), and
// a strided A gives the same values on another kernel.
TEST(GemmBf16, PreparedOperandGivesTheConvertingGemmsBits) {
  SKIP_WITHOUT_BF16();
  const CounterRng rng(15, RngPurpose::test);
  struct GemmShape {
    std::size_t m, n, k;
    Transpose ta;     // how the converting call gets A
    std::size_t lda;  // of the prepared copy
    bool same_bits;
  };
  // W3 conv2's forward (A transposed for the converting call), an uneven row split, W3 conv2's
  // weight gradient (K over four chunks of 432), a strided copy.
  for (const GemmShape& s : {GemmShape{1728, 64, 300, Transpose::yes, 300, true},
                             GemmShape{197, 80, 500, Transpose::no, 500, true},
                             GemmShape{300, 64, 1728, Transpose::no, 1728, false},
                             GemmShape{256, 64, 300, Transpose::no, 308, false}}) {
    std::vector<float> a(s.m * s.k);
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = rng.uniform_float(i) - 0.5f;
    std::vector<std::uint16_t> bits(s.m * s.lda, 0xffff);  // NaN padding: must never be read
    for (std::size_t i = 0; i < s.m; ++i) {
      for (std::size_t p = 0; p < s.k; ++p) {
        bits[i * s.lda + p] = to_bf16(s.ta == Transpose::no ? a[i * s.k + p] : a[p * s.m + i]);
      }
    }
    for (const Transpose tb : {Transpose::no, Transpose::yes}) {
      std::vector<float> b(s.k * s.n);
      for (std::size_t i = 0; i < b.size(); ++i) b[i] = rng.uniform_float(1u << 22 | i) - 0.5f;
      const std::size_t ldb = tb == Transpose::no ? s.n : s.k;
      for (const float beta : {0.0f, 1.0f}) {
        std::vector<float> converted(s.m * s.n, 0.25f), prepared(s.m * s.n, 0.25f);
        gemm_bf16(s.ta, tb, s.m, s.n, s.k, 1.0f, a.data(), s.ta == Transpose::no ? s.k : s.m,
                  b.data(), ldb, beta, converted.data(), s.n);
        gemm_bf16_prepared(tb, s.m, s.n, s.k, 1.0f, bits.data(), s.lda, b.data(), ldb, beta,
                           prepared.data(), s.n);
        if (s.same_bits) {
          ASSERT_EQ(converted, prepared) << s.m << "x" << s.n << "x" << s.k << " beta " << beta;
          continue;
        }
        double worst = 0, largest = 0;
        for (std::size_t i = 0; i < converted.size(); ++i) {
          worst = std::max(worst, double{std::abs(converted[i] - prepared[i])});
          largest = std::max(largest, double{std::abs(converted[i])});
        }
        EXPECT_LT(worst / largest, 1e-5) << s.m << "x" << s.n << "x" << s.k << " beta " << beta;
      }
    }
  }
}

TEST(GemmBf16, VectorConversionRoundsAsTheScalarOne) {
  const CounterRng rng(16, RngPurpose::test);
  std::vector<float> values(1000);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = (rng.uniform_float(i) - 0.5f) * 1e3f;
  values[3] = 1.0f + 0x1p-8f;  // a tie
  std::vector<std::uint16_t> bits(values.size());
  to_bf16(values.data(), bits.data(), values.size());
  for (std::size_t i = 0; i < values.size(); ++i) ASSERT_EQ(bits[i], to_bf16(values[i])) << i;
}

TEST(GemmBf16, SmallOrThinGemmsStayFp32) {
  SKIP_WITHOUT_BF16();
  const CounterRng rng(14, RngPurpose::test);
  // A readout-like shape (10 columns) and one under 2^24 multiply-adds: both exact to fp32.
  for (const auto& [m, n, k] :
       {std::array<std::size_t, 3>{3200, 10, 1000}, std::array<std::size_t, 3>{128, 256, 256}}) {
    std::vector<float> a(m * k), b(k * n), zeros(m * n, 0.0f), c(m * n);
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = rng.uniform_float(i) - 0.5f;
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = rng.uniform_float(1u << 26 | i) - 0.5f;
    gemm(Transpose::no, Transpose::no, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n,
         GemmPrecision::bf16);
    const auto exact = reference(Transpose::no, Transpose::no, m, n, k, 1, a, b, 0, zeros);
    for (std::size_t i = 0; i < c.size(); ++i) ASSERT_NEAR(c[i], exact[i], 1e-4) << m << "x" << n;
  }
}

TEST(GemmBf16, RefusedWithAClearMessageWithoutHardwareSupport) {
  if (bf16_gemm_supported()) GTEST_SKIP() << "this CPU has AVX512-BF16";
  EXPECT_THROW(require_gemm_precision(GemmPrecision::bf16), std::runtime_error);
  EXPECT_NO_THROW(require_gemm_precision(GemmPrecision::fp32));
}

}  // namespace
}  // namespace homeostat
