// A run's directory, <output_directory>/<name>: what every run command (train, simulate) writes
// there first, in one place. The resolved config goes to config.toml (atomically: a reader sees
// the old file or the new one, never half of one) and the metrics to metrics.jsonl, one JSON
// object per line. Every write is checked: a full disk or a vanished directory throws Error
// naming the file instead of silently losing records.
//
// A run directory belongs to one run: opening it takes an exclusive advisory lock (flock) on
// <directory>/.lock, held until the RunDirectory is destroyed and released by the kernel when
// the process dies, so a killed run never leaves the directory locked. The lock file holds the
// holder's pid, host, start time and command line; a second run into the directory fails at once
// (Error, exit code 1) with a message naming them. Holding the lock, the run removes the
// temporary files (common/atomic_file.hpp) that killed runs left behind.
#pragma once

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace homeostat {

class RunDirectory {
 public:
  static constexpr std::string_view kConfigFile = "config.toml";
  static constexpr std::string_view kMetricsFile = "metrics.jsonl";
  static constexpr std::string_view kLockFile = ".lock";

  // Creates <output_directory>/<name> (and its parents) when missing and locks it; Error when it
  // cannot, or when another run (another process, or another RunDirectory) holds it.
  RunDirectory(const std::filesystem::path& output_directory, const std::string& name);
  ~RunDirectory();
  RunDirectory(RunDirectory&& other) noexcept;
  RunDirectory& operator=(RunDirectory&&) = delete;
  RunDirectory(const RunDirectory&) = delete;
  RunDirectory& operator=(const RunDirectory&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  // A file in the run directory.
  [[nodiscard]] std::filesystem::path file(std::string_view name) const { return path_ / name; }

  // Writes the resolved config to config.toml: a temporary file, checked, then renamed over it.
  void write_config(const std::string& resolved_toml) const;

  // Opens metrics.jsonl empty (a new run), or keeping its records (a resumed run appends).
  void start_metrics();
  void continue_metrics();
  [[nodiscard]] bool metrics_open() const { return metrics_.is_open(); }
  // Appends `record` as one line and flushes it, so a killed run keeps every finished line.
  // Error when metrics.jsonl is not open or the write fails.
  void append_metrics(const nlohmann::json& record);

 private:
  void lock();
  void remove_stale_temporaries() const;
  void open_metrics(std::ios::openmode mode);

  std::filesystem::path path_;
  int lock_fd_ = -1;
  std::ofstream metrics_;
};

}  // namespace homeostat
