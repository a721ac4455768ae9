#include "common/atomic_file.hpp"

#include <unistd.h>

#include <cstdio>
#include <string>
#include <system_error>

#include "common/error.hpp"

namespace homeostat {

void write_file_atomically(const std::filesystem::path& path, std::string_view content) {
  const std::filesystem::path temporary = path.string() + ".tmp";
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  if (file == nullptr) throw Error("cannot write '" + temporary.string() + "'");
  bool ok = std::fwrite(content.data(), 1, content.size(), file) == content.size();
  ok = std::fflush(file) == 0 && ok;
  ok = ::fsync(fileno(file)) == 0 && ok;
  ok = std::fclose(file) == 0 && ok;
  std::error_code error;
  if (ok) std::filesystem::rename(temporary, path, error);
  if (!ok || error) {
    std::filesystem::remove(temporary, error);
    throw Error("writing '" + path.string() + "' failed (disk full?)");
  }
}

}  // namespace homeostat
