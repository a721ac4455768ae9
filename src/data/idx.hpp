// IDX files (the MNIST / Fashion-MNIST container): a 4-byte magic (0x00 0x00, a type code, the
// number of dimensions), one big-endian uint32 per dimension, then the values in row-major order.
// Contract: read_idx accepts gzip-compressed or raw files (zlib detects which), supports only the
// unsigned-byte type (0x08) with 1 to 4 dimensions, and turns every malformed input into a
// DataError that names the file; it never reads out of bounds, and whatever size the header
// claims, memory grows only with the data actually present (beyond a bounded 64 MiB reservation).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <vector>

namespace homeostat {

struct IdxArray {
  std::vector<std::size_t> dims;
  std::vector<std::uint8_t> values;  // prod(dims) values, row-major
};

// Only unsigned-byte (0x08) data. Throws DataError naming the file and the problem: missing or
// unreadable file, bad magic, unsupported type code, zero or more than 4 dimensions, truncated
// header or data, trailing bytes after the data, corrupt or truncated gzip stream.
IdxArray read_idx(const std::filesystem::path& path);

// Writes `array` as unsigned-byte IDX, gzip-compressed or raw; for tests and tools. Throws
// DataError if the array is not a valid IDX array (1 to 4 dims, each < 2^32, prod(dims) values)
// or the file cannot be written.
void write_idx(const std::filesystem::path& path, const IdxArray& array, bool gzip);

}  // namespace homeostat
