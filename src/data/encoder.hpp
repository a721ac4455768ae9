// Input encoders: turn a batch of samples ([batch][frames][features], values nominally in [0, 1])
// into time-major network input [time_steps, batch, encoded_features].
// Contract: element (t, b, f) of a random encoder draws rng.uniform_float(((t*batch)+b)*F + f)
// (F = input features), so the output is identical for any thread count, and all arithmetic is
// done in double before the final cast, so Tensor<float> and Tensor<double> get the same spikes.
//
// Exact formulas (x = input value, T = time_steps):
//   rate:        spike with probability p = clamp(gain*x, 0, 1) per step (u < p).
//   poisson:     spike with probability p = 1 - exp(-gain*x) per step (clamped to [0, 1]).
//   direct:      current gain*x at every step (static) or frame t at step t (sequence).
//   latency:     one spike for x > threshold, none otherwise, at step
//                  normalize = true:  t = round((1 - min(x, 1)) * (T - 1))
//                  normalize = false: t = min(round(tau * (1 - min(x, 1))), T - 1)
//                (snnTorch's linear latency: brightest at step 0; with normalize the window
//                [0, T-1] spans x in [0, 1], so x just above threshold fires near
//                (1 - threshold) * (T - 1)).
//   latency_log: one spike for x > threshold at t = min(round(tau * ln(x / (x - threshold))), T-1).
//   delta:       sequences only; on-spike where x_t - x_{t-1} > threshold (x_{-1} = 0), and with
//                off_spikes a second block of F features for x_{t-1} - x_t > threshold.
// round() rounds halves away from zero. The latency threshold test x > threshold is done in float
// (the inputs' precision), so an input equal to float(threshold) never spikes.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "random/counter_rng.hpp"
#include "tensor/tensor.hpp"

namespace homeostat {

enum class EncoderKind { rate, poisson, latency, latency_log, direct, delta };

// "rate" | "poisson" | "latency" | "latency_log" | "direct" | "delta"; ConfigError listing the
// valid names otherwise.
EncoderKind parse_encoder_kind(std::string_view name);
std::string_view encoder_kind_name(EncoderKind kind);

struct EncoderSpec {
  EncoderKind kind = EncoderKind::rate;
  double gain = 1.0;  // rate / poisson / direct scale (finite)
  double threshold =
      0.01;          // latency*: inputs <= threshold never spike; delta: change needed (>= 0)
  double tau = 5.0;  // latency_log (and latency without normalize): time constant in steps (> 0)
  bool normalize = true;    // latency: stretch x in [0, 1] over the whole window
  bool off_spikes = false;  // delta: also emit a second feature block for decreases (2F features)
};

// ConfigError if a parameter the kind uses is out of range (non-finite gain, negative or
// non-finite threshold, non-positive or non-finite tau).
void validate_encoder_spec(const EncoderSpec& spec);

// Features per step after encoding (2F for delta with off_spikes, F otherwise).
std::size_t encoded_features(const EncoderSpec& spec, std::size_t features);

// Encodes `batch` samples into `out`, resized to [time_steps, batch, encoded_features].
// Static data (frames == 1): every kind but delta produces time_steps steps; delta is a
// ConfigError. Sequences (frames > 1): time_steps must equal frames; rate/poisson draw per frame,
// direct passes frame t at step t, delta compares consecutive frames; latency* is a ConfigError.
// ConfigError also if samples.size() != batch * frames * features or a size is zero.
template <typename Real>
void encode(const EncoderSpec& spec, std::span<const float> samples, std::size_t batch,
            std::size_t frames, std::size_t features, std::size_t time_steps, const CounterRng& rng,
            Tensor<Real>& out);

extern template void encode<float>(const EncoderSpec&, std::span<const float>, std::size_t,
                                   std::size_t, std::size_t, std::size_t, const CounterRng&,
                                   Tensor<float>&);
extern template void encode<double>(const EncoderSpec&, std::span<const float>, std::size_t,
                                    std::size_t, std::size_t, std::size_t, const CounterRng&,
                                    Tensor<double>&);

}  // namespace homeostat
