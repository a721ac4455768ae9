// Readers for the event layouts of event_files.hpp and the writer of homeostat's container.
#include "data/event_files.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <system_error>
#include <vector>

#include "common/error.hpp"
#include "data/events.hpp"
#include "data/shd.hpp"

namespace homeostat {
namespace {

static_assert(std::endian::native == std::endian::little, "the event readers assume little-endian");

constexpr std::array<char, 4> kHevMagic = {'H', 'E', 'V', '1'};
// Bounded reads: a corrupt header cannot make us allocate memory the file does not back.
constexpr std::size_t kChunkBytes = std::size_t{1} << 22;

struct GzCloser {
  void operator()(gzFile file) const { gzclose(file); }
};
using GzHandle = std::unique_ptr<gzFile_s, GzCloser>;

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& problem) {
  throw DataError("cannot read event file '" + path.string() + "': " + problem);
}

// Reads exactly `bytes` bytes into `out` in bounded chunks; DataError naming `what` if the
// stream ends first.
void gz_read_exact(gzFile file, const std::filesystem::path& path, void* out, std::size_t bytes,
                   const char* what) {
  auto* cursor = static_cast<unsigned char*>(out);
  while (bytes > 0) {
    const auto chunk = static_cast<unsigned>(std::min(bytes, kChunkBytes));
    const int got = gzread(file, cursor, chunk);
    if (got < 0) {
      int errnum = Z_OK;
      fail(path, std::string("corrupt or unreadable stream while reading ") + what + " (" +
                     gzerror(file, &errnum) + ")");
    }
    if (got == 0) fail(path, std::string("truncated: the file ends inside the ") + what);
    cursor += got;
    bytes -= static_cast<std::size_t>(got);
  }
}

template <typename T>
void gz_read_vector(gzFile file, const std::filesystem::path& path, std::vector<T>& out,
                    std::uint64_t count, const char* what) {
  // Grow chunk by chunk so that a lying header fails at the end of the data, not in an allocation.
  out.clear();
  const std::size_t per_chunk = std::max<std::size_t>(1, kChunkBytes / sizeof(T));
  while (out.size() < count) {
    const std::size_t take = std::min<std::size_t>(per_chunk, count - out.size());
    const std::size_t old = out.size();
    out.resize(old + take);
    gz_read_exact(file, path, out.data() + old, take * sizeof(T), what);
  }
}

Dataset read_hev(const std::filesystem::path& path, std::size_t limit) {
  GzHandle file(gzopen(path.c_str(), "rb"));
  if (!file) fail(path, std::strerror(errno));
  std::array<char, 4> magic{};
  gz_read_exact(file.get(), path, magic.data(), magic.size(), "header");
  if (magic != kHevMagic) fail(path, "not a homeostat event file (bad magic; expected 'HEV1')");
  std::array<std::uint32_t, 3> sizes{};
  std::array<std::uint64_t, 2> counts{};
  gz_read_exact(file.get(), path, sizes.data(), sizeof(sizes), "header");
  gz_read_exact(file.get(), path, counts.data(), sizeof(counts), "header");
  const auto [width, height, classes] = sizes;
  const auto [samples, total_events] = counts;
  if (width == 0 || height == 0 || width > 65536 || height > 65536) {
    fail(path, "sensor size " + std::to_string(width) + "x" + std::to_string(height) +
                   " is out of range");
  }
  Dataset data;
  data.events.width = width;
  data.events.height = height;
  data.num_classes = classes;
  gz_read_vector(file.get(), path, data.labels, samples, "labels");
  gz_read_vector(file.get(), path, data.events.offsets, samples + 1, "sample offsets");
  if (data.events.offsets.front() != 0 || data.events.offsets.back() != total_events ||
      !std::is_sorted(data.events.offsets.begin(), data.events.offsets.end())) {
    fail(path, "corrupt sample offsets (not increasing from 0 to the event count)");
  }
  std::uint64_t needed = total_events;
  if (limit > 0 && limit < samples) {
    needed = data.events.offsets[limit];
    data.labels.resize(limit);
    data.events.offsets.resize(limit + 1);
  }
  gz_read_vector(file.get(), path, data.events.events, needed, "events");
  for (const std::int32_t label : data.labels) {
    if (label < 0 || static_cast<std::uint32_t>(label) >= classes) {
      fail(path,
           "label " + std::to_string(label) + " is outside [0, " + std::to_string(classes) + ")");
    }
  }
  for (const Event& event : data.events.events) {
    if (event.x >= width || event.y >= height) {
      fail(path, "an event at (" + std::to_string(event.x) + ", " + std::to_string(event.y) +
                     ") lies outside the " + std::to_string(width) + "x" + std::to_string(height) +
                     " sensor");
    }
  }
  data.sample_shape = {2, height, width};
  return data;
}

std::vector<char> read_whole_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open it");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size < 0) fail(path, "cannot determine its size");
  in.seekg(0);
  std::vector<char> bytes(static_cast<std::size_t>(size));
  if (!in.read(bytes.data(), size)) fail(path, "read error");
  return bytes;
}

// N-MNIST: 5 bytes per event (x, y, p|t[22:16], t[15:8], t[7:0]).
std::vector<Event> read_nmnist(const std::filesystem::path& path) {
  const std::vector<char> bytes = read_whole_file(path);
  if (bytes.size() % 5 != 0) {
    fail(path, "size " + std::to_string(bytes.size()) +
                   " is not a multiple of 5 bytes (N-MNIST events are 40-bit records)");
  }
  std::vector<Event> events;
  events.reserve(bytes.size() / 5);
  for (std::size_t i = 0; i < bytes.size(); i += 5) {
    const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(bytes[i + k]); };
    const std::uint32_t time = (std::uint32_t{byte(2)} & 0x7Fu) << 16 |
                               std::uint32_t{byte(3)} << 8 | std::uint32_t{byte(4)};
    events.push_back(Event::make(byte(0), byte(1), time, (byte(2) & 0x80u) != 0));
  }
  return events;
}

// One numeric field of a NumPy record.
struct NpyField {
  std::string name;
  char kind = 'i';  // b (bool), i, u, f
  std::size_t size = 0;
  std::size_t offset = 0;
};

double read_npy_number(const char* at, const NpyField& field) {
  const auto load = [at]<typename T>(T) {
    T value;
    std::memcpy(&value, at, sizeof(T));
    return static_cast<double>(value);
  };
  switch (field.kind) {
    case 'b':
      return at[0] != 0 ? 1.0 : 0.0;
    case 'i':
      if (field.size == 1) return load(std::int8_t{});
      if (field.size == 2) return load(std::int16_t{});
      if (field.size == 4) return load(std::int32_t{});
      return load(std::int64_t{});
    case 'u':
      if (field.size == 1) return load(std::uint8_t{});
      if (field.size == 2) return load(std::uint16_t{});
      if (field.size == 4) return load(std::uint32_t{});
      return load(std::uint64_t{});
    default:
      if (field.size == 4) return load(float{});
      return load(double{});
  }
}

// Parses a dtype string such as '<u2', '|b1', '<f8'; DataError for big-endian or other types.
NpyField parse_npy_type(const std::filesystem::path& path, const std::string& type) {
  if (type.size() < 3 || (type[0] != '<' && type[0] != '|' && type[0] != '=')) {
    fail(path, "unsupported dtype '" + type + "' (only little-endian numeric types are read)");
  }
  NpyField field;
  field.kind = type[1];
  std::size_t size = 0;
  const auto [end, error] = std::from_chars(type.data() + 2, type.data() + type.size(), size);
  const bool valid_size = error == std::errc() && end == type.data() + type.size();
  const bool ok = valid_size && ((field.kind == 'b' && size == 1) ||
                                 ((field.kind == 'i' || field.kind == 'u') &&
                                  (size == 1 || size == 2 || size == 4 || size == 8)) ||
                                 (field.kind == 'f' && (size == 4 || size == 8)));
  if (!ok) fail(path, "unsupported dtype '" + type + "' (bool, int, uint or float expected)");
  field.size = size;
  return field;
}

// The quoted strings of `text` in order ('...' only, as NumPy writes its header).
std::vector<std::string> quoted_strings(std::string_view text) {
  std::vector<std::string> strings;
  std::size_t at = 0;
  while ((at = text.find('\'', at)) != std::string_view::npos) {
    const std::size_t end = text.find('\'', at + 1);
    if (end == std::string_view::npos) break;
    strings.emplace_back(text.substr(at + 1, end - at - 1));
    at = end + 1;
  }
  return strings;
}

// The header dictionary of a .npy file, and where its data starts.
struct NpyHeader {
  std::string text;
  std::size_t data_start = 0;
};

NpyHeader read_npy_header(const std::filesystem::path& path, const std::vector<char>& bytes) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), "\x93NUMPY", 6) != 0) {
    fail(path, "not a NumPy .npy file (bad magic)");
  }
  const auto major = static_cast<std::uint8_t>(bytes[6]);
  std::size_t header_length = 0;
  std::size_t header_start = 0;
  if (major == 1) {
    header_length =
        static_cast<std::uint8_t>(bytes[8]) | std::size_t{static_cast<std::uint8_t>(bytes[9])} << 8;
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail(path, "truncated header");
    std::uint32_t length = 0;
    std::memcpy(&length, bytes.data() + 8, 4);
    header_length = length;
    header_start = 12;
  } else {
    fail(path, "unsupported .npy version " + std::to_string(major));
  }
  if (header_start + header_length > bytes.size()) fail(path, "truncated header");
  return {std::string(bytes.data() + header_start, header_length), header_start + header_length};
}

// The header's 'shape': "(N,)" or "(N, C)".
std::vector<std::size_t> parse_npy_shape(const std::filesystem::path& path,
                                         const std::string& header, std::size_t shape_at) {
  std::vector<std::size_t> shape;
  const std::size_t open = header.find('(', shape_at);
  const std::size_t close = header.find(')', open);
  if (open == std::string::npos || close == std::string::npos) fail(path, "malformed 'shape'");
  const char* cursor = header.data() + open + 1;
  const char* const end = header.data() + close;
  while (cursor < end) {
    while (cursor < end && (*cursor == ' ' || *cursor == ',')) ++cursor;
    if (cursor >= end) break;
    std::size_t value = 0;
    const auto [next, error] = std::from_chars(cursor, end, value);
    if (error != std::errc()) fail(path, "malformed 'shape'");
    shape.push_back(value);
    cursor = next;
  }
  return shape;
}

// The records of the array: their fields, size in bytes and count.
struct NpyRecords {
  std::vector<NpyField> fields;
  std::size_t size = 0;
  std::size_t count = 0;
};

// A structured dtype [('x', '<u2'), ...] (`descr` from its '['): one field per entry.
NpyRecords structured_npy_records(const std::filesystem::path& path, std::string_view descr,
                                  const std::vector<std::size_t>& shape) {
  const std::size_t close = descr.find(']');
  if (close == std::string_view::npos) fail(path, "malformed structured 'descr'");
  const std::vector<std::string> strings = quoted_strings(descr.substr(0, close));
  if (strings.size() % 2 != 0) fail(path, "malformed structured 'descr'");
  NpyRecords records;
  for (std::size_t i = 0; i < strings.size(); i += 2) {
    NpyField field = parse_npy_type(path, strings[i + 1]);
    field.name = strings[i];
    field.offset = records.size;
    records.size += field.size;
    records.fields.push_back(field);
  }
  if (shape.size() != 1) fail(path, "a structured event array must be 1-D");
  records.count = shape[0];
  return records;
}

// A plain type [events, columns]: the columns named by data.events.columns.
NpyRecords plain_npy_records(const std::filesystem::path& path, std::string_view descr,
                             const std::vector<std::size_t>& shape, const EventFileSpec& spec) {
  const std::vector<std::string> strings = quoted_strings(descr);
  if (strings.empty()) fail(path, "malformed 'descr'");
  const NpyField element = parse_npy_type(path, strings[0]);
  if (shape.size() != 2 || shape[1] != spec.columns.size()) {
    fail(path, "a plain event array must have shape [events, " +
                   std::to_string(spec.columns.size()) + "] (data.events.columns = \"" +
                   spec.columns + "\")");
  }
  NpyRecords records;
  for (std::size_t c = 0; c < spec.columns.size(); ++c) {
    NpyField field = element;
    field.name = std::string(1, spec.columns[c]);
    field.offset = c * element.size;
    records.fields.push_back(field);
  }
  records.size = element.size * spec.columns.size();
  records.count = shape[0];
  return records;
}

NpyRecords parse_npy_records(const std::filesystem::path& path, const std::string& header,
                             const EventFileSpec& spec) {
  const std::size_t descr_at = header.find("'descr':");
  const std::size_t shape_at = header.find("'shape':");
  if (descr_at == std::string::npos || shape_at == std::string::npos) {
    fail(path, "header lacks 'descr' or 'shape'");
  }
  const std::vector<std::size_t> shape = parse_npy_shape(path, header, shape_at);
  std::size_t descr_value = descr_at + 8;
  while (descr_value < header.size() && header[descr_value] == ' ') ++descr_value;
  const std::string_view descr = std::string_view(header).substr(descr_value);
  if (descr_value < header.size() && header[descr_value] == '[') {
    return structured_npy_records(path, descr, shape);
  }
  return plain_npy_records(path, descr, shape, spec);
}

// The four fields an event needs.
struct EventFields {
  NpyField x, y, t, p;
};

EventFields event_fields(const std::filesystem::path& path, const NpyRecords& records) {
  const auto find = [&](std::string_view name) -> const NpyField& {
    for (const NpyField& field : records.fields) {
      if (field.name == name) return field;
    }
    fail(path, "the event array has no field '" + std::string(name) + "' (needs x, y, t, p)");
  };
  return {find("x"), find("y"), find("t"), find("p")};
}

// The events of the records from `data` on, their times from the first (earliest) one.
std::vector<Event> decode_npy_events(const std::filesystem::path& path, const char* data,
                                     const NpyRecords& records, const EventFields& fields) {
  std::vector<Event> events;
  events.reserve(records.count);
  double first_time = std::numeric_limits<double>::infinity();
  for (std::size_t r = 0; r < records.count; ++r) {
    first_time =
        std::min(first_time, read_npy_number(data + r * records.size + fields.t.offset, fields.t));
  }
  for (std::size_t r = 0; r < records.count; ++r) {
    const char* record = data + r * records.size;
    const double x = read_npy_number(record + fields.x.offset, fields.x);
    const double y = read_npy_number(record + fields.y.offset, fields.y);
    const double t = read_npy_number(record + fields.t.offset, fields.t) - first_time;
    const double p = read_npy_number(record + fields.p.offset, fields.p);
    if (!(x >= 0.0 && y >= 0.0 && x < 65536.0 && y < 65536.0)) {
      fail(path, "event " + std::to_string(r) + " has coordinates out of range");
    }
    if (!(t >= 0.0 && t <= Event::kMaxTime)) {
      fail(path, "event " + std::to_string(r) + " lies more than 2^31 us after the first");
    }
    events.push_back(Event::make(static_cast<std::uint16_t>(x), static_cast<std::uint16_t>(y),
                                 static_cast<std::uint32_t>(t), p > 0.0));
  }
  return events;
}

std::vector<Event> read_npy(const std::filesystem::path& path, const EventFileSpec& spec) {
  const std::vector<char> bytes = read_whole_file(path);
  const NpyHeader header = read_npy_header(path, bytes);
  if (header.text.find("'fortran_order': True") != std::string::npos) {
    fail(path, "Fortran-ordered arrays are not supported; save with np.ascontiguousarray");
  }
  const NpyRecords records = parse_npy_records(path, header.text, spec);
  const EventFields fields = event_fields(path, records);
  if (records.count > (bytes.size() - header.data_start) / std::max<std::size_t>(records.size, 1)) {
    fail(path, "truncated: the header promises " + std::to_string(records.count) + " events");
  }
  return decode_npy_events(path, bytes.data() + header.data_start, records, fields);
}

std::optional<std::filesystem::path> existing(const std::vector<std::filesystem::path>& paths) {
  for (const auto& path : paths) {
    std::error_code error;
    if (std::filesystem::is_regular_file(path, error)) return path;
  }
  return std::nullopt;
}

std::optional<std::filesystem::path> hev_file(const std::filesystem::path& directory,
                                              std::string_view split) {
  const std::string name = std::string(split) + ".hev";
  return existing({directory / (name + ".gz"), directory / name});
}

std::optional<std::filesystem::path> split_folder(const std::filesystem::path& directory,
                                                  std::string_view split) {
  std::string capital(split);
  capital[0] = static_cast<char>(capital[0] - 'a' + 'A');
  for (const auto& candidate : {directory / std::string(split), directory / capital}) {
    std::error_code error;
    if (std::filesystem::is_directory(candidate, error)) return candidate;
  }
  return std::nullopt;
}

struct ClassFiles {
  std::int32_t label = 0;
  std::vector<std::filesystem::path> files;
};

// Class folders (numeric names) of `folder`, each with its files of `extension`, sorted.
std::vector<ClassFiles> class_files(const std::filesystem::path& folder,
                                    std::string_view extension) {
  std::vector<ClassFiles> classes;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    if (!entry.is_directory()) continue;
    const std::string name = entry.path().filename().string();
    std::int32_t label = -1;
    const auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), label);
    if (error != std::errc() || end != name.data() + name.size() || label < 0) {
      throw DataError(
          "event data folder '" + entry.path().string() +
          "' is not a class folder: class folders are named by their label (0, 1, ...)");
    }
    ClassFiles files{label, {}};
    for (const auto& file : std::filesystem::directory_iterator(entry.path())) {
      if (file.is_regular_file() && file.path().extension() == extension) {
        files.files.push_back(file.path());
      }
    }
    std::sort(files.files.begin(), files.files.end());
    classes.push_back(std::move(files));
  }
  std::sort(classes.begin(), classes.end(),
            [](const ClassFiles& a, const ClassFiles& b) { return a.label < b.label; });
  return classes;
}

std::optional<EventFormat> folder_format(const std::filesystem::path& folder) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) {
    if (!entry.is_regular_file()) continue;
    if (entry.path().extension() == ".bin") return EventFormat::nmnist;
    if (entry.path().extension() == ".npy") return EventFormat::npy;
  }
  return std::nullopt;
}

[[noreturn]] void fail_missing(const std::filesystem::path& directory, std::string_view split,
                               std::string_view detail) {
  throw DataError("no " + std::string(split) + " event data in '" + directory.string() +
                  "': " + std::string(detail) +
                  " (layouts: <split>.hev[.gz], <Split>/<label>/*.bin (N-MNIST), "
                  "<split>/<label>/*.npy; `homeostat convert-events` makes a .hev set)");
}

Dataset read_folders(const std::filesystem::path& directory, std::string_view split,
                     const EventFileSpec& spec, EventFormat format, std::size_t limit) {
  const auto folder = split_folder(directory, split);
  if (!folder) fail_missing(directory, split, "no split folder");
  std::vector<ClassFiles> classes =
      class_files(*folder, format == EventFormat::nmnist ? ".bin" : ".npy");
  Dataset data;
  data.events.width = spec.width;
  data.events.height = spec.height;
  data.sample_shape = {2, spec.height, spec.width};
  for (const ClassFiles& c : classes) {
    data.num_classes = std::max(data.num_classes, static_cast<std::size_t>(c.label) + 1);
  }
  // Round-robin over classes so that a limit keeps them balanced.
  for (std::size_t round = 0;; ++round) {
    bool any = false;
    for (const ClassFiles& c : classes) {
      if (round >= c.files.size()) continue;
      any = true;
      if (limit > 0 && data.labels.size() >= limit) break;
      const std::filesystem::path& path = c.files[round];
      std::vector<Event> events =
          format == EventFormat::nmnist ? read_nmnist(path) : read_npy(path, spec);
      for (const Event& event : events) {
        if (event.x >= spec.width || event.y >= spec.height) {
          fail(path, "an event at (" + std::to_string(event.x) + ", " + std::to_string(event.y) +
                         ") lies outside the " + std::to_string(spec.width) + "x" +
                         std::to_string(spec.height) +
                         " sensor (set data.events.width and data.events.height)");
        }
      }
      data.events.append(std::move(events));
      data.labels.push_back(c.label);
    }
    if (!any || (limit > 0 && data.labels.size() >= limit)) break;
  }
  if (data.labels.empty()) fail_missing(directory, split, "the class folders hold no event files");
  return data;
}

}  // namespace

EventFormat parse_event_format(std::string_view name) {
  if (name == "auto") return EventFormat::automatic;
  if (name == "hev") return EventFormat::hev;
  if (name == "nmnist") return EventFormat::nmnist;
  if (name == "npy") return EventFormat::npy;
  if (name == "shd") return EventFormat::shd;
  throw ConfigError("unknown event format '" + std::string(name) +
                    "' (valid formats: auto, hev, nmnist, npy, shd)");
}

std::string_view event_format_name(EventFormat format) {
  switch (format) {
    case EventFormat::automatic:
      return "auto";
    case EventFormat::hev:
      return "hev";
    case EventFormat::nmnist:
      return "nmnist";
    case EventFormat::npy:
      return "npy";
    case EventFormat::shd:
      return "shd";
  }
  return "auto";
}

EventFormat detect_event_format(const std::filesystem::path& directory, std::string_view split) {
  if (hev_file(directory, split)) return EventFormat::hev;
  if (shd_file(directory, split)) return EventFormat::shd;
  const auto folder = split_folder(directory, split);
  if (!folder) fail_missing(directory, split, "neither a .hev file nor a split folder");
  const auto format = folder_format(*folder);
  if (!format) fail_missing(directory, split, "no .bin or .npy files in the split folder");
  return *format;
}

Dataset load_event_split(const std::filesystem::path& directory, std::string_view split,
                         const EventFileSpec& spec, std::size_t limit) {
  if (split != "train" && split != "test") {
    throw ConfigError("unknown dataset split '" + std::string(split) +
                      "' (valid splits: train, test)");
  }
  const EventFormat format =
      spec.format == EventFormat::automatic ? detect_event_format(directory, split) : spec.format;
  if (format == EventFormat::shd) {
    const auto path = shd_file(directory, split);
    if (!path) fail_missing(directory, split, "no *_" + std::string(split) + ".h5");
    return read_shd(*path, spec.width, limit);
  }
  if (format != EventFormat::hev) return read_folders(directory, split, spec, format, limit);
  const auto path = hev_file(directory, split);
  if (!path) fail_missing(directory, split, "no " + std::string(split) + ".hev[.gz]");
  Dataset data = read_hev(*path, limit);
  if (data.events.width != spec.width || data.events.height != spec.height) {
    throw DataError("event file '" + path->string() + "' has a " +
                    std::to_string(data.events.width) + "x" + std::to_string(data.events.height) +
                    " sensor but the config says " + std::to_string(spec.width) + "x" +
                    std::to_string(spec.height) + " (data.events.width / height)");
  }
  return data;
}

void write_hev(const std::filesystem::path& path, const Dataset& data) {
  const EventStreams& streams = data.events;
  if (streams.empty_sensor()) throw DataError("write_hev: the dataset holds no event streams");
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  {
    GzHandle file(gzopen(temporary.c_str(), "wb6"));
    if (!file)
      throw DataError("cannot write '" + temporary.string() + "': " + std::strerror(errno));
    const auto put = [&](const void* bytes, std::size_t size) {
      auto* cursor = static_cast<const unsigned char*>(bytes);
      while (size > 0) {
        const auto chunk = static_cast<unsigned>(std::min(size, kChunkBytes));
        if (gzwrite(file.get(), cursor, chunk) != static_cast<int>(chunk)) {
          throw DataError("cannot write '" + temporary.string() + "'");
        }
        cursor += chunk;
        size -= chunk;
      }
    };
    const std::array<std::uint32_t, 3> sizes = {static_cast<std::uint32_t>(streams.width),
                                                static_cast<std::uint32_t>(streams.height),
                                                static_cast<std::uint32_t>(data.num_classes)};
    const std::array<std::uint64_t, 2> counts = {data.labels.size(), streams.events.size()};
    put(kHevMagic.data(), kHevMagic.size());
    put(sizes.data(), sizeof(sizes));
    put(counts.data(), sizeof(counts));
    put(data.labels.data(), data.labels.size() * sizeof(std::int32_t));
    put(streams.offsets.data(), streams.offsets.size() * sizeof(std::uint64_t));
    put(streams.events.data(), streams.events.size() * sizeof(Event));
    gzFile raw = file.release();
    if (gzclose(raw) != Z_OK) throw DataError("cannot finish '" + temporary.string() + "'");
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    throw DataError("cannot move '" + temporary.string() + "' to '" + path.string() +
                    "': " + error.message());
  }
}

}  // namespace homeostat
