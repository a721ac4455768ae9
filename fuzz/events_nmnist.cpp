// An N-MNIST .bin file (DIR/Train/3/sample.bin) through load_event_split.
#include <cstddef>
#include <cstdint>

#include "data/event_files.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path& dir = homeostat::fuzz::scratch_dir();
  static const std::filesystem::path file =
      homeostat::fuzz::sample_file("Train", "3", "sample.bin");
  homeostat::fuzz::write_file(file, data, size);
  homeostat::EventFileSpec spec;
  spec.format = homeostat::EventFormat::nmnist;
  return homeostat::fuzz::accept_rejections(
      [&] { (void)homeostat::load_event_split(dir, "train", spec); });
}
