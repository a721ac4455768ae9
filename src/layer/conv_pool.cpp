#include "layer/conv_pool.hpp"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "common/error.hpp"

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
}

template <typename Real>
void ConvPoolLayer<Real>::pool_channel_major(const Real* image_rows, const Real* bias, Real* y,
                                             std::uint8_t* winners) const {
  const std::size_t out_plane = out_height_ * out_width_;
  for (std::size_t o = 0; o < channels_; ++o) {
    const Real shift = bias ? bias[o] : Real{0};
    for (std::size_t oh = 0; oh < out_height_; ++oh) {
      for (std::size_t ow = 0; ow < out_width_; ++ow) {
        // As Pool2dLayer on the biased output: strict comparison, first maximum wins; a running
        // maximum in a register, selects rather than branches.
        const std::size_t corner = oh * stride_ * width_ + ow * stride_;
        Real best = image_rows[corner * channels_ + o] + shift;
        std::size_t best_window = 0;
        for (std::size_t u = 0; u < size_; ++u) {
          const Real* row = image_rows + (corner + u * width_) * channels_ + o;
          for (std::size_t v = 0; v < size_; ++v) {
            const Real value = row[v * channels_] + shift;
            const bool larger = value > best;
            best = larger ? value : best;
            best_window = larger ? u * size_ + v : best_window;
          }
        }
        const std::size_t out_index = o * out_plane + oh * out_width_ + ow;
        y[out_index] = best;
        winners[out_index] = static_cast<std::uint8_t>(best_window);
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
                  const Real value = entry[o] + (shift ? shift[o] : Real{0});
                  const bool larger = value > best[o];
                  best[o] = larger ? value : best[o];
                  best_window[o] = larger ? window : best_window[o];
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
#pragma omp parallel for schedule(dynamic)
  for (std::size_t group = 0; group < groups.groups; ++group) {
    for (std::size_t index = groups.begin(group); index < std::min(chunks, groups.begin(group + 1));
         ++index) {
      const std::size_t first = index * chunk;
      const std::size_t count = std::min(chunk, images - first);
      const std::size_t stride = count * pixels;
      // The convolution-output gradient, channel-major [C, count * pixels]: the pooled gradient
      // at each window's winner (accumulated in Pool2dLayer's order where windows overlap).
      Real* rows = conv_->gradient_rows(count);
      Real* chunk_grad = grad_input ? grad_input->data() + first * image_size : nullptr;
      // Non-overlapping windows: the input gradient from the winners alone (below).
      const bool winners_only = chunk_grad != nullptr && stride_ == size_;
      std::fill(rows, rows + channels_ * stride, Real{0});
      for (std::size_t n = 0; n < count; ++n) {
        const Real* dy = grad_output.data() + (first + n) * out_size;
        const std::uint8_t* winners = argmax_.data() + (first + n) * out_size;
        for (std::size_t o = 0; o < channels_; ++o) {
          Real* dx = rows + o * stride + n * pixels;
          for (std::size_t oh = 0; oh < out_height_; ++oh) {
            for (std::size_t ow = 0; ow < out_width_; ++ow) {
              const std::size_t q = o * out_plane + oh * out_width_ + ow;
              const std::size_t u = winners[q] / size_;
              const std::size_t v = winners[q] % size_;
              dx[(oh * stride_ + u) * width_ + ow * stride_ + v] += dy[q];
            }
          }
        }
      }
      conv_->backward_rows(input.data() + first * image_size, count, index,
                           winners_only ? nullptr : chunk_grad);
      if (winners_only)
        winner_input_gradient(grad_output.data() + first * out_size,
                              argmax_.data() + first * out_size, count, chunk_grad);
    }
  }
  conv_->reduce_partials(chunks);
}

template <typename Real>
void ConvPoolLayer<Real>::winner_input_gradient(const Real* grad_output,
                                                const std::uint8_t* winners, std::size_t count,
                                                Real* grad_images) const {
  const std::size_t image_size = shape_size(this->input_shape());
  const std::size_t out_plane = out_height_ * out_width_;
  const std::size_t out_size = channels_ * out_plane;
  const std::size_t patch = conv_->patch_size();
  const std::size_t windows = size_ * size_;
  const std::size_t sources = out_plane * windows;  // conv output pixels inside a window
  // 512-bit vectors (GCC/Clang vector extension; plain code where the target has none).
  using Vec [[gnu::vector_size(64)]] = Real;
  constexpr std::size_t kLanes = sizeof(Vec) / sizeof(Real);
  // Per conv output pixel (pooled position, then window index): its taps, and the channels it
  // wins for with their nonzero gradient.
  std::vector<Real> taps(sources * patch);
  std::vector<std::uint32_t> channel_list(sources * channels_);
  std::vector<Real> value_list(sources * channels_);
  std::vector<std::size_t> list_size(sources);
  for (std::size_t n = 0; n < count; ++n) {
    const Real* dy = grad_output + n * out_size;
    const std::uint8_t* image_winners = winners + n * out_size;
    Real* grad_image = grad_images + n * image_size;
    std::fill(grad_image, grad_image + image_size, Real{0});
    std::fill(list_size.begin(), list_size.end(), std::size_t{0});
    for (std::size_t q = 0; q < out_plane; ++q) {
      // Branch-free (the winners are random).
      for (std::size_t o = 0; o < channels_; ++o) {
        const std::size_t source = q * windows + image_winners[o * out_plane + q];
        const std::size_t at = source * channels_ + list_size[source];
        const Real g = dy[o * out_plane + q];
        channel_list[at] = static_cast<std::uint32_t>(o);
        value_list[at] = g;
        list_size[source] += g != Real{0} ? 1 : 0;
      }
    }
    // taps = sum over a pixel's entries, in channel order, of g * W[o, :]: block of taps by
    // block (the block's weights stay in L1 across the pixels), four vector chains at once.
    const auto sum_taps = [&](std::size_t j0, auto lanes) {
      constexpr std::size_t kVectors = decltype(lanes)::value;
      for (std::size_t source = 0; source < sources; ++source) {
        const std::size_t entries = list_size[source];
        const std::uint32_t* channels = channel_list.data() + source * channels_;
        const Real* values = value_list.data() + source * channels_;
        Vec sum[kVectors] = {};
        for (std::size_t e = 0; e < entries; ++e) {
          const Real* w = conv_->weight_row(channels[e]) + j0;
          for (std::size_t k = 0; k < kVectors; ++k) {
            Vec wk;
            std::memcpy(&wk, w + k * kLanes, sizeof(Vec));
            sum[k] += values[e] * wk;
          }
        }
        std::memcpy(taps.data() + source * patch + j0, sum, sizeof(sum));
      }
    };
    std::size_t j0 = 0;
    for (; j0 + 4 * kLanes <= patch; j0 += 4 * kLanes)
      sum_taps(j0, std::integral_constant<std::size_t, 4>{});
    for (; j0 + kLanes <= patch; j0 += kLanes)
      sum_taps(j0, std::integral_constant<std::size_t, 1>{});
    for (std::size_t source = 0; source < sources; ++source) {
      const std::size_t entries = list_size[source];
      const std::uint32_t* channels = channel_list.data() + source * channels_;
      const Real* values = value_list.data() + source * channels_;
      for (std::size_t j = j0; j < patch; ++j) {
        Real sum{0};
        for (std::size_t e = 0; e < entries; ++e) {
          sum += values[e] * conv_->weight_row(channels[e])[j];
        }
        taps[source * patch + j] = sum;
      }
    }
    // Into the input, pixel by pixel in (pooled position, window) order.
    for (std::size_t source = 0; source < sources; ++source) {
      if (list_size[source] == 0) continue;
      const std::size_t q = source / windows;
      const std::size_t window = source % windows;
      conv_->add_taps_at(taps.data() + source * patch, (q / out_width_) * stride_ + window / size_,
                         (q % out_width_) * stride_ + window % size_, grad_image);
    }
  }
}

template class ConvPoolLayer<float>;
template class ConvPoolLayer<double>;

}  // namespace homeostat
