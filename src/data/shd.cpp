#include "data/shd.hpp"

#include <hdf5.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "data/events.hpp"

namespace homeostat {
namespace {

// 'name', built by appending (GCC 12's -Wrestrict misreads "'" + std::string).
std::string in_quotes(std::string_view name) {
  std::string text(1, '\'');
  text.append(name).push_back('\'');
  return text;
}

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& what) {
  std::string message = in_quotes(file.string());
  message.append(": ").append(what).append(
      " (expected the Spiking Heidelberg Digits layout: spikes/times, spikes/units, labels)");
  throw DataError(message);
}

// One HDF5 identifier, closed by its own close function.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, -1)), close_(other.close_) {}
  Handle& operator=(Handle&&) = delete;
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  [[nodiscard]] hid_t get() const { return id_; }
  [[nodiscard]] bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// A 1-D dataset of `samples` elements, its first `count` selected for reading.
struct Selection {
  Handle file_space;
  Handle memory_space;
};

std::size_t length_of(const std::filesystem::path& file, const Handle& dataset, const char* name) {
  const Handle space(H5Dget_space(dataset.get()), H5Sclose);
  if (!space.valid() || H5Sget_simple_extent_ndims(space.get()) != 1) {
    fail(file, in_quotes(name) + " is not a one-dimensional dataset");
  }
  hsize_t dims[1] = {0};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  return static_cast<std::size_t>(dims[0]);
}

Selection first_elements(const Handle& dataset, std::size_t count) {
  Selection selection{
      Handle(H5Dget_space(dataset.get()), H5Sclose),
      Handle(H5Screate_simple(1, std::array<hsize_t, 1>{count}.data(), nullptr), H5Sclose)};
  const hsize_t start[1] = {0};
  const hsize_t block[1] = {count};
  H5Sselect_hyperslab(selection.file_space.get(), H5S_SELECT_SET, start, nullptr, block, nullptr);
  return selection;
}

Handle open_dataset(const std::filesystem::path& file, const Handle& root, const char* name) {
  if (H5Lexists(root.get(), "spikes", H5P_DEFAULT) <= 0 && std::string(name) != "labels") {
    fail(file, "no group 'spikes'");
  }
  if (H5Lexists(root.get(), name, H5P_DEFAULT) <= 0) fail(file, "no " + in_quotes(name));
  Handle dataset(H5Dopen2(root.get(), name, H5P_DEFAULT), H5Dclose);
  if (!dataset.valid()) fail(file, in_quotes(name) + " is not a dataset");
  return dataset;
}

// Per sample, the values of a dataset of variable-length arrays, converted to `Value`.
template <typename Value>
std::vector<std::vector<Value>> read_ragged(const std::filesystem::path& file,
                                            const Handle& dataset, const char* name,
                                            hid_t memory_base, std::size_t count) {
  const Handle stored(H5Dget_type(dataset.get()), H5Tclose);
  if (H5Tget_class(stored.get()) != H5T_VLEN) {
    fail(file, in_quotes(name) + " does not hold one variable-length array per sample");
  }
  const Handle memory_type(H5Tvlen_create(memory_base), H5Tclose);
  const Selection selection = first_elements(dataset, count);
  std::vector<hvl_t> arrays(count);
  if (count > 0 && H5Dread(dataset.get(), memory_type.get(), selection.memory_space.get(),
                           selection.file_space.get(), H5P_DEFAULT, arrays.data()) < 0) {
    fail(file, in_quotes(name) + " cannot be read as numbers");
  }
  std::vector<std::vector<Value>> values(count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto* first = static_cast<const Value*>(arrays[i].p);
    values[i].assign(first, first + arrays[i].len);
  }
  if (count > 0) {
    H5Dvlen_reclaim(memory_type.get(), selection.memory_space.get(), H5P_DEFAULT, arrays.data());
  }
  return values;
}

}  // namespace

Dataset read_shd(const std::filesystem::path& file, std::size_t channels, std::size_t limit) {
  if (!std::filesystem::is_regular_file(file)) fail(file, "no such file");
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors come back as codes, reported here
  if (H5Fis_hdf5(file.c_str()) <= 0) fail(file, "not an HDF5 file");
  const Handle root(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!root.valid()) fail(file, "cannot be opened");
  const Handle times_set = open_dataset(file, root, "spikes/times");
  const Handle units_set = open_dataset(file, root, "spikes/units");
  const Handle labels_set = open_dataset(file, root, "labels");
  const std::size_t samples = length_of(file, labels_set, "labels");
  if (length_of(file, times_set, "spikes/times") != samples ||
      length_of(file, units_set, "spikes/units") != samples) {
    fail(file, "spikes/times, spikes/units and labels hold different numbers of samples");
  }
  const std::size_t count = limit > 0 ? std::min(limit, samples) : samples;

  std::vector<std::int64_t> labels(count);
  {
    const Handle stored(H5Dget_type(labels_set.get()), H5Tclose);
    if (H5Tget_class(stored.get()) != H5T_INTEGER) fail(file, "'labels' are not integers");
    const Selection selection = first_elements(labels_set, count);
    if (count > 0 && H5Dread(labels_set.get(), H5T_NATIVE_INT64, selection.memory_space.get(),
                             selection.file_space.get(), H5P_DEFAULT, labels.data()) < 0) {
      fail(file, "'labels' cannot be read");
    }
  }
  const auto times = read_ragged<double>(file, times_set, "spikes/times", H5T_NATIVE_DOUBLE, count);
  const auto units =
      read_ragged<std::int64_t>(file, units_set, "spikes/units", H5T_NATIVE_INT64, count);

  Dataset data;
  data.events.width = channels;
  data.events.height = 1;
  data.sample_shape = {2, 1, channels};
  std::int64_t largest_label = -1;
  for (std::size_t i = 0; i < count; ++i) {
    std::string where = "sample ";
    where.append(std::to_string(i));
    if (times[i].size() != units[i].size()) {
      fail(file, where + " has " + std::to_string(times[i].size()) + " spike times but " +
                     std::to_string(units[i].size()) + " units");
    }
    if (labels[i] < 0 || labels[i] > INT32_MAX) {
      fail(file, where + " has the label " + std::to_string(labels[i]));
    }
    std::vector<Event> events;
    events.reserve(times[i].size());
    for (std::size_t k = 0; k < times[i].size(); ++k) {
      const double seconds = times[i][k];
      const std::int64_t unit = units[i][k];
      if (!std::isfinite(seconds) || seconds < 0.0 || seconds * 1e6 > Event::kMaxTime) {
        fail(file, where + " has a spike at " + std::to_string(seconds) +
                       " s (times are seconds from 0 to 2147)");
      }
      if (unit < 0 || static_cast<std::uint64_t>(unit) >= channels) {
        fail(file, where + " has a spike of unit " + std::to_string(unit) + " but the sensor has " +
                       std::to_string(channels) + " channels (data.events.width)");
      }
      events.push_back(Event::make(static_cast<std::uint16_t>(unit), 0,
                                   static_cast<std::uint32_t>(std::llround(seconds * 1e6)), true));
    }
    data.events.append(std::move(events));
    data.labels.push_back(static_cast<std::int32_t>(labels[i]));
    largest_label = std::max(largest_label, labels[i]);
  }
  data.num_classes = static_cast<std::size_t>(largest_label + 1);
  return data;
}

std::optional<std::filesystem::path> shd_file(const std::filesystem::path& directory,
                                              std::string_view split) {
  std::string suffix(1, '_');
  suffix.append(split).append(".h5");
  std::optional<std::filesystem::path> found;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
    const std::string name = entry.path().filename().string();
    if (!name.ends_with(suffix) || !entry.is_regular_file()) continue;
    if (found) {
      std::string message = in_quotes(directory.string());
      message.append(" holds several ").append(split).append(" files (");
      message.append(in_quotes(found->filename().string())).append(", ").append(in_quotes(name));
      message.append("): keep one *").append(suffix).append(" per directory");
      throw DataError(message);
    }
    found = entry.path();
  }
  return found;
}

}  // namespace homeostat
