// A NumPy .npy event file (DIR/train/1/sample.npy) through load_event_split: structured arrays,
// and plain [events, 4] arrays read with the default columns "xytp" and with "txyp".
#include <cstddef>
#include <cstdint>

#include "data/event_files.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path& dir = homeostat::fuzz::scratch_dir();
  static const std::filesystem::path file =
      homeostat::fuzz::sample_file("train", "1", "sample.npy");
  homeostat::fuzz::write_file(file, data, size);
  homeostat::EventFileSpec spec;
  spec.format = homeostat::EventFormat::npy;
  spec.width = 128;
  spec.height = 128;
  homeostat::fuzz::accept_rejections(
      [&] { (void)homeostat::load_event_split(dir, "train", spec); });
  spec.columns = "txyp";
  return homeostat::fuzz::accept_rejections(
      [&] { (void)homeostat::load_event_split(dir, "train", spec); });
}
