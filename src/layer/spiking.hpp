// A spiking layer: a population of LIF/ALIF neurons fed by the previous layer's current
// [T, B, features...]; the output is the spike train of the same shape. Works after dense,
// conv and pooling layers alike (neurons are the flattened features).
#pragma once

#include "layer/layer.hpp"

namespace homeostat {

template <typename Real>
class SpikingLayer final : public Layer<Real> {
 public:
  SpikingLayer(std::string name, const Shape& input_shape, const NeuronSpec& spec);

  [[nodiscard]] std::string_view kind() const override { return "lif"; }
  void forward(const Tensor<Real>& input, Tensor<Real>& output, const RunContext&) override;
  void backward(const Tensor<Real>& input, const Tensor<Real>& output,
                const Tensor<Real>& grad_output, Tensor<Real>* grad_input) override;
  // Backward reads the spikes and the stored membrane, of the input only its shape.
  [[nodiscard]] bool backward_reads_input() const override { return false; }
  // Step by step, element by element: dL/dI_t over dL/dz_t (lif_backward_step).
  [[nodiscard]] bool backward_in_place() const override { return true; }
  std::vector<Parameter<Real>*> parameters() override { return population_.parameters(); }
  NeuronPopulation<Real>* neurons() override { return &population_; }

 private:
  NeuronPopulation<Real> population_;
  Tensor<Real> grad_scratch_;  // grad_current when the caller needs no input gradient
};

}  // namespace homeostat
