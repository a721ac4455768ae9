#include "run/run_directory.hpp"

#include <system_error>

#include "common/atomic_file.hpp"
#include "common/error.hpp"

namespace homeostat {

RunDirectory::RunDirectory(const std::filesystem::path& output_directory, const std::string& name)
    : path_(output_directory / name) {
  std::error_code error;
  std::filesystem::create_directories(path_, error);
  if (error) {
    throw Error("cannot create the run directory '" + path_.string() + "': " + error.message());
  }
}

void RunDirectory::write_config(const std::string& resolved_toml) const {
  write_file_atomically(file(kConfigFile), resolved_toml);
}

void RunDirectory::start_metrics() { open_metrics(std::ios::trunc); }

void RunDirectory::continue_metrics() { open_metrics(std::ios::app); }

void RunDirectory::open_metrics(std::ios::openmode mode) {
  if (metrics_.is_open()) metrics_.close();
  metrics_.clear();
  metrics_.open(file(kMetricsFile), std::ios::out | mode);
  if (!metrics_) throw Error("cannot open '" + file(kMetricsFile).string() + "' for writing");
}

void RunDirectory::append_metrics(const nlohmann::json& record) {
  if (!metrics_.is_open()) {
    throw Error("'" + file(kMetricsFile).string() + "' is not open (start_metrics first)");
  }
  metrics_ << record.dump() << '\n' << std::flush;
  if (!metrics_) {
    throw Error("writing a record to '" + file(kMetricsFile).string() +
                "' failed (disk full?); the run's metrics are incomplete");
  }
}

}  // namespace homeostat
