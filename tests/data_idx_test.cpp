// Tests for the IDX reader and writer: round trips in both encodings, one test per kind of
// corruption (each must raise DataError naming the file), and a fuzz test that mutated and random
// byte sequences never crash the reader.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "data/idx.hpp"
#include "random/counter_rng.hpp"
#include "temp_dir.hpp"

namespace homeostat {
namespace {

using Bytes = std::vector<std::uint8_t>;

using testing::TempDir;

void append_big_endian(Bytes& bytes, std::uint32_t value) {
  for (const int shift : {24, 16, 8, 0}) bytes.push_back(static_cast<std::uint8_t>(value >> shift));
}

// Compresses `bytes` as-is (no IDX framing), to build malformed gzip-wrapped files.
void write_gzip_file(const std::filesystem::path& path, const Bytes& bytes) {
  const gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  if (!bytes.empty()) {
    EXPECT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
  }
  EXPECT_EQ(gzclose(file), Z_OK);
}

Bytes read_file(const std::filesystem::path& path) {
  std::ifstream stream(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>());
}

void write_file(const std::filesystem::path& path, const Bytes& bytes) {
  std::ofstream stream(path, std::ios::binary);
  stream.write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
}

IdxArray sample_array(std::vector<std::size_t> dims) {
  IdxArray array;
  array.dims = std::move(dims);
  std::size_t count = 1;
  for (const std::size_t dim : array.dims) count *= dim;
  for (std::size_t i = 0; i < count; ++i)
    array.values.push_back(static_cast<std::uint8_t>(i * 37 + 11));
  return array;
}

// Expects read_idx(path) to throw DataError whose message names the file and contains `problem`.
void expect_data_error(const std::filesystem::path& path, const std::string& problem) {
  try {
    read_idx(path);
    FAIL() << "read_idx accepted " << path;
  } catch (const DataError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_NE(message.find(problem), std::string::npos) << message;
  }
}

TEST(Idx, RoundTripRawAndGzipForEveryRank) {
  const TempDir dir;
  for (const auto& dims :
       std::vector<std::vector<std::size_t>>{{7}, {3, 5}, {4, 2, 3}, {2, 3, 2, 2}}) {
    const IdxArray original = sample_array(dims);
    for (const bool gzip : {false, true}) {
      const auto path = dir.file(gzip ? "a.idx.gz" : "a.idx");
      write_idx(path, original, gzip);
      const IdxArray loaded = read_idx(path);
      EXPECT_EQ(loaded.dims, original.dims);
      EXPECT_EQ(loaded.values, original.values);
    }
  }
}

TEST(Idx, WritesTheDocumentedByteLayout) {
  const TempDir dir;
  const IdxArray array{{2, 3}, {1, 2, 3, 4, 5, 6}};
  write_idx(dir.file("raw"), array, false);
  const Bytes expected = {0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6};
  EXPECT_EQ(read_file(dir.file("raw")), expected);
  write_idx(dir.file("gz"), array, true);
  const Bytes compressed = read_file(dir.file("gz"));
  ASSERT_GE(compressed.size(), 2u);
  EXPECT_EQ(compressed[0], 0x1F);  // gzip magic
  EXPECT_EQ(compressed[1], 0x8B);
}

TEST(Idx, WriteRejectsInvalidArrays) {
  const TempDir dir;
  EXPECT_THROW(write_idx(dir.file("x"), IdxArray{{}, {}}, false), DataError);
  EXPECT_THROW(write_idx(dir.file("x"), IdxArray{{1, 1, 1, 1, 1}, {0}}, false), DataError);
  EXPECT_THROW(write_idx(dir.file("x"), IdxArray{{2, 2}, {1, 2, 3}}, true), DataError);
}

TEST(Idx, EmptyDimensionIsAValidEmptyArray) {
  const TempDir dir;
  write_idx(dir.file("empty"), IdxArray{{0, 28, 28}, {}}, true);
  const IdxArray loaded = read_idx(dir.file("empty"));
  EXPECT_EQ(loaded.dims, (std::vector<std::size_t>{0, 28, 28}));
  EXPECT_TRUE(loaded.values.empty());
}

TEST(Idx, MissingFileIsDataError) {
  const TempDir dir;
  expect_data_error(dir.file("does-not-exist.gz"), "not found");
}

TEST(Idx, DirectoryIsDataError) {
  const TempDir dir;
  std::filesystem::create_directory(dir.file("sub"));
  expect_data_error(dir.file("sub"), "directory");
}

TEST(Idx, BadMagicIsDataError) {
  const TempDir dir;
  write_file(dir.file("bad"), {0x01, 0x00, 0x08, 1, 0, 0, 0, 1, 42});
  expect_data_error(dir.file("bad"), "bad magic");
  write_file(dir.file("text"), Bytes{'h', 'e', 'l', 'l', 'o', '\n'});
  expect_data_error(dir.file("text"), "bad magic");
}

TEST(Idx, UnsupportedTypeCodeIsDataError) {
  const TempDir dir;
  write_file(dir.file("float"), {0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0});  // 0x0D: float32
  expect_data_error(dir.file("float"), "type code 0x0D");
}

TEST(Idx, ZeroOrTooManyDimensionsIsDataError) {
  const TempDir dir;
  write_file(dir.file("rank0"), {0, 0, 0x08, 0});
  expect_data_error(dir.file("rank0"), "number of dimensions 0");
  Bytes rank5 = {0, 0, 0x08, 5};
  for (int axis = 0; axis < 5; ++axis) append_big_endian(rank5, 1);
  rank5.push_back(9);
  write_file(dir.file("rank5"), rank5);
  expect_data_error(dir.file("rank5"), "number of dimensions 5");
}

TEST(Idx, TruncatedHeaderIsDataError) {
  const TempDir dir;
  write_file(dir.file("empty"), {});
  expect_data_error(dir.file("empty"), "truncated header");
  write_file(dir.file("short_dims"), {0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0});
  expect_data_error(dir.file("short_dims"), "truncated header");
}

TEST(Idx, TruncatedDataIsDataErrorRawAndGzip) {
  const TempDir dir;
  write_idx(dir.file("full"), sample_array({4, 5}), false);
  Bytes bytes = read_file(dir.file("full"));
  bytes.pop_back();
  write_file(dir.file("truncated"), bytes);
  expect_data_error(dir.file("truncated"), "truncated data");
  // A complete, valid gzip stream whose content is one byte short.
  write_gzip_file(dir.file("truncated.gz"), bytes);
  expect_data_error(dir.file("truncated.gz"), "truncated data");
}

TEST(Idx, TrailingBytesAreDataErrorRawAndGzip) {
  const TempDir dir;
  write_idx(dir.file("full"), sample_array({4, 5}), false);
  Bytes bytes = read_file(dir.file("full"));
  bytes.push_back(0);
  write_file(dir.file("trailing"), bytes);
  expect_data_error(dir.file("trailing"), "trailing bytes");
  write_gzip_file(dir.file("trailing.gz"), bytes);
  expect_data_error(dir.file("trailing.gz"), "trailing bytes");
}

TEST(Idx, CorruptGzipStreamIsDataError) {
  const TempDir dir;
  write_idx(dir.file("good.gz"), sample_array({50, 40}), true);
  Bytes bytes = read_file(dir.file("good.gz"));
  ASSERT_GT(bytes.size(), 40u);
  // Past the 10-byte gzip header: garbage in the deflate data (or CRC) must be detected.
  for (std::size_t i = 12; i < 24; ++i) bytes[i] ^= 0xA5;
  write_file(dir.file("corrupt.gz"), bytes);
  expect_data_error(dir.file("corrupt.gz"), "gzip");
}

TEST(Idx, CutGzipStreamIsDataError) {
  const TempDir dir;
  write_idx(dir.file("good.gz"), sample_array({50, 40}), true);
  const Bytes bytes = read_file(dir.file("good.gz"));
  // Halfway through the deflate data: the content ends early.
  write_file(dir.file("half.gz"),
             Bytes(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() / 2)));
  expect_data_error(dir.file("half.gz"), "truncated");
  // Only the 8-byte trailer (CRC and length) cut: all data decodes, the stream is still broken.
  write_file(dir.file("no_trailer.gz"), Bytes(bytes.begin(), bytes.end() - 8));
  expect_data_error(dir.file("no_trailer.gz"), "truncated gzip stream");
}

// A gzip stream must end with its whole 8-byte trailer and nothing after it (zlib's gz* API
// alone skips anything after the stream that is not another gzip member).
TEST(Idx, PartialGzipTrailerOrTrailingGarbageIsDataError) {
  const TempDir dir;
  write_idx(dir.file("good.gz"), sample_array({50, 40}), true);
  const Bytes bytes = read_file(dir.file("good.gz"));
  for (const std::ptrdiff_t cut : {1, 4, 7}) {
    const auto path = dir.file("cut" + std::to_string(cut) + ".gz");
    write_file(path, Bytes(bytes.begin(), bytes.end() - cut));
    expect_data_error(path, "gzip");
  }
  for (const std::string& tail :
       {std::string("garbage!"), std::string(16, '\0'), std::string("\x1f")}) {
    Bytes extended = bytes;
    extended.insert(extended.end(), tail.begin(), tail.end());
    write_file(dir.file("tail.gz"), extended);
    expect_data_error(dir.file("tail.gz"), "after the gzip stream");
  }
  // Two concatenated members are one valid gzip file (gzip's own rule): still read.
  Bytes doubled = bytes;
  write_gzip_file(dir.file("empty.gz"), {});
  const Bytes empty_member = read_file(dir.file("empty.gz"));
  doubled.insert(doubled.end(), empty_member.begin(), empty_member.end());
  write_file(dir.file("doubled.gz"), doubled);
  EXPECT_EQ(read_idx(dir.file("doubled.gz")).values, sample_array({50, 40}).values);
}

TEST(Idx, HugeClaimedDimensionsFailWithoutAllocatingThem) {
  const TempDir dir;
  // 2^32-1 x 2^32-1 bytes fits in size_t; the file backs only 3 of them.
  write_file(dir.file("huge"),
             {0, 0, 0x08, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3});
  expect_data_error(dir.file("huge"), "truncated data");
  Bytes overflow = {0, 0, 0x08, 4};
  for (int axis = 0; axis < 4; ++axis) append_big_endian(overflow, 0xFFFFFFFF);
  write_file(dir.file("overflow"), overflow);
  expect_data_error(dir.file("overflow"), "overflow");
}

TEST(Idx, NeverCrashesOnMutatedOrRandomBytes) {
  const TempDir dir;
  write_idx(dir.file("seed"), sample_array({6, 7}), false);
  write_idx(dir.file("seed.gz"), sample_array({6, 7}), true);
  const std::vector<Bytes> seeds = {read_file(dir.file("seed")), read_file(dir.file("seed.gz"))};
  const CounterRng rng(2024, RngPurpose::test);
  RngStream stream(rng);
  int accepted = 0;
  int rejected = 0;
  for (int trial = 0; trial < 1500; ++trial) {
    Bytes bytes;
    const auto mode = stream.below(4);
    if (mode == 3) {  // random bytes, sometimes behind a plausible header
      bytes.resize(stream.below(48));
      for (auto& byte : bytes) byte = static_cast<std::uint8_t>(stream.below(256));
      if (stream.below(2) == 0)
        bytes.insert(bytes.begin(), {0, 0, 0x08, static_cast<std::uint8_t>(stream.below(6))});
    } else {
      bytes = seeds[stream.below(2)];
      const auto flips = 1 + stream.below(4);
      for (std::uint64_t k = 0; k < flips; ++k) {
        bytes[stream.below(bytes.size())] = static_cast<std::uint8_t>(stream.below(256));
      }
      if (mode == 1) bytes.resize(stream.below(bytes.size() + 1));
      if (mode == 2) bytes.push_back(static_cast<std::uint8_t>(stream.below(256)));
    }
    const auto path = dir.file("fuzz" + std::to_string(trial));
    write_file(path, bytes);
    try {
      const IdxArray array = read_idx(path);
      std::size_t count = 1;
      for (const std::size_t dim : array.dims) count *= dim;
      ASSERT_EQ(array.values.size(), count) << "trial " << trial;
      ++accepted;
    } catch (const DataError&) {
      ++rejected;
    }
    std::filesystem::remove(path);
  }
  // Both outcomes must occur, or the fuzzing did not exercise the reader.
  EXPECT_GT(rejected, 100);
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace homeostat
