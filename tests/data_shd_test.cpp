// The Spiking Heidelberg Digits reader (data/shd.hpp): files written here with HDF5's C API in
// the published layout (spikes/times: variable-length float32 seconds, spikes/units:
// variable-length uint16, labels: uint16), read back event by event; every malformed file a
// DataError naming it; and a recurrent network that learns a synthetic SHD-like task through
// data.source = "shd".
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/experiment_reader.hpp"
#include "data/event_files.hpp"
#include "data/shd.hpp"
#include "homeostat/error.hpp"
#include "random/counter_rng.hpp"
#include "run/train_run.hpp"

namespace homeostat {
namespace {

struct Spikes {
  std::vector<float> times;  // seconds
  std::vector<std::uint16_t> units;
};

struct ShdContent {
  std::vector<Spikes> samples;
  std::vector<std::uint16_t> labels;
  bool with_labels = true;
  std::size_t units_samples = 0;  // 0: as many as samples (a different count breaks the layout)
};

template <typename Value>
void write_ragged(hid_t group, const char* name, hid_t base, const std::vector<const Value*>& data,
                  const std::vector<std::size_t>& lengths) {
  std::vector<hvl_t> arrays(data.size());
  for (std::size_t i = 0; i < data.size(); ++i) {
    arrays[i].len = lengths[i];
    arrays[i].p = const_cast<Value*>(data[i]);  // HDF5 takes non-const pointers; only reads
  }
  const hsize_t dims[1] = {data.size()};
  const hid_t space = H5Screate_simple(1, dims, nullptr);
  const hid_t type = H5Tvlen_create(base);
  const hid_t set = H5Dcreate2(group, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, arrays.data());
  H5Dclose(set);
  H5Tclose(type);
  H5Sclose(space);
}

void write_shd(const std::filesystem::path& path, const ShdContent& content) {
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hid_t spikes = H5Gcreate2(file, "spikes", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  std::vector<const float*> times;
  std::vector<const std::uint16_t*> units;
  std::vector<std::size_t> time_lengths;
  std::vector<std::size_t> unit_lengths;
  for (const Spikes& s : content.samples) {
    times.push_back(s.times.data());
    time_lengths.push_back(s.times.size());
    units.push_back(s.units.data());
    unit_lengths.push_back(s.units.size());
  }
  if (content.units_samples > 0) {
    units.resize(content.units_samples, units.front());
    unit_lengths.resize(content.units_samples, unit_lengths.front());
  }
  write_ragged(spikes, "times", H5T_IEEE_F32LE, times, time_lengths);
  write_ragged(spikes, "units", H5T_STD_U16LE, units, unit_lengths);
  if (content.with_labels) {
    const hsize_t dims[1] = {content.labels.size()};
    const hid_t space = H5Screate_simple(1, dims, nullptr);
    const hid_t set =
        H5Dcreate2(file, "labels", H5T_STD_U16LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(set, H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, content.labels.data());
    H5Dclose(set);
    H5Sclose(space);
  }
  H5Gclose(spikes);
  H5Fclose(file);
}

std::filesystem::path scratch_directory(const std::string& name) {
  const std::filesystem::path directory =
      std::filesystem::temp_directory_path() /
      ("homeostat_shd_" + name + "_" +
       std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::remove_all(directory);
  std::filesystem::create_directories(directory);
  return directory;
}

ShdContent three_samples() {
  ShdContent content;
  content.samples = {{{0.25f, 0.0005f, 0.1f}, {3, 699, 0}}, {{}, {}}, {{0.9f}, {42}}};
  content.labels = {7, 0, 19};
  return content;
}

TEST(Shd, ReadsEverySpikeAsAnOnEventOfItsChannel) {
  const std::filesystem::path directory = scratch_directory("read");
  write_shd(directory / "shd_train.h5", three_samples());
  const Dataset data = read_shd(directory / "shd_train.h5", 700);
  ASSERT_EQ(data.size(), 3u);
  EXPECT_EQ(data.labels, (std::vector<std::int32_t>{7, 0, 19}));
  EXPECT_EQ(data.num_classes, 20u);
  EXPECT_EQ(data.sample_shape, (std::vector<std::size_t>{2, 1, 700}));
  EXPECT_EQ(data.events.width, 700u);
  EXPECT_EQ(data.events.height, 1u);
  const auto first = data.events.sample(0);  // sorted by time
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].x, 699);
  EXPECT_EQ(first[0].time_us(), 500u);
  EXPECT_EQ(first[1].x, 0);
  EXPECT_EQ(first[1].time_us(), 100000u);
  EXPECT_EQ(first[2].x, 3);
  EXPECT_EQ(first[2].time_us(), 250000u);
  for (const Event& e : first) {
    EXPECT_TRUE(e.on());
    EXPECT_EQ(e.y, 0);
  }
  EXPECT_TRUE(data.events.sample(1).empty());
  EXPECT_EQ(data.events.sample(2)[0].x, 42);

  const Dataset first_two = read_shd(directory / "shd_train.h5", 700, 2);
  EXPECT_EQ(first_two.size(), 2u);
  EXPECT_EQ(first_two.num_classes, 8u);
  // Found by the event loader as a split of the directory (format "auto" detects it).
  EventFileSpec spec;
  spec.width = 700;
  spec.height = 1;
  EXPECT_EQ(load_event_split(directory, "train", spec).size(), 3u);
  std::filesystem::remove_all(directory);
}

TEST(Shd, MalformedFilesAreDataErrorsNamingTheFileAndTheSample) {
  const std::filesystem::path directory = scratch_directory("bad");
  const auto message = [&](const ShdContent& content, std::size_t channels = 700) {
    const std::filesystem::path path = directory / "x_train.h5";
    write_shd(path, content);
    try {
      read_shd(path, channels);
    } catch (const DataError& e) {
      return std::string(e.what());
    }
    return std::string("read without error");
  };
  ShdContent no_labels = three_samples();
  no_labels.with_labels = false;
  EXPECT_NE(message(no_labels).find("no 'labels'"), std::string::npos);
  ShdContent short_units = three_samples();
  short_units.samples[2].units = {42, 43};
  EXPECT_NE(message(short_units).find("sample 2 has 1 spike times but 2 units"), std::string::npos);
  EXPECT_NE(message(three_samples(), 600).find("unit 699 but the sensor has 600 channels"),
            std::string::npos);
  ShdContent negative = three_samples();
  negative.samples[0].times[1] = -1.0f;
  EXPECT_NE(message(negative).find("sample 0 has a spike at -1"), std::string::npos);
  ShdContent counts = three_samples();
  counts.units_samples = 2;
  EXPECT_NE(message(counts).find("different numbers of samples"), std::string::npos);
  EXPECT_NE(message(three_samples()).find("read without error"), std::string::npos);

  std::ofstream(directory / "text_train.h5") << "not hdf5";
  try {
    read_shd(directory / "text_train.h5", 700);
    ADD_FAILURE() << "a text file was read";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("text_train.h5': not an HDF5 file"), std::string::npos);
  }
  // Two train files in one directory: which one is meant is not guessed.
  EXPECT_THROW(shd_file(directory, "train"), DataError);
  std::filesystem::remove_all(directory);
}

// A synthetic SHD-like task: class c fires channels [10c, 10c + 10) at random times in 0-0.5 s,
// plus background spikes anywhere. A small recurrent network learns it far above chance.
ShdContent synthetic_task(std::size_t samples, std::uint64_t stream) {
  const CounterRng rng(11, {stream});
  ShdContent content;
  std::uint64_t counter = 0;
  for (std::size_t i = 0; i < samples; ++i) {
    const auto label = static_cast<std::uint16_t>(i % 4);
    Spikes spikes;
    for (int k = 0; k < 30; ++k) {
      spikes.units.push_back(
          static_cast<std::uint16_t>(10 * label + static_cast<int>(10 * rng.uniform(counter++))));
      spikes.times.push_back(static_cast<float>(0.5 * rng.uniform(counter++)));
    }
    for (int k = 0; k < 20; ++k) {
      spikes.units.push_back(static_cast<std::uint16_t>(64 * rng.uniform(counter++)));
      spikes.times.push_back(static_cast<float>(0.5 * rng.uniform(counter++)));
    }
    content.samples.push_back(spikes);
    content.labels.push_back(label);
  }
  return content;
}

TEST(Shd, ARecurrentNetworkLearnsASyntheticTaskFromShdFiles) {
  const std::filesystem::path directory = scratch_directory("learn");
  write_shd(directory / "shd_train.h5", synthetic_task(160, 1));
  write_shd(directory / "shd_test.h5", synthetic_task(80, 2));
  const std::string toml =
      "name = \"shd\"\nseed = 2\n[data]\nsource = \"shd\"\ndirectory = \"" + directory.string() +
      "\"\ntime_steps = 10\nclasses = 4\n[data.events]\nwidth = 64\n"
      "window_us = 500000\n"
      "[[network.layers]]\nkind = \"recurrent\"\nunits = 32\n"
      "[[network.layers]]\nkind = \"dense\"\nunits = 4\n"
      "[[network.layers]]\nkind = \"lif\"\n"
      "[train]\nepochs = 4\nbatch_size = 16\nlr = 5e-3\n[output]\ndirectory = \"" +
      (directory / "runs").string() + "\"\n[diagnostics]\nreport = false\n";
  const ExperimentConfig config = parse_experiment(parse_config_string(toml, "shd.toml"));
  TrainOptions options;
  options.progress = false;
  options.quiet = true;
  const TrainResult result = train(config, options);
  std::printf("synthetic SHD task: test accuracy %.3f\n", result.test_accuracy);
  EXPECT_GT(result.test_accuracy, 0.6);  // chance: 0.25
  std::filesystem::remove_all(directory);
}

TEST(Shd, ConfigsOfTheShdSourceAreCheckedNamingTheKey) {
  const auto message = [](const std::string& data) -> std::string {
    try {
      parse_experiment(parse_config_string(
          "[data]\n" + data + "[[network.layers]]\nkind = \"dense\"\nunits = 10\n", "shd.toml"));
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "accepted";
  };
  EXPECT_EQ(message("source = \"shd\"\n"), "accepted");
  EXPECT_NE(message("source = \"shd\"\n[data.events]\nheight = 2\n").find("height"),
            std::string::npos);
  EXPECT_NE(message("source = \"shd\"\n[data.events]\nformat = \"npy\"\n").find("format"),
            std::string::npos);
}

}  // namespace
}  // namespace homeostat
