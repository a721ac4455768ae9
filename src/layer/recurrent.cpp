#include "layer/recurrent.hpp"

#include <algorithm>

#include "neuron/model.hpp"
#include "tensor/blas.hpp"
#include "tensor/ops.hpp"

namespace homeostat {

template <typename Real>
RecurrentLayer<Real>::RecurrentLayer(std::string name, const Shape& input_shape, std::size_t units,
                                     const NeuronSpec& spec, bool zero_diagonal,
                                     const InitSpec& input_init, const InitSpec& recurrent_init,
                                     std::uint64_t seed, std::uint64_t layer_index)
    : Layer<Real>(name, input_shape, {units}),
      in_features_(shape_size(input_shape)),
      units_(units),
      zero_diagonal_(zero_diagonal),
      input_weight_(name + ".input_weight", {units, shape_size(input_shape)}, true),
      bias_(name + ".bias", {units}, false),
      recurrent_weight_(name + ".recurrent_weight", {units, units}, true),
      population_(make_population<Real>(name, units, spec)) {
  init_weights(input_init, in_features_, seed, layer_index, input_weight_.value, &bias_.value);
  // A distinct stream for the recurrent matrix: layer_index shifted past any real layer count.
  init_weights(recurrent_init, units, seed, layer_index + (1ull << 32), recurrent_weight_.value,
               static_cast<Tensor<Real>*>(nullptr));
  if (zero_diagonal_) clear_diagonal(recurrent_weight_.value);
}

template <typename Real>
void RecurrentLayer<Real>::clear_diagonal(Tensor<Real>& matrix) const {
  for (std::size_t i = 0; i < units_; ++i) matrix[i * units_ + i] = Real{0};
}

template <typename Real>
void RecurrentLayer<Real>::forward(const Tensor<Real>& input, Tensor<Real>& output,
                                   const RunContext&) {
  const std::size_t steps = input.dim(0);
  const std::size_t batch = input.dim(1);
  const std::size_t slice = batch * units_;
  const Shape shape = this->time_major(input, {units_});
  current_.resize(shape);
  output.resize(shape);
  // Enforced here, not only at init, so nothing (optimizer, user edits) can revive self-loops.
  if (zero_diagonal_) clear_diagonal(recurrent_weight_.value);
  gemm(Transpose::no, Transpose::yes, steps * batch, units_, in_features_, Real{1}, input.data(),
       in_features_, input_weight_.value.data(), in_features_, Real{0}, current_.data(), units_,
       this->gemm_precision());
  add_row_vector(current_.data(), bias_.value.data(), steps * batch, units_);
  population_->begin_forward(steps, batch);
  for (std::size_t t = 0; t < steps; ++t) {
    if (t > 0) {
      gemm(Transpose::no, Transpose::yes, batch, units_, units_, Real{1},
           output.data() + (t - 1) * slice, units_, recurrent_weight_.value.data(), units_, Real{1},
           current_.data() + t * slice, units_, this->gemm_precision());
    }
    population_->forward_steps(current_, output, t, t + 1);
  }
}

template <typename Real>
void RecurrentLayer<Real>::backward(const Tensor<Real>& input, const Tensor<Real>& output,
                                    const Tensor<Real>& grad_output, Tensor<Real>* grad_input) {
  const std::size_t steps = input.dim(0);
  const std::size_t batch = input.dim(1);
  const std::size_t slice = batch * units_;
  grad_spikes_ = grad_output;
  grad_current_.resize(output.shape());
  population_->begin_backward();
  for (std::size_t t = steps; t-- > 0;) {
    if (t + 1 < steps) {
      // z_t drives I_{t+1} through W_rec: dL/dz_t += dL/dI_{t+1} W_rec.
      gemm(Transpose::no, Transpose::no, batch, units_, units_, Real{1},
           grad_current_.data() + (t + 1) * slice, units_, recurrent_weight_.value.data(), units_,
           Real{1}, grad_spikes_.data() + t * slice, units_, this->gemm_precision());
    }
    population_->backward_steps(output, grad_spikes_, grad_current_, t, t + 1);
  }
  population_->finish_backward();
  if (steps > 1) {
    gemm(Transpose::yes, Transpose::no, units_, units_, (steps - 1) * batch, Real{1},
         grad_current_.data() + slice, units_, output.data(), units_, Real{1},
         recurrent_weight_.grad.data(), units_, this->gemm_precision());
    if (zero_diagonal_) clear_diagonal(recurrent_weight_.grad);
  }
  gemm(Transpose::yes, Transpose::no, units_, in_features_, steps * batch, Real{1},
       grad_current_.data(), units_, input.data(), in_features_, Real{1}, input_weight_.grad.data(),
       in_features_, this->gemm_precision());
  accumulate_column_sums(grad_current_.data(), steps * batch, units_, bias_.grad.data());
  if (grad_input) {
    grad_input->resize(input.shape());
    gemm(Transpose::no, Transpose::no, steps * batch, in_features_, units_, Real{1},
         grad_current_.data(), units_, input_weight_.value.data(), in_features_, Real{0},
         grad_input->data(), in_features_, this->gemm_precision());
  }
}

template <typename Real>
std::vector<Parameter<Real>*> RecurrentLayer<Real>::parameters() {
  std::vector<Parameter<Real>*> list{&input_weight_, &bias_, &recurrent_weight_};
  for (Parameter<Real>* p : population_->parameters()) list.push_back(p);
  return list;
}

template class RecurrentLayer<float>;
template class RecurrentLayer<double>;

}  // namespace homeostat
