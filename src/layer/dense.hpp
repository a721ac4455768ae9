// Dense synapses: I_t = W x_t + b for every step, computed as ONE GEMM over all T*B rows.
// W is [out, in] (PyTorch's layout), the input's per-sample features are flattened.
#pragma once

#include <optional>

#include "layer/init.hpp"
#include "layer/layer.hpp"

namespace homeostat {

template <typename Real>
class DenseLayer final : public Layer<Real> {
 public:
  DenseLayer(std::string name, const Shape& input_shape, std::size_t units, bool use_bias,
             const InitSpec& init, std::uint64_t seed, std::uint64_t layer_index);

  [[nodiscard]] std::string_view kind() const override { return "dense"; }
  void forward(const Tensor<Real>& input, Tensor<Real>& output, const RunContext&) override;
  void backward(const Tensor<Real>& input, const Tensor<Real>& output,
                const Tensor<Real>& grad_output, Tensor<Real>* grad_input) override;
  [[nodiscard]] bool backward_reads_output() const override { return false; }
  std::vector<Parameter<Real>*> parameters() override;
  IncomingSynapses<Real> incoming_synapses() override { return {{&weight_.value}, units_}; }
  [[nodiscard]] std::size_t fan_out_per_input() const override { return units_; }

  Parameter<Real>& weight() { return weight_; }

 private:
  std::size_t in_features_;
  std::size_t units_;
  Parameter<Real> weight_;               // [out, in]
  std::optional<Parameter<Real>> bias_;  // [out]
};

}  // namespace homeostat
