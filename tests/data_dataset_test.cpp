// Tests for dataset loading (synthetic IDX splits and the real Fashion-MNIST), seeded validation
// splits, epoch orders, data views and batch gathering.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "data/dataset.hpp"
#include "data/idx.hpp"
#include "temp_dir.hpp"

namespace homeostat {
namespace {

using testing::TempDir;

// Writes a split of `count` 2x3 images (pixel k of image i is (10*i + k) % 256) with labels i % 4.
void write_split(const std::filesystem::path& directory, const std::string& prefix,
                 std::size_t count, bool gzip, std::size_t label_count) {
  IdxArray images{{count, 2, 3}, {}};
  for (std::size_t i = 0; i < count; ++i) {
    for (std::size_t k = 0; k < 6; ++k)
      images.values.push_back(static_cast<std::uint8_t>((10 * i + k) % 256));
  }
  IdxArray labels{{label_count}, {}};
  for (std::size_t i = 0; i < label_count; ++i)
    labels.values.push_back(static_cast<std::uint8_t>(i % 4));
  const std::string suffix = gzip ? ".gz" : "";
  write_idx(directory / (prefix + "-images-idx3-ubyte" + suffix), images, gzip);
  write_idx(directory / (prefix + "-labels-idx1-ubyte" + suffix), labels, gzip);
}

// A dataset of n one-pixel samples whose pixel and label both identify the sample.
Dataset numbered_dataset(std::size_t n) {
  Dataset dataset;
  dataset.sample_shape = {1};
  for (std::size_t i = 0; i < n; ++i) {
    dataset.samples.push_back(static_cast<float>(i));
    dataset.labels.push_back(static_cast<std::int32_t>(i));
  }
  dataset.num_classes = n;
  return dataset;
}

std::string data_error_message(const std::filesystem::path& directory, std::string_view split) {
  try {
    load_idx_split(directory, split);
  } catch (const DataError& error) {
    return error.what();
  }
  ADD_FAILURE() << "load_idx_split accepted " << directory;
  return "";
}

TEST(Dataset, LoadsSyntheticSplitsRawAndGzip) {
  const TempDir dir;
  write_split(dir.path(), "train", 5, true, 5);
  write_split(dir.path(), "t10k", 3, false, 3);
  const Dataset train = load_idx_split(dir.path(), "train");
  EXPECT_EQ(train.size(), 5u);
  EXPECT_EQ(train.sample_shape, (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(train.sample_size(), 6u);
  EXPECT_EQ(train.num_classes, 4u);
  EXPECT_EQ(train.labels, (std::vector<std::int32_t>{0, 1, 2, 3, 0}));
  ASSERT_EQ(train.samples.size(), 30u);
  EXPECT_FLOAT_EQ(train.samples[2 * 6 + 4], 24.0f / 255.0f);
  const Dataset test = load_idx_split(dir.path(), "test");
  EXPECT_EQ(test.size(), 3u);
  EXPECT_EQ(test.num_classes, 3u);
}

TEST(Dataset, PrefersGzipOverRawName) {
  const TempDir dir;
  write_split(dir.path(), "train", 4, false, 4);
  write_split(dir.path(), "train", 7, true, 7);
  EXPECT_EQ(load_idx_split(dir.path(), "train").size(), 7u);
}

TEST(Dataset, LimitKeepsFirstSamplesAndWholeFileClassCount) {
  const TempDir dir;
  write_split(dir.path(), "train", 9, true, 9);
  const Dataset full = load_idx_split(dir.path(), "train");
  const Dataset limited = load_idx_split(dir.path(), "train", 2);
  EXPECT_EQ(limited.size(), 2u);
  EXPECT_EQ(limited.num_classes, 4u);  // labels 0..3 occur in the file, only 0..1 in the limit
  EXPECT_EQ(limited.labels, (std::vector<std::int32_t>{0, 1}));
  EXPECT_EQ(limited.samples, std::vector<float>(full.samples.begin(), full.samples.begin() + 12));
  EXPECT_EQ(load_idx_split(dir.path(), "train", 100).size(), 9u);
}

TEST(Dataset, MissingFilesListPathsTried) {
  const TempDir dir;
  const std::string message = data_error_message(dir.path(), "train");
  EXPECT_NE(message.find((dir.path() / "train-images-idx3-ubyte.gz").string()), std::string::npos)
      << message;
  EXPECT_NE(message.find((dir.path() / "train-images-idx3-ubyte").string() + "'"),
            std::string::npos)
      << message;
  EXPECT_EQ(message.find("dataset-fashion-mnist"), std::string::npos) << message;
  // Images present, labels missing: the label paths are named.
  write_split(dir.path(), "t10k", 2, true, 2);
  std::filesystem::remove(dir.path() / "t10k-labels-idx1-ubyte.gz");
  const std::string labels_message = data_error_message(dir.path(), "test");
  EXPECT_NE(labels_message.find("t10k-labels-idx1-ubyte.gz"), std::string::npos) << labels_message;
}

TEST(Dataset, MissingDefaultDirectoryMentionsDebianPackage) {
  const std::vector<std::filesystem::path> tried = {"/usr/share/datasets/fashion-mnist/x.gz"};
  for (const std::filesystem::path& directory :
       {std::filesystem::path(kDefaultFashionMnistDir),
        std::filesystem::path("/usr/share/datasets/fashion-mnist/")}) {
    const std::string message = missing_split_message(directory, tried);
    EXPECT_NE(message.find("dataset-fashion-mnist"), std::string::npos) << message;
    EXPECT_NE(message.find("x.gz"), std::string::npos) << message;
  }
  EXPECT_EQ(missing_split_message("/tmp/elsewhere", tried).find("dataset-fashion-mnist"),
            std::string::npos);
}

TEST(Dataset, LabelImageCountMismatchIsDataErrorNamingFiles) {
  const TempDir dir;
  write_split(dir.path(), "train", 5, true, 4);
  const std::string message = data_error_message(dir.path(), "train");
  EXPECT_NE(message.find("train-images-idx3-ubyte.gz"), std::string::npos) << message;
  EXPECT_NE(message.find("train-labels-idx1-ubyte.gz"), std::string::npos) << message;
}

TEST(Dataset, CorruptFileIsDataErrorNamingIt) {
  const TempDir dir;
  write_split(dir.path(), "train", 5, false, 5);
  std::filesystem::resize_file(dir.path() / "train-labels-idx1-ubyte", 10);
  const std::string message = data_error_message(dir.path(), "train");
  EXPECT_NE(message.find("train-labels-idx1-ubyte"), std::string::npos) << message;
  EXPECT_NE(message.find("truncated"), std::string::npos) << message;
}

TEST(Dataset, UnknownSplitIsConfigError) {
  const TempDir dir;
  EXPECT_THROW(load_idx_split(dir.path(), "validation"), ConfigError);
}

TEST(Dataset, RealFashionMnistLoads) {
  if (!std::filesystem::is_directory(kDefaultFashionMnistDir)) {
    GTEST_SKIP() << kDefaultFashionMnistDir << " is absent (apt-get install dataset-fashion-mnist)";
  }
  const Dataset train = load_idx_split(kDefaultFashionMnistDir, "train");
  const Dataset test = load_idx_split(kDefaultFashionMnistDir, "test");
  EXPECT_EQ(train.size(), 60000u);
  EXPECT_EQ(test.size(), 10000u);
  for (const Dataset* dataset : {&train, &test}) {
    EXPECT_EQ(dataset->sample_shape, (std::vector<std::size_t>{28, 28}));
    EXPECT_EQ(dataset->num_classes, 10u);
    EXPECT_EQ(dataset->samples.size(), dataset->size() * 784);
    EXPECT_EQ(dataset->labels[0], 9);  // both splits open with an ankle boot
    const auto [low, high] = std::minmax_element(dataset->samples.begin(), dataset->samples.end());
    EXPECT_EQ(*low, 0.0f);
    EXPECT_EQ(*high, 1.0f);
    // Fashion-MNIST is balanced: every class holds a tenth of each split.
    std::map<std::int32_t, std::size_t> per_class;
    for (const std::int32_t label : dataset->labels) ++per_class[label];
    ASSERT_EQ(per_class.size(), 10u);
    for (const auto& [label, count] : per_class) EXPECT_EQ(count, dataset->size() / 10) << label;
  }
  // The first training image's pixels sum to 76247 / 255.
  const double first_sum = std::accumulate(train.samples.begin(), train.samples.begin() + 784, 0.0);
  EXPECT_NEAR(first_sum * 255.0, 76247.0, 1e-2);
}

TEST(Dataset, SplitValidationSizesOrderAndDeterminism) {
  const Dataset full = numbered_dataset(10);
  const auto [train, validation] = split_validation(full, 0.25, 7);
  EXPECT_EQ(validation.size(), 3u);  // round(2.5) = 3
  EXPECT_EQ(train.size(), 7u);
  EXPECT_EQ(train.num_classes, 10u);
  EXPECT_EQ(validation.sample_shape, full.sample_shape);
  // Disjoint, complete, each in original order, and samples still match their labels.
  std::set<std::int32_t> all;
  for (const Dataset* part : {&train, &validation}) {
    EXPECT_TRUE(std::is_sorted(part->labels.begin(), part->labels.end()));
    for (std::size_t i = 0; i < part->size(); ++i) {
      EXPECT_EQ(part->samples[i], static_cast<float>(part->labels[i]));
      all.insert(part->labels[i]);
    }
  }
  EXPECT_EQ(all.size(), 10u);

  const auto [train_again, validation_again] = split_validation(full, 0.25, 7);
  EXPECT_EQ(validation_again.labels, validation.labels);
  EXPECT_EQ(train_again.labels, train.labels);
  // Another seed picks another validation set (out of C(100, 30) choices).
  const Dataset bigger = numbered_dataset(100);
  EXPECT_NE(split_validation(bigger, 0.3, 1).second.labels,
            split_validation(bigger, 0.3, 2).second.labels);
  EXPECT_EQ(split_validation(bigger, 0.3, 1).second.size(), 30u);
}

TEST(Dataset, SplitValidationZeroFractionAndInvalidFractions) {
  const Dataset full = numbered_dataset(10);
  const auto [train, validation] = split_validation(full, 0.0, 3);
  EXPECT_EQ(validation.size(), 0u);
  EXPECT_EQ(train.labels, full.labels);
  EXPECT_THROW(split_validation(full, 1.0, 3), ConfigError);
  EXPECT_THROW(split_validation(full, -0.1, 3), ConfigError);
  EXPECT_THROW(split_validation(full, std::nan(""), 3), ConfigError);
}

TEST(Dataset, EpochOrderIsSeededPermutation) {
  const std::size_t n = 1000;
  const auto order = epoch_order(n, 42, 0);
  std::vector<std::size_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::size_t> identity(n);
  std::iota(identity.begin(), identity.end(), std::size_t{0});
  EXPECT_EQ(sorted, identity);
  EXPECT_NE(order, identity);
  EXPECT_EQ(epoch_order(n, 42, 0), order);
  EXPECT_NE(epoch_order(n, 42, 1), order);
  EXPECT_NE(epoch_order(n, 43, 0), order);
  EXPECT_TRUE(epoch_order(0, 42, 0).empty());
  EXPECT_EQ(epoch_order(1, 42, 0), (std::vector<std::size_t>{0}));
}

TEST(Dataset, EpochOrderIsUniformOverPermutations) {
  // 24 permutations of 4 items, 24000 epochs: each ~1000 times (sd ~31); a biased shuffle
  // (e.g. swapping with any position) misses this by far more than the 200 allowed.
  std::map<std::vector<std::size_t>, int> counts;
  for (std::uint64_t epoch = 0; epoch < 24000; ++epoch) ++counts[epoch_order(4, 5, epoch)];
  ASSERT_EQ(counts.size(), 24u);
  for (const auto& [permutation, count] : counts) EXPECT_NEAR(count, 1000, 200);
}

TEST(Dataset, ViewShapes) {
  const std::vector<std::size_t> image = {28, 28};
  const ViewShape flat = view_shape(DataView::flat, image);
  EXPECT_EQ(flat.frames, 1u);
  EXPECT_EQ(flat.feature_shape, (std::vector<std::size_t>{784}));
  const ViewShape rows = view_shape(DataView::rows, {4, 7});
  EXPECT_EQ(rows.frames, 4u);
  EXPECT_EQ(rows.feature_shape, (std::vector<std::size_t>{7}));
  const ViewShape conv = view_shape(DataView::image, {4, 7});
  EXPECT_EQ(conv.frames, 1u);
  EXPECT_EQ(conv.feature_shape, (std::vector<std::size_t>{1, 4, 7}));
  EXPECT_EQ(view_shape(DataView::flat, {5}).feature_shape, (std::vector<std::size_t>{5}));
  EXPECT_THROW(view_shape(DataView::rows, {784}), ConfigError);
  EXPECT_THROW(view_shape(DataView::image, {3, 28, 28}), ConfigError);
}

TEST(Dataset, ParseDataView) {
  EXPECT_EQ(parse_data_view("flat"), DataView::flat);
  EXPECT_EQ(parse_data_view("rows"), DataView::rows);
  EXPECT_EQ(parse_data_view("image"), DataView::image);
  for (const DataView view : {DataView::flat, DataView::rows, DataView::image}) {
    EXPECT_EQ(parse_data_view(data_view_name(view)), view);
  }
  try {
    parse_data_view("columns");
    FAIL() << "accepted 'columns'";
  } catch (const ConfigError& error) {
    const std::string message = error.what();
    for (const char* name : {"columns", "flat", "rows", "image"}) {
      EXPECT_NE(message.find(name), std::string::npos) << message;
    }
  }
}

TEST(Dataset, GatherBatchCopiesSamplesInIndexOrder) {
  Dataset dataset;
  dataset.sample_shape = {2, 2};
  dataset.samples = {0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23};
  dataset.labels = {0, 1, 2};
  std::vector<float> batch = {99.0f};
  const std::vector<std::size_t> indices = {2, 0, 2};
  gather_batch(dataset, indices, batch);
  EXPECT_EQ(batch, (std::vector<float>{20, 21, 22, 23, 0, 1, 2, 3, 20, 21, 22, 23}));
  const std::vector<std::size_t> bad = {3};
  EXPECT_THROW(gather_batch(dataset, bad, batch), std::out_of_range);
}

}  // namespace
}  // namespace homeostat
