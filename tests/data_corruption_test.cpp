// Tests for input corruptions: parsing and names, the measured effect of each kind, clipping,
// determinism and the error messages of bad specs.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "data/corruption.hpp"

namespace homeostat {
namespace {

// `count` samples of 10x10 values, all equal to `value`, labels i % 3.
Dataset flat_dataset(std::size_t count, float value) {
  Dataset data;
  data.sample_shape = {10, 10};
  data.samples.assign(count * 100, value);
  for (std::size_t i = 0; i < count; ++i) data.labels.push_back(static_cast<std::int32_t>(i % 3));
  data.num_classes = 3;
  return data;
}

// Values spread over [0, 1] (including both ends), for the identity and clipping checks.
Dataset ramp_dataset(std::size_t count) {
  Dataset data = flat_dataset(count, 0.0f);
  for (std::size_t j = 0; j < data.samples.size(); ++j) {
    data.samples[j] = static_cast<float>(j % 101) / 100.0f;
  }
  return data;
}

TEST(Corruption, ParsesListsAndSingleItems) {
  const std::vector<Corruption> list = parse_corruptions("gaussian:0.2,salt_pepper:0.1");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].kind, CorruptionKind::gaussian);
  EXPECT_EQ(list[0].level, 0.2);
  EXPECT_EQ(list[1].kind, CorruptionKind::salt_pepper);
  EXPECT_EQ(list[1].level, 0.1);
  const std::vector<Corruption> one = parse_corruptions(" salt_pepper : 1 ");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].kind, CorruptionKind::salt_pepper);
  EXPECT_EQ(one[0].level, 1.0);
  EXPECT_EQ(parse_corruptions("gaussian:0")[0].level, 0.0);
  EXPECT_EQ(parse_corruptions("gaussian:1e-1")[0].level, 0.1);
  EXPECT_TRUE(parse_corruptions("").empty());
  EXPECT_TRUE(parse_corruptions("  ").empty());
}

TEST(Corruption, NamesRoundTrip) {
  EXPECT_EQ(corruption_name({CorruptionKind::gaussian, 0.2}), "gaussian:0.2");
  EXPECT_EQ(corruption_name({CorruptionKind::salt_pepper, 0.05}), "salt_pepper:0.05");
  EXPECT_EQ(corruption_name({CorruptionKind::salt_pepper, 1.0}), "salt_pepper:1");
  EXPECT_EQ(corruption_kind_name(CorruptionKind::gaussian), "gaussian");
  for (const std::string text : {"gaussian:0.3", "salt_pepper:0.125", "gaussian:0"}) {
    const std::vector<Corruption> parsed = parse_corruptions(text);
    ASSERT_EQ(parsed.size(), 1u);
    EXPECT_EQ(corruption_name(parsed[0]), text);
  }
}

TEST(Corruption, GaussianZeroLeavesDataUnchanged) {
  const Dataset data = ramp_dataset(20);
  const Dataset same = corrupt(data, {CorruptionKind::gaussian, 0.0}, 3);
  EXPECT_EQ(same.samples, data.samples);
  EXPECT_EQ(same.labels, data.labels);
  EXPECT_EQ(same.sample_shape, data.sample_shape);
  EXPECT_EQ(same.num_classes, data.num_classes);
  EXPECT_EQ(corrupt(data, {CorruptionKind::salt_pepper, 0.0}, 3).samples, data.samples);
}

TEST(Corruption, GaussianSigmaMatchesOnMidGrey) {
  // At sigma 0.1 a value of 0.5 is clipped only beyond 5 sd: the difference is N(0, 0.1^2).
  const Dataset data = flat_dataset(200, 0.5f);
  const Dataset noisy = corrupt(data, {CorruptionKind::gaussian, 0.1}, 8);
  double sum = 0.0;
  double squares = 0.0;
  for (std::size_t j = 0; j < data.samples.size(); ++j) {
    const double d = static_cast<double>(noisy.samples[j]) - data.samples[j];
    sum += d;
    squares += d * d;
  }
  const auto n = static_cast<double>(data.samples.size());
  const double mean = sum / n;
  const double sd = std::sqrt(squares / n - mean * mean);
  EXPECT_NEAR(sd, 0.1, 0.005);
  EXPECT_NEAR(mean, 0.0, 0.002);  // sd of the mean: 0.1 / sqrt(20000) = 0.0007
}

TEST(Corruption, ValuesAreClippedToTheUnitInterval) {
  const Dataset noisy = corrupt(ramp_dataset(50), {CorruptionKind::gaussian, 2.0}, 1);
  std::size_t zeros = 0;
  std::size_t ones = 0;
  for (const float x : noisy.samples) {
    ASSERT_GE(x, 0.0f);
    ASSERT_LE(x, 1.0f);
    zeros += x == 0.0f;
    ones += x == 1.0f;
  }
  EXPECT_GT(zeros, 1000u);
  EXPECT_GT(ones, 1000u);
}

TEST(Corruption, SaltPepperOneReplacesEveryValueHalfEach) {
  const Dataset data = flat_dataset(100, 0.5f);
  const Dataset noisy = corrupt(data, {CorruptionKind::salt_pepper, 1.0}, 4);
  std::size_t ones = 0;
  for (const float x : noisy.samples) {
    ASSERT_TRUE(x == 0.0f || x == 1.0f) << x;
    ones += x == 1.0f;
  }
  EXPECT_NEAR(static_cast<double>(ones) / 10000.0, 0.5, 0.02);  // sd 0.005
}

TEST(Corruption, SaltPepperChangesTheGivenFraction) {
  const Dataset data = flat_dataset(100, 0.5f);
  const Dataset noisy = corrupt(data, {CorruptionKind::salt_pepper, 0.1}, 4);
  std::size_t changed = 0;
  std::size_t ones = 0;
  for (std::size_t j = 0; j < data.samples.size(); ++j) {
    if (noisy.samples[j] != data.samples[j]) {
      ++changed;
      EXPECT_TRUE(noisy.samples[j] == 0.0f || noisy.samples[j] == 1.0f);
      ones += noisy.samples[j] == 1.0f;
    }
  }
  EXPECT_NEAR(static_cast<double>(changed) / 10000.0, 0.1, 0.012);  // sd 0.003
  EXPECT_NEAR(static_cast<double>(ones) / static_cast<double>(changed), 0.5, 0.07);
  // A stronger level at the same seed replaces a superset of the values.
  const Dataset more = corrupt(data, {CorruptionKind::salt_pepper, 0.2}, 4);
  for (std::size_t j = 0; j < data.samples.size(); ++j) {
    if (noisy.samples[j] != data.samples[j]) {
      EXPECT_NE(more.samples[j], data.samples[j]);
    }
  }
}

TEST(Corruption, IsDeterministicPerSeedSampleAndElement) {
  const Dataset data = ramp_dataset(30);
  for (const Corruption c :
       {Corruption{CorruptionKind::gaussian, 0.2}, Corruption{CorruptionKind::salt_pepper, 0.3}}) {
    const Dataset a = corrupt(data, c, 10);
    EXPECT_EQ(a.samples, corrupt(data, c, 10).samples) << corruption_name(c);
    EXPECT_NE(a.samples, corrupt(data, c, 11).samples) << corruption_name(c);
    // Sample i's corruption does not depend on the other samples.
    Dataset head = data;
    head.samples.resize(10 * 100);
    head.labels.resize(10);
    const Dataset b = corrupt(head, c, 10);
    EXPECT_TRUE(std::equal(b.samples.begin(), b.samples.end(), a.samples.begin()));
  }
  // Two identical samples are corrupted differently.
  const Dataset flat = corrupt(flat_dataset(2, 0.5f), {CorruptionKind::gaussian, 0.2}, 5);
  EXPECT_FALSE(
      std::equal(flat.samples.begin(), flat.samples.begin() + 100, flat.samples.begin() + 100));
}

TEST(Corruption, ThreadCountDoesNotChangeTheResult) {
  const Dataset data = ramp_dataset(500);  // 50000 values: the parallel path
  for (const Corruption c :
       {Corruption{CorruptionKind::gaussian, 0.2}, Corruption{CorruptionKind::salt_pepper, 0.3}}) {
    const int previous = omp_get_max_threads();
    omp_set_num_threads(1);
    const Dataset one = corrupt(data, c, 2);
    omp_set_num_threads(4);
    const Dataset four = corrupt(data, c, 2);
    omp_set_num_threads(previous);
    EXPECT_EQ(one.samples, four.samples) << corruption_name(c);
  }
}

std::string parse_error(std::string_view text) {
  try {
    parse_corruptions(text);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

TEST(Corruption, BadSpecsNameTheBadPart) {
  struct Case {
    std::string text;
    std::vector<std::string> expected;  // substrings of the message
  };
  const std::vector<Case> cases = {
      {"blur:0.1", {"'blur'", "gaussian, salt_pepper"}},
      {"gaussian", {"'gaussian'", "':'"}},
      {"gaussian:0.1,salt_pepper", {"'salt_pepper'", "':'"}},
      {"gaussian:abc", {"'abc'", "not a number"}},
      {"gaussian:", {"not a number"}},
      {"gaussian:0.1x", {"'0.1x'", "not a number"}},
      {"gaussian:-0.1", {"gaussian:-0.1", ">= 0"}},
      {"gaussian:inf", {"gaussian:inf", "finite"}},
      {"gaussian:nan", {"gaussian:nan", "finite"}},
      {"salt_pepper:1.5", {"salt_pepper:1.5", "[0, 1]"}},
      {"gaussian:0.1,,salt_pepper:0.2", {"empty item"}},
      {"gaussian:0.1,", {"empty item"}},
      {"salt_pepper:0.1,speckle:0.2", {"'speckle'", "gaussian, salt_pepper"}},
  };
  for (const Case& c : cases) {
    const std::string message = parse_error(c.text);
    ASSERT_FALSE(message.empty()) << c.text << ": no ConfigError";
    for (const std::string& part : c.expected) {
      EXPECT_NE(message.find(part), std::string::npos) << c.text << " -> " << message;
    }
  }
  EXPECT_THROW(corrupt(flat_dataset(1, 0.5f), {CorruptionKind::salt_pepper, 2.0}, 1), ConfigError);
  EXPECT_THROW(corrupt(flat_dataset(1, 0.5f), {CorruptionKind::gaussian, -1.0}, 1), ConfigError);
}

}  // namespace
}  // namespace homeostat
