#include "layer/conv_pool.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "layer/pool_winner.hpp"

namespace homeostat {

template <typename Real>
ConvPoolLayer<Real>::ConvPoolLayer(std::unique_ptr<Conv2dLayer<Real>> conv,
                                   const Shape& pooled_shape, std::size_t size, std::size_t stride)
    : Layer<Real>(conv->name(), conv->input_shape(), pooled_shape),
      conv_(std::move(conv)),
      channels_(conv_->output_shape()[0]),
      height_(conv_->output_shape()[1]),
      width_(conv_->output_shape()[2]),
      size_(size),
      stride_(stride == 0 ? size : stride),
      out_height_(pooled_shape.at(1)),
      out_width_(pooled_shape.at(2)) {
  if (size_ == 0 || size_ > 16 || pooled_shape.size() != 3 || pooled_shape[0] != channels_) {
    throw ConfigError("conv2d layer '" + this->name() + "': cannot fuse a pooling window of " +
                      std::to_string(size_) + " into output " + shape_string(pooled_shape));
  }
  for (std::size_t u = 0; u < size_; ++u) {
    for (std::size_t v = 0; v < size_; ++v) window_offsets_.push_back(u * width_ + v);
  }
}

template <typename Real>
void ConvPoolLayer<Real>::pool_channel_major(const Real* image_rows, const Real* bias, Real* y,
                                             std::uint8_t* winners) const {
  const std::size_t out_plane = out_height_ * out_width_;
  for (std::size_t o = 0; o < channels_; ++o) {
    const Real shift = bias ? bias[o] : Real{0};
    for (std::size_t oh = 0; oh < out_height_; ++oh) {
      for (std::size_t ow = 0; ow < out_width_; ++ow) {
        // As Pool2dLayer on the biased output.
        const std::size_t corner = oh * stride_ * width_ + ow * stride_;
        const PoolWinner<Real> winner =
            max_pool_winner(image_rows + corner * channels_ + o, width_ * channels_, channels_,
                            size_, [shift](Real value) { return value + shift; });
        const std::size_t out_index = o * out_plane + oh * out_width_ + ow;
        y[out_index] = winner.value;
        winners[out_index] = winner.window;
      }
    }
  }
}

template <typename Real>
void ConvPoolLayer<Real>::pool_planes(const Real* planes, std::size_t row_stride, const Real* bias,
                                      Real* y, std::uint8_t* winners) const {
  const std::size_t out_plane = out_height_ * out_width_;
  for (std::size_t o = 0; o < channels_; ++o) {
    const Real shift = bias ? bias[o] : Real{0};
    const Real* plane = planes + o * height_ * row_stride;
    for (std::size_t oh = 0; oh < out_height_; ++oh) {
      for (std::size_t ow = 0; ow < out_width_; ++ow) {
        const Real* corner = plane + oh * stride_ * row_stride + ow * stride_;
        const PoolWinner<Real> winner = max_pool_winner(
            corner, row_stride, 1, size_, [shift](Real value) { return value + shift; });
        const std::size_t out_index = o * out_plane + oh * out_width_ + ow;
        y[out_index] = winner.value;
        winners[out_index] = winner.window;
      }
    }
  }
}

template <typename Real>
void ConvPoolLayer<Real>::forward(const Tensor<Real>& input, Tensor<Real>& output,
                                  const RunContext&) {
  const std::size_t image_size = shape_size(this->input_shape());
  if (input.rank() < 2 || input.dim(0) * input.dim(1) * image_size != input.size()) {
    throw ConfigError("conv2d layer '" + this->name() + "' expects [T, B] x " +
                      shape_string(this->input_shape()) + " input, got " +
                      shape_string(input.shape()));
  }
  output.resize(this->time_major(input, this->output_shape()));
  const std::size_t images = input.dim(0) * input.dim(1);
  const std::size_t pixels = height_ * width_;
  const std::size_t out_plane = out_height_ * out_width_;
  const std::size_t out_size = channels_ * out_plane;
  argmax_.resize(images * out_size);
  const std::size_t chunk = conv_->images_per_chunk();
  const std::size_t chunks = (images + chunk - 1) / chunk;
  const Real* bias = conv_->bias_values();
  conv_->prepare(chunks);
#pragma omp parallel for schedule(dynamic)
  for (std::size_t index = 0; index < chunks; ++index) {
    const std::size_t first = index * chunk;
    const std::size_t count = std::min(chunk, images - first);
    if (conv_->direct() && size_ == 2 && stride_ == 2) {  // pooled as it is convolved
      for (std::size_t n = first; n < first + count; ++n) {
        conv_->direct_forward_pool2(input.data() + n * image_size, output.data() + n * out_size,
                                    argmax_.data() + n * out_size);
      }
      continue;
    }
    if (conv_->direct()) {  // image by image: the planes stay in cache
      for (std::size_t n = first; n < first + count; ++n) {
        pool_planes(conv_->direct_planes(input.data() + n * image_size), conv_->direct_row_stride(),
                    bias, output.data() + n * out_size, argmax_.data() + n * out_size);
      }
      continue;
    }
    // Pixel-major [count * pixels, C]: element (n, pixel, o) at (n * pixels + pixel) * C + o.
    const Real* rows = conv_->forward_rows(input.data() + first * image_size, count);
    for (std::size_t n = 0; n < count; ++n) {
      const Real* image_rows = rows + n * pixels * channels_;
      Real* y = output.data() + (first + n) * out_size;
      std::uint8_t* winners = argmax_.data() + (first + n) * out_size;
      // Window by window, channels innermost (contiguous in the pixel-major rows, so the
      // comparisons vectorize), in blocks of kBlock channels. Per channel this is Pool2dLayer's
      // comparison sequence on the biased output: strict, the first maximum wins.
      constexpr std::size_t kBlock = 64;
      if (channels_ < 16) {  // too few channels for a vector: channel by channel in registers
        pool_channel_major(image_rows, bias, y, winners);
        continue;
      }
      for (std::size_t o0 = 0; o0 < channels_; o0 += kBlock) {
        const std::size_t block = std::min(kBlock, channels_ - o0);
        const Real* shift = bias ? bias + o0 : nullptr;
        for (std::size_t oh = 0; oh < out_height_; ++oh) {
          for (std::size_t ow = 0; ow < out_width_; ++ow) {
            const std::size_t corner = oh * stride_ * width_ + ow * stride_;
            Real best[kBlock];
            std::uint8_t best_window[kBlock];
            const Real* first_row = image_rows + corner * channels_ + o0;
            for (std::size_t o = 0; o < block; ++o) {
              best[o] = first_row[o] + (shift ? shift[o] : Real{0});
              best_window[o] = 0;
            }
            for (std::size_t u = 0; u < size_; ++u) {
              for (std::size_t v = 0; v < size_; ++v) {
                const Real* entry = image_rows + (corner + u * width_ + v) * channels_ + o0;
                const auto window = static_cast<std::uint8_t>(u * size_ + v);
#pragma omp simd
                for (std::size_t o = 0; o < block; ++o) {
                  keep_larger(best[o], best_window[o], entry[o] + (shift ? shift[o] : Real{0}),
                              window);
                }
              }
            }
            const std::size_t q = oh * out_width_ + ow;
            for (std::size_t o = 0; o < block; ++o) {
              y[(o0 + o) * out_plane + q] = best[o];
              winners[(o0 + o) * out_plane + q] = best_window[o];
            }
          }
        }
      }
    }
  }
}

template <typename Real>
void ConvPoolLayer<Real>::backward(const Tensor<Real>& input, const Tensor<Real>&,
                                   const Tensor<Real>& grad_output, Tensor<Real>* grad_input) {
  const std::size_t image_size = shape_size(this->input_shape());
  const std::size_t images = input.dim(0) * input.dim(1);
  const std::size_t pixels = height_ * width_;
  const std::size_t out_plane = out_height_ * out_width_;
  const std::size_t out_size = channels_ * out_plane;
  const std::size_t chunk = conv_->images_per_chunk();
  const std::size_t chunks = (images + chunk - 1) / chunk;
  if (grad_input) grad_input->resize(input.shape());
  conv_->prepare(chunks);
  // Groups of chunks in order on one thread (Conv2dLayer::chunk_groups).
  const auto groups = Conv2dLayer<Real>::chunk_groups(chunks);
  // A first layer on the direct path under 2x2 windows needs only the weight gradient, which the
  // winners give directly (Conv2dLayer::direct_backward_pooled).
  const bool walk_winners = conv_->direct() && !grad_input && size_ == 2 && stride_ == 2;
#pragma omp parallel for schedule(dynamic)
  for (std::size_t group = 0; group < groups.groups; ++group) {
    for (std::size_t index = groups.begin(group); index < std::min(chunks, groups.begin(group + 1));
         ++index) {
      const std::size_t first = index * chunk;
      const std::size_t count = std::min(chunk, images - first);
      const std::size_t stride = count * pixels;
      if (walk_winners) {  // no dense gradient: the direct path walks the winners
        conv_->direct_backward_pooled(input.data() + first * image_size, count, index,
                                      grad_output.data() + first * out_size,
                                      argmax_.data() + first * out_size);
        continue;
      }
      // The convolution-output gradient, channel-major [C, count * pixels]: the pooled gradient
      // at each window's winner (accumulated in Pool2dLayer's order where windows overlap).
      Real* rows = conv_->gradient_rows(count);
      std::fill(rows, rows + channels_ * stride, Real{0});
      for (std::size_t n = 0; n < count; ++n) {
        const Real* dy = grad_output.data() + (first + n) * out_size;
        const std::uint8_t* winners = argmax_.data() + (first + n) * out_size;
        for (std::size_t o = 0; o < channels_; ++o) {
          Real* dx = rows + o * stride + n * pixels;
          for (std::size_t oh = 0; oh < out_height_; ++oh) {
            for (std::size_t ow = 0; ow < out_width_; ++ow) {
              const std::size_t q = o * out_plane + oh * out_width_ + ow;
              // The winner's pixel: the window's corner plus its offset (no division).
              dx[(oh * stride_) * width_ + ow * stride_ + window_offsets_[winners[q]]] += dy[q];
            }
          }
        }
      }
      conv_->backward_rows(input.data() + first * image_size, count, index,
                           grad_input ? grad_input->data() + first * image_size : nullptr);
    }
  }
  conv_->reduce_partials(chunks);
}

template class ConvPoolLayer<float>;
template class ConvPoolLayer<double>;

}  // namespace homeostat
