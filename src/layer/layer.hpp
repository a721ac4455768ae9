// The layer interface. A layer maps a time-major input [T, B, in...] to an output
// [T, B, out...] for a whole batch and all steps at once; the network owns the activations and
// hands them back in backward, so layers keep only what the backward pass needs.
// Contract: forward assigns `output`; backward assigns `grad_input` (when non-null) and
// accumulates (+=) parameter gradients.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "neuron/population.hpp"
#include "tensor/blas.hpp"
#include "tensor/parameter.hpp"
#include "tensor/tensor.hpp"

namespace homeostat {

// What a forward pass is for, and the keys of its random streams (dropout masks).
struct RunContext {
  bool training = false;
  std::uint64_t seed = 0;
  std::uint64_t epoch = 0;
  std::uint64_t batch = 0;
  // train.shards > 1: which shard of the batch this pass is (its own dropout masks); 0 otherwise.
  std::uint64_t shard = 0;
};

// Non-trainable state that a checkpoint must keep (e.g. TEBN's running statistics).
template <typename Real>
struct StateBuffer {
  std::string name;
  std::vector<Real>* values;
};

// The synapses onto a layer's units, for weight-channel regulators (synaptic scaling, bounds,
// sleep): each tensor is unit-major, [units, fan_in] (dense [out, in], conv [C_out, C_in k k]
// with one unit per output channel, recurrent input and recurrent matrices [N, *]).
template <typename Real>
struct IncomingSynapses {
  std::vector<Tensor<Real>*> weights;
  std::size_t units = 0;
};

template <typename Real>
class Layer {
 public:
  Layer(std::string name, Shape input_shape, Shape output_shape)
      : name_(std::move(name)),
        input_shape_(std::move(input_shape)),
        output_shape_(std::move(output_shape)) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  [[nodiscard]] virtual std::string_view kind() const = 0;
  [[nodiscard]] const std::string& name() const { return name_; }
  // Per-sample feature shapes (without T and B).
  [[nodiscard]] const Shape& input_shape() const { return input_shape_; }
  [[nodiscard]] const Shape& output_shape() const { return output_shape_; }

  virtual void forward(const Tensor<Real>& input, Tensor<Real>& output,
                       const RunContext& context) = 0;
  virtual void backward(const Tensor<Real>& input, const Tensor<Real>& output,
                        const Tensor<Real>& grad_output, Tensor<Real>* grad_input) = 0;

  // Whether backward reads the values (not just the shape) of its input and of its output. Where
  // layer i+1 reads neither its input nor layer i reads its output, the network lets layer i+1
  // write its input gradient over that activation (Network::backward), saving a buffer.
  [[nodiscard]] virtual bool backward_reads_input() const { return true; }
  [[nodiscard]] virtual bool backward_reads_output() const { return true; }
  // An identity in a Network: the network hands on its input buffer as its output and its
  // output gradient as its input gradient, and calls neither forward nor backward (the pooling
  // half of a fused conv + pool pair, layer/conv_pool.hpp). Never honoured for a first layer.
  [[nodiscard]] virtual bool passes_input_through() const { return false; }
  // Whether backward accepts grad_input == &grad_output: each input-gradient element is written
  // after the output-gradient elements it needs were read. Where the input's gradient lives in
  // the input's own buffer, the network then keeps the output gradient there too.
  [[nodiscard]] virtual bool backward_in_place() const { return false; }

  virtual std::vector<Parameter<Real>*> parameters() { return {}; }
  virtual std::vector<StateBuffer<Real>> state_buffers() { return {}; }
  // Spiking layers expose their neurons (activity monitor, threshold regulators).
  virtual NeuronPopulation<Real>* neurons() { return nullptr; }
  // Synaptic fan-out of each output unit into the next layer is not known here; this is the
  // number of synapses each input unit drives (SynOps accounting), 0 for parameter-free layers.
  [[nodiscard]] virtual std::size_t fan_out_per_input() const { return 0; }
  // Synapses each spike of this layer's own output drives back into the layer at the next step
  // (recurrent layers: units, or units - 1 without self-connections); 0 for the others.
  [[nodiscard]] virtual std::size_t recurrent_fan_out() const { return 0; }
  // Empty for layers without synapses (lif, pooling, dropout, tebn).
  virtual IncomingSynapses<Real> incoming_synapses() { return {}; }

  // Operand precision of the layer's float GEMMs (tensor/blas.hpp): fp32 until set, normally by
  // Network::set_gemm_precision. Layers without GEMMs ignore it; a layer that wraps another
  // passes it on. std::runtime_error for bf16 on a CPU without AVX512-BF16.
  virtual void set_gemm_precision(GemmPrecision precision) {
    require_gemm_precision(precision);
    gemm_precision_ = precision;
  }
  [[nodiscard]] GemmPrecision gemm_precision() const { return gemm_precision_; }

 protected:
  // Output shape [T, B, output_shape...] for an input of T steps and B samples.
  [[nodiscard]] Shape time_major(const Tensor<Real>& input, const Shape& features) const {
    Shape shape{input.dim(0), input.dim(1)};
    shape.insert(shape.end(), features.begin(), features.end());
    return shape;
  }

 private:
  std::string name_;
  Shape input_shape_;
  Shape output_shape_;
  GemmPrecision gemm_precision_ = GemmPrecision::fp32;
};

template <typename Real>
using LayerPtr = std::unique_ptr<Layer<Real>>;

}  // namespace homeostat
