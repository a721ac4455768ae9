// train.shards (train/sharded_step.cpp): the shards of a batch, the ordered sum that makes a
// sharded step independent of the rank count, and a sharded step that is the whole batch's step
// up to float rounding. The same step on 1, 2 and 4 MPI ranks is
// tests/python/test_data_parallel.py.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "config/experiment_reader.hpp"
#include "distributed/communicator.hpp"
#include "gradient_check.hpp"
#include "metrics/activity.hpp"
#include "network/builder.hpp"
#include "train/trainer.hpp"
#include "training_parts.hpp"

namespace homeostat {
namespace {

TEST(OrderedSum, AddsThePartsLeftToRight) {
  // In float, (1e8 + 1) - 1e8 is 0 while (1e8 - 1e8) + 1 is 1: only the left-to-right order
  // gives 0.
  const std::vector<float> big{1e8f, 2.0f};
  const std::vector<float> one{1.0f, 2.0f};
  const std::vector<float> minus_big{-1e8f, 2.0f};
  const std::vector<std::span<const float>> parts{big, one, minus_big};
  std::vector<float> total(2, -7.0f);
  single_process().ordered_sum(parts, total);
  EXPECT_EQ(total[0], 0.0f);
  EXPECT_EQ(total[1], 6.0f);
  const std::vector<double> first{0.5};
  const std::vector<std::span<const double>> single{first};
  std::vector<double> copy(1, 3.0);
  single_process().ordered_sum(single, copy);
  EXPECT_EQ(copy[0], 0.5);  // one part: copied, not added to what the total held
  EXPECT_EQ(single_process().describe(), "rank 0 of 1");
}

TEST(ShardRange, SplitsTheBatchIntoNearEqualContiguousShares) {
  const std::vector<std::pair<std::size_t, std::size_t>> ten{{0, 3}, {3, 6}, {6, 8}, {8, 10}};
  for (std::size_t s = 0; s < 4; ++s) EXPECT_EQ(shard_range(10, 4, s), ten[s]);
  // A last batch smaller than the shard count leaves the last shards empty.
  EXPECT_EQ(shard_range(3, 4, 2), (std::pair<std::size_t, std::size_t>{2, 3}));
  EXPECT_EQ(shard_range(3, 4, 3), (std::pair<std::size_t, std::size_t>{3, 3}));
}

ExperimentConfig sharded_config(std::size_t shards, const std::string& extra = "") {
  const std::string toml =
      "seed = 5\n[data]\ntime_steps = 4\n"
      "[[network.layers]]\nkind = \"dense\"\nunits = 40\n[[network.layers]]\nkind = \"lif\"\n"
      "[[network.layers]]\nkind = \"dense\"\nunits = 10\nbias_init = 0.3\n"
      "[[network.layers]]\nkind = \"lif\"\n" +
      extra + "[train]\noptimizer = \"sgd\"\nbatch_size = 16\nshards = " + std::to_string(shards) +
      "\n";
  return parse_experiment(parse_config_string(toml, "sharded.toml"));
}

Dataset random_images(std::size_t samples) {
  Dataset data;
  data.sample_shape = {28, 28};
  data.num_classes = 10;
  const Tensor<double> pixels = testing::random_tensor({samples * 784}, 31, 0.0, 1.0);
  for (std::size_t i = 0; i < pixels.size(); ++i)
    data.samples.push_back(static_cast<float>(pixels[i]));
  for (std::size_t i = 0; i < samples; ++i) data.labels.push_back(static_cast<int>(i % 10));
  return data;
}

struct StepResult {
  std::vector<std::vector<float>> gradients;
  std::vector<std::vector<double>> spike_counts;
  TrainingStep::Outcome outcome;
};

StepResult one_step(const ExperimentConfig& config, const Dataset& data) {
  testing::TrainingParts parts(config);
  TrainingStep step(config, parts.network, parts.optimizer, parts.monitor, parts.homeostasis);
  std::vector<std::size_t> indices(data.size());
  for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = i;
  StepResult result;
  result.outcome = step.run(data, indices, data.labels, TrainingClock{0, 0, 1}, 0.0);
  for (const Parameter<float>* p : parts.network.parameters()) {
    result.gradients.emplace_back(p->grad.data(), p->grad.data() + p->grad.size());
  }
  result.spike_counts = parts.monitor.neuron_spike_sums();
  return result;
}

// Every sample sees the same forward pass in a shard as in the whole batch, so the spikes,
// predictions and spike counts are equal exactly; the loss and the gradient are the same sums
// grouped by shard. Each gradient element sums T x B = 64 products, so regrouping moves it by a
// few float roundings of the largest element (2^-24 each): 1e-5 of it is far beyond that, and
// far below what a missing or double-counted shard (a quarter of the gradient) would change.
TEST(ShardedStep, IsTheWholeBatchStepUpToRounding) {
  const Dataset data = random_images(16);
  const StepResult whole = one_step(sharded_config(1), data);
  for (const std::size_t shards : {2u, 4u, 16u}) {
    const StepResult sharded = one_step(sharded_config(shards), data);
    EXPECT_EQ(sharded.outcome.loss.predictions, whole.outcome.loss.predictions);
    EXPECT_EQ(sharded.spike_counts, whole.spike_counts);
    EXPECT_NEAR(sharded.outcome.loss.loss, whole.outcome.loss.loss,
                1e-12 * std::abs(whole.outcome.loss.loss));
    ASSERT_EQ(sharded.gradients.size(), whole.gradients.size());
    for (std::size_t p = 0; p < whole.gradients.size(); ++p) {
      float largest = 0.0f;
      for (const float g : whole.gradients[p]) largest = std::max(largest, std::abs(g));
      ASSERT_GT(largest, 0.0f);
      for (std::size_t i = 0; i < whole.gradients[p].size(); ++i) {
        ASSERT_NEAR(sharded.gradients[p][i], whole.gradients[p][i], 1e-5f * largest)
            << shards << " shards, parameter " << p << ", element " << i;
      }
    }
  }
}

TEST(ShardedStep, ConfigsItCannotTrainAreRefusedNamingTheKey) {
  const auto message = [](const std::string& toml) -> std::string {
    try {
      parse_experiment(parse_config_string(toml, "bad.toml"));
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "accepted";
  };
  const std::string net =
      "[[network.layers]]\nkind = \"dense\"\nunits = 10\n[[network.layers]]\nkind = \"lif\"\n";
  EXPECT_NE(message(net + "[train]\nbatch_size = 4\nshards = 8\n").find("exceeds train.batch_size"),
            std::string::npos);
  EXPECT_NE(message(net + "[train]\nshards = 2\ntwo_pass = true\n").find("train.shards"),
            std::string::npos);
  EXPECT_NE(message(net + "[train]\nshards = 2\nmethod = \"rate\"\n").find("shards"),
            std::string::npos);
  // A network with batch statistics: each shard would update them apart.
  const ExperimentConfig tebn = sharded_config(2, "[[network.layers]]\nkind = \"tebn\"\n");
  testing::TrainingParts parts(tebn);
  EXPECT_THROW(TrainingStep(tebn, parts.network, parts.optimizer, parts.monitor, parts.homeostasis),
               ConfigError);
}

}  // namespace
}  // namespace homeostat
