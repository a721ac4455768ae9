// Event data: binning against hand-placed events, augmentations, drop_events, the three file
// layouts written byte by byte here, and the saccade converter on images whose events are known.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include "common/error.hpp"
#include "data/corruption.hpp"
#include "data/event_files.hpp"
#include "data/events.hpp"
#include "data/saccade_events.hpp"
#include "temp_dir.hpp"

namespace homeostat {
namespace {

namespace fs = std::filesystem;
using homeostat::testing::TempDir;

// Two samples on a 4x2 sensor (width 4, height 2).
EventStreams two_samples() {
  EventStreams streams;
  streams.width = 4;
  streams.height = 2;
  // Sample 0 spans 0..99 us: an ON event at (0,0) t=0, an OFF at (3,1) t=50, an ON at (1,0) t=99.
  streams.append(
      {Event::make(0, 0, 0, true), Event::make(3, 1, 50, false), Event::make(1, 0, 99, true)});
  // Sample 1: given out of order, stored sorted; two ON events in one cell.
  streams.append({Event::make(2, 1, 30, true), Event::make(2, 1, 10, true)});
  return streams;
}

float cell(const std::vector<float>& frames, std::size_t sample, std::size_t step,
           std::size_t polarity, std::size_t y, std::size_t x, std::size_t steps,
           std::size_t height, std::size_t width) {
  const std::size_t frame = 2 * height * width;
  return frames[sample * steps * frame + step * frame + polarity * height * width + y * width + x];
}

TEST(Events, PackingRoundTripsAndAppendSortsByTime) {
  const Event event = Event::make(65535, 7, Event::kMaxTime, false);
  EXPECT_EQ(event.x, 65535);
  EXPECT_EQ(event.y, 7);
  EXPECT_EQ(event.time_us(), Event::kMaxTime);
  EXPECT_FALSE(event.on());
  EXPECT_TRUE(Event::make(0, 0, 5, true).on());
  const EventStreams streams = two_samples();
  ASSERT_EQ(streams.samples(), 2u);
  EXPECT_EQ(streams.sample(1)[0].time_us(), 10u);
  EXPECT_EQ(streams.sample(1)[1].time_us(), 30u);
  const std::vector<std::size_t> order{1, 0};
  const EventStreams swapped = select_events(streams, order);
  EXPECT_EQ(swapped.sample(0).size(), 2u);
  EXPECT_EQ(swapped.sample(1).size(), 3u);
}

TEST(Events, BinningPlacesEachEventInItsCell) {
  const EventStreams streams = two_samples();
  EventBinning binning;
  binning.time_steps = 2;
  std::vector<float> frames;
  const std::vector<std::size_t> batch{0, 1};
  bin_events(streams, batch, binning, nullptr, CounterRng(1, {}), frames);
  ASSERT_EQ(frames.size(), 2u * 2 * 2 * 2 * 4);
  // Sample 0, own span 100 us: t=0 -> step 0, t=50 -> step 1, t=99 -> step 1. ON is channel 0.
  EXPECT_EQ(cell(frames, 0, 0, 0, 0, 0, 2, 2, 4), 1.0f);
  EXPECT_EQ(cell(frames, 0, 1, 1, 1, 3, 2, 2, 4), 1.0f);
  EXPECT_EQ(cell(frames, 0, 1, 0, 0, 1, 2, 2, 4), 1.0f);
  // Sample 1, span 21 us from t=10: t=10 -> step 0, t=30 -> floor(20 * 2 / 21) = 1.
  EXPECT_EQ(cell(frames, 1, 0, 0, 1, 2, 2, 2, 4), 1.0f);
  EXPECT_EQ(cell(frames, 1, 1, 0, 1, 2, 2, 2, 4), 1.0f);
  float total = 0.0f;
  for (const float value : frames) total += value;
  EXPECT_EQ(total, 5.0f);

  // A fixed 40 us window puts both of sample 1's events in step 0 (t - 10 = 0 and 20 < 20 * 2/2),
  // and sample 0's later events outside the window are dropped.
  binning.window_us = 40.0;
  bin_events(streams, batch, binning, nullptr, CounterRng(1, {}), frames);
  EXPECT_EQ(cell(frames, 1, 1, 0, 1, 2, 2, 2, 4), 1.0f);  // t=30: 20 us * 2 / 40 = step 1
  EXPECT_EQ(cell(frames, 1, 0, 0, 1, 2, 2, 2, 4), 1.0f);
  EXPECT_EQ(cell(frames, 0, 1, 1, 1, 3, 2, 2, 4), 0.0f);  // t=50 lies past the window

  // Downsampling by 2 sums 2x2 blocks; "binary" clips counts to 1.
  binning.window_us = 0.0;
  binning.time_steps = 1;
  binning.downsample = 2;
  const std::vector<std::size_t> second{1};
  bin_events(streams, second, binning, nullptr, CounterRng(1, {}), frames);
  ASSERT_EQ(frames.size(), 2u * 1 * 2);  // 2 polarities x 1 x 2 frame pixels
  EXPECT_EQ(frames[1], 2.0f);            // ON, (y 1 / 2 = 0, x 2 / 2 = 1)
  binning.value = FrameValue::binary;
  bin_events(streams, second, binning, nullptr, CounterRng(1, {}), frames);
  EXPECT_EQ(frames[1], 1.0f);
  EXPECT_EQ(event_frame_shape(34, 34, 4), (std::vector<std::size_t>{2, 9, 9}));
}

// A sample with one event at every pixel of a 16x16 sensor at times 0..255.
EventStreams full_grid() {
  EventStreams streams;
  streams.width = 16;
  streams.height = 16;
  std::vector<Event> events;
  for (std::uint16_t i = 0; i < 256; ++i) {
    events.push_back(Event::make(static_cast<std::uint16_t>(i % 16),
                                 static_cast<std::uint16_t>(i / 16), i, true));
  }
  streams.append(events);
  return streams;
}

float sum(const std::vector<float>& values) {
  float total = 0.0f;
  for (const float v : values) total += v;
  return total;
}

TEST(Events, AugmentationsMoveOrDropEventsAsSpecified) {
  const EventStreams streams = full_grid();
  const std::vector<std::size_t> one{0};
  EventBinning binning;
  binning.time_steps = 4;
  std::vector<float> clean;
  std::vector<float> augmented;
  bin_events(streams, one, binning, nullptr, CounterRng(1, {}), clean);
  EXPECT_EQ(sum(clean), 256.0f);

  // Jitter by up to 2 pixels: the whole sample moves by one (dx, dy), so the events that stay on
  // the sensor form a (16 - |dx|) x (16 - |dy|) block; over seeds, some shift must be non-zero.
  EventAugment augment;
  augment.jitter = 2;
  bool moved = false;
  for (std::uint64_t seed = 0; seed < 8; ++seed) {
    bin_events(streams, one, binning, &augment, CounterRng(seed, {}), augmented);
    const float kept = sum(augmented);
    bool block = false;
    for (int dx = 0; dx <= 2; ++dx) {
      for (int dy = 0; dy <= 2; ++dy) block |= kept == static_cast<float>((16 - dx) * (16 - dy));
    }
    EXPECT_TRUE(block) << kept;
    moved |= augmented != clean;
  }
  EXPECT_TRUE(moved);
  // The same rng gives the same augmentation.
  std::vector<float> again;
  bin_events(streams, one, binning, &augment, CounterRng(7, {}), again);
  bin_events(streams, one, binning, &augment, CounterRng(7, {}), augmented);
  EXPECT_EQ(again, augmented);

  // drop_event: 1 drops everything, 0.5 about half.
  augment = EventAugment{};
  augment.drop_event = 1.0;
  bin_events(streams, one, binning, &augment, CounterRng(3, {}), augmented);
  EXPECT_EQ(sum(augmented), 0.0f);
  augment.drop_event = 0.5;
  bin_events(streams, one, binning, &augment, CounterRng(3, {}), augmented);
  EXPECT_NEAR(sum(augmented), 128.0f, 32.0f);

  // time_shift: the whole sample moves in time, so events leave the window at one end only.
  augment = EventAugment{};
  augment.time_shift = 0.5;
  bin_events(streams, one, binning, &augment, CounterRng(5, {}), augmented);
  EXPECT_LT(sum(augmented), 256.0f);
  const std::size_t frame = 2 * 256;
  const auto step_total = [&](std::size_t step) {
    float total = 0.0f;
    for (std::size_t i = 0; i < frame; ++i) total += augmented[step * frame + i];
    return total;
  };
  // Shifted later, step 0 loses events and step 3 keeps its 64; shifted earlier, the reverse.
  EXPECT_NE(step_total(0) < 64.0f, step_total(3) < 64.0f);
  EXPECT_EQ(std::max(step_total(0), step_total(3)), 64.0f);
}

TEST(Events, DropEventsCorruptionKeepsNestedSubsets) {
  Dataset data;
  data.events = full_grid();
  data.labels = {3};
  data.num_classes = 4;
  data.sample_shape = {2, 16, 16};
  const std::vector<Corruption> list = parse_corruptions("drop_events:0.3");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].kind, CorruptionKind::drop_events);
  EXPECT_TRUE(corrupt(data, {CorruptionKind::drop_events, 1.0}, 1).events.events.empty());
  EXPECT_EQ(corrupt(data, {CorruptionKind::drop_events, 0.0}, 1).events.events.size(), 256u);
  const Dataset light = corrupt(data, {CorruptionKind::drop_events, 0.2}, 1);
  const Dataset heavy = corrupt(data, {CorruptionKind::drop_events, 0.6}, 1);
  EXPECT_NEAR(static_cast<double>(light.events.events.size()), 0.8 * 256, 30.0);
  EXPECT_NEAR(static_cast<double>(heavy.events.events.size()), 0.4 * 256, 30.0);
  // Every event the heavy corruption keeps, the light one keeps too.
  std::size_t j = 0;
  for (const Event& kept : heavy.events.events) {
    while (j < light.events.events.size() && light.events.events[j].time_us() != kept.time_us()) {
      ++j;
    }
    EXPECT_LT(j, light.events.events.size());
  }
  EXPECT_EQ(light.labels, data.labels);
  // Kinds that do not fit the data, and levels out of range, are config errors.
  EXPECT_THROW(corrupt(data, {CorruptionKind::gaussian, 0.1}, 1), ConfigError);
  Dataset images;
  images.sample_shape = {2, 2};
  images.samples = {0.0f, 0.5f, 1.0f, 0.25f};
  images.labels = {0};
  EXPECT_THROW(corrupt(images, {CorruptionKind::drop_events, 0.5}, 1), ConfigError);
  EXPECT_THROW(parse_corruptions("drop_events:1.5"), ConfigError);
  EXPECT_THROW(parse_corruptions("drop_event:0.5"), ConfigError);
}

void write_bytes(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

TEST(EventFiles, HevRoundTripsAndRejectsCorruptFiles) {
  const TempDir dir;
  Dataset data;
  data.events = two_samples();
  data.labels = {1, 0};
  data.num_classes = 2;
  data.sample_shape = {2, 2, 4};
  write_hev(dir.file("train.hev.gz"), data);
  EventFileSpec spec;
  spec.width = 4;
  spec.height = 2;
  EXPECT_EQ(detect_event_format(dir.path(), "train"), EventFormat::hev);
  const Dataset back = load_event_split(dir.path(), "train", spec);
  EXPECT_EQ(back.labels, data.labels);
  EXPECT_EQ(back.num_classes, 2u);
  EXPECT_EQ(back.sample_shape, (std::vector<std::size_t>{2, 2, 4}));
  ASSERT_EQ(back.events.events.size(), 5u);
  EXPECT_EQ(std::memcmp(back.events.events.data(), data.events.events.data(), 5 * sizeof(Event)),
            0);
  EXPECT_EQ(back.events.offsets, data.events.offsets);
  const Dataset first = load_event_split(dir.path(), "train", spec, 1);
  EXPECT_EQ(first.labels.size(), 1u);
  EXPECT_EQ(first.events.events.size(), 3u);

  // A different sensor size in the config is reported, naming the keys.
  spec.width = 34;
  try {
    load_event_split(dir.path(), "train", spec);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("data.events.width"), std::string::npos) << e.what();
  }
  spec.width = 4;
  // Bad magic, truncation, a missing split: DataErrors naming the file or directory.
  write_bytes(dir.file("test.hev"), {'N', 'O', 'P', 'E', 0, 0, 0, 0});
  EXPECT_THROW(load_event_split(dir.path(), "test", spec), DataError);
  std::ifstream in(dir.file("train.hev.gz"), std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const TempDir cut;
  std::ofstream(cut.file("train.hev.gz"), std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  EXPECT_THROW(load_event_split(cut.path(), "train", spec), DataError);
  const TempDir empty;
  try {
    load_event_split(empty.path(), "train", spec);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("convert-events"), std::string::npos) << e.what();
  }
}

TEST(EventFiles, ReadsNmnistBinaryFolders) {
  const TempDir dir;
  // Class 0: x=5, y=6, ON, t = 0x012345; class 1: x=33, y=0, OFF, t=7 then x=1, y=2, ON, t=8.
  write_bytes(dir.path() / "Train" / "0" / "00001.bin", {5, 6, 0x80 | 0x01, 0x23, 0x45});
  write_bytes(dir.path() / "Train" / "1" / "00002.bin", {33, 0, 0x00, 0, 7, 1, 2, 0x80, 0, 8});
  write_bytes(dir.path() / "Train" / "1" / "00003.bin", {});
  EventFileSpec spec;  // 34 x 34
  EXPECT_EQ(detect_event_format(dir.path(), "train"), EventFormat::nmnist);
  const Dataset data = load_event_split(dir.path(), "train", spec);
  // Round-robin over classes: class 0's first file, class 1's first, then class 1's second.
  ASSERT_EQ(data.labels, (std::vector<std::int32_t>{0, 1, 1}));
  EXPECT_EQ(data.num_classes, 2u);
  const auto first = data.events.sample(0);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].x, 5);
  EXPECT_EQ(first[0].y, 6);
  EXPECT_EQ(first[0].time_us(), 0x012345u);
  EXPECT_TRUE(first[0].on());
  const auto second = data.events.sample(1);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0].x, 33);
  EXPECT_FALSE(second[0].on());
  EXPECT_EQ(second[1].time_us(), 8u);
  EXPECT_TRUE(data.events.sample(2).empty());
  EXPECT_EQ(load_event_split(dir.path(), "train", spec, 2).labels.size(), 2u);
  // An event outside the configured sensor, and a truncated record, are DataErrors.
  spec.width = 20;
  EXPECT_THROW(load_event_split(dir.path(), "train", spec), DataError);
  spec.width = 34;
  write_bytes(dir.path() / "Test" / "0" / "bad.bin", {1, 2, 3});
  EXPECT_THROW(load_event_split(dir.path(), "test", spec), DataError);
  // Folders that are not labels are reported.
  write_bytes(dir.path() / "Test" / "cats" / "x.bin", {});
  EXPECT_THROW(load_event_split(dir.path(), "test", spec), DataError);
}

// A version-1 .npy file with the given header dict and little-endian payload.
std::vector<std::uint8_t> npy(const std::string& dict, const std::vector<std::uint8_t>& payload) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  // Sized up front: growing it by push_back trips a false -Wstringop-overflow in GCC 12 at -O3.
  std::vector<std::uint8_t> bytes = {0x93,
                                     'N',
                                     'U',
                                     'M',
                                     'P',
                                     'Y',
                                     1,
                                     0,
                                     static_cast<std::uint8_t>(header.size() & 0xFF),
                                     static_cast<std::uint8_t>(header.size() >> 8)};
  bytes.reserve(bytes.size() + header.size() + payload.size());
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  return bytes;
}

template <typename T>
void put(std::vector<std::uint8_t>& bytes, T value) {
  std::uint8_t raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));
  bytes.insert(bytes.end(), raw, raw + sizeof(T));
}

TEST(EventFiles, ReadsStructuredAndPlainNumpyArrays) {
  const TempDir dir;
  // Structured, tonic's field order t, x, y, p with mixed widths; timestamps start at 1000.
  std::vector<std::uint8_t> records;
  for (const auto& [t, x, y, p] :
       {std::tuple<std::int64_t, std::int16_t, std::int16_t, bool>{1000, 3, 4, true},
        {1500, 127, 9, false}}) {
    put(records, t);
    put(records, x);
    put(records, y);
    put(records, static_cast<std::uint8_t>(p));
  }
  write_bytes(dir.path() / "train" / "4" / "a.npy",
              npy("{'descr': [('t', '<i8'), ('x', '<i2'), ('y', '<i2'), ('p', '|b1')], "
                  "'fortran_order': False, 'shape': (2,), }",
                  records));
  // Plain [events, 4] float array with columns x, y, t, p.
  std::vector<std::uint8_t> plain;
  for (const double value : {1.0, 2.0, 10.0, -1.0, 5.0, 6.0, 30.0, 1.0}) put(plain, value);
  write_bytes(dir.path() / "train" / "2" / "b.npy",
              npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 4), }", plain));
  EventFileSpec spec;
  spec.width = 128;
  spec.height = 128;
  EXPECT_EQ(detect_event_format(dir.path(), "train"), EventFormat::npy);
  const Dataset data = load_event_split(dir.path(), "train", spec);
  ASSERT_EQ(data.labels, (std::vector<std::int32_t>{2, 4}));
  EXPECT_EQ(data.num_classes, 5u);
  const auto plain_sample = data.events.sample(0);
  ASSERT_EQ(plain_sample.size(), 2u);
  EXPECT_EQ(plain_sample[0].x, 1);
  EXPECT_EQ(plain_sample[0].time_us(), 0u);  // relative to the sample's first event
  EXPECT_FALSE(plain_sample[0].on());        // p = -1
  EXPECT_EQ(plain_sample[1].time_us(), 20u);
  EXPECT_TRUE(plain_sample[1].on());
  const auto structured = data.events.sample(1);
  ASSERT_EQ(structured.size(), 2u);
  EXPECT_EQ(structured[1].x, 127);
  EXPECT_EQ(structured[1].y, 9);
  EXPECT_EQ(structured[1].time_us(), 500u);
  EXPECT_TRUE(structured[0].on());
  EXPECT_FALSE(structured[1].on());

  // Big-endian data, a missing field, and a short payload are DataErrors.
  const auto bad = [&](const std::string& dict, const std::vector<std::uint8_t>& payload) {
    const TempDir other;
    write_bytes(other.path() / "test" / "0" / "c.npy", npy(dict, payload));
    EXPECT_THROW(load_event_split(other.path(), "test", spec), DataError) << dict;
  };
  bad("{'descr': '>f8', 'fortran_order': False, 'shape': (2, 4), }", plain);
  bad("{'descr': [('t', '<i8'), ('x', '<i2'), ('y', '<i2')], 'fortran_order': False, "
      "'shape': (1,), }",
      std::vector<std::uint8_t>(12, 0));
  bad("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }", plain);
}

Dataset one_image(std::size_t row, std::size_t column) {
  Dataset images;
  images.sample_shape = {28, 28};
  images.samples.assign(28 * 28, 0.0f);
  if (row < 28) images.samples[row * 28 + column] = 1.0f;
  images.labels = {7};
  images.num_classes = 10;
  return images;
}

TEST(SaccadeEvents, BlankImagesAreSilentAndABrightPixelFiresNearItsPath) {
  SaccadeSpec spec;
  const Dataset blank = saccade_events(one_image(99, 0), spec);
  EXPECT_EQ(blank.events.width, 34u);
  EXPECT_EQ(blank.events.height, 34u);
  EXPECT_EQ(blank.labels, std::vector<std::int32_t>{7});
  EXPECT_TRUE(blank.events.events.empty());

  const Dataset dot = saccade_events(one_image(10, 12), spec);
  const auto events = dot.events.sample(0);
  ASSERT_FALSE(events.empty());
  // The pixel starts at sensor (12 + 1.5, 10 + 1.5) and moves at most 3 pixels right and down;
  // bilinear spreading reaches one pixel further.
  std::size_t on = 0;
  std::size_t off = 0;
  for (const Event& event : events) {
    EXPECT_GE(event.x, 13);
    EXPECT_LE(event.x, 17);
    EXPECT_GE(event.y, 11);
    EXPECT_LE(event.y, 15);
    EXPECT_LT(event.time_us(), 300000u);
    (event.on() ? on : off) += 1;
  }
  // The path is closed: every pixel ends where it started, so ON and OFF events balance within
  // one contrast step per pixel.
  EXPECT_GT(on, 0u);
  EXPECT_GT(off, 0u);
  EXPECT_LE(on > off ? on - off : off - on, 25u);
  // Deterministic.
  const Dataset again = saccade_events(one_image(10, 12), spec);
  EXPECT_EQ(again.events.offsets, dot.events.offsets);
  // A higher contrast threshold gives fewer events.
  spec.contrast = 1.5;
  EXPECT_LT(saccade_events(one_image(10, 12), spec).events.events.size(), events.size());
  spec.contrast = 0.0;
  EXPECT_THROW(saccade_events(one_image(10, 12), spec), ConfigError);
}

}  // namespace
}  // namespace homeostat
