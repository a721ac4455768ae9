// The event path end to end through the `homeostat` command: convert-events writes a .hev set
// from Fashion-MNIST, a config with data.source = "events" trains on it, and eval --corrupt
// reports accuracy per corruption and rejects specs that do not apply; advise bins it too.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "run_homeostat.hpp"
#include "temp_dir.hpp"

namespace homeostat {
namespace {

namespace fs = std::filesystem;

using homeostat::testing::CommandResult;
using homeostat::testing::run_homeostat;

TEST(CliEvents, ConvertTrainAndEvaluateUnderCorruption) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "no Fashion-MNIST";
  const homeostat::testing::TempDir dir;
  const fs::path events = dir.path() / "events";
  CommandResult r =
      run_homeostat(dir.path(), "convert-events --limit 400 --output " + events.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("400 samples"), std::string::npos) << r.output;
  ASSERT_TRUE(fs::exists(events / "train.hev.gz"));
  ASSERT_TRUE(fs::exists(events / "test.hev.gz"));

  const fs::path config = dir.path() / "events.toml";
  std::ofstream(config) << "name = \"ev\"\nseed = 2\n[data]\nsource = \"events\"\n"
                        << "directory = \"" << events.string() << "\"\ntime_steps = 6\n"
                        << "[data.events]\ndownsample = 2\nwindow_us = 300000\n"
                        << "[data.augment]\njitter = 1\ndrop_event = 0.1\n"
                        << R"([[network.layers]]
kind = "dense"
units = 64
[[network.layers]]
kind = "lif"
name = "hidden"
[[network.layers]]
kind = "dense"
units = 10
[[network.layers]]
kind = "readout"
[train]
epochs = 3
batch_size = 40
lr = 3e-3
loss = "ce_mean_membrane"
[output]
directory = ")" << (dir.path() / "runs").string()
                        << "\"\nprogress_seconds = 0\n";
  r = run_homeostat(dir.path(), "train --no-progress " + config.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // 400 training samples of 10 classes: well above chance (10%) after 3 epochs.
  const auto at = r.output.find("test accuracy: ");
  ASSERT_NE(at, std::string::npos) << r.output;
  EXPECT_GT(std::stod(r.output.substr(at + 15)), 40.0) << r.output;

  // The advisor bins the events as training does (it once failed on event data).
  r = run_homeostat(dir.path(), "advise " + config.string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("encoder direct"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("initial rate"), std::string::npos) << r.output;

  const fs::path checkpoint = dir.path() / "runs" / "ev" / "checkpoint.bin";
  r = run_homeostat(dir.path(),
                    "eval " + checkpoint.string() + " --corrupt drop_events:0.3,drop_events:1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("none"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("drop_events:0.3"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("drop_events:1 "), std::string::npos) << r.output;

  // Specs that are malformed or do not apply to event data fail before any evaluation.
  r = run_homeostat(dir.path(), "eval " + checkpoint.string() + " --corrupt gaussian:0.2");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("applies to images"), std::string::npos) << r.output;
  r = run_homeostat(dir.path(), "eval " + checkpoint.string() + " --corrupt drop_events:lots");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("is not a number"), std::string::npos) << r.output;
  r = run_homeostat(dir.path(), "eval " + checkpoint.string() + " --corrupt dropevents:0.2");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("valid names"), std::string::npos) << r.output;

  // A config whose events do not exist is a data error naming the converter.
  std::ofstream(dir.path() / "missing.toml")
      << "name = \"m\"\n[data]\nsource = \"events\"\ndirectory = \""
      << (dir.path() / "nope").string()
      << "\"\n[[network.layers]]\nkind = \"dense\"\nunits = 10\n[[network.layers]]\nkind = "
         "\"lif\"\n[output]\ndirectory = \""
      << (dir.path() / "runs").string() << "\"\n";
  r = run_homeostat(dir.path(), "train --no-progress " + (dir.path() / "missing.toml").string());
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("convert-events"), std::string::npos) << r.output;
}

TEST(CliEvents, EventConfigErrorsNameTheKey) {
  const homeostat::testing::TempDir dir;
  const auto check = [&](const std::string& data_lines, const std::string& expected) {
    const fs::path config = dir.path() / "bad.toml";
    std::ofstream(config) << "name = \"b\"\n[data]\nsource = \"events\"\n"
                          << data_lines
                          << "\n[[network.layers]]\nkind = \"dense\"\nunits = 10\n"
                             "[[network.layers]]\nkind = \"lif\"\n";
    const CommandResult r = run_homeostat(dir.path(), "train " + config.string());
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find(expected), std::string::npos) << data_lines << "\n" << r.output;
  };
  check("view = \"rows\"", "data.view");
  check("[data.events]\ncolumns = \"xyz\"", "data.events.columns");
  check("[data.events]\nformat = \"aedat\"", "data.events.format");
  check("[data.augment]\ndrop_event = 1.5", "data.augment.drop_event");
  check("[data.augment]\nflip = true", "data.augment.flip");
  check("[encoder]\nkind = \"latency\"", "encoder.kind");
}

}  // namespace
}  // namespace homeostat
