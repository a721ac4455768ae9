// The sweep file: its grid expands to every point x seed in a fixed order, every run gets its
// overrides, and each mistake is a config error naming the key.
#include "sweep/sweep_spec.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "common/error.hpp"
#include "sweep/sweep_summary.hpp"
#include "temp_dir.hpp"

namespace homeostat {
namespace {

const std::string kW5 = std::string(HOMEOSTAT_SOURCE_DIR) + "/experiments/w5.toml";

std::filesystem::path write_grid(const testing::TempDir& dir, const std::string& text) {
  const auto path = dir.path() / "grid.toml";
  std::ofstream(path) << text;
  return path;
}

std::string error_of(const std::filesystem::path& grid) {
  try {
    (void)load_sweep_spec(grid);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

TEST(SweepSpec, GridExpandsToEveryPointAndSeedInOrder) {
  const testing::TempDir dir;
  const auto grid = write_grid(dir, "name = \"s\"\nbase = \"" + kW5 +
                                        "\"\nseeds = [3, 1]\nset = [\"train.epochs=1\"]\n"
                                        "[grid]\n\"train.lr\" = [1e-3, 3e-3]\n"
                                        "[grid.train]\noptimizer = [\"adam\", \"sgd\", \"adamw\"]\n"
                                        "[output]\ndirectory = \"out\"\n");
  const SweepSpec spec = load_sweep_spec(grid);
  EXPECT_EQ(spec.name, "s");
  EXPECT_EQ(spec.directory, std::filesystem::path("out") / "s");
  ASSERT_EQ(spec.axes.size(), 2u);  // alphabetical: train.lr, then train.optimizer
  EXPECT_EQ(spec.axes[0].key, "train.lr");
  EXPECT_EQ(spec.axes[1].key, "train.optimizer");
  EXPECT_EQ(spec.axes[1].values[1], "\"sgd\"");
  const std::vector<SweepPoint> points = sweep_points(spec);
  ASSERT_EQ(points.size(), 6u);
  // The last axis varies fastest.
  EXPECT_EQ(points[1].assignments(spec),
            (std::vector<std::string>{"train.lr=0.001", "train.optimizer=\"sgd\""}));
  EXPECT_EQ(points[3].assignments(spec),
            (std::vector<std::string>{"train.lr=0.003", "train.optimizer=\"adam\""}));
  const std::vector<SweepRun> runs = sweep_runs(spec);
  ASSERT_EQ(runs.size(), 12u);
  EXPECT_EQ(runs[0].name, "p0_s3");
  EXPECT_EQ(runs[1].name, "p0_s1");
  EXPECT_EQ(runs[11].name, "p5_s1");
  EXPECT_EQ(runs[11].overrides, (std::vector<std::string>{
                                    "train.epochs=1", "train.lr=0.003", "train.optimizer=\"adamw\"",
                                    "seed=1", "name=\"p5_s1\"", "output.directory=\"out/s\""}));
  EXPECT_NO_THROW(check_sweep_configs(spec));
}

TEST(SweepSpec, MistakesAreConfigErrorsNamingTheKey) {
  const testing::TempDir dir;
  const std::string base = "base = \"" + kW5 + "\"\n";
  const auto has = [](const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  };
  std::string e = error_of(write_grid(dir, base + "seeds = [1]\n"));
  EXPECT_TRUE(has(e, "'grid'")) << e;
  e = error_of(write_grid(dir, base + "seeds = []\n[grid]\n\"train.lr\" = [1]\n"));
  EXPECT_TRUE(has(e, "'seeds'")) << e;
  e = error_of(write_grid(dir, base + "seeds = [1, 1]\n[grid]\n\"train.lr\" = [1]\n"));
  EXPECT_TRUE(has(e, "twice")) << e;
  e = error_of(write_grid(dir, base + "seeds = [1]\n[grid]\n\"train.lr\" = 1e-3\n"));
  EXPECT_TRUE(has(e, "'grid.train.lr'") && has(e, "line 4")) << e;
  e = error_of(write_grid(dir, base + "seeds = [1]\n[grid]\nseed = [1, 2]\n"));
  EXPECT_TRUE(has(e, "set by the sweep")) << e;
  e = error_of(write_grid(
      dir, base + "seeds = [1]\nmetrics = [\"accuracy\"]\n[grid]\n\"train.lr\" = [1]\n"));
  EXPECT_TRUE(has(e, "'metrics'") && has(e, "rate.<layer>")) << e;
  e = error_of(
      write_grid(dir, "base = \"missing.toml\"\nseeds = [1]\n[grid]\n\"train.lr\" = [1]\n"));
  EXPECT_TRUE(has(e, "no experiment config")) << e;
  e = error_of(write_grid(dir, base + "seeds = [1]\nworkers = 2\n[grid]\n\"train.lr\" = [1]\n"));
  EXPECT_TRUE(has(e, "workers")) << e;
  // A value the experiment reader refuses: named with its point before any run starts.
  const SweepSpec spec =
      load_sweep_spec(write_grid(dir, base + "seeds = [1]\n[grid]\n\"train.lr\" = [1e-3, -1]\n"));
  try {
    check_sweep_configs(spec);
    ADD_FAILURE() << "a negative learning rate passed";
  } catch (const ConfigError& error) {
    e = error.what();
    EXPECT_TRUE(has(e, "sweep point p1 (train.lr=-1)") && has(e, "train.lr")) << e;
  }
}

TEST(SweepSummary, MeansAndIntervalsPerPointOverTheOkRuns) {
  const testing::TempDir dir;
  const SweepSpec spec = load_sweep_spec(write_grid(
      dir, "name = \"s\"\nbase = \"" + kW5 +
               "\"\nseeds = [1, 2, 3]\nmetrics = [\"test_accuracy\"]\n[grid]\n\"train.lr\" = "
               "[1e-3, 3e-3]\n"));
  std::map<std::string, nlohmann::json> results;
  const auto add = [&](const std::string& run, const char* status, double accuracy) {
    results[run] = {{"run", run}, {"status", status}, {"metrics", {{"test_accuracy", accuracy}}}};
  };
  add("p0_s1", "ok", 0.5);
  add("p0_s2", "ok", 0.6);
  add("p0_s3", "ok", 0.7);
  add("p1_s1", "ok", 0.9);
  add("p1_s2", "diverged", 0.1);  // not in the mean
  const SweepSummary summary = summarize_sweep(spec, results);
  // p0: mean 0.6, sd 0.1, half-width 4.3026527 * 0.1 / sqrt(3) = 0.2484.
  EXPECT_NE(summary.markdown.find("| p0 | 0.001 | 3 | 0.6 ± 0.2484 | - |"), std::string::npos)
      << summary.markdown;
  EXPECT_NE(summary.markdown.find("| p1 | 0.003 | 1 | 0.9 ± inf | 1 diverged, 1 not run yet |"),
            std::string::npos)
      << summary.markdown;
  EXPECT_NE(summary.csv.find("point,train.lr,n,diverged,guard,failed,pending,test_accuracy_mean,"
                             "test_accuracy_ci95,test_accuracy_sd,test_accuracy_n\n"),
            std::string::npos)
      << summary.csv;
  EXPECT_NE(summary.csv.find("p1,0.003,1,1,0,0,1,0.9,inf,0,1\n"), std::string::npos) << summary.csv;
}

}  // namespace
}  // namespace homeostat
