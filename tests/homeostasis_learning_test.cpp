// Regulators move activity the intended way in real training runs (small fixed-seed subsets of
// Fashion-MNIST), and the activity guard stops a saturated run with a clear message.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/error.hpp"
#include "config/config_reader.hpp"
#include "config/experiment_reader.hpp"
#include "run/train_run.hpp"
#include "temp_dir.hpp"
#include "train/trainer.hpp"

namespace homeostat {
namespace {

// 784-200-10 LIF, T = 10, 1280 training samples in batches of 32.
std::string config(const testing::TempDir& dir, double threshold, const std::string& extra,
                   std::size_t epochs = 2) {
  std::ostringstream text;
  text << "name = \"h\"\nseed = 2\n[data]\ntrain_limit = 1280\ntest_limit = 256\ntime_steps = 10\n"
       << "[[network.layers]]\nkind = \"dense\"\nname = \"fc1\"\nunits = 200\ninit = \"normal\"\n"
       << "[[network.layers]]\nkind = \"lif\"\nname = \"hidden\"\nthreshold = " << threshold
       << "\nsharpness = 5.0\n"
       << "[[network.layers]]\nkind = \"dense\"\nname = \"fc2\"\nunits = 10\ninit = \"normal\"\n"
       << "init_gain = 0.5\nbias_init = 0.3\n"
       << "[[network.layers]]\nkind = \"lif\"\nname = \"out\"\nsharpness = 5.0\n"
       << "[train]\nepochs = " << epochs << "\nlr = 1e-3\nbatch_size = 32\n"
       << "[output]\ndirectory = \"" << dir.path().string() << "\"\ncheckpoint_every = 0\n"
       << "[diagnostics]\nreport = false\n"
       << extra;
  return text.str();
}

TrainResult run(const std::string& text) {
  TrainOptions options;
  options.progress = false;
  options.quiet = true;
  return train(parse_experiment(parse_config_string(text, "test.toml")), options);
}

double hidden_rate(const TrainResult& result) {
  return result.epochs.back().at("rate").at("hidden").get<double>();
}

TEST(HomeostasisLearning, RateL2BringsABusyLayerTowardItsTarget) {
  const testing::TempDir dir;
  const TrainResult free_run = run(config(dir, 0.5, ""));
  const double free_rate = hidden_rate(free_run);
  EXPECT_GT(free_rate, 0.2) << "the unregulated layer should start busy (~30%)";
  const TrainResult regulated = run(config(dir, 0.5, R"(
[[homeostasis]]
kind = "rate_l2"
layers = ["hidden"]
target = 0.05
weight = 100.0
)"));
  const double rate = hidden_rate(regulated);
  EXPECT_LT(rate, 0.1) << "free " << free_rate;
  EXPECT_LT(std::abs(rate - 0.05), 0.5 * std::abs(free_rate - 0.05));
  EXPECT_GT(regulated.test_accuracy, 0.5);
}

TEST(HomeostasisLearning, AhsarPullsAFourTimesThresholdBackIntoTheBand) {
  const testing::TempDir dir;
  // With threshold 3 the hidden layer fires in the band; x4 (threshold 12) leaves it nearly
  // silent.
  const TrainResult silent = run(config(dir, 12.0, "", 1));
  EXPECT_LT(hidden_rate(silent), 0.05) << "threshold x4 should leave the layer below the band";
  const TrainResult regulated = run(config(dir, 12.0, R"(
[[homeostasis]]
kind = "ahsar"
low = 0.08
high = 0.2
eta = 0.05
)",
                                           1));
  const double rate = hidden_rate(regulated);
  EXPECT_GE(rate, 0.08) << "unregulated: " << hidden_rate(silent);
  EXPECT_LE(rate, 0.2);
  EXPECT_LT(regulated.epochs.back().at("threshold_scale").at("hidden").get<double>(), 0.5);
}

TEST(HomeostasisLearning, AdaptiveThresholdAndConstraintsHoldTheirRates) {
  const testing::TempDir dir;
  const TrainResult adaptive = run(config(dir, 0.5, R"(
[[homeostasis]]
kind = "adaptive_threshold"
layers = ["hidden"]
target = 0.05
eta = 0.5
)",
                                          2));
  EXPECT_LT(hidden_rate(adaptive), 0.15);  // unregulated at this threshold: ~0.28
  const TrainResult capped = run(config(dir, 0.5, R"(
[[homeostasis]]
kind = "refractory"
layers = ["hidden"]
steps = 1
[[homeostasis]]
kind = "firing_cap"
layers = ["hidden"]
spikes = 1
window = 5
)",
                                        1));
  EXPECT_LE(hidden_rate(capped), 0.2 + 1e-12);  // at most 1 spike in any 5 steps
}

TEST(HomeostasisLearning, L1BandAndScalingMoveTheRateTheIntendedWay) {
  const testing::TempDir dir;
  const double free_rate = hidden_rate(run(config(dir, 0.5, "", 1)));  // ~0.28
  const double sparse = hidden_rate(run(config(dir, 0.5, R"(
[[homeostasis]]
kind = "rate_l1"
layers = ["hidden"]
weight = 20.0
)",
                                               1)));
  EXPECT_LT(sparse, 0.7 * free_rate) << "free " << free_rate;
  const double banded = hidden_rate(run(config(dir, 0.5, R"(
[[homeostasis]]
kind = "rate_band"
layers = ["hidden"]
low = 0.05
high = 0.15
weight = 100.0
)",
                                               1)));
  EXPECT_LT(banded, 0.7 * free_rate) << "free " << free_rate;
  // A quiet layer (threshold 3) is scaled up toward its target; no optimizer steps (lr 0), so
  // only the regulator moves the weights.
  const auto frozen = [&](const std::string& extra) {
    std::string text = config(dir, 3.0, extra, 1);
    text.replace(text.find("lr = 1e-3"), 9, "lr = 0.0");
    return hidden_rate(run(text));
  };
  const double quiet = frozen("");
  const double scaled = frozen(R"(
[[homeostasis]]
kind = "synaptic_scaling"
layers = ["hidden"]
target = 0.2
eta = 0.2
)");
  EXPECT_GT(scaled, 1.3 * quiet) << "quiet " << quiet;
}

TEST(HomeostasisLearning, SaturationAlarmAndGuard) {
  const testing::TempDir dir;
  const TrainResult alarmed = run(config(dir, 0.01, "", 1));
  const auto& alarms = alarmed.epochs.front().at("alarms");
  bool saturation = false;
  for (const auto& a : alarms) saturation = saturation || a.at("kind") == "saturation";
  EXPECT_TRUE(saturation) << alarms.dump();
  std::string guarded = config(dir, 0.01, "", 1);
  guarded.replace(guarded.find("[diagnostics]\n"), 14, "[diagnostics]\nguard = true\n");
  try {
    run(guarded);
    ADD_FAILURE() << "the guard did not stop the run";
  } catch (const AlarmError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("saturation alarm"), std::string::npos) << message;
    EXPECT_NE(message.find("'hidden'"), std::string::npos) << message;
  }
}

TEST(HomeostasisLearning, GuardExitsWithCodeFive) {
  const testing::TempDir dir;
  std::string text = config(dir, 0.01, "", 1);
  text.replace(text.find("[diagnostics]\n"), 14, "[diagnostics]\nguard = true\n");
  const std::filesystem::path path = dir.path() / "guard.toml";
  std::ofstream(path) << text;
  const std::string log = (dir.path() / "log.txt").string();
  const int status = std::system((std::string(HOMEOSTAT_BINARY_PATH) + " train " + path.string() +
                                  " --no-progress > " + log + " 2>&1")
                                     .c_str());
  std::ifstream in(log);
  std::stringstream output;
  output << in.rdbuf();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 5) << output.str();
  EXPECT_NE(output.str().find("stopped by the activity guard"), std::string::npos) << output.str();
}

// W5 (the anomaly task of `reproduce saturation`, 2000 samples) under seed 000's hard
// constraints (refractory 4 + at most 2 spikes in 40 steps): from the quiet start the layer
// learns a sparse code under its budget; from W5's busy start every neuron spends its budget in
// the first steps and the network stays near chance (README, "saturation").
double w5_hard_constraints(const testing::TempDir& dir, bool quiet_start, double* rate) {
  std::ifstream in(HOMEOSTAT_SOURCE_DIR "/experiments/w5.toml");
  std::stringstream text;
  text << in.rdbuf() << R"(
[[homeostasis]]
kind = "refractory"
layers = ["hidden"]
steps = 4
[[homeostasis]]
kind = "firing_cap"
layers = ["hidden"]
spikes = 2
window = 40
)";
  ConfigDocument document = parse_config_string(text.str(), "w5.toml + hard constraints");
  for (const char* o :
       {"data.anomaly.train_samples=2000", "data.anomaly.test_samples=500", "train.epochs=4",
        "diagnostics.report=false", "output.checkpoint_every=0"}) {
    apply_override(document, o);
  }
  apply_override(document, "output.directory=\"" + dir.path().string() + "\"");
  if (quiet_start) {
    for (const char* o :
         {"network.layers.0.init_gain=0.3", "network.layers.0.recurrent_init_gain=0.3",
          "network.layers.0.threshold=2.0"}) {
      apply_override(document, o);
    }
  }
  TrainOptions options;
  options.progress = false;
  options.quiet = true;
  const TrainResult result = train(parse_experiment(document), options);
  *rate = result.epochs.back().at("test_rate").at("hidden").get<double>();
  return result.test_accuracy;
}

TEST(HomeostasisLearning, HardConstraintsLearnTheAnomalyTaskFromAQuietStart) {
  const testing::TempDir dir;
  double quiet_rate = 0.0, busy_rate = 0.0;
  const double quiet = w5_hard_constraints(dir, true, &quiet_rate);
  const double busy = w5_hard_constraints(dir, false, &busy_rate);
  // Measured (seeds 1, 2, 3): quiet 0.704, 0.716, 0.678 at rate 0.004-0.007; busy 0.570,
  // 0.534, 0.560 at rate 0.04.
  EXPECT_GT(quiet, 0.62) << "rate " << quiet_rate;
  EXPECT_LE(quiet_rate, 0.06);
  EXPECT_LE(busy_rate, 0.06) << "the constraints bound the busy start's rate too";
  EXPECT_GT(quiet - busy, 0.08) << "quiet " << quiet << ", busy " << busy;
}

}  // namespace
}  // namespace homeostat
