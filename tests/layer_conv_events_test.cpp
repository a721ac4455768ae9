// Event-driven conv2d forward (Conv2dLayer::EventForward): the same outputs as im2col + GEMM at
// several input densities and geometries (stride, padding, long rows, channel counts that are
// not multiples of 16), and the automatic
// choice takes the event path for sparse inputs with enough channels and the GEMM for dense ones.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "gradient_check.hpp"
#include "layer/conv2d.hpp"

namespace homeostat {
namespace {

using testing::normal_init;
using testing::random_tensor;

struct Geometry {
  Shape input;  // {C_in, H, W}
  std::size_t channels, kernel, stride, padding;
};

// Input with about `density` nonzeros: spikes (1) or, with `valued`, values in (-2, 2).
Tensor<float> sparse_input(const Geometry& g, double density, bool valued, std::uint64_t key) {
  Shape shape{3, 4};
  shape.insert(shape.end(), g.input.begin(), g.input.end());
  const Tensor<double> pick = random_tensor(shape, key, 0.0, 1.0);
  const Tensor<double> value = random_tensor(shape, key + 1, -2.0, 2.0);
  Tensor<float> x(shape);
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = pick[i] < density ? (valued ? static_cast<float>(value[i]) : 1.0f) : 0.0f;
  }
  return x;
}

Tensor<float> run(const Geometry& g, const Tensor<float>& x,
                  Conv2dLayer<float>::EventForward mode) {
  Conv2dLayer<float> conv("conv", g.input, g.channels, g.kernel, g.stride, g.padding, true,
                          normal_init(2.0), 5, 0);
  conv.set_column_buffer_limit(20000);  // several chunks
  conv.set_event_forward(mode);
  conv.set_direct(false);  // the direct path would take small patches
  Tensor<float> y;
  conv.forward(x, y, {});
  return y;
}

void expect_events_match_gemm(const Geometry& g) {
  using Mode = Conv2dLayer<float>::EventForward;
  for (const double density : {0.02, 0.12, 0.4, 1.0}) {
    for (const bool valued : {false, true}) {
      const Tensor<float> x = sparse_input(g, density, valued, 31);
      const Tensor<float> events = run(g, x, Mode::always);
      const Tensor<float> dense = run(g, x, Mode::never);
      ASSERT_EQ(events.shape(), dense.shape());
      double worst = 0, largest = 0;
      for (std::size_t i = 0; i < dense.size(); ++i) {
        worst = std::max(worst, std::abs(double{events[i]} - double{dense[i]}));
        largest = std::max(largest, std::abs(double{dense[i]}));
      }
      // Normwise: the largest difference against the largest entry (fp32 sums in two orders).
      EXPECT_LT(worst / largest, 1e-5) << "density " << density << (valued ? " valued" : " spikes");
      EXPECT_GT(largest, 0.1);  // not vacuous
    }
  }
}

// Weight and bias gradients (events) against the GEMM's; input gradients identical (GEMM both).
void expect_event_gradients_match_gemm(const Geometry& g) {
  using Mode = Conv2dLayer<float>::EventForward;
  for (const double density : {0.02, 0.12, 0.4, 1.0}) {
    const Tensor<float> x = sparse_input(g, density, true, 51);
    const auto pass = [&](Mode mode) {
      Conv2dLayer<float> conv("conv", g.input, g.channels, g.kernel, g.stride, g.padding, true,
                              normal_init(2.0), 5, 0);
      conv.set_column_buffer_limit(20000);
      conv.set_event_forward(mode);
      conv.set_direct(false);
      Tensor<float> y, grad_input;
      conv.forward(x, y, {});
      const Tensor<double> g64 = random_tensor(y.shape(), 52, -1.0, 1.0);
      Tensor<float> grad_output(y.shape());
      for (std::size_t i = 0; i < g64.size(); ++i) grad_output[i] = static_cast<float>(g64[i]);
      conv.backward(x, y, grad_output, &grad_input);
      std::vector<Tensor<float>> result{grad_input};
      for (Parameter<float>* p : conv.parameters()) result.push_back(p->grad);
      return result;
    };
    const auto events = pass(Mode::always);
    const auto dense = pass(Mode::never);
    EXPECT_TRUE(
        std::equal(events[0].span().begin(), events[0].span().end(), dense[0].span().begin()));
    for (std::size_t k = 1; k < events.size(); ++k) {
      double worst = 0, largest = 0;
      for (std::size_t i = 0; i < dense[k].size(); ++i) {
        worst = std::max(worst, std::abs(double{events[k][i]} - double{dense[k][i]}));
        largest = std::max(largest, std::abs(double{dense[k][i]}));
      }
      EXPECT_LT(worst / largest, 1e-5) << "density " << density << " parameter " << k;
      EXPECT_GT(largest, 0.1);
    }
  }
}

TEST(Conv2dEvents, WeightGradientsMatchGemm) {
  expect_event_gradients_match_gemm({{12, 12, 12}, 64, 5, 1, 0});
  expect_event_gradients_match_gemm({{3, 9, 7}, 20, 3, 1, 2});
  expect_event_gradients_match_gemm({{2, 11, 10}, 17, 3, 2, 1});
  expect_event_gradients_match_gemm({{2, 5, 70}, 20, 3, 1, 1});  // rows over 64: scatter path
  expect_event_gradients_match_gemm({{2, 9, 9}, 33, 3, 1, 0});   // blocks of 16 and 1 channels
}

TEST(Conv2dEvents, MatchGemmOnLongRows) {
  expect_events_match_gemm({{2, 5, 70}, 20, 3, 1, 1});
  expect_events_match_gemm({{1, 4, 66}, 16, 3, 2, 0});
}

TEST(Conv2dEvents, MatchGemmStrideOneNoPadding) {
  expect_events_match_gemm({{12, 12, 12}, 64, 5, 1, 0});  // W3's conv2
}

TEST(Conv2dEvents, MatchGemmWithPadding) { expect_events_match_gemm({{3, 9, 7}, 20, 3, 1, 2}); }

TEST(Conv2dEvents, MatchGemmWithStrideTwo) {
  expect_events_match_gemm({{2, 11, 10}, 17, 3, 2, 1});
  expect_events_match_gemm({{2, 11, 10}, 5, 4, 3, 0});  // few channels, stride 3
}

TEST(Conv2dEvents, AutomaticPicksEventsForSparseInputs) {
  using Mode = Conv2dLayer<float>::EventForward;
  Conv2dLayer<float> conv2("conv2", {12, 12, 12}, 64, 5, 1, 0, true, normal_init(2.0), 5, 0);
  const Geometry g{{12, 12, 12}, 64, 5, 1, 0};
  const Tensor<float> sparse = sparse_input(g, 0.12, false, 41);  // W3's lif1 density
  const Tensor<float> dense = sparse_input(g, 0.8, false, 42);
  EXPECT_TRUE(conv2.events_pay(sparse.data(), 12));
  EXPECT_FALSE(conv2.events_pay(dense.data(), 12));
  conv2.set_event_forward(Mode::never);
  EXPECT_FALSE(conv2.events_pay(sparse.data(), 12));
  conv2.set_event_forward(Mode::always);
  EXPECT_TRUE(conv2.events_pay(dense.data(), 12));
  // Fewer than 16 output channels (W3's conv1): always the GEMM.
  Conv2dLayer<float> conv1("conv1", {12, 12, 12}, 12, 5, 1, 0, true, normal_init(2.0), 5, 0);
  EXPECT_FALSE(conv1.events_pay(sparse.data(), 12));
}

}  // namespace
}  // namespace homeostat
