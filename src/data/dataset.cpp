// Dataset loading, splitting, shuffling and batch gathering.
#include "data/dataset.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <system_error>

#include "common/error.hpp"
#include "data/idx.hpp"
#include "random/counter_rng.hpp"
#include "tensor/tensor.hpp"

namespace homeostat {
namespace {

// The first of `name`.gz and `name` that exists in `directory`.
std::filesystem::path find_split_file(const std::filesystem::path& directory,
                                      const std::string& name) {
  const std::vector<std::filesystem::path> tried = {directory / (name + ".gz"), directory / name};
  for (const auto& candidate : tried) {
    std::error_code error;
    if (std::filesystem::is_regular_file(candidate, error)) return candidate;
  }
  throw DataError(missing_split_message(directory, tried));
}

bool is_default_directory(const std::filesystem::path& directory) {
  const auto normal = [](const std::filesystem::path& path) {
    auto text = path.lexically_normal().string();
    while (text.size() > 1 && text.back() == '/') text.pop_back();
    return text;
  };
  return normal(directory) == normal(kDefaultFashionMnistDir);
}

// Fisher-Yates on one sequential stream: the permutation depends only on the stream's key.
std::vector<std::size_t> permutation(std::size_t n, const CounterRng& rng) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  RngStream stream(rng);
  for (std::size_t i = n; i > 1; --i) {
    const std::size_t j = stream.below(i);
    std::swap(order[i - 1], order[j]);
  }
  return order;
}

}  // namespace

std::size_t Dataset::size() const { return labels.size(); }

std::size_t Dataset::sample_size() const { return shape_size(sample_shape); }

std::string missing_split_message(const std::filesystem::path& directory,
                                  const std::vector<std::filesystem::path>& tried) {
  std::string message = "dataset file not found; tried";
  for (const auto& path : tried) message += " '" + path.string() + "'";
  if (is_default_directory(directory)) {
    message +=
        ". Fashion-MNIST's default location is provided by the Debian package "
        "dataset-fashion-mnist (apt-get install dataset-fashion-mnist)";
  }
  return message;
}

Dataset load_idx_split(const std::filesystem::path& directory, std::string_view split,
                       std::size_t limit) {
  std::string prefix;
  if (split == "train") {
    prefix = "train";
  } else if (split == "test") {
    prefix = "t10k";
  } else {
    throw ConfigError("unknown dataset split '" + std::string(split) +
                      "' (valid splits: train, test)");
  }
  const auto images_path = find_split_file(directory, prefix + "-images-idx3-ubyte");
  const auto labels_path = find_split_file(directory, prefix + "-labels-idx1-ubyte");
  const IdxArray images = read_idx(images_path);
  const IdxArray labels = read_idx(labels_path);

  if (images.dims.size() < 2) {
    throw DataError("image file '" + images_path.string() +
                    "' has 1 dimension; expected [samples, sample dims...]");
  }
  if (labels.dims.size() != 1) {
    throw DataError("label file '" + labels_path.string() + "' has " +
                    std::to_string(labels.dims.size()) + " dimensions; expected 1");
  }
  const std::size_t count = images.dims[0];
  if (labels.dims[0] != count) {
    throw DataError("image file '" + images_path.string() + "' holds " + std::to_string(count) +
                    " samples but label file '" + labels_path.string() + "' holds " +
                    std::to_string(labels.dims[0]) + " labels");
  }
  // Labels are unsigned bytes, so every label is below 256 by construction.

  Dataset dataset;
  dataset.sample_shape.assign(images.dims.begin() + 1, images.dims.end());
  const std::size_t kept = limit > 0 ? std::min(limit, count) : count;
  const std::size_t pixels = kept * dataset.sample_size();
  dataset.samples.resize(pixels);
  for (std::size_t i = 0; i < pixels; ++i) {
    dataset.samples[i] = static_cast<float>(images.values[i]) / 255.0f;
  }
  dataset.labels.assign(labels.values.begin(),
                        labels.values.begin() + static_cast<std::ptrdiff_t>(kept));
  const auto max_label = std::max_element(labels.values.begin(), labels.values.end());
  dataset.num_classes = max_label == labels.values.end() ? 0 : std::size_t{*max_label} + 1;
  return dataset;
}

Dataset subset(const Dataset& full, std::span<const std::size_t> indices) {
  Dataset part;
  part.sample_shape = full.sample_shape;
  part.num_classes = full.num_classes;
  if (full.has_events()) {
    part.events = select_events(full.events, indices);
  } else {
    gather_batch(full, indices, part.samples);
  }
  part.labels.reserve(indices.size());
  for (const std::size_t index : indices) part.labels.push_back(full.labels[index]);
  return part;
}

std::pair<Dataset, Dataset> split_validation(const Dataset& full, double fraction,
                                             std::uint64_t seed) {
  if (!(fraction >= 0.0 && fraction < 1.0)) {  // also rejects NaN
    throw ConfigError("validation fraction must be in [0, 1), got " + std::to_string(fraction));
  }
  const std::size_t n = full.size();
  const auto validation_count =
      static_cast<std::size_t>(std::round(fraction * static_cast<double>(n)));
  const std::vector<std::size_t> order = permutation(n, CounterRng(seed, RngPurpose::split));
  std::vector<bool> in_validation(n, false);
  for (std::size_t i = 0; i < validation_count; ++i) in_validation[order[i]] = true;

  std::vector<std::size_t> train_indices;
  std::vector<std::size_t> validation_indices;
  train_indices.reserve(n - validation_count);
  validation_indices.reserve(validation_count);
  for (std::size_t i = 0; i < n; ++i) {
    (in_validation[i] ? validation_indices : train_indices).push_back(i);
  }
  return {subset(full, train_indices), subset(full, validation_indices)};
}

std::vector<std::size_t> epoch_order(std::size_t n, std::uint64_t seed, std::uint64_t epoch) {
  return permutation(n, CounterRng(seed, RngPurpose::shuffle, {epoch}));
}

ViewShape view_shape(DataView view, const std::vector<std::size_t>& sample_shape) {
  if (view == DataView::flat) return {1, {shape_size(sample_shape)}};
  if (sample_shape.size() != 2) {
    throw ConfigError("data.view = \"" + std::string(data_view_name(view)) +
                      "\" needs 2-D samples [height, width], but samples have shape " +
                      shape_string(sample_shape));
  }
  if (view == DataView::rows) return {sample_shape[0], {sample_shape[1]}};
  return {1, {1, sample_shape[0], sample_shape[1]}};
}

DataView parse_data_view(std::string_view name) {
  if (name == "flat") return DataView::flat;
  if (name == "rows") return DataView::rows;
  if (name == "image") return DataView::image;
  throw ConfigError("unknown data view '" + std::string(name) +
                    "' (valid views: flat, rows, image)");
}

std::string_view data_view_name(DataView view) {
  switch (view) {
    case DataView::flat:
      return "flat";
    case DataView::rows:
      return "rows";
    case DataView::image:
      return "image";
  }
  return "unknown";
}

void gather_batch(const Dataset& dataset, std::span<const std::size_t> indices,
                  std::vector<float>& out) {
  if (dataset.has_events()) {
    throw ConfigError("event data has no dense samples to gather; it is binned into frames");
  }
  const std::size_t stride = dataset.sample_size();
  out.resize(indices.size() * stride);
  for (std::size_t b = 0; b < indices.size(); ++b) {
    const std::size_t index = indices[b];
    if (index >= dataset.size()) {
      throw std::out_of_range("gather_batch: sample index " + std::to_string(index) +
                              " out of range for a dataset of " + std::to_string(dataset.size()) +
                              " samples");
    }
    const auto source = dataset.samples.begin() + static_cast<std::ptrdiff_t>(index * stride);
    std::copy(source, source + static_cast<std::ptrdiff_t>(stride),
              out.begin() + static_cast<std::ptrdiff_t>(b * stride));
  }
}

}  // namespace homeostat
