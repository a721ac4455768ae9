#include "layer/pool.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "layer/pool_winner.hpp"

namespace homeostat {
namespace {

Shape pool_output_shape(const std::string& name, const Shape& input_shape, PoolKind kind,
                        std::size_t size, std::size_t stride) {
  if (input_shape.size() != 3) {
    throw ConfigError("pooling layer '" + name + "' needs a {channels, height, width} input, got " +
                      shape_string(input_shape));
  }
  if (size == 0) throw ConfigError("pooling layer '" + name + "' needs a window of at least 1");
  if (input_shape[0] == 0 || input_shape[1] < size || input_shape[2] < size) {
    throw ConfigError("pooling layer '" + name + "': window " + std::to_string(size) +
                      " does not fit input " + shape_string(input_shape));
  }
  if (kind == PoolKind::max && size > 16) {  // the argmax is one byte per output element
    throw ConfigError("maxpool layer '" + name + "': window " + std::to_string(size) +
                      " is larger than 16");
  }
  return {input_shape[0], (input_shape[1] - size) / stride + 1,
          (input_shape[2] - size) / stride + 1};
}

}  // namespace

template <typename Real>
Pool2dLayer<Real>::Pool2dLayer(std::string name, const Shape& input_shape, PoolKind kind,
                               std::size_t size, std::size_t stride)
    : Layer<Real>(name, input_shape,
                  pool_output_shape(name, input_shape, kind, size, stride == 0 ? size : stride)),
      kind_(kind),
      channels_(input_shape[0]),
      height_(input_shape[1]),
      width_(input_shape[2]),
      size_(size),
      stride_(stride == 0 ? size : stride),
      out_height_(this->output_shape()[1]),
      out_width_(this->output_shape()[2]) {}

template <typename Real>
void Pool2dLayer<Real>::forward(const Tensor<Real>& input, Tensor<Real>& output,
                                const RunContext&) {
  const std::size_t in_plane = height_ * width_;
  const std::size_t out_plane = out_height_ * out_width_;
  if (input.rank() < 2 || input.dim(0) * input.dim(1) * channels_ * in_plane != input.size()) {
    throw ConfigError(std::string(kind()) + " layer '" + this->name() + "' expects [T, B] x " +
                      shape_string(this->input_shape()) + " input, got " +
                      shape_string(input.shape()));
  }
  output.resize(this->time_major(input, this->output_shape()));
  const std::size_t planes = input.dim(0) * input.dim(1) * channels_;
  const bool is_max = kind_ == PoolKind::max;
  if (is_max) argmax_.resize(planes * out_plane);
  const Real inverse_area = Real{1} / static_cast<Real>(size_ * size_);
#pragma omp parallel for schedule(static)
  for (std::size_t plane = 0; plane < planes; ++plane) {
    const Real* x = input.data() + plane * in_plane;
    Real* y = output.data() + plane * out_plane;
    std::uint8_t* winners = is_max ? argmax_.data() + plane * out_plane : nullptr;
    for (std::size_t oh = 0; oh < out_height_; ++oh) {
      for (std::size_t ow = 0; ow < out_width_; ++ow) {
        const std::size_t corner = oh * stride_ * width_ + ow * stride_;
        const std::size_t out_index = oh * out_width_ + ow;
        if (is_max) {
          const PoolWinner<Real> winner = max_pool_winner(x + corner, width_, 1, size_);
          y[out_index] = winner.value;
          winners[out_index] = winner.window;
        } else {
          Real sum{0};
          for (std::size_t u = 0; u < size_; ++u) {
            for (std::size_t v = 0; v < size_; ++v) sum += x[corner + u * width_ + v];
          }
          y[out_index] = sum * inverse_area;
        }
      }
    }
  }
}

template <typename Real>
void Pool2dLayer<Real>::backward(const Tensor<Real>& input, const Tensor<Real>&,
                                 const Tensor<Real>& grad_output, Tensor<Real>* grad_input) {
  if (!grad_input) return;  // no parameters: nothing else to do
  grad_input->resize(input.shape());
  const std::size_t in_plane = height_ * width_;
  const std::size_t out_plane = out_height_ * out_width_;
  const std::size_t planes = input.dim(0) * input.dim(1) * channels_;
  const bool is_max = kind_ == PoolKind::max;
  const Real inverse_area = Real{1} / static_cast<Real>(size_ * size_);
#pragma omp parallel for schedule(static)
  for (std::size_t plane = 0; plane < planes; ++plane) {
    Real* dx = grad_input->data() + plane * in_plane;
    const Real* dy = grad_output.data() + plane * out_plane;
    std::fill(dx, dx + in_plane, Real{0});
    if (is_max) {
      const std::uint8_t* winners = argmax_.data() + plane * out_plane;
      for (std::size_t oh = 0; oh < out_height_; ++oh) {
        for (std::size_t ow = 0; ow < out_width_; ++ow) {
          const std::size_t o = oh * out_width_ + ow;
          const std::size_t u = winners[o] / size_;
          const std::size_t v = winners[o] % size_;
          dx[(oh * stride_ + u) * width_ + ow * stride_ + v] += dy[o];
        }
      }
      continue;
    }
    for (std::size_t oh = 0; oh < out_height_; ++oh) {
      for (std::size_t ow = 0; ow < out_width_; ++ow) {
        const std::size_t corner = oh * stride_ * width_ + ow * stride_;
        const Real share = dy[oh * out_width_ + ow] * inverse_area;
        for (std::size_t u = 0; u < size_; ++u) {
          for (std::size_t v = 0; v < size_; ++v) dx[corner + u * width_ + v] += share;
        }
      }
    }
  }
}

template class Pool2dLayer<float>;
template class Pool2dLayer<double>;

}  // namespace homeostat
