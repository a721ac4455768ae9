// Tests for the checkpoint reader on headers that parse as JSON and pass the checksum but do not
// have the structure the readers rely on (found by fuzz/checkpoint.cpp): each must be a DataError
// naming the file, never a raw nlohmann::json exception.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <span>
#include <string>
#include <vector>

#include "common/checkpoint.hpp"
#include "common/error.hpp"
#include "temp_dir.hpp"

namespace homeostat {
namespace {

using testing::TempDir;

// A checkpoint file with `header` as its JSON text, one f32 tensor of `values`, and a correct
// CRC-32, written the way write_checkpoint lays it out.
std::filesystem::path write_raw_checkpoint(const TempDir& dir, const std::string& header,
                                           const std::vector<float>& values) {
  std::string bytes = "HSTATCKP";
  const auto append = [&](const void* data, std::size_t size) {
    bytes.append(static_cast<const char*>(data), size);
  };
  const std::uint32_t version = kCheckpointFormatVersion;
  append(&version, 4);
  const std::uint64_t length = header.size();
  append(&length, 8);
  bytes += header;
  const std::uint64_t count = values.size();
  append(&count, 8);
  append(values.data(), values.size() * sizeof(float));
  const auto crc = static_cast<std::uint32_t>(crc32(crc32(0L, Z_NULL, 0),
                                                    reinterpret_cast<const Bytef*>(bytes.data()),
                                                    static_cast<uInt>(bytes.size())));
  append(&crc, 4);
  const std::filesystem::path path = dir.file("model.ckpt");
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

void expect_malformed(const std::string& header) {
  const TempDir dir;
  const std::filesystem::path path = write_raw_checkpoint(dir, header, {1.0F, 2.0F});
  std::vector<float> w(2);
  const std::vector<CheckpointTensor<float>> tensors = {{"w", std::span<float>(w)}};
  for (int reader = 0; reader < 2; ++reader) {
    try {
      if (reader == 0) {
        (void)read_checkpoint_header(path);
      } else {
        read_checkpoint_tensors(path, tensors);
      }
      ADD_FAILURE() << "no error for header " << header;
    } catch (const DataError& e) {
      EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("malformed header"), std::string::npos) << e.what();
    }
  }
}

TEST(CheckpointReader, ReadsAWellFormedRawCheckpoint) {
  const TempDir dir;
  const std::filesystem::path path = write_raw_checkpoint(
      dir, R"({"dtype":"f32","tensors":[{"name":"w","size":2}]})", {1.5F, -2.0F});
  std::vector<float> w(2);
  read_checkpoint_tensors<float>(path, {{"w", std::span<float>(w)}});
  EXPECT_EQ(w, (std::vector<float>{1.5F, -2.0F}));
}

// The fuzzer's first finding: a tensor entry without "name" escaped as nlohmann's out_of_range.
TEST(CheckpointReader, TensorEntryWithoutNameIsADataError) {
  expect_malformed(R"({"dtype":"f32","tensors":[{"namP":"w","size":2}]})");
}

TEST(CheckpointReader, MalformedHeaderStructuresAreDataErrors) {
  expect_malformed("[1, 2]");
  expect_malformed("\"text\"");
  expect_malformed(R"({"tensors":[{"name":"w","size":2}]})");
  expect_malformed(R"({"dtype":3,"tensors":[{"name":"w","size":2}]})");
  expect_malformed(R"({"dtype":"f16","tensors":[{"name":"w","size":2}]})");
  expect_malformed(R"({"dtype":"f32"})");
  expect_malformed(R"({"dtype":"f32","tensors":{"name":"w","size":2}})");
  expect_malformed(R"({"dtype":"f32","tensors":[7]})");
  expect_malformed(R"({"dtype":"f32","tensors":[{"name":1,"size":2}]})");
  expect_malformed(R"({"dtype":"f32","tensors":[{"name":"w","size":-2}]})");
  expect_malformed(R"({"dtype":"f32","tensors":[{"name":"w","size":2.5}]})");
  expect_malformed(R"({"dtype":"f32","tensors":[{"name":"w"}]})");
}

}  // namespace
}  // namespace homeostat
