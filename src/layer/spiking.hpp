// A spiking layer: a population of neurons of any model (neuron/model.hpp: lif, cuba_lif, ...)
// fed by the previous layer's output [T, B, features...]; the output is the spike train of the
// same shape. Works after dense, conv and pooling layers alike (neurons are the flattened
// features). Its kind is the model's name.
#pragma once

#include <memory>

#include "layer/layer.hpp"

namespace homeostat {

template <typename Real>
class SpikingLayer final : public Layer<Real> {
 public:
  SpikingLayer(std::string name, const Shape& input_shape, const NeuronSpec& spec);

  [[nodiscard]] std::string_view kind() const override { return population_->spec().model; }
  void forward(const Tensor<Real>& input, Tensor<Real>& output, const RunContext&) override;
  void backward(const Tensor<Real>& input, const Tensor<Real>& output,
                const Tensor<Real>& grad_output, Tensor<Real>* grad_input) override;
  // Backward reads the spikes and the stored state, of the input only its shape.
  [[nodiscard]] bool backward_reads_input() const override { return false; }
  // Step by step, element by element: dL/d input_t over dL/dz_t (NeuronPopulation::backward_steps).
  [[nodiscard]] bool backward_in_place() const override { return true; }
  std::vector<Parameter<Real>*> parameters() override { return population_->parameters(); }
  NeuronPopulation<Real>* neurons() override { return population_.get(); }

 private:
  std::unique_ptr<NeuronPopulation<Real>> population_;
  Tensor<Real> grad_scratch_;  // grad_input when the caller needs no input gradient
};

}  // namespace homeostat
