// The checkpoint reader. The input is a checkpoint without its trailing CRC-32: the target
// appends the right one (random bytes would almost never pass the checksum) and reads the header,
// then the tensors into a float network of two tensors ("w" of 4, "b" of 2) and a double one.
#include "common/checkpoint.hpp"

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> bytes(data, data + size);
  const auto crc = static_cast<std::uint32_t>(
      crc32(crc32(0L, Z_NULL, 0), bytes.data(), static_cast<uInt>(bytes.size())));
  for (int shift = 0; shift < 32; shift += 8)
    bytes.push_back(static_cast<std::uint8_t>(crc >> shift));
  const std::filesystem::path path = homeostat::fuzz::scratch_dir() / "input.ckpt";
  homeostat::fuzz::write_file(path, bytes.data(), bytes.size());

  homeostat::fuzz::accept_rejections([&] { (void)homeostat::read_checkpoint_header(path); });
  std::vector<float> w(4);
  std::vector<float> b(2);
  homeostat::fuzz::accept_rejections([&] {
    homeostat::read_checkpoint_tensors<float>(
        path, {{"w", std::span<float>(w)}, {"b", std::span<float>(b)}});
  });
  std::vector<double> theta(3);
  return homeostat::fuzz::accept_rejections([&] {
    homeostat::read_checkpoint_tensors<double>(path, {{"theta", std::span<double>(theta)}});
  });
}
