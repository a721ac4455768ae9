#include "tensor/tensor.hpp"

#include <gtest/gtest.h>

#include "random/counter_rng.hpp"
#include "tensor/blas.hpp"

namespace homeostat {
namespace {

TEST(Tensor, ShapeAndStride) {
  Tensor<float> t({3, 4, 5}, 1.5f);
  EXPECT_EQ(t.size(), 60u);
  EXPECT_EQ(t.stride0(), 20u);
  EXPECT_EQ(shape_string(t.shape()), "[3, 4, 5]");
  EXPECT_FLOAT_EQ(t[59], 1.5f);
}

TEST(Blas, GemmMatchesNaiveProductInBothPrecisions) {
  const std::size_t m = 5, n = 7, k = 3;
  CounterRng rng(1, RngPurpose::test);
  std::vector<double> a(m * k), b(n * k), c(m * n, 0.0);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = rng.uniform(i) - 0.5;
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = rng.uniform(100 + i) - 0.5;
  gemm(Transpose::no, Transpose::yes, m, n, k, 1.0, a.data(), k, b.data(), k, 0.0, c.data(), n);
  std::vector<float> af(a.begin(), a.end()), bf(b.begin(), b.end()), cf(m * n, 0.0f);
  gemm(Transpose::no, Transpose::yes, m, n, k, 1.0f, af.data(), k, bf.data(), k, 0.0f, cf.data(),
       n);
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      double expected = 0;
      for (std::size_t p = 0; p < k; ++p) expected += a[i * k + p] * b[j * k + p];
      EXPECT_NEAR(c[i * n + j], expected, 1e-14);
      EXPECT_NEAR(cf[i * n + j], expected, 1e-6);
    }
  }
}

TEST(CounterRng, SameKeyGivesSameStreamAndStreamsDiffer) {
  const CounterRng a(7, RngPurpose::encode, {1, 2});
  const CounterRng b(7, RngPurpose::encode, {1, 2});
  const CounterRng c(7, RngPurpose::encode, {1, 3});
  EXPECT_EQ(a.bits(42), b.bits(42));
  EXPECT_NE(a.bits(42), c.bits(42));
  double mean = 0;
  const int draws = 100000;
  for (int i = 0; i < draws; ++i) mean += a.uniform(static_cast<std::uint64_t>(i));
  EXPECT_NEAR(mean / draws, 0.5, 0.01);
  for (int i = 0; i < 1000; ++i) EXPECT_LT(a.below(static_cast<std::uint64_t>(i), 10), 10u);
}

}  // namespace
}  // namespace homeostat

namespace homeostat {
namespace {

TEST(Blas, GemmIsBitIdenticalForOneAndTwoThreads) {
  const std::size_t m = 777, n = 301, k = 253;
  const CounterRng rng(5, RngPurpose::test);
  std::vector<float> a(m * k), b(k * n);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = rng.uniform_float(i) - 0.5f;
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = rng.uniform_float(1u << 30 | i) - 0.5f;
  const int before = thread_count();
  std::vector<float> one(m * n), two(m * n);
  set_thread_count(1);
  gemm(Transpose::no, Transpose::no, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, one.data(), n);
  set_thread_count(2);
  gemm(Transpose::no, Transpose::no, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, two.data(), n);
  set_thread_count(before);
  EXPECT_EQ(one, two);
  // Transposed A (the weight-gradient shape) too.
  std::vector<float> one_t(k * n), two_t(k * n);
  set_thread_count(1);
  gemm(Transpose::yes, Transpose::no, k, n, m, 1.0f, a.data(), k, one.data(), n, 0.0f, one_t.data(),
       n);
  set_thread_count(2);
  gemm(Transpose::yes, Transpose::no, k, n, m, 1.0f, a.data(), k, one.data(), n, 0.0f, two_t.data(),
       n);
  set_thread_count(before);
  EXPECT_EQ(one_t, two_t);
}

}  // namespace
}  // namespace homeostat
