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

  // Output of layer `index` in the last forward pass. After backward, an output whose gradient
  // shares its buffer (gradient_shares_output) holds that gradient instead.
  // A layer that passes its input through (Layer::passes_input_through) shows its input's.
  [[nodiscard]] const Tensor<Real>& output(std::size_t index) const;

  // Bytes of the per-layer outputs and output gradients ([T, B, ...] each) the network keeps
  // for its backward pass (train.method = "bptt"; the bench reports it).
  [[nodiscard]] std::size_t activation_bytes() const;

  std::vector<Parameter<Real>*> parameters();
  std::vector<StateBuffer<Real>> state_buffers();
  void zero_grad();
  // Sets the operand precision of every layer's float GEMMs (Layer::set_gemm_precision): the
  // config's gemm_precision, given once the layers are added. std::runtime_error for bf16 on a
  // CPU without AVX512-BF16.
  void set_gemm_precision(GemmPrecision precision);
  // Indices of the layers with spiking neurons (activity monitor, regulators).
  [[nodiscard]] std::vector<std::size_t> spiking_layers() const;

 private:
  // Whether layer `index`'s output gradient lives in its output buffer (see
  // Layer::backward_reads_output), and the buffer that holds that gradient.
  [[nodiscard]] bool gradient_shares_output(std::size_t index) const;
  // Whether layer `index` passes its input through (never the first layer), and the layer whose
  // buffers hold layer `index`'s output and output gradient.
  [[nodiscard]] bool passes_through(std::size_t index) const;
  [[nodiscard]] std::size_t owner(std::size_t index) const;
  // Whether layer `index`'s output gradient shares its input gradient's buffer (a spiking layer
  // after a pooling or dense current: one buffer holds the current, then the spike gradient,
  // then the current's gradient; Layer::backward_in_place).
  [[nodiscard]] bool gradient_in_input_gradient(std::size_t index) const;
  Tensor<Real>& gradient_buffer(std::size_t index);

  std::vector<LayerPtr<Real>> layers_;
  const Tensor<Real>* input_ = nullptr;
  std::vector<Tensor<Real>> outputs_;    // outputs_[i]: output of layer i
  std::vector<Tensor<Real>> gradients_;  // gradients_[i]: dL/d(output of layer i)
};

}  // namespace homeostat
