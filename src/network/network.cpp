#include "network/network.hpp"

#include <algorithm>
#include <stdexcept>

#include "common/error.hpp"

namespace homeostat {

template <typename Real>
void Network<Real>::add(LayerPtr<Real> layer) {
  if (!layers_.empty() && layers_.back()->output_shape() != layer->input_shape()) {
    throw ConfigError("layer '" + layer->name() + "' expects input " +
                      shape_string(layer->input_shape()) + " but '" + layers_.back()->name() +
                      "' produces " + shape_string(layers_.back()->output_shape()));
  }
  layers_.push_back(std::move(layer));
  outputs_.resize(layers_.size());
  gradients_.resize(layers_.size());
}

template <typename Real>
Shape Network<Real>::input_shape() const {
  return layers_.empty() ? Shape{} : layers_.front()->input_shape();
}

template <typename Real>
Shape Network<Real>::output_shape() const {
  return layers_.empty() ? Shape{} : layers_.back()->output_shape();
}

template <typename Real>
const Tensor<Real>& Network<Real>::forward(const Tensor<Real>& input, const RunContext& context) {
  if (layers_.empty()) throw ConfigError("the network has no layers");
  Shape features(input.shape().begin() + 2, input.shape().end());
  if (shape_size(features) != shape_size(input_shape())) {
    throw ConfigError("the network expects " + shape_string(input_shape()) +
                      " features per step but the input has " + shape_string(features));
  }
  input_ = &input;
  const Tensor<Real>* current = &input;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    if (passes_through(i)) continue;  // its output is `current`
    layers_[i]->forward(*current, outputs_[i], context);
    current = &outputs_[i];
  }
  return *current;
}

template <typename Real>
bool Network<Real>::passes_through(std::size_t index) const {
  return index > 0 && layers_[index]->passes_input_through();
}

template <typename Real>
std::size_t Network<Real>::owner(std::size_t index) const {
  while (passes_through(index)) --index;
  return index;
}

template <typename Real>
const Tensor<Real>& Network<Real>::output(std::size_t index) const {
  return outputs_.at(owner(index));
}

template <typename Real>
void Network<Real>::backward(const Tensor<Real>& grad_output, const SpikeGradientHook& hook) {
  if (!input_) throw std::logic_error("Network::backward called before forward");
  gradient_buffer(layers_.size() - 1) = grad_output;
  for (std::size_t i = layers_.size(); i-- > 0;) {
    if (NeuronPopulation<Real>* neurons = layers_[i]->neurons()) {
      std::vector<Real>& uniform = neurons->uniform_spike_gradient();
      std::fill(uniform.begin(), uniform.end(), Real{0});
      if (hook) hook(i, uniform);
    }
    if (passes_through(i)) continue;  // its gradients are its input's buffers
    const Tensor<Real>& layer_input = i == 0 ? *input_ : output(i - 1);
    // The first layer's input gradient is never used; skip it unless the layer needs the
    // buffer for its own reverse scan (it gets a scratch tensor then).
    Tensor<Real>* grad_input = i == 0 ? nullptr : &gradient_buffer(i - 1);
    layers_[i]->backward(layer_input, outputs_[i], gradient_buffer(i), grad_input);
  }
}

template <typename Real>
bool Network<Real>::gradient_shares_output(std::size_t index) const {
  // The next layer that runs a backward (pass-through layers read nothing).
  std::size_t next = index + 1;
  while (next < layers_.size() && passes_through(next)) ++next;
  return next < layers_.size() && !layers_[index]->backward_reads_output() &&
         !layers_[next]->backward_reads_input();
}

template <typename Real>
bool Network<Real>::gradient_in_input_gradient(std::size_t index) const {
  // The input's buffer holds no value any backward reads once the output gradient arrives
  // (gradient_shares_output), and the layer turns its output gradient into its input gradient
  // in place.
  return index > 0 && layers_[index]->backward_in_place() &&
         gradient_shares_output(owner(index - 1)) &&
         shape_size(layers_[index]->input_shape()) == shape_size(layers_[index]->output_shape());
}

template <typename Real>
Tensor<Real>& Network<Real>::gradient_buffer(std::size_t index) {
  index = owner(index);
  if (gradient_in_input_gradient(index)) return gradient_buffer(index - 1);
  return gradient_shares_output(index) ? outputs_[index] : gradients_[index];
}

template <typename Real>
std::size_t Network<Real>::activation_bytes() const {
  std::size_t elements = 0;
  for (const Tensor<Real>& t : outputs_) elements += t.size();
  for (const Tensor<Real>& t : gradients_) elements += t.size();
  return elements * sizeof(Real);
}

template <typename Real>
std::vector<Parameter<Real>*> Network<Real>::parameters() {
  std::vector<Parameter<Real>*> list;
  for (auto& layer : layers_) {
    for (Parameter<Real>* p : layer->parameters()) list.push_back(p);
  }
  return list;
}

template <typename Real>
std::vector<StateBuffer<Real>> Network<Real>::state_buffers() {
  std::vector<StateBuffer<Real>> list;
  for (auto& layer : layers_) {
    for (const StateBuffer<Real>& b : layer->state_buffers()) list.push_back(b);
  }
  return list;
}

template <typename Real>
std::vector<std::size_t> Network<Real>::spiking_layers() const {
  std::vector<std::size_t> indices;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    if (layers_[i]->neurons()) indices.push_back(i);
  }
  return indices;
}

template <typename Real>
void Network<Real>::zero_grad() {
  for (Parameter<Real>* p : parameters()) p->grad.zero();
}

template <typename Real>
void Network<Real>::set_gemm_precision(GemmPrecision precision) {
  require_gemm_precision(precision);
  for (const LayerPtr<Real>& layer : layers_) layer->set_gemm_precision(precision);
}

template class Network<float>;
template class Network<double>;

}  // namespace homeostat
