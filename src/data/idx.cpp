// IDX reading (raw or gzip, decoded with zlib's inflate) and writing (zlib's gz* API).
#include "data/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <system_error>
#include <vector>

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

// The bytes of a raw or gzip file (told apart by the gzip magic 1F 8B). A gzip file is decoded
// with inflate directly rather than zlib's gz* API, which skips anything after the last member
// that is not another gzip member: here it must be whole members back to back and nothing after.
class ByteSource {
 public:
  explicit ByteSource(const std::filesystem::path& path)
      : path_(path), file_(std::fopen(path.c_str(), "rb")), input_(kInputBytes) {
    if (!file_) fail_read(path_, std::generic_category().message(errno));
    fill();
    gzip_ = available_ >= 2 && input_[0] == 0x1F && input_[1] == 0x8B;
    if (gzip_) {
      if (inflateInit2(&stream_, 16 + MAX_WBITS) != Z_OK) fail_read(path_, "zlib init failed");
      stream_.next_in = input_.data();
      stream_.avail_in = static_cast<uInt>(available_);
    }
  }
  ~ByteSource() {
    if (gzip_) inflateEnd(&stream_);
    if (file_) std::fclose(file_);
  }
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  // Reads up to `count` bytes; returns how many were read (fewer only at end of data).
  std::size_t read(std::uint8_t* destination, std::size_t count) {
    return gzip_ ? inflate_bytes(destination, count) : copy_bytes(destination, count);
  }

 private:
  static constexpr std::size_t kInputBytes = std::size_t{256} * 1024;

  // Refills the input buffer from the file; false at end of file.
  bool fill() {
    used_ = 0;
    available_ = std::fread(input_.data(), 1, input_.size(), file_);
    if (std::ferror(file_))
      fail_read(path_, "read error: " + std::generic_category().message(errno));
    return available_ > 0;
  }

  std::size_t copy_bytes(std::uint8_t* destination, std::size_t count) {
    std::size_t done = 0;
    while (done < count) {
      if (used_ == available_ && !fill()) break;
      const std::size_t take = std::min(count - done, available_ - used_);
      std::copy_n(input_.data() + used_, take, destination + done);
      used_ += take;
      done += take;
    }
    return done;
  }

  bool refill_stream() {
    if (!fill()) return false;
    stream_.next_in = input_.data();
    stream_.avail_in = static_cast<uInt>(available_);
    return true;
  }

  // After a member's end: another member (gzip magic) or the end of the file, nothing else.
  bool next_member() {
    if (stream_.avail_in == 0 && !refill_stream()) return false;
    if (stream_.avail_in == 1) {  // the magic may straddle two reads: keep the byte, read on
      input_[0] = stream_.next_in[0];
      available_ = 1 + std::fread(input_.data() + 1, 1, input_.size() - 1, file_);
      if (std::ferror(file_)) {
        fail_read(path_, "read error: " + std::generic_category().message(errno));
      }
      stream_.next_in = input_.data();
      stream_.avail_in = static_cast<uInt>(available_);
    }
    if (stream_.avail_in < 2 || stream_.next_in[0] != 0x1F || stream_.next_in[1] != 0x8B) {
      fail_read(path_, "trailing bytes after the gzip stream");
    }
    inflateReset(&stream_);
    return true;
  }

  std::size_t inflate_bytes(std::uint8_t* destination, std::size_t count) {
    std::size_t done = 0;
    while (done < count) {
      if (member_ended_) {
        if (!next_member()) break;
        member_ended_ = false;
      }
      if (stream_.avail_in == 0 && !refill_stream()) {
        fail_read(path_, "truncated gzip stream (the file ends inside it)");
      }
      const auto request = static_cast<uInt>(std::min(count - done, kChunkBytes));
      stream_.next_out = destination + done;
      stream_.avail_out = request;
      const int status = inflate(&stream_, Z_NO_FLUSH);
      done += request - stream_.avail_out;
      if (status == Z_STREAM_END) {
        member_ended_ = true;
      } else if (status == Z_MEM_ERROR) {
        throw std::bad_alloc();
      } else if (status != Z_OK && status != Z_BUF_ERROR) {
        fail_read(path_, std::string("corrupt gzip stream: ") +
                             (stream_.msg ? stream_.msg : "inflate failed"));
      }
    }
    return done;
  }

  std::filesystem::path path_;
  std::FILE* file_;
  std::vector<std::uint8_t> input_;
  std::size_t available_ = 0;  // raw: bytes in input_; gzip: see stream_.avail_in
  std::size_t used_ = 0;
  bool gzip_ = false;
  bool member_ended_ = false;
  z_stream stream_{};
};

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

  ByteSource file(path);
  std::array<std::uint8_t, 4> magic{};
  if (file.read(magic.data(), magic.size()) < magic.size()) {
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
  if (file.read(dim_bytes.data(), 4 * rank) < 4 * rank) {
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
    const std::size_t got = file.read(array.values.data() + filled, array.values.size() - filled);
    if (got < array.values.size() - filled) {
      fail_read(path, "truncated data: dimensions " + dims_string(array.dims) + " call for " +
                          std::to_string(expected) + " bytes but only " +
                          std::to_string(filled + got) + " are present");
    }
  }
  std::uint8_t extra = 0;
  if (file.read(&extra, 1) != 0) {
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
