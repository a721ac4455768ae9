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

inline void write_file(const std::filesystem::path& path, const std::uint8_t* data,
                       std::size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) std::abort();
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
