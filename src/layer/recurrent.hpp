// A recurrent spiking layer: I_t = W_in x_t + b + W_rec z_{t-1}, fed to a population of neurons of
// any model (neuron/model.hpp; lif by default, `neuron = "cuba_lif"` in the config).
// The input projection of all steps is one GEMM; only the recurrent term goes step by step.
// Optional zero diagonal (no self-connections): the diagonal of W_rec is held at 0.
#pragma once

#include <memory>

#include "layer/init.hpp"
#include "layer/layer.hpp"

namespace homeostat {

template <typename Real>
class RecurrentLayer final : public Layer<Real> {
 public:
  RecurrentLayer(std::string name, const Shape& input_shape, std::size_t units,
                 const NeuronSpec& spec, bool zero_diagonal, const InitSpec& input_init,
                 const InitSpec& recurrent_init, std::uint64_t seed, std::uint64_t layer_index);

  [[nodiscard]] std::string_view kind() const override { return "recurrent"; }
  void forward(const Tensor<Real>& input, Tensor<Real>& output, const RunContext&) override;
  void backward(const Tensor<Real>& input, const Tensor<Real>& output,
                const Tensor<Real>& grad_output, Tensor<Real>* grad_input) override;
  std::vector<Parameter<Real>*> parameters() override;
  NeuronPopulation<Real>* neurons() override { return population_.get(); }
  IncomingSynapses<Real> incoming_synapses() override {
    return {{&input_weight_.value, &recurrent_weight_.value}, units_};
  }
  [[nodiscard]] std::size_t fan_out_per_input() const override { return units_; }
  [[nodiscard]] std::size_t recurrent_fan_out() const override {
    return zero_diagonal_ ? units_ - 1 : units_;
  }

 private:
  void clear_diagonal(Tensor<Real>& matrix) const;

  std::size_t in_features_;
  std::size_t units_;
  bool zero_diagonal_;
  Parameter<Real> input_weight_;      // [N, in]
  Parameter<Real> bias_;              // [N]
  Parameter<Real> recurrent_weight_;  // [N, N]; row i holds the synapses onto neuron i
  std::unique_ptr<NeuronPopulation<Real>> population_;
  Tensor<Real> current_;       // [T, B, N]
  Tensor<Real> grad_spikes_;   // [T, B, N]
  Tensor<Real> grad_current_;  // [T, B, N]
};

}  // namespace homeostat
