// RunDirectory: creates <output>/<name> and locks it for one run, writes config.toml atomically (no
// temporary file left), starts metrics.jsonl empty or continues it, appends one JSON line per
// record, and throws when a write fails (a full disk: /dev/full) instead of losing records
// silently.
#include "run/run_directory.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "temp_dir.hpp"

namespace homeostat {
namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<nlohmann::json> read_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> records;
  for (std::string line; std::getline(in, line);) records.push_back(nlohmann::json::parse(line));
  return records;
}

TEST(RunDirectory, CreatesTheDirectoryAndWritesTheConfigAtomically) {
  const testing::TempDir dir;
  const RunDirectory run(dir.path() / "runs", "w4");
  EXPECT_EQ(run.path(), dir.path() / "runs" / "w4");
  EXPECT_TRUE(std::filesystem::is_directory(run.path()));
  run.write_config("name = \"w4\"\n");
  run.write_config("name = \"w4\"\nseed = 2\n");  // replaces the earlier one
  EXPECT_EQ(read_text(run.file("config.toml")), "name = \"w4\"\nseed = 2\n");
  EXPECT_FALSE(std::filesystem::exists(temporary_path(run.file("config.toml"))));
}

TEST(RunDirectory, AnExistingDirectoryIsReusedOnceItsRunHasEnded) {
  const testing::TempDir dir;
  { RunDirectory(dir.path(), "w4").write_config("seed = 2\n"); }
  const RunDirectory again(dir.path(), "w4");
  EXPECT_EQ(read_text(again.file("config.toml")), "seed = 2\n");
}

// A run directory belongs to one run: a second RunDirectory on it (here in the same process;
// flock locks conflict between open files, not only between processes) fails naming the holder,
// and the lock goes with the first one.
TEST(RunDirectory, ASecondRunIntoALockedDirectoryFailsNamingTheHolder) {
  const testing::TempDir dir;
  std::optional<RunDirectory> first(std::in_place, dir.path(), "busy");
  const std::string holder = read_text(first->file(".lock"));
  EXPECT_NE(holder.find("pid " + std::to_string(::getpid()) + " on host "), std::string::npos)
      << holder;
  try {
    const RunDirectory second(dir.path(), "busy");
    FAIL() << "expected Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("in use by another run"), std::string::npos) << message;
    EXPECT_NE(message.find("pid " + std::to_string(::getpid())), std::string::npos) << message;
    EXPECT_NE(message.find("homeostat_tests"), std::string::npos) << message;  // the command
  }
  // Moving the RunDirectory keeps the lock; destroying it releases the lock.
  RunDirectory moved(std::move(*first));
  first.reset();
  EXPECT_THROW(RunDirectory(dir.path(), "busy"), Error);
  { const RunDirectory other(dir.path(), "other"); }  // other directories are free
}

TEST(RunDirectory, RemovesTemporariesOfDeadWritersOnly) {
  const testing::TempDir dir;
  std::filesystem::create_directories(dir.path() / "r");
  const auto touch = [&](const std::string& name) {
    std::ofstream(dir.path() / "r" / name) << "x";
  };
  const std::string ours = "checkpoint.bin.tmp." + std::to_string(::getpid());
  const std::string dead = "checkpoint.bin.tmp.999999999";  // above any pid_max
  touch(ours);
  touch(dead);
  touch("notes.tmp.txt");
  const RunDirectory run(dir.path(), "r");
  EXPECT_TRUE(std::filesystem::exists(run.file(ours)));
  EXPECT_FALSE(std::filesystem::exists(run.file(dead)));
  EXPECT_TRUE(std::filesystem::exists(run.file("notes.tmp.txt")));
  EXPECT_EQ(temporary_owner("a.tmp.12"), 12);
  EXPECT_EQ(temporary_owner("a.tmp.12x"), 0);
  EXPECT_EQ(temporary_owner("a.tmp."), 0);
  EXPECT_EQ(temporary_owner("a.bin"), 0);
}

TEST(RunDirectory, MetricsStartEmptyOrContinueOneRecordPerLine) {
  const testing::TempDir dir;
  { std::ofstream(dir.file("metrics.jsonl")) << "{\"stale\":true}\n"; }
  RunDirectory run(dir.path(), "");
  EXPECT_FALSE(run.metrics_open());
  EXPECT_THROW(run.append_metrics({{"kind", "batch"}}), Error);
  run.start_metrics();  // a new run: the stale record goes
  run.append_metrics({{"kind", "batch"}, {"images", 1000}});
  // Flushed line by line: readable while the run goes on.
  ASSERT_EQ(read_lines(run.file("metrics.jsonl")).size(), 1u);
  run.append_metrics({{"kind", "result"}, {"test_accuracy", 0.5}});
  run.continue_metrics();  // a resumed run keeps what is there
  run.append_metrics({{"kind", "epoch"}, {"epoch", 2}});
  const std::vector<nlohmann::json> records = read_lines(run.file("metrics.jsonl"));
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0]["images"], 1000);
  EXPECT_EQ(records[1]["kind"], "result");
  EXPECT_EQ(records[2]["epoch"], 2);
}

TEST(RunDirectory, FailedWritesThrowNamingTheFile) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  const testing::TempDir dir;
  RunDirectory run(dir.path(), "full");
  std::filesystem::create_symlink("/dev/full", run.file("metrics.jsonl"));
  run.start_metrics();
  try {
    run.append_metrics({{"kind", "batch"}});
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("metrics.jsonl"), std::string::npos) << e.what();
  }
  std::filesystem::create_symlink("/dev/full", temporary_path(run.file("config.toml")));
  EXPECT_THROW(run.write_config("name = \"full\"\n"), Error);
  EXPECT_FALSE(std::filesystem::exists(run.file("config.toml")));
  EXPECT_FALSE(std::filesystem::exists(temporary_path(run.file("config.toml"))));
  // A piecewise write that fails leaves the old file and no temporary.
  std::ofstream(run.file("state.bin")) << "old";
  std::filesystem::create_symlink("/dev/full", temporary_path(run.file("state.bin")));
  {
    AtomicFileWriter writer(run.file("state.bin"));
    const std::vector<char> bytes(1 << 16, 'x');
    EXPECT_THROW(
        {
          writer.write(bytes.data(), bytes.size());
          writer.commit();
        },
        Error);
  }
  EXPECT_EQ(read_text(run.file("state.bin")), "old");
  EXPECT_FALSE(std::filesystem::exists(temporary_path(run.file("state.bin"))));
  // A run directory where a file is: Error naming it.
  std::ofstream(dir.file("taken")) << "x";
  try {
    const RunDirectory blocked(dir.file("taken"), "run");
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("taken"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace homeostat
