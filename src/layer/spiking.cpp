#include "layer/spiking.hpp"

#include "neuron/model.hpp"

namespace homeostat {

template <typename Real>
SpikingLayer<Real>::SpikingLayer(std::string name, const Shape& input_shape, const NeuronSpec& spec)
    : Layer<Real>(name, input_shape, input_shape),
      population_(make_population<Real>(name, shape_size(input_shape), spec)) {}

template <typename Real>
void SpikingLayer<Real>::forward(const Tensor<Real>& input, Tensor<Real>& output,
                                 const RunContext&) {
  output.resize(input.shape());
  population_->begin_forward(input.dim(0), input.dim(1));
  population_->forward_steps(input, output, 0, input.dim(0));
}

template <typename Real>
void SpikingLayer<Real>::backward(const Tensor<Real>& input, const Tensor<Real>& output,
                                  const Tensor<Real>& grad_output, Tensor<Real>* grad_input) {
  // The neuron's parameter gradients need the full reverse scan even without an input gradient.
  Tensor<Real>& grad_current = grad_input ? *grad_input : grad_scratch_;
  grad_current.resize(input.shape());
  population_->begin_backward();
  population_->backward_steps(output, grad_output, grad_current, 0, input.dim(0));
  population_->finish_backward();
}

template class SpikingLayer<float>;
template class SpikingLayer<double>;

}  // namespace homeostat
