// The hev container (DIR/train.hev, raw or gzip) through load_event_split, with and without a
// sample limit.
#include <cstddef>
#include <cstdint>

#include "data/event_files.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path& dir = homeostat::fuzz::scratch_dir();
  homeostat::fuzz::write_file(dir / "train.hev", data, size);
  homeostat::EventFileSpec spec;
  spec.format = homeostat::EventFormat::hev;
  // The sensor size must match the file's; take it from the header so more inputs get past that.
  if (size >= 12) {
    spec.width = data[4] | std::size_t{data[5]} << 8 | std::size_t{data[6]} << 16;
    spec.height = data[8] | std::size_t{data[9]} << 8 | std::size_t{data[10]} << 16;
  }
  homeostat::fuzz::accept_rejections(
      [&] { (void)homeostat::load_event_split(dir, "train", spec); });
  return homeostat::fuzz::accept_rejections(
      [&] { (void)homeostat::load_event_split(dir, "train", spec, 1); });
}
