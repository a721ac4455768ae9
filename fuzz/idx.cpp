// read_idx on arbitrary bytes (raw or gzip: zlib detects which).
#include "data/idx.hpp"

#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path path = homeostat::fuzz::scratch_dir() / "input.idx";
  homeostat::fuzz::write_file(path, data, size);
  return homeostat::fuzz::accept_rejections([&] { (void)homeostat::read_idx(path); });
}
