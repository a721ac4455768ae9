// Tests for the W5 synthetic anomaly-detection data: shapes, ranges, determinism, stream
// separation, label and kind frequencies, the effect of each anomaly kind, non-triviality of the
// global mean, and spec validation.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "data/anomaly.hpp"

namespace homeostat {
namespace {

AnomalySpec small_spec(std::size_t train = 200, std::size_t test = 100) {
  AnomalySpec spec;
  spec.train_samples = train;
  spec.test_samples = test;
  return spec;
}

// Mean and variance of x_c(t) over t in [begin, end) for one channel of a [steps][channels] sample.
struct Moments {
  double mean = 0.0;
  double variance = 0.0;
};
Moments channel_moments(const std::vector<float>& values, std::size_t channels, std::size_t c,
                        std::size_t begin, std::size_t end) {
  Moments m;
  const auto n = static_cast<double>(end - begin);
  for (std::size_t t = begin; t < end; ++t) m.mean += values[t * channels + c];
  m.mean /= n;
  for (std::size_t t = begin; t < end; ++t) {
    const double d = values[t * channels + c] - m.mean;
    m.variance += d * d;
  }
  m.variance /= n;
  return m;
}

TEST(Anomaly, SplitHasShapesLabelsAndClasses) {
  const AnomalySpec spec = small_spec();
  const Dataset train = make_anomaly_split(spec, "train", 7);
  const Dataset test = make_anomaly_split(spec, "test", 7);
  EXPECT_EQ(train.sample_shape, (std::vector<std::size_t>{50, 8}));
  EXPECT_EQ(train.size(), 200u);
  EXPECT_EQ(test.size(), 100u);
  EXPECT_EQ(train.samples.size(), 200u * 50u * 8u);
  EXPECT_EQ(train.num_classes, 2u);
  EXPECT_EQ(test.num_classes, 2u);
  std::set<std::int32_t> labels(train.labels.begin(), train.labels.end());
  EXPECT_EQ(labels, (std::set<std::int32_t>{0, 1}));
}

TEST(Anomaly, ValuesStayInUnitInterval) {
  AnomalySpec spec = small_spec(500, 10);
  spec.noise = 0.3;  // plenty of clipping
  for (const AnomalySpec& s : {small_spec(500, 10), spec}) {
    const Dataset data = make_anomaly_split(s, "train", 3);
    const auto [low, high] = std::minmax_element(data.samples.begin(), data.samples.end());
    EXPECT_GE(*low, 0.0f);
    EXPECT_LE(*high, 1.0f);
  }
}

TEST(Anomaly, SameSeedIsIdenticalAndOtherSeedsDiffer) {
  const AnomalySpec spec = small_spec();
  const Dataset a = make_anomaly_split(spec, "train", 11);
  const Dataset b = make_anomaly_split(spec, "train", 11);
  const Dataset c = make_anomaly_split(spec, "train", 12);
  EXPECT_EQ(a.samples, b.samples);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_NE(a.samples, c.samples);
  EXPECT_NE(a.labels, c.labels);
}

TEST(Anomaly, ThreadCountDoesNotChangeTheData) {
  const AnomalySpec spec = small_spec(300, 10);  // 300 x 400 values: the parallel path
  const int previous = omp_get_max_threads();
  omp_set_num_threads(1);
  const Dataset one = make_anomaly_split(spec, "train", 13);
  omp_set_num_threads(4);
  const Dataset four = make_anomaly_split(spec, "train", 13);
  omp_set_num_threads(previous);
  EXPECT_EQ(one.samples, four.samples);
  EXPECT_EQ(one.labels, four.labels);
}

TEST(Anomaly, TrainAndTestComeFromDifferentStreams) {
  const AnomalySpec spec = small_spec(100, 100);
  const Dataset train = make_anomaly_split(spec, "train", 5);
  const Dataset test = make_anomaly_split(spec, "test", 5);
  EXPECT_NE(train.samples, test.samples);
  // No test sample equals any train sample in its first row.
  for (std::size_t i = 0; i < test.size(); ++i) {
    const float* row = test.samples.data() + i * test.sample_size();
    for (std::size_t j = 0; j < train.size(); ++j) {
      EXPECT_FALSE(std::equal(row, row + 8, train.samples.data() + j * train.sample_size()));
    }
  }
}

TEST(Anomaly, SampleDoesNotDependOnSplitSize) {
  const Dataset small = make_anomaly_split(small_spec(30, 10), "train", 9);
  const Dataset large = make_anomaly_split(small_spec(300, 10), "train", 9);
  EXPECT_TRUE(std::equal(small.samples.begin(), small.samples.end(), large.samples.begin()));
  EXPECT_TRUE(std::equal(small.labels.begin(), small.labels.end(), large.labels.begin()));
}

TEST(Anomaly, FractionAndKindsMatchTheSpec) {
  for (const double fraction : {0.5, 0.2}) {
    AnomalySpec spec = small_spec(2000, 10);
    spec.anomaly_fraction = fraction;
    const Dataset data = make_anomaly_split(spec, "train", 21);
    const std::vector<AnomalyKind> kinds = anomaly_kinds(spec, "train", 21);
    ASSERT_EQ(kinds.size(), data.size());
    std::size_t anomalous = 0;
    std::size_t per_kind[4] = {0, 0, 0, 0};
    for (std::size_t i = 0; i < data.size(); ++i) {
      anomalous += static_cast<std::size_t>(data.labels[i]);
      EXPECT_EQ(data.labels[i], kinds[i] == AnomalyKind::none ? 0 : 1);
      ++per_kind[static_cast<std::size_t>(kinds[i])];
    }
    // sd of the fraction over 2000 samples is at most 0.011; allow 4 sd.
    EXPECT_NEAR(static_cast<double>(anomalous) / 2000.0, fraction, 0.045) << fraction;
    for (std::size_t k = 1; k < 4; ++k) {
      EXPECT_NEAR(static_cast<double>(per_kind[k]) / static_cast<double>(anomalous), 1.0 / 3.0,
                  0.07)
          << anomaly_kind_name(static_cast<AnomalyKind>(k));
    }
  }
  AnomalySpec none = small_spec(100, 10);
  none.anomaly_fraction = 0.0;
  const Dataset normal = make_anomaly_split(none, "train", 1);
  EXPECT_EQ(std::count(normal.labels.begin(), normal.labels.end(), 1), 0);
}

TEST(Anomaly, SplitSamplesAreTheLowLevelSamples) {
  const AnomalySpec spec = small_spec(40, 10);
  const Dataset data = make_anomaly_split(spec, "test", 4);
  const std::vector<AnomalyKind> kinds = anomaly_kinds(spec, "test", 4);
  for (std::size_t i = 0; i < data.size(); ++i) {
    const AnomalySample sample = make_anomaly_sample(spec, "test", 4, i, kinds[i]);
    EXPECT_TRUE(std::equal(sample.values.begin(), sample.values.end(),
                           data.samples.begin() + static_cast<std::ptrdiff_t>(i * 400)))
        << i;
  }
}

TEST(Anomaly, EventsRespectTheirRanges) {
  const AnomalySpec spec;
  for (std::uint64_t i = 0; i < 300; ++i) {
    for (const AnomalyKind kind :
         {AnomalyKind::burst, AnomalyKind::level_shift, AnomalyKind::dropout}) {
      const AnomalyEvent event = make_anomaly_sample(spec, "train", 2, i, kind).event;
      EXPECT_EQ(event.kind, kind);
      EXPECT_GE(event.onset, spec.min_onset);
      EXPECT_LE(event.onset, spec.max_onset);
      EXPECT_LE(event.end, spec.steps);
      if (kind == AnomalyKind::level_shift) {
        EXPECT_EQ(event.end, spec.steps);
        EXPECT_EQ(std::abs(event.offset), spec.amplitude);
      } else {
        EXPECT_GE(event.end - event.onset, spec.min_duration);
        EXPECT_LE(event.end - event.onset, spec.max_duration);
      }
      EXPECT_GE(event.channels.size(), spec.min_affected);
      EXPECT_LE(event.channels.size(), spec.max_affected);
      EXPECT_TRUE(std::is_sorted(event.channels.begin(), event.channels.end()));
      EXPECT_EQ(std::set<std::size_t>(event.channels.begin(), event.channels.end()).size(),
                event.channels.size());
      EXPECT_LT(event.channels.back(), spec.channels);
    }
  }
  EXPECT_TRUE(make_anomaly_sample(spec, "train", 2, 0, AnomalyKind::none).event.channels.empty());
}

// Checks that sample(kind) differs from sample(none) only on the event's channels and steps, and
// runs `check` on every affected channel with (anomalous values, normal values, event).
void check_kind(AnomalyKind kind,
                const std::function<void(const std::vector<float>&, const std::vector<float>&,
                                         std::size_t, const AnomalyEvent&)>& check) {
  const AnomalySpec spec;
  for (std::uint64_t i = 0; i < 100; ++i) {
    const AnomalySample normal = make_anomaly_sample(spec, "train", 6, i, AnomalyKind::none);
    const AnomalySample anomalous = make_anomaly_sample(spec, "train", 6, i, kind);
    const AnomalyEvent& event = anomalous.event;
    for (std::size_t t = 0; t < spec.steps; ++t) {
      for (std::size_t c = 0; c < spec.channels; ++c) {
        const bool affected = t >= event.onset && t < event.end &&
                              std::count(event.channels.begin(), event.channels.end(), c) > 0;
        if (!affected) {
          ASSERT_EQ(anomalous.values[t * spec.channels + c], normal.values[t * spec.channels + c])
              << "sample " << i << " step " << t << " channel " << c;
        }
      }
    }
    for (const std::size_t c : event.channels) check(anomalous.values, normal.values, c, event);
  }
}

// Where neither value is clipped, the anomalous value is the normal one plus the event's offset.
void expect_offset(const std::vector<float>& anomalous, const std::vector<float>& normal,
                   std::size_t c, const AnomalyEvent& event) {
  for (std::size_t t = event.onset; t < event.end; ++t) {
    const float a = anomalous[t * 8 + c];
    const float n = normal[t * 8 + c];
    if (n > 0.0f && n < 1.0f && a > 0.0f && a < 1.0f) {
      EXPECT_NEAR(a - n, event.offset, 1e-5) << "step " << t << " channel " << c;
    }
  }
}

TEST(Anomaly, BurstRaisesTheMeanInItsWindow) {
  check_kind(AnomalyKind::burst,
             [](const std::vector<float>& anomalous, const std::vector<float>& normal,
                std::size_t c, const AnomalyEvent& event) {
               const Moments a = channel_moments(anomalous, 8, c, event.onset, event.end);
               const Moments n = channel_moments(normal, 8, c, event.onset, event.end);
               expect_offset(anomalous, normal, c, event);
               EXPECT_EQ(event.offset, AnomalySpec{}.amplitude);
               // +amplitude before the clip at 1; normal values average well below 0.7, so the
               // mean rises by more than 0.25 and never by more than the amplitude.
               EXPECT_GT(a.mean - n.mean, 0.25);
               EXPECT_LE(a.mean - n.mean, AnomalySpec{}.amplitude + 1e-6);
             });
}

TEST(Anomaly, DropoutFlattensItsWindow) {
  check_kind(AnomalyKind::dropout,
             [](const std::vector<float>& anomalous, const std::vector<float>& normal,
                std::size_t c, const AnomalyEvent& event) {
               const Moments a = channel_moments(anomalous, 8, c, event.onset, event.end);
               const Moments n = channel_moments(normal, 8, c, event.onset, event.end);
               EXPECT_EQ(a.variance, 0.0);
               EXPECT_GT(n.variance, 1e-4);
               EXPECT_NEAR(a.mean, 0.02, 1e-6);
               EXPECT_LT(a.mean, n.mean);
             });
}

TEST(Anomaly, LevelShiftMovesTheMeanAfterOnset) {
  std::size_t ups = 0;
  std::size_t downs = 0;
  check_kind(AnomalyKind::level_shift, [&](const std::vector<float>& anomalous,
                                           const std::vector<float>& normal, std::size_t c,
                                           const AnomalyEvent& event) {
    EXPECT_EQ(event.end, 50u);
    const Moments a = channel_moments(anomalous, 8, c, event.onset, event.end);
    const Moments n = channel_moments(normal, 8, c, event.onset, event.end);
    expect_offset(anomalous, normal, c, event);
    if (event.offset > 0) {
      ++ups;
      EXPECT_GT(a.mean - n.mean, 0.2);
    } else {
      ++downs;  // -amplitude, clipped at 0: the mean falls by 0.2, or to less than a fifth
      EXPECT_LT(a.mean, n.mean - std::min(0.2, 0.8 * n.mean));
    }
  });
  EXPECT_GT(ups, 0u);
  EXPECT_GT(downs, 0u);
}

// Non-triviality: the best rule "normal iff the sample's global mean lies in [lo, hi]" (which
// covers single thresholds in either direction) stays far from 90% accuracy.
TEST(Anomaly, GlobalMeanDoesNotRevealTheLabel) {
  const AnomalySpec spec = small_spec(2000, 10);
  const Dataset data = make_anomaly_split(spec, "train", 31);
  std::vector<double> means(data.size());
  for (std::size_t i = 0; i < data.size(); ++i) {
    const float* x = data.samples.data() + i * data.sample_size();
    double sum = 0.0;
    for (std::size_t j = 0; j < data.sample_size(); ++j) sum += x[j];
    means[i] = sum / static_cast<double>(data.sample_size());
  }
  std::vector<double> cuts = means;
  std::sort(cuts.begin(), cuts.end());
  double best = 0.0;
  for (std::size_t a = 0; a < cuts.size(); a += 10) {
    for (std::size_t b = a; b < cuts.size(); b += 10) {
      std::size_t correct = 0;
      for (std::size_t i = 0; i < means.size(); ++i) {
        const int predicted = means[i] >= cuts[a] && means[i] <= cuts[b] ? 0 : 1;
        correct += predicted == data.labels[i];
      }
      best = std::max(best, static_cast<double>(correct) / static_cast<double>(means.size()));
    }
  }
  std::printf("best global-mean interval rule: %.3f\n", best);
  EXPECT_LT(best, 0.9);
  EXPECT_GT(best, 0.5);  // the mean is not useless either (level shifts move it)
}

TEST(Anomaly, KindNames) {
  EXPECT_EQ(anomaly_kind_name(AnomalyKind::none), "none");
  EXPECT_EQ(anomaly_kind_name(AnomalyKind::burst), "burst");
  EXPECT_EQ(anomaly_kind_name(AnomalyKind::level_shift), "level_shift");
  EXPECT_EQ(anomaly_kind_name(AnomalyKind::dropout), "dropout");
}

std::string config_error(const AnomalySpec& spec, std::string_view split = "train") {
  try {
    make_anomaly_split(spec, split, 1);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

TEST(Anomaly, BadSpecsNameTheirField) {
  EXPECT_NO_THROW(validate_anomaly_spec(AnomalySpec{}));
  struct Case {
    std::string field;
    std::function<void(AnomalySpec&)> edit;
  };
  const std::vector<Case> cases = {
      {"channels", [](AnomalySpec& s) { s.channels = 0; }},
      {"steps", [](AnomalySpec& s) { s.steps = 0; }},
      {"steps", [](AnomalySpec& s) { s.steps = 16; }},  // 5 + max(12, 10) > 16
      {"train_samples", [](AnomalySpec& s) { s.train_samples = 0; }},
      {"test_samples", [](AnomalySpec& s) { s.test_samples = 0; }},
      {"anomaly_fraction", [](AnomalySpec& s) { s.anomaly_fraction = 1.5; }},
      {"anomaly_fraction", [](AnomalySpec& s) { s.anomaly_fraction = std::nan(""); }},
      {"noise", [](AnomalySpec& s) { s.noise = -0.1; }},
      {"noise", [](AnomalySpec& s) { s.noise = INFINITY; }},
      {"amplitude", [](AnomalySpec& s) { s.amplitude = 2.0; }},
      {"baseline", [](AnomalySpec& s) { s.baseline = -0.2; }},
      {"level_jitter", [](AnomalySpec& s) { s.level_jitter = -1.0; }},
      {"channel_jitter", [](AnomalySpec& s) { s.channel_jitter = -1.0; }},
      {"oscillation", [](AnomalySpec& s) { s.oscillation = -1.0; }},
      {"min_frequency", [](AnomalySpec& s) { s.min_frequency = 0.0; }},
      {"max_frequency", [](AnomalySpec& s) { s.max_frequency = 0.01; }},
      {"max_frequency", [](AnomalySpec& s) { s.max_frequency = 0.6; }},
      {"latent_share", [](AnomalySpec& s) { s.latent_share = 1.2; }},
      {"latent_share", [](AnomalySpec& s) { s.latent_components = 0; }},
      {"dropout_level", [](AnomalySpec& s) { s.dropout_level = 1.1; }},
      {"max_onset", [](AnomalySpec& s) { s.max_onset = 2; }},
      {"min_duration", [](AnomalySpec& s) { s.min_duration = 0; }},
      {"max_duration", [](AnomalySpec& s) { s.max_duration = 3; }},
      {"min_shift_steps", [](AnomalySpec& s) { s.min_shift_steps = 0; }},
      {"min_affected", [](AnomalySpec& s) { s.min_affected = 0; }},
      {"max_affected", [](AnomalySpec& s) { s.max_affected = 9; }},
      {"max_affected", [](AnomalySpec& s) { s.max_affected = 2; }},
  };
  for (const Case& c : cases) {
    AnomalySpec spec;
    c.edit(spec);
    const std::string message = config_error(spec);
    EXPECT_NE(message.find("'" + c.field + "'"), std::string::npos)
        << c.field << ": " << (message.empty() ? "no ConfigError" : message);
  }
  const std::string split = config_error(AnomalySpec{}, "validation");
  EXPECT_NE(split.find("validation"), std::string::npos) << split;
  EXPECT_NE(split.find("train, test"), std::string::npos) << split;
  EXPECT_THROW(make_anomaly_sample(AnomalySpec{}, "dev", 1, 0, AnomalyKind::burst), ConfigError);
}

}  // namespace
}  // namespace homeostat
