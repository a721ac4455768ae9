#include "common/checkpoint.hpp"

#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <fstream>

#include "common/error.hpp"

namespace homeostat {
namespace {

constexpr char kMagic[8] = {'H', 'S', 'T', 'A', 'T', 'C', 'K', 'P'};

struct CrcWriter {
  std::FILE* file;
  uLong crc = crc32(0L, Z_NULL, 0);
  bool ok = true;
  void write(const void* data, std::size_t bytes) {
    if (bytes == 0) return;
    ok = ok && std::fwrite(data, 1, bytes, file) == bytes;
    crc = crc32(crc, static_cast<const Bytef*>(data), static_cast<uInt>(bytes));
  }
};

// The whole file in memory, CRC checked, with a cursor.
struct CheckedReader {
  std::vector<char> bytes;
  std::size_t cursor = 0;
  std::string path;

  explicit CheckedReader(const std::filesystem::path& file_path) : path(file_path.string()) {
    std::ifstream in(file_path, std::ios::binary);
    if (!in) throw DataError("checkpoint '" + path + "' cannot be opened (does it exist?)");
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (bytes.size() < sizeof(kMagic) + 4 + 8 + 4 ||
        std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
      throw DataError("'" + path + "' is not a homeostat checkpoint");
    }
    std::uint32_t stored = 0;
    std::memcpy(&stored, bytes.data() + bytes.size() - 4, 4);
    const uLong computed = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes.data()),
                                 static_cast<uInt>(bytes.size() - 4));
    if (stored != static_cast<std::uint32_t>(computed)) {
      throw DataError("checkpoint '" + path + "' is corrupt (checksum mismatch)");
    }
    bytes.resize(bytes.size() - 4);
    cursor = sizeof(kMagic);
  }
  void read(void* out, std::size_t count) {
    if (cursor + count > bytes.size()) throw DataError("checkpoint '" + path + "' is truncated");
    std::memcpy(out, bytes.data() + cursor, count);
    cursor += count;
  }
  nlohmann::json header() {
    std::uint32_t version = 0;
    read(&version, 4);
    if (version != kCheckpointFormatVersion) {
      throw DataError("checkpoint '" + path + "' has format version " + std::to_string(version) +
                      "; this homeostat reads version " + std::to_string(kCheckpointFormatVersion));
    }
    std::uint64_t length = 0;
    read(&length, 8);
    if (length > bytes.size()) throw DataError("checkpoint '" + path + "' is truncated");
    std::string text(length, '\0');
    read(text.data(), length);
    nlohmann::json parsed;
    try {
      parsed = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception&) {
      throw DataError("checkpoint '" + path + "' has an unreadable header");
    }
    check_header(parsed);
    return parsed;
  }
  // The keys the readers rely on, with their types: an object with "dtype" ("f32" or "f64") and
  // "tensors", an array of {"name": string, "size": unsigned integer}. Anything else would escape
  // as a raw nlohmann::json exception from the lookups below.
  void check_header(const nlohmann::json& header) const {
    const auto malformed = [&](const std::string& what) {
      return DataError("checkpoint '" + path + "' has a malformed header (" + what + ")");
    };
    if (!header.is_object()) throw malformed("not a JSON object");
    const auto dtype = header.find("dtype");
    if (dtype == header.end() || !dtype->is_string() || (*dtype != "f32" && *dtype != "f64")) {
      throw malformed("'dtype' is not \"f32\" or \"f64\"");
    }
    const auto tensors = header.find("tensors");
    if (tensors == header.end() || !tensors->is_array()) throw malformed("no 'tensors' array");
    for (const nlohmann::json& tensor : *tensors) {
      if (!tensor.is_object() || !tensor.contains("name") || !tensor["name"].is_string() ||
          !tensor.contains("size") || !tensor["size"].is_number_unsigned()) {
        throw malformed("a 'tensors' entry is not {\"name\": string, \"size\": count}");
      }
    }
  }
};

}  // namespace

template <typename Real>
void write_checkpoint(const std::filesystem::path& path, const nlohmann::json& header,
                      const std::vector<CheckpointTensor<Real>>& tensors) {
  nlohmann::json full = header;
  full["format_version"] = kCheckpointFormatVersion;
  full["dtype"] = sizeof(Real) == 4 ? "f32" : "f64";
  full["tensors"] = nlohmann::json::array();
  for (const auto& t : tensors)
    full["tensors"].push_back({{"name", t.name}, {"size", t.values.size()}});
  const std::string text = full.dump();

  const std::filesystem::path temporary = path.string() + ".tmp";
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  if (!file) throw Error("cannot write checkpoint '" + temporary.string() + "'");
  CrcWriter writer{file};
  writer.write(kMagic, sizeof(kMagic));
  const std::uint32_t version = kCheckpointFormatVersion;
  writer.write(&version, 4);
  const std::uint64_t length = text.size();
  writer.write(&length, 8);
  writer.write(text.data(), text.size());
  for (const auto& t : tensors) {
    const std::uint64_t count = t.values.size();
    writer.write(&count, 8);
    writer.write(t.values.data(), count * sizeof(Real));
  }
  const auto crc = static_cast<std::uint32_t>(writer.crc);
  bool ok = writer.ok && std::fwrite(&crc, 1, 4, file) == 4;
  ok = std::fflush(file) == 0 && ok;
  ok = ::fsync(fileno(file)) == 0 && ok;
  ok = std::fclose(file) == 0 && ok;
  if (!ok) {
    std::filesystem::remove(temporary);
    throw Error("writing checkpoint '" + temporary.string() + "' failed (disk full?)");
  }
  std::filesystem::rename(temporary, path);
}

nlohmann::json read_checkpoint_header(const std::filesystem::path& path) {
  CheckedReader reader(path);
  return reader.header();
}

template <typename Real>
void read_checkpoint_tensors(const std::filesystem::path& path,
                             const std::vector<CheckpointTensor<Real>>& tensors) {
  CheckedReader reader(path);
  const nlohmann::json header = reader.header();
  // The header's structure was checked when it was read (CheckedReader::check_header).
  if (header.at("dtype") != (sizeof(Real) == 4 ? "f32" : "f64")) {
    throw DataError("checkpoint '" + path.string() + "' holds another precision");
  }
  const auto& stored = header.at("tensors");
  if (stored.size() != tensors.size()) {
    throw DataError("checkpoint '" + path.string() + "' holds " + std::to_string(stored.size()) +
                    " tensors but the network has " + std::to_string(tensors.size()) +
                    " (was it written for another config?)");
  }
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const std::string name = stored[i].at("name").get<std::string>();
    const auto size = stored[i].at("size").get<std::size_t>();
    if (name != tensors[i].name || size != tensors[i].values.size()) {
      throw DataError("checkpoint '" + path.string() + "': tensor " + std::to_string(i) + " is '" +
                      name + "' of size " + std::to_string(size) + ", expected '" +
                      tensors[i].name + "' of size " + std::to_string(tensors[i].values.size()));
    }
    std::uint64_t count = 0;
    reader.read(&count, 8);
    if (count != size) throw DataError("checkpoint '" + path.string() + "' is inconsistent");
    reader.read(tensors[i].values.data(), count * sizeof(Real));
  }
}

template void write_checkpoint(const std::filesystem::path&, const nlohmann::json&,
                               const std::vector<CheckpointTensor<float>>&);
template void write_checkpoint(const std::filesystem::path&, const nlohmann::json&,
                               const std::vector<CheckpointTensor<double>>&);
template void read_checkpoint_tensors(const std::filesystem::path&,
                                      const std::vector<CheckpointTensor<float>>&);
template void read_checkpoint_tensors(const std::filesystem::path&,
                                      const std::vector<CheckpointTensor<double>>&);

}  // namespace homeostat
