// The weight-channel regulators move activity the intended way: weight bounds and sleep pull a
// layer whose input weights grew (here: scaled x3 after the regulators took their baseline) back
// toward its baseline firing rate. The learning rate is 0, so only the regulator moves weights.
// Under real training (optimizer on) the bounds hold after every update and keep a layer whose
// large initial weights saturate it well below saturation.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <sstream>
#include <utility>
#include <vector>

#include "config/config_reader.hpp"
#include "config/experiment_reader.hpp"
#include "data/dataset.hpp"
#include "homeostasis/homeostasis.hpp"
#include "homeostasis/sleep.hpp"
#include "metrics/activity.hpp"
#include "network/builder.hpp"
#include "train/optimizer.hpp"
#include "train/trainer.hpp"

namespace homeostat {
namespace {

constexpr std::size_t kBatch = 32;

// 784-100-10 LIF, T = 10, Fashion-MNIST; `fc1` adds keys to the first dense layer, `extra` adds
// [[homeostasis]]. lr 0 (the default here): no optimizer steps.
ExperimentConfig make_config(const std::string& extra, double lr = 0.0,
                             const std::string& fc1 = "") {
  std::ostringstream text;
  text << "name = \"w\"\nseed = 3\n[data]\ntime_steps = 10\n"
       << "[[network.layers]]\nkind = \"dense\"\nname = \"fc1\"\nunits = 100\ninit = \"normal\"\n"
       << fc1 << "[[network.layers]]\nkind = \"lif\"\nname = \"hidden\"\nthreshold = 1.0\n"
       << "[[network.layers]]\nkind = \"dense\"\nname = \"fc2\"\nunits = 10\ninit = \"normal\"\n"
       << "[[network.layers]]\nkind = \"lif\"\nname = \"out\"\n"
       << "[train]\nlr = " << lr << "\nbatch_size = " << kBatch << "\n"
       << extra;
  return parse_experiment(parse_config_string(text.str(), "test.toml"));
}

// Called after every training step with fc1's weights before and after it.
using UpdateCheck = std::function<void(const Tensor<float>& before, const Tensor<float>& after)>;

// Trains `batches` batches after scaling fc1's weights by `gain` (once the regulators have their
// baseline); returns the hidden layer's rate in each batch's forward pass.
struct RunResult {
  std::vector<double> rates;
  nlohmann::json regulator_state;  // describe() of the first regulator after the last batch
  float largest_weight = 0.0f;     // max |w| of fc1 after the last batch
};

RunResult train_batches(const ExperimentConfig& config, float gain, std::size_t batches,
                        const UpdateCheck& check = {}) {
  const Dataset data = load_idx_split(config.data.directory, "train", kBatch * batches);
  Network<float> network = build_network<float>(config.layers, network_input_shape(config),
                                                config.data.time_steps, config.seed);
  Optimizer<float> optimizer(config.train.optimizer, network.parameters());
  ActivityMonitor<float> monitor(network);
  Homeostasis<float> homeostasis(config.homeostasis, network);
  Tensor<float>& fc1 = *network.layer(0).incoming_synapses().weights.at(0);
  for (std::size_t i = 0; i < fc1.size(); ++i) fc1[i] *= gain;
  TrainingStep step(config, network, optimizer, monitor, homeostasis);
  RunResult result;
  std::vector<std::size_t> indices(kBatch);
  std::vector<std::int32_t> labels(kBatch);
  for (std::size_t batch = 0; batch < batches; ++batch) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      indices[i] = batch * kBatch + i;
      labels[i] = data.labels[indices[i]];
    }
    const Tensor<float> before = fc1;
    step.run(data, indices, labels, TrainingClock{0, batch, batches},
             config.train.optimizer.learning_rate);
    if (check) check(before, fc1);
    const Tensor<float>& spikes = network.output(1);
    double sum = 0.0;
    for (std::size_t e = 0; e < spikes.size(); ++e) sum += spikes[e];
    result.rates.push_back(sum / static_cast<double>(spikes.size()));
  }
  if (!homeostasis.regulators().empty())
    result.regulator_state = homeostasis.regulators().front()->describe();
  for (std::size_t i = 0; i < fc1.size(); ++i)
    result.largest_weight = std::max(result.largest_weight, std::abs(fc1[i]));
  return result;
}

RunResult run_frozen(const std::string& extra, float gain, std::size_t batches) {
  return train_batches(make_config(extra), gain, batches);
}

double mean(const std::vector<double>& values, std::size_t from) {
  double sum = 0.0;
  for (std::size_t i = from; i < values.size(); ++i) sum += values[i];
  return sum / static_cast<double>(values.size() - from);
}

TEST(WeightChannelActivity, WeightBoundsPullAGrownLayerBackDown) {
  const double baseline = mean(run_frozen("", 1.0f, 4).rates, 0);
  const RunResult grown = run_frozen("", 3.0f, 4);
  const double grown_rate = mean(grown.rates, 0);
  ASSERT_GT(grown_rate, 1.5 * baseline) << "scaling fc1 x3 should make the layer busier";
  // Bounds inside the scaled weights' spread (initial N(0, 1/784): sd 0.036, x3: 0.107).
  const RunResult bounded = run_frozen(R"(
[[homeostasis]]
kind = "weight_bounds"
layers = ["hidden"]
min = -0.06
max = 0.06
)",
                                       3.0f, 4);
  // From batch 1 on (after the first update) the scaled weights are bounded.
  const double bounded_rate = mean(bounded.rates, 1);
  std::printf("[ activity ] hidden rate: baseline %.3f, fc1 x3 %.3f, x3 with bounds %.3f\n",
              baseline, grown_rate, bounded_rate);
  EXPECT_LT(bounded_rate, 0.8 * mean(grown.rates, 1)) << "baseline " << baseline;
  EXPECT_LT(std::abs(bounded_rate - baseline), std::abs(grown_rate - baseline));
  EXPECT_LE(bounded.largest_weight, 0.06f);
  EXPECT_GT(bounded.regulator_state.at("fraction_at_bounds").get<double>(), 0.05);
}

TEST(WeightChannelActivity, WeightBoundsHoldAfterEveryUpdateAndKeepALargeInitFromSaturating) {
  // fc1 drawn with mean 0.01: ~230 active pixels per step drive the hidden layer far above its
  // threshold. Adam (lr 1e-3) trains it; the bounds clip after every optimizer step.
  constexpr std::size_t kBatches = 8;
  constexpr float kBound = 0.005f;
  const std::string large_init = "init_mean = 0.01\n";
  const RunResult free_run = train_batches(make_config("", 1e-3, large_init), 1.0f, kBatches);
  const double free_rate = mean(free_run.rates, 0);
  ASSERT_GT(free_rate, 0.6) << "the large init should saturate the hidden layer";
  ASSERT_GT(free_run.largest_weight, 10 * kBound);
  std::size_t updates = 0;
  std::size_t moved = 0;    // weights the optimizer step changed
  std::size_t clipped = 0;  // inside the bounds before a step, exactly at one after it
  float largest = 0.0f;     // max |w| after any step
  const auto check = [&](const Tensor<float>& before, const Tensor<float>& after) {
    ++updates;
    for (std::size_t i = 0; i < after.size(); ++i) {
      largest = std::max(largest, std::abs(after[i]));
      moved += after[i] != before[i];
      // An Adam step landing exactly on the bound by chance is vanishingly unlikely: these are
      // steps that crossed it and were clipped back.
      clipped += std::abs(before[i]) < kBound && std::abs(after[i]) == kBound;
    }
  };
  const RunResult bounded = train_batches(make_config(R"(
[[homeostasis]]
kind = "weight_bounds"
layers = ["hidden"]
min = -0.005
max = 0.005
)",
                                                      1e-3, large_init),
                                          1.0f, kBatches, check);
  const double bounded_rate = mean(bounded.rates, 0);
  const double at_bounds = bounded.regulator_state.at("fraction_at_bounds").get<double>();
  std::printf(
      "[ activity ] trained, fc1 mean 0.01: hidden rate %.3f free, %.3f within +-0.005 "
      "(%.2f of the weights at a bound, %zu clipped after an update)\n",
      free_rate, bounded_rate, at_bounds, clipped);
  EXPECT_EQ(updates, kBatches);
  EXPECT_LE(largest, kBound);
  EXPECT_GT(moved, 1000u) << "the optimizer should be moving the weights";
  EXPECT_GT(clipped, 100u) << "the bounds should act after updates, not only at attach";
  EXPECT_GT(at_bounds, 0.05);
  EXPECT_LT(bounded_rate, 0.6 * free_rate);
}

TEST(WeightChannelActivity, SleepOnScheduleAndOnWeightSumRestoresTheBaselineRate) {
  const double baseline = mean(run_frozen("", 1.0f, 6).rates, 0);
  const double grown_rate = mean(run_frozen("", 3.0f, 6).rates, 1);
  ASSERT_GT(grown_rate, 1.5 * baseline);
  // Schedule: every batch, ratio 1 x T = 10 sleep steps of lambda 0.9 (exponent 0.35 per
  // episode): |w| contracts toward its initial mean in log space.
  std::vector<std::pair<double, double>> sums;  // sum|w| of fc1 before and after each step
  const auto record_sums = [&](const Tensor<float>& before, const Tensor<float>& after) {
    sums.emplace_back(absolute_sum<float>(before.span()), absolute_sum<float>(after.span()));
  };
  const RunResult scheduled = train_batches(make_config(R"(
[[homeostasis]]
kind = "sleep"
layers = ["hidden"]
interval = 1
ratio = 1.0
lambda = 0.9
)"),
                                            3.0f, 6, record_sums);
  ASSERT_EQ(sums.size(), 6u);
  // Every episode (exponent 0.35) shrinks the weight sum's excess over its baseline: the decay's
  // fixed point with the default target is the initial sum, approached from above.
  const double baseline_sum = sums.front().first / 3.0;
  for (const auto& [before, after] : sums) {
    EXPECT_GT(after, baseline_sum);
    EXPECT_LT(after - baseline_sum, 0.6 * (before - baseline_sum));
  }
  const double scheduled_sum = scheduled.regulator_state.at("weight_sum_ratio").get<double>();
  EXPECT_LT(scheduled_sum, 1.5);
  EXPECT_GT(scheduled_sum, 1.0);
  EXPECT_GE(scheduled.regulator_state.at("episodes").get<double>(), 6.0);
  const double scheduled_rate = mean(scheduled.rates, 3);
  EXPECT_LT(scheduled_rate, 0.8 * grown_rate) << "baseline " << baseline;
  EXPECT_LT(std::abs(scheduled_rate - baseline), 0.5 * std::abs(grown_rate - baseline));
  // Weight-sum trigger: sum|w| is 3x its initial value (> max_factor 1.5), so the first episode
  // sleeps until the sum is back within baseline_factor (1.05) of the baseline.
  sums.clear();
  const RunResult triggered = train_batches(make_config(R"(
[[homeostasis]]
kind = "sleep"
layers = ["hidden"]
trigger = "weight_sum"
lambda = 0.9
)"),
                                            3.0f, 6, record_sums);
  // One episode, on the first step; after it the sum is under max_factor and sleep rests.
  EXPECT_EQ(triggered.regulator_state.at("episodes").get<double>(), 1.0);
  ASSERT_EQ(sums.size(), 6u);
  EXPECT_LT(sums[0].second, 1.05 * sums[0].first / 3.0 + 1e-3);
  for (std::size_t i = 1; i < sums.size(); ++i) EXPECT_EQ(sums[i].second, sums[i].first);
  const double triggered_sum = triggered.regulator_state.at("weight_sum_ratio").get<double>();
  EXPECT_LE(triggered_sum, 1.05 + 1e-6);
  EXPECT_GT(triggered_sum, 1.0);
  const double triggered_rate = mean(triggered.rates, 1);
  std::printf(
      "[ activity ] hidden rate: baseline %.3f, fc1 x3 %.3f, x3 with scheduled sleep %.3f (sum|w| "
      "%.3f x baseline), with weight-sum sleep %.3f (%.3f x)\n",
      baseline, grown_rate, scheduled_rate, scheduled_sum, triggered_rate, triggered_sum);
  EXPECT_LT(triggered_rate, 0.8 * grown_rate) << "baseline " << baseline;
  EXPECT_LT(std::abs(triggered_rate - baseline), 0.5 * std::abs(grown_rate - baseline));
}

}  // namespace
}  // namespace homeostat
