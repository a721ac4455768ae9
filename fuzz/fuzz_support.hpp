// Shared by the fuzz targets: a scratch folder per process, and the rule that a reader may reject
// an input only with one of homeostat's errors (include/homeostat/error.hpp). Anything else that
// escapes (std::bad_alloc, std::out_of_range, a toml++ or nlohmann exception) reaches libFuzzer
// as an uncaught exception and is reported as a crash, like a sanitizer report, a leak or a hang.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.hpp"

namespace homeostat::fuzz {

// A fresh folder under $TMPDIR (or /tmp), removed when the process exits through exit() (a
// libFuzzer run ends with _Exit: scripts/fuzz.sh points TMPDIR at a folder it removes).
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/homeostat-fuzz-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(scratch_dir(), ignored);
    });
    return std::filesystem::path(pattern);
  }();
  return dir;
}

// The path scratch_dir()/split/label/name, its folders made: where an event data set's
// reader looks for one sample of class `label`.
inline std::filesystem::path sample_file(const std::string& split, const std::string& label,
                                         const std::string& name) {
  const std::filesystem::path folder = scratch_dir() / split / label;
  std::filesystem::create_directories(folder);
  return folder / name;
}

inline void write_file(const std::filesystem::path& path, const std::uint8_t* data,
                       std::size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) std::abort();
}

// The config reader refuses a network whose planned memory exceeds HOMEOSTAT_MEMORY_LIMIT before
// it builds any layer (src/config/experiment_reader.cpp). Without a cap it plans against the
// machine's free memory, and validating a network that fits a large machine (one recurrent layer
// of 34,426 units: 4.7 GB of weights) exceeds the fuzzer's RSS limit (2 GB, scripts/fuzz.sh). The
// targets that validate configs therefore plan as a small machine would; a user's own setting wins.
inline void plan_memory_as_a_small_machine() {
  ::setenv("HOMEOSTAT_MEMORY_LIMIT", "256M", /*overwrite=*/0);
}

// Runs `body`; homeostat::Error (and its subclasses) is a correct rejection.
template <typename Body>
int accept_rejections(Body&& body) {
  try {
    body();
  } catch (const Error&) {
  }
  return 0;
}

}  // namespace homeostat::fuzz
