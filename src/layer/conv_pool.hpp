// A convolution followed by max pooling, computed as one layer (the builder fuses a conv2d
// layer and the maxpool layer after it; `fuse_pool = false` on the conv2d layer keeps them
// apart). The convolution's output [T, B, C_out, H_out, W_out] is never materialized: each chunk
// of images (the convolution's own chunks, Conv2dLayer::images_per_chunk) is convolved into the
// thread's workspace and pooled at once, and the layer keeps only the pooled output and the
// winner of each window (one byte). Backward rebuilds the chunk's convolution-output gradient
// (the pooled gradient at the winners, zero elsewhere) in the workspace and runs the
// convolution's backward on it.
// Results are bit-identical to conv2d followed by maxpool: the same GEMMs over the same chunks,
// the bias added before the comparison, ties to the first maximum in row-major window order,
// overlapping windows accumulated in the same order. Convolutions on the direct path
// (layer/conv_direct.hpp) are pooled image by image, a 2x2 pool of stride 2 in the forward's
// registers, and a first layer's weight gradient walks the winners instead of a dense gradient:
// the same sums in the same order as the unfused direct convolution.
// In the network the fused layer takes the convolution's place and name (its output is the
// pooled one), and the pooling keeps its place and name as a PassThroughLayer whose output is
// its input's buffer (Layer::passes_input_through), so layer indices and names stay those of the
// config.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "layer/conv2d.hpp"
#include "layer/layer.hpp"

namespace homeostat {

template <typename Real>
class ConvPoolLayer final : public Layer<Real> {
 public:
  // `pooled_shape` is the pooling's output for the convolution's output (Pool2dLayer validates
  // the window); stride 0 means stride = size.
  ConvPoolLayer(std::unique_ptr<Conv2dLayer<Real>> conv, const Shape& pooled_shape,
                std::size_t size, std::size_t stride);

  [[nodiscard]] std::string_view kind() const override { return "conv2d_maxpool"; }
  void forward(const Tensor<Real>& input, Tensor<Real>& output, const RunContext&) override;
  void backward(const Tensor<Real>& input, const Tensor<Real>& output,
                const Tensor<Real>& grad_output, Tensor<Real>* grad_input) override;
  [[nodiscard]] bool backward_reads_output() const override { return false; }
  std::vector<Parameter<Real>*> parameters() override { return conv_->parameters(); }
  IncomingSynapses<Real> incoming_synapses() override { return conv_->incoming_synapses(); }
  [[nodiscard]] std::size_t fan_out_per_input() const override {
    return conv_->fan_out_per_input();
  }
  // The convolution runs the GEMMs.
  void set_gemm_precision(GemmPrecision precision) override {
    Layer<Real>::set_gemm_precision(precision);
    conv_->set_gemm_precision(precision);
  }

  Conv2dLayer<Real>& conv() { return *conv_; }

 private:
  // Pools one image's pixel-major convolution output channel by channel (few channels).
  void pool_channel_major(const Real* image_rows, const Real* bias, Real* y,
                          std::uint8_t* winners) const;

  // Pools one image's channel-major convolution planes (the direct path's; rows of row_stride
  // values), the same comparisons as pool_channel_major.
  void pool_planes(const Real* planes, std::size_t row_stride, const Real* bias, Real* y,
                   std::uint8_t* winners) const;

  std::unique_ptr<Conv2dLayer<Real>> conv_;
  std::size_t channels_;
  std::size_t height_;  // the convolution's output plane
  std::size_t width_;
  std::size_t size_;
  std::size_t stride_;
  std::size_t out_height_;
  std::size_t out_width_;
  // Per pooled output element, the winner's index u * k + v inside its window.
  std::vector<std::uint8_t> argmax_;
  // Per winner index u * k + v, its pixel's offset u * W + v from the window's corner.
  std::vector<std::size_t> window_offsets_;
};

// The pooling of a fused pair: in a Network it owns no buffer (its output is its input's);
// called directly (train.method = "rate" runs layers step by step) it copies.
template <typename Real>
class PassThroughLayer final : public Layer<Real> {
 public:
  PassThroughLayer(std::string name, const Shape& shape, std::string kind)
      : Layer<Real>(std::move(name), shape, shape), kind_(std::move(kind)) {}

  [[nodiscard]] std::string_view kind() const override { return kind_; }
  void forward(const Tensor<Real>& input, Tensor<Real>& output, const RunContext&) override {
    output = input;
  }
  void backward(const Tensor<Real>&, const Tensor<Real>&, const Tensor<Real>& grad_output,
                Tensor<Real>* grad_input) override {
    if (grad_input) *grad_input = grad_output;
  }
  [[nodiscard]] bool backward_reads_input() const override { return false; }
  [[nodiscard]] bool backward_reads_output() const override { return false; }
  [[nodiscard]] bool passes_input_through() const override { return true; }

 private:
  std::string kind_;
};

}  // namespace homeostat
