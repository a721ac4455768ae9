// Direct convolution for layers with a small patch and few output channels (W3's conv1: one
// input channel, 5x5 kernel, 12 output channels), where im2col writes 25 floats per output pixel
// and the GEMM has a poor shape (N = C_out). Rule (suits()): stride 1, C_in * k * k <= 32 (so
// k <= 5) and C_out <= 32: few multiply-adds per output pixel, which vectors along the output
// rows do at full width; wider patches or more channels give the GEMM a shape it runs well.
// The vectors are GCC/Clang vector extensions: AVX-512 registers here, split by the compiler
// on CPUs without them. A layer that is not first keeps the GEMM (W^T dY + col2im) for its
// input gradient.
// Each image is first copied into a zero-bordered buffer (padded_image_size(); the padding and
// the slack the vector loads read past the last column), so the kernels need no bounds checks.
// pad() and split() write only the image's pixels: give them a buffer zeroed once and reused
// for the images of this geometry.
// Forward: per block of 4 output channels, per output row and per tile of `lanes` output
// columns, the taps' multiply-adds go into one vector per channel in registers, in the fixed
// order (c, u, v); the output is channel-major planes of H_out rows of row_stride() values
// (the columns past W_out are scratch).
// Weight gradient: dW[o, c, u, v] = sum over output pixels of dY[o, pixel] * x[c, pixel + (u, v)]
// and db[o] = sum of dY[o, pixel]; each nonzero dY adds dY times the k rows of its input patch (one
// 8-lane vector per row) into the accumulators. The summation order is fixed: per image, channel
// and input channel, over pairs of output rows (2a, 2a + 1), column by column, the upper entry
// first; even pairs go into one accumulator set and odd pairs into another (two dependency
// chains). A 2x2 pool of stride 2 has one winner per window, and its windows in order are that
// order, so walking the winners (accumulate_pooled) gives the bits of walking the dense gradient
// (accumulate_dense): the zeros it skips add nothing (an accumulator that starts at +0 never
// becomes -0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace homeostat {

template <typename Real>
class DirectConv {
 public:
  // Output channels per forward block (their accumulators stay in registers).
  static constexpr std::size_t kBlock = 4;
  // Lanes of the gradient's patch-row vectors: at least k.
  static constexpr std::size_t kRowLanes = 8;

  [[nodiscard]] static bool suits(std::size_t in_channels, std::size_t kernel, std::size_t stride,
                                  std::size_t out_channels) {
    return stride == 1 && in_channels * kernel * kernel <= 32 && out_channels <= 32;
  }

  DirectConv(std::size_t in_channels, std::size_t height, std::size_t width,
             std::size_t out_channels, std::size_t kernel, std::size_t padding);

  // Copies the weights [C_out, C_in, k, k] into the forward's layout (zero channels pad the last
  // block); call whenever they change.
  void load_weights(const Real* weights);

  [[nodiscard]] std::size_t padded_image_size() const { return in_channels_ * padded_plane_; }
  // padded [C_in, padded rows, padded_width_] <- image [C_in, H, W] (the borders stay as they
  // are: zero).
  void pad(const Real* image, Real* padded) const;

  [[nodiscard]] std::size_t row_stride() const { return row_stride_; }
  [[nodiscard]] std::size_t planes_size() const {
    return out_channels_ * out_height_ * row_stride_;
  }
  // planes [C_out, H_out, row_stride()] = the convolution of one padded image, without bias.
  void forward(const Real* padded, Real* planes) const;

  // The forward fused with a 2x2 max pool of stride 2 (floor mode) from the image split into
  // even and odd columns (split(); so that the outputs of even and of odd columns are vectors
  // of consecutive windows): y [C_out, H_out / 2, W_out / 2] and each window's winner u * 2 + v,
  // the bias added before the comparison and the first maximum winning, as ConvPoolLayer; each
  // output is the forward()'s sum.
  [[nodiscard]] std::size_t split_image_size() const {
    return in_channels_ * padded_height_ * 2 * half_width_;
  }
  // columns [C_in, padded rows, 2, half width] <- image: each padded row's even columns, then
  // its odd ones.
  void split(const Real* image, Real* columns) const;
  void forward_pool2(const Real* columns, const Real* bias, Real* y, std::uint8_t* winners) const;

  // Gradient accumulators: two sets (even and odd output rows) of [C_out, C_in, k, kRowLanes]
  // weight rows and [C_out] biases.
  [[nodiscard]] std::size_t accumulator_size() const { return 2 * (weight_rows_ + out_channels_); }
  // Adds the gradient of one padded image from its dense output gradient, channel plane o at
  // grad + o * channel_stride ([H_out, W_out]).
  void accumulate_dense(const Real* padded, const Real* grad, std::size_t channel_stride,
                        Real* accumulators) const;
  // The same from a 2x2 max pool of stride 2 over the output: pooled gradient
  // [C_out, H_out / 2, W_out / 2] and each window's winner u * 2 + v.
  void accumulate_pooled(const Real* padded, const Real* pooled_grad, const std::uint8_t* winners,
                         Real* accumulators) const;
  // Adds the accumulators to a partial laid out as dW^T [C_in k k, C_out] then db [C_out] (or
  // assigns them when `assign`).
  void add_to_partial(const Real* accumulators, Real* partial, bool assign) const;

 private:
  template <std::size_t K>
  void forward_kernel(const Real* padded, Real* planes) const;
  template <std::size_t K>
  void pool2_kernel(const Real* columns, const Real* bias, Real* y, std::uint8_t* winners) const;
  template <std::size_t K>
  void dense_kernel(const Real* padded, const Real* grad, std::size_t channel_stride,
                    Real* accumulators) const;
  template <std::size_t K>
  void pooled_kernel(const Real* padded, const Real* pooled_grad, const std::uint8_t* winners,
                     Real* accumulators) const;

  std::size_t in_channels_;
  std::size_t height_;
  std::size_t width_;
  std::size_t out_channels_;
  std::size_t kernel_;
  std::size_t padding_;
  std::size_t out_height_;
  std::size_t out_width_;
  std::size_t row_stride_;     // output columns rounded up to whole vectors
  std::size_t padded_height_;  // H + 2p
  std::size_t padded_width_;   // W + 2p and the slack the loads read
  std::size_t padded_plane_;
  std::size_t half_width_;   // split(): columns of each half row
  std::size_t weight_rows_;  // C_out * C_in * k * kRowLanes
  // [blocks * kBlock, C_in, k, k]
  std::vector<Real> weights_;
};

}  // namespace homeostat
