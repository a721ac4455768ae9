// In-memory labelled image datasets: loading IDX splits (MNIST / Fashion-MNIST layout), seeded
// train/validation splits, per-epoch sample orders, and the views that decide how a sample is
// presented in time. Contract: every random choice is a pure function of (seed, epoch) through
// CounterRng, so results never depend on thread count; user-caused problems raise DataError (files)
// or ConfigError (settings) with messages that name the file or the valid choices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "data/events.hpp"

namespace homeostat {

struct Dataset {
  std::vector<std::size_t> sample_shape;  // e.g. {28, 28}
  std::vector<float> samples;             // N * prod(sample_shape), pixel / 255 in [0, 1]
  std::vector<std::int32_t> labels;       // N
  std::size_t num_classes = 0;            // max label + 1 over the whole label file
  // Event data (data/events.hpp): the samples' event streams; `samples` is then empty and
  // sample_shape is {2, height, width}. Empty sensor for image data.
  EventStreams events;
  [[nodiscard]] bool has_events() const { return !events.empty_sensor(); }
  [[nodiscard]] std::size_t size() const;         // N
  [[nodiscard]] std::size_t sample_size() const;  // prod(sample_shape)
};

inline constexpr const char* kDefaultFashionMnistDir = "/usr/share/datasets/fashion-mnist";

// Loads split "train" (train-images-idx3-ubyte[.gz] + train-labels-idx1-ubyte[.gz]) or "test"
// (t10k-...) from `directory`, preferring the .gz name and falling back to the raw one.
// DataError if a file is missing (listing the paths tried, plus an apt hint for the default
// directory), malformed, or if image and label counts differ; ConfigError for another split name.
// `limit` > 0 keeps only the first `limit` samples; num_classes still reflects the whole file so
// that the model's output size does not depend on the limit.
Dataset load_idx_split(const std::filesystem::path& directory, std::string_view split,
                       std::size_t limit = 0);

// The message load_idx_split gives when a split's file is missing; exposed for tests.
std::string missing_split_message(const std::filesystem::path& directory,
                                  const std::vector<std::filesystem::path>& tried);

// The samples at `indices`, in that order; num_classes and sample_shape are kept.
Dataset subset(const Dataset& full, std::span<const std::size_t> indices);

// Seeded split: a permutation from CounterRng(seed, RngPurpose::split) decides which samples go to
// validation (round(fraction * N) of them, halves rounded away from zero); both parts keep the
// original relative order. fraction in [0, 1); ConfigError otherwise. Returns {train, validation}.
std::pair<Dataset, Dataset> split_validation(const Dataset& full, double fraction,
                                             std::uint64_t seed);

// Epoch order: a Fisher-Yates permutation of [0, n) drawn from
// CounterRng(seed, RngPurpose::shuffle, {epoch}); identical for any thread count.
std::vector<std::size_t> epoch_order(std::size_t n, std::uint64_t seed, std::uint64_t epoch);

// How a sample is presented in time.
enum class DataView { flat, rows, image };

// flat: 1 frame of all pixels, feature_shape {H*W}; rows: H frames (one per image row) of W
// features, feature_shape {W}; image: 1 frame with feature_shape {1, H, W} (for conv nets).
struct ViewShape {
  std::size_t frames;
  std::vector<std::size_t> feature_shape;
};

// ConfigError if rows or image is asked of a sample shape that is not 2-D.
ViewShape view_shape(DataView view, const std::vector<std::size_t>& sample_shape);
// "flat" | "rows" | "image"; ConfigError listing the valid names otherwise.
DataView parse_data_view(std::string_view name);
std::string_view data_view_name(DataView view);

// Copies the samples at `indices` into `out` as [batch][frames][features] (row-major floats).
// Every view keeps a sample's row-major pixel order, so this layout serves all of them.
// std::out_of_range if an index is not a sample; ConfigError for event data (see bin_events).
void gather_batch(const Dataset& dataset, std::span<const std::size_t> indices,
                  std::vector<float>& out);

}  // namespace homeostat
