#include "common/checkpoint.hpp"

#include <zlib.h>

#include <cstring>
#include <fstream>

#include "common/atomic_file.hpp"
#include "common/error.hpp"

namespace homeostat {
namespace {

constexpr char kMagic[8] = {'H', 'S', 'T', 'A', 'T', 'C', 'K', 'P'};

struct CrcWriter {
  AtomicFileWriter& file;
  uLong crc = crc32(0L, Z_NULL, 0);
  void write(const void* data, std::size_t bytes) {
    if (bytes == 0) return;
    file.write(data, bytes);
    crc = crc32(crc, static_cast<const Bytef*>(data), static_cast<uInt>(bytes));
  }
};

// The whole file in memory, CRC checked, with a cursor.
struct CheckedReader {
  std::vector<char> bytes;
  std::size_t cursor = 0;
  std::string path;

  explicit CheckedReader(const std::filesystem::path& file_path) : path(file_path.string()) {
    std::error_code error;
    if (std::filesystem::is_directory(file_path, error)) {
      throw DataError("checkpoint '" + path + "' is a directory; expected a checkpoint file");
    }
    std::ifstream in(file_path, std::ios::binary);
    if (!in) throw DataError("checkpoint '" + path + "' cannot be opened (does it exist?)");
    try {
      bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    } catch (const std::ios_base::failure&) {
      throw DataError("checkpoint '" + path + "' cannot be read (an I/O error)");
    }
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

  AtomicFileWriter file(path);  // common/atomic_file.hpp: a failure keeps the old checkpoint
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
  file.write(&crc, 4);
  file.commit();
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
  if (!header.contains("tensors") || !header["tensors"].is_array()) {
    throw DataError("checkpoint '" + path.string() + "' has no tensor list");
  }
  const auto& stored = header.at("tensors");
  if (stored.size() != tensors.size()) {
    throw DataError("checkpoint '" + path.string() + "' holds " + std::to_string(stored.size()) +
                    " tensors but the network has " + std::to_string(tensors.size()) +
                    " (was it written for another config?)");
  }
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    std::string name;
    std::size_t size = 0;
    try {
      name = stored[i].at("name").get<std::string>();
      size = stored[i].at("size").get<std::size_t>();
    } catch (const nlohmann::json::exception&) {
      throw DataError("checkpoint '" + path.string() + "': tensor " + std::to_string(i) +
                      " has no readable name and size");
    }
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
