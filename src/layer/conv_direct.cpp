#include "layer/conv_direct.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <type_traits>
#include <utility>

#include "common/error.hpp"
#include "layer/pool_winner.hpp"

namespace homeostat {
namespace {

// GCC/Clang vector extensions: fixed-width vectors the compiler maps to the target's registers
// (two AVX2 registers for one AVX-512 width where the CPU has no AVX-512).
template <typename Real, std::size_t Lanes>
struct VectorOf {
  typedef Real type __attribute__((vector_size(Lanes * sizeof(Real))));
};

// Unaligned vector load. Vectors go through references, never by value: built without
// -march=native, a by-value vector wider than the target's registers draws the compilers'
// ABI-change warning (-Wpsabi).
template <typename V, typename Real>
void load(V& to, const Real* from) {
  std::memcpy(&to, from, sizeof(V));
}

template <typename V, typename Real>
void store(Real* to, const V& v) {
  std::memcpy(to, &v, sizeof(V));
}

// Forward tile: one 64-byte vector of output columns.
template <typename Real>
constexpr std::size_t kLanes = 64 / sizeof(Real);

// Calls body(std::integral_constant<std::size_t, K>{}) for the kernel size K of the direct path
// (1 to 5; the constructor admits no other), so that every kernel loop is compiled for its K.
template <typename Body>
void with_kernel_size(std::size_t kernel, const Body& body) {
  switch (kernel) {
    case 1:
      return body(std::integral_constant<std::size_t, 1>{});
    case 2:
      return body(std::integral_constant<std::size_t, 2>{});
    case 3:
      return body(std::integral_constant<std::size_t, 3>{});
    case 4:
      return body(std::integral_constant<std::size_t, 4>{});
    default:
      return body(std::integral_constant<std::size_t, 5>{});
  }
}

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
              V x;
              load(x, base + u * padded_width_ + v);
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
  with_kernel_size(kernel_, [&](auto k) { forward_kernel<decltype(k)::value>(padded, planes); });
}

template <typename Real>
void DirectConv<Real>::split(const Real* image, Real* columns) const {
  // Input column x lands in padded column x + p: the even half takes every other x from
  // p % 2 on, the odd half the others (two strided loops, no index arithmetic per pixel).
  const std::size_t first_even = padding_ % 2;
  for (std::size_t c = 0; c < in_channels_; ++c) {
    for (std::size_t y = 0; y < height_; ++y) {
      const Real* from = image + (c * height_ + y) * width_;
      Real* even = columns + (c * padded_height_ + y + padding_) * 2 * half_width_;
      Real* odd = even + half_width_;
      for (std::size_t x = first_even; x < width_; x += 2) even[(x + padding_) / 2] = from[x];
      for (std::size_t x = 1 - first_even; x < width_; x += 2) odd[(x + padding_) / 2] = from[x];
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
  using Bytes = typename VectorOf<std::uint8_t, kLanes<Real>>::type;
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
          // Input row 2 ph + t feeds the window's top row through kernel row t and its bottom
          // row through t - 1: each load serves both (each sum still runs over (c, u, v)).
          for (std::size_t t = 0; t <= K; ++t) {
            const Real* even = columns + (c * padded_height_ + 2 * ph + t) * row + m0;
            const Real* odd = even + half_width_;
            for (std::size_t v = 0; v < K; ++v) {
              // Output column 2m reads input column 2m + v, output 2m + 1 reads 2m + 1 + v.
              V x0, x1;
              if (v % 2 == 0) {
                load(x0, even + v / 2);
                load(x1, odd + v / 2);
              } else {
                load(x0, odd + v / 2);
                load(x1, even + (v + 1) / 2);
              }
              for (std::size_t b = 0; b < kBlock; ++b) {
                if (t < K) {
                  const Real top = wc[b * filter + t * K + v];
                  acc[0][b] += top * x0;
                  acc[1][b] += top * x1;
                }
                if (t > 0) {
                  const Real bottom = wc[b * filter + (t - 1) * K + v];
                  acc[2][b] += bottom * x0;
                  acc[3][b] += bottom * x1;
                }
              }
            }
          }
        }
        const std::size_t lanes = std::min(kLanes<Real>, pooled_width - m0);
        // Whole vectors where the lanes past the row land in the channel's later rows (written
        // after this one); lane by lane at the plane's end. (A lane-by-lane copy of a vector just
        // stored to the stack stalls on the store forwarding.)
        const bool whole = ph * pooled_width + m0 + kLanes<Real> <= pooled_plane;
        for (std::size_t b = 0; b < kBlock && o0 + b < out_channels_; ++b) {
          // As pool_planes: the bias added first, strict comparison, the first maximum wins.
          const Real shift = bias ? bias[o0 + b] : Real{0};
          V best = acc[0][b] + shift;
          Mask index{};
          for (std::size_t k = 1; k < 4; ++k) {
            keep_larger(best, index, V(acc[k][b] + shift), Mask{} + static_cast<Lane>(k));
          }
          const std::size_t at = (o0 + b) * pooled_plane + ph * pooled_width + m0;
          if (whole) {
            store(y + at, best);
            store(winners + at, __builtin_convertvector(index, Bytes));
            continue;
          }
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
  with_kernel_size(kernel_,
                   [&](auto k) { pool2_kernel<decltype(k)::value>(columns, bias, y, winners); });
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
        load(even[u], even_rows + u * kRowLanes);
        load(odd[u], odd_rows + u * kRowLanes);
      }
      // The bias goes with the first input channel.
      Real* even_bias = c == 0 ? accumulators + weight_rows_ + o : nullptr;
      Real even_sum = even_bias ? *even_bias : Real{0};
      Real odd_sum = even_bias ? even_bias[set] : Real{0};
      const Real* base = padded + c * padded_plane_;
      // Row pair (2a, 2a + 1): column by column, the upper entry first.
      const auto pair = [&](std::size_t a, std::array<R, K>& acc, Real& sum) {
        const std::size_t rows = std::min<std::size_t>(2, out_height_ - 2 * a);
        for (std::size_t j = 0; j < out_width_; ++j) {
          for (std::size_t i = 2 * a; i < 2 * a + rows; ++i) {
            const Real value = g[i * out_width_ + j];
            if (value == Real{0}) continue;
            const Real* patch = base + i * padded_width_ + j;
            for (std::size_t u = 0; u < K; ++u) {
              R row;
              load(row, patch + u * padded_width_);
              acc[u] += value * row;
            }
            sum += value;
          }
        }
      };
      const std::size_t pairs = (out_height_ + 1) / 2;
      for (std::size_t a = 0; a < pairs; a += 2) {
        pair(a, even, even_sum);
        if (a + 1 < pairs) pair(a + 1, odd, odd_sum);
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
  with_kernel_size(kernel_, [&](auto k) {
    dense_kernel<decltype(k)::value>(padded, grad, channel_stride, accumulators);
  });
}

template <typename Real>
template <std::size_t K>
void DirectConv<Real>::pooled_kernel(const Real* padded, const Real* pooled_grad,
                                     const std::uint8_t* winners, Real* accumulators) const {
  using R = typename VectorOf<Real, kRowLanes>::type;
  const std::size_t set = weight_rows_ + out_channels_;
  const std::size_t pooled_height = out_height_ / 2;
  const std::size_t pooled_width = out_width_ / 2;
  const std::size_t pooled_plane = pooled_height * pooled_width;
  // Each winner index u * 2 + v: its pixel's offset from the window's corner.
  const std::array<std::size_t, 4> window_offset{0, 1, padded_width_, padded_width_ + 1};
  for (std::size_t o = 0; o < out_channels_; ++o) {
    const Real* dy = pooled_grad + o * pooled_plane;
    const std::uint8_t* win = winners + o * pooled_plane;
    for (std::size_t c = 0; c < in_channels_; ++c) {
      Real* even_rows = accumulators + (o * in_channels_ + c) * K * kRowLanes;
      Real* odd_rows = even_rows + set;
      std::array<R, K> even, odd;
      for (std::size_t u = 0; u < K; ++u) {
        load(even[u], even_rows + u * kRowLanes);
        load(odd[u], odd_rows + u * kRowLanes);
      }
      Real* even_bias = c == 0 ? accumulators + weight_rows_ + o : nullptr;
      Real even_sum = even_bias ? *even_bias : Real{0};
      Real odd_sum = even_bias ? even_bias[set] : Real{0};
      const Real* base = padded + c * padded_plane_;
      // Pooled row ph is row pair ph, and its windows in order are the pair's column order: the
      // winners walk in the dense walk's order (a zero gradient adds nothing there). Two pooled
      // rows go side by side, one into each set: two independent chains in the loop body.
      const auto add = [&](std::size_t ph, std::size_t pw, std::array<R, K>& acc, Real& sum) {
        const std::size_t q = ph * pooled_width + pw;
        const Real value = dy[q];
        const Real* patch = base + 2 * ph * padded_width_ + 2 * pw + window_offset[win[q] & 3];
        for (std::size_t u = 0; u < K; ++u) {
          R row;
          load(row, patch + u * padded_width_);
          acc[u] += value * row;
        }
        sum += value;
      };
      std::size_t ph = 0;
      for (; ph + 1 < pooled_height; ph += 2) {
        for (std::size_t pw = 0; pw < pooled_width; ++pw) {
          add(ph, pw, even, even_sum);
          add(ph + 1, pw, odd, odd_sum);
        }
      }
      if (ph < pooled_height) {
        for (std::size_t pw = 0; pw < pooled_width; ++pw) add(ph, pw, even, even_sum);
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
void DirectConv<Real>::accumulate_pooled(const Real* padded, const Real* pooled_grad,
                                         const std::uint8_t* winners, Real* accumulators) const {
  with_kernel_size(kernel_, [&](auto k) {
    pooled_kernel<decltype(k)::value>(padded, pooled_grad, winners, accumulators);
  });
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
