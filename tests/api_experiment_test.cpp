// The public API (include/homeostat/): configs built in code go through the same validation as
// TOML files, and an Experiment trained batch by batch is the same network `homeostat train`
// trains: after one epoch both give the same test accuracy, bit for bit.
#include <gtest/gtest.h>

#include <filesystem>
#include <homeostat/homeostat.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "temp_dir.hpp"

namespace homeostat {
namespace {

bool have_fashion_mnist() { return std::filesystem::exists("/usr/share/datasets/fashion-mnist"); }

Config small_w1(const std::filesystem::path& runs) {
  Config config = Config::from_file(HOMEOSTAT_SOURCE_DIR "/experiments/w1.toml");
  config.set("data.train_limit", std::int64_t{384})
      .set("data.test_limit", std::int64_t{256})
      .set("network.layers.0.units", std::int64_t{64})
      .set("output.directory", runs.string())
      .set("output.checkpoint_every=0")
      .set("diagnostics.report", false);
  return config;
}

TEST(ApiConfig, BuiltInCodeReadsLikeToml) {
  Config config;
  config.set("name", std::string("coded")).set("train.lr", 1e-3);
  config.append("network.layers", {{"kind", std::string("dense")}, {"units", std::int64_t{10}}});
  config.append("network.layers", {{"kind", std::string("lif")}, {"decay", 0.9}});
  const std::string toml = config.to_toml();
  EXPECT_NE(toml.find("coded"), std::string::npos) << toml;
  EXPECT_NE(toml.find("[[network.layers]]"), std::string::npos) << toml;
  EXPECT_NE(toml.find("units = 10"), std::string::npos) << toml;
  const Experiment experiment(config);
  const std::vector<LayerInfo> layers = experiment.layers();
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0].kind, "dense");
  EXPECT_EQ(layers[0].shape, std::vector<std::size_t>{10});
  EXPECT_FALSE(layers[0].spiking);
  EXPECT_TRUE(layers[1].spiking);
}

TEST(ApiConfig, BadKeysFailWithTheKeyNamed) {
  Config config = Config::from_file(HOMEOSTAT_SOURCE_DIR "/experiments/w1.toml");
  config.set("train.lr", -1.0);
  try {
    const Experiment experiment(config);
    FAIL() << "a negative learning rate was accepted";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("train.lr"), std::string::npos) << error.what();
  }
  Config unknown = Config::from_file(HOMEOSTAT_SOURCE_DIR "/experiments/w1.toml");
  unknown.set("train.learning_rat=0.1");
  EXPECT_THROW(const Experiment experiment(unknown), ConfigError);
  EXPECT_THROW(config.set("not an assignment"), ConfigError);
  EXPECT_THROW(config.set("network.layers.7.units", std::int64_t{3}), ConfigError);
  EXPECT_THROW(Config::from_toml("a = [1,", "broken"), ConfigError);
}

TEST(ApiExperiment, ParametersReadAndWriteBack) {
  Config config;
  config.append("network.layers", {{"kind", std::string("dense")}, {"units", std::int64_t{10}}});
  config.append("network.layers", {{"kind", std::string("lif")}});
  Experiment experiment(config);
  std::vector<float> weights = experiment.parameter("dense0.weight");
  ASSERT_EQ(weights.size(), 10u * 784u);
  weights[5] = 0.25f;
  experiment.set_parameter("dense0.weight", weights);
  EXPECT_EQ(experiment.parameter("dense0.weight")[5], 0.25f);
  EXPECT_THROW(experiment.set_parameter("dense0.weight", std::vector<float>(3)), ConfigError);
  EXPECT_THROW(static_cast<void>(experiment.parameter("nothing.weight")), ConfigError);
}

TEST(ApiExperiment, BatchByBatchTrainingIsTheTrainCommandsNetwork) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const testing::TempDir runs;
  const Config config = small_w1(runs.path());
  Experiment stepped(config);
  const TrainingProgress progress = stepped.train_batches(3);  // 384 / 128: one epoch
  EXPECT_EQ(progress.batches, 3u);
  EXPECT_EQ(progress.epoch, 1u);
  ASSERT_EQ(progress.rates.size(), 2u);
  EXPECT_EQ(progress.rates[0].name, "hidden");
  EXPECT_GT(progress.rates[0].rate, 0.0);
  EXPECT_LT(progress.rates[0].rate, 1.0);
  const Evaluation tested = stepped.evaluate();
  EXPECT_EQ(tested.samples, 256u);

  const RunSummary recorded = Experiment(config).run();
  ASSERT_EQ(recorded.epoch_records.size(), 1u);
  const auto record = nlohmann::json::parse(recorded.epoch_records[0]);
  EXPECT_EQ(record.at("test_accuracy").get<double>(), tested.accuracy);
  EXPECT_EQ(record.at("test_loss").get<double>(), tested.loss);
  EXPECT_EQ(record.at("train_loss").get<double>(), progress.loss);
  EXPECT_TRUE(std::filesystem::exists(recorded.run_directory / "metrics.jsonl"));
}

}  // namespace
}  // namespace homeostat
