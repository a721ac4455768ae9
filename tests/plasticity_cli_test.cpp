// `homeostat simulate` from the command line: config errors exit 2 with key and line, a missing
// data directory exits 3 naming it, and a tiny W4 run writes its run directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

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

}  // namespace
}  // namespace homeostat
