#include "layer/dense.hpp"

#include "tensor/blas.hpp"
#include "tensor/ops.hpp"

namespace homeostat {

template <typename Real>
DenseLayer<Real>::DenseLayer(std::string name, const Shape& input_shape, std::size_t units,
                             bool use_bias, const InitSpec& init, std::uint64_t seed,
                             std::uint64_t layer_index)
    : Layer<Real>(name, input_shape, {units}),
      in_features_(shape_size(input_shape)),
      units_(units),
      weight_(name + ".weight", {units, shape_size(input_shape)}, true) {
  if (use_bias) bias_.emplace(name + ".bias", Shape{units}, false);
  init_weights(init, in_features_, seed, layer_index, weight_.value,
               bias_ ? &bias_->value : nullptr);
}

template <typename Real>
void DenseLayer<Real>::forward(const Tensor<Real>& input, Tensor<Real>& output, const RunContext&) {
  const std::size_t rows = input.dim(0) * input.dim(1);
  output.resize(this->time_major(input, {units_}));
  gemm(Transpose::no, Transpose::yes, rows, units_, in_features_, Real{1}, input.data(),
       in_features_, weight_.value.data(), in_features_, Real{0}, output.data(), units_,
       this->gemm_precision());
  if (bias_) add_row_vector(output.data(), bias_->value.data(), rows, units_);
}

template <typename Real>
void DenseLayer<Real>::backward(const Tensor<Real>& input, const Tensor<Real>&,
                                const Tensor<Real>& grad_output, Tensor<Real>* grad_input) {
  const std::size_t rows = input.dim(0) * input.dim(1);
  // dW += dY^T X over all steps at once; db += column sums of dY.
  gemm(Transpose::yes, Transpose::no, units_, in_features_, rows, Real{1}, grad_output.data(),
       units_, input.data(), in_features_, Real{1}, weight_.grad.data(), in_features_,
       this->gemm_precision());
  if (bias_) accumulate_column_sums(grad_output.data(), rows, units_, bias_->grad.data());
  if (grad_input) {
    grad_input->resize(input.shape());
    gemm(Transpose::no, Transpose::no, rows, in_features_, units_, Real{1}, grad_output.data(),
         units_, weight_.value.data(), in_features_, Real{0}, grad_input->data(), in_features_,
         this->gemm_precision());
  }
}

template <typename Real>
std::vector<Parameter<Real>*> DenseLayer<Real>::parameters() {
  std::vector<Parameter<Real>*> list{&weight_};
  if (bias_) list.push_back(&*bias_);
  return list;
}

template class DenseLayer<float>;
template class DenseLayer<double>;

}  // namespace homeostat
