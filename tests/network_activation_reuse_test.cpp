// Network::backward writes the gradient of an activation that no backward reads (a conv output
// before max pooling, a pooling output before LIF) over that activation. Checks: the spiking
// layers' outputs survive backward, repeated passes give bit-identical gradients (the buffers
// are handed back), the reuse happens where expected, and a W3-like conv network (small,
// chunked conv scratch) gives the same bits with 1 and 2 threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "gradient_check.hpp"
#include "layer/conv2d.hpp"
#include "layer/dense.hpp"
#include "layer/pool.hpp"
#include "layer/spiking.hpp"
#include "network/network.hpp"
#include "tensor/blas.hpp"

namespace homeostat {
namespace {

using testing::normal_init;
using testing::random_tensor;

// conv(1->4, k3) -> maxpool 2 -> lif -> conv(4->6, k2, pad 1) -> maxpool 2 -> lif -> dense 3 -> lif
// on 12x12 images; conv scratch limited to `column_limit` bytes (chunked GEMMs).
Network<float> conv_network(std::size_t column_limit) {
  Network<float> net;
  const NeuronSpec spec;  // Heaviside spikes, threshold 1
  auto conv1 = std::make_unique<Conv2dLayer<float>>("conv1", Shape{1, 12, 12}, 4, 3, 1, 0, true,
                                                    normal_init(2.0), 7, 0);
  conv1->set_column_buffer_limit(column_limit);
  net.add(std::move(conv1));  // -> {4, 10, 10}
  net.add(std::make_unique<Pool2dLayer<float>>("pool1", Shape{4, 10, 10}, PoolKind::max, 2, 0));
  net.add(std::make_unique<SpikingLayer<float>>("lif1", Shape{4, 5, 5}, spec));
  auto conv2 = std::make_unique<Conv2dLayer<float>>("conv2", Shape{4, 5, 5}, 6, 2, 1, 1, true,
                                                    normal_init(2.0), 7, 3);
  conv2->set_column_buffer_limit(column_limit);
  net.add(std::move(conv2));  // -> {6, 6, 6}
  net.add(std::make_unique<Pool2dLayer<float>>("pool2", Shape{6, 6, 6}, PoolKind::max, 2, 0));
  net.add(std::make_unique<SpikingLayer<float>>("lif2", Shape{6, 3, 3}, spec));
  net.add(
      std::make_unique<DenseLayer<float>>("fc", Shape{6, 3, 3}, 3, true, normal_init(2.0), 7, 6));
  net.add(std::make_unique<SpikingLayer<float>>("out", Shape{3}, spec));
  return net;
}

Tensor<float> to_float(const Tensor<double>& x) {
  Tensor<float> y(x.shape());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = static_cast<float>(x[i]);
  return y;
}

// Parameter gradients (concatenated) after one forward + backward.
std::vector<float> gradients_of_one_pass(Network<float>& net, const Tensor<float>& input,
                                         const Tensor<float>& grad_output) {
  net.zero_grad();
  net.forward(input, {});
  net.backward(grad_output);
  std::vector<float> all;
  for (Parameter<float>* p : net.parameters()) {
    all.insert(all.end(), p->grad.span().begin(), p->grad.span().end());
  }
  return all;
}

const Tensor<float> kInput = to_float(random_tensor({5, 3, 1, 12, 12}, 61, 0.0, 3.0));
const Tensor<float> kGradOutput = to_float(random_tensor({5, 3, 3}, 62, -1.0, 1.0));

TEST(NetworkActivationReuse, SpikesSurviveAndRepeatedPassesAgree) {
  Network<float> net = conv_network(std::size_t{8} << 20);
  net.forward(kInput, {});
  std::vector<Tensor<float>> spikes;
  for (const std::size_t i : net.spiking_layers()) spikes.push_back(net.output(i));
  double spike_count = 0;
  for (const Tensor<float>& s : spikes) {
    for (const float v : s.span()) spike_count += v;
  }
  ASSERT_GT(spike_count, 0.0);  // not vacuous: the backward has surrogate gradients to pass
  const Tensor<float> conv1_output = net.output(0);
  net.backward(kGradOutput);
  const std::vector<std::size_t> spiking = net.spiking_layers();
  for (std::size_t k = 0; k < spiking.size(); ++k) {
    const Tensor<float>& after = net.output(spiking[k]);
    EXPECT_TRUE(std::equal(after.span().begin(), after.span().end(), spikes[k].span().begin()))
        << "spikes of layer " << spiking[k] << " changed in backward";
  }
  // conv1's output is not read by any backward: its buffer now holds its gradient.
  EXPECT_FALSE(std::equal(conv1_output.span().begin(), conv1_output.span().end(),
                          net.output(0).span().begin()));
  const std::vector<float> first = gradients_of_one_pass(net, kInput, kGradOutput);
  const std::vector<float> second = gradients_of_one_pass(net, kInput, kGradOutput);
  ASSERT_EQ(first, second);
  EXPECT_TRUE(std::any_of(first.begin(), first.end(), [](float g) { return g != 0.0f; }));
}

TEST(NetworkActivationReuse, ChunkedConvNetworkIsBitIdenticalForOneAndTwoThreads) {
  const auto run = [](int threads, std::size_t column_limit) {
    const int previous = thread_count();
    set_thread_count(threads);
    Network<float> net = conv_network(column_limit);
    std::vector<float> grads = gradients_of_one_pass(net, kInput, kGradOutput);
    set_thread_count(previous);
    return grads;
  };
  // 2 KB holds a few images' columns: ragged chunks in both conv layers.
  for (const std::size_t limit : {std::size_t{2048}, std::size_t{8} << 20}) {
    const std::vector<float> one = run(1, limit);
    const std::vector<float> two = run(2, limit);
    EXPECT_EQ(one, two) << "column limit " << limit;
  }
}

}  // namespace
}  // namespace homeostat
