#include "layer/conv2d.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "tensor/blas.hpp"
#include "tensor/ops.hpp"

namespace homeostat {
namespace {

// Validates the geometry before the base class stores the shapes.
Shape conv_output_shape(const std::string& name, const Shape& input_shape, std::size_t out_channels,
                        std::size_t kernel, std::size_t stride, std::size_t padding) {
  if (input_shape.size() != 3) {
    throw ConfigError("conv2d layer '" + name + "' needs a {channels, height, width} input, got " +
                      shape_string(input_shape));
  }
  if (kernel == 0 || stride == 0) {
    throw ConfigError("conv2d layer '" + name + "' needs kernel and stride of at least 1");
  }
  const std::size_t padded_height = input_shape[1] + 2 * padding;
  const std::size_t padded_width = input_shape[2] + 2 * padding;
  if (out_channels == 0 || input_shape[0] == 0 || padded_height < kernel || padded_width < kernel) {
    throw ConfigError("conv2d layer '" + name + "' would produce an empty output (input " +
                      shape_string(input_shape) + ", " + std::to_string(out_channels) +
                      " channels, kernel " + std::to_string(kernel) + ", padding " +
                      std::to_string(padding) + ")");
  }
  return {out_channels, (padded_height - kernel) / stride + 1,
          (padded_width - kernel) / stride + 1};
}

}  // namespace

template <typename Real>
Conv2dLayer<Real>::Conv2dLayer(std::string name, const Shape& input_shape, std::size_t out_channels,
                               std::size_t kernel, std::size_t stride, std::size_t padding,
                               bool use_bias, const InitSpec& init, std::uint64_t seed,
                               std::uint64_t layer_index)
    : Layer<Real>(name, input_shape,
                  conv_output_shape(name, input_shape, out_channels, kernel, stride, padding)),
      in_channels_(input_shape[0]),
      height_(input_shape[1]),
      width_(input_shape[2]),
      out_channels_(out_channels),
      kernel_(kernel),
      stride_(stride),
      padding_(padding),
      out_height_(this->output_shape()[1]),
      out_width_(this->output_shape()[2]),
      pixels_(out_height_ * out_width_),
      patch_(in_channels_ * kernel * kernel),
      weight_(name + ".weight", {out_channels, in_channels_, kernel, kernel}, true) {
  if (use_bias) bias_.emplace(name + ".bias", Shape{out_channels}, false);
  init_weights(init, patch_, seed, layer_index, weight_.value, bias_ ? &bias_->value : nullptr);
}

template <typename Real>
std::size_t Conv2dLayer<Real>::images_per_chunk() const {
  // Both scratch buffers scale with the image count; bound the larger one.
  const std::size_t bytes_per_image = pixels_ * std::max(patch_, out_channels_) * sizeof(Real);
  return std::max<std::size_t>(1, column_buffer_limit_ / bytes_per_image);
}

template <typename Real>
void Conv2dLayer<Real>::check_input(const Tensor<Real>& input) const {
  const std::size_t expected = shape_size(this->input_shape());
  if (input.rank() < 2 || input.dim(0) * input.dim(1) * expected != input.size()) {
    throw ConfigError("conv2d layer '" + this->name() + "' expects [T, B] x " +
                      shape_string(this->input_shape()) + " input, got " +
                      shape_string(input.shape()));
  }
}

template <typename Real>
void Conv2dLayer<Real>::im2col(const Real* images, std::size_t count, Real* columns) const {
  const std::size_t image_size = in_channels_ * height_ * width_;
#pragma omp parallel for schedule(static)
  for (std::size_t n = 0; n < count; ++n) {
    const Real* image = images + n * image_size;
    Real* row = columns + n * pixels_ * patch_;
    for (std::size_t oh = 0; oh < out_height_; ++oh) {
      for (std::size_t ow = 0; ow < out_width_; ++ow) {
        for (std::size_t c = 0; c < in_channels_; ++c) {
          const Real* plane = image + c * height_ * width_;
          for (std::size_t kh = 0; kh < kernel_; ++kh) {
            // Coordinates in the padded image stay unsigned; row ph is real if ph - p in [0, H).
            const std::size_t ph = oh * stride_ + kh;
            const bool row_inside = ph >= padding_ && ph - padding_ < height_;
            for (std::size_t kw = 0; kw < kernel_; ++kw) {
              const std::size_t pw = ow * stride_ + kw;
              const bool inside = row_inside && pw >= padding_ && pw - padding_ < width_;
              *row++ = inside ? plane[(ph - padding_) * width_ + (pw - padding_)] : Real{0};
            }
          }
        }
      }
    }
  }
}

template <typename Real>
void Conv2dLayer<Real>::col2im(const Real* columns, std::size_t count, Real* images) const {
  const std::size_t image_size = in_channels_ * height_ * width_;
#pragma omp parallel for schedule(static)
  for (std::size_t n = 0; n < count; ++n) {
    Real* image = images + n * image_size;
    std::fill(image, image + image_size, Real{0});
    const Real* row = columns + n * pixels_ * patch_;
    // One thread per image, entries visited in a fixed order: bitwise reproducible.
    for (std::size_t oh = 0; oh < out_height_; ++oh) {
      for (std::size_t ow = 0; ow < out_width_; ++ow) {
        for (std::size_t c = 0; c < in_channels_; ++c) {
          Real* plane = image + c * height_ * width_;
          for (std::size_t kh = 0; kh < kernel_; ++kh) {
            const std::size_t ph = oh * stride_ + kh;
            const bool row_inside = ph >= padding_ && ph - padding_ < height_;
            for (std::size_t kw = 0; kw < kernel_; ++kw, ++row) {
              const std::size_t pw = ow * stride_ + kw;
              if (row_inside && pw >= padding_ && pw - padding_ < width_) {
                plane[(ph - padding_) * width_ + (pw - padding_)] += *row;
              }
            }
          }
        }
      }
    }
  }
}

template <typename Real>
void Conv2dLayer<Real>::forward(const Tensor<Real>& input, Tensor<Real>& output,
                                const RunContext&) {
  check_input(input);
  output.resize(this->time_major(input, this->output_shape()));
  const std::size_t images = input.dim(0) * input.dim(1);
  const std::size_t image_size = in_channels_ * height_ * width_;
  const std::size_t out_size = out_channels_ * pixels_;
  const std::size_t chunk = images_per_chunk();
  const Real* bias = bias_ ? bias_->value.data() : nullptr;
  for (std::size_t first = 0; first < images; first += chunk) {
    const std::size_t count = std::min(chunk, images - first);
    columns_.resize(count * pixels_ * patch_);
    pixel_rows_.resize(count * pixels_ * out_channels_);
    im2col(input.data() + first * image_size, count, columns_.data());
    // [count*pixels, C_out] = columns [count*pixels, patch] * W^T
    gemm(Transpose::no, Transpose::yes, count * pixels_, out_channels_, patch_, Real{1},
         columns_.data(), patch_, weight_.value.data(), patch_, Real{0}, pixel_rows_.data(),
         out_channels_);
    // Pixel-major GEMM rows back to channel-major images, adding the bias on the way.
    Real* out = output.data() + first * out_size;
#pragma omp parallel for schedule(static)
    for (std::size_t n = 0; n < count; ++n) {
      const Real* rows = pixel_rows_.data() + n * pixels_ * out_channels_;
      Real* image = out + n * out_size;
      for (std::size_t o = 0; o < out_channels_; ++o) {
        const Real shift = bias ? bias[o] : Real{0};
        for (std::size_t p = 0; p < pixels_; ++p) {
          image[o * pixels_ + p] = rows[p * out_channels_ + o] + shift;
        }
      }
    }
  }
}

template <typename Real>
void Conv2dLayer<Real>::backward(const Tensor<Real>& input, const Tensor<Real>&,
                                 const Tensor<Real>& grad_output, Tensor<Real>* grad_input) {
  const std::size_t images = input.dim(0) * input.dim(1);
  const std::size_t image_size = in_channels_ * height_ * width_;
  const std::size_t out_size = out_channels_ * pixels_;
  const std::size_t chunk = images_per_chunk();
  if (grad_input) grad_input->resize(input.shape());
  // Chunk boundaries depend only on the shapes, so the accumulation order is fixed.
  for (std::size_t first = 0; first < images; first += chunk) {
    const std::size_t count = std::min(chunk, images - first);
    const std::size_t rows = count * pixels_;
    columns_.resize(rows * patch_);
    pixel_rows_.resize(rows * out_channels_);
    im2col(input.data() + first * image_size, count, columns_.data());
    const Real* grad_out = grad_output.data() + first * out_size;
#pragma omp parallel for schedule(static)
    for (std::size_t n = 0; n < count; ++n) {
      const Real* image = grad_out + n * out_size;
      Real* pixel_rows = pixel_rows_.data() + n * pixels_ * out_channels_;
      for (std::size_t p = 0; p < pixels_; ++p) {
        for (std::size_t o = 0; o < out_channels_; ++o) {
          pixel_rows[p * out_channels_ + o] = image[o * pixels_ + p];
        }
      }
    }
    // dW += dY^T columns; db += column sums of dY.
    gemm(Transpose::yes, Transpose::no, out_channels_, patch_, rows, Real{1}, pixel_rows_.data(),
         out_channels_, columns_.data(), patch_, Real{1}, weight_.grad.data(), patch_);
    if (bias_) accumulate_column_sums(pixel_rows_.data(), rows, out_channels_, bias_->grad.data());
    if (!grad_input) continue;
    // The columns are spent: reuse the buffer for their gradient dY W, then fold it back.
    gemm(Transpose::no, Transpose::no, rows, patch_, out_channels_, Real{1}, pixel_rows_.data(),
         out_channels_, weight_.value.data(), patch_, Real{0}, columns_.data(), patch_);
    col2im(columns_.data(), count, grad_input->data() + first * image_size);
  }
}

template <typename Real>
std::vector<Parameter<Real>*> Conv2dLayer<Real>::parameters() {
  std::vector<Parameter<Real>*> list{&weight_};
  if (bias_) list.push_back(&*bias_);
  return list;
}

template class Conv2dLayer<float>;
template class Conv2dLayer<double>;

}  // namespace homeostat
