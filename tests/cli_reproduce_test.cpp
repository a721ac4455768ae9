// `homeostat reproduce NAME --quick` runs each study end to end (the CI form of the 30-minute
// reproductions): exit 0, a table with a verdict, summary.md / summary.json, and a report.html
// per run. Also `homeostat report` and the error for an unknown study.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "run_homeostat.hpp"
#include "temp_dir.hpp"

namespace homeostat {
namespace {

namespace fs = std::filesystem;

using testing::CommandResult;
using testing::run_homeostat;

class Reproduce : public ::testing::TestWithParam<std::string> {};

TEST_P(Reproduce, QuickFormRunsEndToEndWithAVerdict) {
  const testing::TempDir directory;
  const std::string study = GetParam();
  const CommandResult result =
      run_homeostat(directory.path(), "reproduce " + study + " --quick --output out");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("verdict: "), std::string::npos) << result.output;
  std::string folder = study;
  std::replace(folder.begin(), folder.end(), '-', '_');
  const fs::path summary = directory.path() / "out" / ("reproduce_" + folder);
  ASSERT_TRUE(fs::exists(summary / "summary.md")) << result.output;
  std::ifstream in(summary / "summary.json");
  const auto json = nlohmann::json::parse(in);
  const std::string verdict = json.at("verdict");
  EXPECT_TRUE(verdict == "confirmed" || verdict == "not confirmed" || verdict == "mixed");
  std::size_t reports = 0;
  for (const auto& entry : fs::directory_iterator(summary)) {
    reports += entry.is_directory() && fs::exists(entry.path() / "report.html");
  }
  EXPECT_GE(reports, 2u) << "every run writes its own report.html";
}

INSTANTIATE_TEST_SUITE_P(Studies, Reproduce,
                         ::testing::Values("saturation", "sg-stability", "ahsar", "sleep"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(ReproduceErrors, UnknownStudyIsAConfigError) {
  const testing::TempDir directory;
  const CommandResult result = run_homeostat(directory.path(), "reproduce nonsense --quick");
  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_NE(result.output.find("saturation, sg-stability, ahsar"), std::string::npos)
      << result.output;
}

TEST(ReportCommand, MissingRunDirectoryIsADataError) {
  const testing::TempDir directory;
  const CommandResult result = run_homeostat(directory.path(), "report no_such_run");
  EXPECT_EQ(result.exit_code, 3) << result.output;
  EXPECT_NE(result.output.find("metrics.jsonl"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace homeostat
