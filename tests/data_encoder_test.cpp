// Tests for the input encoders: spike statistics of rate/Poisson coding, hand-computed latency,
// direct and delta outputs, error cases, precision and thread-count independence.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "data/encoder.hpp"

namespace homeostat {
namespace {

// Element (t, b, f) of a [T, B, F] tensor.
template <typename Real>
Real at(const Tensor<Real>& tensor, std::size_t t, std::size_t b, std::size_t f) {
  return tensor[(t * tensor.dim(1) + b) * tensor.dim(2) + f];
}

EncoderSpec spec_of(EncoderKind kind) {
  EncoderSpec spec;
  spec.kind = kind;
  return spec;
}

// Static input: `batch` copies of `pixels`.
std::vector<float> repeated(const std::vector<float>& pixels, std::size_t batch) {
  std::vector<float> samples;
  for (std::size_t b = 0; b < batch; ++b)
    samples.insert(samples.end(), pixels.begin(), pixels.end());
  return samples;
}

const CounterRng kRng(11, RngPurpose::encode, {0, 0});

TEST(Encoder, ParseAndNameRoundTrip) {
  for (const EncoderKind kind :
       {EncoderKind::rate, EncoderKind::poisson, EncoderKind::latency, EncoderKind::latency_log,
        EncoderKind::direct, EncoderKind::delta}) {
    EXPECT_EQ(parse_encoder_kind(encoder_kind_name(kind)), kind);
  }
  EXPECT_EQ(encoder_kind_name(EncoderKind::latency_log), "latency_log");
  try {
    parse_encoder_kind("burst");
    FAIL() << "accepted 'burst'";
  } catch (const ConfigError& error) {
    const std::string message = error.what();
    for (const char* name :
         {"burst", "rate", "poisson", "latency", "latency_log", "direct", "delta"}) {
      EXPECT_NE(message.find(name), std::string::npos) << message;
    }
  }
}

TEST(Encoder, EncodedFeatures) {
  EncoderSpec delta = spec_of(EncoderKind::delta);
  EXPECT_EQ(encoded_features(delta, 28), 28u);
  delta.off_spikes = true;
  EXPECT_EQ(encoded_features(delta, 28), 56u);
  EncoderSpec rate = spec_of(EncoderKind::rate);
  rate.off_spikes = true;  // meaningless for rate
  EXPECT_EQ(encoded_features(rate, 28), 28u);
}

TEST(Encoder, RateSpikeRateMatchesGainTimesInput) {
  const std::vector<float> pixels = {0.0f, 0.1f, 0.3f, 0.5f, 0.8f, 1.0f};
  EncoderSpec spec = spec_of(EncoderKind::rate);
  spec.gain = 0.8;
  const std::size_t batch = 200;
  const std::size_t steps = 100;
  Tensor<float> out;
  encode(spec, repeated(pixels, batch), batch, 1, pixels.size(), steps, kRng, out);
  ASSERT_EQ(out.shape(), (Shape{steps, batch, pixels.size()}));
  const double trials = static_cast<double>(batch * steps);
  for (std::size_t f = 0; f < pixels.size(); ++f) {
    double spikes = 0;
    for (std::size_t t = 0; t < steps; ++t) {
      for (std::size_t b = 0; b < batch; ++b) {
        const float value = at(out, t, b, f);
        ASSERT_TRUE(value == 0.0f || value == 1.0f);
        spikes += value;
      }
    }
    const double p = 0.8 * pixels[f];
    const double five_sigma = 5.0 * std::sqrt(p * (1.0 - p) / trials);
    EXPECT_NEAR(spikes / trials, p, five_sigma + 1e-12) << "pixel " << pixels[f];
  }
  // gain * x beyond 1 is clamped: always spike.
  spec.gain = 2.0;
  encode(spec, repeated({0.6f}, 10), 10, 1, 1, 50, kRng, out);
  EXPECT_TRUE(std::all_of(out.span().begin(), out.span().end(), [](float v) { return v == 1.0f; }));
}

TEST(Encoder, RateUsesDocumentedCounterPerElement) {
  const std::vector<float> pixels = {0.2f, 0.5f, 0.7f};
  const std::size_t batch = 4;
  const std::size_t steps = 6;
  Tensor<double> out;
  encode(spec_of(EncoderKind::rate), repeated(pixels, batch), batch, 1, pixels.size(), steps, kRng,
         out);
  for (std::size_t t = 0; t < steps; ++t) {
    for (std::size_t b = 0; b < batch; ++b) {
      for (std::size_t f = 0; f < pixels.size(); ++f) {
        const double u = kRng.uniform_float(((t * batch) + b) * pixels.size() + f);
        EXPECT_EQ(at(out, t, b, f), u < static_cast<double>(pixels[f]) ? 1.0 : 0.0);
      }
    }
  }
}

TEST(Encoder, PoissonSpikeRateMatchesOneMinusExp) {
  const std::vector<float> pixels = {0.0f, 0.25f, 1.0f};
  EncoderSpec spec = spec_of(EncoderKind::poisson);
  spec.gain = 2.0;
  const std::size_t batch = 100;
  const std::size_t steps = 200;
  Tensor<float> out;
  encode(spec, repeated(pixels, batch), batch, 1, pixels.size(), steps, kRng, out);
  const double trials = static_cast<double>(batch * steps);
  for (std::size_t f = 0; f < pixels.size(); ++f) {
    double spikes = 0;
    for (std::size_t t = 0; t < steps; ++t) {
      for (std::size_t b = 0; b < batch; ++b) spikes += at(out, t, b, f);
    }
    const double p = 1.0 - std::exp(-2.0 * pixels[f]);
    EXPECT_NEAR(spikes / trials, p, 5.0 * std::sqrt(p * (1.0 - p) / trials) + 1e-12);
  }
}

// For each pixel, the single step at which it spiked, or -1 if it never did; fails on >1 spike.
std::vector<int> spike_steps(const Tensor<float>& out, std::size_t b) {
  std::vector<int> steps(out.dim(2), -1);
  for (std::size_t f = 0; f < out.dim(2); ++f) {
    for (std::size_t t = 0; t < out.dim(0); ++t) {
      const float value = at(out, t, b, f);
      EXPECT_TRUE(value == 0.0f || value == 1.0f);
      if (value == 1.0f) {
        EXPECT_EQ(steps[f], -1) << "pixel " << f << " spiked twice";
        steps[f] = static_cast<int>(t);
      }
    }
  }
  return steps;
}

TEST(Encoder, LatencyLinearSpikeTimesHandComputed) {
  // T = 11, normalize: t = round((1 - x) * 10); threshold 0.01.
  const std::vector<float> pixels = {1.0f, 0.5f, 0.25f, 0.125f, 0.02f, 0.9f, 0.01f, 0.005f, 0.0f};
  const std::vector<int> expected = {0, 5, 8, 9, 10, 1, -1, -1, -1};
  Tensor<float> out;
  encode(spec_of(EncoderKind::latency), repeated(pixels, 2), 2, 1, pixels.size(), 11, kRng, out);
  EXPECT_EQ(spike_steps(out, 0), expected);
  EXPECT_EQ(spike_steps(out, 1), expected);

  // Without normalize: t = min(round(tau * (1 - x)), T - 1) with tau = 5, T = 5.
  EncoderSpec spec = spec_of(EncoderKind::latency);
  spec.normalize = false;
  spec.tau = 5.0;
  encode(spec, repeated({1.0f, 0.5f, 0.25f, 0.02f, 0.0f}, 1), 1, 1, 5, 5, kRng, out);
  EXPECT_EQ(spike_steps(out, 0), (std::vector<int>{0, 3, 4, 4, -1}));
}

TEST(Encoder, LatencyLogSpikeTimesHandComputed) {
  // t = round(tau * ln(x / (x - threshold))), tau = 5, threshold = 0.2, clipped to T - 1 = 9:
  // 1.0 -> 1.116 -> 1; 0.5 -> 2.554 -> 3; 0.25 -> 8.047 -> 8; 0.21 -> 15.2 -> 9.
  EncoderSpec spec = spec_of(EncoderKind::latency_log);
  spec.tau = 5.0;
  spec.threshold = 0.2;
  const std::vector<float> pixels = {1.0f, 0.5f, 0.25f, 0.21f, 0.2f, 0.1f};
  Tensor<float> out;
  encode(spec, repeated(pixels, 3), 3, 1, pixels.size(), 10, kRng, out);
  for (std::size_t b = 0; b < 3; ++b) {
    EXPECT_EQ(spike_steps(out, b), (std::vector<int>{1, 3, 8, 9, -1, -1}));
  }
}

TEST(Encoder, DirectEqualsGainTimesInput) {
  EncoderSpec spec = spec_of(EncoderKind::direct);
  spec.gain = 2.5;
  const std::vector<float> samples = {0.1f, 0.4f, 1.0f, 0.0f, 0.7f, 0.3f};  // 2 samples of 3
  Tensor<double> out;
  encode(spec, samples, 2, 1, 3, 4, kRng, out);
  ASSERT_EQ(out.shape(), (Shape{4, 2, 3}));
  for (std::size_t t = 0; t < 4; ++t) {
    for (std::size_t b = 0; b < 2; ++b) {
      for (std::size_t f = 0; f < 3; ++f) {
        EXPECT_EQ(at(out, t, b, f), 2.5 * static_cast<double>(samples[b * 3 + f]));
      }
    }
  }
  // A sequence: frame t is the current at step t.
  encode(spec, samples, 1, 2, 3, 2, kRng, out);
  for (std::size_t t = 0; t < 2; ++t) {
    for (std::size_t f = 0; f < 3; ++f) {
      EXPECT_EQ(at(out, t, 0, f), 2.5 * static_cast<double>(samples[t * 3 + f]));
    }
  }
}

TEST(Encoder, DeltaOnHandMadeSequence) {
  // Sample 0: 4 frames of 3 features; sample 1: constant 1 (spikes only at t = 0).
  const std::vector<float> sample0 = {0.5f, 0.0f, 0.2f,  0.5f, 0.3f,  0.0f,
                                      0.1f, 0.3f, 0.05f, 0.9f, 0.31f, 0.0f};
  std::vector<float> samples = sample0;
  samples.insert(samples.end(), 12, 1.0f);
  EncoderSpec spec = spec_of(EncoderKind::delta);
  spec.threshold = 0.1;
  spec.off_spikes = true;
  Tensor<float> out;
  encode(spec, samples, 2, 4, 3, 4, kRng, out);
  ASSERT_EQ(out.shape(), (Shape{4, 2, 6}));
  // Per step: on block (x_t - x_{t-1} > 0.1) then off block (x_{t-1} - x_t > 0.1), x_{-1} = 0.
  const std::vector<std::vector<float>> expected0 = {
      {1, 0, 1, 0, 0, 0}, {0, 1, 0, 0, 0, 1}, {0, 0, 0, 1, 0, 0}, {1, 0, 0, 0, 0, 0}};
  for (std::size_t t = 0; t < 4; ++t) {
    for (std::size_t f = 0; f < 6; ++f) {
      EXPECT_EQ(at(out, t, 0, f), expected0[t][f]) << "t=" << t << " f=" << f;
      EXPECT_EQ(at(out, t, 1, f), t == 0 && f < 3 ? 1.0f : 0.0f) << "t=" << t << " f=" << f;
    }
  }
  // Without off spikes only the on block is emitted.
  spec.off_spikes = false;
  encode(spec, samples, 2, 4, 3, 4, kRng, out);
  ASSERT_EQ(out.shape(), (Shape{4, 2, 3}));
  for (std::size_t t = 0; t < 4; ++t) {
    for (std::size_t f = 0; f < 3; ++f) EXPECT_EQ(at(out, t, 0, f), expected0[t][f]);
  }
}

TEST(Encoder, RateOnSequenceDrawsFromEachFrame) {
  // Frames alternate 0 and 1: spikes exactly on odd steps.
  std::vector<float> samples;
  for (std::size_t t = 0; t < 6; ++t) samples.insert(samples.end(), 5, t % 2 == 1 ? 1.0f : 0.0f);
  Tensor<float> out;
  encode(spec_of(EncoderKind::rate), samples, 1, 6, 5, 6, kRng, out);
  for (std::size_t t = 0; t < 6; ++t) {
    for (std::size_t f = 0; f < 5; ++f) EXPECT_EQ(at(out, t, 0, f), t % 2 == 1 ? 1.0f : 0.0f);
  }
}

template <typename Call>
void expect_config_error(Call call, const std::string& fragment) {
  try {
    call();
    ADD_FAILURE() << "no ConfigError (expected one mentioning '" << fragment << "')";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos) << error.what();
  }
}

TEST(Encoder, ErrorCasesAreConfigErrors) {
  Tensor<float> out;
  const std::vector<float> one_frame(4, 0.5f);
  const std::vector<float> four_frames(16, 0.5f);
  expect_config_error(
      [&] { encode(spec_of(EncoderKind::delta), one_frame, 1, 1, 4, 5, kRng, out); },
      "data.view = \"rows\"");
  expect_config_error(
      [&] { encode(spec_of(EncoderKind::latency), four_frames, 1, 4, 4, 4, kRng, out); },
      "latency");
  expect_config_error(
      [&] { encode(spec_of(EncoderKind::latency_log), four_frames, 1, 4, 4, 4, kRng, out); },
      "latency_log");
  expect_config_error(
      [&] { encode(spec_of(EncoderKind::rate), four_frames, 1, 4, 4, 5, kRng, out); },
      "time_steps");
  expect_config_error([&] { encode(spec_of(EncoderKind::rate), one_frame, 2, 1, 4, 5, kRng, out); },
                      "expected");
  expect_config_error([&] { encode(spec_of(EncoderKind::rate), one_frame, 1, 1, 4, 0, kRng, out); },
                      "positive");
  EncoderSpec bad_tau = spec_of(EncoderKind::latency_log);
  bad_tau.tau = 0.0;
  expect_config_error([&] { encode(bad_tau, one_frame, 1, 1, 4, 5, kRng, out); }, "tau");
  EncoderSpec bad_threshold = spec_of(EncoderKind::delta);
  bad_threshold.threshold = -0.1;
  expect_config_error([&] { encode(bad_threshold, four_frames, 1, 4, 4, 4, kRng, out); },
                      "threshold");
  EncoderSpec bad_gain = spec_of(EncoderKind::direct);
  bad_gain.gain = std::nan("");
  expect_config_error([&] { encode(bad_gain, one_frame, 1, 1, 4, 5, kRng, out); }, "gain");
}

// Encodes with both precisions and expects bit-identical values.
void expect_same_in_float_and_double(const EncoderSpec& spec, const std::vector<float>& samples,
                                     std::size_t batch, std::size_t frames, std::size_t features,
                                     std::size_t steps) {
  Tensor<float> single;
  Tensor<double> twice;
  encode(spec, samples, batch, frames, features, steps, kRng, single);
  encode(spec, samples, batch, frames, features, steps, kRng, twice);
  ASSERT_EQ(single.shape(), twice.shape());
  std::size_t spikes = 0;
  for (std::size_t i = 0; i < single.size(); ++i) {
    EXPECT_EQ(static_cast<double>(single[i]), twice[i]) << encoder_kind_name(spec.kind) << " " << i;
    spikes += twice[i] != 0.0 ? 1 : 0;
  }
  EXPECT_GT(spikes, 0u) << encoder_kind_name(spec.kind);  // the comparison saw some spikes
}

TEST(Encoder, FloatAndDoubleGiveIdenticalSpikes) {
  std::vector<float> samples(8 * 7 * 5);
  for (std::size_t i = 0; i < samples.size(); ++i)
    samples[i] = static_cast<float>((i * 37) % 101) / 100.0f;
  for (const EncoderKind kind :
       {EncoderKind::rate, EncoderKind::poisson, EncoderKind::latency, EncoderKind::latency_log}) {
    expect_same_in_float_and_double(spec_of(kind), samples, 8, 1, 35, 20);  // static
  }
  for (const EncoderKind kind : {EncoderKind::rate, EncoderKind::poisson, EncoderKind::delta}) {
    EncoderSpec spec = spec_of(kind);
    spec.off_spikes = true;
    expect_same_in_float_and_double(spec, samples, 8, 7, 5, 7);  // sequence
  }
}

TEST(Encoder, IdenticalForAnyThreadCount) {
  std::vector<float> samples(64 * 100);
  for (std::size_t i = 0; i < samples.size(); ++i)
    samples[i] = static_cast<float>((i * 13) % 97) / 96.0f;
  const int previous_threads = omp_get_max_threads();
  for (const EncoderKind kind : {EncoderKind::rate, EncoderKind::poisson, EncoderKind::latency}) {
    Tensor<float> one_thread;
    Tensor<float> many_threads;
    omp_set_num_threads(1);
    encode(spec_of(kind), samples, 64, 1, 100, 16, kRng, one_thread);
    omp_set_num_threads(4);
    encode(spec_of(kind), samples, 64, 1, 100, 16, kRng, many_threads);
    EXPECT_TRUE(
        std::equal(one_thread.span().begin(), one_thread.span().end(), many_threads.span().begin()))
        << encoder_kind_name(kind);
  }
  omp_set_num_threads(previous_threads);
}

}  // namespace
}  // namespace homeostat
