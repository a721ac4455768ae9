#include "layer/conv_direct.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <type_traits>
#include <utility>

#include "common/error.hpp"

namespace homeostat {
namespace {

// GCC/Clang vector extensions: fixed-width vectors the compiler maps to the target's registers
// (two AVX2 registers for one AVX-512 width where the CPU has no AVX-512).
template <typename Real, std::size_t Lanes>
struct VectorOf {
  typedef Real type __attribute__((vector_size(Lanes * sizeof(Real))));
};

template <typename V, typename Real>
V load(const Real* from) {
  V v;
  std::memcpy(&v, from, sizeof(V));
  return v;
}

template <typename V, typename Real>
void store(Real* to, const V& v) {
  std::memcpy(to, &v, sizeof(V));
}

// Forward tile: one 64-byte vector of output columns.
template <typename Real>
constexpr std::size_t kLanes = 64 / sizeof(Real);

}  // namespace

template <typename Real>
DirectConv<Real>::DirectConv(std::size_t in_channels, std::size_t height, std::size_t width,
                             std::size_t out_channels, std::size_t kernel, std::size_t padding)
    : in_channels_(in_channels),
      height_(height),
      width_(width),
      out_channels_(out_channels),
      kernel_(kernel),
      padding_(padding),
      out_height_(height + 2 * padding - kernel + 1),
      out_width_(width + 2 * padding - kernel + 1),
      row_stride_((out_width_ + kLanes<Real> - 1) / kLanes<Real> * kLanes<Real>),
      padded_height_(height + 2 * padding),
      padded_width_(
          std::max({width + 2 * padding, row_stride_ + kernel - 1, out_width_ + kRowLanes - 1})),
      padded_plane_(padded_height_ * padded_width_),
      half_width_(
          std::max((out_width_ / 2 + kLanes<Real> - 1) / kLanes<Real> * kLanes<Real> + kernel / 2,
                   (width + 2 * padding + 1) / 2)),
      weight_rows_(out_channels * in_channels * kernel * kRowLanes) {
  if (!suits(in_channels, kernel, 1, out_channels) || kernel == 0 || kernel > kRowLanes) {
    throw ConfigError("direct convolution: unsupported geometry");
  }
  weights_.assign((out_channels + kBlock - 1) / kBlock * kBlock * in_channels * kernel * kernel,
                  Real{0});
}

template <typename Real>
void DirectConv<Real>::load_weights(const Real* weights) {
  std::copy(weights, weights + out_channels_ * in_channels_ * kernel_ * kernel_, weights_.begin());
}

template <typename Real>
void DirectConv<Real>::pad(const Real* image, Real* padded) const {
  std::fill(padded, padded + padded_image_size(), Real{0});
  for (std::size_t c = 0; c < in_channels_; ++c) {
    for (std::size_t y = 0; y < height_; ++y) {
      const Real* from = image + (c * height_ + y) * width_;
      std::copy(from, from + width_,
                padded + c * padded_plane_ + (y + padding_) * padded_width_ + padding_);
    }
  }
}

template <typename Real>
template <std::size_t K>
void DirectConv<Real>::forward_kernel(const Real* padded, Real* planes) const {
  using V = typename VectorOf<Real, kLanes<Real>>::type;
  const std::size_t plane = out_height_ * row_stride_;
  const std::size_t filter = in_channels_ * K * K;
  for (std::size_t o0 = 0; o0 < out_channels_; o0 += kBlock) {
    const Real* w = weights_.data() + o0 * filter;  // [kBlock, C_in, K, K]
    for (std::size_t i = 0; i < out_height_; ++i) {
      for (std::size_t j0 = 0; j0 < row_stride_; j0 += kLanes<Real>) {
        V acc[kBlock] = {};
        for (std::size_t c = 0; c < in_channels_; ++c) {
          const Real* base = padded + c * padded_plane_ + i * padded_width_ + j0;
          const Real* wc = w + c * K * K;
          for (std::size_t u = 0; u < K; ++u) {
            for (std::size_t v = 0; v < K; ++v) {
              const V x = load<V>(base + u * padded_width_ + v);
              for (std::size_t b = 0; b < kBlock; ++b) acc[b] += wc[b * filter + u * K + v] * x;
            }
          }
        }
        for (std::size_t b = 0; b < kBlock && o0 + b < out_channels_; ++b) {
          store(planes + (o0 + b) * plane + i * row_stride_ + j0, acc[b]);
        }
      }
    }
  }
}

template <typename Real>
void DirectConv<Real>::forward(const Real* padded, Real* planes) const {
  switch (kernel_) {
    case 1:
      return forward_kernel<1>(padded, planes);
    case 2:
      return forward_kernel<2>(padded, planes);
    case 3:
      return forward_kernel<3>(padded, planes);
    case 4:
      return forward_kernel<4>(padded, planes);
    default:
      return forward_kernel<5>(padded, planes);
  }
}

template <typename Real>
void DirectConv<Real>::split(const Real* image, Real* columns) const {
  std::fill(columns, columns + split_image_size(), Real{0});
  for (std::size_t c = 0; c < in_channels_; ++c) {
    for (std::size_t y = 0; y < height_; ++y) {
      const Real* from = image + (c * height_ + y) * width_;
      Real* row = columns + (c * padded_height_ + y + padding_) * 2 * half_width_;
      for (std::size_t x = 0; x < width_; ++x) {
        const std::size_t column = x + padding_;
        row[(column % 2) * half_width_ + column / 2] = from[x];
      }
    }
  }
}

template <typename Real>
template <std::size_t K>
void DirectConv<Real>::pool2_kernel(const Real* columns, const Real* bias, Real* y,
                                    std::uint8_t* winners) const {
  using V = typename VectorOf<Real, kLanes<Real>>::type;
  using Mask = decltype(V{} > V{});  // integer lanes of the vector's width
  using Lane = std::remove_cvref_t<decltype(std::declval<Mask&>()[0])>;
  const std::size_t pooled_height = out_height_ / 2;
  const std::size_t pooled_width = out_width_ / 2;
  const std::size_t pooled_plane = pooled_height * pooled_width;
  const std::size_t filter = in_channels_ * K * K;
  const std::size_t row = 2 * half_width_;  // an input row: its even, then its odd columns
  for (std::size_t o0 = 0; o0 < out_channels_; o0 += kBlock) {
    const Real* w = weights_.data() + o0 * filter;  // [kBlock, C_in, K, K]
    for (std::size_t ph = 0; ph < pooled_height; ++ph) {
      for (std::size_t m0 = 0; m0 < pooled_width; m0 += kLanes<Real>) {
        // acc[window entry u * 2 + v][channel]: output (2 ph + u, 2 (m0 + lane) + v).
        V acc[4][kBlock] = {};
        for (std::size_t c = 0; c < in_channels_; ++c) {
          const Real* wc = w + c * K * K;
          for (std::size_t r = 0; r < 2; ++r) {
            for (std::size_t u = 0; u < K; ++u) {
              const Real* even = columns + (c * padded_height_ + 2 * ph + r + u) * row + m0;
              const Real* odd = even + half_width_;
              for (std::size_t v = 0; v < K; ++v) {
                // Output column 2m reads input column 2m + v, output 2m + 1 reads 2m + 1 + v.
                const V x0 = v % 2 == 0 ? load<V>(even + v / 2) : load<V>(odd + v / 2);
                const V x1 = v % 2 == 0 ? load<V>(odd + v / 2) : load<V>(even + (v + 1) / 2);
                for (std::size_t b = 0; b < kBlock; ++b) {
                  const Real weight = wc[b * filter + u * K + v];
                  acc[2 * r][b] += weight * x0;
                  acc[2 * r + 1][b] += weight * x1;
                }
              }
            }
          }
        }
        const std::size_t lanes = std::min(kLanes<Real>, pooled_width - m0);
        for (std::size_t b = 0; b < kBlock && o0 + b < out_channels_; ++b) {
          // As pool_planes: the bias added first, strict comparison, the first maximum wins.
          const Real shift = bias ? bias[o0 + b] : Real{0};
          V best = acc[0][b] + shift;
          Mask index{};
          for (std::size_t k = 1; k < 4; ++k) {
            const V value = acc[k][b] + shift;
            const Mask larger = value > best;
            best = larger ? value : best;
            index = larger ? Mask{} + static_cast<Lane>(k) : index;
          }
          const std::size_t at = (o0 + b) * pooled_plane + ph * pooled_width + m0;
          for (std::size_t lane = 0; lane < lanes; ++lane) {
            y[at + lane] = best[lane];
            winners[at + lane] = static_cast<std::uint8_t>(index[lane]);
          }
        }
      }
    }
  }
}

template <typename Real>
void DirectConv<Real>::forward_pool2(const Real* columns, const Real* bias, Real* y,
                                     std::uint8_t* winners) const {
  switch (kernel_) {
    case 1:
      return pool2_kernel<1>(columns, bias, y, winners);
    case 2:
      return pool2_kernel<2>(columns, bias, y, winners);
    case 3:
      return pool2_kernel<3>(columns, bias, y, winners);
    case 4:
      return pool2_kernel<4>(columns, bias, y, winners);
    default:
      return pool2_kernel<5>(columns, bias, y, winners);
  }
}

template <typename Real>
template <std::size_t K>
void DirectConv<Real>::dense_kernel(const Real* padded, const Real* grad,
                                    std::size_t channel_stride, Real* accumulators) const {
  using R = typename VectorOf<Real, kRowLanes>::type;
  const std::size_t set = weight_rows_ + out_channels_;  // one accumulator set
  for (std::size_t o = 0; o < out_channels_; ++o) {
    const Real* g = grad + o * channel_stride;
    for (std::size_t c = 0; c < in_channels_; ++c) {
      Real* even_rows = accumulators + (o * in_channels_ + c) * K * kRowLanes;
      Real* odd_rows = even_rows + set;
      std::array<R, K> even, odd;
      for (std::size_t u = 0; u < K; ++u) {
        even[u] = load<R>(even_rows + u * kRowLanes);
        odd[u] = load<R>(odd_rows + u * kRowLanes);
      }
      // The bias goes with the first input channel.
      Real* even_bias = c == 0 ? accumulators + weight_rows_ + o : nullptr;
      Real even_sum = even_bias ? *even_bias : Real{0};
      Real odd_sum = even_bias ? even_bias[set] : Real{0};
      const Real* base = padded + c * padded_plane_;
      const auto row = [&](std::size_t i, std::array<R, K>& acc, Real& sum) {
        for (std::size_t j = 0; j < out_width_; ++j) {
          const Real value = g[i * out_width_ + j];
          if (value == Real{0}) continue;
          const Real* patch = base + i * padded_width_ + j;
          for (std::size_t u = 0; u < K; ++u) {
            acc[u] += value * load<R>(patch + u * padded_width_);
          }
          sum += value;
        }
      };
      for (std::size_t i = 0; i < out_height_; i += 2) {
        row(i, even, even_sum);
        if (i + 1 < out_height_) row(i + 1, odd, odd_sum);
      }
      for (std::size_t u = 0; u < K; ++u) {
        store(even_rows + u * kRowLanes, even[u]);
        store(odd_rows + u * kRowLanes, odd[u]);
      }
      if (even_bias) {
        *even_bias = even_sum;
        even_bias[set] = odd_sum;
      }
    }
  }
}

template <typename Real>
void DirectConv<Real>::accumulate_dense(const Real* padded, const Real* grad,
                                        std::size_t channel_stride, Real* accumulators) const {
  switch (kernel_) {
    case 1:
      return dense_kernel<1>(padded, grad, channel_stride, accumulators);
    case 2:
      return dense_kernel<2>(padded, grad, channel_stride, accumulators);
    case 3:
      return dense_kernel<3>(padded, grad, channel_stride, accumulators);
    case 4:
      return dense_kernel<4>(padded, grad, channel_stride, accumulators);
    default:
      return dense_kernel<5>(padded, grad, channel_stride, accumulators);
  }
}

template <typename Real>
template <std::size_t K>
void DirectConv<Real>::pooled_kernel(const Real* padded, const Real* pooled_grad,
                                     const std::uint8_t* winners, std::size_t size,
                                     std::uint32_t* offsets, Real* values,
                                     Real* accumulators) const {
  using R = typename VectorOf<Real, kRowLanes>::type;
  const std::size_t set = weight_rows_ + out_channels_;
  const std::size_t pooled_height = out_height_ / size;
  const std::size_t pooled_width = out_width_ / size;
  const std::size_t pooled_plane = pooled_height * pooled_width;
  // Each list holds at most all the windows, plus the slot of a rejected last write.
  const std::size_t capacity = pooled_plane + 1;
  // Row and column of each winner index inside its window (no division in the loops).
  std::array<std::uint8_t, 256> row_of{}, column_of{};
  std::array<std::uint32_t, 256> window_offset{};  // the winner's offset from the window corner
  for (std::size_t w = 0; w < size * size; ++w) {
    row_of[w] = static_cast<std::uint8_t>(w / size);
    column_of[w] = static_cast<std::uint8_t>(w % size);
    window_offset[w] = static_cast<std::uint32_t>(w / size * padded_width_ + w % size);
  }
  for (std::size_t o = 0; o < out_channels_; ++o) {
    const Real* dy = pooled_grad + o * pooled_plane;
    const std::uint8_t* win = winners + o * pooled_plane;
    // The winners as two lists (even and odd output rows) of patch offsets and gradients, each in
    // row-major order (the dense walk's): output row by output row, the windows whose winner lies
    // in it. Each step writes its entry and advances the count only when it belongs (no branch).
    std::size_t counts[2] = {0, 0};
    if (size == 2) {  // a window's top row is even, its bottom row odd: one pass sorts them
      std::uint32_t* even_offset = offsets;
      std::uint32_t* odd_offset = offsets + capacity;
      Real* even_value = values;
      Real* odd_value = values + capacity;
      std::size_t even = 0, odd = 0;
      for (std::size_t ph = 0; ph < pooled_height; ++ph) {
        for (std::size_t pw = 0; pw < pooled_width; ++pw) {
          const std::size_t q = ph * pooled_width + pw;
          const auto offset =
              static_cast<std::uint32_t>(2 * ph * padded_width_ + 2 * pw + window_offset[win[q]]);
          even_offset[even] = offset;
          odd_offset[odd] = offset;
          even_value[even] = dy[q];
          odd_value[odd] = dy[q];
          const std::size_t bottom = row_of[win[q]];
          even += 1 - bottom;
          odd += bottom;
        }
      }
      counts[0] = even;
      counts[1] = odd;
    } else {
      for (std::size_t ph = 0; ph < pooled_height; ++ph) {
        for (std::size_t u = 0; u < size; ++u) {
          const std::size_t i = ph * size + u;
          std::uint32_t* to_offset = offsets + (i % 2) * capacity;
          Real* to_value = values + (i % 2) * capacity;
          std::size_t n = counts[i % 2];
          for (std::size_t pw = 0; pw < pooled_width; ++pw) {
            const std::size_t q = ph * pooled_width + pw;
            to_offset[n] =
                static_cast<std::uint32_t>(i * padded_width_ + pw * size + column_of[win[q]]);
            to_value[n] = dy[q];
            n += row_of[win[q]] == u ? 1 : 0;
          }
          counts[i % 2] = n;
        }
      }
    }
    for (std::size_t c = 0; c < in_channels_; ++c) {
      const Real* base = padded + c * padded_plane_;
      // The bias goes with the first input channel.
      const bool with_bias = c == 0;
      for (std::size_t parity = 0; parity < 2; ++parity) {
        Real* rows = accumulators + parity * set + (o * in_channels_ + c) * K * kRowLanes;
        std::array<R, K> acc;
        for (std::size_t u = 0; u < K; ++u) acc[u] = load<R>(rows + u * kRowLanes);
        Real sum = with_bias ? accumulators[parity * set + weight_rows_ + o] : Real{0};
        const std::uint32_t* offset = offsets + parity * capacity;
        const Real* value = values + parity * capacity;
        for (std::size_t k = 0; k < counts[parity]; ++k) {
          const Real* patch = base + offset[k];
          for (std::size_t u = 0; u < K; ++u) {
            acc[u] += value[k] * load<R>(patch + u * padded_width_);
          }
          sum += value[k];
        }
        for (std::size_t u = 0; u < K; ++u) store(rows + u * kRowLanes, acc[u]);
        if (with_bias) accumulators[parity * set + weight_rows_ + o] = sum;
      }
    }
  }
}

template <typename Real>
void DirectConv<Real>::accumulate_pooled(const Real* padded, const Real* pooled_grad,
                                         const std::uint8_t* winners, std::size_t size,
                                         std::uint32_t* offsets, Real* values,
                                         Real* accumulators) const {
  switch (kernel_) {
    case 1:
      return pooled_kernel<1>(padded, pooled_grad, winners, size, offsets, values, accumulators);
    case 2:
      return pooled_kernel<2>(padded, pooled_grad, winners, size, offsets, values, accumulators);
    case 3:
      return pooled_kernel<3>(padded, pooled_grad, winners, size, offsets, values, accumulators);
    case 4:
      return pooled_kernel<4>(padded, pooled_grad, winners, size, offsets, values, accumulators);
    default:
      return pooled_kernel<5>(padded, pooled_grad, winners, size, offsets, values, accumulators);
  }
}

template <typename Real>
void DirectConv<Real>::add_to_partial(const Real* accumulators, Real* partial, bool assign) const {
  const std::size_t set = weight_rows_ + out_channels_;
  const std::size_t taps = kernel_ * kernel_;
  for (std::size_t o = 0; o < out_channels_; ++o) {
    for (std::size_t c = 0; c < in_channels_; ++c) {
      for (std::size_t u = 0; u < kernel_; ++u) {
        for (std::size_t v = 0; v < kernel_; ++v) {
          const std::size_t from = ((o * in_channels_ + c) * kernel_ + u) * kRowLanes + v;
          const Real value = accumulators[from] + accumulators[set + from];
          Real& to = partial[(c * taps + u * kernel_ + v) * out_channels_ + o];
          to = assign ? value : to + value;
        }
      }
    }
    const Real bias = accumulators[weight_rows_ + o] + accumulators[set + weight_rows_ + o];
    Real& to = partial[in_channels_ * taps * out_channels_ + o];
    to = assign ? bias : to + bias;
  }
}

template class DirectConv<float>;
template class DirectConv<double>;

}  // namespace homeostat
