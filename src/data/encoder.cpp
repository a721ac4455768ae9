// Input encoders (see encoder.hpp for the exact formulas). Each kernel is one OpenMP loop over
// output rows (t, b) or pixels (b, f) whose iterations write disjoint elements, and every random
// draw is addressed by its output coordinates, so the thread count cannot change the result.
#include "data/encoder.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "tensor/parallel.hpp"

namespace homeostat {
namespace {

constexpr std::string_view kValidKinds = "rate, poisson, latency, latency_log, direct, delta";

bool is_latency(EncoderKind kind) {
  return kind == EncoderKind::latency || kind == EncoderKind::latency_log;
}

// Per-step spike probability of the rate and Poisson encoders.
double spike_probability(EncoderKind kind, double gain, double x) {
  const double p = kind == EncoderKind::rate ? gain * x : 1.0 - std::exp(-gain * x);
  return std::clamp(p, 0.0, 1.0);
}

// The step at which a latency encoder fires for x; only called for x > threshold.
std::size_t latency_step(const EncoderSpec& spec, double x, std::size_t time_steps) {
  const double last = static_cast<double>(time_steps - 1);
  double time = 0.0;
  if (spec.kind == EncoderKind::latency_log) {
    time = spec.tau * std::log(x / (x - spec.threshold));
  } else {
    const double darkness = 1.0 - std::min(x, 1.0);
    time = spec.normalize ? darkness * last : spec.tau * darkness;
  }
  // Written so that NaN (only from non-finite inputs) lands on the last step, never in the cast.
  if (!(time < last)) time = last;
  if (!(time > 0.0)) time = 0.0;
  return static_cast<std::size_t>(std::round(time));
}

void check_arguments(const EncoderSpec& spec, std::size_t samples_size, std::size_t batch,
                     std::size_t frames, std::size_t features, std::size_t time_steps) {
  validate_encoder_spec(spec);
  const std::string kind_name(encoder_kind_name(spec.kind));
  if (frames == 0 || features == 0 || time_steps == 0) {
    throw ConfigError("encoder '" + kind_name + "': frames (" + std::to_string(frames) +
                      "), features (" + std::to_string(features) + ") and time steps (" +
                      std::to_string(time_steps) + ") must all be positive");
  }
  if (samples_size != batch * frames * features) {
    throw ConfigError("encoder '" + kind_name + "': got " + std::to_string(samples_size) +
                      " input values, expected batch * frames * features = " +
                      std::to_string(batch * frames * features));
  }
  if (frames == 1) {
    if (spec.kind == EncoderKind::delta) {
      throw ConfigError("delta encoding needs a sequence view such as data.view = \"rows\"");
    }
    return;
  }
  if (time_steps != frames) {
    throw ConfigError("sequence input has " + std::to_string(frames) +
                      " frames, so time_steps must be " + std::to_string(frames) + " (got " +
                      std::to_string(time_steps) + ")");
  }
  if (is_latency(spec.kind)) {
    throw ConfigError("encoder '" + kind_name +
                      "' codes one static value per input and cannot encode a sequence; use "
                      "data.view = \"flat\" or \"image\"");
  }
}

}  // namespace

EncoderKind parse_encoder_kind(std::string_view name) {
  for (const EncoderKind kind :
       {EncoderKind::rate, EncoderKind::poisson, EncoderKind::latency, EncoderKind::latency_log,
        EncoderKind::direct, EncoderKind::delta}) {
    if (encoder_kind_name(kind) == name) return kind;
  }
  throw ConfigError("unknown encoder '" + std::string(name) +
                    "' (valid encoders: " + std::string(kValidKinds) + ")");
}

std::string_view encoder_kind_name(EncoderKind kind) {
  switch (kind) {
    case EncoderKind::rate:
      return "rate";
    case EncoderKind::poisson:
      return "poisson";
    case EncoderKind::latency:
      return "latency";
    case EncoderKind::latency_log:
      return "latency_log";
    case EncoderKind::direct:
      return "direct";
    case EncoderKind::delta:
      return "delta";
  }
  return "unknown";
}

void validate_encoder_spec(const EncoderSpec& spec) {
  const std::string kind_name(encoder_kind_name(spec.kind));
  if (!std::isfinite(spec.gain)) {
    throw ConfigError("encoder '" + kind_name + "': gain must be finite");
  }
  if (!(std::isfinite(spec.threshold) && spec.threshold >= 0.0)) {
    throw ConfigError("encoder '" + kind_name + "': threshold must be finite and >= 0, got " +
                      std::to_string(spec.threshold));
  }
  const bool uses_tau = spec.kind == EncoderKind::latency_log ||
                        (spec.kind == EncoderKind::latency && !spec.normalize);
  if (uses_tau && !(std::isfinite(spec.tau) && spec.tau > 0.0)) {
    throw ConfigError("encoder '" + kind_name + "': tau must be finite and > 0, got " +
                      std::to_string(spec.tau));
  }
}

std::size_t encoded_features(const EncoderSpec& spec, std::size_t features) {
  return spec.kind == EncoderKind::delta && spec.off_spikes ? 2 * features : features;
}

template <typename Real>
void encode(const EncoderSpec& spec, std::span<const float> samples, std::size_t batch,
            std::size_t frames, std::size_t features, std::size_t time_steps, const CounterRng& rng,
            Tensor<Real>& out) {
  check_arguments(spec, samples.size(), batch, frames, features, time_steps);
  const std::size_t out_features = encoded_features(spec, features);
  out.resize({time_steps, batch, out_features});
  Real* const output = out.data();
  const float* const input = samples.data();
  const bool sequence = frames > 1;
  // Output row (t, b) reads frame t of a sequence, the only frame of a static sample.
  const auto input_row = [&](std::size_t t, std::size_t b) {
    return input + (b * frames + (sequence ? t : 0)) * features;
  };
  const auto rows = static_cast<std::ptrdiff_t>(time_steps * batch);
  const bool parallel = out.size() >= kMinParallelWork;

  switch (spec.kind) {
    case EncoderKind::rate:
    case EncoderKind::poisson: {
      // Probabilities once per input value, not once per step.
      std::vector<double> probability(samples.size());
      const auto count = static_cast<std::ptrdiff_t>(samples.size());
#pragma omp parallel for schedule(static) if (parallel)
      for (std::ptrdiff_t i = 0; i < count; ++i) {
        probability[static_cast<std::size_t>(i)] =
            spike_probability(spec.kind, spec.gain, static_cast<double>(input[i]));
      }
#pragma omp parallel for schedule(static) if (parallel)
      for (std::ptrdiff_t row = 0; row < rows; ++row) {
        const auto r = static_cast<std::size_t>(row);
        const std::size_t t = r / batch;
        const std::size_t b = r % batch;
        const double* const p = probability.data() + (input_row(t, b) - input);
        Real* const y = output + r * out_features;
        const std::uint64_t first_counter = r * features;  // ((t * batch) + b) * F
        for (std::size_t f = 0; f < features; ++f) {
          const double u = rng.uniform_float(first_counter + f);
          y[f] = u < p[f] ? Real{1} : Real{0};
        }
      }
      break;
    }
    case EncoderKind::direct: {
#pragma omp parallel for schedule(static) if (parallel)
      for (std::ptrdiff_t row = 0; row < rows; ++row) {
        const auto r = static_cast<std::size_t>(row);
        const float* const x = input_row(r / batch, r % batch);
        Real* const y = output + r * out_features;
        for (std::size_t f = 0; f < features; ++f) {
          y[f] = static_cast<Real>(spec.gain * static_cast<double>(x[f]));
        }
      }
      break;
    }
    case EncoderKind::latency:
    case EncoderKind::latency_log: {
      out.zero();
      // Compared in float, the inputs' precision, so a pixel equal to the threshold never spikes.
      const auto threshold = static_cast<float>(spec.threshold);
      const auto pixels = static_cast<std::ptrdiff_t>(batch * features);
#pragma omp parallel for schedule(static) if (parallel)
      for (std::ptrdiff_t pixel = 0; pixel < pixels; ++pixel) {
        const auto i = static_cast<std::size_t>(pixel);
        if (!(input[i] > threshold)) continue;  // static input is [batch][features]
        const std::size_t step = latency_step(spec, static_cast<double>(input[i]), time_steps);
        output[step * batch * features + i] = Real{1};
      }
      break;
    }
    case EncoderKind::delta: {
#pragma omp parallel for schedule(static) if (parallel)
      for (std::ptrdiff_t row = 0; row < rows; ++row) {
        const auto r = static_cast<std::size_t>(row);
        const std::size_t t = r / batch;
        const std::size_t b = r % batch;
        const float* const x = input_row(t, b);
        const float* const previous = t > 0 ? input_row(t - 1, b) : nullptr;
        Real* const y = output + r * out_features;
        for (std::size_t f = 0; f < features; ++f) {
          const double before = previous ? static_cast<double>(previous[f]) : 0.0;
          const double change = static_cast<double>(x[f]) - before;
          y[f] = change > spec.threshold ? Real{1} : Real{0};
          if (spec.off_spikes) y[features + f] = -change > spec.threshold ? Real{1} : Real{0};
        }
      }
      break;
    }
  }
}

template void encode<float>(const EncoderSpec&, std::span<const float>, std::size_t, std::size_t,
                            std::size_t, std::size_t, const CounterRng&, Tensor<float>&);
template void encode<double>(const EncoderSpec&, std::span<const float>, std::size_t, std::size_t,
                             std::size_t, std::size_t, const CounterRng&, Tensor<double>&);

}  // namespace homeostat
