#include "layer/conv2d.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "common/error.hpp"
#include "tensor/blas.hpp"
#include "tensor/gemm_bf16.hpp"

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
  for (std::size_t offset = 0; offset < kernel; ++offset) {
    row_spans_.push_back(valid_outputs(offset, height_, out_height_));
    column_spans_.push_back(valid_outputs(offset, width_, out_width_));
  }
  for (std::size_t y = 0; y < height_; ++y)
    row_taps_.push_back(tap_range(y + padding, out_height_));
  for (std::size_t x = 0; x < width_; ++x) {
    column_taps_.push_back(tap_range(x + padding, out_width_));
  }
  if (DirectConv<Real>::suits(in_channels_, kernel, stride, out_channels)) {
    direct_.emplace(in_channels_, height_, width_, out_channels, kernel, padding);
  }
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

// im2col and col2im run inside one chunk, on the chunk's thread. im2col goes row by row of the
// column matrix (kernel tap by kernel tap), image after image: its writes stream through memory
// while the chunk's images stay in cache.
template <typename Real>
template <typename T>
void Conv2dLayer<Real>::im2col(const T* images, std::size_t count, T* columns) const {
  const std::size_t image_size = in_channels_ * height_ * width_;
  T* out = columns;
  if constexpr (std::is_same_v<T, std::uint16_t>) {
    if (stride_ == 1 && padding_ == 0 && out_width_ <= kRunCopy<T>) {
      // bf16 rows no wider than one move (W3's conv2: 8 values) and no padding: each output row
      // is one fixed-size move; the surplus lands where the next rows go, or in the slack (see
      // im2row). Locals, not members, in the loop: the moves may alias anything.
      const std::size_t kernel = kernel_, in_width = width_, rows = out_height_;
      const std::size_t row_width = out_width_, plane = height_ * width_;
      for (std::size_t c = 0; c < in_channels_; ++c) {
        for (std::size_t kh = 0; kh < kernel; ++kh) {
          for (std::size_t kw = 0; kw < kernel; ++kw) {
            const T* in = images + c * plane + kh * in_width + kw;
            for (std::size_t n = 0; n < count; ++n, in += image_size) {
              for (std::size_t oh = 0; oh < rows; ++oh, out += row_width) {
                std::memcpy(out, in + oh * in_width, kRunCopy<T> * sizeof(T));
              }
            }
          }
        }
      }
      return;
    }
  }
  for (std::size_t c = 0; c < in_channels_; ++c) {
    for (std::size_t kh = 0; kh < kernel_; ++kh) {
      const OutputSpan rows = row_spans_[kh];
      for (std::size_t kw = 0; kw < kernel_; ++kw) {
        const OutputSpan cols = column_spans_[kw];
        for (std::size_t n = 0; n < count; ++n) {
          const T* plane = images + n * image_size + c * height_ * width_;
          for (std::size_t oh = 0; oh < out_height_; ++oh, out += out_width_) {
            if (oh < rows.begin || oh >= rows.end) {
              for (std::size_t ow = 0; ow < out_width_; ++ow) out[ow] = T{0};
              continue;
            }
            // Input row of this output row; for ow in [cols.begin, cols.end) the column
            // ow * s + kw - p lies inside it (unsigned arithmetic never goes below zero there).
            const T* in = plane + (oh * stride_ + kh - padding_) * width_;
            for (std::size_t ow = 0; ow < cols.begin; ++ow) out[ow] = T{0};  // padding only
            if (stride_ == 1) {
              // Runs are short (W_out floats): a vector loop, not a memmove call per run.
              const T* from = in + (cols.begin + kw - padding_);
              T* to = out + cols.begin;
              const std::size_t length = cols.end - cols.begin;
#pragma omp simd
              for (std::size_t i = 0; i < length; ++i) to[i] = from[i];
            } else {
              for (std::size_t ow = cols.begin; ow < cols.end; ++ow) {
                out[ow] = in[ow * stride_ + kw - padding_];
              }
            }
            for (std::size_t ow = cols.end; ow < out_width_; ++ow) out[ow] = T{0};
          }
        }
      }
    }
  }
}

template <typename Real>
template <typename T>
void Conv2dLayer<Real>::im2row(const T* images, std::size_t count, T* rows) const {
  const std::size_t image_size = in_channels_ * height_ * width_;
  constexpr std::size_t run = kRunCopy<T>;
  T* out = rows;
  for (std::size_t n = 0; n < count; ++n) {
    const T* image = images + n * image_size;
    for (std::size_t oh = 0; oh < out_height_; ++oh) {
      for (std::size_t ow = 0; ow < out_width_; ++ow, out += patch_) {
        // Whether the whole k x k window lies inside the image (always without padding).
        const std::size_t x0 = ow * stride_;
        const std::size_t y0 = oh * stride_;
        const bool inside = x0 >= padding_ && x0 + kernel_ <= width_ + padding_ && y0 >= padding_ &&
                            y0 + kernel_ <= height_ + padding_;
        if (inside && kernel_ <= run) {
          // Each run of k values is one fixed-size move of `run` values: the surplus lands on
          // the next run's place (written next, in increasing order) or in the slack.
          const T* in = image + (y0 - padding_) * width_ + (x0 - padding_);
          T* to = out;
          for (std::size_t c = 0; c < in_channels_; ++c, in += height_ * width_) {
            for (std::size_t kh = 0; kh < kernel_; ++kh, to += kernel_) {
              std::memcpy(to, in + kh * width_, run * sizeof(T));
            }
          }
          continue;
        }
        // Borders (and kernels wider than a move): value by value, zero outside the image.
        T* to = out;
        for (std::size_t c = 0; c < in_channels_; ++c) {
          const T* plane = image + c * height_ * width_;
          for (std::size_t kh = 0; kh < kernel_; ++kh) {
            const std::size_t y = y0 + kh;  // padded coordinate
            for (std::size_t kw = 0; kw < kernel_; ++kw, ++to) {
              const std::size_t x = x0 + kw;
              const bool valid =
                  y >= padding_ && y < height_ + padding_ && x >= padding_ && x < width_ + padding_;
              *to = valid ? plane[(y - padding_) * width_ + (x - padding_)] : T{0};
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
  const std::size_t plane_size = height_ * width_;
  const std::size_t stride = count * pixels_;
  std::fill(images, images + count * image_size, Real{0});
  // Channel by channel, each row of the column matrix read front to back over the chunk's images
  // (the 2 MB matrix streams in from L2/L3 in order; read image by image, its 256-byte pieces
  // 7 KB apart missed the prefetchers), adding into the chunk's planes of that channel (W3's
  // conv2: 27 planes, 16 KB, stay in L1). Consecutive runs go to different planes, so no load
  // waits on a partly overlapping store. A fixed order on one thread: bitwise reproducible.
  for (std::size_t c = 0; c < in_channels_; ++c) {
    for (std::size_t kh = 0; kh < kernel_; ++kh) {
      const OutputSpan rows = row_spans_[kh];
      for (std::size_t kw = 0; kw < kernel_; ++kw) {
        const OutputSpan cols = column_spans_[kw];
        const Real* row = columns + ((c * kernel_ + kh) * kernel_ + kw) * stride;
        for (std::size_t n = 0; n < count; ++n, row += pixels_) {
          Real* plane = images + n * image_size + c * plane_size;
          for (std::size_t oh = rows.begin; oh < rows.end; ++oh) {
            Real* in = plane + (oh * stride_ + kh - padding_) * width_;
            const Real* grad = row + oh * out_width_;
            if (stride_ == 1) {
              Real* to = in + (cols.begin + kw - padding_);
              const Real* from = grad + cols.begin;
              const std::size_t length = cols.end - cols.begin;
#pragma omp simd
              for (std::size_t i = 0; i < length; ++i) to[i] += from[i];
            } else {
              for (std::size_t ow = cols.begin; ow < cols.end; ++ow) {
                in[ow * stride_ + kw - padding_] += grad[ow];
              }
            }
          }
        }
      }
    }
  }
}

template <typename Real>
typename Conv2dLayer<Real>::OutputSpan Conv2dLayer<Real>::valid_outputs(std::size_t offset,
                                                                        std::size_t size,
                                                                        std::size_t outputs) const {
  // o * s + offset - p must lie in [0, size): o >= ceil((p - offset) / s) and
  // o <= (size - 1 + p - offset) / s; both clipped to [0, outputs].
  std::size_t begin = padding_ > offset ? (padding_ - offset + stride_ - 1) / stride_ : 0;
  std::size_t end = size + padding_ > offset ? (size - 1 + padding_ - offset) / stride_ + 1 : 0;
  begin = std::min(begin, outputs);
  end = std::max(begin, std::min(end, outputs));
  return {begin, end};
}

template <typename Real>
typename Conv2dLayer<Real>::Workspace& Conv2dLayer<Real>::workspace(std::size_t count) {
  Workspace& w = workspaces_[static_cast<std::size_t>(omp_get_thread_num())];
  w.channel_rows.resize(out_channels_ * count * pixels_);
  return w;
}

template <typename Real>
template <typename T>
void Conv2dLayer<Real>::grow(std::vector<T>& buffer, std::size_t size) {
  if (buffer.size() < size) buffer.resize(size);
}

template <typename Real>
std::size_t Conv2dLayer<Real>::strip_images() const {
  constexpr std::size_t kStripBytes = std::size_t{768} << 10;
  return std::max<std::size_t>(1, kStripBytes / (patch_ * pixels_ * sizeof(Real)));
}

template <typename Real>
void Conv2dLayer<Real>::prepare(std::size_t chunks) {
  workspaces_.resize(
      std::max<std::size_t>(workspaces_.size(), static_cast<std::size_t>(omp_get_max_threads())));
  per_group_ = chunk_groups(chunks).per_group;
  // Tap-major weights [C_in k k, C_out] for the event-driven forward.
  weight_taps_.resize(patch_ * out_channels_);
  for (std::size_t o = 0; o < out_channels_; ++o) {
    for (std::size_t j = 0; j < patch_; ++j) {
      weight_taps_[j * out_channels_ + o] = weight_.value[o * patch_ + j];
    }
  }
  if constexpr (std::is_same_v<Real, float>) {
    if (this->gemm_precision() == GemmPrecision::bf16) {
      weight_taps_bf16_.resize(weight_taps_.size());
      to_bf16(weight_taps_.data(), weight_taps_bf16_.data(), weight_taps_.size());
    }
  }
  partials_.resize(chunk_groups(chunks).groups * (out_channels_ * patch_ + out_channels_));
  if (direct()) direct_->load_weights(weight_.value.data());
}

template <typename Real>
typename Conv2dLayer<Real>::Workspace& Conv2dLayer<Real>::direct_workspace() {
  Workspace& w = workspaces_[static_cast<std::size_t>(omp_get_thread_num())];
  // Zeroed once: DirectConv::pad writes only the pixels, the borders stay zero.
  if (w.padded.size() != direct_->padded_image_size()) {
    w.padded.assign(direct_->padded_image_size(), Real{0});
  }
  w.planes.resize(direct_->planes_size());
  return w;
}

template <typename Real>
const Real* Conv2dLayer<Real>::direct_planes(const Real* image) {
  Workspace& w = direct_workspace();
  direct_->pad(image, w.padded.data());
  direct_->forward(w.padded.data(), w.planes.data());
  return w.planes.data();
}

template <typename Real>
void Conv2dLayer<Real>::direct_forward_pool2(const Real* image, Real* y, std::uint8_t* winners) {
  Workspace& w = workspaces_[static_cast<std::size_t>(omp_get_thread_num())];
  if (w.split.size() != direct_->split_image_size()) {  // zeroed once, as padded
    w.split.assign(direct_->split_image_size(), Real{0});
  }
  direct_->split(image, w.split.data());
  direct_->forward_pool2(w.split.data(), bias_values(), y, winners);
}

template <typename Real>
template <typename Accumulate>
void Conv2dLayer<Real>::direct_backward(const Real* images, std::size_t count, std::size_t index,
                                        Accumulate&& accumulate) {
  Workspace& w = direct_workspace();
  // The chunk's sums start from zero and go into the group's partial at the end (assigned for
  // the group's first chunk), as on the GEMM path.
  w.accumulators.assign(direct_->accumulator_size(), Real{0});
  const std::size_t image_size = in_channels_ * height_ * width_;
  for (std::size_t n = 0; n < count; ++n) {
    direct_->pad(images + n * image_size, w.padded.data());
    accumulate(n, w.padded.data(), w.accumulators.data());
  }
  Real* partial =
      partials_.data() + (index / per_group_) * (out_channels_ * patch_ + out_channels_);
  direct_->add_to_partial(w.accumulators.data(), partial, index % per_group_ == 0);
}

template <typename Real>
void Conv2dLayer<Real>::direct_backward_pooled(const Real* images, std::size_t count,
                                               std::size_t index, const Real* pooled_grad,
                                               const std::uint8_t* winners) {
  const std::size_t pooled = out_channels_ * (out_height_ / 2) * (out_width_ / 2);
  direct_backward(images, count, index, [&](std::size_t n, const Real* padded, Real* sums) {
    direct_->accumulate_pooled(padded, pooled_grad + n * pooled, winners + n * pooled, sums);
  });
}

template <typename Real>
typename Conv2dLayer<Real>::ChunkGroups Conv2dLayer<Real>::chunk_groups(std::size_t chunks) {
  constexpr std::size_t kMaxGroups = 32;
  const std::size_t per_group = std::max<std::size_t>(1, (chunks + kMaxGroups - 1) / kMaxGroups);
  return {per_group, (chunks + per_group - 1) / per_group};
}

template <typename Real>
bool Conv2dLayer<Real>::events_pay(const Real* images, std::size_t count) const {
  if (event_forward_ != EventForward::automatic) return event_forward_ == EventForward::always;
  if (out_channels_ < 16) return false;  // shorter weight rows than a vector
  const std::size_t size = count * in_channels_ * height_ * width_;
  // Events pay below `limit` nonzeros.
  std::size_t limit = 0;
  if (bf16_forward(count) && bf16_weight_gradient(count) && bf16_gemm_has_amx()) {
    // On AMX the bf16-column GEMMs cost the same at any density, while the event loops grow
    // with the nonzeros. W3's conv2, 800 images, 1 thread, Sapphire Rapids: forward GEMM 3.5-3.7
    // ms against events 2.0 (1% nonzero), 2.7 (3%), 3.8 (5%), 10.4 (11%); the weight
    // gradient's GEMM 3.2-3.4 ms against events 5.2 (1%) to 17.9 (11%), slower even at 0.2%
    // (the pixel-major copy of dY they need). Together they cross near 1.5% nonzero.
    limit = (size + 63) / 64;
  } else {
    // An event adds k*k weight rows of C_out (each add costs about two of the GEMM's
    // multiply-adds); the GEMM does pixels * C_in * k*k * C_out per image, plus im2col.
    limit = (count * pixels_ * in_channels_ + 1) / 2;
  }
  // Counted block by block, stopping at the limit (W3 in bf16 on AMX: after a seventh).
  constexpr std::size_t kBlock = 4096;
  std::size_t nonzero = 0;
  for (std::size_t begin = 0; begin < size && nonzero < limit; begin += kBlock) {
    const std::size_t end = std::min(size, begin + kBlock);
#pragma omp simd reduction(+ : nonzero)
    for (std::size_t i = begin; i < end; ++i) nonzero += images[i] != Real{0} ? 1 : 0;
  }
  return nonzero < limit;
}

template <typename Real>
template <typename Visit>
void Conv2dLayer<Real>::for_each_event_tap(const Real* images, std::size_t count,
                                           Visit&& visit) const {
  for (std::size_t n = 0; n < count; ++n) {
    for (std::size_t c = 0; c < in_channels_; ++c) {
      const Real* plane = images + (n * in_channels_ + c) * height_ * width_;
      for (std::size_t y = 0; y < height_; ++y) {
        for (std::size_t x = 0; x < width_; ++x) {
          const Real value = plane[y * width_ + x];
          if (value == Real{0}) continue;
          // Every output (oh, ow) that reads this pixel through tap (u, v):
          // oh * s + u - p = y and ow * s + v - p = x.
          // Precomputed per coordinate (tap_range): no division in this loop.
          const TapRange rows_in = row_taps_[y];
          const TapRange cols_in = column_taps_[x];
          std::size_t oh = rows_in.output;
          for (std::size_t u = rows_in.first; u < rows_in.end; u += stride_, --oh) {
            std::size_t ow = cols_in.output;
            for (std::size_t v = cols_in.first; v < cols_in.end; v += stride_, --ow) {
              // Offsets of the tap row (u, v) of input channel c, and of the output pixel
              // (oh, ow) of image n, each a row of C_out values.
              visit(value, ((c * kernel_ + u) * kernel_ + v) * out_channels_,
                    (n * pixels_ + oh * out_width_ + ow) * out_channels_);
            }
          }
        }
      }
    }
  }
}

template <typename Real>
void Conv2dLayer<Real>::forward_events(const Real* images, std::size_t count, Real* rows) const {
  std::fill(rows, rows + count * pixels_ * out_channels_, Real{0});
  const Real* taps = weight_taps_.data();
  const std::size_t channels = out_channels_;
  for_each_event_tap(images, count,
                     [=](Real value, std::size_t tap_offset, std::size_t pixel_offset) {
                       Real* __restrict out = rows + pixel_offset;
                       const Real* __restrict row = taps + tap_offset;
#pragma omp simd
                       for (std::size_t o = 0; o < channels; ++o) out[o] += value * row[o];
                     });
}

template <typename Real>
void Conv2dLayer<Real>::weight_gradient_events(const Real* images, std::size_t count,
                                               const Real* pixel_rows, Real* taps) const {
  const std::size_t channels = out_channels_;
  for_each_event_tap(images, count,
                     [=](Real value, std::size_t tap_offset, std::size_t pixel_offset) {
                       const Real* __restrict grad = pixel_rows + pixel_offset;
                       Real* __restrict into = taps + tap_offset;
#pragma omp simd
                       for (std::size_t o = 0; o < channels; ++o) into[o] += value * grad[o];
                     });
}

template <typename Real>
typename Conv2dLayer<Real>::TapRange Conv2dLayer<Real>::tap_range(std::size_t position,
                                                                  std::size_t outputs) const {
  // Taps t < k with t <= position, (position - t) % s == 0 and (position - t) / s < outputs:
  // from the smallest such t, every s-th.
  std::size_t first = position + 1 > outputs * stride_ ? position + 1 - outputs * stride_ : 0;
  // Round up to the residue of `position` modulo s.
  first += (position - first) % stride_;
  const std::size_t end = std::max(first, std::min(kernel_, position + 1));
  // The output that reads `position` through tap `first` (unused when the range is empty).
  return {first, end, first < end ? (position - first) / stride_ : 0};
}

template <typename Real>
const Real* Conv2dLayer<Real>::forward_rows(const Real* images, std::size_t count) {
  Workspace& w = workspace(count);
  if (events_pay(images, count)) {
    forward_events(images, count, w.channel_rows.data());
    return w.channel_rows.data();
  }
  const std::size_t stride = count * pixels_;
  if constexpr (std::is_same_v<Real, float>) {
    if (bf16_forward(count)) {
      // The same bf16 GEMM as below, fed pixel-major bf16 rows directly: no fp32 columns, no
      // conversion (gemm_bf16 would convert and transpose them into exactly these rows).
      const std::uint16_t* bits = bf16_images(images, count);  // sizes w.bf16_columns too
      im2row(bits, count, w.bf16_columns.data());
      gemm_bf16_prepared(Transpose::yes, stride, out_channels_, patch_, 1.0f, w.bf16_columns.data(),
                         patch_, weight_.value.data(), patch_, 0.0f, w.channel_rows.data(),
                         out_channels_);
      return w.channel_rows.data();
    }
  }
  grow(w.columns, patch_ * stride);
  im2col(images, count, w.columns.data());
  // [count*pixels, C_out] = columns^T [count*pixels, patch] * W^T [patch, C_out]: the column
  // matrix is the row-split operand, so homeostat::gemm packs it once.
  gemm(Transpose::yes, Transpose::yes, stride, out_channels_, patch_, Real{1}, w.columns.data(),
       stride, weight_.value.data(), patch_, Real{0}, w.channel_rows.data(), out_channels_,
       this->gemm_precision());
  return w.channel_rows.data();
}

template <typename Real>
bool Conv2dLayer<Real>::bf16_forward(std::size_t count) const {
  return std::is_same_v<Real, float> &&
         gemm_runs_bf16(this->gemm_precision(), count * pixels_, out_channels_, patch_);
}

template <typename Real>
bool Conv2dLayer<Real>::bf16_weight_gradient(std::size_t count) const {
  return std::is_same_v<Real, float> &&
         gemm_runs_bf16(this->gemm_precision(), patch_, out_channels_, count * pixels_);
}

template <typename Real>
const std::uint16_t* Conv2dLayer<Real>::bf16_images(const Real* images, std::size_t count) {
  Workspace& w = workspace(count);
  const std::size_t size = count * in_channels_ * height_ * width_;
  constexpr std::size_t slack = kRunCopy<std::uint16_t>;
  grow(w.bf16_images, size + slack);
  grow(w.bf16_columns, patch_ * count * pixels_ + slack);
  if constexpr (std::is_same_v<Real, float>) {
    to_bf16(images, w.bf16_images.data(), size);
  }
  return w.bf16_images.data();
}

template <typename Real>
Real* Conv2dLayer<Real>::gradient_rows(std::size_t count) {
  return workspace(count).channel_rows.data();
}

template <typename Real>
void Conv2dLayer<Real>::backward_rows(const Real* images, std::size_t count, std::size_t index,
                                      Real* grad_images) {
  const std::size_t stride = count * pixels_;
  const std::size_t weights = out_channels_ * patch_;
  Workspace& w = workspace(count);
  if (direct()) {  // weight and bias gradient without im2col or GEMM
    const Real* grad = w.channel_rows.data();
    direct_backward(images, count, index, [&](std::size_t n, const Real* padded, Real* sums) {
      direct_->accumulate_dense(padded, grad + n * pixels_, stride, sums);
    });
  } else {
    const std::size_t group = index / per_group_;
    const bool first_in_group = index % per_group_ == 0;
    Real* partial = partials_.data() + group * (weights + out_channels_);
    if (events_pay(images, count)) {
      // Sparse input: dW^T[(c, u, v), :] += x * dY[pixel, :] for each nonzero input x and each
      // output pixel that reads it, from a pixel-major copy of dY (no im2col, no GEMM).
      w.pixel_rows.resize(stride * out_channels_);
      Real* pixel_rows = w.pixel_rows.data();
      for (std::size_t o = 0; o < out_channels_; ++o) {
        const Real* row = w.channel_rows.data() + o * stride;
        for (std::size_t i = 0; i < stride; ++i) pixel_rows[i * out_channels_ + o] = row[i];
      }
      if (first_in_group) std::fill(partial, partial + weights, Real{0});
      weight_gradient_events(images, count, pixel_rows, partial);
    } else if (bf16_weight_gradient(count)) {
      // dW_chunk^T = columns dY^T as below, on bf16 columns (gemm_bf16_prepared).
      if constexpr (std::is_same_v<Real, float>) {
        const std::uint16_t* bits = bf16_images(images, count);  // sizes w.bf16_columns too
        im2col(bits, count, w.bf16_columns.data());
        gemm_bf16_prepared(Transpose::yes, patch_, out_channels_, stride, 1.0f,
                           w.bf16_columns.data(), stride, w.channel_rows.data(), stride,
                           first_in_group ? 0.0f : 1.0f, partial, out_channels_);
      }
    } else {
      // The columns are recomputed from the input rather than kept from forward.
      grow(w.columns, patch_ * stride);
      im2col(images, count, w.columns.data());
      // dW_chunk^T [patch, C_out] = columns [patch, count*pixels] dY^T (the column matrix, the
      // larger operand, is row-split and packed once); db_chunk = row sums of dY.
      gemm(Transpose::no, Transpose::yes, patch_, out_channels_, stride, Real{1}, w.columns.data(),
           stride, w.channel_rows.data(), stride, first_in_group ? Real{0} : Real{1}, partial,
           out_channels_, this->gemm_precision());
    }
    for (std::size_t o = 0; o < out_channels_; ++o) {
      const Real* row = w.channel_rows.data() + o * stride;
      Real sum{0};
#pragma omp simd reduction(+ : sum)
      for (std::size_t i = 0; i < stride; ++i) sum += row[i];
      partial[weights + o] = first_in_group ? sum : partial[weights + o] + sum;
    }
  }
  if (!grad_images) return;
  // W^T dY in strips of images, each folded back at once: the strip's gradient columns (W3's
  // conv2: 9 images, 0.7 MB) stay in L2 for col2im, where the whole chunk's 2 MB went out to L3
  // (bf16 GEMM 290-315 -> 200-210 us per chunk, 1 thread). Strips depend on `count` only; a
  // bf16 chunk runs them on oneDNN, as the whole chunk's GEMM would.
  bool bf16 = false;
  if constexpr (std::is_same_v<Real, float>)
    bf16 = gemm_runs_bf16(this->gemm_precision(), patch_, stride, out_channels_);
  const std::size_t strips = (count + strip_images() - 1) / strip_images();
  const std::size_t per_strip = (count + strips - 1) / strips;
  const std::size_t image_size = in_channels_ * height_ * width_;
  grow(w.columns, patch_ * per_strip * pixels_);
  for (std::size_t first = 0; first < count; first += per_strip) {
    const std::size_t strip = std::min(per_strip, count - first);
    const std::size_t columns = strip * pixels_;
    const Real* grad = w.channel_rows.data() + first * pixels_;
    if constexpr (std::is_same_v<Real, float>) {
      if (bf16) {  // W^T is prepare()'s tap-major weights in bf16: no conversion per strip
        gemm_bf16_prepared(Transpose::no, patch_, columns, out_channels_, 1.0f,
                           weight_taps_bf16_.data(), out_channels_, grad, stride, 0.0f,
                           w.columns.data(), columns);
        col2im(w.columns.data(), strip, grad_images + first * image_size);
        continue;
      }
    }
    gemm(Transpose::yes, Transpose::no, patch_, columns, out_channels_, Real{1},
         weight_.value.data(), patch_, grad, stride, Real{0}, w.columns.data(), columns,
         this->gemm_precision());
    col2im(w.columns.data(), strip, grad_images + first * image_size);
  }
}

template <typename Real>
void Conv2dLayer<Real>::reduce_partials(std::size_t chunks) {
  const std::size_t weights = out_channels_ * patch_;
  const std::size_t partial_size = weights + out_channels_;  // dW^T, then db, of one chunk
  Real* grad_weight = weight_.grad.data();
  Real* grad_bias = bias_ ? bias_->grad.data() : nullptr;
  const std::size_t groups = chunk_groups(chunks).groups;
#pragma omp parallel for schedule(static)
  for (std::size_t j = 0; j < partial_size; ++j) {
    if (j >= weights && !grad_bias) continue;
    Real sum{0};
    for (std::size_t group = 0; group < groups; ++group) sum += partials_[group * partial_size + j];
    if (j < weights) {  // partials hold dW^T: j = tap * C_out + channel
      grad_weight[(j % out_channels_) * patch_ + j / out_channels_] += sum;
    } else {
      grad_bias[j - weights] += sum;
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
  const std::size_t chunks = (images + chunk - 1) / chunk;
  const Real* bias = bias_values();
  prepare(chunks);
  // One parallel region over the chunks, each chunk one thread's: few barriers.
#pragma omp parallel for schedule(dynamic)
  for (std::size_t index = 0; index < chunks; ++index) {
    const std::size_t first = index * chunk;
    const std::size_t count = std::min(chunk, images - first);
    if (direct()) {
      const std::size_t row_stride = direct_row_stride();
      for (std::size_t n = first; n < first + count; ++n) {
        const Real* planes = direct_planes(input.data() + n * image_size);
        Real* image = output.data() + n * out_size;
        for (std::size_t o = 0; o < out_channels_; ++o) {
          const Real shift = bias ? bias[o] : Real{0};
          for (std::size_t i = 0; i < out_height_; ++i) {
            const Real* from = planes + (o * out_height_ + i) * row_stride;
            Real* to = image + o * pixels_ + i * out_width_;
            for (std::size_t j = 0; j < out_width_; ++j) to[j] = from[j] + shift;
          }
        }
      }
      continue;
    }
    const Real* rows = forward_rows(input.data() + first * image_size, count);
    // Pixel-major rows back to channel-major images, adding the bias on the way.
    Real* out = output.data() + first * out_size;
    for (std::size_t n = 0; n < count; ++n) {
      const Real* image_rows = rows + n * pixels_ * out_channels_;
      Real* image = out + n * out_size;
      for (std::size_t o = 0; o < out_channels_; ++o) {
        const Real shift = bias ? bias[o] : Real{0};
        for (std::size_t p = 0; p < pixels_; ++p) {
          image[o * pixels_ + p] = image_rows[p * out_channels_ + o] + shift;
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
  const std::size_t chunks = (images + chunk - 1) / chunk;
  if (grad_input) grad_input->resize(input.shape());
  prepare(chunks);
  // Each group of chunks accumulates its own parameter-gradient partial, chunk after chunk (and
  // writes its own images' input gradient); the partials are summed below in group order. Chunk
  // and group boundaries depend only on the shapes, so the result does not depend on the thread
  // count or on which thread ran which group.
  const ChunkGroups groups = chunk_groups(chunks);
#pragma omp parallel for schedule(dynamic)
  for (std::size_t group = 0; group < groups.groups; ++group) {
    for (std::size_t index = groups.begin(group); index < std::min(chunks, groups.begin(group + 1));
         ++index) {
      const std::size_t first = index * chunk;
      const std::size_t count = std::min(chunk, images - first);
      const std::size_t stride = count * pixels_;
      Real* rows = gradient_rows(count);
      const Real* grad_out = grad_output.data() + first * out_size;
      for (std::size_t n = 0; n < count; ++n) {
        for (std::size_t o = 0; o < out_channels_; ++o) {
          std::copy(grad_out + n * out_size + o * pixels_,
                    grad_out + n * out_size + (o + 1) * pixels_, rows + o * stride + n * pixels_);
        }
      }
      backward_rows(input.data() + first * image_size, count, index,
                    grad_input ? grad_input->data() + first * image_size : nullptr);
    }
  }
  reduce_partials(chunks);
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
