#include "run/run_directory.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <system_error>
#include <thread>
#include <utility>

#include "common/atomic_file.hpp"
#include "common/error.hpp"

namespace homeostat {
namespace {

// This process's command line, arguments joined by spaces (at most 512 bytes).
std::string command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && text.back() == '\0') text.pop_back();
  for (char& c : text) {
    if (c == '\0' || c == '\n') c = ' ';
  }
  constexpr std::size_t kLongest = 512;
  if (text.size() > kLongest) text = text.substr(0, kLongest) + "...";
  return text.empty() ? "?" : text;
}

// "pid 123 on host h, started 2026-01-02 03:04:05 UTC: homeostat train c.toml", one line.
std::string holder_description() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "?");
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char started[32] = {};
  std::strftime(started, sizeof started, "%Y-%m-%d %H:%M:%S UTC", &utc);
  return "pid " + std::to_string(::getpid()) + " on host " + host + ", started " + started + ": " +
         command_line() + "\n";
}

// The holder's line from the lock file; it may not be written yet when the holder has only just
// locked, so this waits for it a little.
std::string read_holder(const std::filesystem::path& lock_file) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    std::ifstream in(lock_file);
    std::string line;
    if (std::getline(in, line) && !line.empty()) return line;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return "holder unknown";
}

}  // namespace

RunDirectory::RunDirectory(const std::filesystem::path& output_directory, const std::string& name)
    : path_(output_directory / name) {
  std::error_code error;
  std::filesystem::create_directories(path_, error);
  if (error) {
    throw Error("cannot create the run directory '" + path_.string() + "': " + error.message());
  }
  lock();
  remove_stale_temporaries();
}

RunDirectory::~RunDirectory() {
  if (metrics_.is_open()) metrics_.close();
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the lock
}

RunDirectory::RunDirectory(RunDirectory&& other) noexcept
    : path_(std::move(other.path_)),
      lock_fd_(std::exchange(other.lock_fd_, -1)),
      metrics_(std::move(other.metrics_)) {}

void RunDirectory::lock() {
  const std::filesystem::path lock_file = file(kLockFile);
  lock_fd_ = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) {
    const int error = errno;
    throw Error("cannot create the lock file '" + lock_file.string() +
                "': " + std::strerror(error));
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(std::exchange(lock_fd_, -1));
    if (error != EWOULDBLOCK) {
      throw Error("cannot lock the run directory '" + path_.string() + "' (" + lock_file.string() +
                  "): " + std::strerror(error));
    }
    throw Error("the run directory '" + path_.string() + "' is in use by another run (" +
                read_holder(lock_file) +
                "); a run directory belongs to one run: wait for that one to end, or give this "
                "run another name");
  }
  // Ours: say who holds it, for the message of a run that comes second.
  const std::string holder = holder_description();
  if (::ftruncate(lock_fd_, 0) != 0 ||
      ::pwrite(lock_fd_, holder.data(), holder.size(), 0) != static_cast<ssize_t>(holder.size())) {
    const int error = errno;
    ::close(std::exchange(lock_fd_, -1));
    throw Error("writing the lock file '" + lock_file.string() +
                "' failed: " + std::strerror(error) + " (disk full?)");
  }
}

// Temporary files of writers that died (killed mid-write): no process of that id is running.
void RunDirectory::remove_stale_temporaries() const {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(path_, error)) {
    const long owner = temporary_owner(entry.path().filename().string());
    if (owner <= 0 || owner == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(owner), 0) == 0 || errno != ESRCH) continue;
    std::error_code ignored;
    std::filesystem::remove(entry.path(), ignored);
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
