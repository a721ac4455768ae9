// `homeostat simulate` from the command line: config errors exit 2 with key and line, a missing
// data directory exits 3 naming it, a tiny W4 run writes its run directory, and its saved network
// evaluates again (also after a round trip through bench/w4_state.py, the Brian2 converter).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include "data/idx.hpp"
#include "run_homeostat.hpp"

namespace homeostat {
namespace {

namespace fs = std::filesystem;

using Outcome = homeostat::testing::CommandResult;

// Writes the config as c.toml in `directory` and runs `homeostat simulate` on it there.
Outcome simulate(const fs::path& directory, const std::string& toml, const std::string& extra) {
  fs::create_directories(directory);
  std::ofstream(directory / "c.toml") << toml;
  return homeostat::testing::run_homeostat(
      directory, "simulate " + (directory / "c.toml").string() + " --no-progress " + extra);
}

fs::path scratch(const std::string& name) {
  return fs::temp_directory_path() /
         ("homeostat_simulate_" + name + "_" + std::to_string(::getpid()));
}

TEST(SimulateCli, ConfigErrorsAndMissingData) {
  const fs::path dir = scratch("errors");
  Outcome r = simulate(dir, "[stdp]\nrule = \"pair\"\ntau_plus = -1.0\n", "");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("stdp.tau_plus"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("line 3"), std::string::npos) << r.output;
  r = simulate(dir, "[data]\ndirectory = \"" + (dir / "no_such_dir").string() + "\"\n", "");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("no_such_dir"), std::string::npos) << r.output;
  fs::remove_all(dir);
}

// Presentation and rest times have ranges and one image's clock steps are bounded: a config
// that would simulate one image for ever is a config error naming the key (they used to hang).
TEST(SimulateCli, EndlessPresentationOrRestIsAConfigError) {
  const fs::path dir = scratch("endless");
  const std::pair<std::string, std::string> cases[] = {
      {"presentation_ms = 1e308", "simulation.presentation_ms"},
      {"presentation_ms = 1e9", "simulation.presentation_ms"},
      {"rest_ms = 1e12\nfast_rest = false", "simulation.rest_ms"},
      {"frozen_presentation_ms = 1e300", "simulation.frozen_presentation_ms"},
      {"dt = 1e-4", "simulation.presentation_ms"},  // 9 x 500 ms / 1e-4 ms: 4.5e7 steps
      {"rest_ms = 9e5\nfast_rest = false", "simulation.rest_ms"},
  };
  for (const auto& [keys, named] : cases) {
    const Outcome r = simulate(dir, "[simulation]\n" + keys + "\n", "");
    EXPECT_EQ(r.exit_code, 2) << keys << "\n" << r.output;
    EXPECT_NE(r.output.find(named), std::string::npos) << keys << "\n" << r.output;
  }
  fs::remove_all(dir);
}

// Populations whose projections cannot fit in memory are a config error naming the count key,
// before anything is built (they ended in std::bad_alloc).
TEST(SimulateCli, PopulationsLargerThanMemoryAreAConfigError) {
  const fs::path dir = scratch("huge");
  ::setenv("HOMEOSTAT_MEMORY_LIMIT", "64M", 1);
  const Outcome r =
      simulate(dir, "[excitatory]\ncount = 1000000\n[inhibitory]\ncount = 1000000\n", "");
  ::unsetenv("HOMEOSTAT_MEMORY_LIMIT");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("excitatory.count"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("HOMEOSTAT_MEMORY_LIMIT"), std::string::npos) << r.output;
  fs::remove_all(dir);
}

// An IDX split of `count` images of rows x cols pixels, labels k % classes.
void write_split(const fs::path& directory, const std::string& prefix, std::size_t count,
                 std::size_t rows, std::size_t cols, std::uint8_t classes) {
  fs::create_directories(directory);
  IdxArray images{{count, rows, cols}, std::vector<std::uint8_t>(count * rows * cols)};
  for (std::size_t i = 0; i < images.values.size(); ++i)
    images.values[i] = static_cast<std::uint8_t>((i * 37) % 256);
  IdxArray labels{{count}, std::vector<std::uint8_t>(count)};
  for (std::size_t k = 0; k < count; ++k) labels.values[k] = static_cast<std::uint8_t>(k % classes);
  write_idx(directory / (prefix + "-images-idx3-ubyte"), images, false);
  write_idx(directory / (prefix + "-labels-idx1-ubyte"), labels, false);
}

// Test images unlike the training images (which size the input population) or test labels
// beyond the training classes are a data error before any simulation, for every protocol.
TEST(SimulateCli, TestDataThatDoesNotFitTheNetworkIsADataError) {
  const fs::path dir = scratch("misfit");
  struct Case {
    std::size_t rows, cols;
    std::uint8_t classes;
    std::string expected;
  };
  const Case cases[] = {{28, 27, 10, "shape"}, {4, 4, 10, "shape"}, {28, 28, 12, "labels"}};
  for (const std::string protocol : {"diehl_cook", "ncg", "recurrent"}) {
    for (const Case& c : cases) {
      const fs::path data = dir / "data";
      fs::remove_all(data);
      write_split(data, "train", 20, 28, 28, 10);
      write_split(data, "t10k", 12, c.rows, c.cols, c.classes);
      const Outcome r = simulate(dir,
                                 "name = \"misfit\"\n[simulation]\nprotocol = \"" + protocol +
                                     "\"\n[data]\ndirectory = \"" + data.string() +
                                     "\"\ntrain_images = 20\ntest_images = 12\n[output]\n"
                                     "directory = \"" +
                                     dir.string() + "\"\n",
                                 "--threads 1");
      EXPECT_EQ(r.exit_code, 3) << protocol << " " << c.rows << "x" << c.cols << "\n" << r.output;
      EXPECT_NE(r.output.find(c.expected), std::string::npos) << protocol << "\n" << r.output;
    }
  }
  fs::remove_all(dir);
}

TEST(SimulateCli, TinyW4RunWritesItsRunDirectory) {
  const fs::path dir = scratch("tiny");
  const Outcome r =
      simulate(dir,
               "name = \"tiny\"\n[data]\ntrain_images = 20\nlabel_images = 20\n"
               "test_images = 10\n[excitatory]\ncount = 20\n[inhibitory]\ncount = 20\n"
               "[output]\ndirectory = \"" +
                   dir.string() + "\"\n",
               "--threads 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("test accuracy"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(dir / "tiny" / "metrics.jsonl"));
  EXPECT_TRUE(fs::exists(dir / "tiny" / "config.toml"));
  fs::remove_all(dir);
}

TEST(SimulateCli, SavedW4NetworkEvaluatesAgainAndConvertsToBrian2) {
  const fs::path dir = scratch("state");
  const std::string toml =
      "name = \"trained\"\n[data]\ntrain_images = 20\nlabel_images = 20\n"
      "test_images = 10\n[excitatory]\ncount = 20\n[inhibitory]\ncount = 20\n"
      "[output]\ndirectory = \"" +
      dir.string() + "\"\n";
  ASSERT_EQ(simulate(dir, toml, "--threads 1").exit_code, 0);
  const fs::path state = dir / "trained" / "network.ckpt";
  ASSERT_TRUE(fs::exists(state));
  const auto evaluate = [&](const fs::path& file) {
    return simulate(dir, toml,
                    "--threads 1 --set data.train_images=0 --set name=\\\"evaluated\\\" "
                    "--set simulation.initial_state=\\\"" +
                        file.string() + "\\\"");
  };
  Outcome r = evaluate(state);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto results = [](const std::string& output) {  // from "neurons per class" on
    return output.substr(output.find("neurons per class"));
  };
  const std::string first = results(r.output);
  EXPECT_NE(r.output.find("training: 0 images"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("test accuracy"), std::string::npos) << r.output;
  r = evaluate(dir / "missing.ckpt");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("missing.ckpt"), std::string::npos) << r.output;
  // `eval` takes train checkpoints only: a simulate state is a one-line data error, not a JSON
  // library exception.
  r = homeostat::testing::run_homeostat(dir, "eval " + state.string());
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("not a checkpoint written by `train`"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("json"), std::string::npos) << r.output;

  // homeostat -> Brian2's .npz -> homeostat keeps every weight and theta: the same evaluation.
  if (std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "/usr/bin/python3 with numpy unavailable (scripts/setup.sh --tests)";
  const std::string script = std::string(HOMEOSTAT_SOURCE_DIR) + "/bench/w4_state.py";
  const fs::path npz = dir / "brian2.npz";
  const fs::path back = dir / "back.ckpt";
  ASSERT_EQ(
      std::system(("/usr/bin/python3 " + script + " " + state.string() + " " + npz.string() +
                   " && /usr/bin/python3 " + script + " " + npz.string() + " " + back.string())
                      .c_str()),
      0);
  r = evaluate(back);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(results(r.output), first);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace homeostat
