// Leaky-integrator readout: a non-spiking membrane v_t = beta v_{t-1} + I_t, output [T, B, N].
// Losses read its mean or maximum over time. Put a dense layer in front of it for the current.
#pragma once

#include "layer/layer.hpp"

namespace homeostat {

template <typename Real>
class ReadoutLayer final : public Layer<Real> {
 public:
  ReadoutLayer(std::string name, const Shape& input_shape, double decay)
      : Layer<Real>(name, input_shape, input_shape), decay_(static_cast<Real>(decay)) {}

  [[nodiscard]] std::string_view kind() const override { return "readout"; }
  [[nodiscard]] Real decay() const { return decay_; }

  void forward(const Tensor<Real>& input, Tensor<Real>& output, const RunContext&) override {
    output.resize(input.shape());
    const std::size_t slice = input.stride0();
    for (std::size_t t = 0; t < input.dim(0); ++t) {
      const Real* in = input.data() + t * slice;
      Real* v = output.data() + t * slice;
      for (std::size_t e = 0; e < slice; ++e) v[e] = in[e] + (t ? decay_ * v[e - slice] : Real{0});
    }
  }

  void backward(const Tensor<Real>& input, const Tensor<Real>&, const Tensor<Real>& grad_output,
                Tensor<Real>* grad_input) override {
    if (!grad_input) return;
    grad_input->resize(input.shape());
    const std::size_t slice = input.stride0();
    for (std::size_t t = input.dim(0); t-- > 0;) {
      const Real* g_out = grad_output.data() + t * slice;
      Real* g = grad_input->data() + t * slice;
      const bool last = t + 1 == input.dim(0);
      for (std::size_t e = 0; e < slice; ++e)
        g[e] = g_out[e] + (last ? Real{0} : decay_ * g[e + slice]);
    }
  }

 private:
  Real decay_;
};

}  // namespace homeostat
