// A real sweep with the homeostat binary: two grid points x two seeds on two workers. Its results
// are the single runs' figures, a restart skips what finished, a lost result is run again, and a
// diverged run is a result, not a failure.
#include "sweep/sweep_runner.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "common/error.hpp"
#include "temp_dir.hpp"

namespace homeostat {
namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The last epoch record of a run, without its wall time.
nlohmann::json last_epoch(const std::filesystem::path& run_directory) {
  std::ifstream in(run_directory / "metrics.jsonl");
  std::string line;
  nlohmann::json last;
  while (std::getline(in, line)) {
    nlohmann::json record = nlohmann::json::parse(line);
    if (record["kind"] == "epoch") last = record;
  }
  last.erase("seconds");
  return last;
}

TEST(SweepRunner, RunsEveryPointAndSeedOnceAndSummarizesThem) {
  const testing::TempDir dir;
  const std::filesystem::path grid = dir.path() / "tiny.toml";
  const std::string small =
      "\"train.epochs=1\", \"data.anomaly.train_samples=256\", "
      "\"data.anomaly.test_samples=128\", \"network.layers.0.units=32\"";
  std::ofstream(grid) << "base = \"" << HOMEOSTAT_SOURCE_DIR << "/experiments/w5.toml\"\n"
                      << "seeds = [1, 2]\nmetrics = [\"test_accuracy\", \"rate.hidden\"]\n"
                      << "set = [" << small << "]\n[grid]\n\"train.lr\" = [2e-3, 1e30]\n"
                      << "[output]\ndirectory = \"" << dir.path().string() << "\"\n";
  const SweepSpec spec = load_sweep_spec(grid);
  SweepOptions options;
  options.workers = 2;
  options.threads_per_run = 1;
  options.progress = false;
  options.executable = HOMEOSTAT_BINARY_PATH;
  const SweepOutcome first = run_sweep(spec, options);
  EXPECT_EQ(first.runs, 4u);
  EXPECT_EQ(first.finished, 4u);
  EXPECT_EQ(first.failed, 0u);
  const std::filesystem::path folder = dir.path() / "tiny";

  // Each ok run's figures are those of the same run done alone with `homeostat train`.
  const std::string alone = "alone";
  const std::string command = std::string(HOMEOSTAT_BINARY_PATH) + " train " + spec.base.string() +
                              " --set train.epochs=1 --set data.anomaly.train_samples=256 "
                              "--set data.anomaly.test_samples=128 --set "
                              "network.layers.0.units=32 --set train.lr=2e-3 --set seed=2 "
                              "--set name=alone --set output.directory=" +
                              dir.path().string() + " --threads 2 --no-progress > /dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0);
  nlohmann::json single = last_epoch(dir.path() / alone);
  nlohmann::json swept = last_epoch(folder / "p0_s2");
  EXPECT_EQ(single, swept);

  std::map<std::string, nlohmann::json> results;
  {
    std::ifstream in(folder / "results.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      const nlohmann::json r = nlohmann::json::parse(line);
      results[r["run"].get<std::string>()] = r;
    }
  }
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results["p0_s2"]["status"], "ok");
  EXPECT_EQ(results["p0_s2"]["metrics"]["test_accuracy"], single["test_accuracy"]);
  EXPECT_EQ(results["p0_s2"]["metrics"]["rate.hidden"], single["rate"]["hidden"]);
  EXPECT_EQ(results["p1_s1"]["status"], "diverged");
  EXPECT_EQ(results["p1_s1"]["exit_code"], 4);
  const std::string summary = read_text(folder / "summary.md");
  EXPECT_NE(summary.find("| p1 | 1e+30 | 0 | - | - | 2 diverged |"), std::string::npos) << summary;
  EXPECT_TRUE(std::filesystem::exists(folder / "summary.csv"));

  // A restart runs nothing; a lost result is run again, alone.
  const auto written = std::filesystem::last_write_time(folder / "p0_s1" / "metrics.jsonl");
  const SweepOutcome again = run_sweep(spec, options);
  EXPECT_EQ(again.already_finished, 4u);
  EXPECT_EQ(again.finished, 0u);
  EXPECT_EQ(std::filesystem::last_write_time(folder / "p0_s1" / "metrics.jsonl"), written);
  results.erase("p0_s1");
  {
    std::ofstream out(folder / "results.jsonl");
    for (const auto& [name, record] : results) out << record.dump() << "\n";
  }
  const SweepOutcome third = run_sweep(spec, options);
  EXPECT_EQ(third.already_finished, 3u);
  EXPECT_EQ(third.finished, 1u);
  EXPECT_EQ(read_text(folder / "summary.md"), summary);

  // Another grid into the same folder is refused.
  std::ofstream(grid, std::ios::app) << "# changed\n[grid.train]\nbatch_size = [32]\n";
  EXPECT_THROW(run_sweep(load_sweep_spec(grid), options), ConfigError);
}

}  // namespace
}  // namespace homeostat
