// A run's directory, <output_directory>/<name>: what every run command (train, simulate) writes
// there first, in one place. The resolved config goes to config.toml (atomically: a reader sees
// the old file or the new one, never half of one) and the metrics to metrics.jsonl, one JSON
// object per line. Every write is checked: a full disk or a vanished directory throws Error
// naming the file instead of silently losing records.
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

  // Creates <output_directory>/<name> (and its parents) when missing; Error when it cannot.
  RunDirectory(const std::filesystem::path& output_directory, const std::string& name);

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
  void open_metrics(std::ios::openmode mode);

  std::filesystem::path path_;
  std::ofstream metrics_;
};

}  // namespace homeostat
