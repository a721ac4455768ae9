// Conv2d set to GemmPrecision::bf16: the forward and weight-gradient GEMMs run on columns that
// im2col writes in bf16 (Conv2dLayer::bf16_forward). Within bf16's rounding of the fp32 layer at
// several spike densities and geometries, bit for bit the converting GEMM on fp32 columns, and
// the same bits for 1 and 2 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <vector>

#include "gradient_check.hpp"
#include "layer/conv2d.hpp"
#include "layer/conv_pool.hpp"
#include "layer/dense.hpp"
#include "network/network.hpp"
#include "tensor/blas.hpp"
#include "tensor/gemm_bf16.hpp"

namespace homeostat {
namespace {

using testing::normal_init;
using testing::random_tensor;
using Mode = Conv2dLayer<float>::EventForward;

#define SKIP_WITHOUT_BF16() \
  if (!bf16_gemm_supported()) GTEST_SKIP() << "this CPU has no AVX512-BF16"

struct Geometry {
  Shape input;  // {C_in, H, W}
  std::size_t channels, kernel, stride, padding;
};

// W3's conv2 (27 images per chunk), padded (12 per chunk, border windows), stride 2 (44 per
// chunk). 60 images: full chunks on bf16 columns and a last one too small for bf16 (fp32 GEMM).
const Geometry kW3Conv2{{12, 12, 12}, 64, 5, 1, 0};
const Geometry kPadded{{12, 12, 12}, 64, 5, 1, 2};
const Geometry kStrideTwo{{16, 17, 17}, 64, 3, 2, 1};

// [5, 12] x input with about `density` nonzeros: spikes (1) or, with `valued`, values in (-2, 2).
Tensor<float> sparse_input(const Geometry& g, double density, bool valued, std::uint64_t key) {
  Shape shape{5, 12};
  shape.insert(shape.end(), g.input.begin(), g.input.end());
  const Tensor<double> pick = random_tensor(shape, key, 0.0, 1.0);
  const Tensor<double> value = random_tensor(shape, key + 1, -2.0, 2.0);
  Tensor<float> x(shape);
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = pick[i] < density ? (valued ? static_cast<float>(value[i]) : 1.0f) : 0.0f;
  }
  return x;
}

// Output, input gradient, weight and bias gradients of one forward and backward pass.
std::vector<Tensor<float>> pass(const Geometry& g, const Tensor<float>& x, GemmPrecision precision,
                                Mode mode, int threads) {
  const int previous = thread_count();
  set_thread_count(threads);
  Conv2dLayer<float> conv("conv", g.input, g.channels, g.kernel, g.stride, g.padding, true,
                          normal_init(2.0), 5, 0);
  conv.set_gemm_precision(precision);
  conv.set_event_forward(mode);
  Tensor<float> y, grad_input;
  conv.forward(x, y, {});
  const Tensor<double> g64 = random_tensor(y.shape(), 52, -1.0, 1.0);
  Tensor<float> grad_output(y.shape());
  for (std::size_t i = 0; i < g64.size(); ++i) grad_output[i] = static_cast<float>(g64[i]);
  conv.backward(x, y, grad_output, &grad_input);
  set_thread_count(previous);
  std::vector<Tensor<float>> result{y, grad_input};
  for (Parameter<float>* p : conv.parameters()) result.push_back(p->grad);
  return result;
}

// Largest difference over the largest entry.
double normwise(const Tensor<float>& a, const Tensor<float>& b) {
  double worst = 0, largest = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, std::abs(double{a[i]} - double{b[i]}));
    largest = std::max(largest, std::abs(double{b[i]}));
  }
  return largest > 0 ? worst / largest : worst;
}

void expect_bf16_close_to_fp32(const Geometry& g, Mode mode) {
  const char* names[] = {"output", "input gradient", "weight gradient", "bias gradient"};
  for (const double density : {0.02, 0.12, 0.4}) {
    for (const bool valued : {false, true}) {
      const Tensor<float> x = sparse_input(g, density, valued, 61);
      const auto bf16 = pass(g, x, GemmPrecision::bf16, mode, 2);
      const auto fp32 = pass(g, x, GemmPrecision::fp32, mode, 2);
      ASSERT_EQ(bf16.size(), fp32.size());
      for (std::size_t k = 0; k < bf16.size(); ++k) {
        ASSERT_EQ(bf16[k].shape(), fp32[k].shape());
        // bf16 rounds the weights (and non-spike inputs, output gradients) to 8 significant
        // bits; the sums stay fp32.
        EXPECT_LT(normwise(bf16[k], fp32[k]), 1e-2)
            << names[k] << ", density " << density << (valued ? " valued" : " spikes");
      }
      if (mode == Mode::never) {  // the bf16 GEMMs ran: not the fp32 bits
        EXPECT_GT(normwise(bf16[0], fp32[0]), 1e-6) << "density " << density;
        EXPECT_GT(normwise(bf16[2], fp32[2]), 1e-6) << "density " << density;
      }
    }
  }
}

TEST(Conv2dBf16, GemmPathMatchesFp32WithinBf16Rounding) {
  SKIP_WITHOUT_BF16();
  expect_bf16_close_to_fp32(kW3Conv2, Mode::never);
  expect_bf16_close_to_fp32(kPadded, Mode::never);
  expect_bf16_close_to_fp32(kStrideTwo, Mode::never);
}

TEST(Conv2dBf16, AutomaticChoiceMatchesFp32WithinBf16Rounding) {
  SKIP_WITHOUT_BF16();
  expect_bf16_close_to_fp32(kW3Conv2, Mode::automatic);
  expect_bf16_close_to_fp32(kPadded, Mode::automatic);
}

TEST(Conv2dBf16, OneAndTwoThreadsGiveTheSameBits) {
  SKIP_WITHOUT_BF16();
  for (const Geometry& g : {kW3Conv2, kPadded, kStrideTwo}) {
    for (const double density : {0.01, 0.12}) {  // events and GEMMs under the automatic choice
      const Tensor<float> x = sparse_input(g, density, false, 71);
      const auto one = pass(g, x, GemmPrecision::bf16, Mode::automatic, 1);
      const auto two = pass(g, x, GemmPrecision::bf16, Mode::automatic, 2);
      for (std::size_t k = 0; k < one.size(); ++k) {
        EXPECT_TRUE(std::equal(one[k].span().begin(), one[k].span().end(), two[k].span().begin()))
            << "result " << k << ", density " << density;
      }
    }
  }
}

// The forward on bf16 columns gives, chunk by chunk, the bits of homeostat::gemm on the fp32
// column matrix (which converts it to bf16 itself): the columns path only skips that copy.
TEST(Conv2dBf16, ColumnsGiveTheBitsOfTheConvertingGemm) {
  SKIP_WITHOUT_BF16();
  const Geometry g = kW3Conv2;
  const Tensor<float> x = sparse_input(g, 0.12, true, 81);
  Conv2dLayer<float> conv("conv", g.input, g.channels, g.kernel, g.stride, g.padding, false,
                          normal_init(2.0), 5, 0);
  conv.set_gemm_precision(GemmPrecision::bf16);
  conv.set_event_forward(Mode::never);
  Tensor<float> y;
  conv.forward(x, y, {});
  const std::size_t images = x.dim(0) * x.dim(1), chunk = conv.images_per_chunk();
  const std::size_t size = 12 * 12 * 12, out = 8, pixels = out * out, patch = 12 * 5 * 5;
  const float* w = conv.weight().value.data();
  for (std::size_t first = 0; first + chunk <= images; first += chunk) {
    // Columns^T [chunk * pixels, patch], the operand homeostat::gemm converts.
    std::vector<float> rows(chunk * pixels * patch);
    for (std::size_t n = 0; n < chunk; ++n) {
      for (std::size_t p = 0; p < pixels; ++p) {
        for (std::size_t c = 0; c < 12; ++c) {
          for (std::size_t u = 0; u < 5; ++u) {
            for (std::size_t v = 0; v < 5; ++v) {
              rows[(n * pixels + p) * patch + (c * 5 + u) * 5 + v] =
                  x[(first + n) * size + c * 144 + (p / out + u) * 12 + p % out + v];
            }
          }
        }
      }
    }
    std::vector<float> expected(chunk * pixels * 64);
    gemm(Transpose::no, Transpose::yes, chunk * pixels, 64, patch, 1.0f, rows.data(), patch, w,
         patch, 0.0f, expected.data(), 64, GemmPrecision::bf16);
    for (std::size_t n = 0; n < chunk; ++n) {
      for (std::size_t o = 0; o < 64; ++o) {
        for (std::size_t p = 0; p < pixels; ++p) {
          ASSERT_EQ(y[(first + n) * 64 * pixels + o * pixels + p],
                    expected[(n * pixels + p) * 64 + o])
              << "image " << first + n << " channel " << o << " pixel " << p;
        }
      }
    }
  }
}

// On AMX the bf16-column GEMMs beat the event loops above about 3% nonzero inputs.
TEST(Conv2dBf16, AutomaticChoiceOnAmxTakesTheGemmForW3Densities) {
  SKIP_WITHOUT_BF16();
  if (!bf16_gemm_has_amx()) GTEST_SKIP() << "oneDNN runs no AMX kernels here";
  Conv2dLayer<float> conv("conv", kW3Conv2.input, 64, 5, 1, 0, true, normal_init(2.0), 5, 0);
  const Tensor<float> w3 = sparse_input(kW3Conv2, 0.12, false, 91);
  const Tensor<float> sparse = sparse_input(kW3Conv2, 0.01, false, 92);
  const std::size_t chunk = conv.images_per_chunk();
  EXPECT_TRUE(conv.events_pay(w3.data(), chunk));  // fp32: events below about 22%
  EXPECT_TRUE(conv.events_pay(sparse.data(), chunk));
  conv.set_gemm_precision(GemmPrecision::bf16);
  EXPECT_FALSE(conv.events_pay(w3.data(), chunk));
  EXPECT_TRUE(conv.events_pay(sparse.data(), chunk));
  EXPECT_TRUE(conv.events_pay(w3.data(), 4));  // too few images for a bf16 GEMM
}

// Network::set_gemm_precision reaches every layer, the convolution inside a fused conv + pool
// too; without AVX512-BF16 it refuses bf16 and leaves every layer at fp32.
TEST(Conv2dBf16, NetworkSetsThePrecisionOfEveryLayer) {
  Network<float> net;
  auto conv = std::make_unique<Conv2dLayer<float>>("conv", Shape{2, 8, 8}, 4, 3, 1, 1, true,
                                                   normal_init(2.0), 5, 0);  // -> {4, 8, 8}
  const Conv2dLayer<float>& inner = *conv;
  net.add(std::make_unique<ConvPoolLayer<float>>(std::move(conv), Shape{4, 4, 4}, 2, 0));
  net.add(
      std::make_unique<DenseLayer<float>>("fc", Shape{4, 4, 4}, 10, true, normal_init(2.0), 5, 1));
  const auto all_at = [&](GemmPrecision precision) {
    return net.layer(0).gemm_precision() == precision && inner.gemm_precision() == precision &&
           net.layer(1).gemm_precision() == precision;
  };
  EXPECT_TRUE(all_at(GemmPrecision::fp32));
  if (!bf16_gemm_supported()) {
    EXPECT_THROW(net.set_gemm_precision(GemmPrecision::bf16), std::runtime_error);
    EXPECT_TRUE(all_at(GemmPrecision::fp32));
    return;
  }
  net.set_gemm_precision(GemmPrecision::bf16);
  EXPECT_TRUE(all_at(GemmPrecision::bf16));
  net.set_gemm_precision(GemmPrecision::fp32);
  EXPECT_TRUE(all_at(GemmPrecision::fp32));
}

}  // namespace
}  // namespace homeostat
