// The event-driven kernels of tensor/spike_rows.hpp against the dense GEMMs they replace, on
// random binary inputs at several densities (relative error < 1e-5 in fp32).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "random/counter_rng.hpp"
#include "tensor/blas.hpp"
#include "tensor/spike_rows.hpp"

namespace homeostat {
namespace {

double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  double difference = 0.0;
  double norm = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    difference += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    norm += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(difference / norm);
}

TEST(SpikeRows, KernelsMatchDenseGemmAtSeveralDensities) {
  // 300 units: one full column block of each kernel and a partial one.
  constexpr std::size_t kRows = 96;
  constexpr std::size_t kFeatures = 130;
  constexpr std::size_t kUnits = 300;
  const CounterRng rng(3, {9});
  std::vector<float> weight(kUnits * kFeatures);
  std::vector<float> grad_out(kRows * kUnits);
  for (std::size_t i = 0; i < weight.size(); ++i) weight[i] = static_cast<float>(rng.normal(i));
  for (std::size_t i = 0; i < grad_out.size(); ++i) {
    grad_out[i] = static_cast<float>(rng.normal(1'000'000 + i));
  }
  for (const double density : {0.02, 0.1, 0.29, 0.6, 1.0}) {
    std::vector<float> x(kRows * kFeatures);
    for (std::size_t i = 0; i < x.size(); ++i) {
      x[i] = rng.uniform(2'000'000 + i) < density ? 1.0f : 0.0f;
    }
    SpikeRows spikes;
    ASSERT_TRUE(collect_spike_rows(x.data(), kRows, kFeatures, 1.0, spikes));
    EXPECT_NEAR(spikes.density(), density, 0.05);

    std::vector<float> dense(kRows * kUnits);
    gemm(Transpose::no, Transpose::yes, kRows, kUnits, kFeatures, 1.0f, x.data(), kFeatures,
         weight.data(), kFeatures, 0.0f, dense.data(), kUnits);
    std::vector<float> weight_t(kFeatures * kUnits);
    transpose_matrix(weight.data(), kUnits, kFeatures, weight_t.data(), false);
    std::vector<float> sparse(kRows * kUnits, -7.0f);
    spike_rows_times(spikes, weight_t.data(), kUnits, sparse.data());
    EXPECT_LT(relative_error(sparse, dense), 1e-5) << "forward, density " << density;

    // Weight gradient, accumulated onto an existing gradient as the layer does.
    std::vector<float> dense_grad(kUnits * kFeatures, 0.5f);
    gemm(Transpose::yes, Transpose::no, kUnits, kFeatures, kRows, 1.0f, grad_out.data(), kUnits,
         x.data(), kFeatures, 1.0f, dense_grad.data(), kFeatures);
    std::vector<float> grad_t(kFeatures * kUnits, 0.0f);
    accumulate_spike_outer(spikes, grad_out.data(), kUnits, grad_t.data());
    std::vector<float> sparse_grad(kUnits * kFeatures, 0.5f);
    transpose_matrix(grad_t.data(), kFeatures, kUnits, sparse_grad.data(), true);
    EXPECT_LT(relative_error(sparse_grad, dense_grad), 1e-5) << "gradient, density " << density;
  }
}

TEST(SpikeRows, NonBinaryOrTooDenseInputsAreRefused) {
  SpikeRows spikes;
  const std::vector<float> graded = {0.0f, 1.0f, 0.5f, 0.0f};
  EXPECT_FALSE(collect_spike_rows(graded.data(), 2, 2, 1.0, spikes));
  const std::vector<float> dense = {1.0f, 1.0f, 1.0f, 0.0f};
  EXPECT_FALSE(collect_spike_rows(dense.data(), 2, 2, 0.5, spikes));
  ASSERT_TRUE(collect_spike_rows(dense.data(), 2, 2, 0.75, spikes));
  EXPECT_EQ(spikes.offsets, (std::vector<std::uint32_t>{0, 2, 3}));
  EXPECT_EQ(spikes.indices, (std::vector<std::uint32_t>{0, 1, 0}));
  EXPECT_DOUBLE_EQ(spikes.density(), 0.75);
}

}  // namespace
}  // namespace homeostat
