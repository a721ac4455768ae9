// IDX reading and writing through zlib's gz* API, which reads gzip and raw files alike.
#include "data/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <limits>
#include <memory>
#include <string>
#include <system_error>

#include "common/error.hpp"

namespace homeostat {
namespace {

constexpr std::uint8_t kUnsignedByteType = 0x08;
constexpr std::size_t kMaxDims = 4;
// Bounded read size: a corrupt header cannot make us allocate memory the file does not back.
constexpr std::size_t kChunkBytes = std::size_t{1} << 20;

struct GzCloser {
  void operator()(gzFile file) const { gzclose(file); }
};
using GzHandle = std::unique_ptr<gzFile_s, GzCloser>;

[[noreturn]] void fail_read(const std::filesystem::path& path, const std::string& problem) {
  throw DataError("cannot read IDX file '" + path.string() + "': " + problem);
}

[[noreturn]] void fail_write(const std::filesystem::path& path, const std::string& problem) {
  throw DataError("cannot write IDX file '" + path.string() + "': " + problem);
}

std::string hex_byte(std::uint8_t value) {
  constexpr std::array<char, 16> kDigits = {'0', '1', '2', '3', '4', '5', '6', '7',
                                            '8', '9', 'A', 'B', 'C', 'D', 'E', 'F'};
  return std::string("0x") + kDigits[value >> 4] + kDigits[value & 0xF];
}

// zlib's own message, without the "path: " prefix it adds (our messages name the file already).
std::string zlib_message(gzFile file, const std::filesystem::path& path) {
  int errnum = Z_OK;
  std::string message = gzerror(file, &errnum);
  const std::string prefix = path.string() + ": ";
  if (message.starts_with(prefix)) message.erase(0, prefix.size());
  return message;
}

// Throws if zlib recorded an error; a Z_BUF_ERROR after reading means the gzip stream ended early.
void check_stream(gzFile file, const std::filesystem::path& path) {
  int errnum = Z_OK;
  gzerror(file, &errnum);
  if (errnum == Z_OK) return;
  const std::string detail = zlib_message(file, path);
  if (errnum == Z_ERRNO) fail_read(path, "read error: " + detail);
  if (errnum == Z_BUF_ERROR) fail_read(path, "truncated gzip stream (" + detail + ")");
  fail_read(path, "corrupt gzip stream: " + detail);
}

// Reads up to `count` bytes; returns how many were read (fewer only at end of data).
std::size_t read_bytes(gzFile file, const std::filesystem::path& path, std::uint8_t* destination,
                       std::size_t count) {
  std::size_t done = 0;
  while (done < count) {
    const auto request = static_cast<unsigned>(std::min(count - done, kChunkBytes));
    const int got = gzread(file, destination + done, request);
    if (got < 0) {
      check_stream(file, path);
      fail_read(path, "read failed");
    }
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  check_stream(file, path);
  return done;
}

std::string dims_string(const std::vector<std::size_t>& dims) {
  std::string text;
  for (const std::size_t dim : dims) text += (text.empty() ? "" : " x ") + std::to_string(dim);
  return text;
}

std::uint32_t big_endian_u32(const std::uint8_t* bytes) {
  return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
         (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
}

}  // namespace

IdxArray read_idx(const std::filesystem::path& path) {
  std::error_code status_error;
  const auto status = std::filesystem::status(path, status_error);
  if (!std::filesystem::exists(status)) fail_read(path, "file not found");
  if (std::filesystem::is_directory(status)) fail_read(path, "is a directory");

  const GzHandle file(gzopen(path.c_str(), "rb"));
  if (!file) fail_read(path, std::generic_category().message(errno));
  gzbuffer(file.get(), 256 * 1024);  // fewer system calls than zlib's 8 KiB default

  std::array<std::uint8_t, 4> magic{};
  if (read_bytes(file.get(), path, magic.data(), magic.size()) < magic.size()) {
    fail_read(path, "truncated header (file shorter than the 4-byte magic number)");
  }
  if (magic[0] != 0 || magic[1] != 0) {
    fail_read(path, "bad magic number (first two bytes are " + hex_byte(magic[0]) + " " +
                        hex_byte(magic[1]) + ", expected 0x00 0x00); not an IDX file");
  }
  if (magic[2] != kUnsignedByteType) {
    fail_read(path, "unsupported data type code " + hex_byte(magic[2]) +
                        " (only unsigned byte, 0x08, is supported)");
  }
  const std::size_t rank = magic[3];
  if (rank == 0 || rank > kMaxDims) {
    fail_read(path, "unsupported number of dimensions " + std::to_string(rank) +
                        " (expected 1 to " + std::to_string(kMaxDims) + ")");
  }

  std::array<std::uint8_t, 4 * kMaxDims> dim_bytes{};
  if (read_bytes(file.get(), path, dim_bytes.data(), 4 * rank) < 4 * rank) {
    fail_read(path, "truncated header (dimension sizes missing)");
  }
  IdxArray array;
  std::size_t expected = 1;
  for (std::size_t axis = 0; axis < rank; ++axis) {
    const std::size_t dim = big_endian_u32(dim_bytes.data() + 4 * axis);
    if (dim != 0 && expected > std::numeric_limits<std::size_t>::max() / dim) {
      fail_read(path, "dimensions overflow the addressable size");
    }
    expected *= dim;
    array.dims.push_back(dim);
  }

  // Grow chunk by chunk so a header that claims more than the file holds costs no memory.
  array.values.reserve(std::min(expected, 64 * kChunkBytes));
  while (array.values.size() < expected) {
    const std::size_t filled = array.values.size();
    array.values.resize(filled + std::min(expected - filled, kChunkBytes));
    const std::size_t got =
        read_bytes(file.get(), path, array.values.data() + filled, array.values.size() - filled);
    if (got < array.values.size() - filled) {
      fail_read(path, "truncated data: dimensions " + dims_string(array.dims) + " call for " +
                          std::to_string(expected) + " bytes but only " +
                          std::to_string(filled + got) + " are present");
    }
  }
  std::uint8_t extra = 0;
  if (read_bytes(file.get(), path, &extra, 1) != 0) {
    fail_read(path, "trailing bytes after the " + std::to_string(expected) +
                        " data bytes the dimensions call for");
  }
  return array;
}

void write_idx(const std::filesystem::path& path, const IdxArray& array, bool gzip) {
  const std::size_t rank = array.dims.size();
  if (rank == 0 || rank > kMaxDims) {
    fail_write(path, "IDX arrays need 1 to 4 dimensions, got " + std::to_string(rank));
  }
  std::vector<std::uint8_t> header = {0, 0, kUnsignedByteType, static_cast<std::uint8_t>(rank)};
  std::size_t count = 1;
  for (const std::size_t dim : array.dims) {
    if (dim > std::numeric_limits<std::uint32_t>::max()) {
      fail_write(path, "dimension " + std::to_string(dim) + " does not fit in 32 bits");
    }
    for (const int shift : {24, 16, 8, 0})
      header.push_back(static_cast<std::uint8_t>(dim >> shift));
    count *= dim;
  }
  if (count != array.values.size()) {
    fail_write(path, "dimensions call for " + std::to_string(count) + " values, array has " +
                         std::to_string(array.values.size()));
  }

  // "T" asks zlib for a transparent (uncompressed) write.
  GzHandle file(gzopen(path.c_str(), gzip ? "wb" : "wbT"));
  if (!file) fail_write(path, std::generic_category().message(errno));
  const auto write_all = [&](const std::uint8_t* bytes, std::size_t size) {
    for (std::size_t done = 0; done < size;) {
      const auto request = static_cast<unsigned>(std::min(size - done, kChunkBytes));
      if (gzwrite(file.get(), bytes + done, request) != static_cast<int>(request)) {
        fail_write(path, zlib_message(file.get(), path));
      }
      done += request;
    }
  };
  write_all(header.data(), header.size());
  write_all(array.values.data(), array.values.size());
  // Closing flushes the compressor; its result is the only report of a failed final write.
  if (gzclose(file.release()) != Z_OK) fail_write(path, "error while closing the file");
}

}  // namespace homeostat
