// A network: an ordered list of layers, the activations between them, and the registry of
// their parameters. forward() runs the layers in order over a whole [T, B, ...] batch;
// backward() runs them in exactly the reverse order.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "layer/layer.hpp"

namespace homeostat {

template <typename Real>
class Network {
 public:
  Network() = default;
  void add(LayerPtr<Real> layer);

  [[nodiscard]] std::size_t layer_count() const { return layers_.size(); }
  [[nodiscard]] Layer<Real>& layer(std::size_t index) { return *layers_.at(index); }
  [[nodiscard]] const Layer<Real>& layer(std::size_t index) const { return *layers_.at(index); }
  [[nodiscard]] Shape input_shape() const;
  [[nodiscard]] Shape output_shape() const;

  // Runs every layer; `input` must stay alive until backward. Returns the last output.
  const Tensor<Real>& forward(const Tensor<Real>& input, const RunContext& context);
  // Called with (layer index, [N] zeros) before each spiking layer's backward, so a regulator's
  // loss term can add its gradient with respect to the layer's spikes where it is the same at
  // every step and sample (rate penalties); the layer's kernel adds it to dL/dz_t.
  using SpikeGradientHook = std::function<void(std::size_t, std::span<Real>)>;
  void backward(const Tensor<Real>& grad_output, const SpikeGradientHook& hook = {});

  // Output of layer `index` in the last forward pass. After backward, outputs that no backward
  // reads (e.g. a convolution's output before max pooling, see reuses_activation) hold their
  // gradients instead; the outputs of spiking layers and the inputs of weighted layers are kept.
  [[nodiscard]] const Tensor<Real>& output(std::size_t index) const { return outputs_.at(index); }

  // Bytes of the per-layer outputs and output gradients ([T, B, ...] each) the network keeps
  // for its backward pass (train.method = "bptt"; the bench reports it).
  [[nodiscard]] std::size_t activation_bytes() const;

  std::vector<Parameter<Real>*> parameters();
  std::vector<StateBuffer<Real>> state_buffers();
  void zero_grad();
  // Indices of the layers with spiking neurons (activity monitor, regulators).
  [[nodiscard]] std::vector<std::size_t> spiking_layers() const;

 private:
  // True where neither layer `index` nor layer `index + 1` reads output `index` in backward, so
  // its buffer doubles as its gradient buffer.
  [[nodiscard]] bool reuses_activation(std::size_t index) const;

  std::vector<LayerPtr<Real>> layers_;
  const Tensor<Real>* input_ = nullptr;
  std::vector<Tensor<Real>> outputs_;    // outputs_[i]: output of layer i
  std::vector<Tensor<Real>> gradients_;  // gradients_[i]: dL/d(output of layer i)
};

}  // namespace homeostat
