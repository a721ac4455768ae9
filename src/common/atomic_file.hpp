// Writing a whole file so that a crash or a full disk leaves either the old file or the new one,
// never a torn one: a temporary file beside it, flushed to disk, then renamed over it. The
// temporary's name is unique to the writing process ("<file>.tmp.<pid>"), so two processes
// writing one file never share a temporary, and a failed write removes its temporary.
#pragma once

#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <string_view>

namespace homeostat {

// "<path>.tmp.<pid of this process>".
std::filesystem::path temporary_path(const std::filesystem::path& path);

// The process id of a temporary file name made by temporary_path ("x.tmp.123" -> 123), or 0 when
// `name` is not one.
long temporary_owner(std::string_view name);

// Error (naming the file) when any step fails; the temporary file is removed then.
void write_file_atomically(const std::filesystem::path& path, std::string_view content);

// The same for a file written piece by piece: write() appends to the temporary, commit() flushes
// it to disk and renames it over `path`. Every failure throws Error naming the file and removes
// the temporary; a writer destroyed before commit() removes it too (the old file stays).
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::filesystem::path path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, std::size_t bytes);
  void commit();
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  [[noreturn]] void fail(const char* what);

  std::filesystem::path path_;
  std::filesystem::path temporary_;
  std::FILE* file_ = nullptr;
};

}  // namespace homeostat
