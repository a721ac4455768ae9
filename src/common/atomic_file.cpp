#include "common/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>

#include "common/error.hpp"

namespace homeostat {
namespace {

constexpr std::string_view kTemporaryMark = ".tmp.";

// Makes a rename durable: the directory entry reaches the disk too. Best effort (some file
// systems cannot sync a directory; the rename itself has succeeded).
void sync_directory(const std::filesystem::path& file) {
  std::filesystem::path directory = file.parent_path();
  if (directory.empty()) directory = ".";
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

std::filesystem::path temporary_path(const std::filesystem::path& path) {
  return path.string() + std::string(kTemporaryMark) + std::to_string(::getpid());
}

long temporary_owner(std::string_view name) {
  const auto mark = name.rfind(kTemporaryMark);
  if (mark == std::string_view::npos || mark == 0) return 0;
  const std::string_view digits = name.substr(mark + kTemporaryMark.size());
  long pid = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
  if (error != std::errc() || end != digits.data() + digits.size() || pid <= 0) return 0;
  return pid;
}

void write_file_atomically(const std::filesystem::path& path, std::string_view content) {
  AtomicFileWriter writer(path);
  writer.write(content.data(), content.size());
  writer.commit();
}

AtomicFileWriter::AtomicFileWriter(std::filesystem::path path)
    : path_(std::move(path)), temporary_(temporary_path(path_)) {
  file_ = std::fopen(temporary_.c_str(), "wb");
  if (file_ == nullptr) {
    const int error = errno;
    throw Error("cannot write '" + path_.string() + "': cannot create '" + temporary_.string() +
                "': " + std::strerror(error));
  }
}

AtomicFileWriter::~AtomicFileWriter() {
  if (file_ == nullptr) return;
  std::fclose(file_);
  std::error_code ignored;
  std::filesystem::remove(temporary_, ignored);
}

void AtomicFileWriter::write(const void* data, std::size_t bytes) {
  if (file_ == nullptr) throw Error("'" + path_.string() + "' is already written");
  if (bytes == 0) return;
  if (std::fwrite(data, 1, bytes, file_) != bytes) fail("writing");
}

void AtomicFileWriter::commit() {
  if (file_ == nullptr) throw Error("'" + path_.string() + "' is already written");
  if (std::fflush(file_) != 0) fail("writing");
  if (::fsync(fileno(file_)) != 0) fail("flushing to disk");
  std::FILE* file = std::exchange(file_, nullptr);
  if (std::fclose(file) != 0) {
    const int error = errno;
    std::error_code ignored;
    std::filesystem::remove(temporary_, ignored);
    throw Error("writing '" + path_.string() + "' failed: " + std::strerror(error) +
                " (disk full?)");
  }
  std::error_code error;
  std::filesystem::rename(temporary_, path_, error);
  if (error) {
    std::error_code ignored;
    std::filesystem::remove(temporary_, ignored);
    throw Error("cannot move '" + temporary_.string() + "' to '" + path_.string() +
                "': " + error.message());
  }
  sync_directory(path_);
}

void AtomicFileWriter::fail(const char* what) {
  const int error = errno;
  std::fclose(std::exchange(file_, nullptr));
  std::error_code ignored;
  std::filesystem::remove(temporary_, ignored);
  throw Error(std::string(what) + " '" + path_.string() + "' failed: " + std::strerror(error) +
              " (disk full?)");
}

}  // namespace homeostat
