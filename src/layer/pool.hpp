// 2-D pooling of every channel plane of every step and sample, window k, stride s (0: s = k),
// no padding, floor mode: H_out = (H - k)/s + 1, likewise W_out.
//   max:     y[c, i, j] = max_{u, v < k} x[c, i*s + u, j*s + v]; the gradient goes to the first
//            maximal element in row-major window order (argmax stored by forward).
//   average: y[c, i, j] = (1/k^2) sum_{u, v < k} x[c, i*s + u, j*s + v].
// Overlapping windows (s < k) accumulate into shared inputs; each plane is reduced by one thread
// in a fixed order, so results do not depend on the thread count.
#pragma once

#include <cstdint>

#include "layer/layer.hpp"

namespace homeostat {

enum class PoolKind { max, average };

template <typename Real>
class Pool2dLayer final : public Layer<Real> {
 public:
  // ConfigError if input_shape is not {C, H, W}, the window does not fit, or a max window
  // exceeds 16.
  Pool2dLayer(std::string name, const Shape& input_shape, PoolKind kind, std::size_t size,
              std::size_t stride);

  [[nodiscard]] std::string_view kind() const override {
    return kind_ == PoolKind::max ? "maxpool" : "avgpool";
  }
  void forward(const Tensor<Real>& input, Tensor<Real>& output, const RunContext&) override;
  void backward(const Tensor<Real>& input, const Tensor<Real>& output,
                const Tensor<Real>& grad_output, Tensor<Real>* grad_input) override;

  // Backward needs only the shapes and the stored argmax.
  [[nodiscard]] bool backward_reads_input() const override { return false; }
  [[nodiscard]] bool backward_reads_output() const override { return false; }

  [[nodiscard]] PoolKind pool_kind() const { return kind_; }

 private:
  PoolKind kind_;
  std::size_t channels_;
  std::size_t height_;
  std::size_t width_;
  std::size_t size_;
  std::size_t stride_;
  std::size_t out_height_;
  std::size_t out_width_;
  // Max pooling: per output element, the winner's index u * k + v inside its window (one byte).
  std::vector<std::uint8_t> argmax_;
};

}  // namespace homeostat
