// W5 synthetic anomaly data (see anomaly.hpp for the generative model). Every sample is a pure
// function of (spec, seed, split, index); the split loop is parallel over samples, each sample
// written by one thread, so the data never depend on the thread count.
#include "data/anomaly.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <numeric>
#include <string>

#include "common/error.hpp"
#include "random/counter_rng.hpp"
#include "tensor/parallel.hpp"

namespace homeostat {
namespace {

// Sub-streams of one sample (the third stream word).
enum Part : std::uint64_t {
  kMeta = 0,     // label, kind, window length, onset, channel count, shift sign, level D
  kLatent = 1,   // latent wave k: frequency at 2k, phase at 2k + 1
  kChannel = 2,  // channel c: frequency at 3c, phase at 3c + 1, offset at 3c + 2
  kMixing = 3,   // n_ck at counter c*K + k
  kNoise = 4,    // e_c(t) at counter t*C + c
  kChoice = 5,   // partial Fisher-Yates over channels, draw j at counter j
};

// Counters of the meta stream.
enum MetaCounter : std::uint64_t {
  kLabel = 0,
  kKind = 1,
  kDuration = 2,
  kOnset = 3,
  kCount = 4,
  kSign = 5,
  kLevel = 6,
};

std::uint64_t split_stream(std::string_view split) {
  if (split == "train") return 0;
  if (split == "test") return 1;
  throw ConfigError("unknown anomaly split '" + std::string(split) +
                    "' (valid splits: train, test)");
}

CounterRng sample_rng(std::uint64_t seed, std::uint64_t stream, std::uint64_t index,
                      std::uint64_t part) {
  return CounterRng(seed, RngPurpose::anomaly, {stream, index, part});
}

// Uniform integer in [low, high].
std::size_t uniform_between(const CounterRng& rng, std::uint64_t counter, std::size_t low,
                            std::size_t high) {
  return low + static_cast<std::size_t>(rng.below(counter, high - low + 1));
}

[[noreturn]] void bad_field(const std::string& field, double value, const std::string& range) {
  char text[64];
  std::snprintf(text, sizeof text, "%g", value);
  throw ConfigError("anomaly setting '" + field + "' = " + text + " is out of range: " + range);
}

void check_unit(const std::string& field, double value) {
  if (!(value >= 0.0 && value <= 1.0)) bad_field(field, value, "must be in [0, 1]");
}

void check_non_negative(const std::string& field, double value) {
  if (!(std::isfinite(value) && value >= 0.0)) bad_field(field, value, "must be finite and >= 0");
}

void check_positive_count(const std::string& field, std::size_t value) {
  if (value == 0) bad_field(field, 0.0, "must be >= 1");
}

// The label-independent kind draw of a sample (used only when its label is 1).
AnomalyKind drawn_kind(const CounterRng& meta) {
  return static_cast<AnomalyKind>(1 + meta.below(kKind, 3));
}

bool drawn_label(const AnomalySpec& spec, const CounterRng& meta) {
  return meta.uniform(kLabel) < spec.anomaly_fraction;
}

AnomalyEvent draw_event(const AnomalySpec& spec, std::uint64_t seed, std::uint64_t stream,
                        std::uint64_t index, AnomalyKind kind) {
  AnomalyEvent event;
  event.kind = kind;
  if (kind == AnomalyKind::none) return event;
  const CounterRng meta = sample_rng(seed, stream, index, kMeta);
  const std::size_t length = uniform_between(meta, kDuration, spec.min_duration, spec.max_duration);
  if (kind == AnomalyKind::level_shift) {
    event.onset = uniform_between(meta, kOnset, spec.min_onset,
                                  std::min(spec.max_onset, spec.steps - spec.min_shift_steps));
    event.end = spec.steps;
    event.offset = meta.uniform(kSign) < 0.5 ? -spec.amplitude : spec.amplitude;
  } else {
    event.onset = uniform_between(meta, kOnset, spec.min_onset,
                                  std::min(spec.max_onset, spec.steps - length));
    event.end = event.onset + length;
    event.offset = kind == AnomalyKind::burst ? spec.amplitude : 0.0;
  }
  const std::size_t count = uniform_between(meta, kCount, spec.min_affected, spec.max_affected);
  std::vector<std::size_t> order(spec.channels);
  std::iota(order.begin(), order.end(), std::size_t{0});
  const CounterRng choice = sample_rng(seed, stream, index, kChoice);
  for (std::size_t j = 0; j < count; ++j) {
    const std::size_t pick = uniform_between(choice, j, j, spec.channels - 1);
    std::swap(order[j], order[pick]);
  }
  event.channels.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(count));
  std::sort(event.channels.begin(), event.channels.end());
  return event;
}

// Writes the sample's [steps][channels] values into `out`.
void generate(const AnomalySpec& spec, std::uint64_t seed, std::uint64_t stream,
              std::uint64_t index, const AnomalyEvent& event, float* out) {
  const std::size_t channels = spec.channels;
  const std::size_t latents = spec.latent_components;
  constexpr double kTwoPi = 2.0 * std::numbers::pi;
  const double band = spec.max_frequency - spec.min_frequency;

  const CounterRng latent_rng = sample_rng(seed, stream, index, kLatent);
  std::vector<double> latent_frequency(latents);
  std::vector<double> latent_phase(latents);
  for (std::size_t k = 0; k < latents; ++k) {
    latent_frequency[k] = spec.min_frequency + band * latent_rng.uniform(2 * k);
    latent_phase[k] = kTwoPi * latent_rng.uniform(2 * k + 1);
  }
  const CounterRng meta = sample_rng(seed, stream, index, kMeta);
  const double sample_level =
      spec.baseline + spec.level_jitter * (2.0 * meta.uniform(kLevel) - 1.0);
  const CounterRng channel_rng = sample_rng(seed, stream, index, kChannel);
  const CounterRng mixing_rng = sample_rng(seed, stream, index, kMixing);
  std::vector<double> frequency(channels);
  std::vector<double> phase(channels);
  std::vector<double> level(channels);
  std::vector<double> mixing(channels * latents);
  for (std::size_t c = 0; c < channels; ++c) {
    frequency[c] = spec.min_frequency + band * channel_rng.uniform(3 * c);
    phase[c] = kTwoPi * channel_rng.uniform(3 * c + 1);
    level[c] = sample_level + spec.channel_jitter * (2.0 * channel_rng.uniform(3 * c + 2) - 1.0);
    double norm = 0.0;
    for (std::size_t k = 0; k < latents; ++k) {
      const double n = mixing_rng.normal(c * latents + k);
      mixing[c * latents + k] = n;
      norm += n * n;
    }
    norm = std::sqrt(norm);
    for (std::size_t k = 0; k < latents; ++k) {
      mixing[c * latents + k] = norm > 0.0 ? mixing[c * latents + k] / norm : 0.0;
    }
  }
  std::vector<bool> affected(channels, false);
  for (const std::size_t c : event.channels) affected[c] = true;

  const double shared = std::sqrt(spec.latent_share);
  const double own = std::sqrt(1.0 - spec.latent_share);
  const CounterRng noise_rng = sample_rng(seed, stream, index, kNoise);
  std::vector<double> latent(latents);
  for (std::size_t t = 0; t < spec.steps; ++t) {
    const auto time = static_cast<double>(t);
    for (std::size_t k = 0; k < latents; ++k) {
      latent[k] = std::sin(kTwoPi * latent_frequency[k] * time + latent_phase[k]);
    }
    const bool active = event.kind != AnomalyKind::none && t >= event.onset && t < event.end;
    for (std::size_t c = 0; c < channels; ++c) {
      double wave = own * std::sin(kTwoPi * frequency[c] * time + phase[c]);
      for (std::size_t k = 0; k < latents; ++k)
        wave += shared * mixing[c * latents + k] * latent[k];
      double x =
          level[c] + spec.oscillation * wave + spec.noise * noise_rng.normal(t * channels + c);
      if (active && affected[c]) {
        x = event.kind == AnomalyKind::dropout ? spec.dropout_level : x + event.offset;
      }
      out[t * channels + c] = static_cast<float>(std::clamp(x, 0.0, 1.0));
    }
  }
}

AnomalyKind sample_kind(const AnomalySpec& spec, std::uint64_t seed, std::uint64_t stream,
                        std::uint64_t index) {
  const CounterRng meta = sample_rng(seed, stream, index, kMeta);
  return drawn_label(spec, meta) ? drawn_kind(meta) : AnomalyKind::none;
}

}  // namespace

void validate_anomaly_spec(const AnomalySpec& spec) {
  check_positive_count("channels", spec.channels);
  check_positive_count("steps", spec.steps);
  check_positive_count("train_samples", spec.train_samples);
  check_positive_count("test_samples", spec.test_samples);
  check_unit("anomaly_fraction", spec.anomaly_fraction);
  check_non_negative("noise", spec.noise);
  check_unit("amplitude", spec.amplitude);
  check_unit("baseline", spec.baseline);
  check_non_negative("level_jitter", spec.level_jitter);
  check_non_negative("channel_jitter", spec.channel_jitter);
  check_non_negative("oscillation", spec.oscillation);
  if (!(std::isfinite(spec.min_frequency) && spec.min_frequency > 0.0)) {
    bad_field("min_frequency", spec.min_frequency, "must be finite and > 0 (cycles per step)");
  }
  if (!(spec.max_frequency >= spec.min_frequency && spec.max_frequency <= 0.5)) {
    bad_field("max_frequency", spec.max_frequency,
              "must be in [min_frequency, 0.5] (cycles per step)");
  }
  check_unit("latent_share", spec.latent_share);
  if (spec.latent_components == 0 && spec.latent_share > 0.0) {
    bad_field("latent_share", spec.latent_share, "must be 0 when latent_components = 0");
  }
  check_unit("dropout_level", spec.dropout_level);
  if (spec.max_onset < spec.min_onset) {
    bad_field("max_onset", static_cast<double>(spec.max_onset),
              "must be >= min_onset (" + std::to_string(spec.min_onset) + ")");
  }
  check_positive_count("min_duration", spec.min_duration);
  if (spec.max_duration < spec.min_duration) {
    bad_field("max_duration", static_cast<double>(spec.max_duration),
              "must be >= min_duration (" + std::to_string(spec.min_duration) + ")");
  }
  check_positive_count("min_shift_steps", spec.min_shift_steps);
  check_positive_count("min_affected", spec.min_affected);
  if (spec.max_affected < spec.min_affected || spec.max_affected > spec.channels) {
    bad_field("max_affected", static_cast<double>(spec.max_affected),
              "must be in [min_affected, channels] = [" + std::to_string(spec.min_affected) + ", " +
                  std::to_string(spec.channels) + "]");
  }
  const std::size_t needed = spec.min_onset + std::max(spec.max_duration, spec.min_shift_steps);
  if (spec.steps < needed) {
    bad_field("steps", static_cast<double>(spec.steps),
              "must be >= min_onset + max(max_duration, min_shift_steps) = " +
                  std::to_string(needed) + " so that every anomaly fits");
  }
}

std::string_view anomaly_kind_name(AnomalyKind kind) {
  switch (kind) {
    case AnomalyKind::none:
      return "none";
    case AnomalyKind::burst:
      return "burst";
    case AnomalyKind::level_shift:
      return "level_shift";
    case AnomalyKind::dropout:
      return "dropout";
  }
  return "unknown";
}

AnomalySample make_anomaly_sample(const AnomalySpec& spec, std::string_view split,
                                  std::uint64_t seed, std::uint64_t index, AnomalyKind kind) {
  validate_anomaly_spec(spec);
  const std::uint64_t stream = split_stream(split);
  AnomalySample sample;
  sample.event = draw_event(spec, seed, stream, index, kind);
  sample.values.resize(spec.steps * spec.channels);
  generate(spec, seed, stream, index, sample.event, sample.values.data());
  return sample;
}

std::vector<AnomalyKind> anomaly_kinds(const AnomalySpec& spec, std::string_view split,
                                       std::uint64_t seed) {
  validate_anomaly_spec(spec);
  const std::uint64_t stream = split_stream(split);
  const std::size_t count = stream == 0 ? spec.train_samples : spec.test_samples;
  std::vector<AnomalyKind> kinds(count);
  for (std::size_t i = 0; i < count; ++i) kinds[i] = sample_kind(spec, seed, stream, i);
  return kinds;
}

Dataset make_anomaly_split(const AnomalySpec& spec, std::string_view split, std::uint64_t seed) {
  validate_anomaly_spec(spec);
  const std::uint64_t stream = split_stream(split);
  const std::size_t count = stream == 0 ? spec.train_samples : spec.test_samples;
  const std::size_t size = spec.steps * spec.channels;
  Dataset data;
  data.sample_shape = {spec.steps, spec.channels};
  data.num_classes = 2;
  data.samples.resize(count * size);
  data.labels.resize(count);
#pragma omp parallel for schedule(static) if (count * size >= kMinParallelWork)
  for (std::size_t i = 0; i < count; ++i) {
    const AnomalyKind kind = sample_kind(spec, seed, stream, i);
    data.labels[i] = kind == AnomalyKind::none ? 0 : 1;
    const AnomalyEvent event = draw_event(spec, seed, stream, i, kind);
    generate(spec, seed, stream, i, event, data.samples.data() + i * size);
  }
  return data;
}

}  // namespace homeostat
